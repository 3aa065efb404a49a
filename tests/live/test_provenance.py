"""Provenance of the published datasets through the real server (HE-OBSCORE-SPEC §9): the PROV
documents of {links} in PROV-JSON, PROV-XML and PROV-N (read back with the prov library) and
their graph; the ProvTAP views through TAP; the provenance of derived products written through
the API of provenance/derived.py, as the processing service does. That the rows follow updates,
withdrawals and drops: tests/live/test_ingest.py."""

import io
import json
import os
import subprocess
import urllib.parse

import prov
import pytest
import requests
from astropy.io import fits

import schemas
from ingest.hdu_index import read_hdu_index
from instance import PROJECT_ROOT, publication
from provenance import database, derived, documents
from provenance.records import Parameter
from rd import render

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PROVENANCE_TYPES = {"application/json": "json", "application/provenance+xml": "xml",
                    "text/provenance-notation;charset=utf-8": "provn"}
GAMMAPY_PYTHON = os.path.join(PROJECT_ROOT, ".venv-gammapy", "bin", "python")
PROV_READ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prov_read.py")


def did_of(service, schema, key):
    return f"ivo://{service.instance.site.authority}/{schema}?{key}"


def provenance_links(service, schema, did):
    """{local_semantics and content_type: link row} of the provenance rows of a {links} response."""
    import pyvo
    url = f"{service.url}/{schema}/q/dl/dlmeta?ID={urllib.parse.quote(did)}"
    links = pyvo.dal.adhoc.DatalinkResults.from_result_url(url)
    return {(row["local_semantics"], row["content_type"]): row for row in links
            if (row["local_semantics"] or "").startswith("provenance")}


def fetch(row):
    response = requests.get(row["access_url"], timeout=120)
    assert response.status_code == 200, response.text[:300]
    assert len(response.content) == int(row["content_length"])
    assert response.headers["content-type"] == row["content_type"]
    return response.content


@pytest.fixture(scope="module")
def hess_23523(service):
    return did_of(service, "hess_dr1", "23523")


def test_links_offer_the_provenance_in_three_serialisations_and_a_graph(service, hess_23523):
    links = provenance_links(service, "hess_dr1", hess_23523)
    assert set(links) == {("provenance", t) for t in PROVENANCE_TYPES} | {
        ("provenance-graph", "image/png")}
    assert {row["semantics"] for row in links.values()} == {"#documentation"}
    assert all(not row["error_message"] for row in links.values())
    assert fetch(links[("provenance-graph", "image/png")]).startswith(PNG_SIGNATURE)


