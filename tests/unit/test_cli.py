"""python3 -m ingest show and check."""

import gzip
import os
import shutil
import subprocess
import sys

import pytest

from ingest.__main__ import PROJECT_ROOT, main
from tests.unit.minigadf import Layout, write_collection, write_hdu_index


@pytest.fixture
def etc(tmp_path, collections_file, hess_dir, cta_index_dir):
    directory = tmp_path / "etc"
    directory.mkdir()
    shutil.copy(collections_file, directory / "collections.yaml")
    (directory / "site.yaml").write_text("authority: cli.test\n")
    return str(directory)


def test_show_one_observation(etc, capsys):
    assert main(["show", "--etc", etc, "--collection", "cta_1dc", "--obs", "110380"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("obs 110380  ivo://cli.test/cta_1dc?110380\n")
    assert "  analysis_mode " in out and "'South_z20_50h'" in out
    assert "polygon of 16 vertices" in out
    assert out.rstrip().endswith("cta_1dc: 1 observations, 1 ingested, 0 rejected")


def test_show_default_collection_and_columns(etc, capsys):
    assert main(["show", "--etc", etc, "--obs", "23523", "--columns", "obs_id,t_min"]) == 0
    out = capsys.readouterr().out
    assert "obs 23523  ivo://cli.test/hess_dr1?23523\n  obs_id  '23523'\n  t_min   53343.9215972" in out


def test_rejections_make_a_non_zero_exit(etc, capsys, tmp_path, cta_index_dir):
    # the CTA index copied alone: its relative FILE_DIRs now lead nowhere
    shutil.copy(os.path.join(cta_index_dir, "hdu-index.fits.gz"), tmp_path)
    shutil.copy(os.path.join(cta_index_dir, "obs-index.fits.gz"), tmp_path)
    assert main(["show", "--etc", etc, "--collection", "cta_1dc", "--data-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "obs 110380  REJECTED  gps_baseline_110380.fits: file not found" in out
    assert "4 observations, 0 ingested, 4 rejected" in out


def test_configuration_errors_exit_2(etc, capsys):
    assert main(["show", "--etc", etc, "--collection", "nope"]) == 2
    assert "no collection named 'nope'" in capsys.readouterr().err
    assert main(["show", "--etc", etc, "--columns", "obs_id,nonsense"]) == 2


def test_runs_as_a_module(etc):
    completed = subprocess.run([sys.executable, "-m", "ingest", "show", "--etc", etc, "--collection", "cta_1dc",
                                "--columns", "obs_id"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.count("obs_id  '") == 4


# ---- check


def _files(directory):
    """Every file under a directory with its size and mtime: what a check must leave as it found it."""
    found = {}
    for folder, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(folder, name)
            found[path] = (os.path.getsize(path), os.stat(path).st_mtime_ns)
    return found


def test_check_a_good_directory(tmp_path, capsys):
    directory = write_collection(tmp_path / "mini")
    before = _files(tmp_path)
    assert main(["check", "--data", directory]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{directory}: 1 observations, 1 readable, 0 rejected\n"
    assert "check mini: 1/1 obs" in captured.err  # progress, on stderr
    assert _files(tmp_path) == before  # no side effects: nothing written, nothing touched


def test_check_reports_what_the_ingest_rejects(tmp_path, capsys, hess_dir, hess_collection, site):
    from ingest import read_observation
    from tests.corpus import case_named

    data_dir = case_named("missing_mjdrefi").build(tmp_path, hess_dir)
    assert main(["check", "--data", data_dir]) == 1
    lines = capsys.readouterr().out.splitlines()
    error = read_observation(hess_collection.with_data_dir(data_dir), site, "23526").error
    assert lines == [f"obs 23526  REJECTED  {error}",
                     f"{data_dir}: 3 observations, 2 readable, 1 rejected"]
    assert str(error) == "hess_dl3_dr1_obs_id_023526.fits.gz[EVENTS] MJDREFI: missing mandatory keyword"


def test_check_with_a_configured_collection(tmp_path, capsys, collections_file, cta_index_dir):
    """The collection's configuration (here: its site) is used; --strict rejects what it works around."""
    assert main(["check", "--data", cta_index_dir, "--collection", "cta_1dc", "--config", collections_file]) == 0
    assert capsys.readouterr().out.endswith(
        "4 observations, 4 readable, 0 rejected (4 read by working around their files: --strict lists them)\n")
    assert main(["check", "--data", cta_index_dir, "--collection", "cta_1dc", "--config", collections_file,
                 "--strict"]) == 1
    out = capsys.readouterr().out
    assert "obs 110380  REJECTED  gps_baseline_110380.fits[EVENTS] ALT_PNT: ALT_PNT = 90 with AZ_PNT = 0 is a " \
           "placeholder: not published; " in out
    assert "GEOLON" not in out  # the configuration gives the site: the header's is not even looked at
    # without the configuration, the header's site (GEOLON 79.4) is not confirmed by anything
    assert main(["check", "--data", cta_index_dir, "--strict"]) == 1
    assert "[EVENTS] GEOLON: the site GEOLON=79.4041" in capsys.readouterr().out


def test_check_strict_on_placeholders(tmp_path, capsys):
    directory = write_collection(tmp_path / "mini", Layout(events_header={"N_TELS": 0}))
    assert main(["check", "--data", directory]) == 0
    assert "(1 read by working around their files: --strict lists them)" in capsys.readouterr().out
    assert main(["check", "--data", directory, "--strict"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "obs 1001  REJECTED  obs_1001.fits.gz[EVENTS] N_TELS: N_TELS = 0 is a placeholder: not published",
        f"{directory}: 1 observations, 0 readable, 1 rejected"]


def test_check_finds_plain_index_files(tmp_path, capsys):
    directory = write_collection(tmp_path / "mini")
    for name in ("hdu-index", "obs-index"):
        with gzip.open(os.path.join(directory, f"{name}.fits.gz")) as f, \
                open(os.path.join(directory, f"{name}.fits"), "wb") as out:
            out.write(f.read())
        os.remove(os.path.join(directory, f"{name}.fits.gz"))
    assert main(["check", "--data", directory]) == 0


@pytest.mark.parametrize("problem,message", [
    ("no directory", "not a directory"),
    ("no index", "no hdu-index (looked for hdu-index.fits.gz, hdu-index.fits)"),
    ("unreadable index", "hdu-index.fits.gz: unreadable FITS file: not a FITS file"),
    ("empty index", "the hdu-index lists no observations"),
    ("unknown collection", "no collection named 'nope'"),
    ("broken configuration", "not valid YAML"),
])
def test_check_exits_2_when_nothing_can_be_checked(tmp_path, capsys, problem, message):
    directory = write_collection(tmp_path / "mini")
    arguments = ["check", "--data", directory]
    if problem == "no directory":
        arguments = ["check", "--data", str(tmp_path / "nowhere")]
    elif problem == "no index":
        os.remove(os.path.join(directory, "hdu-index.fits.gz"))
    elif problem == "unreadable index":
        with open(os.path.join(directory, "hdu-index.fits.gz"), "w") as f:
            f.write("<html>")
    elif problem == "empty index":
        write_hdu_index(os.path.join(directory, "hdu-index.fits.gz"), [])
    elif problem == "unknown collection":
        (tmp_path / "collections.yaml").write_text(
            "collections:\n  x: {schema: x, obs_collection: X, data_dir: .}\n")
        arguments += ["--collection", "nope", "--config", str(tmp_path / "collections.yaml")]
    else:
        (tmp_path / "collections.yaml").write_text("collections: [unclosed\n")
        arguments += ["--collection", "x", "--config", str(tmp_path / "collections.yaml")]
    assert main(arguments) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("ingest check: ") and message in captured.err


def test_check_runs_as_a_module(tmp_path):
    no_timesys = {"TIMESYS": None}
    directory = write_collection(tmp_path / "mini", Layout(events_header=no_timesys, gti_header=no_timesys))
    completed = subprocess.run([sys.executable, "-m", "ingest", "check", "--data", directory], cwd=PROJECT_ROOT,
                               capture_output=True, text=True)
    assert completed.returncode == 1, completed.stderr
    assert completed.stdout.startswith("obs 1001  REJECTED  obs_1001.fits.gz[EVENTS] TIMESYS: missing mandatory")
    assert "check mini: 1/1 obs" in completed.stderr


def test_show_prints_the_notes(etc, capsys):
    assert main(["show", "--etc", etc, "--collection", "cta_1dc", "--obs", "110380", "--columns", "obs_id"]) == 0
    assert "  note: gps_baseline_110380.fits[EVENTS] N_TELS: N_TELS = 0 is a placeholder: not published\n" in \
        capsys.readouterr().out
