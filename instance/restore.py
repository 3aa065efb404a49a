"""Restoring a backup (instance/backup.py) as an instance, on a fresh machine (after `make setup`)
or beside other instances: `make restore FROM=<archive> [INSTANCE=<name>] [FORCE=1]`.

In this order, and nothing is changed before the checks (1-4) have passed:
1. the archive is read whole and checked: its format, every member against its sha256;
2. this machine can take it: its PostgreSQL is not older than the archive's (pg_restore reads
   older archives, not newer ones), nor its DaCHS (DaCHS upgrades its tables, never back), and
   pgSphere and q3c are installed;
3. the data of every published collection are where the archive's configuration reads them (the
   data files are not in a backup);
4. no instance of that name is here (var/<name>, its database, its roles), unless forced, and
   never one that is being served;
5. the configuration goes into etc/ (a file it replaces is kept as <file>.before-restore);
6. the roles are made as they were (with this instance's own passwords) and the database with the
   archive's locale; the dump is restored without owners and grants, as the superuser (pg_restore
   in a process per core: most of its time is building the indexes), then they are given back
   (instance/privileges.py) and the tables ANALYZEd (a dump holds no planner statistics);
   `dachs upgrade` if the archive's DaCHS is older;
7. the DaCHS root var/<name> is written from the configuration (gavo.rc, the RDs); what DaCHS
   rendered into the database is rendered again where this machine differs (the server URL in
   the ObsCore view, DaCHS's own tables and metadata: refresh_dachs_tables); the restored tables
   are recorded as made for their RDs if this checkout defines them as the archive's did, and the
   registry records are published again, with the coverage computed from the restored rows;
8. per collection, what the next `make serve` would read again: datasets whose files (or ingest
   code) differ from those their rows were read from.
Nothing is ingested. A failure after step 4 removes what was made (the roles, the database, the
DaCHS root) and puts the configuration back.
"""

import getpass
import json
import os
import re
import subprocess
import tarfile
import tempfile
import time

import psycopg2
from psycopg2 import sql

from ingest.collection import CollectionReader
from ingest.config import ConfigError
from ingest.errors import IngestError
from instance import PROFILES, Instance, server
from instance import privileges
from instance.backup import COLLECTIONS, DUMP, PRODUCTS, SITE, Archive, BackupError
from instance.dachs_config import ask_features
from instance.database import Database, client_command, ensure_superuser_role
from instance.files import read_text, write_if_changed
from instance.publication import Publisher, code_version, fingerprint_base, make_plan
from rd import render

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGURATION = ((SITE, "site.yaml"), (COLLECTIONS, "collections.yaml"))
# pg_restore's processes: the indexes of different tables are built at once (10^4 observations
# and HAWC's GTIs on 2 busy cores: 29 s with 2, 38 s with 1).
RESTORE_JOBS = max(1, min(os.cpu_count() or 1, 4))


def log(msg):
    print(f"[restore] {msg}", flush=True)


def restore(archive_path, name=None, port=None, data_dir=None, etc_dir=None, force=False):
    """Restores the archive as instance name (default: the archive's), serving on port (default:
    the archive's) with data_dir for the default collection (default: the archive's DATA, if
    any), its configuration written into etc_dir (default: the project's etc/); returns the
    Instance and the data report ({collection: {unchanged, changed, new, withdrawn,
    missing_files}})."""
    started = time.monotonic()
    etc_dir = os.path.abspath(etc_dir or os.path.join(PROJECT_ROOT, "etc"))
    with tempfile.TemporaryDirectory(prefix="heobs-restore-") as work:
        archive = Archive(os.path.abspath(archive_path), work)
        manifest = archive.manifest
        name, port = name or manifest["instance"], port or manifest["port"]
        data_dir = data_dir or manifest["data"]
        staged = _instance(name, port, data_dir, archive.member(COLLECTIONS), archive.member(SITE))
        check_machine(staged, manifest)
        check_data(staged, manifest)
        check_target(staged, force)
        seconds = {"checks": time.monotonic() - started}
        replaced = write_configuration(archive, etc_dir)
        inst = None
        try:
            inst = _instance(name, port, data_dir, os.path.join(etc_dir, "collections.yaml"),
                             os.path.join(etc_dir, "site.yaml"))
            report = _make(inst, archive, seconds)
        except BaseException as exc:
            if inst is not None:
                inst.destroy()
            _put_back(replaced)
            if isinstance(exc, psycopg2.Error):
                raise BackupError(f"PostgreSQL refused the restore (what it made is removed):"
                                  f" {str(exc).strip()}") from None
            raise
    log(f"restored instance {name} from {archive_path} in {time.monotonic() - started:.1f} s ("
        + ", ".join(f"{stage} {s:.1f} s" for stage, s in seconds.items()) + "):"
        f" database {inst.dbname} ({len(manifest['collections'])} published collection(s),"
        f" {manifest['database']['users']} DaCHS user(s)), its DaCHS root var/{name},"
        f" serving {inst.server_url}. Nothing was ingested.")
    return inst, report


