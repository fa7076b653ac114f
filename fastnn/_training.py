"""The training loops: a Python epoch loop around one compiled epoch kernel
(sgd, adam), and SciPy's L-BFGS-B around the full-batch loss/gradient kernel.

Everything that decides *what* happens between epochs lives here, in the
same order as scikit-learn 1.9.1 (so the same ``random_state`` gives the
same model): per-epoch shuffles, learning-rate schedules, ``tol`` /
``n_iter_no_change``, early stopping with best-weight restore, verbose
lines, ``ConvergenceWarning`` and Ctrl-C.

The loops know nothing of the estimator: they take what they need (a
``Setup``: the network's codes, the hyperparameters, the schedule, the
hooks, the early-stopping score) and a ``Record`` of the training so far
(scikit-learn's fitted training attributes, kept between ``partial_fit``
calls), and return the record of what happened; the estimator sets its
attributes from it in one place.
"""

import copy
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ._params import unpack
from .kernels import codes


class OptimizerState:
    """The state of the sgd/adam optimizer, kept between ``partial_fit`` calls
    (scikit-learn's ``_optimizer``): the current learning rate and flat
    buffers in the parameter layout (``moment1``: SGD's velocities or Adam's
    first moments; ``moment2``: Adam's second moments), and Adam's step
    count."""

    def __init__(self, solver, n_params, dtype, learning_rate_init):
        self.solver = solver
        self.learning_rate = float(learning_rate_init)
        self.moment1 = np.zeros(n_params, dtype=dtype)
        self.moment2 = np.zeros(n_params if solver == "adam" else 0, dtype=dtype)
        self.t = 0

    def __setstate__(self, state):
        # Models pickled before the buffers were named for what they hold.
        state = dict(state)
        if "state1" in state:
            state["moment1"], state["moment2"] = state.pop("state1"), state.pop("state2")
        self.__dict__.update(state)

    def copy(self):
        new = copy.copy(self)
        new.moment1 = self.moment1.copy()
        new.moment2 = self.moment2.copy()
        return new

    def iteration_ends(self, setup, time_step):
        """Epoch-end schedule: invscaling's decay, as scikit-learn's SGD."""
        if self.solver == "sgd" and setup.learning_rate == "invscaling":
            self.learning_rate = float(setup.learning_rate_init) / (time_step + 1) ** setup.power_t

    def trigger_stopping(self, setup, msg):
        """True to stop; 'adaptive' SGD divides the rate by 5 instead while
        it stays above 1e-6."""
        if self.solver == "adam" or setup.learning_rate != "adaptive":
            if setup.verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if setup.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if setup.verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


@dataclass
class Setup:
    """What a training loop needs, taken from the estimator once.

    ``net_codes``: the network as the kernels take it (see
    ``_mlp._codes``); ``batch_size`` the clipped batch size; ``drop`` the
    hidden layers' dropout rates; ``score(params, out, val_loss)`` what
    early stopping maximizes (the validation set's network outputs ``out``
    and loss given); ``hooks(X, targets, n_epochs, fitted_state)`` makes the
    per-epoch hooks (``_callbacks.EpochHooks``); ``user_targets(Y)`` turns
    network targets back into the user's labels.
    """

    solver: str
    net_codes: tuple
    random_state: object
    hooks: object
    user_targets: object
    alpha: float = 0.0001
    max_iter: int = 200
    tol: float = 1e-4
    verbose: int = 0
    batch_size: int = 200
    shuffle: bool = True
    n_iter_no_change: int = 10
    early_stopping: bool = False
    incremental: bool = False
    learning_rate: str = "constant"
    learning_rate_init: float = 0.001
    power_t: float = 0.5
    momentum: float = 0.9
    nesterov: bool = True
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    max_fun: int = 15000
    drop: np.ndarray = None
    score: object = None


