"""Backups and restores (`make backup`, `make restore`; instance/backup.py, instance/restore.py).

The session's test instance is backed up with the command line and restored as another instance,
as a fresh machine would have it: another name, database, roles, DaCHS root, port and etc/
directory, nothing of the original reused but the data files (which a backup does not hold) and
the PostgreSQL cluster. Both serve at once and answer the same TAP queries byte for byte
(VOTable TABLEDATA, so that URLs are text), after normalising what legitimately differs between
two answers (answers_of, canonical):
- the server URL (`http://localhost:<port>`, in access_url values and service descriptors): the
  original's is replaced by the restored one's, and the restored answer must not hold the
  original's;
- what differs between two answers of one instance too: the XML IDs DaCHS generates from Python
  object addresses (`ID="ndswpbuiutsa"` on GROUPs and COOSYS, and their `ref`s), different in
  each DaCHS process, so every ID that is not a column's name is renamed by its order in the
  document; DaCHS 2.11's `request_date` INFO; and the order in which DaCHS 2.11 lists what a
  join's tables bring (their `citation` and `reference_url` INFOs, their DataLink service
  descriptors), which changes from process to process (Python's string hashes), so each run of
  INFO elements and of service descriptors is sorted.
Queries have an ORDER BY: SQL promises no order without one.
"""

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile

import pytest
import requests
from lxml import etree

from instance import PROJECT_ROOT, Instance, stop_process
from instance.database import Database
from instance.server import free_port
from rights import MEMBER, OUTSIDER, PROPRIETARY_OBS

PYTHON = "/usr/bin/python3"  # Debian's, as make runs the instance
QUERIES = {
    "obscore": "SELECT * FROM ivoa.obscore ORDER BY obs_publisher_did",
    "he-join": "SELECT * FROM ivoa.obscore NATURAL JOIN ivoa.obscore_hea ORDER BY obs_publisher_did",
    "gti": "SELECT * FROM ivoa.obscore_gti ORDER BY obs_publisher_did, t_start",
    "collection-table": "SELECT * FROM hess_dr1.obs ORDER BY obs_id",
    "cta-table": "SELECT * FROM cta_1dc.obs ORDER BY obs_id",
    "crab-cone": "SELECT * FROM ivoa.obscore WHERE 1=CONTAINS(POINT('ICRS', s_ra, s_dec),"
                 " CIRCLE('ICRS', 83.633, 22.0145, 3)) ORDER BY t_min",
    "good-time": "SELECT obs_publisher_did, t_min FROM ivoa.obscore"
                 " WHERE 1=gavo_goodtime_overlaps(t_intervals, 53343.90, 53343.95) ORDER BY 1",
    "tap-schema-schemas": "SELECT * FROM TAP_SCHEMA.schemas ORDER BY schema_name",
    "tap-schema-tables": "SELECT * FROM TAP_SCHEMA.tables ORDER BY table_name",
    "tap-schema-columns": "SELECT * FROM TAP_SCHEMA.columns ORDER BY table_name, column_name",
    "tap-schema-keys": "SELECT * FROM TAP_SCHEMA.key_columns ORDER BY key_id, from_column",
}
# Owners and grants of every object of a database outside PostgreSQL's own schemas.
OWNERS_AND_GRANTS = """
SELECT 'relation', c.oid::regclass::text, pg_get_userbyid(c.relowner), c.relacl::text[]
  FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL SELECT 'schema', nspname, pg_get_userbyid(nspowner), nspacl::text[] FROM pg_namespace
  WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
UNION ALL SELECT 'function', p.oid::regprocedure::text, pg_get_userbyid(proowner), proacl::text[]
  FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
UNION ALL SELECT 'type', t.oid::regtype::text, pg_get_userbyid(typowner), typacl::text[]
  FROM pg_type AS t JOIN pg_namespace AS n ON n.oid = t.typnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
UNION ALL SELECT 'operator', o.oid::regoperator::text, pg_get_userbyid(oprowner), NULL
  FROM pg_operator AS o JOIN pg_namespace AS n ON n.oid = o.oprnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
UNION ALL SELECT 'database', '-', pg_get_userbyid(datdba), datacl::text[] FROM pg_database
  WHERE datname = current_database()
"""