def _make(inst, archive, seconds):
    """Steps 6-8 (module docstring), each one's time in seconds; returns the data report."""
    def timed(stage, function, *args):
        started = time.monotonic()
        result = function(*args)
        seconds[stage] = time.monotonic() - started
        return result

    timed("database", restore_database, inst, archive)
    redefined = timed("DaCHS root and registry", make_root, inst, archive.manifest,
                      archive.member(PRODUCTS))
    return timed("data check", data_report, inst, archive.manifest, redefined)


def _instance(name, port, data_dir, collections_file, site_file):
    try:
        return Instance(name, port=port, data_dir=data_dir, collections_file=collections_file,
                        site_file=site_file)
    except ConfigError as exc:
        raise BackupError(f"this checkout cannot read the archive's configuration: {exc}") from None


def _version(text):
    return tuple(int(part) for part in text.split(".") if part.isdigit())


# ---------------------------------------------------------------- checks (nothing changed yet)
def check_machine(inst, manifest):
    """BackupError unless this machine's PostgreSQL, DaCHS and extensions can take the archive."""
    versions = manifest["versions"]
    ensure_superuser_role()  # on a fresh machine, even looking needs it
    postgres = Database("postgres")
    local_major = postgres.value("SELECT current_setting('server_version_num')::int") // 10000
    if versions["postgresql_major"] > local_major:
        raise BackupError(
            f"the archive is a dump of PostgreSQL {versions['postgresql']} ({versions['pg_dump']});"
            f" this machine's cluster is PostgreSQL {local_major}, whose pg_restore cannot read an"
            f" archive of a newer pg_dump: restore onto PostgreSQL {versions['postgresql_major']}"
            " or newer")
    local_dachs = ask_features(inst.env())["dachs"]
    if _version(versions["dachs"]) > _version(local_dachs):
        raise BackupError(
            f"the archive's database is DaCHS {versions['dachs']}'s; this machine has DaCHS"
            f" {local_dachs}, which cannot serve the tables of a newer DaCHS: restore onto DaCHS"
            f" {versions['dachs']} or newer")
    available = dict(postgres.query("SELECT name, default_version FROM pg_available_extensions"))
    missing = [name for name in versions["extensions"] if name not in available]
    if missing:
        raise BackupError(f"PostgreSQL {local_major} here lacks the extension(s)"
                          f" {', '.join(missing)} the archive's database uses"
                          " (bin/setup-system installs pgSphere and q3c)")


def check_data(inst, manifest):
    """BackupError unless every published collection's data directory is where the restored
    configuration reads it."""
    problems = []
    for name, entry in manifest["collections"].items():
        collection = inst.collections.get(name)
        if collection is None:
            problems.append(f"{name}: published in the archive's database, but not in its"
                            " configuration")
        elif not os.path.exists(collection.hdu_index_path):
            moved = "" if collection.data_dir == entry["data_dir"] else \
                f", which the backup read from {entry['data_dir']}"
            problems.append(f"{name}: no data at {collection.hdu_index_path} ({entry['datasets']}"
                            f" datasets{moved})")
    if problems:
        raise BackupError(
            "the data of the published collections are missing:\n  " + "\n  ".join(problems)
            + "\nA backup holds no data files: mount or copy them where the configuration reads"
            " them (or give the default collection's with DATA=<dir>), then restore again")


def check_target(inst, force):
    """BackupError if the instance is here and not to be replaced; with force, removes it (unless
    it is being served)."""
    found = []
    if os.path.exists(inst.root):
        found.append(os.path.relpath(inst.root, PROJECT_ROOT))
    if inst.db.exists():
        found.append(f"database {inst.dbname}")
    roles = Database("postgres").query("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)",
                                       ([inst.role(p) for p in PROFILES],))
    found += [f"role {role}" for role, in roles]
    if not found:
        return
    if not force:
        raise BackupError(f"instance {inst.name} exists here ({', '.join(found)}): a restore"
                          " does not overwrite it unless asked (FORCE=1, or --force), which"
                          " replaces it with the archive's")
    serving = serving_processes(inst)
    if serving:
        raise BackupError(f"instance {inst.name} is being served (process(es)"
                          f" {', '.join(map(str, serving))}): stop it before replacing it")
    log(f"replacing instance {inst.name} ({', '.join(found)})")
    inst.destroy()


