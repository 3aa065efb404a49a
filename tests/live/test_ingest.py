"""A data manager's ingest against the live instance: incremental and idempotent, withdrawals, bad
input of every kind (tests/corpus.py) that never hurts what is published, strict mode, the check
without side effects, and dropping a collection.

The collection `corpus` (tests/live/conftest.py) reads from a symbolic link that each test points
at a GADF directory made from the real H.E.S.S. files; ingests run the real command,
`python3 -m instance <name> ingest --collection corpus`.
"""

import os
import subprocess
import threading

import pytest
import requests
from astropy.io import fits

from instance import PROJECT_ROOT
from tests import corpus

DEBIAN_PYTHON = "/usr/bin/python3"
COMPARED = "source_fingerprint"  # the one column allowed to change when a file is only copied


@pytest.fixture(scope="module")
def ingest(service):
    """ingest(data_dir, *options) -> CompletedProcess: points the corpus at data_dir and runs
    the ingest command. The corpus collection is dropped when the module ends."""
    link = service.collection("corpus").data_dir

    def run(data_dir, *options, launcher=("-m", "instance"), env=None):
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(data_dir, link)
        collections = [o for o in options if o.startswith("--collection=")] or ["--collection=corpus"]
        options = [o for o in options if not o.startswith("--collection=")]
        return subprocess.run(
            [DEBIAN_PYTHON, *launcher, "ingest", "--instance", service.instance.name,
             *collections, "--port", str(service.instance.port), "--collections",
             service.collections_file, *options],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600,
            env=None if env is None else {**os.environ, **env})

    yield run
    subprocess.run([DEBIAN_PYTHON, "-m", "instance", "drop", "--instance", service.instance.name,
                    "--collection", "corpus", "--port", str(service.instance.port),
                    "--collections", service.collections_file], cwd=PROJECT_ROOT, check=True)


def rows(service, table="corpus.obs"):
    """{obs_id: {column: value}} of the published rows, with each row's transaction id (xmin),
    which changes whenever PostgreSQL writes the row."""
    found = service.instance.db.query(
        f"SELECT obs_id, xmin::text, row_to_json(t)::text FROM {table} t ORDER BY obs_id")
    return {obs_id: {"xmin": xmin, "values": values} for obs_id, xmin, values in found}


def values(snapshot):
    """The rows without what a mere copy of the files changes (xmin, source_fingerprint)."""
    import json
    return {obs_id: {k: v for k, v in json.loads(r["values"]).items() if k != COMPARED}
            for obs_id, r in snapshot.items()}


def good_copy(tmp_path, name="good", obs_ids=corpus.OBS_IDS):
    data_dir = str(tmp_path / name)
    corpus.copy_subset(corpus.HESS_DIR, data_dir, obs_ids)
    return data_dir


@pytest.fixture(scope="module")
def published(ingest, service, tmp_path_factory):
    """The corpus published from a good copy of its three observations (the state every bad-input
    case starts from)."""
    out = ingest(good_copy(tmp_path_factory.mktemp("published")))
    assert out.returncode == 0, out.stderr + out.stdout
    return rows(service)


def test_first_ingest_adds_every_observation(published, tap):
    assert sorted(published) == sorted(corpus.OBS_IDS)
    result = tap.search("SELECT obs_id FROM ivoa.obscore WHERE obs_collection='CORPUS'")
    assert sorted(str(r["obs_id"]) for r in result) == sorted(corpus.OBS_IDS)


def test_unchanged_data_touches_no_row(published, ingest, service):
    link_target = os.path.realpath(service.collection("corpus").data_dir)
    out = ingest(link_target)
    assert out.returncode == 0, out.stderr
    assert "0 added, 0 updated, 3 unchanged, 0 withdrawn, 0 rejected" in out.stderr
    assert rows(service) == published  # same xmin: not even rewritten


def test_added_changed_and_withdrawn(published, ingest, service, tmp_path, tap):
    two = good_copy(tmp_path, "two", corpus.OBS_IDS[:2])
    out = ingest(two)
    assert out.returncode == 0, out.stderr
    assert "withdrawn" in out.stderr and f"withdrew observation {corpus.OBS_IDS[2]}" in out.stderr
    assert sorted(rows(service)) == sorted(corpus.OBS_IDS[:2])
    assert "1 withdrawn" in out.stderr

    three = good_copy(tmp_path, "three")
    reprocessed = corpus.both(corpus.edit_headers("EVENTS", OBJECT="Crab (re-processed)"),
                              corpus.set_in_obs_index("OBJECT", "Crab (re-processed)"))
    reprocessed(three)
    out = ingest(three)
    assert out.returncode == 0, out.stderr
    assert "1 added" in out.stderr and "2 updated" in out.stderr
    [row] = tap.search("SELECT target_name FROM ivoa.obscore WHERE obs_collection='CORPUS'"
                       f" AND obs_id='{corpus.BAD_OBS_ID}'")
    assert row["target_name"] == "Crab (re-processed)"

    out = ingest(three)
    assert "3 unchanged" in out.stderr


