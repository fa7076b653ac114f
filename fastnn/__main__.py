"""``python -m fastnn warmup``: compile every kernel ahead (see
``fastnn.warmup``)."""

import argparse

from ._warmup import checked_shapes, warmup


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
    p.add_argument("--per-sample-shape", action="append", default=[], metavar="N,H,...,K",
                   help="also the per-sample driver made for this network: its widths from "
                        "the inputs to the outputs, e.g. 20,64,3 (repeatable)")
    args = parser.parse_args(argv)
    shapes = []
    for text in args.per_sample_shape:
        try:
            shapes.append(tuple(int(u) for u in text.split(",")))
        except ValueError:
            parser.error(f"--per-sample-shape takes widths separated by commas, not {text!r}")
    try:
        shapes = checked_shapes(shapes)
    except ValueError as exc:
        parser.error(str(exc))
    warmup(n_jobs=args.jobs, dtypes=tuple(args.dtype or ("float64", "float32")),
           verbose=not args.quiet, per_sample_shapes=shapes)


if __name__ == "__main__":
    main()
