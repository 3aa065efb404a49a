"""Command line: python3 -m ingest show [--collection NAME] [--data-dir DIR] [--obs OBS_ID ...]

Reads a collection the way the DaCHS import does and prints each observation's row, or why it was
rejected. Exits 1 if any observation was rejected, 2 if the configuration or the index is unusable.
"""

import argparse
import datetime
import os
import sys

from .collection import CollectionReader
from .columns import collection_column_names
from .config import ConfigError, default_collection_name, load_collections, load_site
from .errors import IngestError

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ETC = os.path.join(PROJECT_ROOT, "etc")


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        reader = _reader(args)
    except (ConfigError, IngestError) as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return 2
    columns = args.columns.split(",") if args.columns else collection_column_names()
    unknown = [c for c in columns if c not in collection_column_names()]
    if unknown:
        print(f"ingest: unknown columns {', '.join(unknown)}", file=sys.stderr)
        return 2
    obs_ids = args.obs or reader.obs_ids()
    rejected = 0
    for obs_id in obs_ids:
        result = reader.result(obs_id)
        if result.ok:
            print(format_row(result.obs_id, result.row, columns))
        else:
            rejected += 1
            print(f"obs {result.obs_id}  REJECTED  {result.error}\n")
    print(f"{reader.collection.name}: {len(obs_ids)} observations, {len(obs_ids) - rejected} ingested, "
          f"{rejected} rejected")
    return 1 if rejected else 0


def _parser():
    parser = argparse.ArgumentParser(prog="python3 -m ingest", description=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="print the rows of a collection's observations")
    show.add_argument("--collection", help="collection name (default: `default:` in collections.yaml)")
    show.add_argument("--data-dir", help="read the collection from this directory instead of its data_dir")
    show.add_argument("--obs", action="append", metavar="OBS_ID", help="only this observation (repeatable)")
    show.add_argument("--columns", help="comma-separated columns to print (default: all)")
    show.add_argument("--etc", default=DEFAULT_ETC,
                      help="directory of site.yaml and collections.yaml (default: the project's etc/)")
    return parser


def _reader(args):
    collections_file = os.path.join(args.etc, "collections.yaml")
    site = load_site(os.path.join(args.etc, "site.yaml"))
    name = args.collection or default_collection_name(collections_file)
    collections = load_collections(collections_file, PROJECT_ROOT)
    if name not in collections:
        raise ConfigError(collections_file, "collections", f"no collection named {name!r}")
    collection = collections[name]
    if args.data_dir:
        collection = collection.with_data_dir(args.data_dir)
    return CollectionReader(collection, site)


def format_row(obs_id, row, columns):
    lines = [f"obs {obs_id}  {row.get('obs_publisher_did', '')}"]
    width = max(len(c) for c in columns)
    for column in columns:
        lines.append(f"  {column:<{width}}  {format_value(row[column])}")
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


if __name__ == "__main__":
    sys.exit(main())
