"""A DaCHS instance of the service: its DaCHS root directory, its database and its server.

An instance lives in var/<name>/ (ignored by git) with its own gavo.rc, database heobs_<name>
and database roles heobs_<name>_*, so that `make serve` (instance "serve") and the tests
(instance "test_<pid>") never see each other. Everything is idempotent: each step checks what is
there and only does what is missing or changed.

Instance puts together the concerns, each in a module of its own:
- dachs_config.py: the files DaCHS reads (gavo.rc, profiles, defaultmeta, vocabularies) and the
  dachs command;
- database.py: the PostgreSQL cluster, the database and its roles;
- rds.py: the resource descriptors; registry.py: the registry records and coverage;
- publication.py: the incremental ingest of a collection; server.py: the server processes.
"""

import concurrent.futures
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, PROJECT_ROOT)

from psycopg2 import sql  # noqa: E402

from ingest import config  # noqa: E402
from ingest.errors import IngestError  # noqa: E402
from instance import publication, server  # noqa: E402
from processing import publication as derived_publication  # noqa: E402
from instance.dachs_config import DachsConfig, DachsError  # noqa: E402,F401
from instance.database import Database, DatabaseError, ensure_superuser_role  # noqa: E402,F401
from instance.rds import ResourceDescriptors  # noqa: E402
from instance.registry import Registry  # noqa: E402
from monitoring import ingest_counters  # noqa: E402
from provenance import database as provenance_database  # noqa: E402
from rd import render  # noqa: E402

PROFILES = ("admin", "trusted", "untrusted")


def log(msg):
    print(f"[instance] {msg}", flush=True)


