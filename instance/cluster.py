"""The roles of a cluster of hosts (etc/site.yaml's cluster: block; README, "Several hosts"), one
command each, run on the host that plays it:

    make serve ROLE=primary               python3 -m instance cluster primary
    make serve ROLE=replica HOST=<name>   python3 -m instance cluster replica --host <name>
    make serve ROLE=service HOST=<name>   python3 -m instance cluster service --host <name>
    make serve ROLE=balancer              python3 -m instance cluster balancer

- primary: its PostgreSQL cluster listens on the primary's address, lets the replicas stream its
  write-ahead log and the service hosts log in as the instance's roles (pg_hba.conf); then the
  instance is set up and the collections ingested there, as `make serve` does on one host. It
  holds everything that is written: the ingest, the UWS job table, users and groups.
- replica: its (fresh) PostgreSQL cluster becomes a hot standby of the primary (pg_basebackup)
  and listens on the replica's address for the service hosts' reads.
- service: DaCHS processes, nginx and the exporter, as `make serve` runs them, reading on the
  host's replica (and on the primary when it does not answer) and writing on the primary
  (dachs_config.py, profiles); plus the job keeper (dachs_ext/job_keeper.py), which runs again
  the async jobs whose host died. In the foreground.
- balancer: nginx in front of the service hosts (balancer.py). In the foreground.

The primary and replica commands set things up and return (PostgreSQL runs as Debian runs it);
they can be run again at any time and only do what is missing or changed.
"""

import ipaddress
import os

from psycopg2 import sql

from instance.database import Database, DatabaseError
from instance.postgres_cluster import PgCluster

ROLES = ("primary", "replica", "service", "balancer")


def log(msg):
    print(f"[cluster] {msg}", flush=True)


def replication_role(inst):
    return inst.role("replication")


def _host_network(address):
    """The pg_hba.conf address of one host."""
    return f"{address}/{32 if ipaddress.ip_address(address).version == 4 else 128}"


def _service_lines(inst):
    """pg_hba.conf: the instance's roles may log in from every service host, with a password."""
    roles = ",".join(inst.role(p) for p in ("admin", "trusted", "untrusted"))
    return [f"host {inst.dbname} {roles} {_host_network(s.address)} scram-sha-256"
            for s in inst.cluster.services.values()]


def _listen(cluster, address):
    return {"listen_addresses": f"localhost,{address}", "port": cluster.postgres_port}


def primary(inst, names=None, strict=False, prebuild=False):
    """Sets the primary's PostgreSQL up for the cluster, then the instance and its collections
    (Instance.prepare); returns prepare's summaries."""
    cluster = inst.cluster
    pg = PgCluster(cluster.primary.pg_cluster)
    if pg.is_standby:
        raise DatabaseError(f"{pg} is a replica (standby.signal): the primary's cluster must be"
                            " another one (cluster.primary.pg_cluster)")
    changed = pg.configure(_listen(cluster, cluster.primary_address))
    replication = [f"host replication {replication_role(inst)} {_host_network(r.address)}"
                   " scram-sha-256" for r in cluster.replicas.values()]
    hba_changed = pg.set_hba(replication + _service_lines(inst))
    pg.ensure_running(restart=bool(changed), reload=hba_changed)
    if changed or hba_changed:
        log(f"{pg} listens on {cluster.primary_address}:{cluster.postgres_port} for"
            f" {len(cluster.replicas)} replica(s) and {len(cluster.services)} service host(s)")
    summaries = inst.prepare(names, strict=strict, prebuild=prebuild)
    _roles_and_grants(inst)
    return summaries


def _roles_and_grants(inst):
    """The replication role (its password in the shared directory, where the replicas read it),
    the trusted role's right to see every connection's state (the exporters' database metrics
    on the service hosts), and the job keeper's table of who runs which async job."""
    postgres = Database("postgres", inst.cluster.primary.pg_cluster)
    role, password = replication_role(inst), inst.dachs_config.secret("replication")
    verb = "ALTER" if postgres.value("SELECT 1 FROM pg_roles WHERE rolname=%s", (role,)) else "CREATE"
    postgres.query(sql.SQL(verb + " ROLE {} WITH REPLICATION LOGIN PASSWORD %s").format(
        sql.Identifier(role)), (password,))
    trusted = sql.Identifier(inst.role("trusted"))
    inst.db.query(sql.SQL("GRANT pg_read_all_stats TO {}").format(trusted))
    inst.db.query("CREATE SCHEMA IF NOT EXISTS heobs_cluster")
    inst.db.query("CREATE TABLE IF NOT EXISTS heobs_cluster.job_runners ("
                  " job_id text PRIMARY KEY, host text NOT NULL, seen timestamptz NOT NULL,"
                  " runs integer NOT NULL DEFAULT 1)")
    inst.db.query(sql.SQL("GRANT USAGE ON SCHEMA heobs_cluster TO {t};"
                          " GRANT ALL ON heobs_cluster.job_runners TO {t}").format(t=trusted))


def replica(inst, name):
    """Makes this host's PostgreSQL cluster a hot standby of the primary (once), listening on
    the replica's address for the service hosts."""
    cluster = inst.cluster
    if name not in cluster.replicas:
        raise DatabaseError(f"cluster.replicas has no {name!r} (there are:"
                            f" {', '.join(cluster.replicas) or 'none'})")
    pg = PgCluster(cluster.replicas[name].pg_cluster)
    if not pg.is_standby:
        log(f"making {pg} a replica of {cluster.primary_address}:{cluster.postgres_port}")
        pg.make_replica(cluster.primary_address, cluster.postgres_port, replication_role(inst),
                        inst.dachs_config.secret("replication"))
    # hot_standby_feedback: the primary's vacuum keeps the rows a query on the replica still
    # reads, instead of the replica cancelling the query (max_standby_streaming_delay).
    changed = pg.configure(dict(_listen(cluster, cluster.replicas[name].address),
                                hot_standby_feedback="on"))
    hba_changed = pg.set_hba(_service_lines(inst))
    pg.ensure_running(restart=bool(changed), reload=hba_changed)
    log(f"{pg} replicates {cluster.primary_address} and listens on"
        f" {cluster.replicas[name].address}:{cluster.postgres_port}")


def prepare_service(inst):
    """A service host's files: DaCHS's configuration (profiles on the primary and the replica),
    the RDs (of the collections the primary has published), the shared jobs directory."""
    os.makedirs(os.path.join(inst.root, "state"), exist_ok=True)
    inst.dachs_config.write()
    inst.features()  # after the profiles: DaCHS 2.8+ connects to the primary as it is imported
    inst.rds.write_all()
    inst.rds.write_views()
    os.makedirs(inst.uws_dir, exist_ok=True)
