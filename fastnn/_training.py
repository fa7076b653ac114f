"""The training loops: a Python epoch loop around one compiled epoch kernel
(sgd, adam), and SciPy's L-BFGS-B around the full-batch loss/gradient kernel.

Everything that decides *what* happens between epochs lives here, in the
same order as scikit-learn 1.9.1 (so the same ``random_state`` gives the
same model): per-epoch shuffles, learning-rate schedules, ``tol`` /
``n_iter_no_change``, early stopping on a held-out split with best-weight
restore, verbose lines, ``ConvergenceWarning`` and Ctrl-C.
"""

import warnings

import numpy as np
import scipy
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from ._callbacks import EpochHooks
from ._params import unpack
from .kernels import codes

#: Rows per chunk when the whole data set is forwarded (L-BFGS, predict).
CHUNK_ROWS = 4096


class OptimizerState:
    """The state of the sgd/adam optimizer, kept between ``partial_fit`` calls
    (scikit-learn's ``_optimizer``): the current learning rate and flat
    buffers in the parameter layout (SGD: velocity; Adam: first and second
    moments and the step count)."""

    def __init__(self, solver, n_params, dtype, learning_rate_init):
        self.solver = solver
        self.learning_rate = float(learning_rate_init)
        self.state1 = np.zeros(n_params, dtype=dtype)
        self.state2 = np.zeros(n_params if solver == "adam" else 0, dtype=dtype)
        self.t = 0

    def copy(self):
        new = OptimizerState.__new__(OptimizerState)
        new.__dict__.update(self.__dict__)
        new.state1 = self.state1.copy()
        new.state2 = self.state2.copy()
        return new

    def iteration_ends(self, est, time_step):
        """Epoch-end schedule: invscaling's decay, as scikit-learn's SGD."""
        if self.solver == "sgd" and est.learning_rate == "invscaling":
            self.learning_rate = float(est.learning_rate_init) / (time_step + 1) ** est.power_t

    def trigger_stopping(self, est, msg, verbose):
        """True to stop; 'adaptive' SGD divides the rate by 5 instead while
        it stays above 1e-6."""
        if self.solver == "adam" or est.learning_rate != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


def _as_weights(sample_weight, n, dtype):
    if sample_weight is None:
        return np.ones(n, dtype=dtype)
    return np.ascontiguousarray(sample_weight, dtype=dtype)


class Validation:
    """Held-out data scored after every epoch: ``X``, ``y`` as the user's
    labels/targets (for scorers), ``Y`` as the network's targets (for the
    loss), ``sample_weight`` (or None)."""

    def __init__(self, X, y, Y, sample_weight):
        self.X, self.y, self.Y, self.sample_weight = X, y, Y, sample_weight
        self._X_in = None  # X in kernel form on the fit's device, moved there once

    def outputs(self, est, be, d_params, units):
        """The network's outputs on this set (a host array), computed on
        ``be`` from the parameters where they live: on the GPU, X is moved
        there once per fit and only the outputs come back each epoch."""
        dtype = np.dtype(d_params.dtype)
        if self._X_in is None:
            X = self.X if self.X.dtype == dtype else self.X.astype(dtype)
            self._X_in = be.kernel_input(X)
        out = np.empty((self.Y.shape[0], int(units[-1])), dtype=dtype)
        hidden_code, act_param, out_code, _, _ = est._codes(dtype)
        be.forward(out, self._X_in, d_params, units, hidden_code, act_param, out_code, CHUNK_ROWS)
        return out

    def loss(self, est, out):
        """The data loss (no L2 penalty) of the network outputs ``out`` on
        this set."""
        from .kernels import cpu as cpu_kernels  # numba is imported by the first fit

        Y = np.ascontiguousarray(self.Y, dtype=out.dtype)
        SW = _as_weights(self.sample_weight, Y.shape[0], out.dtype)
        _, _, _, loss_code, loss_param = est._codes(out.dtype)
        return cpu_kernels.loss_sum(out, Y, SW, loss_code, loss_param) / float(SW.sum())


