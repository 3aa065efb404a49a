"""Typed configuration: etc/site.yaml (the data centre) and etc/collections.yaml (what it publishes).

Only the keys the ingest uses are typed; every other key is kept, untouched, in `extra`, so the files can
grow (licence texts, registry metadata, ...) without changing this module. A wrong value raises
ConfigError naming the file and the key path, e.g. ``etc/collections.yaml: collections.hess_dr1.data_rights:
must be one of public, proprietary, secure``.
"""

import dataclasses
import datetime
import ipaddress
import os
import re
from dataclasses import dataclass, field

import yaml

from ingest.file_cache import read_when_changed

DATA_RIGHTS = ("public", "proprietary", "secure")
# What a disagreement of the EVENTS header and the obs-index does (ingest/agreement.py).
ON_DISAGREEMENT = ("reject", "prefer_header")
# etc/site.yaml's server: block when it leaves something out (why these values: that file)
SERVER_DEFAULTS = {"processes": "auto", "sync_timeout": 60, "async_slots": 4, "sql_timeout": 15,
                   "product_cache_gb": 50.0}
# etc/site.yaml's name_resolver: CDS's Sesame and the mirror astropy 7 knows it by.
SESAME_URLS = ("https://cds.unistra.fr/cgi-bin/nph-sesame/",
               "http://vizier.cfa.harvard.edu/viz-bin/nph-sesame/")
SESAME_TIMEOUT = 3.0
# etc/site.yaml's https: certificate value that asks for a self-signed certificate (instance/tls.py)
SELF_SIGNED = "self-signed"
# etc/site.yaml's monitoring: who may read /metrics through the front: this machine only
METRICS_ALLOW = ("127.0.0.1", "::1")
# etc/site.yaml's cluster.balancer: when it leaves them out (why these values: that file)
CLUSTER_SERVICE_PORT = 8081
CLUSTER_CONNECT_TIMEOUT = 2.0
CLUSTER_FAIL_TIMEOUT = 10
CLUSTER_HEALTH_INTERVAL = 2.0
# What names a host or a Debian PostgreSQL cluster in etc/site.yaml's cluster: block
HOST_NAME = r"[a-z][a-z0-9-]{0,30}"


class ConfigError(ValueError):
    def __init__(self, path, key, message):
        super().__init__(f"{path}: {key}: {message}" if key else f"{path}: {message}")
        self.path, self.key, self.message = path, key, message


@dataclass(frozen=True)
class NameResolver:
    """Where the web search page asks for target names no published observation has (Sesame)."""

    sesame_urls: tuple = SESAME_URLS  # tried in turn; empty: never ask
    timeout: float = SESAME_TIMEOUT  # seconds the page waits for Sesame at most


@dataclass(frozen=True)
class Https:
    """TLS at the front (nginx): etc/site.yaml's https: block."""

    certificate: str  # PEM file (absolute), or SELF_SIGNED: made for server_url's host
    key: str = None  # PEM private key (absolute); None with SELF_SIGNED
    http_port: int = None  # also plain HTTP on this port; None: HTTPS only


@dataclass(frozen=True)
class Monitoring:
    """/metrics and /health at the front: etc/site.yaml's monitoring: block."""

    metrics_allow: tuple = METRICS_ALLOW  # addresses or networks (CIDR) that may read /metrics


@dataclass(frozen=True)
class DatabaseHost:
    """The primary or a replica: its address and its Debian PostgreSQL cluster (pg_lsclusters)."""

    address: str
    pg_cluster: str = "main"


@dataclass(frozen=True)
class ClusterService:
    """A service host of the cluster: where its nginx listens, and the replica its reads use."""

    name: str
    address: str
    replica: str = None  # a name under cluster.replicas; None: reads on the primary


@dataclass(frozen=True)
class Balancer:
    """The balancer (nginx) in front of the service hosts (README, "Several hosts")."""

    address: str
    # Seconds nginx waits to connect to a service host before it tries the next one.
    connect_timeout: float = CLUSTER_CONNECT_TIMEOUT
    # Seconds a service host stays out of the pool after a failed request (nginx's fail_timeout).
    fail_timeout: int = CLUSTER_FAIL_TIMEOUT
    # Seconds between two rounds of /health checks of every service host.
    health_interval: float = CLUSTER_HEALTH_INTERVAL


