"""The mini-batch driver's team of threads (kernels/cpu/_pool.py,
kernels/cpu/compiled/pool.py): how many a fit gets, the same models
from fit to fit, and the workers after a fork, under concurrent fits and
after a failed call. The epochs it computes are tested against the
reference in test_kernels.py (``test_minibatch_epoch_shared_by_the_team``).
Tests that could hang on a lost worker run in a subprocess with a
timeout."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_limits

import fastnn
from fastnn.kernels.cpu import _cache, _pool


needs_team = pytest.mark.skipif(_cache.usable_cores() < 2, reason="one usable core: no team")


def _data():
    return make_classification(600, 40, n_informative=12, n_classes=3, random_state=0)


def _fit(X, y, **kw):
    params = dict(hidden_layer_sizes=(64, 48), batch_size=64, max_iter=3, random_state=0)
    params.update(kw)
    return fastnn.MLPClassifier(**params).fit(X, y)


def _same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a.coefs_ + a.intercepts_,
                                                    b.coefs_ + b.intercepts_)) and \
        a.loss_curve_ == b.loss_curve_


@needs_team
def test_the_team_follows_blas_threads():
    assert _pool.team_size() == min(_cache.usable_cores(), _pool.MAX_THREADS) - 1 or \
        min(c.num_threads for c in _pool._blas()) < 2
    with threadpool_limits(1, "blas"):
        assert _pool.team_size() == 0
        _fit(*_data(), max_iter=1)
        assert _pool.last_size() == 0


@needs_team
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_team_fits_are_the_same_model_each_time(dtype):
    X, y = _data()
    X = X.astype(dtype)
    first = _fit(X, y)
    if min(c.num_threads for c in _pool._blas()) >= 2:
        assert _pool.last_size() == 1
    assert _same(first, _fit(X, y))
    with threadpool_limits(1, "blas"):
        alone = _fit(X, y)
    # one thread: BLAS may pick other kernels for whole products than for
    # blocks of their rows, and the penalty's sum adds its parts
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    for a, b in zip(first.coefs_, alone.coefs_):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(first.loss_curve_, alone.loss_curve_, rtol=rtol)


def _run(script, timeout=300):
    """Run ``script`` in a fresh interpreter; a hang fails the test."""
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


_PRELUDE = """
    import os, threading, warnings
    import numpy as np
    from sklearn.datasets import make_classification
    import fastnn
    from fastnn.kernels.cpu import _cache, _pool
    warnings.simplefilter("ignore")
    X, y = make_classification(600, 40, n_informative=12, n_classes=3, random_state=0)

    def fit(seed=0):
        return fastnn.MLPClassifier((64, 48), batch_size=64, max_iter=3,
                                    random_state=seed).fit(X, y)

    def same(a, b):
        return all(np.array_equal(p, q) for p, q in zip(a.coefs_ + a.intercepts_,
                                                        b.coefs_ + b.intercepts_))
"""


@needs_team
@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_fits_with_workers_of_its_own():
    out = _run(_PRELUDE + """
    parent = fit()
    size = _pool.last_size()
    pid = os.fork()
    if pid == 0:
        child = fit()
        os._exit(0 if same(child, parent) and _pool.last_size() == size else 3)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0, status
    assert same(fit(), parent)
    print("ok", size)
    """)
    assert out.startswith("ok")


@needs_team
def test_concurrent_fits_in_threads_take_the_team_in_turn():
    out = _run(_PRELUDE + """
    alone = [fit(seed) for seed in range(3)]
    got = [None] * 3

    def work(k):
        got[k] = fit(k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(same(a, b) for a, b in zip(alone, got))
    print("ok")
    """)
    assert out.startswith("ok")


@needs_team
def test_a_call_failing_before_its_kernel_sends_the_workers_back():
    out = _run(_PRELUDE + """
    before = fit()
    serve = _cache._ready["pool_serve"][0]
    def fail(nw):
        assert nw == 1
        raise KeyError("before the kernel")
    try:
        _pool.run(fail, serve)
    except KeyError:
        pass
    else:
        raise AssertionError("no error")
    assert same(fit(), before)
    print("ok")
    """)
    assert out.startswith("ok")


@needs_team
def test_workers_linger_after_a_call_then_sleep_until_the_next():
    out = _run(_PRELUDE + """
    import time
    from fastnn.kernels.cpu.compiled import pool
    before = fit()
    state = _pool.BOARD[1 * _pool.SLOTS + pool.STATE]
    assert state in (pool.LINGERING, pool.ASLEEP), state
    waited = 0.0
    while _pool.BOARD[1 * _pool.SLOTS + pool.STATE] != pool.ASLEEP:  # lingered out
        assert waited < 30, "the worker never went to sleep"
        time.sleep(0.01)
        waited += 0.01
    assert same(fit(), before)  # woken from its sleep
    assert same(fit(), before)  # most likely still lingering: claimed
    print("ok")
    """)
    assert out.startswith("ok")