def read_everywhere(tmp_path, bodies):
    """The three documents read with Debian's prov (JSON, XML) and with PyPI's prov 3 (all three,
    in .venv-gammapy: prov_read.py): {"same": ..., "entities": {uri: label}, ...}."""
    debian = [prov.read(io.StringIO(bodies[fmt].decode()), format=fmt) for fmt in ("json", "xml")]
    assert debian[0] == debian[1]
    paths = []
    for fmt in ("json", "xml", "provn"):
        path = tmp_path / f"document.{fmt}"
        path.write_bytes(bodies[fmt])
        paths.append(str(path))
    out = subprocess.run([GAMMAPY_PYTHON, PROV_READ, *paths], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    read = json.loads(out.stdout)
    assert read["same"], "PROV-JSON, PROV-XML and PROV-N differ"
    uris = {record.identifier.uri for record in debian[0].get_records(prov.model.ProvElement)}
    assert uris == set(read["entities"]) | set(read["activities"]) | set(read["agents"])
    return read


@pytest.mark.parametrize("schema, key", [("hess_dr1", "23523"), ("cta_1dc", "110380")])
def test_documents_name_exactly_the_datasets_hdus_and_the_ingest(service, schema, key, tmp_path):
    """Every HDU the hdu-index lists for the dataset (file relative to the data directory and
    EXTNAME) and no other, the ingest activity with this project's version; CTA 1DC's IRFs come
    from a calibration file shared by all four observations."""
    did = did_of(service, schema, key)
    links = provenance_links(service, schema, did)
    bodies = {fmt: fetch(links[("provenance", t)]) for t, fmt in PROVENANCE_TYPES.items()}
    read = read_everywhere(tmp_path, bodies)
    collection = next(c for c in service.instance.collections.values() if c.schema == schema)
    entries = read_hdu_index(collection.hdu_index_path).entries_for(key)
    expected = {f"{did}#{e.hdu_type}": f"{os.path.basename(e.path)}[{e.hdu_name.upper()}]"
                for e in entries}
    hdus = {uri: label for uri, label in read["entities"].items() if uri.startswith(f"{did}#")
            and "." not in uri.split("#")[1]}  # parameters are did#<activity>.<name>
    assert hdus == expected
    document = prov.read(io.StringIO(bodies["json"].decode()), format="json")
    locations = {r.identifier.uri: str(next(iter(r.get_attribute("prov:location"))))
                 for r in document.get_records(prov.model.ProvEntity) if r.identifier.uri in expected}
    assert locations == {f"{did}#{e.hdu_type}": os.path.relpath(e.path, collection.data_dir)
                         for e in entries}
    assert read["activities"][f"{did}#ingest"] == "HE-ObsCore ingest"
    [ingest] = [r for r in document.get_records(prov.model.ProvActivity)
                if r.identifier.uri == f"{did}#ingest"]
    assert {str(v) for v in ingest.get_attribute("voprov:version")} == {publication.project_version()}
    assert read["entities"][did].startswith(f"{collection.obs_collection} {key}")


def test_the_event_list_of_23523_was_written_by_what_its_header_says(tap, hess_23523, hess_dir):
    """ProvTAP: which software, in which version, wrote the event list of obs 23523."""
    [row] = tap.search(
        "SELECT a.name, a.version, a.end_time FROM provenance.wasgeneratedby AS g"
        " JOIN provenance.activity AS a ON a.id = g.activity_id"
        f" WHERE g.entity_id = '{hess_23523}#events'")
    header = fits.getheader(os.path.join(hess_dir, "data", "hess_dl3_dr1_obs_id_023523.fits.gz"),
                            "EVENTS")
    assert row["name"] == header["CREATOR"] == "SASH FITS::EventListWriter"
    assert row["version"] == str(header["EVTVER"]) == "1.4"
    assert str(row["end_time"]).startswith(header["DATE"].replace("T", " ")[:10])
    [creator] = tap.search(f"SELECT creator, creator_version FROM ivoa.obscore_hea"
                           f" WHERE obs_publisher_did = '{hess_23523}'")
    assert (creator["creator"], creator["creator_version"]) == (row["name"], row["version"])


def test_the_dataset_was_generated_by_its_ingest(tap, hess_23523):
    """ProvTAP: which activity generated a dataset, and what configured it."""
    [row] = tap.search(
        "SELECT a.id, a.type, a.name, a.version, a.start_time, a.end_time"
        " FROM provenance.wasgeneratedby AS g JOIN provenance.activity AS a ON a.id = g.activity_id"
        f" WHERE g.entity_id = '{hess_23523}'")
    assert (row["id"], row["type"], row["name"]) == (f"{hess_23523}#ingest", "ingest",
                                                     "HE-ObsCore ingest")
    assert row["version"] == publication.project_version()
    assert row["start_time"] <= row["end_time"]
    parameters = {r["name"]: r["param_value"] for r in tap.search(
        f"SELECT name, param_value FROM provenance.parameter WHERE activity_id = '{hess_23523}#ingest'")}
    [fingerprint] = tap.search(f"SELECT source_fingerprint FROM hess_dr1.obs"
                               f" WHERE obs_publisher_did = '{hess_23523}'")
    assert parameters["source_fingerprint"] == fingerprint["source_fingerprint"]
    assert set(parameters) == {"collection", "hdu_index", "obs_index", "configuration_fingerprint",
                               "source_fingerprint"}


def test_every_published_dataset_has_its_provenance(tap):
    """The DL3 datasets, and the products of the processing service (test_processing.py) too."""
    [row] = tap.search("SELECT COUNT(*) AS n FROM ivoa.obscore AS o"
                       " JOIN provenance.wasgeneratedby AS g ON g.entity_id = o.obs_publisher_did")
    [total] = tap.search("SELECT COUNT(*) AS n FROM ivoa.obscore")
    [dl3] = tap.search("SELECT COUNT(*) AS n FROM ivoa.obscore WHERE obs_collection != 'DERIVED'")
    assert row["n"] == total["n"] and dl3["n"] == 109


def test_what_datasets_share_is_listed_once(tap):
    """The agents, written with each dataset that names them, appear once each in the view."""
    rows = tap.search("SELECT id, name FROM provenance.agent")
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    assert {"H.E.S.S. Collaboration", "CTA Consortium", "IRAP"} <= {r["name"] for r in rows}


def test_the_tables_have_their_indexes_after_a_first_ingest(service):
    """A collection's first load builds the provenance tables' indexes after the rows are in
    (provenance/database.py, indexes_built_after): they must all be there."""
    found = {}
    for table, definition in service.instance.db.query(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'hess_dr1'"
            " AND tablename LIKE 'prov%'"):
        found.setdefault(table, set()).add(definition.split("(")[-1].rstrip(")"))
    assert found == {f"prov_{t}": {"obs_publisher_did", *render.PROVENANCE_INDEXES.get(t, ())}
                     for t in schemas.PROVENANCE_TABLES}


@pytest.mark.parametrize("view", schemas.PROVENANCE_TABLES)
def test_tap_schema_describes_the_provenance_views(tap, view):
    rows = tap.search("SELECT column_name, unit, ucd, description FROM TAP_SCHEMA.columns"
                      f" WHERE table_name = 'provenance.{view}'")
    published = {r["column_name"]: r for r in rows}
    defined = schemas.columns_in(f"prov_{view}")
    assert set(published) == {c.name for c in defined}
    for column in defined:
        row = published[column.name]
        assert ((row["unit"] or ""), row["ucd"]) == (column.unit, column.ucd), column.name
        assert " ".join(row["description"].split()) == column.description, column.name


# ---- derived products, recorded as the processing service does

@pytest.fixture
def products_schema(service):
    """A schema holding products' provenance, as the processing service's: its RD declares the
    tables with rd/render.py, `dachs imp` makes them, and the provenance views take them in."""
    inst, schema = service.instance, "provtest"
    path = os.path.join(inst.root, "inputs", schema, "q.rd")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'<resource schema="{schema}" resdir="{os.path.dirname(path)}">\n'
                '  <meta name="title">Products of the provenance tests</meta>\n'
                '  <meta name="description">Provenance rows written by test_provenance.py</meta>\n'
                '  <meta name="creationDate">2026-11-21T00:00:00</meta>\n'
                '  <meta name="subject">gamma-ray-astronomy</meta>\n'
                f"{render.provenance_tables()}{render.provenance_data()}</resource>\n")
    inst.dachs("imp", f"{schema}/q")
    inst.publish_views()
    yield schema
    inst.drop_views()
    inst.dachs("drop", f"{schema}/q")
    os.unlink(path)
    inst.publish_views()