@pytest.fixture
def restored(ingest, service, tmp_path):
    """Publishes the good copy again (as before the previous case) and returns its rows."""
    out = ingest(good_copy(tmp_path))
    assert out.returncode == 0, out.stderr
    return rows(service)


BAD_CASES = [case for case in corpus.CASES if case.accepted is None]
ACCEPTED_CASES = [case for case in corpus.CASES if case.accepted is not None]


@pytest.mark.parametrize("case", BAD_CASES, ids=[c.name for c in BAD_CASES])
def test_bad_input_is_rejected_and_published_rows_stay(case, restored, ingest, service,
                                                       tmp_path):
    hess_before = rows(service, "hess_dr1.obs")
    out = ingest(case.build(tmp_path / "case"))
    report = out.stdout + out.stderr
    assert out.returncode == 1, report
    assert "1 rejected" in report
    [line] = [line for line in report.splitlines() if line.strip().startswith(case.bad_obs_id)]
    for fragment in case.fragments:
        assert fragment in line, (fragment, line)
    after = rows(service)
    assert values(after) == values(restored)  # the rejected observation keeps its old row
    assert after[case.bad_obs_id] == restored[case.bad_obs_id]
    assert rows(service, "hess_dr1.obs") == hess_before


@pytest.mark.parametrize("case", ACCEPTED_CASES, ids=[c.name for c in ACCEPTED_CASES])
def test_hostile_text_is_stored_as_given_and_escaped(case, restored, ingest, service, tap,
                                                     tmp_path):
    out = ingest(case.build(tmp_path / "case"))
    assert out.returncode == 0, out.stdout + out.stderr
    [row] = tap.search(f"SELECT * FROM corpus.obs WHERE obs_id='{case.bad_obs_id}'")
    for column, expected in case.accepted.items():
        assert row[column] == expected  # through the VOTable, exactly
    html = requests.get(f"{service.tap_url}/sync", timeout=60, params={
        "LANG": "ADQL", "RESPONSEFORMAT": "html",
        "QUERY": f"SELECT target_name FROM corpus.obs WHERE obs_id='{case.bad_obs_id}'"})
    assert html.status_code == 200
    assert "<script>" not in html.text and "<b>" not in html.text


# The ingest command with a bug injected: reading the observation CRASH_OBS_ID raises an
# exception no reading of files raises.
CRASHING_INGEST = """
import os, sys
from ingest import collection
original = collection.observation_row
def buggy(hdus, *args, **kwargs):
    if str(hdus.events.header["OBS_ID"]) == os.environ["CRASH_OBS_ID"]:
        raise ZeroDivisionError("injected into the test")
    return original(hdus, *args, **kwargs)
collection.observation_row = buggy
from instance.__main__ import main
sys.argv[0] = "instance"
main(sys.argv[1:])
"""


def test_an_unexpected_exception_rejects_one_observation(restored, ingest, service, tmp_path):
    victim, updated = corpus.OBS_IDS[0], corpus.BAD_OBS_ID
    data_dir = good_copy(tmp_path, "crash")
    corpus.both(corpus.edit_headers("EVENTS", OBJECT="Crab (updated beside the crash)"),
                corpus.set_in_obs_index("OBJECT", "Crab (updated beside the crash)"))(data_dir)
    out = ingest(data_dir, launcher=("-c", CRASHING_INGEST), env={"CRASH_OBS_ID": victim})
    report = out.stdout + out.stderr
    assert out.returncode == 1, report
    assert "Traceback" not in report
    [line] = [line for line in report.splitlines() if line.strip().startswith(victim)]
    assert corpus.file_name(victim) in line and "unexpected ZeroDivisionError" in line, line
    after = rows(service)
    assert after[victim] == restored[victim]  # kept as published
    assert "2 updated" in report and "1 rejected" in report  # copied files: new fingerprints
    assert "updated beside the crash" in after[updated]["values"]


