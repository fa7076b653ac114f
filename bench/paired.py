"""Two checkouts' fits of one workload, side by side: the ratio of their
times, for changes of a few percent.

Usage::

    git worktree add ../base <commit>      # the other checkout
    python bench/paired.py W2 ../base [--pairs 8] [--fits 12]
    python bench/paired.py W4 ../base --set activation=softplus
    python bench/paired.py W3-f64 ../base --all-cores

Each pair of processes is one process per checkout (each imports its own
checkout's fastnn, with its own kernel cache), both pinned to one core
(``--all-cores``: on every core allowed, for changes to what a
mini-batch fit's threads share), fitting the workload (``bench/workloads.py``) in strict alternation,
warm: adjacent fits meet the same state of the machine. A process's own
layout (where its arrays and code land) can move its fits by several
percent for as long as it lives, so a fresh pair is started ``--pairs``
times, with the two checkouts' places swapped each time. Prints the
median ratio other / this over all the fits (above 1: this checkout is
faster) and each pair's median. ``--set NAME=VALUE`` changes one of the
workload's estimator parameters (a Python literal, or a string).

Each worker checks that its fastnn and its kernels are its checkout's: an
older checkout, run in an environment with an editable install of
another, imports that one's kernels (use an environment without the
editable install then).
"""

import argparse
import os
import statistics
import subprocess
import sys

_WORKER = r"""
import os, sys, time, warnings
tree = os.getcwd()
sys.path[:0] = [tree, os.path.join(tree, "bench")]
import ast, fastnn, fastnn.kernels, workloads
for module in (fastnn, fastnn.kernels):
    root = os.path.dirname(os.path.dirname(os.path.abspath(module.__file__)))
    if root != tree:
        sys.exit(f"{tree}: {module.__name__} imported from {module.__file__}")
warnings.simplefilter("ignore")
w = workloads.WORKLOADS_BY_NAME[sys.argv[1]]
params = dict(w.params)
for item in sys.argv[3:]:
    key, _, value = item.partition("=")
    try:
        params[key] = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        params[key] = value
X, _, y, _ = workloads.workload_data(w)
make = getattr(fastnn, w.estimator)
make(**params).fit(X, y)  # compiles or loads the kernels
cache = sys.modules.get("fastnn.kernels.cpu._cache")
if hasattr(cache, "finish_background"):  # a per-sample driver made for the network's shape
    cache.finish_background()
if hasattr(os, "sched_setaffinity") and int(sys.argv[2]) >= 0:
    # pinned once the compiles, on both cores, are done
    os.sched_setaffinity(0, {int(sys.argv[2])})
print("ready", flush=True)
for _ in sys.stdin:
    start = time.perf_counter()
    make(**params).fit(X, y)
    print(time.perf_counter() - start, flush=True)
"""


def _pair(trees, name, fits, core, settings):
    command = [sys.executable, "-c", _WORKER, name, str(core), *settings]
    procs = [subprocess.Popen(command, cwd=tree, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
             for tree in trees]
    try:
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise SystemExit(f"a worker failed to start (cwd {trees[procs.index(p)]})")
        times = [[], []]
        for r in range(fits):
            for i in ((0, 1) if r % 2 == 0 else (1, 0)):
                procs[i].stdin.write("fit\n")
                procs[i].stdin.flush()
                times[i].append(float(procs[i].stdout.readline()))
        return times
    finally:
        for p in procs:
            p.stdin.close()
            p.wait()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", help="a name in bench/workloads.py, e.g. W2")
    parser.add_argument("other", help="the other checkout's root")
    parser.add_argument("--pairs", type=int, default=8, help="pairs of fresh processes")
    parser.add_argument("--fits", type=int, default=12, help="timed fits per process")
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else {0}
    parser.add_argument("--core", type=int, default=max(cores),
                        help="the core both processes run on (default: the last one allowed)")
    parser.add_argument("--all-cores", action="store_true",
                        help="leave the processes on every core allowed (for what a fit's "
                             "threads share: the mini-batch epochs' team)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="an estimator parameter changed from the workload's (repeatable)")
    args = parser.parse_args(argv)
    bad = [item for item in args.set if "=" not in item]
    if bad:
        parser.error(f"--set takes NAME=VALUE, not {bad[0]!r}")
    this = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    other = os.path.abspath(args.other)
    ratios, per_pair = [], []
    for k in range(args.pairs):
        trees = (this, other) if k % 2 == 0 else (other, this)
        times = _pair(trees, args.workload, args.fits, -1 if args.all_cores else args.core,
                      args.set)
        mine, theirs = times if k % 2 == 0 else times[::-1]
        pair = [b / a for a, b in zip(mine, theirs)]
        ratios += pair
        per_pair.append(statistics.median(pair))
        print(f"pair {k + 1}: median {per_pair[-1]:.3f}, fastest this {min(mine) * 1e3:.1f} ms, "
              f"other {min(theirs) * 1e3:.1f} ms", flush=True)
    label = " ".join([args.workload, *args.set])
    print(f"{label}: other / this, median {statistics.median(ratios):.3f} over "
          f"{len(ratios)} fits in {args.pairs} pairs of processes; per pair "
          + " ".join(f"{m:.3f}" for m in per_pair))


if __name__ == "__main__":
    main()