def test_products_derived_from_23523(service, tap, products_schema, hess_23523):
    """ProvTAP: which products were derived from obs 23523; the job of two products is one
    activity, and a product's document holds the DL3 datasets it was made from."""
    authority = service.instance.site.authority
    hess_23526 = did_of(service, "hess_dr1", "23526")
    job = derived.Job(
        id=f"ivo://{authority}/proctest?job-1", software="gammapy", version="2.1",
        started=publication.utc_now(), ended=publication.utc_now(), inputs=(hess_23523, hess_23526),
        parameters=(Parameter("on_radius", 0.11, unit="deg", ucd="phys.angSize"),),
        title="Crab spectrum and flux points")
    spectrum = derived.Product(did_of(service, products_schema, "job-1-spectrum"),
                               "Crab spectrum dataset (DL4)", "public")
    points = derived.Product(did_of(service, products_schema, "job-1-points"), "Crab flux points (DL5)",
                             "public", derived_from=(spectrum.did,))
    other = derived.Product(did_of(service, products_schema, "job-2-lightcurve"), "Light curve", "public")
    other_job = derived.Job(id=f"ivo://{authority}/proctest?job-2", software="gammapy", version="2.1",
                            started=job.started, ended=job.ended, inputs=(hess_23526,))
    records = [derived.product_records(job, p, service.instance.site) for p in (spectrum, points)]
    records.append(derived.product_records(other_job, other, service.instance.site))
    with service.instance.db.transaction() as cursor:
        database.write(cursor, products_schema, records)

    # (the processing service's own products of 23523, test_processing.py, are in schema derived)
    rows = tap.search("SELECT generated_entity_id FROM provenance.wasderivedfrom"
                      f" WHERE used_entity_id = '{hess_23523}'"
                      f" AND generated_entity_id LIKE 'ivo://{authority}/{products_schema}?%'")
    assert {r["generated_entity_id"] for r in rows} == {spectrum.did, points.did}
    [activity] = tap.search(f"SELECT * FROM provenance.activity WHERE id = '{job.id}'")
    assert (activity["name"], activity["version"], activity["type"]) == ("gammapy", "2.1", "processing")
    [used] = tap.search(f"SELECT COUNT(*) AS n FROM provenance.used WHERE activity_id = '{job.id}'")
    assert used["n"] == 2  # written with both products, listed once

    connection = service.instance.db.connect()
    try:
        with connection.cursor() as cursor:
            stored = database.read(cursor, products_schema, points.did)
            document = documents.document(stored, database.entities(cursor, stored.named_entities()))
    finally:
        connection.close()
    labels = {r.identifier.uri: str(next(iter(r.get_attribute("prov:label"))))
              for r in document.get_records(prov.model.ProvEntity) if r.get_attribute("prov:label")}
    assert labels[hess_23523] == "HESS-DL3-DR1 23523 (Crab Nebula): event list"
    assert {spectrum.did, points.did, hess_23526} <= set(labels)

    with service.instance.db.transaction() as cursor:
        database.delete(cursor, products_schema, [spectrum.did, points.did])
    rows = tap.search("SELECT generated_entity_id FROM provenance.wasderivedfrom"
                      f" WHERE used_entity_id = '{hess_23526}'"
                      f" AND generated_entity_id LIKE 'ivo://{authority}/{products_schema}?%'")
    assert {r["generated_entity_id"] for r in rows} == {other.did}


def test_the_readme_provenance_queries(service, hess_23523):
    """The pyvo block of the README's "Provenance" section, as written (with this test
    instance's URL and authority)."""
    import re

    with open(os.path.join(PROJECT_ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("### Provenance: how each dataset was made")
    [block] = re.findall(r"```python\n(.*?)```", text[start:text.index("\n### ", start + 1)], re.S)
    names = {}
    exec(block.replace("http://localhost:8080", service.url).replace(
        "cherenkov-dl3.vo", service.instance.site.authority), names)
    assert (names["software"]["name"], names["software"]["version"]) == (
        "SASH FITS::EventListWriter", "1.4")
    assert names["ingest"]["id"] == f"{hess_23523}#ingest"
    assert names["ingest"]["version"] == publication.project_version()
    assert len(names["products"]) == 0  # no processing has made anything of it here