def instance_command(*args):
    """Runs `python3 -m instance args...` as make does; the CompletedProcess."""
    return subprocess.run([PYTHON, "-m", "instance", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=900)


def leaves_nothing(name):
    """True if no trace of instance name is here: directory, database, roles."""
    inst = Instance(name)
    roles = Database("postgres").value("SELECT count(*) FROM pg_roles WHERE rolname LIKE %s",
                                       (f"heobs_{name}\\_%",))
    return not os.path.exists(inst.root) and not inst.db.exists() and roles == 0


@pytest.fixture(scope="module")
def archive(service, tmp_path_factory):
    inst = service.instance
    path = str(tmp_path_factory.mktemp("backup") / "service.tar")
    done = instance_command("backup", "--instance", inst.name, "--port", str(inst.port),
                            "--collections", inst.collections_file, "--out", path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"wrote {path}" in done.stdout
    return path


@pytest.fixture(scope="module")
def restored(archive, tmp_path_factory):
    """The archive restored as instance restored_<pid> and served; (Instance, restore's output)."""
    name = f"restored_{os.getpid()}"
    etc = str(tmp_path_factory.mktemp("restored-etc"))
    port = free_port()
    done = instance_command("restore", "--from", archive, "--instance", name, "--port", str(port),
                            "--etc", etc)
    inst = Instance(name, port=port, collections_file=os.path.join(etc, "collections.yaml"),
                    site_file=os.path.join(etc, "site.yaml"))
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        servers = inst.start()
    except BaseException:
        inst.destroy()
        raise
    yield inst, done.stdout
    stop_process(servers)
    inst.destroy()


INFO = rb'<INFO name="[^"]*"[^>]*>[^<]*</INFO>'
SERVICE_DESCRIPTOR = rb'<RESOURCE [^>]*utype="adhoc:service">.*?</RESOURCE>'


def canonical(document):
    """The document without what differs between two answers of one instance (module docstring):
    the request date blanked, each run of INFO elements and of DataLink service descriptors
    sorted, and every XML ID that is not a column's name renamed by its order of appearance (in
    IDs and references alike)."""
    ids = dict.fromkeys(re.findall(rb'\bID="([^"]+)"', document))
    generated = [i for i in ids if b'name="' + i + b'"' not in document]

    def without_ids(part):
        for generated_id in generated:
            part = part.replace(b'="' + generated_id + b'"', b'="generated"')
        return part

    def sort_runs(document, element):
        return re.sub(rb"(?:" + element + rb")+", lambda run: b"".join(sorted(
            re.findall(element, run.group(0), re.S), key=without_ids)), document, flags=re.S)

    document = re.sub(rb'(<INFO name="request_date"[^>]*value=")[^"]*"', rb'\1(the date)"', document)
    document = sort_runs(sort_runs(document, INFO), SERVICE_DESCRIPTOR)
    in_order = [i for i in dict.fromkeys(re.findall(rb'\bID="([^"]+)"', document)) if i in generated]
    for number, generated_id in enumerate(in_order):
        document = document.replace(b'="' + generated_id + b'"', b'="generated-%d"' % number)
    return document


def answers_of(original, copy, query):
    """The TAP answers (bytes) of the original and the restored instance to a sync query, both
    normalised (module docstring)."""
    def ask(url):
        response = requests.post(f"{url}/tap/sync", data={
            "REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query, "FORMAT": "votable/td"},
            timeout=120)
        assert response.status_code == 200, response.text[:500]
        return response.content
    first, second = ask(original.server_url), ask(copy.server_url)
    assert original.server_url.encode() not in second
    first = first.replace(original.server_url.encode(), copy.server_url.encode())
    return canonical(first), canonical(second)


@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
def test_tap_answers_are_byte_identical(service, restored, query):
    first, second = answers_of(service.instance, restored[0], query)
    assert b"<TR>" in first, first[:2000]  # rows, not an error
    assert b'value="ERROR"' not in first
    assert first == second


def tableset(document):
    """A VOSI tableset as the sorted list of its schemas, each with its tables sorted: DaCHS lists
    them in the order of TAP_SCHEMA's rows in the table files, which a restore that writes
    DaCHS's metadata again (the server URL differs) changes; VOSI gives the order no meaning."""
    schemas = []
    for schema in etree.fromstring(document).iter("schema"):
        tables = sorted(etree.tostring(table) for table in schema.findall("table"))
        for table in schema.findall("table"):
            schema.remove(table)
        schemas.append(etree.tostring(schema) + b"".join(tables))
    return sorted(schemas)


def test_vosi_tables_are_identical(service, restored):
    first, second = (requests.get(f"{i.server_url}/tap/tables", timeout=60).content
                     for i in (service.instance, restored[0]))
    first = first.replace(service.url.encode(), restored[0].server_url.encode())
    assert len(tableset(first)) > 3 and tableset(first) == tableset(second)


def test_restore_says_the_data_are_as_they_were_read(restored):
    _, said = restored
    assert "hess_dr1: 105 datasets, their files in" in said and "as they were read" in said
    assert "cta_1dc: 4 datasets" in said
    assert "Nothing was ingested" in said


def test_serving_it_reads_nothing_again(restored):
    """What `make serve` does first: the restored instance is up to date with its data, its
    configuration and this checkout's table definitions, so nothing is read, re-created or
    rewritten."""
    inst, _ = restored
    before = _files(inst.root)
    names = [c.name for c in inst.published()]
    assert sorted(names) == ["cta_1dc", "hess_dr1"]
    # The processing service's tables are the archive's, kept (re-creating them would withdraw
    # every product made on the server).
    assert not inst.rds.derived_redefined()
    summaries = inst.prepare(names)
    for name in names:
        counts = summaries[name].counts
        assert counts["added"] == counts["updated"] == counts["withdrawn"] == 0, counts
        assert counts["unchanged"] == {"hess_dr1": 105, "cta_1dc": 4}[name]
    assert _files(inst.root) == before


def _files(root):
    """The text of every RD and configuration file of a DaCHS root."""
    found = {}
    for folder in ("inputs", "etc"):
        for dirpath, _, names in os.walk(os.path.join(root, folder)):
            for name in names:
                with open(os.path.join(dirpath, name), "rb") as f:
                    found[os.path.relpath(os.path.join(dirpath, name), root)] = f.read()
    found["gavo.rc"] = open(os.path.join(root, "gavo.rc"), "rb").read()
    return found


def _owners_and_grants(inst):
    """{(kind, object): (owner, set of grants)} with the instance's roles named by profile."""
    def unrole(text):
        return text.replace(f"{inst.dbname}_", "INSTANCE_") if text else text
    return {(kind, name): (unrole(owner), {unrole(item) for item in acl or []})
            for kind, name, owner, acl in inst.db.query(OWNERS_AND_GRANTS)}


def test_owners_and_grants_are_the_originals(service, restored):
    original, copy = _owners_and_grants(service.instance), _owners_and_grants(restored[0])
    assert len(original) > 1000
    assert copy == original
    owner, grants = original[("relation", "dc.users")]
    assert owner == "INSTANCE_admin" and "INSTANCE_trusted=r/INSTANCE_admin" in grants


def test_roles_are_made_as_they_were(service, restored):
    def roles(inst):
        return {name.replace(inst.dbname, "INSTANCE"): rest for name, *rest in inst.db.query(
            "SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,"
            " rolconfig FROM pg_roles WHERE rolname LIKE %s", (f"{inst.dbname}\\_%",))}
    # among them DaCHS 2.7's extra_float_digits=3, on which the digits of every float in a TAP
    # answer depend
    assert len(roles(service.instance)) == 3
    assert roles(restored[0]) == roles(service.instance)


@pytest.mark.parametrize("auth, status", [(MEMBER, 200), (OUTSIDER, 401), (None, 401)],
                         ids=["member", "outsider", "anonymous"])
def test_users_and_groups_survive(restored, auth, status):
    """DaCHS's users and groups are rows of its dc schema: the proprietary observation's file is
    served to the owner group's member, refused to others (tests/live/rights.py)."""
    inst, _ = restored
    did = f"ivo://{inst.site.authority}/hess_dr1?{PROPRIETARY_OBS}"
    response = requests.get(f"{inst.server_url}/hess_dr1/q/dl/dlget",
                            params={"ID": did, "PART": "aeff"}, auth=auth, timeout=120)
    assert response.status_code == status, response.text[:300]


def _failed_restore(archive_path, name, *extra):
    done = instance_command("restore", "--from", archive_path, "--instance", name,
                            "--port", str(free_port()), *extra)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert leaves_nothing(name)
    return done.stderr


def _damaged(archive_path, tmp_path, how):
    path = str(tmp_path / "damaged.tar")
    with open(archive_path, "rb") as f:
        data = bytearray(f.read())
    if how == "truncated":
        data = data[:len(data) // 2]
    elif how == "flipped-byte":
        with tarfile.open(archive_path) as tar:
            dump = tar.getmember("database.dump")
        data[dump.offset_data + dump.size // 2] ^= 0xFF
    elif how == "not-a-tar":
        data = b"just some text, not a backup\n" * 100
    with open(path, "wb") as f:
        f.write(data)
    return path


@pytest.mark.parametrize("how, message", [
    ("truncated", "is damaged or not a backup archive of this service"),
    ("flipped-byte", "is damaged: database.dump has"),
    ("not-a-tar", "is damaged or not a backup archive of this service"),
])
def test_a_damaged_archive_is_refused_clearly(archive, tmp_path, how, message):
    damaged = _damaged(archive, tmp_path, how)
    said = _failed_restore(damaged, f"damaged_{os.getpid()}", "--etc", str(tmp_path))
    assert message in said
    assert not os.path.exists(tmp_path / "site.yaml")  # nothing written


def _with_manifest(archive_path, tmp_path, change, replace=None):
    """A copy of the archive whose manifest change(manifest) edited, and whose members named in
    replace ({name: bytes}) are replaced."""
    path = str(tmp_path / "edited.tar")
    replace = replace or {}
    with tarfile.open(archive_path) as source, tarfile.open(path, "w") as target:
        for member in source.getmembers():
            data = replace.get(member.name) or source.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
            member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    return path


@pytest.mark.parametrize("field, value, message", [
    ("postgresql_major", 99, "restore onto PostgreSQL 99 or newer"),
    ("dachs", "99.1", "restore onto DaCHS 99.1 or newer"),
], ids=["newer-postgresql", "newer-dachs"])
def test_a_newer_machine_s_archive_is_refused_clearly(archive, tmp_path, field, value, message):
    edited = _with_manifest(archive, tmp_path, lambda m: m["versions"].__setitem__(field, value))
    said = _failed_restore(edited, f"newer_{os.getpid()}", "--etc", str(tmp_path))
    assert message in said


def test_a_manifest_without_its_keys_is_refused_clearly(archive, tmp_path):
    edited = _with_manifest(archive, tmp_path, lambda m: m.pop("tables"))
    said = _failed_restore(edited, f"nokeys_{os.getpid()}", "--etc", str(tmp_path))
    assert "is damaged: its manifest.json lacks tables" in said


def test_a_failed_restore_leaves_nothing_and_puts_the_configuration_back(archive, tmp_path):
    """A dump that pg_restore cannot read, in an archive whose checksums say it is whole: the
    failure comes after the configuration is written and the roles and database are made."""
    garbage = b"not a dump of PostgreSQL\n" * 1000
    digest = {"sha256": hashlib.sha256(garbage).hexdigest(), "bytes": len(garbage)}
    edited = _with_manifest(archive, tmp_path, lambda m: m["members"].__setitem__(
        "database.dump", digest), replace={"database.dump": garbage})
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "site.yaml").write_text("# the site file that was here\n")
    said = _failed_restore(edited, f"garbage_{os.getpid()}", "--etc", str(etc))
    assert "pg_restore cannot read the archive's database" in said
    assert (etc / "site.yaml").read_text() == "# the site file that was here\n"
    assert sorted(os.listdir(etc)) == ["site.yaml"]


def test_missing_data_are_refused_clearly(archive, tmp_path):
    said = _failed_restore(archive, f"nodata_{os.getpid()}", "--etc", str(tmp_path),
                           "--data", str(tmp_path / "nowhere"))
    assert f"hess_dr1: no data at {tmp_path / 'nowhere' / 'hdu-index.fits.gz'}" in said
    assert "A backup holds no data files" in said


def test_an_existing_instance_is_not_overwritten(archive, restored, tmp_path):
    inst, _ = restored
    done = instance_command("restore", "--from", archive, "--instance", inst.name,
                            "--etc", str(tmp_path))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"instance {inst.name} exists here" in done.stderr and "FORCE=1" in done.stderr
    forced = instance_command("restore", "--from", archive, "--instance", inst.name,
                              "--etc", str(tmp_path), "--force")
    assert forced.returncode == 1 and f"instance {inst.name} is being served" in forced.stderr
    assert inst.is_up()


def test_force_replaces_an_instance(archive, tmp_path):
    name = f"forced_{os.getpid()}"
    port = str(free_port())
    try:
        first = instance_command("restore", "--from", archive, "--instance", name, "--port", port,
                                 "--etc", str(tmp_path))
        assert first.returncode == 0, first.stdout + first.stderr
        again = instance_command("restore", "--from", archive, "--instance", name, "--port", port,
                                 "--etc", str(tmp_path), "--force")
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"replacing instance {name}" in again.stdout
        assert Instance(name).db.value("SELECT count(*) FROM hess_dr1.obs") == 105
    finally:
        Instance(name).destroy()
    shutil.rmtree(tmp_path, ignore_errors=True)
