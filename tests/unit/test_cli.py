"""python3 -m ingest show."""

import os
import shutil
import subprocess
import sys

import pytest

from ingest.__main__ import PROJECT_ROOT, main


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
    assert "polygon of 32 vertices" in out
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