@dataclass
class Record:
    """The training so far: scikit-learn's fitted training attributes (by
    their attribute names, without the trailing underscore) and the
    optimizer state; what the loops return. The lists are the record's
    own (a failed fit leaves the estimator's as they were)."""

    n_iter: int = 0
    t: int = 0
    loss: float = None
    loss_curve: list = field(default_factory=list)
    best_loss: float = None
    validation_scores: list = None
    validation_loss_curve: list = None
    best_validation_score: float = None
    no_improvement_count: int = 0
    best_params: np.ndarray = None
    optimizer: OptimizerState = None

    #: (record field, estimator attribute)
    ATTRIBUTES = (("n_iter", "n_iter_"), ("t", "t_"), ("loss", "loss_"),
                  ("loss_curve", "loss_curve_"), ("best_loss", "best_loss_"),
                  ("validation_scores", "validation_scores_"),
                  ("validation_loss_curve", "validation_loss_curve_"),
                  ("best_validation_score", "best_validation_score_"),
                  ("no_improvement_count", "_no_improvement_count"),
                  ("best_params", "_best_params"), ("optimizer", "_optimizer"))

    @classmethod
    def of(cls, est):
        """The record the estimator holds (copies of its lists)."""
        record = cls(**{f: getattr(est, a, None) for f, a in cls.ATTRIBUTES})
        for name in ("loss_curve", "validation_scores", "validation_loss_curve"):
            value = getattr(record, name)
            setattr(record, name, None if value is None else list(value))
        record.n_iter = record.n_iter or 0
        record.t = record.t or 0
        record.no_improvement_count = record.no_improvement_count or 0
        return record

    def apply_to(self, est):
        """Set the estimator's fitted training attributes from this record
        (only those the solver keeps: lbfgs has no curves or optimizer)."""
        for name, attribute in self.ATTRIBUTES:
            value = getattr(self, name)
            if value is not None or hasattr(est, attribute):
                setattr(est, attribute, value)


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

    def outputs(self, net_codes, be, d_params, units):
        """The network's outputs on this set (a host array), computed on
        ``be`` from the parameters where they live: on the GPU, X is moved
        there once per fit and only the outputs come back each epoch."""
        dtype = np.dtype(d_params.dtype)
        if self._X_in is None:
            X = self.X if self.X.dtype == dtype else self.X.astype(dtype)
            self._X_in = be.kernel_input(X)
        out = np.empty((self.Y.shape[0], int(units[-1])), dtype=dtype)
        hidden_code, act_param, out_code, _, _ = net_codes
        be.forward(out, self._X_in, d_params, units, hidden_code, act_param, out_code)
        return out

    def loss(self, net_codes, out):
        """The data loss (no L2 penalty) of the network outputs ``out`` on
        this set."""
        from .kernels import cpu as cpu_kernels  # imported by the first fit, not by fastnn

        Y = np.ascontiguousarray(self.Y, dtype=out.dtype)
        SW = _as_weights(self.sample_weight, Y.shape[0], out.dtype)
        _, _, _, loss_code, loss_param = net_codes
        return cpu_kernels.loss_sum(out, Y, SW, loss_code, loss_param) / float(SW.sum())


