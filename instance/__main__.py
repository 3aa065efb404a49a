"""Command line of an instance:

    python3 -m instance serve|prepare|ingest|drop|withdraw-products|rds|destroy|backup
                        [--instance NAME] [options]
    python3 -m instance restore --from ARCHIVE [--instance NAME] [--force] [options]
    python3 -m instance cluster primary|replica|service|balancer [--host NAME] [options]

serve: prepare, then run the server in the foreground until Ctrl-C (what `make serve` does);
prepare: configure, init the database and publish every collection (incrementally; idempotent);
ingest: publish the named collections (default: all) and exit 1 if any observation was rejected;
drop: withdraw a whole collection; withdraw-products: withdraw the products of the processing
jobs named by --job; rds: only render the RDs and DaCHS's configuration;
destroy: drop the instance's database, roles and files;
backup: write one archive of the instance (its database, users and groups, configuration);
restore: make the instance of an archive here (default: the archive's name, port and DATA), its
configuration written into etc/ (or --etc DIR), without ingesting.

cluster: play one role of a cluster of hosts (etc/site.yaml's cluster: block; instance/cluster.py):
primary and replica set PostgreSQL up and return, service and balancer serve in the foreground.
With a cluster: block, prepare, ingest, drop, rds and destroy work on the primary's files.

The instance is "serve" (var/serve, database heobs_serve) unless --instance names another.
"""

import argparse
import sys

from instance import DachsError, DatabaseError, Instance
from instance.backup import BackupError, write_backup
from instance.privileges import PrivilegeError
from instance.publication import PublicationError
from instance import balancer, cluster, server
from instance.restore import restore
from instance.server import ServerError

DEFAULT_INSTANCE = "serve"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m instance", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["serve", "prepare", "ingest", "drop",
                                           "withdraw-products", "rds", "destroy", "backup",
                                           "restore", "cluster"])
    parser.add_argument("role", nargs="?", choices=cluster.ROLES,
                        help="cluster: the role this host plays")
    parser.add_argument("--host", default=None, metavar="NAME",
                        help="cluster replica|service: this host's name under cluster.replicas or"
                        " cluster.services of etc/site.yaml")
    parser.add_argument("--instance", default=None, metavar="NAME",
                        help="its files go to var/NAME, its database is heobs_NAME"
                        f" (default: {DEFAULT_INSTANCE}; restore: the archive's)")
    parser.add_argument("--port", type=int, default=None,
                        help="port to serve on (default: etc/site.yaml)")
    parser.add_argument("--data", default=None,
                        help="data directory of the default collection (default: its data_dir"
                        " in etc/collections.yaml)")
    parser.add_argument("--collections", default=None, metavar="FILE",
                        help="the collections file (default: etc/collections.yaml)")
    parser.add_argument("--site", default=None, metavar="FILE",
                        help="the site file (default: etc/site.yaml)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="backup: the archive to write (default:"
                        " var/backups/NAME-<UTC time>.tar)")
    parser.add_argument("--from", dest="archive", default=None, metavar="ARCHIVE",
                        help="restore: the archive to restore")
    parser.add_argument("--etc", default=None, metavar="DIR",
                        help="restore: write the archive's site.yaml and collections.yaml"
                        " there (default: etc/)")
    parser.add_argument("--force", action="store_true",
                        help="restore: replace an instance of the same name")
    parser.add_argument("--collection", action="append", default=None,
                        help="ingest/drop/serve: this collection (repeatable; default: all)")
    parser.add_argument("--job", action="append", default=None,
                        help="withdraw-products: the products of this processing job (its id:"
                        " their obs_id; repeatable)")
    parser.add_argument("--strict", action="store_true",
                        help="ingest: publish nothing of a collection if any observation is bad")
    parser.add_argument("--prebuild", action="store_true",
                        help="ingest/serve: build every observation's DataLink files now, not at"
                        " their first request")
    return parser.parse_args(argv)


def instance_of(args, host=None):
    return Instance(args.instance or DEFAULT_INSTANCE, port=args.port, data_dir=args.data,
                    collections_file=args.collections, site_file=args.site, host=host)


def run_cluster(args):
    """One role of a cluster (instance/cluster.py)."""
    if args.role is None:
        sys.exit(f"cluster needs a role: {', '.join(cluster.ROLES)}")
    if args.role in ("replica", "service") and not args.host:
        sys.exit(f"cluster {args.role} needs --host NAME (make serve ROLE={args.role} HOST=NAME)")
    inst = instance_of(args, host=args.host if args.role in ("replica", "service") else args.role)
    if args.role == "primary":
        summaries = cluster.primary(inst, args.collection, strict=args.strict,
                                    prebuild=args.prebuild)
        sys.exit(0 if all(s.ok for s in summaries.values()) else 1)
    elif args.role == "replica":
        cluster.replica(inst, args.host)
    elif args.role == "service":
        server.clear_port(inst)
        cluster.prepare_service(inst)
        inst.serve_foreground()
    else:
        balancer.serve(inst)


def run(args):
    if args.action == "restore":
        if not args.archive:
            sys.exit("restore needs --from ARCHIVE (make restore FROM=<archive>)")
        restore(args.archive, name=args.instance, port=args.port, data_dir=args.data,
                etc_dir=args.etc, force=args.force)
        return
    if args.action == "cluster":
        return run_cluster(args)
    inst = instance_of(args)
    if inst.cluster is not None:
        if args.action == "serve":
            sys.exit(f"{inst.site_file} has a cluster: block: say which role this host plays,"
                     " `make serve ROLE=primary|replica|service|balancer [HOST=<name>]`"
                     " (README, \"Several hosts\")")
        inst = instance_of(args, host="primary")
    unknown = [n for n in args.collection or [] if n not in inst.collections]
    if unknown:
        sys.exit(f"No collection {', '.join(unknown)} in {inst.collections_file}"
                 f" (there are: {', '.join(inst.collections)})")
    if args.action == "destroy":
        inst.destroy()
    elif args.action == "backup":
        write_backup(inst, args.out, data_dir=args.data)
    elif args.action == "rds":
        inst.dachs_config.write()
        inst.rds.write_all()
    elif args.action == "withdraw-products":
        if not args.job:
            sys.exit("withdraw-products needs --job ID (a processing job's id, its products'"
                     " obs_id)")
        for job_id, dids in inst.withdraw_products(args.job).items():
            print(f"[instance] job {job_id}: {len(dids)} products withdrawn")
    elif args.action == "drop":
        if not args.collection:
            sys.exit("drop needs --collection NAME")
        inst.dachs_config.write()
        for name in args.collection:
            inst.drop_collection(name)
    else:
        if args.action == "serve":
            server.clear_port(inst)  # before an ingest that may take long, not after it
        summaries = inst.prepare(args.collection, strict=args.strict, prebuild=args.prebuild)
        if args.action == "serve":
            inst.serve_foreground()
        sys.exit(0 if all(s.ok for s in summaries.values()) else 1)


def main(argv=None):
    try:
        run(parse_args(argv))
    except (BackupError, DachsError, DatabaseError, PrivilegeError, PublicationError,
            ServerError) as exc:
        sys.exit(f"[instance] {exc}")


if __name__ == "__main__":
    main()