@dataclass(frozen=True)
class Cluster:
    """Several hosts: etc/site.yaml's cluster: block (README, "Several hosts")."""

    shared_dir: str  # absolute: mounted at the same path on every service host and the primary
    primary: DatabaseHost
    replicas: dict  # name -> DatabaseHost
    services: dict  # name -> ClusterService
    balancer: Balancer
    postgres_port: int = 5432  # every database host's PostgreSQL listens on it
    service_port: int = 8081  # every service host's nginx listens on it (the balancer: `port`)

    @property
    def primary_address(self):
        return self.primary.address

    def reads_address(self, service):
        """The addresses a service host's reads connect to, in order: its replica, then the
        primary (libpq tries the next one when a host does not answer)."""
        replica = self.services[service].replica
        return ([self.replicas[replica].address] if replica else []) + [self.primary.address]


@dataclass(frozen=True)
class ProcessingSettings:
    """etc/site.yaml's processing: block, the limits of the processing service (processing/)."""

    max_running_jobs: int = 2  # jobs analysing at once ([async]maxUserUWSRunningDefault)
    max_observations: int = 100  # DL3 datasets a job may name
    execution_duration: int = 3600  # seconds a job may run at most (and its default)
    job_lifetime_days: float = 7.0  # from a job's creation to its destruction (default)
    gammapy_python: str = ".venv-gammapy/bin/python"  # relative to the project


@dataclass(frozen=True)
class SiteConfig:
    """The data centre (etc/site.yaml)."""

    authority: str  # IVOA authority: identifiers are ivo://<authority>/...
    site_name: str = None
    site_short_name: str = None
    site_description: str = None
    publisher: str = None
    publisher_id: str = None
    publisher_url: str = None
    contact: dict = field(default_factory=dict)  # name, email, address
    port: int = 8080
    bind_address: str = "127.0.0.1"
    server_url: str = "http://localhost:{port}"  # {port}: the port served on
    # processes ("auto" or a number), sync_timeout, async_slots, sql_timeout: see etc/site.yaml
    server: dict = field(default_factory=lambda: dict(SERVER_DEFAULTS))
    name_resolver: NameResolver = field(default_factory=NameResolver)
    https: Https = None  # None: plain HTTP
    monitoring: Monitoring = field(default_factory=Monitoring)
    cluster: Cluster = None  # None: one host
    processing: ProcessingSettings = field(default_factory=ProcessingSettings)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SiteLocation:
    """Where the telescopes are; any value given here replaces the EVENTS header's GEOLON/GEOLAT/ALTITUDE."""

    name: str = None
    geo_lon: float = None  # deg
    geo_lat: float = None  # deg
    geo_alt: float = None  # m


@dataclass(frozen=True)
class ObservationOverride:
    """Per-observation curation values (`observations: {<obs_id>: {...}}` in a collection; an event
    subset's own key, `<obs_id>-<subset>`, gives values for that subset alone)."""

    data_rights: str = None
    obs_release_date: datetime.datetime = None
    owner: str = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CollectionConfig:
    """One GADF collection (an entry under `collections:` in etc/collections.yaml)."""

    name: str
    schema: str
    obs_collection: str
    data_dir: str  # absolute
    hdu_index: str = "hdu-index.fits.gz"  # relative to data_dir
    obs_index: str = None  # relative to data_dir; None: no obs-index
    title: str = None
    description: str = None
    facility_name: str = None
    instrument_name: str = None  # used when the EVENTS header has no INSTRUME
    creator_name: str = None
    bib_reference: str = None
    proposal_id: str = None
    target_class: str = None
    obs_title: str = None
    publisher_id: str = None
    reference_url: str = None
    licence: str = None  # terms of use, shown with the collection
    licence_file: str = None  # relative to data_dir: the release's own terms
    obtain: str = None  # how a user elsewhere gets the data
    data_rights: str = None
    obs_release_date: datetime.datetime = None
    # DaCHS group whose members may fetch the files of non-public observations before their
    # release date (everyone else gets 401); None: nobody before the release date.
    owner: str = None
    fov_radius: float = None  # deg; replaces what the files say (spec §4.5)
    site: SiteLocation = field(default_factory=SiteLocation)
    defaults: dict = field(default_factory=dict)  # column -> value where the files say nothing
    observations: dict = field(default_factory=dict)  # obs_id (str) -> ObservationOverride
    # Build every observation's DataLink files at ingest (for collections whose users download
    # everything), rather than at the first request.
    prebuild: bool = False
    # Where the EVENTS header and the obs-index disagree: reject the observation, or prefer_header.
    on_disagreement: str = "reject"
    extra: dict = field(default_factory=dict)

    @property
    def hdu_index_path(self):
        return os.path.join(self.data_dir, self.hdu_index)

    @property
    def obs_index_path(self):
        return os.path.join(self.data_dir, self.obs_index) if self.obs_index else None

    def with_data_dir(self, data_dir):
        """The same collection read from another directory (e.g. `make serve DATA=<dir>`)."""
        return dataclasses.replace(self, data_dir=os.path.abspath(data_dir))

    def override_for(self, dataset, obs_id=None):
        """The values for one dataset: those of its own key, else of its observation's OBS_ID."""
        return (self.observations.get(str(dataset)) or self.observations.get(str(obs_id or dataset))
                or ObservationOverride())

    def owner_for(self, dataset, obs_id=None):
        """The DaCHS group owning a dataset's files (per-dataset, then per-observation value first)."""
        return self.override_for(dataset, obs_id).owner or self.owner