def fit_stochastic(setup, record, X, y, sample_weight, params, units, backend, validation=None):
    """Train ``params`` (the flat buffer, updated in place) with sgd or adam
    on ``backend`` (see _backend.py): data, parameters and optimizer state
    live there for the whole fit; each epoch reads back its loss.

    ``record`` is the training so far (a first fit's is fresh: see
    ``_mlp._untrained_state``); returns the record after this fit (a new
    one: ``record`` is unchanged). ``validation`` (the user's X_val/y_val,
    or the early-stopping split) is scored after every epoch: its loss is
    recorded in ``validation_loss_curve``, and with early stopping
    ``setup.score`` decides.
    """
    record = copy.copy(record)
    dtype = params.dtype
    if not setup.incremental or record.optimizer is None:
        record.optimizer = OptimizerState(setup.solver, params.shape[0], dtype,
                                          setup.learning_rate_init)
    else:
        record.optimizer = record.optimizer.copy()
    opt = record.optimizer
    early_stopping = setup.early_stopping
    n_samples = X.shape[0]
    sample_idx = np.arange(n_samples, dtype=np.int64)
    batch_size = setup.batch_size

    be = backend
    X_in = be.kernel_input(X)
    Y = be.to_device(np.ascontiguousarray(y, dtype=dtype))
    SW = _as_weights(sample_weight, n_samples, dtype)
    d_params, d_moment1, d_moment2 = (be.state_to_device(a)
                                      for a in (params, opt.moment1, opt.moment2))
    cast = dtype.type
    solver_code = codes.SOLVERS[setup.solver]
    drop = setup.drop

    # Fresh lists (appending to the estimator's would change it before the
    # fit has succeeded).
    record.loss_curve = list(record.loss_curve or [])
    if record.validation_scores is not None or early_stopping:
        record.validation_scores = list(record.validation_scores or [])
    if record.validation_loss_curve is not None or validation is not None:
        record.validation_loss_curve = list(record.validation_loss_curve or [])
    # What a Ctrl-C restores: the state after the last completed epoch.
    record.n_iter = 0
    last = _Snapshot(record, be, d_params, d_moment1, d_moment2)

    def fitted_state():  # what a callback's fitted copy of the model needs
        coefs, intercepts = unpack(be.to_host(d_params).copy(), list(units))
        return {"coefs_": coefs, "intercepts_": intercepts}

    hooks = setup.hooks(X, lambda: setup.user_targets(y),
                        1 if setup.incremental else setup.max_iter, fitted_state)
    late_warning = None  # (message, category), warned once the loop is over
    try:
        with be.reporting(_compile_reporter(setup.verbose, hooks)):
            # The kernels readied and the epochs' arguments made once; each
            # epoch sets its seed, learning rate and Adam's step count.
            epoch = be.epochs(batch_size)(
                d_params, d_moment1, d_moment2, *X_in, Y, SW, sample_idx, batch_size, units,
                *setup.net_codes, cast(setup.alpha), drop, solver_code, cast(setup.momentum),
                bool(setup.nesterov), cast(setup.beta_1), cast(setup.beta_2),
                cast(setup.epsilon))
            for it in range(setup.max_iter):
                hooks.begin()
                if setup.shuffle:
                    shuffle_in_place(sample_idx, setup.random_state)
                # Drawn only with dropout, so without it the random stream (and
                # the model) is scikit-learn's.
                seed = int(setup.random_state.randint(2**32)) if drop.any() else 0
                accumulated_loss, opt.t = epoch(seed, cast(opt.learning_rate), opt.t)
                if not np.isfinite(accumulated_loss):
                    if not (early_stopping and record.best_validation_score > -np.inf):
                        # scikit-learn carries on and may return a finite but
                        # useless model; with nothing good to keep, the fit failed.
                        raise ValueError(_diverged(f"epoch {record.n_iter + 1}"))
                    # Early stopping kept the best epoch's weights: return them,
                    # with the diverged epoch on record (scikit-learn#29504).
                    record.n_iter += 1
                    record.loss = float(accumulated_loss)
                    record.loss_curve.append(record.loss)
                    if validation is not None:
                        record.validation_loss_curve.append(np.nan)
                    record.validation_scores.append(np.nan)
                    late_warning = (
                        f"{_diverged(f'epoch {record.n_iter}')} Training stopped there; the "
                        "model is that of the epoch with the best validation score.",
                        RuntimeWarning,
                    )
                    break
                record.n_iter += 1
                record.loss = accumulated_loss / n_samples
                record.t += n_samples
                record.loss_curve.append(record.loss)
                if setup.verbose:
                    print("Iteration %d, loss = %.8f" % (record.n_iter, record.loss))

                _update_no_improvement_count(setup, record, be, d_params, units, validation)
                opt.iteration_ends(setup, record.t)

                if record.no_improvement_count > setup.n_iter_no_change:
                    if early_stopping:
                        msg = (
                            "Validation score did not improve more than "
                            "tol=%f for %d consecutive epochs."
                            % (setup.tol, setup.n_iter_no_change)
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than tol=%f"
                            " for %d consecutive epochs." % (setup.tol, setup.n_iter_no_change)
                        )
                    if opt.trigger_stopping(setup, msg):
                        break
                    record.no_improvement_count = 0

                last.update(record, be, d_params, d_moment1, d_moment2)
                scores = record.validation_scores
                if hooks.end(record.loss, scores[-1] if scores else None) or setup.incremental:
                    break
                if record.n_iter == setup.max_iter:
                    late_warning = (
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet." % setup.max_iter,
                        ConvergenceWarning,
                    )
    except KeyboardInterrupt:
        late_warning = ("Training interrupted by user.", UserWarning)
        record = last.restore(be, d_params, d_moment1, d_moment2)
        opt = record.optimizer
    finally:
        hooks.close()
    if late_warning is not None:  # after the progress bar has closed its line
        warnings.warn(*late_warning)

    params[:] = be.to_host(d_params)
    opt.moment1 = be.to_host(d_moment1)
    if opt.moment2.size:
        opt.moment2 = be.to_host(d_moment2)
    if early_stopping:
        params[:] = record.best_params
    return record