def _split_validation(est, X, y, sample_weight):
    """scikit-learn's early-stopping split: stratified for single-output
    classifiers, drawn from the estimator's RandomState."""
    if est.validation_fraction == 0:
        raise ValueError(
            "early_stopping=True holds out validation_fraction of the data, and "
            "validation_fraction=0 holds out nothing: give validation_fraction in "
            "(0, 1), or a validation set (X_val, y_val)."
        )
    # scikit-learn stratifies single-output classification by its boolean
    # binarized labels: the same labels give the same split.
    stratify = y.astype(bool) if (est._is_classifier() and est.n_outputs_ == 1) else None
    arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
    try:
        parts = train_test_split(
            *arrays,
            random_state=est._random_state,
            test_size=est.validation_fraction,
            stratify=stratify,
        )
    except ValueError as exc:
        if stratify is None or "too few members" not in str(exc):
            raise
        labels, counts = np.unique(est._label_binarizer.inverse_transform(y), return_counts=True)
        raise ValueError(
            f"{exc} (the binarized labels of the early-stopping split; of the classes "
            f"of y, {labels[counts < 2].tolist()} have fewer than 2 members)"
        ) from exc
    X_train, X_val, y_train, Y_val = parts[:4]
    sw_train, sw_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' "
            "or the size of your dataset."
        )
    y_val = est._label_binarizer.inverse_transform(Y_val) if est._is_classifier() else Y_val
    return X_train, y_train, sw_train, Validation(X_val, y_val, Y_val, sw_val)