def serving_processes(inst):
    """The PIDs of the running processes recorded as serving the instance (instance/server.py)."""
    directory = os.path.join(inst.root, "server")
    pids = []
    for port in os.listdir(directory) if os.path.isdir(directory) else []:
        text = read_text(os.path.join(server.server_directory(inst.root, port), "serving.json"))
        document = json.loads(text) if text else {}
        for identity in [document.get("supervisor")] + document.get("processes", []):
            if identity and server.is_running(identity):
                pids.append(identity[0])
    return pids


# ---------------------------------------------------------------- making it
def write_configuration(archive, etc_dir):
    """Writes the archive's configuration files into etc_dir; returns {path: the text it
    replaced, or None}."""
    replaced = {}
    for member, fname in CONFIGURATION:
        target = os.path.join(etc_dir, fname)
        with open(archive.member(member), encoding="utf-8") as f:
            text = f.read()
        before = read_text(target)
        if before == text:
            continue
        if before is not None:
            write_if_changed(target + ".before-restore", before)
            log(f"{target}: replaced by the archive's (the previous one is {fname}.before-restore)")
        write_if_changed(target, text)
        replaced[target] = before
    return replaced


def _put_back(replaced):
    for path, before in replaced.items():
        if before is None:
            os.unlink(path)
        else:
            write_if_changed(path, before)
            os.unlink(path + ".before-restore")


def restore_database(inst, archive):
    """The roles, the database and its rows, owners and grants, as the archive has them."""
    manifest, recorded = archive.manifest, archive.privileges()
    superuser = getpass.getuser()
    roles = {p: inst.role(p) for p in PROFILES}
    passwords = {p: inst.dachs_config.role_password(p) for p in PROFILES}
    try:
        with Database("postgres").transaction() as cursor:
            privileges.create_roles(cursor, recorded, roles, passwords, superuser)
        inst.db.create(locale=manifest["database"]["locale"])
        with Database("postgres").transaction() as cursor:
            privileges.grant_database(cursor, recorded, inst.dbname, roles, superuser)
        provided = make_extensions(inst, manifest, recorded)
    except psycopg2.Error as exc:
        raise BackupError(f"PostgreSQL refused the roles, the database or the extensions of"
                          f" {inst.name}: {str(exc).strip()}") from None
    run_pg_restore(inst, archive, provided)
    try:
        with inst.db.transaction() as cursor:
            privileges.replay_objects(cursor, recorded, roles, superuser, skip=provided)
        inst.db.query("ANALYZE")
    except psycopg2.Error as exc:
        raise BackupError(f"PostgreSQL refused the owners or grants of the archive's database:"
                          f" {str(exc).strip()}") from None


def run_pg_restore(inst, archive, leave_out):
    """The archive's database into the new one, without owners and grants and without the objects
    in leave_out."""
    log(f"restoring the database {inst.dbname} (pg_restore)")
    result = subprocess.run(client_command("pg_restore", inst.db.pg_cluster) + [
        "--no-owner", "--no-acl", "--exit-on-error", f"--jobs={RESTORE_JOBS}",
        "--use-list", restore_list(archive, leave_out),
        "--dbname", inst.dbname, archive.member(DUMP)], capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_restore of the archive's database failed (what it made is"
                          f" removed):\n{result.stderr.strip()[-3000:]}")


def make_extensions(inst, manifest, recorded):
    """Makes the archive's extensions (pgSphere, q3c) in the new database, in this PostgreSQL's
    version, before the restore; returns the recorded objects they define here
    (privileges.extension_members), which the restore leaves out."""
    for name, extension in manifest["versions"]["extensions"].items():
        inst.db.query(sql.SQL("CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}").format(
            sql.Identifier(name), sql.Identifier(extension["schema"])))
    provided = privileges.extension_members(inst.db, recorded)
    if provided:
        log(f"{len(provided)} functions, operators or types the archive's DaCHS defined are"
            " defined by the extensions here: the extensions' are kept ("
            + ", ".join(obj["identity"] for obj in provided[:3]) + ", ...)")
    return provided


def restore_list(archive, leave_out):
    """The file of pg_restore's --use-list: the archive's table of contents without the entries
    of the objects in leave_out (each entry names its object's catalog and OID in the archive's
    database: `764; 1255 182336 FUNCTION public scircle_intersect_smoc(...) owner`)."""
    listed = subprocess.run(client_command("pg_restore") + ["--list", archive.member(DUMP)],
                            capture_output=True, text=True)
    if listed.returncode != 0:
        raise BackupError(f"pg_restore cannot read the archive's database:\n{listed.stderr.strip()}")
    sources = {tuple(obj["source"]) for obj in leave_out}
    kept = []
    for line in listed.stdout.splitlines():
        entry = re.match(r"\s*\d+;\s+(\d+)\s+(\d+)\s", line)
        if entry and (int(entry.group(1)), int(entry.group(2))) in sources:
            continue
        kept.append(line)
    path = os.path.join(archive.directory, "restore.list")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(kept) + "\n")
    return path