class Instance:
    def __init__(self, name, port=None, data_dir=None, collections_file=None, site_file=None,
                 host=None):
        """data_dir replaces the default collection's data directory; collections_file replaces
        etc/collections.yaml (the tests use one with proprietary observations), site_file
        etc/site.yaml (the tests of HTTPS use one with an https: block). host: the part of a
        cluster (etc/site.yaml's cluster:) this is: "primary", "balancer" or a service host's
        name; its files are in var/<name>-<host>/ (instance/cluster.py)."""
        self.name = name
        self.host = host
        self.root = os.path.join(PROJECT_ROOT, "var", name if host is None else f"{name}-{host}")
        self.dbname = f"heobs_{name}"
        self.site_file = site_file or os.path.join(PROJECT_ROOT, "etc", "site.yaml")
        self.site = config.load_site(self.site_file)
        self._check_site()
        self.cluster = self.site.cluster
        if host is not None:
            self._check_host()
        # The port clients reach: server_url's (on a cluster, the balancer's).
        self.public_port = int(port or self.site.port)
        # The port this host's nginx listens on.
        self.port = self.cluster.service_port if self.service_host else self.public_port
        self.collections_file = collections_file or os.path.join(PROJECT_ROOT, "etc",
                                                                 "collections.yaml")
        self.collections = config.load_collections(self.collections_file, PROJECT_ROOT)
        self.default_collection = config.default_collection_name(self.collections_file)
        if data_dir:
            self.collections[self.default_collection] = \
                self.collections[self.default_collection].with_data_dir(data_dir)
        self.dachs_config = DachsConfig(self)
        self.db = Database(self.dbname, self.cluster.primary.pg_cluster if self.cluster else None,
                           dsn=(self.service_dsn([self.cluster.primary_address])
                                if self.service_host else None))
        self.rds = ResourceDescriptors(self)
        self.registry = Registry(self)
        self._features = None

    def _check_site(self):
        """Every registry record carries these: refuse to serve without them."""
        missing = [key for key in ("site_name", "site_short_name", "site_description", "publisher")
                   if not getattr(self.site, key)]
        missing += [f"contact.{key}" for key, value in self.site.contact.items() if not value]
        if missing:
            sys.exit(f"{self.site_file}: missing mandatory key(s): {', '.join(missing)}")

    def _check_host(self):
        if self.cluster is None:
            sys.exit(f"{self.site_file}: no cluster: block, so no host {self.host!r} (README,"
                     " \"Several hosts\")")
        if self.host not in ("primary", "balancer", *self.cluster.services,
                             *self.cluster.replicas):
            sys.exit(f"{self.site_file}: cluster: no host {self.host!r} (there are: primary,"
                     f" balancer, {', '.join([*self.cluster.replicas, *self.cluster.services])})")

    @property
    def service_host(self):
        """This host's cluster.services entry (config.ClusterService), or None."""
        if self.cluster is None:
            return None
        return self.cluster.services.get(self.host)

    @property
    def bind_address(self):
        """Where this host's nginx listens: a service host's address, else etc/site.yaml's."""
        if self.service_host:
            return self.service_host.address
        if self.host == "balancer":
            return self.cluster.balancer.address
        return self.site.bind_address

    @property
    def https(self):
        """etc/site.yaml's https: block where this host's nginx speaks HTTPS: at the front, which
        on a cluster is the balancer (the service hosts behind it speak plain HTTP)."""
        return None if self.service_host else self.site.https

    def service_dsn(self, hosts):
        """A service host's libpq connection string to the addresses hosts (libpq tries them in
        turn), as the trusted role, its password in the file dachs_config.py writes."""
        return (f"host={','.join(hosts)} port={self.cluster.postgres_port}"
                f" dbname={self.dbname} user={self.role('trusted')}"
                f" passfile={self.dachs_config.passfile_path}")

    @property
    def shared_state_dir(self):
        """What every host of a cluster needs of the primary's state (the registry coverage
        its ingests compute); the instance's state directory on one host."""
        if self.cluster is None:
            return os.path.join(self.root, "state")
        return os.path.join(self.cluster.shared_dir, "state", self.name)

    @property
    def derived_dir(self):
        """Where the processing service's products are kept (DaCHS finds them under its rootDir:
        datalink_core.derived_root); on a cluster, in the shared directory, where every host
        serves them whichever host made them (DachsConfig.write links rootDir's to it)."""
        if self.cluster is None:
            return os.path.join(self.root, render.DERIVED_SCHEMA)
        return os.path.join(self.cluster.shared_dir, render.DERIVED_SCHEMA, self.name)

    @property
    def uws_dir(self):
        """Where the async TAP jobs' files are: on a cluster, in the shared directory."""
        return os.path.join(self.cluster.shared_dir, "uwsjobs", self.name)

    @property
    def server_url(self):
        return self.site.server_url.format(port=self.public_port)

    def role(self, profile):
        return f"{self.dbname}_{profile}"

    def env(self):
        return self.dachs_config.env()

    def dachs(self, *args, check=True, quiet=True):
        return self.dachs_config.dachs(*args, check=check, quiet=quiet)

    def features(self):
        """The installed DaCHS's version and what it does natively (dachs_ext/compat.py), asked
        once; DachsError if it cannot run the service."""
        if self._features is None:
            self._features = self.dachs_config.features()
        return self._features

    @property
    def product_cache_dir(self):
        """Where the DataLink files are built (DaCHS's cacheDir is the root's cache/)."""
        return os.path.join(self.root, "cache", "datalink")

    @property
    def product_cache_bytes(self):
        return int(self.site.server["product_cache_gb"] * 1e9)

    def published(self, collections=None):
        """The collections (default: all configured) that have a table in the database."""
        return [c for c in (collections or self.collections.values())
                if self.db.table_exists(c.schema, "obs")]

    # ---------------------------------------------------------------- publication
    def configure(self):
        """Writes DaCHS's configuration and the RDs and sets the database up, with the
        service's own tables (ivoa.obscore, the processing service's); returns (the ids of the
        RDs whose text changed, whether the database is new)."""
        os.makedirs(os.path.join(self.root, "state"), exist_ok=True)
        self.dachs_config.write()
        fresh = self._init_database()
        # Fails here, naming what is missing, if DaCHS cannot run the service. (DaCHS 2.8+
        # connects to the database as it is imported: the instance's, once `dachs init` made
        # it, and not DaCHS's default one, which a cluster's host need not have.)
        self.features()
        changed = self.rds.write_all()
        if not self.db.table_exists("ivoa", "obscore"):  # after etc/userconfig.rd: its columns
            self.dachs("imp", "//obscore")
        self.db.create_float8range()  # before DaCHS creates a GTI table (its index needs it)
        self.db.turn_jit_off()
        self._publish_derived(render.DERIVED_RD_ID in changed)
        return changed, fresh

    def prepare(self, names=None, strict=False, prebuild=False):
        """Configures the instance and publishes the named collections (default: all)
        incrementally; returns {name: ingest Summary}. prebuild: build every observation's
        DataLink files too. One at a time: a second `make ingest` (or `make serve`) waits for
        the first."""
        names = list(names or self.collections)
        os.makedirs(os.path.join(self.root, "state"), exist_ok=True)
        with open(os.path.join(self.root, "state", "publish.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            changed, fresh = self.configure()
            return self._publish(names, strict, prebuild, changed, fresh)

    def _publish(self, names, strict, prebuild, changed, fresh):
        if "userconfig" in changed and not fresh:
            # New ObsCore columns: DaCHS must rebuild its prototype view before re-publishing.
            log("ObsCore columns changed: refreshing ivoa.obscore")
            self.dachs("imp", "//obscore", "refreshAfterSchemaUpdate")
            self.dachs("imp", "//obscore")
        summaries = {}
        moved = self._server_url_changed() and not fresh
        for name in names:
            collection = self.collections[name]
            self._recreate_if_redefined(
                collection, self.rds.rd_id(collection) in changed or "userconfig" in changed)
            started = time.monotonic()
            summaries[name] = self._publish_one(collection, strict, prebuild)
            # for the exporter's ingest metrics (monitoring/metrics.py)
            ingest_counters.record(os.path.join(self.root, "state"), name,
                                   summaries[name].counts, time.monotonic() - started,
                                   failed=summaries[name].failure is not None)
            if self.published([collection]):
                self.rds.record_table(collection)
        if moved:
            log(f"ivoa.obscore: access URLs now under {self.server_url}")
            self.refresh_dachs_metadata(self.published())
        # a collection whose rows this run left as they were keeps the coverage computed before
        changed_rows = {name for name, summary in summaries.items()
                        if any(summary.counts.get(o) for o in ("added", "updated", "withdrawn"))}
        # Side by side: the views' imports are DaCHS starting up (a process of its own each), the
        # coverage is PostgreSQL aggregating footprints; neither reads what the other writes.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            coverage = pool.submit(self.registry.update_coverage, self.published(), changed_rows)
            self.publish_views()
            coverage.result()
        self.registry.publish(self.published())
        with open(self._server_url_path(), "w", encoding="utf-8") as f:
            f.write(self.server_url)
        return summaries

    def _server_url_path(self):
        return os.path.join(self.root, "state", "obscore-server-url")

    def _server_url_changed(self):
        """ivoa.obscore's access_url is written with the server URL when a collection's RD is
        imported (DaCHS's \\getConfig{web}{serverURL} in its view): True if that was another
        URL than server_url now (another port, or https)."""
        with open(self._server_url_path(), "a+", encoding="utf-8") as f:
            f.seek(0)
            return f.read() not in ("", self.server_url)

    def refresh_dachs_metadata(self, collections):
        """What DaCHS rendered into the database when these collections were imported, written
        again: their ObsCore fragments and table metadata (`dachs imp -m`), ivoa.obscore made
        again from the fragments (`dachs imp //obscore`), then the ivoa views' metadata, in the
        order `make serve` imports them (the last one names the ivoa schema in TAP_SCHEMA). The
        SQL of ivoa.obscore holds the server URL (access_url: DaCHS expands it when a collection
        is imported): after a change of server_url, and after a restore (instance/restore.py)."""
        for collection in collections:
            self.dachs("imp", "-m", self.rds.rd_id(collection))
        self.dachs("imp", "//obscore")
        for rd_id in render.VIEWS:
            if self.view_sources(rd_id):
                self.dachs("imp", "-m", rd_id)

    def _publish_one(self, collection, strict, prebuild):
        """The Summary of publishing one collection. One that cannot be read at all (no
        hdu-index, a broken index, an import DaCHS refuses) is reported and keeps what it had
        published: the others are published, and `make serve` serves them."""
        publisher = publication.Publisher(self)
        if not os.path.exists(collection.hdu_index_path):
            return publisher.failed(collection, f"no hdu-index at {collection.hdu_index_path}."
                                    f" {collection.obtain or ''}")
        try:
            return publisher.publish(collection, strict=strict, prebuild=prebuild)
        except (IngestError, publication.PublicationError) as exc:
            return publisher.failed(collection, exc)

    def _init_database(self):
        """Creates the database and runs `dachs init` on it, unless that was done before;
        True if it did."""
        ensure_superuser_role(self.db.pg_cluster)
        if self.db.exists() and self.db.has_schema("tap_schema"):
            return False
        if not self.db.exists():
            log(f"creating database {self.dbname}")
            self.db.create()
        log(f"dachs init on {self.dbname}")
        self.dachs("init", "-d", f"dbname={self.dbname} port={self.db.port}")
        return True

    def _recreate_if_redefined(self, collection, rd_changed):
        """Drops the collection's table if its definition changed (the publication then re-reads
        every observation); a change of descriptive metadata only updates DaCHS's metadata."""
        if not self.published([collection]):
            return
        if self.rds.table_redefined(collection):
            log(f"the table of {collection.name} changed: re-creating it")
            self.drop_views()
            self.dachs("drop", self.rds.rd_id(collection))
        elif rd_changed:
            self.dachs("imp", "-m", self.rds.rd_id(collection))

    def view_sources(self, rd_id):
        """The schemas whose tables the views of render.VIEWS[rd_id] are over: the published
        collections for ivoa.obscore_hea and ivoa.obscore_gti; for the provenance views, every
        schema with provenance tables (the collections, and the processing service's results)."""
        if rd_id == render.PROVENANCE_RD_ID:
            return [row[0] for row in self.db.query(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = %s"
                " AND table_schema != %s ORDER BY table_schema",
                (provenance_database.table_name("entity"), provenance_database.VIEW_SCHEMA))]
        return [c.schema for c in self.published()]

    def publish_views(self, stale=()):
        """The views of render.VIEWS over their source schemas (view_sources); stale: the ids of
        view RDs to import again whatever else. Anything that adds or removes a source schema
        calls it (the processing service too, once its schema has its provenance tables)."""
        for rd_id, view_rd in render.VIEWS.items():
            sources = self.view_sources(rd_id)
            changed = self.rds.write_view(rd_id, sources)
            missing = not all(self.db.table_exists(view_rd.schema, v) for v in view_rd.views)
            if sources and (changed or rd_id in stale or missing):
                self.dachs("imp", rd_id)

    def _publish_derived(self, rd_changed):
        """The tables of the processing service's products (rd/derived.rd.in), which add them to
        ivoa.obscore, and DaCHS's table of user UWS jobs. Made once and kept: their rows are
        the products made since. A change of their columns re-creates them, which withdraws
        every product (said in the log); a change of descriptive metadata only updates DaCHS's
        metadata."""
        if not self.db.table_exists("uws", "userjobs"):
            self.dachs("imp", "//uws", "enable_useruws")
        exists = self.db.table_exists(render.DERIVED_SCHEMA, "products")
        if exists and self.rds.derived_redefined():
            count = self.db.value(f"SELECT count(*) FROM {render.DERIVED_SCHEMA}.products")
            log(f"the tables of the derived products changed: re-creating them ({count}"
                " products withdrawn)")
            self.drop_views()  # the provenance views are over its tables too
            self.dachs("drop", render.DERIVED_RD_ID)
            shutil.rmtree(self.derived_dir, ignore_errors=True)
            exists = False
        if not exists:
            self.dachs("imp", render.DERIVED_RD_ID)
            self.rds.record_derived()
        elif rd_changed:
            self.dachs("imp", "-m", render.DERIVED_RD_ID)

    def drop_views(self):
        """The views depend on the tables they are over: dropped before one of those is (and
        made again by publish_views)."""
        for view_rd in render.VIEWS.values():
            for view in view_rd.views:
                self.db.query(sql.SQL("DROP VIEW IF EXISTS {}").format(
                    sql.Identifier(view_rd.schema, view)))

    def withdraw_products(self, job_ids):
        """Withdraws the products of processing jobs: their rows in ivoa.obscore (through
        derived.products), derived.progenitors and the provenance views, and their files.
        Returns {job id: the obs_publisher_did withdrawn}."""
        withdrawn = {}
        with self.db.transaction() as cursor:
            for job_id in job_ids:
                withdrawn[job_id] = derived_publication.withdraw(cursor, job_id)
        for job_id in job_ids:
            shutil.rmtree(derived_publication.job_directory(self.derived_dir, job_id),
                          ignore_errors=True)
        return withdrawn

    def drop_collection(self, name):
        """Withdraws a whole collection: its tables, its ObsCore rows, its part of obscore_hea,
        obscore_gti and the provenance views (DaCHS marks its registry records deleted). Its entry in the collections file stays
        (remove it, or the next ingest publishes it again)."""
        collection = self.collections[name]
        if not self.published([collection]):
            log(f"{name} is not published")
            return
        self.drop_views()
        self.dachs("drop", self.rds.rd_id(collection))
        self.rds.forget_table(collection)
        log(f"dropped {name}: its tables and its rows in ivoa.obscore")
        self.publish_views(render.VIEWS)

    # ---------------------------------------------------------------- server
    def is_up(self):
        return server.answers(self.port, tls=self.https is not None, address=self.bind_address)

    @property
    def process_count(self):
        return server.process_count(self.site.server.get("processes"))

    def serve_foreground(self):
        """Runs the server processes until Ctrl-C (or SIGTERM), or until one of them stops."""
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        servers = self.start()
        log(f"serving {self.server_url}/tap with {self.process_count} DaCHS process(es)"
            " (Ctrl-C stops)")
        try:
            while servers.stopped() is None:
                time.sleep(1)
            log(f"a server process stopped (exit code {servers.stopped()}); see "
                f"{os.path.join(self.root, 'logs')}")
        except KeyboardInterrupt:
            pass
        finally:
            stop_process(servers)

    def start(self, timeout=90):
        """Starts the server processes and waits until every one has loaded the service's
        DaCHS modules and TAP answers on the instance's port; returns them (server.Servers,
        which stop_process stops)."""
        self.features()
        os.makedirs(os.path.join(self.root, "logs"), exist_ok=True)
        logfile = open(os.path.join(self.root, "logs", "server.console"), "ab")
        servers = server.start_processes(self, self.process_count, logfile)
        try:
            self._wait_until_up(servers, timeout, logfile.name)
        except BaseException:
            stop_process(servers)
            raise
        return servers

    def _wait_until_up(self, servers, timeout, logname):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if servers.stopped() is not None:
                raise server.ServerError(f"a server process exited with {servers.stopped()}; see {logname}")
            if self.is_up():
                return
            time.sleep(0.5)
        raise server.ServerError(f"the server did not answer on port {self.port} in {timeout} s")

    # ---------------------------------------------------------------- removal
    def destroy(self):
        """Drops the database, its roles and the instance directory."""
        ensure_superuser_role(self.db.pg_cluster)  # on a fresh machine, even looking needs it
        # ("replication": a cluster's primary streams to its replicas as that role.)
        self.db.drop(roles=[self.role(p) for p in ("replication", *reversed(PROFILES))])
        shutil.rmtree(self.root, ignore_errors=True)


def stop_process(proc, timeout=20):
    """Stops a process and its group (a Popen, or server.Servers, whose record it then removes)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if getattr(proc, "record", None) is not None:
        proc.record.remove()
