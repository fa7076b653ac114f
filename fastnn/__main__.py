"""``python -m fastnn warmup``: compile every kernel ahead (see
``fastnn.warmup``)."""

import argparse

from ._warmup import warmup


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastnn")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("warmup", help="compile every kernel ahead, into the kernel cache "
                                      "(NUMBA_CACHE_DIR sets where)")
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes (default: the usable cores, at most 4)")
    p.add_argument("--dtype", choices=["float64", "float32"], action="append",
                   help="only this float dtype (repeatable; default both)")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    warmup(n_jobs=args.jobs, dtypes=tuple(args.dtype or ("float64", "float32")),
           verbose=not args.quiet)


if __name__ == "__main__":
    main()