# ---- loading


def _read_yaml(path):
    try:
        with open(path, encoding="utf-8") as f:
            document = yaml.safe_load(f)
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, None, f"not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(path, None, "must be a mapping of keys to values")
    return document


class _Reader:
    """Takes typed values out of one mapping of a config file, naming `path: key` in errors."""

    def __init__(self, path, mapping, prefix=""):
        if not isinstance(mapping, dict):
            raise ConfigError(path, prefix.rstrip(".") or None, "must be a mapping")
        self.path, self.mapping, self.prefix = path, mapping, prefix
        self.used = set()

    def key(self, name):
        return self.prefix + str(name)

    def fail(self, name, message):
        raise ConfigError(self.path, self.key(name), message)

    def get(self, name, kind=str, required=False, default=None):
        self.used.add(name)
        value = self.mapping.get(name)
        if value is None:
            if required:
                self.fail(name, "missing mandatory key")
            return default
        return _convert(self, name, value, kind)

    def child(self, name):
        self.used.add(name)
        return _Reader(self.path, self.mapping.get(name) or {}, self.key(name) + ".")

    def extra(self):
        return {k: v for k, v in self.mapping.items() if k not in self.used}


def _convert(reader, name, value, kind):
    if kind is str:
        if isinstance(value, (dict, list)):
            reader.fail(name, "must be a single value")
        return str(value).strip()
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            reader.fail(name, f"must be a whole number, not {value!r}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            reader.fail(name, f"must be a number, not {value!r}")
        return float(value)
    if kind is bool:
        if not isinstance(value, bool):
            reader.fail(name, f"must be true or false, not {value!r}")
        return value
    if kind is datetime.datetime:
        return _datetime(reader, name, value)
    if kind in ("data_rights", "on_disagreement"):
        choices = DATA_RIGHTS if kind == "data_rights" else ON_DISAGREEMENT
        if value not in choices:
            reader.fail(name, f"must be one of {', '.join(choices)}, not {value!r}")
        return value
    raise TypeError(kind)


def _datetime(reader, name, value):
    # YAML turns an unquoted 2018-09-25 into a date already; a quoted one is a string.
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day)
    try:
        return datetime.datetime.fromisoformat(str(value))
    except ValueError:
        reader.fail(name, f"must be a date (YYYY-MM-DD), not {value!r}")


def load_site(path):
    """The data centre's configuration (etc/site.yaml)."""
    reader = _Reader(path, _read_yaml(path))
    # Only the authority is needed to ingest; the server needs the rest (instance/ checks it).
    values = {"authority": reader.get("authority", required=True)}
    for key in ("site_name", "site_short_name", "site_description", "publisher"):
        values[key] = reader.get(key)
    contact = reader.child("contact")
    values["contact"] = {key: contact.get(key) for key in ("name", "email", "address")}
    for key, kind in (("publisher_id", str), ("publisher_url", str), ("port", int),
                      ("bind_address", str), ("server_url", str)):
        value = reader.get(key, kind)
        if value is not None:
            values[key] = value
    values["server"] = _server_settings(reader.child("server"))
    values["name_resolver"] = _name_resolver(reader.child("name_resolver"))
    if reader.mapping.get("https") is not None:
        values["https"] = _https(reader.child("https"), os.path.dirname(os.path.abspath(path)))
        url = values.get("server_url", SiteConfig.server_url)
        if not url.startswith("https://"):
            reader.fail("server_url", f"must be an https:// URL when https: is configured, not {url!r}")
    values["monitoring"] = _monitoring(reader.child("monitoring"))
    if reader.mapping.get("cluster") is not None:
        values["cluster"] = _cluster(reader.child("cluster"),
                                     os.path.dirname(os.path.abspath(path)))
    values["processing"] = _processing_settings(reader.child("processing"))
    return SiteConfig(extra=reader.extra(), **values)


