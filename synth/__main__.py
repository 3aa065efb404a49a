"""python3 -m synth --out DIR --n N --seed S [--metadata-only] [--sites north,south]"""

import argparse
import sys
import time

from .collection import SynthError, generate
from .sites import SITES


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python3 -m synth",
        description="Write a synthetic CTAO-like GADF DL3 collection (deterministic for a seed).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory (created; must be empty or a "
                        "previous run with the same parameters, which makes this a no-op)")
    parser.add_argument("--n", type=int, required=True, help="number of observations")
    parser.add_argument("--seed", type=int, default=1, help="random seed (>= 0)")
    parser.add_argument("--metadata-only", action="store_true",
                        help="write the indexes and IRFs but no event files")
    parser.add_argument("--sites", default=",".join(SITES), help="comma-separated sites among "
                        + ", ".join(SITES))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()
    try:
        summary = generate(args.out, args.n, args.seed, metadata_only=args.metadata_only, sites=args.sites)
    except SynthError as exc:
        print(f"synth: {exc}", file=sys.stderr)
        return 2
    what = "already complete, nothing done" if summary.skipped else f"written in {time.monotonic() - started:.1f} s"
    print(f"{summary.out_dir}: {summary.observations} observations, {summary.event_files} event files, "
          f"{summary.events} events, {len(summary.irf_files)} IRF files; {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
