"""DataLink of the collections, through a real server and pyvo (HE-OBSCORE-SPEC §6, CLIENTS.md)."""

import io
import json
import os
import subprocess
import tarfile
import urllib.parse

import numpy as np
import pytest
import requests
from astropy.io import fits

HESS = "obs_collection='HESS-DL3-DR1'"
DID = "ivo://cherenkov-dl3.vo/hess_dr1?{}"
SAMPLE_RUNS = ["23523", "20136", "33787"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# hdu-index HDU_TYPE -> the content_qualifier of its #calibration link
IRF_QUALIFIERS = {"aeff": "aeff", "edisp": "edisp", "psf": "psf", "bkg": "bkgrate",
                  "rad_max": "rad_max"}
EVENT_HDUS = {"EVENTS", "GTI", "POINTING"}


# ---- the source files, read here independently of the service


@pytest.fixture(scope="module")
def hdu_index(hess_dir):
    """{obs_id: {hdu_type: (path, hdu_name)}} from the release's hdu-index."""
    index = {}
    with fits.open(os.path.join(hess_dir, "hdu-index.fits.gz")) as hdulist:
        for row in hdulist[1].data:
            path = os.path.join(hess_dir, row["FILE_DIR"].strip(), row["FILE_NAME"].strip())
            index.setdefault(str(int(row["OBS_ID"])), {})[row["HDU_TYPE"].strip().lower()] = (
                path, row["HDU_NAME"].strip())
    return index


def source_hdu(hdu_index, obs_id, hdu_type):
    path, name = hdu_index[obs_id][hdu_type]
    with fits.open(path) as hdulist:
        hdu = hdulist[name]
        return hdu.header.copy(), hdu.data.copy()


def expected_links(hdu_types):
    """{(semantics, content_qualifier)} of an observation with these hdu-index types."""
    links = {("#this", "event-list"), ("#package", "event-bundle"), ("#preview-image", "preview"),
             ("#preview-plot", "preview"), ("#documentation", None),
             ("#proc", "event-bundle"),  # the multi-observation bundle service
             ("#proc", None)}  # the processing service (test_processing.py)
    links |= {("#calibration", IRF_QUALIFIERS[t]) for t in hdu_types if t in IRF_QUALIFIERS}
    return links


def link_set(datalinks):
    return {(row["semantics"], row["content_qualifier"] or None) for row in datalinks}


def obs_id_of(did):
    return did.split("?")[-1]


# ---- every observation has its full link set, through both tables


@pytest.mark.parametrize("query", [
    f"SELECT * FROM ivoa.obscore WHERE {HESS}",
    "SELECT * FROM hess_dr1.obs",
])
def test_iter_datalinks_gives_every_link(tap, hdu_index, query):
    result = tap.search(query, maxrec=10000)
    assert len(result) == 105
    seen = set()
    for datalinks in result.iter_datalinks():
        ids = set(datalinks["ID"])
        assert len(ids) == 1
        obs_id = obs_id_of(ids.pop())
        seen.add(obs_id)
        assert all(not msg for msg in datalinks["error_message"]), list(datalinks["error_message"])
        assert link_set(datalinks) == expected_links(hdu_index[obs_id])
        assert all(int(row["content_length"]) > 0 for row in datalinks if not row["service_def"])
        this = list(datalinks.bysemantics("#this", include_narrower=False))
        assert len(this) == 1 and this[0].content_type == "application/fits"
    assert seen == set(hdu_index)


def test_getdatalink_on_one_row(tap):
    """What gammapy's VO client does: row.getdatalink(), rows keyed by content_qualifier."""
    row = tap.search("SELECT * FROM ivoa.obscore WHERE obs_id='23523'")[0]
    datalinks = row.getdatalink()
    qualifiers = {r["content_qualifier"]: r["access_url"] for r in datalinks
                  if r["semantics"] in ("#this", "#calibration")}
    assert set(qualifiers) == {"event-list", "aeff", "edisp", "psf", "bkgrate"}
    assert len(set(qualifiers.values())) == 5  # separate files, not one bundle


# ---- downloads of three observations


@pytest.fixture(scope="module", params=SAMPLE_RUNS)
def downloads(request, service):
    """(obs_id, [(link row as dict, body bytes, response headers)]) of one observation."""
    import pyvo
    obs_id = request.param
    dl_url = f"{service.url}/hess_dr1/q/dl/dlmeta"
    datalinks = pyvo.dal.adhoc.DatalinkResults.from_result_url(
        f"{dl_url}?ID={urllib.parse.quote(DID.format(obs_id))}")
    got = []
    for row in datalinks:
        if row["service_def"]:
            continue  # the bundle and processing services (test_bundle.py, test_processing.py)
        response = requests.get(row["access_url"], timeout=60)
        assert response.status_code == 200, (row["access_url"], response.text[:300])
        got.append(({k: row[k] for k in ("semantics", "content_qualifier", "content_type",
                                          "content_length", "access_url", "local_semantics")},
                    response.content, response.headers))
    return obs_id, got


def test_content_length_and_type_are_true(downloads):
    _, got = downloads
    for row, body, headers in got:
        # DaCHS may send Content-Encoding: gzip to clients that accept it; requests decodes it.
        assert int(row["content_length"]) == len(body), row
        assert headers["content-type"] == row["content_type"], row
        assert headers.get("content-encoding", "gzip") == "gzip"


def test_content_length_header_without_compression(downloads):
    _, got = downloads
    for row, _, _ in got:
        response = requests.get(row["access_url"], headers={"Accept-Encoding": "identity"},
                                timeout=60)
        assert "content-encoding" not in response.headers
        assert len(response.content) == int(row["content_length"]), row


def _open(body):
    return fits.open(io.BytesIO(body))


def _assert_same_hdu(hdu, source_header, source_data):
    for key in source_header:
        if key in ("COMMENT", "HISTORY", ""):
            continue
        assert hdu.header[key] == source_header[key], key
    assert hdu.data.columns.names == source_data.columns.names
    for name in source_data.columns.names:
        np.testing.assert_array_equal(hdu.data[name], source_data[name])


def test_event_list(downloads, hdu_index):
    obs_id, got = downloads
    [(row, body, _)] = [g for g in got if g[0]["semantics"] == "#this"]
    with _open(body) as hdulist:
        names = [hdu.name for hdu in hdulist[1:]]
        expected = [n.upper() for t, (_, n) in hdu_index[obs_id].items()
                    if t in ("events", "gti", "pointing")]
        assert sorted(names) == sorted(expected)
        assert set(names) <= EVENT_HDUS  # no IRF here: #calibration delivers them
        for hdu_type in ("events", "gti"):
            header, data = source_hdu(hdu_index, obs_id, hdu_type)
            _assert_same_hdu(hdulist[hdu_type.upper()], header, data)
        assert hdulist["EVENTS"].header["HDUCLAS1"] == "EVENTS"


def test_calibration_files(downloads, hdu_index):
    obs_id, got = downloads
    calibration = {g[0]["content_qualifier"]: g[1] for g in got if g[0]["semantics"] == "#calibration"}
    for hdu_type, qualifier in IRF_QUALIFIERS.items():
        if hdu_type not in hdu_index[obs_id]:
            assert qualifier not in calibration
            continue
        with _open(calibration[qualifier]) as hdulist:
            assert len(hdulist) == 2  # primary + the one IRF
            header, data = source_hdu(hdu_index, obs_id, hdu_type)
            _assert_same_hdu(hdulist[1], header, data)
            assert hdulist[1].header["HDUCLASS"] == "GADF"
            assert hdulist[1].header["HDUCLAS1"] == "RESPONSE"
            assert hdulist[1].header["HDUCLAS2"]


def test_previews_are_png(downloads):
    _, got = downloads
    previews = [g for g in got if g[0]["content_qualifier"] == "preview"]
    assert {g[0]["semantics"] for g in previews} == {"#preview-image", "#preview-plot"}
    for row, body, _ in previews:
        assert row["content_type"] == "image/png"
        assert body.startswith(PNG_SIGNATURE)


def test_documentation(downloads):
    """The collection's documentation; the dataset's provenance, #documentation too, is told
    apart by its local_semantics (test_provenance.py)."""
    _, got = downloads
    [(row, body, _)] = [g for g in got if g[0]["semantics"] == "#documentation"
                        and not g[0]["local_semantics"]]
    text = body.decode("utf-8")
    assert "No scientific publications may be derived from the data" in text  # the licence
    assert "HESS DL3 DR1" in text  # the release's README.txt


def _unpack(body, directory):
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as tar:
        names = tar.getnames()
        tar.extractall(directory)
    return names


def test_package(downloads, hdu_index, tmp_path):
    obs_id, got = downloads
    [(row, body, _)] = [g for g in got if g[0]["semantics"] == "#package"]
    assert row["content_type"] == "application/x-tar"
    names = _unpack(body, tmp_path)
    assert "hdu-index.fits.gz" in names and "obs-index.fits.gz" in names
    # What DataStore.from_dir reads: every hdu-index row points to an existing file and HDU.
    with fits.open(tmp_path / "hdu-index.fits.gz") as index:
        rows = index[1].data
        assert {str(int(v)) for v in rows["OBS_ID"]} == {obs_id}
        assert {t.strip() for t in rows["HDU_TYPE"]} == set(hdu_index[obs_id])
        for r in rows:
            path = tmp_path / r["FILE_DIR"].strip() / r["FILE_NAME"].strip()
            with fits.open(path) as hdulist:
                hdu = hdulist[r["HDU_NAME"].strip()]
                header, data = source_hdu(hdu_index, obs_id, r["HDU_TYPE"].strip())
                _assert_same_hdu(hdu, header, data)
    with fits.open(tmp_path / "obs-index.fits.gz") as obs_index:
        assert [str(int(v)) for v in obs_index[1].data["OBS_ID"]] == [obs_id]


GAMMAPY_PYTHON = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), ".venv-gammapy", "bin", "python")


