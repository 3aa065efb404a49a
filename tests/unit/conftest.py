"""Fixtures of the unit tests: no DaCHS, no database.

The tests against real GADF data find it through HEOBS_DATA_ROOT (default: <project>/../shared/data,
which holds hess-dl3-dr1/ and cta-1dc/) and are skipped, saying why, where it is absent.
"""

import os
import sys

import pytest

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from ingest.config import load_collections, SiteConfig  # noqa: E402  (needs the path above)

DATA_ROOT = os.environ.get("HEOBS_DATA_ROOT",
                           os.path.join(os.path.dirname(PROJECT_ROOT), "shared", "data"))
HESS_DIR = os.path.join(DATA_ROOT, "hess-dl3-dr1")
CTA_INDEX_DIR = os.path.join(DATA_ROOT, "cta-1dc", "index", "gps")

TEST_AUTHORITY = "test.authority"


def _require(path, what):
    if not os.path.exists(path):
        pytest.skip(f"{what} not found at {path} (set HEOBS_DATA_ROOT to the directory holding "
                    f"hess-dl3-dr1/ and cta-1dc/)")
    return path


@pytest.fixture(scope="session")
def site():
    return SiteConfig(authority=TEST_AUTHORITY, site_name="Test site")


@pytest.fixture(scope="session")
def hess_dir():
    return _require(os.path.join(HESS_DIR, "hdu-index.fits.gz"), "H.E.S.S. DL3 DR1") and HESS_DIR


@pytest.fixture(scope="session")
def cta_index_dir():
    return _require(os.path.join(CTA_INDEX_DIR, "hdu-index.fits.gz"), "CTA 1DC") and CTA_INDEX_DIR


COLLECTIONS_YAML = """\
default: hess_dr1
collections:
  hess_dr1:
    schema: hess_dr1
    obs_collection: HESS-DL3-DR1
    data_dir: {hess}
    hdu_index: hdu-index.fits.gz
    obs_index: obs-index.fits.gz
    facility_name: H.E.S.S.
    creator_name: H.E.S.S. Collaboration
    bib_reference: 2018arXiv181004516H
    data_rights: public
    obs_release_date: "2018-09-25"
    site:
      name: H.E.S.S. site, Khomas Highland, Namibia
    defaults:
      obs_type: science
  cta_1dc:
    schema: cta_1dc
    obs_collection: CTA-1DC
    data_dir: {cta}
    hdu_index: hdu-index.fits.gz
    obs_index: obs-index.fits.gz
    facility_name: CTAO
    instrument_name: CTA South (1DC simulation)
    data_rights: public
    site:
      name: CTAO South, Paranal
      geo_lon: -70.3167
      geo_lat: -24.6833
      geo_alt: 2150
    defaults:
      obs_type: simulation
"""


@pytest.fixture(scope="session")
def collections_file(tmp_path_factory):
    """A collections.yaml for the real data (the project's own etc/ file may change under the tests)."""
    path = tmp_path_factory.mktemp("etc") / "collections.yaml"
    path.write_text(COLLECTIONS_YAML.format(hess=HESS_DIR, cta=CTA_INDEX_DIR))
    return str(path)


@pytest.fixture(scope="session")
def hess_collection(hess_dir, collections_file):
    return load_collections(collections_file, PROJECT_ROOT)["hess_dr1"]


@pytest.fixture(scope="session")
def cta_collection(cta_index_dir, collections_file):
    return load_collections(collections_file, PROJECT_ROOT)["cta_1dc"]