def fit_stochastic(est, X, y, sample_weight, params, units, incremental, backend, drop,
                   validation=None):
    """Train ``params`` (the flat buffer, updated in place) with sgd or adam
    on ``backend`` (see _backend.py): data, parameters and optimizer state
    live there for the whole fit; each epoch reads back its loss.

    ``drop`` is the dropout rate of each hidden layer (float64, see
    ``_dropout_rates``). ``validation`` (a Validation of the user's
    X_val/y_val) replaces the early-stopping split; with either, the
    validation loss is recorded in ``validation_loss_curve_``.

    Sets the fitted attributes scikit-learn's ``_fit_stochastic`` sets. The
    caller restores the estimator if this raises.
    """
    dtype = params.dtype
    if not incremental or not hasattr(est, "_optimizer"):
        est._optimizer = OptimizerState(est.solver, params.shape[0], dtype, est.learning_rate_init)
    else:
        est._optimizer = est._optimizer.copy()
    opt = est._optimizer

    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    early_stopping = est.early_stopping
    X_train, y_train, sw_train = X, y, sample_weight
    if validation is None and early_stopping:
        X_train, y_train, sw_train, validation = _split_validation(est, X, y, sample_weight)

    n_samples = X_train.shape[0]
    sample_idx = np.arange(n_samples, dtype=np.int64)
    if est.batch_size == "auto":
        batch_size = min(200, n_samples)
    else:
        if est.batch_size > n_samples:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than "
                "sample size. It is going to be clipped"
            )
        batch_size = int(np.clip(est.batch_size, 1, n_samples))

    be = backend
    X_in = be.kernel_input(X_train)
    Y = be.to_device(np.ascontiguousarray(y_train, dtype=dtype))
    SW = _as_weights(sw_train, n_samples, dtype)
    d_params, d_state1, d_state2 = (be.to_device(a) for a in (params, opt.state1, opt.state2))
    net_codes = est._codes(dtype)
    epoch = be.epoch(batch_size)
    cast = dtype.type
    solver_code = codes.SOLVERS[est.solver]

    # Fresh lists (appending to the old ones would change the estimator
    # before the fit has succeeded).
    loss_curve = est.loss_curve_ = list(est.loss_curve_)
    if est.validation_scores_ is not None or early_stopping:
        est.validation_scores_ = list(est.validation_scores_ or [])
    if est.validation_loss_curve_ is not None or validation is not None:
        est.validation_loss_curve_ = list(est.validation_loss_curve_ or [])
    # What a Ctrl-C restores: the state after the last completed epoch.
    est.n_iter_ = 0
    last = _Snapshot(est, be, d_params, d_state1, d_state2)

    def fitted_state():  # what a callback's fitted copy of the model needs
        coefs, intercepts = unpack(be.to_host(d_params).copy(), list(units))
        return {"coefs_": coefs, "intercepts_": intercepts}

    hooks = EpochHooks(est, X_train, lambda: _user_targets(est, y_train),
                       1 if incremental else est.max_iter, fitted_state)
    late_warning = None  # (message, category), warned once the loop is over
    try:
        with be.reporting(_compile_reporter(est, hooks)):
            for it in range(est.max_iter):
                hooks.begin()
                if est.shuffle:
                    shuffle_in_place(sample_idx, est._random_state)
                # Drawn only with dropout, so without it the random stream (and
                # the model) is scikit-learn's.
                seed = int(est._random_state.randint(2**32)) if drop.any() else 0
                accumulated_loss, opt.t = epoch(
                    d_params, d_state1, d_state2, *X_in, Y, SW, sample_idx, batch_size,
                    units, *net_codes, cast(est.alpha), drop, seed,
                    solver_code, cast(opt.learning_rate), cast(est.momentum), bool(est.nesterovs_momentum),
                    cast(est.beta_1), cast(est.beta_2), cast(est.epsilon), opt.t,
                )
                if not np.isfinite(accumulated_loss):
                    if not (early_stopping and est.best_validation_score_ > -np.inf):
                        # scikit-learn carries on and may return a finite but
                        # useless model; with nothing good to keep, the fit failed.
                        raise ValueError(_diverged(f"epoch {est.n_iter_ + 1}"))
                    # Early stopping kept the best epoch's weights: return them,
                    # with the diverged epoch on record (scikit-learn#29504).
                    est.n_iter_ += 1
                    est.loss_ = float(accumulated_loss)
                    loss_curve.append(est.loss_)
                    if validation is not None:
                        est.validation_loss_curve_.append(np.nan)
                    est.validation_scores_.append(np.nan)
                    late_warning = (
                        f"{_diverged(f'epoch {est.n_iter_}')} Training stopped there; the model "
                        "is that of the epoch with the best validation score.",
                        RuntimeWarning,
                    )
                    break
                est.n_iter_ += 1
                est.loss_ = accumulated_loss / n_samples
                est.t_ += n_samples
                loss_curve.append(est.loss_)
                if est.verbose:
                    print("Iteration %d, loss = %.8f" % (est.n_iter_, est.loss_))

                _update_no_improvement_count(est, be, d_params, units, early_stopping, validation)
                opt.iteration_ends(est, est.t_)

                if est._no_improvement_count > est.n_iter_no_change:
                    if early_stopping:
                        msg = (
                            "Validation score did not improve more than "
                            "tol=%f for %d consecutive epochs."
                            % (est.tol, est.n_iter_no_change)
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than tol=%f"
                            " for %d consecutive epochs." % (est.tol, est.n_iter_no_change)
                        )
                    if opt.trigger_stopping(est, msg, est.verbose):
                        break
                    est._no_improvement_count = 0

                last.update(est, be, d_params, d_state1, d_state2)
                if hooks.end() or incremental:
                    break
                if est.n_iter_ == est.max_iter:
                    late_warning = (
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet." % est.max_iter,
                        ConvergenceWarning,
                    )
    except KeyboardInterrupt:
        late_warning = ("Training interrupted by user.", UserWarning)
        last.restore(est, be, d_params, d_state1, d_state2)
    finally:
        hooks.close()
    if late_warning is not None:  # after the progress bar has closed its line
        warnings.warn(*late_warning)

    params[:] = be.to_host(d_params)
    opt.state1 = be.to_host(d_state1)
    if opt.state2.size:
        opt.state2 = be.to_host(d_state2)
    if early_stopping:
        params[:] = est._best_params
    return params


def _diverged(where, stochastic=True):
    """The error (or warning) of a fit whose loss stopped being finite in
    ``where`` ("epoch 3")."""
    hint = "; a smaller learning_rate_init may also help" if stochastic else ""
    return (
        "Solver produced non-finite parameter weights. The input data may contain "
        f"large values and need to be preprocessed. (The training loss was not "
        f"finite in {where}{hint}.)"
    )