def restore_products(inst, path):
    """The processing service's product files (backup.PRODUCTS) into the instance's
    derived_dir, unless configure() re-created its tables (no products left to serve)."""
    if inst.db.value(f"SELECT count(*) FROM {render.DERIVED_SCHEMA}.products") == 0:
        return
    os.makedirs(inst.derived_dir, exist_ok=True)
    with tarfile.open(path) as tar:
        # (Its sha256 is the manifest's: the archive is the operator's own.)
        tar.extractall(inst.derived_dir)


def make_root(inst, manifest, archive_products):
    """Writes the instance's DaCHS root from the configuration and publishes the registry records;
    returns the names of the collections whose tables this checkout defines otherwise than the
    archive's (the next `make serve` re-creates them)."""
    # The processing service's tables: recorded before configure() looks at them, which
    # re-creates them (withdrawing every product) unless they have this checkout's definition.
    if inst.rds.derived_signature() == manifest["tables"].get(render.DERIVED_SCHEMA):
        inst.rds.record_derived()
    inst.configure()
    restore_products(inst, archive_products)
    published = inst.published()
    inst.rds.write_views()
    refresh_dachs_tables(inst, manifest, published)
    redefined = []
    for collection in published:
        if inst.rds.table_signature(collection) == manifest["tables"].get(collection.schema):
            inst.rds.record_table(collection)
        else:
            redefined.append(collection.name)
    inst.registry.update_coverage(published)
    inst.registry.publish(published)
    return redefined


def refresh_dachs_tables(inst, manifest, published):
    """What DaCHS rendered into the database from its own definitions and gavo.rc, rendered again
    where this machine differs from the archive's. The SQL of the ivoa.obscore view holds the
    server URL (access_url: DaCHS expands `\\getConfig{web}{serverURL}` when a collection is
    imported, into its fragment in ivoa._obscoresources), and TAP_SCHEMA the descriptions of
    DaCHS's own columns. So: with an older DaCHS, `dachs upgrade` (DaCHS's tables to its
    version); with another server URL or DaCHS, Instance.refresh_dachs_metadata."""
    reasons = []
    archived, local = manifest["versions"]["dachs"], inst.features()["dachs"]
    if _version(archived) < _version(local):
        log(f"the archive's database is DaCHS {archived}'s: dachs upgrade (to {local})")
        inst.dachs("upgrade")
        reasons.append(f"DaCHS {local}")
    if inst.server_url != manifest["server_url"]:
        reasons.append(f"the server URL {inst.server_url} (the archive's:"
                       f" {manifest['server_url']})")
    if not reasons or not published:
        return
    log(f"writing DaCHS's ObsCore view and table metadata again for {' and '.join(reasons)}")
    inst.refresh_dachs_metadata(published)


def data_report(inst, manifest, redefined):
    """Says, per published collection, what the next `make serve` would read again, and returns
    it ({name: counts})."""
    report = {}
    code_changed = manifest["versions"]["ingest_code"] != code_version()
    for collection in inst.published():
        try:
            reader = CollectionReader(collection, inst.site)
        except IngestError as exc:
            log(f"{collection.name}: its indexes cannot be read: {exc}")
            continue
        plan = make_plan(reader, Publisher(inst).published_fingerprints(collection),
                         fingerprint_base(collection, inst.site))
        paths = {entry.path for key in reader.datasets() for entry in reader.hdu_index.entries_for(key)}
        counts = {"unchanged": len(plan.unchanged), "changed": len(plan.changed),
                  "new": len(plan.new), "withdrawn": len(plan.withdrawn),
                  "missing_files": sum(not os.path.exists(p) for p in paths)}
        report[collection.name] = counts
        log(f"{collection.name}: " + _describe(collection, counts, code_changed,
                                                collection.name in redefined))
    return report


def _describe(collection, counts, code_changed, redefined):
    total = counts["unchanged"] + counts["changed"] + counts["withdrawn"]
    if redefined:
        return (f"this checkout defines its table otherwise than the archive's: the next `make"
                f" serve` re-creates it and reads its {total} datasets again")
    if not (counts["changed"] or counts["new"] or counts["withdrawn"]):
        return f"{total} datasets, their files in {collection.data_dir} as they were read"
    why = "this checkout's ingest code differs from the archive's" if code_changed else \
        "their files are not those they were read from (size, time or inode)"
    return (f"{counts['changed']} of {total} datasets would be read again by the next `make"
            f" serve` ({why}; {counts['missing_files']} file(s) listed in the hdu-index are"
            f" missing), {counts['new']} are new in the hdu-index, {counts['withdrawn']} gone")