def _https(reader, directory):
    """etc/site.yaml's https: block; relative paths are relative to the file's directory."""
    certificate = reader.get("certificate", required=True)
    key = reader.get("key")
    if certificate == SELF_SIGNED:
        if key is not None:
            reader.fail("key", f"must be left out with certificate: {SELF_SIGNED} (it is made too)")
    else:
        if key is None:
            reader.fail("key", "missing mandatory key (the certificate's private key, a PEM file)")
        certificate, key = (os.path.join(directory, p) for p in (certificate, key))
        for name, value in (("certificate", certificate), ("key", key)):
            if not os.path.isfile(value):
                reader.fail(name, f"no such file: {value}")
            if not os.access(value, os.R_OK):
                reader.fail(name, f"cannot be read: {value}")
    http_port = reader.get("http_port", int)
    if http_port is not None and not 0 < http_port < 65536:
        reader.fail("http_port", f"must be a port number, not {http_port}")
    return Https(certificate=certificate, key=key, http_port=http_port)


def _monitoring(reader):
    """etc/site.yaml's monitoring: block."""
    allow = reader.mapping.get("metrics_allow", list(METRICS_ALLOW))
    reader.used.add("metrics_allow")
    if not isinstance(allow, list):
        reader.fail("metrics_allow", f"must be a list of addresses or networks, not {allow!r}")
    for value in allow:
        try:
            ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            reader.fail("metrics_allow", f"{value!r} is not an IP address or network (CIDR)")
    return Monitoring(metrics_allow=tuple(str(v) for v in allow))


def _address(reader, name, required=True):
    """An IP address (hosts reach each other by address: nginx's set_real_ip_from and
    PostgreSQL's pg_hba.conf need addresses, not names)."""
    value = reader.get(name, required=required)
    if value is None:
        return None
    try:
        ipaddress.ip_address(value)
    except ValueError:
        reader.fail(name, f"must be an IP address, not {value!r}")
    return value


def _host_names(reader, kind):
    for name in reader.mapping:
        if not re.fullmatch(HOST_NAME, str(name)):
            reader.fail(name, f"a {kind} name must be lower-case letters, digits and '-',"
                        " starting with a letter")


def _cluster(reader, directory):
    """etc/site.yaml's cluster: block; relative paths are relative to the file's directory."""
    shared_dir = os.path.join(directory, reader.get("shared_dir", required=True))
    primary = _database_host(reader.child("primary"))
    replicas_reader = reader.child("replicas")
    _host_names(replicas_reader, "replica")
    replicas = {str(name): _database_host(replicas_reader.child(name))
                for name in replicas_reader.mapping}
    services_reader = reader.child("services")
    if not services_reader.mapping:
        reader.fail("services", "missing mandatory key (at least one service host)")
    _host_names(services_reader, "service host")
    services = {}
    for name in services_reader.mapping:
        entry = services_reader.child(name)
        replica = entry.get("replica")
        if replica is not None and replica not in replicas:
            entry.fail("replica", f"names no replica under cluster.replicas: {replica!r}"
                       f" (there are: {', '.join(replicas) or 'none'})")
        services[str(name)] = ClusterService(str(name), _address(entry, "address"), replica)
    balancer = _balancer(reader.child("balancer"))
    port = _port(reader, "postgres_port", 5432)
    service_port = _port(reader, "service_port", CLUSTER_SERVICE_PORT)
    return Cluster(shared_dir=shared_dir, primary=primary, replicas=replicas, services=services,
                   balancer=balancer, postgres_port=port, service_port=service_port)