def _compile_reporter(est, hooks):
    """What a fit shows of the kernels compiled during it (see
    ``_backend``'s ``reporting``): a line each with ``verbose``, a status
    on the progress bar."""
    def report(what, seconds):
        if seconds is None:
            if est.verbose:
                print(f"Compiling {what}, once for this machine...", flush=True)
            if hooks is not None:
                hooks.compiling(True)
        else:
            if est.verbose:
                print(f"Compiled in {seconds:.1f} s.", flush=True)
            if hooks is not None:
                hooks.compiling(False)

    return report


def shuffle_in_place(idx, random_state):
    """``idx[:] = sklearn.utils.shuffle(idx, random_state=random_state)``
    for a 1-D array and a RandomState. scikit-learn shuffles
    ``arange(len(idx))`` and indexes ``idx`` with the result; the shuffle's
    swaps do not depend on the values they move, so the same swaps made on
    ``idx`` itself give the same order from the same draws, leaving the
    random stream where scikit-learn leaves it. No permutation or indexed
    copy is allocated, and none of the argument validation that costs
    scikit-learn's function about 0.2 ms a call, once an epoch."""
    random_state.shuffle(idx)


def _user_targets(est, Y):
    """The network's targets ``Y`` as the user gave them (class labels, 1-D
    for one output), for callbacks that score the model on them."""
    if est._is_classifier():
        return est._label_binarizer.inverse_transform(Y)
    return Y.ravel() if Y.shape[1] == 1 else Y


class _Snapshot:
    """The training state after a completed epoch, for Ctrl-C to return to
    (parameters and optimizer buffers copied where they live, into the same
    buffers every epoch)."""

    _SCALARS = ("n_iter_", "t_", "loss_", "best_loss_", "best_validation_score_",
                "_no_improvement_count", "_best_params")

    def __init__(self, est, be, *arrays):
        self.arrays = [be.copy(a) for a in arrays]
        self._record(est)
        self.complete = True

    def update(self, est, be, *arrays):
        # A Ctrl-C in here leaves this snapshot part old, part new, but the
        # live state is then the consistent one being saved: restore keeps it.
        self.complete = False
        for dst, src in zip(self.arrays, arrays):
            be.copy_into(dst, src)
        self._record(est)
        self.complete = True

    def _record(self, est):
        self.optimizer = (est._optimizer.t, est._optimizer.learning_rate)
        self.scalars = {k: getattr(est, k, None) for k in self._SCALARS}
        self.n_losses = len(est.loss_curve_)
        self.n_scores = len(est.validation_scores_ or ())
        self.n_val_losses = len(est.validation_loss_curve_ or ())

    def restore(self, est, be, *arrays):
        if not self.complete:
            return
        for dst, src in zip(arrays, self.arrays):
            be.copy_into(dst, src)
        est._optimizer.t, est._optimizer.learning_rate = self.optimizer
        for k, v in self.scalars.items():
            setattr(est, k, v)
        del est.loss_curve_[self.n_losses :]
        if est.validation_scores_ is not None:
            del est.validation_scores_[self.n_scores :]
        if est.validation_loss_curve_ is not None:
            del est.validation_loss_curve_[self.n_val_losses :]


def _update_no_improvement_count(est, be, d_params, units, early_stopping, validation):
    if validation is not None:
        out = validation.outputs(est, be, d_params, units)  # once, for loss and score
        val_loss = validation.loss(est, out)
        est.validation_loss_curve_.append(val_loss)
    if early_stopping:
        params = be.to_host(d_params)  # for a scorer, and kept if the best so far
        val_score = est._validation_score(params, units, validation, out, val_loss)
        est.validation_scores_.append(val_score)
        if est.verbose:
            print("Validation score: %f" % val_score)
        if val_score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if val_score > est.best_validation_score_:
            est.best_validation_score_ = val_score
            est._best_params = params.copy()
    else:
        if est.loss_curve_[-1] > est.best_loss_ - est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if est.loss_curve_[-1] < est.best_loss_:
            est.best_loss_ = est.loss_curve_[-1]


