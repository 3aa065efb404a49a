"""The README's recipe for HAWC's complete hdu-index, run as written on gammapy-data's template.

The template (fHit bin 1 of class GP, as gammapy-data ships it) is made here from the shared copy's
GP-5 rows; the recipe must give back the shared copy's index: the same rows, the same ten subsets.
"""

import os
import re
import shutil

from astropy.table import Table

from ingest.hdu_index import read_hdu_index
from tests.conftest import HAWC_DIR, PROJECT_ROOT

COLUMNS = ("OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME", "EVENT_TYPE", "EVENT_CLASS")


def recipe():
    with open(os.path.join(PROJECT_ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("### HAWC: a wide-field observatory"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def rows(path):
    table = Table.read(path)
    return sorted(tuple(str(row[c]).strip() for c in COLUMNS) for row in table)


def test_the_readme_writes_hawcs_complete_hdu_index(hawc_dir, tmp_path, monkeypatch):
    shared = Table.read(os.path.join(HAWC_DIR, "hdu-index.fits.gz"))
    gp5 = shared[[row["EVENT_CLASS"].strip() == "GP" and int(row["EVENT_TYPE"]) == 5 for row in shared]]
    gp5.remove_columns(["EVENT_TYPE", "EVENT_CLASS"])
    gp5["FILE_NAME"] = [name.replace("fHitbin5GP", "fHitbin1GP") for name in gp5["FILE_NAME"]]
    gp5.write(tmp_path / "hdu-index-table-GP-Crab.fits.gz")
    shutil.copy(os.path.join(HAWC_DIR, "obs-index.fits.gz"), tmp_path / "obs-index-table-GP-Crab.fits.gz")
    monkeypatch.chdir(tmp_path)
    exec(recipe(), {})
    assert rows(tmp_path / "hdu-index.fits.gz") == rows(os.path.join(HAWC_DIR, "hdu-index.fits.gz"))
    keys = read_hdu_index(str(tmp_path / "hdu-index.fits.gz")).datasets()
    assert len(keys) == 10 and "103000133-NN-9" in keys
    assert len(Table.read(tmp_path / "obs-index.fits.gz")) == 1
