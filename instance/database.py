"""The PostgreSQL side of an instance: the cluster it runs on, its database and its roles.

Every statement goes through psycopg2 with bound parameters (identifiers through psycopg2.sql),
as the PostgreSQL superuser role of the user running the service, over the cluster's Unix socket
(peer authentication). The cluster is found, not configured: see cluster().
"""

import collections
import contextlib
import functools
import getpass
import io
import os
import subprocess

import psycopg2
from psycopg2 import sql


class DatabaseError(RuntimeError):
    """The database cannot be reached or set up; the message says what to do."""


def default_version():
    """The PostgreSQL major version Debian's `postgresql` package depends on, or None."""
    out = subprocess.run(["dpkg-query", "-W", "-f=${Depends}", "postgresql"],
                         capture_output=True, text=True)
    for dependency in out.stdout.split(","):
        name = dependency.strip().split(" ")[0]
        if name.startswith("postgresql-") and name[len("postgresql-"):].isdigit():
            return name[len("postgresql-"):]
    return None


def clusters():
    """pg_lsclusters as rows: [version, cluster, port, status, owner, data directory, log]."""
    try:
        out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise DatabaseError(f"pg_lsclusters failed ({exc}): is PostgreSQL installed?"
                            " (bin/setup-system installs it)")
    return [line.split() for line in out.stdout.splitlines() if len(line.split()) >= 4]


Cluster = collections.namedtuple("Cluster", "version name port")


@functools.lru_cache(4)
def cluster(name=None):
    """The cluster the service uses (version, name, port): the online `main` cluster of the version
    Debian's postgresql package installs (15 on Debian 12, 17 on Debian 13; bin/setup-system starts
    it), else the only online cluster; with name, that version's cluster of this name (a cluster's
    primary: etc/site.yaml's cluster.primary.pg_cluster). Read from pg_lsclusters: after an upgrade
    from Debian 12 the new cluster usually listens on 5433, not 5432."""
    online = [c for c in clusters() if c[3].startswith("online")]
    version = default_version()
    chosen = [c for c in online if c[0] == version and c[1] == (name or "main")] or \
        (online if len(online) == 1 and name is None else [])
    if not chosen:
        raise DatabaseError(
            f"no PostgreSQL cluster to use: pg_lsclusters shows {len(online)} online, and the"
            f" {name or 'main'} cluster of PostgreSQL {version} is not among them; start it with"
            f" `pg_ctlcluster {version} {name or 'main'} start` (bin/setup-system does for main)")
    return Cluster(chosen[0][0], chosen[0][1], int(chosen[0][2]))


def cluster_port(name=None):
    """The port of the cluster the service uses (cluster())."""
    return cluster(name).port


def client_command(program, name=None):
    """The command line of a PostgreSQL client program (pg_dump, pg_restore) of the cluster's own
    version: Debian's wrapper picks the binaries by --cluster."""
    found = cluster(name)
    return [program, "--cluster", f"{found.version}/{found.name}"]


def copy_in(cursor, schema, table, columns, source):
    """COPY into schema.table (columns in that order) from source: COPY's text format, as a string
    or as an object whose read(size) gives it piece by piece (staging.CopyStream)."""
    if isinstance(source, str):
        source = io.StringIO(source)
    cursor.copy_expert(sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(schema, table), sql.SQL(", ").join(map(sql.Identifier, columns))), source)


def superuser():
    """The PostgreSQL role the instance code connects as: the calling user's."""
    return getpass.getuser()


