"""Backups of an instance: one archive, from which instance/restore.py makes the same service on
another machine (`make backup`, `make restore`).

An archive is a tar of:
- manifest.json: what it is (format, instance, date, the versions of DaCHS, PostgreSQL, pgSphere,
  q3c, the project's commit and ingest code), the database's locale, each published collection
  with where its data were and their fingerprint, the table definitions the rows were made for,
  and the sha256 of every other member;
- database.dump: pg_dump of the instance's database in custom format, every schema of it:
  DaCHS's own (dc: users and groups, registry records, products; tap_schema; ivoa), the
  collections' tables, the service's functions and types; but not the rows of the UWS job tables
  (async jobs: their parameters and results are files in the instance's directory, not kept);
- privileges.json: the owners, grants and roles of the database (instance/privileges.py);
- configuration/site.yaml and configuration/collections.yaml: what the instance was made from.

Not in it, on purpose: the data files (the data manager's, on storage of their own; the manifest
says where they were and what they were, and a restore checks them), the product cache (built
again from the data files on request, or by `make ingest PREBUILD=1`), and the instance's
directory var/<name> (made again from the configuration), its passwords (a restored instance makes
its own), logs and async job files.

A backup is taken while no ingest runs (it holds the instance's publication lock), from one
PostgreSQL snapshot (pg_dump's); the service goes on answering meanwhile.
"""

import datetime
import fcntl
import getpass
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time

from instance import PROFILES, privileges
from instance.database import client_command
from instance.files import read_text
from instance.publication import Publisher, code_version
from rd import render

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMAT = "he-obscore-backup/1"
MANIFEST = "manifest.json"
DUMP = "database.dump"
PRIVILEGES = "privileges.json"
SITE = "configuration/site.yaml"
COLLECTIONS = "configuration/collections.yaml"
# The processing service's products (Instance.derived_dir): files its rows in ivoa.obscore
# name, made once by a job and not from the data files.
PRODUCTS = "products.tar"
MEMBERS = (DUMP, PRIVILEGES, SITE, COLLECTIONS, PRODUCTS)
MANIFEST_KEYS = ("instance", "created", "database", "port", "server_url", "data", "versions",
                 "collections", "tables", "members")
# The tables of DaCHS's UWS jobs (async TAP, DataLink): those with both columns.
# (quote_ident: as pg_dump's table patterns take them)
UWS_TABLES_QUERY = """
SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM (
    SELECT table_schema, table_name FROM information_schema.columns WHERE column_name = 'jobid'
    INTERSECT
    SELECT table_schema, table_name FROM information_schema.columns WHERE column_name = 'phase'
) AS uws ORDER BY 1
"""


class BackupError(RuntimeError):
    """A backup cannot be made or read; the message says why and what to do."""


def log(msg):
    print(f"[backup] {msg}", flush=True)


def default_path(inst):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return os.path.join(PROJECT_ROOT, "var", "backups", f"{inst.name}-{stamp}.tar")