def test_an_unreadable_collection_does_not_stop_the_others(restored, ingest, service, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "hdu-index.fits.gz").write_bytes(b"not a FITS file")
    hess_before = rows(service, "hess_dr1.obs")
    out = ingest(str(broken), "--collection=corpus", "--collection=hess_dr1")
    report = out.stdout + out.stderr
    assert out.returncode == 1, report
    assert "Traceback" not in report
    [line] = [line for line in report.splitlines() if "corpus: not read" in line]
    assert line.startswith("corpus: not read, nothing changed: ") and "hdu-index.fits.gz" in line
    assert "105 unchanged" in report  # the other collection was still looked at
    assert rows(service) == restored and rows(service, "hess_dr1.obs") == hess_before

    (broken / "hdu-index.fits.gz").unlink()
    out = ingest(str(broken))
    assert out.returncode == 1 and "corpus: not read, nothing changed: no hdu-index at" in out.stderr


def test_prebuild_builds_every_observations_files(restored, ingest, service, tmp_path):
    """`make ingest PREBUILD=1`: the DataLink files exist before anyone asks, and dlget then
    serves those very files (not rebuilt)."""
    import shutil

    cache = os.path.join(service.instance.product_cache_dir, "corpus")
    shutil.rmtree(cache, ignore_errors=True)
    out = ingest(good_copy(tmp_path, "prebuild"), "--prebuild")
    assert out.returncode == 0, out.stderr
    built = {}
    for obs_id in corpus.OBS_IDS:
        [event_list] = [os.path.join(d, "event-list.fits") for d, _, names
                        in os.walk(os.path.join(cache, obs_id)) if "event-list.fits" in names]
        built[obs_id] = os.stat(event_list).st_mtime_ns
        assert {"aeff.fits", "package.tar"} <= set(os.listdir(os.path.dirname(event_list)))
    did = service.instance.db.query(f"SELECT obs_publisher_did FROM corpus.obs WHERE obs_id ="
                                    f" '{corpus.OBS_IDS[0]}'")[0][0]
    response = requests.get(f"{service.url}/corpus/q/dl/dlget",
                            params={"ID": did, "PART": "event-list"}, timeout=60)
    assert response.status_code == 200
    [event_list] = [os.path.join(d, "event-list.fits") for d, _, names
                    in os.walk(os.path.join(cache, corpus.OBS_IDS[0])) if "event-list.fits" in names]
    assert os.stat(event_list).st_mtime_ns == built[corpus.OBS_IDS[0]]
    assert len(response.content) == os.path.getsize(event_list)


def test_strict_mode_publishes_nothing(restored, ingest, service, tmp_path):
    case = corpus.case_named("truncated")
    data_dir = case.build(tmp_path / "case")
    with fits.open(os.path.join(data_dir, "data", corpus.file_name("23523")), mode="update") as f:
        f["EVENTS"].header["DEADC"] = 0.5  # would be an update (DEADC is not compared)
    out = ingest(data_dir, "--strict")
    assert out.returncode == 1
    assert "strict mode: nothing was published" in out.stderr
    assert rows(service) == restored  # not even the good observations were written


def test_service_answers_during_an_ingest(restored, ingest, service, tap, tmp_path):
    answers, done = [], threading.Event()

    def poll():
        while not done.is_set():
            answers.append(tap.search("SELECT COUNT(*) AS n FROM ivoa.obscore")[0]["n"])

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        out = ingest(corpus.case_named("corrupt").build(tmp_path / "case"))
    finally:
        done.set()
        poller.join()
    assert out.returncode == 1
    assert len(answers) >= 1 and len(set(answers)) == 1, answers


def test_check_data_has_no_side_effects(restored, service, tmp_path):
    case = corpus.case_named("missing_mjdrefi")
    data_dir = case.build(tmp_path / "case")
    out = subprocess.run(["make", "-s", "check-data", f"DATA={data_dir}"], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, timeout=300)
    report = out.stdout + out.stderr
    assert out.returncode != 0, report
    assert all(fragment in report for fragment in case.fragments), report
    assert rows(service) == restored


def test_drop_removes_only_that_collection(restored, service, tap):
    subprocess.run([DEBIAN_PYTHON, "-m", "instance", "drop", "--instance", service.instance.name,
                    "--collection", "corpus", "--port", str(service.instance.port),
                    "--collections", service.collections_file], cwd=PROJECT_ROOT, check=True,
                   capture_output=True)
    counts = {r["obs_collection"]: r["n"] for r in tap.search(
        "SELECT obs_collection, COUNT(*) AS n FROM ivoa.obscore GROUP BY obs_collection")}
    assert counts == {"HESS-DL3-DR1": 105, "CTA-1DC": 4}
    hea = tap.search("SELECT COUNT(*) AS n FROM ivoa.obscore_hea")[0]["n"]
    assert hea == 109