def _diverged(where, stochastic=True):
    """The error (or warning) of a fit whose loss stopped being finite in
    ``where`` ("epoch 3")."""
    hint = "; a smaller learning_rate_init may also help" if stochastic else ""
    return (
        "Solver produced non-finite parameter weights. The input data may contain "
        f"large values and need to be preprocessed. (The training loss was not "
        f"finite in {where}{hint}.)"
    )


def _compile_reporter(verbose, hooks):
    """What a fit shows of the kernels compiled during it (see
    ``_backend``'s ``reporting``): a line each with ``verbose``, a status
    on the progress bar."""
    def report(what, seconds):
        if seconds is None:
            if verbose:
                print(f"Compiling {what}, once for this machine...", flush=True)
            hooks.compiling(True)
        else:
            if verbose:
                print(f"Compiled in {seconds:.1f} s.", flush=True)
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


class _Snapshot:
    """The training state after a completed epoch, for Ctrl-C to return to
    (parameters and optimizer buffers copied where they live, into the same
    buffers every epoch, and the record as it was then)."""

    def __init__(self, record, be, *arrays):
        self.arrays = [be.copy(a) for a in arrays]
        self._record(record)
        self.complete = True

    def update(self, record, be, *arrays):
        # A Ctrl-C in here leaves this snapshot part old, part new, but the
        # live state is then the consistent one being saved: restore keeps it.
        self.complete = False
        for dst, src in zip(self.arrays, arrays):
            be.copy_into(dst, src)
        self._record(record)
        self.complete = True

    def _record(self, record):
        self.live = record
        self.saved = copy.copy(record)
        self.optimizer = (record.optimizer.t, record.optimizer.learning_rate)
        self.lengths = {name: len(getattr(record, name)) for name in
                        ("loss_curve", "validation_scores", "validation_loss_curve")
                        if getattr(record, name) is not None}

    def restore(self, be, *arrays):
        """The record as it was at the snapshot (the buffers restored)."""
        if not self.complete:
            return self.live
        for dst, src in zip(arrays, self.arrays):
            be.copy_into(dst, src)
        record = self.saved
        record.optimizer.t, record.optimizer.learning_rate = self.optimizer
        for name, n in self.lengths.items():
            del getattr(record, name)[n:]
        return record


