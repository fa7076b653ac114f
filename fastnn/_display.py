"""LossCurveDisplay: the training (and validation) loss curve of a fitted
fastnn or scikit-learn MLP, in scikit-learn's Display style."""


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

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : list of matplotlib Line2D
    """

    def __init__(self, *, loss_curve, validation_loss_curve=None, estimator_name=None):
        self.loss_curve = list(loss_curve)
        self.validation_loss_curve = (
            None if validation_loss_curve is None else list(validation_loss_curve)
        )
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, **kwargs):
        """Plot the curves of a fitted estimator (sgd or adam)."""
        curve = getattr(estimator, "loss_curve_", None)
        if curve is None:
            raise ValueError(
                f"{type(estimator).__name__} has no loss_curve_: fit it first, with "
                "solver='sgd' or 'adam' (lbfgs records no curve)."
            )
        display = cls(
            loss_curve=curve,
            validation_loss_curve=getattr(estimator, "validation_loss_curve_", None),
            estimator_name=name or type(estimator).__name__,
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
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
