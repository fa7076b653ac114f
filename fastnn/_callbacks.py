"""Per-epoch hooks of the training loop: scikit-learn's experimental
callback API (``sklearn.callback``, scikit-learn 1.9) where it exists, and
the ``progress`` bar.

The API is experimental upstream; where it is missing (older
scikit-learn) the estimators simply have no ``set_callbacks``.
"""

import sys
import time

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # scikit-learn without the callback API

    class CallbackSupportMixin:
        pass

    def with_callbacks(method):
        return method


class EpochHooks:
    """What the epoch loop calls: ``begin`` before each epoch, ``end`` after
    it (returns True when a callback asks to stop), ``close`` once."""

    def __init__(self, est, X, targets, n_epochs, reconstruction):
        """``targets()`` gives the y that callbacks see; it is called only
        where there are callbacks."""
        self.est, self.X, self.y = est, X, None
        self.reconstruction = reconstruction
        self.ctx = self.sub = None
        if getattr(est, "_skl_callbacks", None) and hasattr(est, "_init_callback_context"):
            self.y = targets()
            self.ctx = est._init_callback_context(max_subtasks=n_epochs)
            self.ctx.call_on_fit_task_begin(estimator=est, X=X, y=self.y)
        self.bar = _ProgressBar(n_epochs) if est.progress else None

    def begin(self):
        if self.ctx is not None:
            self.sub = self.ctx.subcontext(task_name="epoch")
            self.sub.call_on_fit_task_begin(estimator=self.est, X=self.X, y=self.y)

    def end(self, loss, val_score):
        """After an epoch of training loss ``loss`` (and validation score
        ``val_score``, or None)."""
        if self.bar is not None:
            self.bar.update(loss, val_score)
        if self.sub is None:
            return False
        return bool(self.sub.call_on_fit_task_end(
            estimator=self.est, X=self.X, y=self.y,
            reconstruction_attributes=self.reconstruction,
        ))

    def compiling(self, active):
        """Kernels start (``active``) or stop compiling: the progress bar
        says so."""
        if self.bar is not None:
            self.bar.compiling(active)

    def close(self):
        if self.bar is not None:
            self.bar.close()
        if self.ctx is not None:
            self.ctx.call_on_fit_task_end(
                estimator=self.est, X=self.X, y=self.y,
                reconstruction_attributes=self.reconstruction,
            )


class _ProgressBar:
    """tqdm over epochs when tqdm is installed, else one line per epoch on
    stderr (epoch, loss, validation score, time left)."""

    def __init__(self, total):
        self.total = total
        self.done = 0
        self.start = time.perf_counter()
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self.tqdm = None
        else:
            self.tqdm = tqdm(total=total, unit="epoch")

    def update(self, loss, val_score):
        self.done += 1
        if self.tqdm is not None:
            post = {"loss": f"{loss:.4g}"}
            if val_score is not None:
                post["val"] = f"{val_score:.4g}"
            self.tqdm.set_postfix(post)
            self.tqdm.update(1)
            return
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.done * (self.total - self.done)
        val = "" if val_score is None else f", validation score {val_score:.4f}"
        print(f"epoch {self.done}/{self.total}, loss {loss:.6f}{val}, "
              f"about {left:.0f} s left at most", file=sys.stderr, flush=True)

    def compiling(self, active):
        """Show that kernels compile (before the first epoch of a fit on a
        cold cache), or no longer."""
        if self.tqdm is not None:
            self.tqdm.set_description_str("compiling kernels" if active else "")
        elif active:
            print("compiling kernels, once for this machine...", file=sys.stderr, flush=True)

    def close(self):
        if self.tqdm is not None:
            self.tqdm.close()