def open_with_gammapy(directory, obs_ids):
    """DataStore.from_dir in gammapy 2.1's own virtualenv (made by `make setup`)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gammapy_open.py")
    out = subprocess.run([GAMMAPY_PYTHON, script, str(directory), *obs_ids],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.splitlines()[-1])


def test_package_opens_in_gammapy(downloads, hdu_index, tmp_path):
    obs_id, got = downloads
    [(row, body, _)] = [g for g in got if g[0]["semantics"] == "#package"]
    _unpack(body, tmp_path)
    found = open_with_gammapy(tmp_path, [obs_id])[obs_id]
    _, events = source_hdu(hdu_index, obs_id, "events")
    assert found["events"] == len(events)
    # Each IRF evaluates to a finite, physical value at 1 TeV and 0.5 deg.
    assert found["aeff_m2"] > 0
    assert found["edisp"] >= 0 and found["psf"] > 0 and found["bkg"] >= 0


# ---- many IDs, unknown and malformed IDs


def _votable(content):
    from astropy.io.votable import parse
    return parse(io.BytesIO(content))


def test_many_ids_and_bad_ones_in_one_request(service, hdu_index):
    good = [DID.format(obs_id) for obs_id in ("23523", "23526", "20136")]
    bad = ["ivo://cherenkov-dl3.vo/hess_dr1?99999999", "not an id at all", ""]
    url = f"{service.url}/hess_dr1/q/dl/dlmeta"
    response = requests.post(url, data={"ID": good + bad}, timeout=120)
    assert response.status_code == 200
    table = _votable(response.content).get_first_table().to_table()
    ids = [str(v) for v in table["ID"]]
    for did in good:
        rows = table[[i == did for i in ids]]
        assert {(r["semantics"], str(r["content_qualifier"] or "") or None) for r in rows} == \
            expected_links(hdu_index[obs_id_of(did)])
    for did in bad[:2]:
        rows = table[[i == did for i in ids]]
        assert len(rows) == 1 and "NotFoundFault" in str(rows[0]["error_message"])
    # the rows of one ID are consecutive (DataLink 1.1, §3.2)
    runs = [i for n, i in enumerate(ids) if n == 0 or ids[n - 1] != i]
    assert len(runs) == len(set(runs))


def test_unknown_id_alone(service):
    url = f"{service.url}/hess_dr1/q/dl/dlmeta"
    response = requests.get(url, params={"ID": "ivo://cherenkov-dl3.vo/hess_dr1?1"}, timeout=60)
    assert response.status_code == 200
    table = _votable(response.content).get_first_table().to_table()
    assert len(table) == 1 and "NotFoundFault" in str(table[0]["error_message"])


def test_dlget_errors_are_not_500(service):
    url = f"{service.url}/hess_dr1/q/dl/dlget"
    assert requests.get(url, params={"ID": "nonsense", "PART": "aeff"}, timeout=60).status_code == 404
    assert requests.get(url, params={"ID": DID.format("23523"), "PART": "nope"},
                        timeout=60).status_code == 422


# ---- the split files, opened as gammapy's VO client does (CLIENTS.md)

VO_CLIENT_QUALIFIERS = {"event-list", "aeff", "edisp", "psf", "bkgrate"}
# The TAP columns it turns into its obs-index (and the time reference of TSTART/TSTOP).
VO_CLIENT_COLUMNS = ["obs_id", "obs_mode", "ra_pnt", "dec_pnt", "alt_pnt", "az_pnt", "zen_pnt",
                     "tstart", "tstop", "ontime", "livetime", "deadc", "n_tels", "tellist",
                     "object", "mjdrefi", "mjdreff", "timesys"]


def test_split_files_open_like_gammapy_vo_client(tap, hdu_index, tmp_path):
    """#this + each #calibration, keyed by content_qualifier; the hdu-index built from the HDUs
    (EXTNAME, HDUCLAS2/4) and the obs-index from the TAP row must load the observations, each IRF
    once."""
    result = tap.search("SELECT * FROM hess_dr1.obs WHERE 1=CONTAINS(POINT('ICRS', s_ra, s_dec),"
                        " CIRCLE('ICRS', 83.63, 22.01, 2))")
    observations = []
    for row in result:
        links = {r["content_qualifier"]: r["access_url"] for r in row.getdatalink()
                 if r["semantics"] in ("#this", "#calibration")}
        assert set(links) == VO_CLIENT_QUALIFIERS
        assert len(set(links.values())) == len(links)  # not one bundle behind every link
        files = []
        for qualifier, url in links.items():
            path = tmp_path / f"{row['obs_id']}_{qualifier}.fits"
            path.write_bytes(requests.get(url, timeout=120).content)
            files.append(str(path))
        observations.append({"files": files, "row": {
            name: _plain(row[name]) for name in VO_CLIENT_COLUMNS}})
    description = tmp_path / "observations.json"
    description.write_text(json.dumps(observations))
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gammapy_vo_client.py")
    out = subprocess.run([GAMMAPY_PYTHON, script, str(description)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.splitlines()[-1])
    assert len(found) == 4
    for obs_id, values in found.items():
        assert values["hdu_types"] == sorted(hdu_index[obs_id])  # each HDU once
        _, events = source_hdu(hdu_index, obs_id, "events")
        assert values["events"] == len(events)
        assert values["aeff_m2"] > 0 and values["psf"] > 0


def _plain(value):
    """A TAP value as JSON (numpy scalars and masked values)."""
    if np.ma.is_masked(value):
        return None
    return value.item() if hasattr(value, "item") else value
