"""Command line of an instance:

    python3 -m instance NAME prepare|serve|ingest|drop|destroy|rds [options]

prepare: configure, init the database and publish every collection (incrementally; idempotent);
serve: prepare, then run the server in the foreground; ingest: publish the named collections
(default: all) and exit 1 if any observation was rejected; drop: withdraw a whole collection;
destroy: drop the instance's database, roles and files; rds: only render the RDs.
"""

import argparse
import sys

from instance import Instance


def main():
    parser = argparse.ArgumentParser(prog="python3 -m instance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="instance name: its files go to var/NAME, its database"
                        " is heobs_NAME")
    parser.add_argument("action", choices=["prepare", "serve", "ingest", "drop", "destroy", "rds"])
    parser.add_argument("--port", type=int, default=None,
                        help="port to serve on (default: etc/site.yaml)")
    parser.add_argument("--data", default=None,
                        help="data directory of the default collection (default: its data_dir"
                        " in etc/collections.yaml)")
    parser.add_argument("--collections", default=None, metavar="FILE",
                        help="the collections file (default: etc/collections.yaml)")
    parser.add_argument("--collection", action="append", default=None,
                        help="ingest/drop: this collection (repeatable; ingest default: all)")
    parser.add_argument("--strict", action="store_true",
                        help="ingest: publish nothing of a collection if any observation is bad")
    args = parser.parse_args()
    inst = Instance(args.name, port=args.port, data_dir=args.data,
                    collections_file=args.collections)
    unknown = [n for n in args.collection or [] if n not in inst.collections]
    if unknown:
        sys.exit(f"No collection {', '.join(unknown)} in etc/collections.yaml"
                 f" (there are: {', '.join(inst.collections)})")
    if args.action == "destroy":
        inst.destroy()
    elif args.action == "rds":
        inst.write_config()
        inst.write_rds()
    elif args.action == "drop":
        if not args.collection:
            sys.exit("drop needs --collection NAME")
        inst.write_config()
        for name in args.collection:
            inst.drop_collection(name)
    else:
        names = args.collection if args.action == "ingest" else None
        summaries = inst.prepare(names, strict=args.strict)
        if args.action == "serve":
            inst.serve_foreground()
        sys.exit(0 if all(s.ok for s in summaries.values()) else 1)


if __name__ == "__main__":
    main()
