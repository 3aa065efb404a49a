"""Several observations in one download: the bundle service, found through the #proc link of a
{links} response, streamed, opened by gammapy 2.1 as it is."""

import io
import tarfile
import threading
import time

import numpy as np
import pytest
import requests
from astropy.io import fits

from rights import MEMBER
from test_datalink import hdu_index, open_with_gammapy, source_hdu  # noqa: F401 (fixture)

CRAB_CONE = ("SELECT * FROM ivoa.obscore WHERE 1=CONTAINS(POINT('ICRS', s_ra, s_dec),"
             " CIRCLE('ICRS', 83.63, 22.01, 2))")
CTA_OBS = "110380"


def bundle_url(service):
    return f"{service.url}/bundle/q/dl/dlget"


def unpack(body, directory):
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as tar:
        tar.extractall(directory)
        return tar.getnames()


@pytest.fixture(scope="module")
def crab(tap):
    """The Crab cone search, and the bundle of all its observations fetched the VO way: the #proc
    row of the first row's {links}, called with every obs_publisher_did."""
    result = tap.search(CRAB_CONE)
    proc = result[0].getdatalink().get_first_proc()
    assert proc["semantics"] == "#proc" and proc["content_qualifier"] == "event-bundle"
    body = proc.process(ID=[str(did) for did in result["obs_publisher_did"]]).read()
    return result, body


def test_crab_bundle_opens_in_gammapy(crab, hdu_index, tmp_path):
    result, body = crab
    obs_ids = sorted(str(v) for v in result["obs_id"])
    assert len(obs_ids) == 4
    names = unpack(body, tmp_path)
    assert {"hdu-index.fits.gz", "obs-index.fits.gz"} <= set(names)
    found = open_with_gammapy(tmp_path, obs_ids)
    for obs_id in obs_ids:
        _, events = source_hdu(hdu_index, obs_id, "events")
        assert found[obs_id]["events"] == len(events)
        assert found[obs_id]["aeff_m2"] > 0 and found[obs_id]["psf"] > 0
        assert found[obs_id]["edisp"] >= 0 and found[obs_id]["bkg"] >= 0


def test_bundle_data_is_the_source_data(crab, hdu_index, tmp_path):
    result, body = crab
    unpack(body, tmp_path)
    for obs_id in (str(v) for v in result["obs_id"]):
        with fits.open(tmp_path / f"obs_{obs_id}_events.fits") as hdulist:
            header, data = source_hdu(hdu_index, obs_id, "events")
            for name in data.columns.names:
                np.testing.assert_array_equal(hdulist["EVENTS"].data[name], data[name])
            assert all(hdulist["EVENTS"].header[k] == header[k] for k in header
                       if k not in ("COMMENT", "HISTORY", ""))
            assert "AEFF" not in hdulist  # IRFs are in the IRF file
        with fits.open(tmp_path / f"obs_{obs_id}_irfs.fits") as hdulist:
            assert {h.header.get("HDUCLAS2") for h in hdulist[1:]} >= {"EFF_AREA", "EDISP", "BKG"}


def test_bundle_across_collections(service, tap, tmp_path, cta_dir):
    dids = ["ivo://cherenkov-dl3.vo/hess_dr1?23523", f"ivo://cherenkov-dl3.vo/cta_1dc?{CTA_OBS}"]
    response = requests.get(bundle_url(service), params={"ID": dids}, timeout=300)
    assert response.status_code == 200
    unpack(response.content, tmp_path)
    found = open_with_gammapy(tmp_path, ["23523", CTA_OBS])
    [row] = tap.search(f"SELECT ev_xel FROM ivoa.obscore WHERE obs_id='{CTA_OBS}'")
    assert found[CTA_OBS]["events"] == row["ev_xel"]
    assert found[CTA_OBS]["aeff_m2"] > 0 and found["23523"]["aeff_m2"] > 0


def _rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_bundle_is_streamed(service, tap):
    """All 105 H.E.S.S. observations (about 100 MB): sent in pieces with its Content-Length,
    while the server's resident memory stays far below the archive's size."""
    dids = [str(d) for d in tap.search("SELECT obs_publisher_did FROM hess_dr1.obs",
                                       maxrec=1000)["obs_publisher_did"]]
    # The first request builds the members into the product cache; measure the second.
    # (MEMBER: one of them is proprietary, see rights.py)
    requests.post(bundle_url(service), data={"ID": dids}, auth=MEMBER,
                  timeout=600).raise_for_status()
    # Each DaCHS process on its own (there may be several behind nginx; one streams).
    before = {pid: _rss_kb(pid) for pid in service.pids}
    peak, done = dict(before), threading.Event()

    def sample():
        while not done.is_set():
            for pid in service.pids:
                peak[pid] = max(peak[pid], _rss_kb(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    size = 0
    try:
        with requests.post(bundle_url(service), data={"ID": dids}, auth=MEMBER, stream=True,
                           timeout=600) as response:
            length = int(response.headers["content-length"])
            for chunk in response.iter_content(1 << 20):
                size += len(chunk)
    finally:
        done.set()
        sampler.join()
    assert size > 90e6 and size == length
    growth_mb = max(peak[pid] - before[pid] for pid in service.pids) / 1024
    # Bounded by the send queue (datalink/httpstream.py), not by the archive.
    assert growth_mb < 0.5 * size / 1e6, (growth_mb, size)


@pytest.mark.parametrize("ids, status, message", [
    (["ivo://cherenkov-dl3.vo/hess_dr1?99999999"], 404, "hess_dr1?99999999"),
    (["'; DROP TABLE hess_dr1.obs; --"], 404, "Not an observation ID"),
    (["ivo://cherenkov-dl3.vo/no_such_collection?1"], 404, "Not an observation ID"),
    ([], 422, "ID"),
    (["ivo://cherenkov-dl3.vo/hess_dr1?23523"] * 2 + ["ivo://cherenkov-dl3.vo/hess_dr1?1"], 404,
     "hess_dr1?1"),
])
def test_bad_requests_name_the_problem(service, ids, status, message):
    response = requests.post(bundle_url(service), data={"ID": ids}, timeout=120)
    assert response.status_code == status
    assert message in response.text


def test_too_many_observations(service):
    from datalink.bundle import MAX_OBSERVATIONS
    ids = ["ivo://cherenkov-dl3.vo/hess_dr1?23523"] * (MAX_OBSERVATIONS + 1)
    response = requests.post(bundle_url(service), data={"ID": ids}, timeout=120)
    assert response.status_code == 422
    assert f"at most {MAX_OBSERVATIONS}" in response.text
