"""LossCurveDisplay: the training (and validation) loss curve of a fitted
fastnn or scikit-learn MLP, in scikit-learn's Display style."""

import numpy as np


class LossCurveDisplay:
    """Loss per epoch of an MLP fitted with sgd or adam.

    Build it with :meth:`from_estimator` (or from the curves themselves),
    then :meth:`plot`; matplotlib is needed only for plotting.

    Parameters
    ----------
    loss_curve : list of float
        Training loss per epoch (``loss_curve_``).
    validation_loss_curve : list of float, default=None
        Validation loss per epoch (``validation_loss_curve_``).
    estimator_name : str, default=None
        Used in the legend.
    kept_epoch : int, default=None
        The epoch (from 1) whose weights the model kept (early stopping),
        marked by a vertical line.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : list of matplotlib Line2D
    kept_line_ : matplotlib Line2D or None
    """

    def __init__(self, *, loss_curve, validation_loss_curve=None, estimator_name=None,
                 kept_epoch=None):
        self.loss_curve = list(loss_curve)
        self.validation_loss_curve = (
            None if validation_loss_curve is None else list(validation_loss_curve)
        )
        self.estimator_name = estimator_name
        self.kept_epoch = kept_epoch

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot the curves of a fitted estimator (sgd or adam), or of the
        final step of a fitted Pipeline. With early stopping, the epoch
        whose weights the model kept is marked."""
        model = estimator
        if hasattr(estimator, "steps"):  # a Pipeline: its final step
            model = estimator.steps[-1][1]
        curve = getattr(model, "loss_curve_", None)
        if curve is None:
            what = type(model).__name__
            if hasattr(estimator, "steps"):
                what = f"The final step of the Pipeline, {what},"
            if hasattr(model, "coefs_"):
                why = "was fitted with solver='lbfgs', which records no loss curve"
            else:
                why = "is not fitted: fit it first, with solver='sgd' or 'adam'"
            raise ValueError(f"{what} has no loss_curve_: it {why}.")
        scores = getattr(model, "validation_scores_", None)
        kept = None
        if scores is not None and np.isfinite(scores).any():
            kept = int(np.nanargmax(scores)) + 1
        display = cls(
            loss_curve=curve,
            validation_loss_curve=getattr(model, "validation_loss_curve_", None),
            estimator_name=name or type(model).__name__,
            kept_epoch=kept,
        )
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the curves on ``ax`` (a new figure by default); extra keyword
        arguments go to the training curve's ``ax.plot``. Returns self."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError(
                "LossCurveDisplay.plot needs matplotlib: pip install matplotlib"
            ) from exc
        if ax is None:
            _, ax = plt.subplots()
        name = name or self.estimator_name or "MLP"
        epochs = range(1, len(self.loss_curve) + 1)
        self.lines_ = ax.plot(epochs, self.loss_curve, label=f"{name} training loss", **kwargs)
        if self.validation_loss_curve is not None:
            self.lines_ += ax.plot(
                range(1, len(self.validation_loss_curve) + 1), self.validation_loss_curve,
                linestyle="--", label=f"{name} validation loss",
            )
        self.kept_line_ = None
        if self.kept_epoch is not None:
            self.kept_line_ = ax.axvline(self.kept_epoch, color="0.5", linestyle=":",
                                         label=f"weights kept (epoch {self.kept_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
