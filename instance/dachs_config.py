"""What DaCHS reads of an instance, written from etc/: gavo.rc, the database profiles,
defaultmeta.txt, the installed collections file and the vocabularies in its cache; and the
`dachs` command line, run with the instance's settings.

Nothing here names a DaCHS or PostgreSQL version: the dachs command is found on PATH, the
PostgreSQL port is the cluster's (instance/database.py), and what differs between DaCHS versions
is asked of DaCHS itself (features(): `python3 -m dachs_ext.compat`).
"""

import getpass
import grp
import hashlib
import importlib.util
import json
import os
import quopri
import secrets
import shutil
import subprocess
import time

import yaml

from instance.files import write_if_changed
from rd import render

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Debian's Python, which DaCHS runs on (and which sees the gavo package).
DEBIAN_PYTHON = "/usr/bin/python3"
VOCABULARIES_DIR = os.path.join(PROJECT_ROOT, "etc", "vocabularies")
IVOA_VOCABULARY_ROOT = "http://www.ivoa.net/rdf/"
# Seconds a service host's read connection waits for its replica before it tries the primary.
READS_CONNECT_TIMEOUT = 3
# Fixed, so that re-rendering an unchanged configuration gives byte-identical files.
CREATION_DATE = "2026-11-21T00:00:00"


class DachsError(RuntimeError):
    """A dachs command failed; the message holds what DaCHS said."""


def dachs_command():
    path = shutil.which("dachs") or shutil.which("dachs", path="/usr/bin:/usr/local/bin")
    if not path:
        raise DachsError("the dachs command is not installed (bin/setup-system installs"
                         " gavodachs2-server)")
    return path


def run_dachs(env, *args, check=True, quiet=True):
    """Runs `dachs args...`; with check, a failure raises DachsError with DaCHS's own output.
    quiet: DaCHS's output is kept (shown only on failure) instead of passed through."""
    result = subprocess.run([dachs_command(), *args], env=env, text=True,
                            capture_output=quiet)
    if check and result.returncode != 0:
        said = ((result.stdout or "") + (result.stderr or "")).strip()
        raise DachsError(f"`dachs {' '.join(args)}` failed (exit status {result.returncode})"
                         + (f":\n{said[-4000:]}" if said else "; its output is above"))
    return result


def vocabulary_cache_name(name):
    """The file name DaCHS caches the IVOA vocabulary `name` under (gavo.utils.defuseFileName of
    its URL: quoted-printable, slashes as =2F)."""
    url = IVOA_VOCABULARY_ROOT + name
    return quopri.encodestring(url.encode("utf-8")).decode("ascii").replace("/", "=2F")


