"""Compiling the kernels: once per machine, announced, shared between
processes, ahead of time on request (kernels/cpu/_cache.py, fastnn.warmup).

Each test that needs a cold cache runs its fits in fresh processes with
an empty NUMBA_CACHE_DIR of its own, and counts compiles, never time: the
processes report the units they compiled (``_cache.compiled_units()``),
a compile being numba running its compiler passes, which a cache load
does not.
"""

import collections
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from sklearn.datasets import load_digits

import fastnn
from fastnn.kernels import elementary
from fastnn.kernels.cpu import _cache

#: A fit on a few digits, reporting the units it compiled (and, for the
#: cache-sharing tests, its predictions) as JSON on stdout's last line.
FIT = textwrap.dedent("""
    import json, sys, warnings
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    import fastnn
    from fastnn.kernels.cpu import _cache
    warnings.simplefilter("ignore", ConvergenceWarning)
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    est = fastnn.MLPClassifier(hidden_layer_sizes=(20,), max_iter=3, random_state=0,
                               **json.loads(sys.argv[1])).fit(X, y)
    print(json.dumps({"compiled": [str(u) for u in _cache.compiled_units()],
                      "helper": _cache.helper_units(),
                      "proba": est.predict_proba(X[:5]).tolist(),
                      "numba": "numba" in sys.modules}))
""")


def _env(cache_dir, **extra):
    return dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), **extra)