# ---------------------------------------------------------------- writing
def write_backup(inst, out=None, data_dir=None):
    """Writes the archive of the instance (instance.Instance) to out (default: var/backups/
    <name>-<UTC time>.tar); returns its path. data_dir: the DATA the instance is served with,
    if any (a restore uses it again)."""
    started = time.monotonic()
    out = os.path.abspath(out or default_path(inst))
    if not inst.db.exists():
        raise BackupError(f"instance {inst.name} has no database {inst.dbname}: nothing to back"
                          " up (is INSTANCE right? `make serve` makes the serve instance)")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    os.makedirs(os.path.join(inst.root, "state"), exist_ok=True)
    with open(os.path.join(inst.root, "state", "publish.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # no ingest while the backup is taken
        check_applied(inst)
        work = tempfile.mkdtemp(prefix=".backup-", dir=os.path.dirname(out))
        try:
            members = _write_members(inst, work)
            manifest = make_manifest(inst, members, data_dir)
            _write_tar(out, work, manifest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    log(f"wrote {out} ({os.path.getsize(out) / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s:"
        f" database {inst.dbname}, {len(manifest['collections'])} published collection(s),"
        f" {manifest['database']['users']} DaCHS user(s); it holds the users' passwords:"
        " keep it as safe as the database")
    return out


def check_applied(inst):
    """BackupError unless the instance serves what its configuration says: a backup holds the
    configuration, and a restore renders the service from it."""
    published = inst.published()
    rendered = {**inst.dachs_config.rendered(), **inst.rds.rendered()}
    stale = sorted(os.path.relpath(path, PROJECT_ROOT) for path, text in rendered.items()
                   if read_text(path) != text)
    if stale:
        raise BackupError(
            f"the configuration ({os.path.relpath(inst.site_file, PROJECT_ROOT)},"
            f" {os.path.relpath(inst.collections_file, PROJECT_ROOT)}, PORT, DATA) is not what"
            f" instance {inst.name} serves: it would change {', '.join(stale)}. Back up with the"
            " PORT and DATA it is served with, or apply the configuration first (`make ingest`)")
    redefined = [c.name for c in published if inst.rds.table_redefined(c)]
    if redefined:
        raise BackupError(f"the tables of {', '.join(redefined)} were made for another"
                          " definition than this checkout's: `make ingest` re-creates them;"
                          " back up after it")


def _write_members(inst, work):
    """Writes the members into work; returns {member: {sha256, bytes}}."""
    dump = os.path.join(work, DUMP)
    command = client_command("pg_dump", inst.db.pg_cluster) + [
        "--format=custom", "--file", dump, "--dbname", inst.dbname]
    command += ["--exclude-table-data=" + table for table, in inst.db.query(UWS_TABLES_QUERY)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_dump of {inst.dbname} failed:\n{result.stderr.strip()[-3000:]}")
    recorded = privileges.record(inst.db, {p: inst.role(p) for p in PROFILES},
                                 getpass.getuser())
    with open(os.path.join(work, PRIVILEGES), "w", encoding="utf-8") as f:
        json.dump(recorded, f, indent=1)
    os.makedirs(os.path.join(work, os.path.dirname(SITE)))
    shutil.copyfile(inst.site_file, os.path.join(work, SITE))
    shutil.copyfile(inst.collections_file, os.path.join(work, COLLECTIONS))
    with tarfile.open(os.path.join(work, PRODUCTS), "w", format=tarfile.PAX_FORMAT) as tar:
        if os.path.isdir(inst.derived_dir):
            tar.add(inst.derived_dir, arcname=".")
    return {member: file_digest(os.path.join(work, member)) for member in MEMBERS}


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return {"sha256": h.hexdigest(), "bytes": os.path.getsize(path)}


def make_manifest(inst, members, data_dir=None):
    db = inst.db
    version_num, version = db.query("SELECT current_setting('server_version_num')::int,"
                                    " current_setting('server_version')")[0]
    pg_dump = subprocess.run(client_command("pg_dump", inst.db.pg_cluster) + ["--version"],
                             capture_output=True, text=True).stdout.strip()
    return {
        "format": FORMAT,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "instance": inst.name,
        "database": {
            "name": inst.dbname,
            "locale": list(db.query("SELECT datcollate, datctype FROM pg_database"
                                    " WHERE datname = current_database()")[0]),
            "users": db.value("SELECT count(*) FROM dc.users"),
            "uws_tables_without_rows": [table for table, in db.query(UWS_TABLES_QUERY)],
        },
        "port": inst.port,
        "server_url": inst.server_url,
        "data": data_dir and os.path.abspath(data_dir),
        "versions": {
            "dachs": inst.features()["dachs"],
            "postgresql": version,
            "postgresql_major": version_num // 10000,
            "pg_dump": pg_dump,
            "extensions": {name: {"version": version, "schema": schema} for name, version, schema
                           in db.query("SELECT extname, extversion, extnamespace::regnamespace::text"
                                       " FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1")},
            "project_commit": project_commit(),
            "ingest_code": code_version(),
        },
        "collections": {c.name: _collection_entry(inst, c) for c in inst.published()},
        "tables": {**{c.schema: inst.rds.table_signature(c) for c in inst.published()},
                   render.DERIVED_SCHEMA: inst.rds.derived_signature()},
        "members": members,
    }


def _collection_entry(inst, collection):
    """Where a published collection's data were, and their fingerprint: the digest of its
    published datasets' fingerprints (the ingest's: index rows, file names, sizes, times)."""
    fingerprints = Publisher(inst).published_fingerprints(collection)
    digest = hashlib.sha256(json.dumps(sorted(fingerprints.items())).encode()).hexdigest()
    return {"schema": collection.schema, "data_dir": collection.data_dir,
            "datasets": len(fingerprints), "fingerprint": digest}


def project_commit():
    """The checkout's commit, with "+modified" if its tracked files differ from it."""
    def git(*args):
        return subprocess.run(["git", "-C", PROJECT_ROOT, *args], capture_output=True, text=True)
    head = git("rev-parse", "HEAD")
    if head.returncode != 0:
        return "unknown (not a git checkout)"
    modified = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
    return head.stdout.strip() + ("+modified" if modified else "")


def _write_tar(out, work, manifest):
    """The archive, written under a temporary name and renamed: never half an archive at out.
    Readable by its owner only (dc.users holds the DaCHS users' passwords)."""
    partial = out + ".part"
    with open(partial, "wb") as raw:
        os.fchmod(raw.fileno(), 0o600)
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            text = json.dumps(manifest, indent=1, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(text), int(time.time()), 0o600
            with tempfile.TemporaryFile() as f:
                f.write(text)
                f.seek(0)
                tar.addfile(info, f)
            for member in MEMBERS:
                tar.add(os.path.join(work, member), arcname=member, recursive=False)
    os.replace(partial, out)


# ---------------------------------------------------------------- reading
class Archive:
    """A backup archive, checked whole before anything is done with it: its manifest and format,
    and every member against its sha256. Its members are extracted into directory."""

    def __init__(self, path, directory):
        self.path, self.directory = path, directory
        if not os.path.isfile(path):
            raise BackupError(f"{path}: no such file")
        try:
            with tarfile.open(path, mode="r:") as tar:
                self.manifest = self._manifest(tar)
                for member in MEMBERS:
                    self._extract(tar, member)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BackupError(f"{path} is damaged or not a backup archive of this service"
                              f" (reading it as a tar file: {exc})") from None

    def _manifest(self, tar):
        try:
            text = tar.extractfile(MANIFEST).read()
        except KeyError:
            raise BackupError(f"{self.path} is not a backup archive of this service (it has no"
                              f" {MANIFEST})") from None
        try:
            manifest = json.loads(text)
        except ValueError as exc:
            raise BackupError(f"{self.path} is damaged: its {MANIFEST} is not JSON ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            found = manifest.get("format") if isinstance(manifest, dict) else None
            raise BackupError(f"{self.path} is a backup of format {found!r}; this checkout reads"
                              f" {FORMAT!r} (restore it with the project version that made it)")
        missing = [key for key in MANIFEST_KEYS if key not in manifest]
        if missing:
            raise BackupError(f"{self.path} is damaged: its {MANIFEST} lacks {', '.join(missing)}")
        return manifest

    def _extract(self, tar, member):
        expected = self.manifest.get("members", {}).get(member)
        try:
            source = tar.extractfile(member)
        except KeyError:
            source = None
        if source is None or expected is None:
            raise BackupError(f"{self.path} is damaged: it lacks {member}")
        target = self.member(member)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with source, open(target, "wb") as f:
            shutil.copyfileobj(source, f)
        found = file_digest(target)
        if found != expected:
            raise BackupError(f"{self.path} is damaged: {member} has {found['bytes']} bytes of"
                              f" sha256 {found['sha256'][:16]}..., the manifest says"
                              f" {expected['bytes']} bytes of {expected['sha256'][:16]}...")

    def member(self, name):
        """The path of an extracted member."""
        return os.path.join(self.directory, name)

    def privileges(self):
        with open(self.member(PRIVILEGES), encoding="utf-8") as f:
            return json.load(f)
