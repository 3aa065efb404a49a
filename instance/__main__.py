"""Command line of an instance: python3 -m instance NAME {prepare,serve,destroy} [--port] [--data]."""

import argparse

from instance import Instance


def main():
    parser = argparse.ArgumentParser(prog="python3 -m instance", description=__doc__)
    parser.add_argument("name", help="instance name: its files go to var/NAME, its database"
                        " is heobs_NAME")
    parser.add_argument("action", choices=["prepare", "serve", "destroy", "rds"],
                        help="prepare: configure, init the database and ingest (idempotent);"
                        " serve: prepare, then run the server in the foreground;"
                        " destroy: drop database, roles and files; rds: only render the RDs")
    parser.add_argument("--port", type=int, default=None,
                        help="port to serve on (default: etc/site.yaml)")
    parser.add_argument("--data", default=None,
                        help="data directory of the default collection (default: etc/collections.yaml)")
    args = parser.parse_args()
    inst = Instance(args.name, port=args.port, data_dir=args.data)
    if args.action == "destroy":
        inst.destroy()
    elif args.action == "rds":
        inst.write_config()
        inst.write_rds()
    else:
        inst.prepare()
        if args.action == "serve":
            inst.serve_foreground()


if __name__ == "__main__":
    main()