def run_fit(cache_dir, prelude="", env=(), **params):
    """The FIT script (after ``prelude``) in a fresh process, with ``env``
    added to its environment; returns (its report, its stderr)."""
    done = subprocess.run([sys.executable, "-c", prelude + FIT, json.dumps(params)],
                          env=_env(cache_dir, **dict(env)), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_import_leaves_numba_to_the_first_fit():
    """A process that only builds, clones or ships estimators (the parent
    of a pool of workers) never pays for numba."""
    code = ("import sys, pickle, fastnn; from sklearn.base import clone; "
            "pickle.loads(pickle.dumps(clone(fastnn.MLPClassifier()))); "
            "print('numba' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_python_started_in_the_checkout_finds_its_kernels():
    """The checkout's root puts its fastnn/ first on the path; kernels/
    stands beside it (the install joins them): ``python -m fastnn warmup``
    run there must not fail to find ``fastnn.kernels``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = ("import fastnn, fastnn.kernels.codes as c; import fastnn.kernels; "
            "print(fastnn.__file__, c.__file__, fastnn.kernels.__file__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=root)
    assert done.returncode == 0, done.stderr
    package, kernels, kernels_package = done.stdout.split()
    assert package == os.path.join(root, "fastnn", "__init__.py")
    assert kernels == os.path.join(root, "kernels", "codes.py")
    assert kernels_package == os.path.join(root, "kernels", "__init__.py")
    done = subprocess.run([sys.executable, "-m", "fastnn", "warmup", "--help"],
                          capture_output=True, text=True, timeout=120, cwd=root)
    assert done.returncode == 0, done.stderr


def test_the_checkout_keeps_its_kernels_beside_an_editable_install(tmp_path):
    """An editable install of another checkout maps ``fastnn.kernels`` to
    that one's (a finder on ``sys.meta_path``): Python started in this
    checkout still takes the kernels beside its fastnn/ (two checkouts
    compared in one environment, as bench/paired.py does)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    other = tmp_path / "kernels"
    other.mkdir()
    (other / "__init__.py").write_text("raise ImportError('the other checkout')\n")
    code = textwrap.dedent(f"""
        import importlib.abc, importlib.util, sys
        class Editable(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "fastnn.kernels":
                    return importlib.util.spec_from_file_location(
                        name, {str(other / "__init__.py")!r},
                        submodule_search_locations=[{str(other)!r}])
        sys.meta_path.insert(0, Editable())
        import fastnn, fastnn.kernels.codes
        print(fastnn.kernels.codes.__file__)
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == os.path.join(root, "kernels", "codes.py")


def test_notice_on_a_cache_miss_and_not_on_a_warm_fit(tmp_path):
    """A cold cache: the notice, once. A warm one: no notice, nothing
    compiled, and numba never imported (the kernels load as machine code,
    see kernels/cpu/_native.py), for the same model."""
    cold, err = run_fit(tmp_path, verbose=True)
    assert cold["compiled"]
    notices = [line for line in err.splitlines() if line.startswith("fastnn: compiling")]
    assert len(notices) == 1, err  # once per process, however many units compile
    assert str(tmp_path) in notices[0] and "python -m fastnn warmup" in notices[0]
    assert cold["numba"]
    warm, err = run_fit(tmp_path, verbose=True)
    assert warm["compiled"] == [] and not warm["numba"]
    assert "fastnn: compiling" not in err
    assert warm["proba"] == cold["proba"]  # loaded kernels, same model


def test_verbose_and_progress_show_the_compile(tmp_path):
    script = FIT.replace('print(json.dumps(', 'print("END"); print(json.dumps(')
    for params, stream in (({"verbose": True}, "stdout"), ({"progress": True}, "stderr")):
        cache = tmp_path / stream
        outputs = []
        for _ in range(2):  # cold, then warm
            done = subprocess.run([sys.executable, "-c", script, json.dumps(params)],
                                  env=_env(cache), capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stderr
            outputs.append(getattr(done, stream).lower())
        assert "compiling" in outputs[0].replace("fastnn: compiling", "")
        assert "compiling" not in outputs[1]


def test_two_processes_on_one_cold_cache_compile_each_unit_once(tmp_path):
    """The workers of a grid search meeting a cold cache: both succeed, and
    between them each unit is compiled once (one compiles, the other
    waits for it and loads it)."""
    script = [sys.executable, "-c", FIT, json.dumps({})]
    procs = [subprocess.Popen(script, env=_env(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    a, b = (set(r["compiled"]) for r in reports)
    alone, _ = run_fit(tmp_path / "alone")
    assert not a & b, "a unit compiled twice"
    assert a | b == set(alone["compiled"])
    assert reports[0]["proba"] == reports[1]["proba"] == alone["proba"]


@pytest.mark.skipif(_cache.usable_cores() < 2, reason="a helper needs a second core")
def test_a_cold_fit_shares_its_compile_with_a_helper(tmp_path):
    """A cold default fit on two cores hands some units to a helper
    process: between them they compile what one process alone compiles,
    each unit once, into the cache (a warm fit then compiles nothing), for
    the same model."""
    helped, _ = run_fit(tmp_path / "helped")
    alone, _ = run_fit(tmp_path / "alone", env={"FASTNN_COMPILE_JOBS": "1"})
    assert alone["helper"] == []
    assert helped["helper"] and set(helped["helper"]) < set(helped["compiled"])
    assert sorted(helped["compiled"]) == sorted(alone["compiled"])
    assert helped["proba"] == alone["proba"]
    warm, _ = run_fit(tmp_path / "helped")
    assert warm["compiled"] == [] and warm["proba"] == alone["proba"]


def test_a_helper_that_cannot_run_leaves_the_compile_here(tmp_path):
    """A helper that fails at once (here its interpreter does) costs
    nothing but its start: the fitting process compiles every unit."""
    report, err = run_fit(tmp_path, prelude="import sys; sys.executable = '/bin/false'\n")
    alone, _ = run_fit(tmp_path / "alone", env={"FASTNN_COMPILE_JOBS": "1"})
    assert report["helper"] == []
    assert sorted(report["compiled"]) == sorted(alone["compiled"])
    assert report["proba"] == alone["proba"]


#: Two per-sample fits of one network, the background compile waited for
#: between them; reports for each fit its predictions and which
#: per-sample drivers the process has run (True: one made for a shape).
SHAPED = textwrap.dedent("""
    import json, warnings
    from sklearn.datasets import load_digits
    import fastnn
    from fastnn.kernels.cpu import _cache, _calls
    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]

    def fit():
        est = fastnn.MLPClassifier(hidden_layer_sizes=(20,), batch_size=1, max_iter=2,
                                   random_state=0).fit(X, y)
        ran = sorted(len(key[0]) > 2 for key in _calls._ready_calls
                     if key[0][1] == "sample_epoch_kernel")
        return {"proba": est.predict_proba(X[:5]).tolist(), "ran": ran}

    first = fit()
    background = _cache.finish_background()
    compiled = _cache.compiled_units()
    second = fit()
    print(json.dumps({"first": first, "second": second, "background": background,
                      "compiled": compiled, "then": _cache.compiled_units()[len(compiled):]}))
""")


@pytest.mark.skipif(_cache.usable_cores() < 2, reason="a helper needs a second core")
def test_a_per_sample_fit_has_its_shapes_driver_made_in_the_background(tmp_path):
    """A per-sample fit runs the driver made for every shape at once, while
    a helper process compiles the one made for its network's shape into
    the cache; the next fit, and any process after, runs that one, with
    nothing compiled, for the same model. With FASTNN_COMPILE_JOBS=1 no
    helper starts."""
    def run(cache, **env):
        done = subprocess.run([sys.executable, "-c", SHAPED], env=_env(cache, **env),
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    cold = run(tmp_path)
    assert cold["first"]["ran"] == [False]
    assert len(cold["background"]) == 1 and "-shape-" in cold["background"][0]
    assert cold["background"][0] not in cold["compiled"]
    assert cold["second"]["ran"] == [False, True] and cold["then"] == []
    assert cold["second"]["proba"] == cold["first"]["proba"]
    warm = run(tmp_path)
    assert warm["first"]["ran"] == [True] and warm["compiled"] == warm["background"] == []
    assert warm["first"]["proba"] == cold["first"]["proba"]
    alone = run(tmp_path / "alone", FASTNN_COMPILE_JOBS="1")
    assert alone["background"] == [] and alone["second"]["ran"] == [False]
    assert alone["second"]["proba"] == cold["first"]["proba"]


def test_the_warmup_readies_a_per_sample_shape_on_request(tmp_path):
    """``warmup(per_sample_shapes=...)``'s task compiles the per-sample
    driver made for that network (here SHAPED's, digits' 64 inputs, 20
    hidden units, 10 classes): its first fit runs it, compiles nothing and
    leaves nothing to a helper."""
    task = "from fastnn.kernels.cpu import _warmup; print(_warmup.run(('shape', 'float64', " \
           "(64, 20, 10)))[1])"
    done = subprocess.run([sys.executable, "-c", task], env=_env(tmp_path), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "-shape-" in done.stdout
    done = subprocess.run([sys.executable, "-c", SHAPED], env=_env(tmp_path),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["first"]["ran"] == [True] and report["background"] == []
    # the fit compiled nothing; its predict_proba, the prediction driver
    assert [u.rsplit("-", 1)[0] for u in report["compiled"]] == ["predict_kernel"]


@pytest.mark.parametrize("shape", [(20,), (20, 1, 1, 1, 1, 3), (20, 0, 3), (20, "64", 3), 20])
def test_the_warmup_refuses_a_shape_it_cannot_make(shape):
    with pytest.raises(ValueError, match="per-sample shape"):
        fastnn.warmup(per_sample_shapes=[shape], verbose=False)


def test_the_warmup_command_refuses_a_shape_it_cannot_read():
    done = subprocess.run([sys.executable, "-m", "fastnn", "warmup", "--per-sample-shape",
                           "20,x"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--per-sample-shape" in done.stderr


def test_the_plan_gives_a_helper_only_what_pays_for_its_start(monkeypatch):
    """``_cache.plan``: a helper for a default fit's first compile (the
    entry stays here, the components go), never for one unit, on one
    core, without a writable cache or with FASTNN_COMPILE_JOBS=1."""
    units = [("layer", "layer_component", None), ("head", "head_component", None),
             ("step", "step_component", None), ("entry", "driver", None)]
    monkeypatch.setattr(_cache, "usable_cores", lambda: 2)
    monkeypatch.setattr(_cache, "cache_writable", lambda: True)
    monkeypatch.delenv("FASTNN_COMPILE_JOBS", raising=False)
    monkeypatch.delitem(sys.modules, "numba", raising=False)  # a cold process
    here, there, seconds = _cache.plan(units)
    assert "entry" in [u[0] for u in here] and there
    assert sorted(here + there) == sorted(units)
    assert seconds < _cache.NUMBA_START + sum(_cache.COMPILE_SECONDS[k] for _, k, _ in units)
    assert _cache.plan(units[-1:])[1] == []
    monkeypatch.setenv("FASTNN_COMPILE_JOBS", "1")
    assert _cache.plan(units)[1] == []
    monkeypatch.setenv("FASTNN_COMPILE_JOBS", "2")
    monkeypatch.setattr(_cache, "cache_writable", lambda: False)
    assert _cache.plan(units)[1] == []
    monkeypatch.setattr(_cache, "cache_writable", lambda: True)
    monkeypatch.setattr(_cache, "usable_cores", lambda: 1)
    assert _cache.plan(units)[1] == []


def test_a_cache_left_by_a_killed_compile_is_usable(tmp_path):
    """kill -9 in the middle of compiling (the lock dies with the process,
    numba writes each cache file whole): the next process fits, and gets
    the same model as one on a cache of its own."""
    proc = subprocess.Popen([sys.executable, "-m", "fastnn", "warmup", "--jobs", "1"],
                            env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()  # the header: the worker is importing or compiling
    assert line.startswith("fastnn warmup:")
    time.sleep(2.5)  # well into the first task's compile
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after, _ = run_fit(tmp_path)
    fresh, _ = run_fit(tmp_path / "fresh")
    assert after["proba"] == fresh["proba"]


def test_warmup_fills_an_empty_cache_and_a_fit_then_compiles_nothing(tmp_path):
    done = subprocess.run([sys.executable, "-m", "fastnn", "warmup", "--jobs", "2"],
                          env=_env(tmp_path), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert str(tmp_path) in done.stdout.splitlines()[-1]
    assert "fastnn: compiling" not in done.stderr  # the warm-up reports itself
    script = textwrap.dedent("""
        import json, warnings
        import numpy as np, scipy.sparse as sp
        from sklearn.datasets import load_digits
        import fastnn
        from fastnn.kernels.cpu import _cache
        warnings.simplefilter("ignore")
        X, y = load_digits(return_X_y=True)
        X, y = X[:200] / 16, y[:200]
        yr = y.astype(float)
        Xs = sp.random(200, 500, density=0.02, format="csr", random_state=0)
        fits = [
            fastnn.MLPClassifier(max_iter=2).fit(X, y),
            fastnn.MLPClassifier(max_iter=2).fit(X.astype(np.float32), y),
            fastnn.MLPClassifier(solver="lbfgs", max_iter=2).fit(X, y),
            fastnn.MLPClassifier(solver="sgd", batch_size=1, max_iter=1).fit(X, y),
            fastnn.MLPClassifier(batch_size=1, max_iter=1).fit(X.astype(np.float32), y),
            fastnn.MLPClassifier(activation="tanh", dropout=0.3, max_iter=2).fit(
                sp.csr_matrix(X), y),
            fastnn.MLPClassifier(early_stopping=True, scoring="loss", max_iter=2).fit(X, y),
            fastnn.MLPClassifier(activation="gelu", max_iter=2).fit(X, y == 3),
            fastnn.MLPRegressor(loss="huber", activation="silu", max_iter=2).fit(X, yr),
            fastnn.MLPRegressor(loss="poisson", solver="sgd", max_iter=2).fit(
                X.astype(np.float32), yr + 1),
            # sparse enough to be read in place (digits are about half stored)
            fastnn.MLPClassifier(max_iter=2).fit(Xs, y),
            fastnn.MLPClassifier(solver="lbfgs", max_iter=2).fit(Xs.astype(np.float32), y),
        ]
        for est in fits:
            est.predict(Xs[:3] if est.n_features_in_ == 500 else X[:3])
        print(json.dumps([str(u) for u in _cache.compiled_units()]))
    """)
    # FASTNN_COMPILE_JOBS=1: no background helper left compiling the
    # per-sample fits' shapes into tmp_path after the script
    done = subprocess.run([sys.executable, "-c", script],
                          env=_env(tmp_path, FASTNN_COMPILE_JOBS="1"), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    assert "fastnn: compiling" not in done.stderr


def test_fresh_workers_load_what_the_parent_compiled(tmp_path):
    """A grid search's fresh workers (joblib's, which set numba's thread
    settings) on a warm cache load its units: none compiles, nothing is
    written."""
    run_fit(tmp_path)
    grid = textwrap.dedent("""
        import warnings
        from sklearn.datasets import load_digits
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.model_selection import GridSearchCV
        import fastnn
        warnings.simplefilter("ignore", ConvergenceWarning)
        X, y = load_digits(return_X_y=True)
        GridSearchCV(fastnn.MLPClassifier(hidden_layer_sizes=(20,), max_iter=3, random_state=0),
                     {"alpha": [1e-4, 1e-3]}, cv=2, n_jobs=2).fit(X[:300] / 16, y[:300])
    """)
    files = sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*.o"))
    done = subprocess.run([sys.executable, "-c", grid], env=_env(tmp_path), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "fastnn: compiling" not in done.stderr
    assert sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*.o")) == files


def test_a_held_lock_times_out_into_compiling_here(tmp_path):
    """A process stuck holding a unit's lock does not stop the others:
    after FASTNN_COMPILE_WAIT seconds they compile it themselves."""
    holder = textwrap.dedent("""
        import sys, time
        from fastnn.kernels.cpu import _cache
        locks = _cache._locks()
        assert locks.acquire("layer_3_float64", 1)  # the relu layer's unit
        print("held", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], env=_env(tmp_path),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        env = dict(_env(tmp_path), FASTNN_COMPILE_WAIT="1")
        done = subprocess.run([sys.executable, "-c", FIT, "{}"], env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        assert "waited 1 s for another process to compile layer_3_float64" in done.stderr
    finally:
        proc.kill()
        proc.wait()


def _entries():
    """How many entries of each driver this process has ready (an entry's
    unit is named ``<driver>-<its arguments' kinds, hashed>``)."""
    return collections.Counter(name.rsplit("-", 1)[0] for name in _cache.ready_units()
                               if "-" in name)


@pytest.mark.parametrize("params", [{}, {"solver": "lbfgs"}, {"batch_size": 1, "max_iter": 2},
                                    {"early_stopping": True}],
                         ids=["adam", "lbfgs", "per-sample", "validation-set"])
def test_read_only_input_adds_no_unit(params):
    """pandas 3's to_numpy(), np.load(mmap_mode='r') and joblib's memmaps
    give read-only arrays (X, y, sample weights, a validation set): they
    run on the kernels that writable input does."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    sw = np.linspace(0.5, 1.5, len(y))
    arrays = [X, y, sw, X[:50], y[:50]]
    fit = dict(dict(hidden_layer_sizes=(10,), max_iter=3, random_state=0), **params)

    def fitted(X, y, sw, X_val, y_val):
        val = dict(X_val=X_val, y_val=y_val) if params.get("early_stopping") else {}
        est = fastnn.MLPClassifier(**fit).fit(X, y, sample_weight=sw, **val)
        return est, est.predict(X)

    writable, expected = fitted(*arrays)
    ready, units = _cache.ready_units(), len(_cache.compiled_units())
    frozen = [a.copy() for a in arrays]
    for a in frozen:
        a.flags.writeable = False
    read_only, predicted = fitted(*frozen)
    np.testing.assert_array_equal(predicted, expected)
    assert _cache.ready_units() == ready
    assert len(_cache.compiled_units()) == units


def test_one_entry_per_driver_and_input_path():
    """However the suite has called them so far (read-only or writable,
    float64 or float32, dense or sparse input), the drivers that see the
    buffers as bytes have one entry for rows they take dense and one for
    sparse rows read in place (their ``csr`` argument is None or an
    address: see ``compiled/dense.py``'s ``input_product``), and the
    per-sample epoch one per float dtype."""
    import scipy.sparse as sp

    X, y = load_digits(return_X_y=True)
    X_ro = X[:100].copy()
    X_ro.flags.writeable = False
    X_sparse = sp.random(100, 64, density=0.05, format="csr", random_state=0)  # in place
    for X_fit in (X[:100], X_ro, X[:100].astype(np.float32), sp.csr_matrix(X[:100]), X_sparse,
                  X_sparse.astype(np.float32)):
        for params in ({}, {"solver": "lbfgs"}, {"batch_size": 1}):
            fastnn.MLPClassifier(hidden_layer_sizes=(5,), max_iter=1, **params).fit(
                X_fit, y[:100]).predict(X_fit)
    entries = _entries()
    for driver in ("minibatch_epoch_kernel", "loss_grad_kernel", "predict_kernel",
                   "sample_epoch_kernel"):
        assert entries[driver] == 2, entries


_NO_JIT = textwrap.dedent("""
    import json, warnings
    import numpy as np, scipy.sparse as sp
    from fastnn import MLPClassifier, MLPRegressor
    warnings.simplefilter("ignore")
    X = np.random.RandomState(0).standard_normal((40, 4))
    y = (X[:, 0] > 0).astype(int)
    out = []
    for params in [{}, {"batch_size": 1}, {"solver": "lbfgs"}, {"solver": "sgd", "batch_size": 8},
                   {"activation": "gelu", "dropout": 0.2}]:
        est = MLPClassifier(hidden_layer_sizes=(5, 3), max_iter=3, random_state=0, **params)
        est.fit(X, y)
        out.append([est.loss_] + est.predict_proba(X[:3]).ravel().tolist())
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0, loss="huber")
    reg.fit(sp.csr_matrix(X), X[:, 1])
    out.append([reg.loss_] + reg.predict(X[:3]).tolist())
    print(json.dumps(out))
""")


@pytest.mark.skipif(not elementary.fused_on_this_cpu(),
                    reason="no FMA instructions: compiled fma is a multiply and an add")
def test_numba_disable_jit_runs_the_kernels_as_python(tmp_path):
    """NUMBA_DISABLE_JIT=1, numba's way to debug: every path runs as
    plain Python (kernels/cpu/_python.py) and trains the same float64
    model as the compiled kernels, to the bit."""
    runs = {}
    for flag in ("0", "1"):
        env = dict(_env(tmp_path, FASTNN_COMPILE_JOBS="1"), NUMBA_DISABLE_JIT=flag)
        done = subprocess.run([sys.executable, "-c", _NO_JIT], env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        runs[flag] = json.loads(done.stdout.strip().splitlines()[-1])
    assert runs["1"] == runs["0"]


def test_prefetch_asks_for_the_line_and_changes_nothing():
    """``pointers.prefetch`` (the per-sample driver asks for the next row
    of X with it) compiles to a prefetch instruction and leaves the data
    and the results alone."""
    from numba import njit

    from fastnn.kernels.cpu.compiled.pointers import prefetch, typed_at

    @njit
    def total(a):
        p = typed_at(a, 0)
        s = 0.0
        for i in range(a.shape[0]):
            prefetch(p, a.shape[0] - 1 - i)
            s += p[i]
        return s

    a = np.arange(100.0)
    assert total(a) == a.sum() and (a == np.arange(100.0)).all()
    assert "prefetch" in next(iter(total.inspect_asm().values()))


def test_components_and_entries_vectorize_as_wide_as_the_registers(predict_entry):
    """Every component and every driver's entry asks LLVM for the CPU's
    widest vectors (the Intel CPUs with AVX-512 are tuned for 256 bits),
    and keeps its loops in the function that asks: compiled for a CPU
    with AVX-512, its machine code uses the 512-bit registers; so does the
    penalty's sum (``sqnorm``), with fused multiply-adds."""
    from fastnn.kernels import codes
    from fastnn.kernels.cpu import _calls
    from fastnn.kernels.cpu._native import host_cpu
    from fastnn.kernels.cpu.compiled._jit import entry
    from fastnn.kernels.cpu.compiled.activations import layer_component
    from fastnn.kernels.cpu.compiled.losses import head_component
    from fastnn.kernels.cpu.compiled.optimizers import step_component
    from fastnn.kernels.cpu.compiled.sparse import csr_component

    wide = "+avx512f" in host_cpu()[1].split(",")  # the CPU the kernels compile for
    for compiled in (layer_component(codes.LOGISTIC, np.float64),
                     head_component(codes.SOFTMAX, codes.LOG_LOSS, np.float32),
                     step_component(codes.ADAM, np.float64),
                     csr_component(np.float32, np.int32),
                     entry(_calls.compiled("network", "predict_kernel"), predict_entry.kinds)[0]):
        ir = compiled._library.get_llvm_str()
        groups = [line for line in ir.splitlines()
                  if line.startswith("attributes") and '"prefer-vector-width"="512"' in line]
        assert groups and all("noinline" in line for line in groups), compiled
        if wide:
            assert "zmm" in compiled._library.get_asm_str(), compiled
    if wide:  # the penalty's sum too, its squares fused into their adds
        asm = step_component(codes.SGD, np.float64)._library.get_asm_str()
        assert re.search(r"vfmadd\w+\s+%zmm", asm)
