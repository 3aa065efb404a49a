"""Command line: read GADF collections the way the DaCHS import does, without writing anything.

  python3 -m ingest show [--collection NAME] [--data-dir DIR] [--obs OBS_ID ...] [--columns a,b]
  python3 -m ingest check --data DIR [--collection NAME] [--config FILE] [--strict]

`show` prints each observation's row, or why it was rejected. `check` validates a directory holding an
hdu-index (and obs-index): one line per rejected observation, then a summary line. Both exit 0 when every
observation is readable, 1 when some are rejected, 2 when the directory, index or configuration cannot be
used at all. Progress goes to stderr.
"""

import argparse
import datetime
import os
import sys

from .check import UnusableDirectory, check_results, collection_for_directory, open_reader
from .collection import CollectionReader
from .columns import collection_column_names
from .config import ConfigError, default_collection_name, load_collections, load_site
from .errors import IngestError
from .progress import Progress

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ETC = os.path.join(PROJECT_ROOT, "etc")
DEFAULT_CONFIG = os.path.join(DEFAULT_ETC, "collections.yaml")


def main(argv=None):
    args = _parser().parse_args(argv)
    return args.run(args)


def _parser():
    parser = argparse.ArgumentParser(prog="python3 -m ingest", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="print the rows of a collection's observations")
    show.add_argument("--collection", help="collection name (default: `default:` in collections.yaml)")
    show.add_argument("--data-dir", help="read the collection from this directory instead of its data_dir")
    show.add_argument("--obs", action="append", metavar="OBS_ID", help="only this observation (repeatable)")
    show.add_argument("--columns", help="comma-separated columns to print (default: all)")
    show.add_argument("--etc", default=DEFAULT_ETC,
                      help="directory of site.yaml and collections.yaml (default: the project's etc/)")
    show.set_defaults(run=show_command)
    check = commands.add_parser("check", help="validate a GADF directory: which observations the ingest "
                                              "would reject, and why (reads only)")
    check.add_argument("--data", required=True, metavar="DIR",
                       help="directory holding hdu-index.fits.gz (or hdu-index.fits) and, optionally, "
                            "obs-index.fits.gz")
    check.add_argument("--collection", metavar="NAME",
                       help="read it with this collection's configuration (defaults, site, overrides); "
                            "default: as a collection no configuration knows")
    check.add_argument("--config", metavar="FILE", default=DEFAULT_CONFIG,
                       help="the collections file --collection names (default: the project's "
                            "etc/collections.yaml)")
    check.add_argument("--strict", action="store_true",
                       help="also reject observations read only by working around their files "
                            "(placeholders dropped, an unconfirmed site, no GTI, no obs-index row, ...)")
    check.set_defaults(run=check_command)
    return parser


# ---- show


def show_command(args):
    try:
        reader = _show_reader(args)
    except (ConfigError, IngestError) as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return 2
    columns = args.columns.split(",") if args.columns else collection_column_names()
    unknown = [c for c in columns if c not in collection_column_names()]
    if unknown:
        print(f"ingest: unknown columns {', '.join(unknown)}", file=sys.stderr)
        return 2
    obs_ids = args.obs or reader.datasets()
    rejected = 0
    with Progress(len(obs_ids), label=reader.collection.name) as progress:
        for obs_id in obs_ids:
            result = reader.result(obs_id)
            progress.clear()
            if result.ok:
                print(format_row(result.dataset, result.row, columns, result.notes))
            else:
                rejected += 1
                print(f"obs {result.dataset}  REJECTED  {result.error}\n")
            progress.advance()
    print(f"{reader.collection.name}: {len(obs_ids)} observations, {len(obs_ids) - rejected} ingested, "
          f"{rejected} rejected")
    return 1 if rejected else 0


def _show_reader(args):
    collections_file = os.path.join(args.etc, "collections.yaml")
    site = load_site(os.path.join(args.etc, "site.yaml"))
    name = args.collection or default_collection_name(collections_file)
    collection = _configured_collection(collections_file, name)
    if args.data_dir:
        collection = collection.with_data_dir(args.data_dir)
    return CollectionReader(collection, site)


def _configured_collection(collections_file, name):
    collections = load_collections(collections_file, PROJECT_ROOT)
    if name not in collections:
        raise ConfigError(collections_file, "collections", f"no collection named {name!r}")
    return collections[name]


def format_row(obs_id, row, columns, notes=()):
    lines = [f"obs {obs_id}  {row.get('obs_publisher_did', '')}"]
    width = max(len(c) for c in columns)
    for column in columns:
        lines.append(f"  {column:<{width}}  {format_value(row[column])}")
    lines.extend(f"  note: {note}" for note in notes)
    return "\n".join(lines) + "\n"


def format_value(value):
    if value is None:
        return "NULL"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, tuple):  # s_region
        vertices = " ".join(f"({ra:.6f}, {dec:.6f})" for ra, dec in value[:3])
        return f"polygon of {len(value)} vertices: {vertices} ..."
    return repr(value) if isinstance(value, str) else str(value)


# ---- check


def check_command(args):
    try:
        collection = _configured_collection(args.config, args.collection) if args.collection else None
        collection = collection_for_directory(args.data, collection)
        reader = open_reader(collection)
    except (ConfigError, UnusableDirectory) as exc:
        print(f"ingest check: {exc}", file=sys.stderr)
        return 2
    obs_ids = reader.datasets()
    with Progress(len(obs_ids), label=f"check {collection.name}") as progress:
        report = check_results(_results(reader, obs_ids, progress), strict=args.strict)
    for obs_id, reasons in report.rejected:
        print(f"obs {obs_id}  REJECTED  {'; '.join(str(reason) for reason in reasons)}")
    print(check_summary(collection.data_dir, report, args.strict))
    return 1 if report.rejected else 0


def _results(reader, obs_ids, progress):
    for obs_id in obs_ids:
        yield reader.result(obs_id)
        progress.advance()


def check_summary(data_dir, report, strict):
    line = (f"{data_dir}: {report.observations} observations, {len(report.readable)} readable, "
            f"{len(report.rejected)} rejected")
    if report.with_notes and not strict:
        line += f" ({report.with_notes} read by working around their files: --strict lists them)"
    return line


if __name__ == "__main__":
    sys.exit(main())
