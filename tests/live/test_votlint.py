"""stilts votlint, the community's VOTable validator, on TAP, cone-search and DataLink responses,
results and errors alike.

Reports go to tests/artefacts/votlint.txt.  The warnings that remain are listed in the README
("Validator findings that remain") with their reason; the test fails on any error and on any
other warning.
"""

import os
import subprocess
import urllib.parse

import pytest
import requests

from versions import stilts_version

ARTEFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "artefacts")
DID = "ivo://cherenkov-dl3.vo/{}?{}"

KNOWN_WARNINGS = (
    # DaCHS marks MJD columns (t_min, t_max) xtype="mjd", which DALI does not define (STILTS
    # 3.4.7 says "Non-DALI xtype value", 3.5.2 "Non-DALI 1.1 xtype value").
    'xtype value "mjd"',
    # DaCHS names both the DataLink service-descriptor RESOURCE and another element after the
    # service: "links" (the links table, DaCHS 2.7), "dl" (DaCHS 2.11).
    "Name 'links' already used in this VOTABLE",
    "Name 'dl' already used in this VOTABLE",
    # DaCHS 2.7's RESPONSEFORMAT parameter (MAXREC=0 metadata answers) lists each format under
    # several MIME types, the aliases sharing one OPTION name.
    "already used in this VALUES",
)


def tap(query, **extra):
    return "/tap/sync?" + urllib.parse.urlencode(
        dict(REQUEST="doQuery", LANG="ADQL", QUERY=query, **extra))


def cone(schema, query):
    return f"/{schema}/q/cone/scs.xml?{query}"


def links(schema, *obs_ids):
    return f"/{schema}/q/dl/dlmeta?" + urllib.parse.urlencode(
        [("ID", DID.format(schema, o)) for o in obs_ids])


# Responses with the collection tables' s_region (a pgSphere polygon, DALI xtype "polygon":
# collection-table TAP queries and cone searches) are asked for in TABLEDATA: STILTS 3.4.7's votlint runs out of memory on any BINARY/BINARY2 polygon column,
# including one STILTS wrote itself (test_votlint_polygon_crash_is_stilts_own below).
DOCUMENTS = {
    "tap-obscore-natural-join-hea": tap(
        "SELECT * FROM ivoa.obscore NATURAL JOIN ivoa.obscore_hea"),
    "tap-obscore-crab-cone": tap(
        "SELECT * FROM ivoa.obscore WHERE 1=CONTAINS(POINT('ICRS', s_ra, s_dec),"
        " CIRCLE('ICRS', 83.633, 22.0145, 3))"),
    "tap-collection-table": tap("SELECT * FROM hess_dr1.obs", FORMAT="votable/td"),
    "tap-collection-table-cta": tap("SELECT * FROM cta_1dc.obs", FORMAT="votable/td"),
    "tap-schema-columns": tap("SELECT * FROM TAP_SCHEMA.columns"),
    "tap-empty-result": tap("SELECT * FROM ivoa.obscore WHERE energy_max < 0"),
    "tap-overflow": tap("SELECT * FROM ivoa.obscore", MAXREC="3"),
    "tap-error-syntax": tap("SELEC * FROM ivoa.obscore"),
    "tap-error-unknown-column": tap("SELECT nope FROM ivoa.obscore"),
    "scs-hess-crab": cone("hess_dr1", "RA=83.633&DEC=22.0145&SR=3&VERB=1"
                          "&RESPONSEFORMAT=votabletd"),
    "scs-hess-all-columns": cone("hess_dr1", "RA=83.633&DEC=22.0145&SR=3&VERB=3"
                                 "&RESPONSEFORMAT=votabletd"),
    "scs-cta": cone("cta_1dc", "RA=266&DEC=-28&SR=5&RESPONSEFORMAT=votabletd"),
    "scs-empty": cone("hess_dr1", "RA=10&DEC=80&SR=0.5"),
    "scs-metadata": cone("hess_dr1", "RA=10&DEC=80&SR=0.5&MAXREC=0"),
    "scs-error": cone("hess_dr1", "RA=1&DEC=100&SR=1"),
    "datalink-hess-one": links("hess_dr1", "23523"),
    "datalink-hess-three": links("hess_dr1", "23523", "20136", "33787"),
    "datalink-cta": links("cta_1dc", "110380"),
    "datalink-unknown-id": links("hess_dr1", "99999"),
}


def votlint(path_or_url):
    out = subprocess.run(["stilts", "votlint", f"votable={path_or_url}"],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
    return out.stdout + out.stderr


@pytest.fixture(scope="module")
def reports():
    reports = {}
    yield reports
    os.makedirs(ARTEFACTS, exist_ok=True)
    with open(os.path.join(ARTEFACTS, "votlint.txt"), "w") as f:
        for name, report in sorted(reports.items()):
            f.write(f"==== {name}\n{report}\n")


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_votlint_finds_no_error(service, reports, tmp_path, name):
    response = requests.get(service.url + DOCUMENTS[name], timeout=120)
    assert response.status_code == 200
    path = tmp_path / f"{name}.xml"
    path.write_bytes(response.content)
    report = reports[name] = votlint(str(path))
    lines = [line for line in report.splitlines() if line.strip()]
    problems = [line for line in lines if not line.startswith(("INFO", "WARNING"))]
    assert not problems, "\n".join(problems)
    warnings = [line for line in lines if line.startswith("WARNING")
                and not any(known in line for known in KNOWN_WARNINGS)]
    assert not warnings, "\n".join(warnings)


def test_votlint_polygon_crash_is_stilts_own(service, tmp_path):
    """Why the collection tables are linted in TABLEDATA: votlint 3.4.7 crashes on a BINARY
    polygon column even when STILTS wrote it itself (3.5.2 does not), and STILTS's reader (what
    TOPCAT uses) reads our BINARY polygons exactly as our TABLEDATA ones."""
    query = "SELECT TOP 3 obs_id, s_region FROM hess_dr1.obs ORDER BY obs_id"
    tabledata, binary, rewritten = (tmp_path / n for n in ("td.xml", "bin.xml", "stilts.xml"))
    tabledata.write_bytes(requests.get(service.url + tap(query, FORMAT="votable/td")).content)
    binary.write_bytes(requests.get(service.url + tap(query)).content)
    assert 'xtype="polygon"' in binary.read_text()
    as_csv = [subprocess.run(["stilts", "tpipe", f"in={p}", "ofmt=csv"], capture_output=True,
                             text=True, timeout=120, check=True).stdout
              for p in (tabledata, binary)]
    assert as_csv[0] == as_csv[1] and as_csv[0].count("\n") == 4
    subprocess.run(["stilts", "tpipe", f"in={tabledata}", "ofmt=votable-binary-inline",
                    f"out={rewritten}"], capture_output=True, timeout=120, check=True)
    report = votlint(str(rewritten))
    crashed = "OutOfMemoryError" in report or "Stream ended during data read" in report
    assert crashed == (stilts_version() < (3, 5)), report
    if not crashed:  # and our own BINARY2 polygons lint without error
        assert "ERROR" not in votlint(str(binary)), votlint(str(binary))