def fit_lbfgs(est, X, y, sample_weight, params, units, backend):
    """Minimise the full-batch loss with SciPy's L-BFGS-B; the loss and its
    gradient come from one kernel call per evaluation, on ``backend`` (the
    data stay there; each evaluation moves the weights and gradient).

    For multi-output squared error the gradient is that of the loss
    reported (scikit-learn's is ``n_outputs`` times too large there,
    scikit-learn#8349); everywhere else both agree with scikit-learn.
    """
    dtype = params.dtype
    n = X.shape[0]
    be = backend
    X_in = be.kernel_input(X)
    Y = be.to_device(np.ascontiguousarray(y, dtype=dtype))
    SW = _as_weights(sample_weight, n, dtype)
    net_codes = est._codes(dtype)
    loss_code = net_codes[3]
    n_outputs = y.shape[1]
    delta_scale = 1.0 / n_outputs if loss_code == codes.SQUARED_ERROR else 1.0
    alpha = dtype.type(est.alpha)
    d_grad = be.to_device(np.empty_like(params))
    work = {}  # the evaluations' scratch buffers

    def loss_and_grad(packed):
        d_p = be.to_device(packed.astype(dtype, copy=False))
        loss = be.kernels.loss_grad(
            d_grad, d_p, *X_in, Y, SW, units, *net_codes, alpha, dtype.type(delta_scale),
            CHUNK_ROWS, work,
        )
        return loss, np.array(be.to_host(d_grad), dtype=np.float64)  # a copy: scipy keeps it

    # Callbacks and the progress bar see each L-BFGS iteration as an epoch.
    est.n_iter_ = 0
    latest = {"x": params.astype(np.float64)}

    def fitted_state():
        coefs, intercepts = unpack(latest["x"].astype(dtype), list(units))
        return {"coefs_": coefs, "intercepts_": intercepts}

    hooks = EpochHooks(est, X, lambda: _user_targets(est, y), est.max_iter, fitted_state)

    def iteration_done(intermediate_result):
        # No copy: the weights are read here (fitted_state) or, after a stop,
        # once the minimizer has returned, before it can change them.
        latest["x"], latest["fun"] = intermediate_result.x, intermediate_result.fun
        est.n_iter_ += 1
        est.loss_ = float(intermediate_result.fun)
        if hooks.end():
            raise _StopRequested
        hooks.begin()

    options = {"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol}
    if _scipy_takes_iprint():
        options["iprint"] = 1 if (est.verbose is True or est.verbose >= 1) else -1
    stopped = False
    try:
        with be.reporting(_compile_reporter(est, hooks)):
            hooks.begin()
            res = scipy.optimize.minimize(
                loss_and_grad, latest["x"], method="L-BFGS-B", jac=True,
                options=options, callback=iteration_done,
            )
    except _StopRequested:
        stopped = True
    finally:
        hooks.close()
    x, fun = (latest["x"], latest["fun"]) if stopped else (res.x, res.fun)
    if not (np.isfinite(fun) and np.isfinite(x).all()):
        # L-BFGS-B stops where the loss overflows, with nothing trained.
        raise ValueError(_diverged(f"L-BFGS iteration {est.n_iter_ + 1}", stochastic=False))
    if not stopped:  # else the last completed iteration's model, as a callback asked
        est.n_iter_ = _lbfgs_n_iter(res, est.max_iter)
    est.loss_ = float(fun)
    params[:] = x
    return params


class _StopRequested(Exception):
    """Raised out of SciPy's minimizer when a callback asks to stop."""


def _scipy_takes_iprint():
    major, minor = (int(v) for v in scipy.__version__.split(".")[:2])
    return (major, minor) < (1, 15)


def _lbfgs_n_iter(result, max_iter):
    """Iterations taken; warns as scikit-learn does when L-BFGS-B stopped
    without converging."""
    n_iter = min(result.nit, max_iter)
    if result.status != 0:
        msg = (
            f"lbfgs failed to converge after {n_iter} iteration(s) "
            f"(status={result.status}):\n{result.message}\n"
        )
        if n_iter == max_iter:
            msg += (
                "\nIncrease the number of iterations to improve the "
                f"convergence (max_iter={max_iter})."
            )
        msg += (
            "\nYou might also want to scale the data as shown in:\n"
            "    https://scikit-learn.org/stable/modules/preprocessing.html"
        )
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    return n_iter
