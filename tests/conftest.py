"""Shared test set-up: the project root on sys.path and the location of the real data."""

import os
import sys

import pytest

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

DATA_ROOT = os.environ.get("HEOBS_DATA_ROOT",
                           os.path.join(os.path.dirname(PROJECT_ROOT), "shared", "data"))
HESS_DIR = os.path.join(DATA_ROOT, "hess-dl3-dr1")
CTA_DIR = os.path.join(DATA_ROOT, "cta-1dc")
HAWC_DIR = os.path.join(DATA_ROOT, "hawc-crab-pass4")


@pytest.fixture(scope="session")
def hess_dir():
    if not os.path.exists(os.path.join(HESS_DIR, "hdu-index.fits.gz")):
        pytest.skip(f"H.E.S.S. DL3 DR1 not found at {HESS_DIR} (set HEOBS_DATA_ROOT)")
    return HESS_DIR


@pytest.fixture(scope="session")
def hawc_dir():
    if not os.path.exists(os.path.join(HAWC_DIR, "hdu-index.fits.gz")):
        pytest.skip(f"HAWC Crab pass 4 not found at {HAWC_DIR} (set HEOBS_DATA_ROOT)")
    return HAWC_DIR


@pytest.fixture(scope="session")
def cta_dir():
    if not os.path.exists(os.path.join(CTA_DIR, "index", "gps", "hdu-index.fits.gz")):
        pytest.skip(f"CTA 1DC not found at {CTA_DIR} (set HEOBS_DATA_ROOT)")
    return CTA_DIR