class DachsConfig:
    """The DaCHS configuration of one instance (instance.Instance)."""

    def __init__(self, inst):
        self.inst = inst
        self.root = inst.root

    @property
    def settings_file(self):
        return os.path.join(self.root, "gavo.rc")

    def env(self):
        env = dict(os.environ, GAVOSETTINGS=self.settings_file, PYTHONPATH=PROJECT_ROOT)
        # DaCHS runs on Debian's Python; a virtualenv's variables would confuse it.
        env.pop("VIRTUAL_ENV", None)
        if self.inst.service_host is not None:
            # What the DaCHS processes of a cluster's service host do differently
            # (dachs_ext/compat.py: TAP uploads on the primary, no zombie check by local PIDs).
            env["HEOBS_CLUSTER_HOST"] = self.inst.host
            # libpq: seconds before a read connection gives up on a replica that does not
            # answer at all (a host gone) and tries the primary.
            env["PGCONNECT_TIMEOUT"] = str(READS_CONNECT_TIMEOUT)
        return env

    def dachs(self, *args, check=True, quiet=True):
        return run_dachs(self.env(), *args, check=check, quiet=quiet)

    def features(self):
        """What the installed DaCHS is and does (dachs_ext/compat.py); raises DachsError, with
        every incompatibility found, if DaCHS or Twisted lacks what the service needs.

        Asking costs a DaCHS start-up (2 s, most of a re-run of an unchanged ingest): the answer
        is kept in the instance's state, for as long as the installed DaCHS, Twisted and astropy
        and dachs_ext/compat.py are the same files."""
        cached = os.path.join(self.root, "state", "dachs-features.json")
        key = _features_key()
        try:
            with open(cached, encoding="utf-8") as f:
                kept = json.load(f)
            if key is not None and kept.get("key") == key:
                return kept["features"]
        except (OSError, ValueError):
            pass
        features = ask_features(self.env())
        if key is not None:
            os.makedirs(os.path.dirname(cached), exist_ok=True)
            write_if_changed(cached, json.dumps({"key": key, "features": features}))
        return features

    # ---------------------------------------------------------------- the files
    @property
    def secrets_dir(self):
        """Where the instance's passwords are kept: its root, or on a cluster the shared
        directory, where every host finds those the primary made its roles with."""
        cluster = self.inst.cluster
        if cluster is None:
            return os.path.join(self.root, "secrets")
        return os.path.join(cluster.shared_dir, "secrets", self.inst.name)

    def secret(self, name):
        """A password generated once per instance and kept in secrets_dir."""
        path = os.path.join(self.secrets_dir, name)
        if not os.path.exists(path) and self.inst.host not in (None, "primary"):
            raise DachsError(f"no password {name} in {self.secrets_dir}: the primary makes them"
                             " (`make serve ROLE=primary`), in the cluster's shared_dir, which"
                             " this host must mount at the same path")
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            write_if_changed(path, secrets.token_urlsafe(24))
        with open(path, encoding="utf-8") as f:
            return f.read().strip()

    def gavo_rc(self):
        site, limits = self.inst.site, self.inst.site.server
        group = grp.getgrgid(os.getgid()).gr_name
        return "\n".join([
            "# Generated by instance/ from etc/site.yaml; do not edit.",
            "[general]",
            f"rootDir: {self.root}",
            # On a cluster, the async jobs' files are where every service host finds them (a job
            # is polled and its result fetched through any host: README, "Several hosts").
            *([f"uwsWD: {self.inst.uws_dir}"] if self.inst.cluster else []),
            f"gavoGroup: {group}",
            f"group: {group}",
            "",
            "[web]",
            f"serverURL: {self.inst.server_url}",
            # Behind nginx, DaCHS sees plain HTTP even where clients use HTTPS: every URL it
            # writes is serverURL's, not one guessed from the request (DaCHS's advice for a
            # reverse proxy).
            "adaptProtocol: False",
            f"serverPort: {self.inst.port}",
            f"bindAddress: {self.inst.bind_address}",
            f"sitename: {site.site_name}",
            # The server runs as whoever starts it: its state lives in the project's var/.
            f"user: {getpass.getuser()}",
            f"adminpasswd: {self.secret('adminpasswd')}",
            f"realm: {site.site_short_name}",
            f"sqlTimeout: {limits['sql_timeout']}",
            # Loads the project's DaCHS modules as a server starts: the bundle core's (and the
            # compat hooks), and through //tap's userconfig.rd the ADQL functions'
            # (dachs_ext/compat.py, adql_function_loader).
            "preloadRDs: bundle/q, //tap",
            "",
            "[ivoa]",
            f"authority: {site.authority}",
            "",
            "[async]",
            # These limits, and why they are what they are: etc/site.yaml, server.
            f"defaultExecTimeSync: {limits['sync_timeout']}",
            f"maxTAPRunning: {limits['async_slots']}",
            # The processing service's jobs running at once (etc/site.yaml, processing).
            f"maxUserUWSRunningDefault: {site.processing.max_running_jobs}",
            "",
            "[db]",
            # Only the instance's own profiles, never ~/.gavo.
            f"profilePath: {os.path.join(self.root, 'etc')}",
            "",
        ])

    def role_password(self, profile):
        """The password of the instance's database role of a profile (admin, trusted, untrusted)."""
        return self.secret(profile)

    def profiles(self):
        """DaCHS's database profiles. On a service host of a cluster, `untrustedquery` (every
        ADQL query, sync and async, each on a connection of its own) reads on the host's
        replica, and on the primary when the replica does not answer (libpq tries the hosts in
        turn); `feed` (admin: users, groups) and `trustedquery` (the UWS job table, which even a
        sync TAP query writes, and the cone searches, DataLink and metadata on pooled
        connections) use the primary (README, "Several hosts": what DaCHS writes)."""
        if self.inst.service_host is None:
            dsn = f"database = {self.inst.dbname}\nhost = localhost\nport = {self.inst.db.port}\n"
            reads = "dsn"
        else:
            cluster = self.inst.cluster
            dsn = (f"database = {self.inst.dbname}\nhost = {cluster.primary_address}\n"
                   f"port = {cluster.postgres_port}\n")
            reads = "reads"
        files = {"dsn": dsn}
        if reads == "reads":
            files["reads"] = (f"database = {self.inst.dbname}\n"
                              f"host = {','.join(self.inst.cluster.reads_address(self.inst.host))}\n"
                              f"port = {self.inst.cluster.postgres_port}\n")
        profiles = [("feed", "admin", "dsn"), ("trustedquery", "trusted", "dsn"),
                    ("untrustedquery", "untrusted", reads)]
        if reads == "reads":
            # A hot standby refuses the temporary tables DaCHS makes of TAP uploads: a query
            # with uploads runs on the primary (dachs_ext/compat.py, UPLOAD_PROFILE).
            profiles.append(("uploadquery", "untrusted", "dsn"))
        for fname, profile, include in profiles:
            files[fname] = (f"include {include}\nuser = {self.inst.role(profile)}\n"
                            f"password = {self.role_password(profile)}\n")
        return files

    def passfile(self):
        """libpq's password file of a service host (for the exporter's database metrics and
        health checks, which connect as the trusted role without a password on the command
        line): one line per database host."""
        cluster, user = self.inst.cluster, self.inst.role("trusted")
        hosts = [cluster.primary_address, *(r.address for r in cluster.replicas.values())]
        return "".join(f"{host}:{cluster.postgres_port}:{self.inst.dbname}:{user}:"
                       f"{self.secret('trusted')}\n" for host in hosts)

    @property
    def passfile_path(self):
        return os.path.join(self.root, "etc", "pgpass")

    def defaultmeta(self):
        site = self.inst.site
        return "\n".join([
            f"publisher: {site.publisher}",
            f"contact.name: {site.contact['name']}",
            f"contact.email: {site.contact['email']}",
            f"contact.address: {site.contact['address']}",
            f"creator.name: {site.publisher}",
            f"authority.creationDate: {CREATION_DATE}",
            f"authority.title: {site.site_name} authority",
            f"authority.shortName: {site.site_short_name}",
            f"authority.description: The authority for the resources of the {site.site_name}.",
            f"authority.referenceURL: {self.inst.server_url}/",
            f"site.description: {site.site_description}",
            "_noresultwarning: Your query did not match any observation.",
            "",
        ])

    def installed_collections(self):
        """The collections file the DaCHS side reads (dachs_ext/): the configured one with every
        data_dir resolved to where this instance reads it."""
        with open(self.inst.collections_file, encoding="utf-8") as f:
            document = yaml.safe_load(f)
        for name, collection in self.inst.collections.items():
            document["collections"][name]["data_dir"] = collection.data_dir
        return ("# Generated by instance/ from "
                + os.path.relpath(self.inst.collections_file, PROJECT_ROOT)
                + "; do not edit.\n" + yaml.safe_dump(document, sort_keys=False,
                                                      allow_unicode=True))

    def rendered(self):
        """{path: text} of the files made from the configuration (etc/site.yaml, the collections
        file): gavo.rc, the installed collections file, defaultmeta.txt. (The profiles hold the
        machine's: the cluster's port and the roles' passwords.)"""
        from ingest import config

        return {self.settings_file: self.gavo_rc(),
                config.installed_collections_path(self.root): self.installed_collections(),
                os.path.join(self.root, "etc", "defaultmeta.txt"): self.defaultmeta()}

    def write(self):
        """Writes every file; returns True if any changed."""
        changed = False
        for path, content in self.rendered().items():
            changed |= write_if_changed(path, content)
        etc = os.path.join(self.root, "etc")
        for fname, content in self.profiles().items():
            changed |= write_if_changed(os.path.join(etc, fname), content)
        if self.inst.cluster is not None:
            self.link_derived_products()
        if self.inst.service_host is not None:
            write_if_changed(self.passfile_path, self.passfile())
            os.chmod(self.passfile_path, 0o600)  # libpq ignores a password file others can read
        self.install_vocabularies()
        return changed

    def link_derived_products(self):
        """rootDir/derived, where DaCHS keeps and serves the processing service's products, as
        a link to the cluster's shared directory (Instance.derived_dir)."""
        link, target = os.path.join(self.root, render.DERIVED_SCHEMA), self.inst.derived_dir
        os.makedirs(self.root, exist_ok=True)
        os.makedirs(target, exist_ok=True)
        if os.path.islink(link) and os.readlink(link) == target:
            return
        if os.path.isdir(link) and not os.path.islink(link):
            if os.listdir(link):
                raise DachsError(f"{link} holds products made without the cluster: move them"
                                 f" into {target} (where every host of the cluster finds them)")
            os.rmdir(link)  # an empty one left by a single-host run
        elif os.path.lexists(link):
            os.unlink(link)
        os.symlink(target, link)

    def install_vocabularies(self):
        """Copies etc/vocabularies/ where DaCHS caches the IVOA vocabularies it validates
        metadata against, so that `dachs pub` and `dachs val` work offline (DaCHS 2.7 needs
        the UAT, 2.11 also product-type, messenger and the VOResource ones)."""
        with open(os.path.join(VOCABULARIES_DIR, "vocabularies.yaml"), encoding="utf-8") as f:
            shipped = yaml.safe_load(f)
        for name, fname in shipped.items():
            with open(os.path.join(VOCABULARIES_DIR, fname), encoding="utf-8") as f:
                content = f.read()
            path = os.path.join(self.root, "cache", vocabulary_cache_name(name))
            write_if_changed(path, content)
            # DaCHS tries to download a cached vocabulary again once it is some months old.
            if time.time() - os.path.getmtime(path) > 86400 * 30:
                os.utime(path)


def ask_features(env):
    """What the installed DaCHS is and does, asked of it (`python3 -m dachs_ext.compat`)."""
    result = subprocess.run([DEBIAN_PYTHON, "-m", "dachs_ext.compat"], env=env,
                            cwd=PROJECT_ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise DachsError("the installed DaCHS cannot run this service:\n"
                         + (result.stderr or result.stdout).strip()[-4000:])
    return json.loads(result.stdout)


def _features_key():
    """What features() depends on, without importing DaCHS: the installed packages' files (a
    Debian upgrade replaces them) and compat.py's text; None where a package cannot be found."""
    key = []
    for package in ("gavo", "twisted", "astropy"):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.origin:
            return None
        st = os.stat(spec.origin)
        key.append([spec.origin, st.st_mtime_ns, st.st_size])
    with open(os.path.join(PROJECT_ROOT, "dachs_ext", "compat.py"), "rb") as f:
        key.append(hashlib.sha256(f.read()).hexdigest())
    return key