def _database_host(reader):
    pg_cluster = reader.get("pg_cluster", default="main")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", pg_cluster):
        reader.fail("pg_cluster", f"must be the name of a Debian PostgreSQL cluster (pg_lsclusters),"
                    f" not {pg_cluster!r}")
    return DatabaseHost(address=_address(reader, "address"), pg_cluster=pg_cluster)


def _port(reader, name, default):
    port = reader.get(name, int, default=default)
    if not 0 < port < 65536:
        reader.fail(name, f"must be a port number, not {port}")
    return port


def _balancer(reader):
    connect_timeout = reader.get("connect_timeout", float, default=CLUSTER_CONNECT_TIMEOUT)
    fail_timeout = reader.get("fail_timeout", int, default=CLUSTER_FAIL_TIMEOUT)
    interval = reader.get("health_interval", float, default=CLUSTER_HEALTH_INTERVAL)
    for name, value in (("connect_timeout", connect_timeout), ("fail_timeout", fail_timeout),
                        ("health_interval", interval)):
        if not 0 < value <= 600:
            reader.fail(name, f"must be a number of seconds between 0 and 600, not {value}")
    return Balancer(address=_address(reader, "address"), connect_timeout=connect_timeout,
                    fail_timeout=fail_timeout, health_interval=interval)


def _processing_settings(reader):
    """etc/site.yaml's processing: block, with ProcessingSettings' defaults for what it leaves
    out."""
    defaults, values = ProcessingSettings(), {}
    for key in ("max_running_jobs", "max_observations", "execution_duration"):
        value = reader.get(key, int, default=getattr(defaults, key))
        if value < 1:
            reader.fail(key, f"must be a whole number of at least 1, not {value}")
        values[key] = value
    lifetime = reader.get("job_lifetime_days", float, default=defaults.job_lifetime_days)
    if not lifetime > 0:
        reader.fail("job_lifetime_days", f"must be a positive number of days, not {lifetime}")
    values["job_lifetime_days"] = lifetime
    values["gammapy_python"] = reader.get("gammapy_python", str, default=defaults.gammapy_python)
    return ProcessingSettings(**values)


def _name_resolver(reader):
    """etc/site.yaml's name_resolver: block."""
    urls = reader.mapping.get("sesame_urls", list(SESAME_URLS))
    reader.used.add("sesame_urls")
    if urls is None:
        urls = []
    if not isinstance(urls, list) or not all(
            isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls):
        reader.fail("sesame_urls", f"must be a list of http(s) URLs, not {urls!r}")
    timeout = reader.get("timeout", float, default=SESAME_TIMEOUT)
    if not 0 < timeout <= 60:
        reader.fail("timeout", f"must be a number of seconds between 0 and 60, not {timeout}")
    return NameResolver(sesame_urls=tuple(urls), timeout=timeout)


def _server_settings(reader):
    """etc/site.yaml's server: block, with DaCHS's defaults for what it leaves out."""
    settings = dict(SERVER_DEFAULTS)
    processes = reader.get("processes")
    if processes is not None:
        if str(processes) != "auto" and not (str(processes).isdigit() and int(processes) >= 1):
            reader.fail("processes", f"must be auto or a number of at least 1, not {processes!r}")
        settings["processes"] = str(processes) if str(processes) == "auto" else int(processes)
    for key in ("sync_timeout", "async_slots", "sql_timeout"):
        value = reader.get(key, int)
        if value is not None:
            settings[key] = value
    size = reader.get("product_cache_gb", float)
    if size is not None:
        if not size > 0:
            reader.fail("product_cache_gb", f"must be a positive number of gigabytes, not {size}")
        settings["product_cache_gb"] = size
    return settings


def load_collections(path, project_root, data_dirs=None):
    """The collections of etc/collections.yaml: {name: CollectionConfig}.

    Relative data_dir values are relative to `project_root`; `data_dirs` ({name: directory}) replaces
    the data_dir of the named collections.
    """
    document = _read_yaml(path)
    collections = _Reader(path, document).child("collections")
    if not collections.mapping:
        raise ConfigError(path, "collections", "no collection defined")
    result = {}
    for name in collections.mapping:
        result[str(name)] = _collection(path, str(name), collections.child(name), project_root)
    for name, data_dir in (data_dirs or {}).items():
        if name not in result:
            raise ConfigError(path, "collections", f"no collection named {name!r}")
        result[name] = result[name].with_data_dir(data_dir)
    return result