class Database:
    """One database of the cluster (the main one, or the Debian cluster named pg_cluster),
    reached as superuser()."""

    def __init__(self, name, pg_cluster=None, dsn=None):
        """dsn: reached with this libpq connection string instead (a cluster's service host
        reads the primary's catalogue as the instance's trusted role)."""
        self.name = name
        self.pg_cluster = pg_cluster
        self.dsn = dsn

    @property
    def port(self):
        return cluster_port(self.pg_cluster)

    def connect(self, dbname=None):
        """An autocommit connection to this database (or dbname)."""
        if self.dsn:
            connection = psycopg2.connect(self.dsn)
        else:
            connection = psycopg2.connect(dbname=dbname or self.name, port=self.port)
        connection.autocommit = True
        return connection

    def query(self, statement, params=None, dbname=None):
        """The rows (tuples) a statement returns; statement may be a psycopg2.sql object."""
        # Not `with connection`: in psycopg2 2.9 that opens a transaction even in autocommit mode,
        # where CREATE DATABASE cannot run.
        connection = self.connect(dbname)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def value(self, statement, params=None, dbname=None):
        """The first column of the first row, or None."""
        rows = self.query(statement, params, dbname)
        return rows[0][0] if rows else None

    @contextlib.contextmanager
    def transaction(self):
        """A cursor in one transaction, committed at the end, rolled back on any exception: either
        all of it is done or nothing. The tables' ordinary triggers do not fire in it: DaCHS's
        per-row trigger that turns an INSERT of an existing key into an UPDATE (dupePolicy=
        "overwrite") costs half a load, and the rows a load replaces are deleted first."""
        connection = self.connect()
        connection.autocommit = False
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
                yield cursor
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()

    def create_float8range(self):
        """The range type of two doubles, public.float8range, unless it is there: the GTI tables'
        GiST index of their intervals (rd/collection.rd.in) and gavo_goodtime_overlaps
        (dachs_ext/adql_functions.py) use it. PostgreSQL has ranges of integers, numeric and
        times, not of doubles; its manual defines this one so ("Range Types")."""
        if not self.value("SELECT to_regtype('public.float8range')"):
            self.query("CREATE TYPE public.float8range AS RANGE (subtype = float8, subtype_diff = float8mi)")

    def turn_jit_off(self):
        """No JIT compilation in this database. DaCHS forbids sequential scans for any query with
        a q3c condition (adqlglue.runTAPQuery, against a q3c planner failure), which makes a table
        of ivoa.obscore's union without a q3c index, however small, cost 10^10; past
        jit_above_cost, PostgreSQL then spends 0.3-0.4 s compiling every cone query
        (BENCHMARKS.md's cone queries took 400 ms instead of 50). TAP's queries are short: JIT
        never pays for them."""
        if not self.value("SELECT 1 FROM pg_db_role_setting s JOIN pg_database d"
                          " ON d.oid = s.setdatabase WHERE d.datname = %s AND s.setrole = 0"
                          " AND 'jit=off' = ANY(s.setconfig)", (self.name,)):
            self.query(sql.SQL("ALTER DATABASE {} SET jit = off").format(sql.Identifier(self.name)))

    def exists(self):
        return bool(self.value("SELECT 1 FROM pg_database WHERE datname=%s", (self.name,),
                               dbname="postgres"))

    def has_schema(self, schema):
        return bool(self.value("SELECT 1 FROM pg_namespace WHERE nspname=%s", (schema,)))

    def table_exists(self, schema, table):
        return bool(self.value("SELECT 1 FROM information_schema.tables"
                               " WHERE table_schema=%s AND table_name=%s", (schema, table)))

    def create(self, locale=None):
        """locale: (LC_COLLATE, LC_CTYPE), which decide the order of text (default: the
        cluster's)."""
        statement = sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
            sql.Identifier(self.name))
        if locale:
            statement += sql.SQL(" LC_COLLATE {} LC_CTYPE {}").format(*map(sql.Literal, locale))
        self.query(statement, dbname="postgres")

    def drop(self, roles=()):
        """Drops the database (closing its connections) and the roles."""
        if self.exists():
            self.query(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(self.name)),
                       dbname="postgres")
        for role in roles:
            self.query(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)),
                       dbname="postgres")


def ensure_superuser_role(pg_cluster=None):
    """DaCHS's `init` needs a PostgreSQL superuser; as Debian does for dachsroot, the user running
    the service gets one of its own name (peer authentication, no password). Made by PostgreSQL's
    own tools as the postgres user, which needs root."""
    user = superuser()
    try:
        if Database("postgres", pg_cluster).value("SELECT rolsuper FROM pg_roles WHERE rolname=%s", (user,)):
            return
        exists = True
    except psycopg2.OperationalError:
        exists = False  # no role of that name: it cannot even connect
    if os.geteuid() != 0:
        raise DatabaseError(f"PostgreSQL role {user} is missing or not a superuser; as postgres,"
                            f" run: createuser --superuser {user}")
    port = str(cluster_port(pg_cluster))
    as_postgres = ["runuser", "-u", "postgres", "--"]
    if not exists:
        print(f"[instance] creating PostgreSQL superuser role {user}", flush=True)
        subprocess.run(as_postgres + ["createuser", "--port", port, "--superuser", user],
                       check=True)
    else:
        # psql quotes the :"name" variable as an identifier itself.
        subprocess.run(as_postgres + ["psql", "-X", "-q", "--port", port, "-v", "ON_ERROR_STOP=1",
                                      "-v", f"name={user}", "-d", "postgres"],
                       input='ALTER ROLE :"name" SUPERUSER LOGIN;\n', text=True, check=True)