def _update_no_improvement_count(setup, record, be, d_params, units, validation):
    if validation is not None:
        out = validation.outputs(setup.net_codes, be, d_params, units)  # for loss and score
        val_loss = validation.loss(setup.net_codes, out)
        record.validation_loss_curve.append(val_loss)
    if setup.early_stopping:
        params = be.to_host(d_params)  # for a scorer, and kept if the best so far
        val_score = setup.score(params, out, val_loss)
        record.validation_scores.append(val_score)
        if setup.verbose:
            print("Validation score: %f" % val_score)
        if val_score < record.best_validation_score + setup.tol:
            record.no_improvement_count += 1
        else:
            record.no_improvement_count = 0
        if val_score > record.best_validation_score:
            record.best_validation_score = val_score
            record.best_params = params.copy()
    else:
        if record.loss_curve[-1] > record.best_loss - setup.tol:
            record.no_improvement_count += 1
        else:
            record.no_improvement_count = 0
        if record.loss_curve[-1] < record.best_loss:
            record.best_loss = record.loss_curve[-1]


def fit_lbfgs(setup, record, X, y, sample_weight, params, units, backend):
    """Minimise the full-batch loss with SciPy's L-BFGS-B; the loss and its
    gradient come from one kernel call per evaluation, on ``backend`` (the
    data stay there; each evaluation moves the weights and gradient).
    Returns the record after this fit (``n_iter`` and ``loss``).

    For multi-output squared error the gradient is that of the loss
    reported (scikit-learn's is ``n_outputs`` times too large there,
    scikit-learn#8349); everywhere else both agree with scikit-learn.
    """
    record = copy.copy(record)
    dtype = params.dtype
    n = X.shape[0]
    be = backend
    X_in = be.kernel_input(X)
    Y = be.to_device(np.ascontiguousarray(y, dtype=dtype))
    SW = _as_weights(sample_weight, n, dtype)
    loss_code = setup.net_codes[3]
    n_outputs = y.shape[1]
    delta_scale = dtype.type(1.0 / n_outputs if loss_code == codes.SQUARED_ERROR else 1.0)
    alpha = dtype.type(setup.alpha)
    d_grad = be.to_device(np.empty_like(params))
    work = {}  # the evaluations' scratch buffers

    def loss_and_grad(packed):
        d_p = be.to_device(packed.astype(dtype, copy=False))
        loss = be.loss_grad(d_grad, d_p, X_in, Y, SW, units, setup.net_codes, alpha, delta_scale,
                            work)
        return loss, np.array(be.to_host(d_grad), dtype=np.float64)  # a copy: scipy keeps it

    # Callbacks and the progress bar see each L-BFGS iteration as an epoch.
    record.n_iter = 0
    latest = {"x": params.astype(np.float64)}

    def fitted_state():
        coefs, intercepts = unpack(latest["x"].astype(dtype), list(units))
        return {"coefs_": coefs, "intercepts_": intercepts}

    hooks = setup.hooks(X, lambda: setup.user_targets(y), setup.max_iter, fitted_state)

    def iteration_done(intermediate_result):
        # No copy: the weights are read here (fitted_state) or, after a stop,
        # once the minimizer has returned, before it can change them.
        latest["x"], latest["fun"] = intermediate_result.x, intermediate_result.fun
        record.n_iter += 1
        record.loss = float(intermediate_result.fun)
        if hooks.end(record.loss, None):
            raise _StopRequested
        hooks.begin()

    options = {"maxfun": setup.max_fun, "maxiter": setup.max_iter, "gtol": setup.tol}
    if _scipy_takes_iprint():
        options["iprint"] = 1 if (setup.verbose is True or setup.verbose >= 1) else -1
    stopped = False
    try:
        with be.reporting(_compile_reporter(setup.verbose, hooks)):
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
        raise ValueError(_diverged(f"L-BFGS iteration {record.n_iter + 1}", stochastic=False))
    if not stopped:  # else the last completed iteration's model, as a callback asked
        record.n_iter = _lbfgs_n_iter(res, setup.max_iter)
    record.loss = float(fun)
    params[:] = x
    return record


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