def installed_collections_path(root_dir):
    """Where an instance keeps the collections it publishes (written by instance/, read by the
    code DaCHS runs: the grammar and the DataLink core)."""
    return os.path.join(root_dir, "etc", "collections.yaml")


def load_installed_collections(root_dir):
    """{name: CollectionConfig} of what an instance publishes (data_dir as the instance reads
    it), read again only when the file changes (every DataLink request asks for it)."""
    return read_when_changed(installed_collections_path(root_dir), _load_installed)


def _load_installed(path):
    # Paths in it are absolute already; relative ones would be the instance root's.
    return load_collections(path, os.path.dirname(os.path.dirname(path)))


def installed_collection(root_dir, schema):
    """The collection an instance publishes in schema (data_dir as the instance reads it)."""
    path = installed_collections_path(root_dir)
    collection = collection_with_schema(load_installed_collections(root_dir), schema)
    if collection is None:
        raise ConfigError(path, "collections", f"no collection has schema {schema!r}")
    return collection


def collection_with_schema(collections, schema):
    """The collection of {name: CollectionConfig} published in a database schema, or None."""
    return next((c for c in collections.values() if c.schema == schema), None)


def default_collection_name(path):
    """The name under `default:` in etc/collections.yaml (the only collection if there is one)."""
    document = _read_yaml(path)
    reader = _Reader(path, document)
    names = list(reader.child("collections").mapping)
    default = reader.get("default")
    if default is None and len(names) == 1:
        return str(names[0])
    if default is None:
        raise ConfigError(path, "default", "missing mandatory key (there are several collections)")
    if default not in names:
        raise ConfigError(path, "default", f"names no collection under collections: {default!r}")
    return default


def _collection(path, name, reader, project_root):
    data_dir = reader.get("data_dir", required=True)
    values = dict(
        name=name,
        schema=reader.get("schema", required=True),
        obs_collection=reader.get("obs_collection", required=True),
        data_dir=os.path.normpath(os.path.join(project_root, os.path.expanduser(data_dir))),
        hdu_index=reader.get("hdu_index", default="hdu-index.fits.gz"),
        obs_index=reader.get("obs_index"),
        data_rights=reader.get("data_rights", "data_rights"),
        obs_release_date=reader.get("obs_release_date", datetime.datetime),
        fov_radius=reader.get("fov_radius", float),
        site=_site_location(reader.child("site")),
        defaults=_defaults(reader.child("defaults")),
        observations=_observations(reader.child("observations")),
        prebuild=reader.get("prebuild", bool, default=False),
        on_disagreement=reader.get("on_disagreement", "on_disagreement", default="reject"),
    )
    for key in ("title", "description", "facility_name", "instrument_name", "creator_name",
                "bib_reference", "proposal_id", "target_class", "obs_title", "publisher_id",
                "reference_url", "licence", "licence_file", "obtain", "owner"):
        values[key] = reader.get(key)
    return CollectionConfig(extra=reader.extra(), **values)


def _site_location(reader):
    return SiteLocation(name=reader.get("name"), geo_lon=reader.get("geo_lon", float),
                        geo_lat=reader.get("geo_lat", float), geo_alt=reader.get("geo_alt", float))


def _defaults(reader):
    """Column defaults: the keys must be columns of the collection table (schemas/columns.yaml)."""
    from .columns import collection_column_names

    known = collection_column_names()
    for key in reader.mapping:
        if key not in known:
            reader.fail(key, "not a column of the collection table (schemas/columns.yaml)")
    return dict(reader.mapping)


def _observations(reader):
    overrides = {}
    for obs_id in reader.mapping:
        # an OBS_ID, or the key of one event subset of it: '103000133-GP-5' (ingest/datasets.py)
        number, dash, subset = str(obs_id).partition("-")
        try:
            key = str(int(number)) + dash + subset
        except (TypeError, ValueError):
            reader.fail(obs_id, "observation ids must be whole numbers (or <OBS_ID>-<event subset>)")
        entry = reader.child(obs_id)
        overrides[key] = ObservationOverride(
            data_rights=entry.get("data_rights", "data_rights"),
            obs_release_date=entry.get("obs_release_date", datetime.datetime),
            owner=entry.get("owner"), extra=entry.extra())
    return overrides
