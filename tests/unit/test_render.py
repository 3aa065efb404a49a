"""The generated RDs and userconfig.rd carry exactly the columns of schemas/columns.yaml."""

import json
import os
import re
import xml.etree.ElementTree as ET

import pytest

import schemas
from ingest import config
from rd import render

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def collection():
    collections = config.load_collections(
        os.path.join(PROJECT_ROOT, "etc", "collections.yaml"), PROJECT_ROOT)
    return next(iter(collections.values()))


def columns_of(element):
    return {c.get("name"): c for c in element.iter("column")}


def assert_columns_match(rendered, defined, table=None):
    assert list(rendered) == [c.name for c in defined]
    for col in defined:
        el = rendered[col.name]
        assert el.get("type") == col.type, col.name
        assert (el.get("unit") or "") == col.unit, col.name
        assert (el.get("ucd") or "") == col.ucd_in(table), col.name
        assert (el.get("utype") or "") == col.utype, col.name
        assert el.findtext("description") == col.description, col.name


def test_collection_rd_has_the_collection_columns(collection):
    rd = ET.fromstring(render.render_collection_rd(collection, "/data/hdu-index.fits.gz", "/r"))
    table = rd.find("table")
    assert table.get("id") == "obs"
    assert_columns_match(columns_of(table), schemas.columns_in("collection"), "collection")
    not_null = {c.name for c in schemas.load_columns() if c.not_null}
    required = {name for name, el in columns_of(table).items() if el.get("required") == "True"}
    assert required == not_null & {c.name for c in schemas.columns_in("collection")}


def test_every_obscore_column_is_fed_from_the_collection_table(collection):
    rd = ET.fromstring(render.render_collection_rd(collection, "/data/hdu-index.fits.gz", "/r"))
    mixin = rd.find("table/mixin")
    assert mixin.text == "//obscore#publish"
    fed = set(mixin.attrib)
    expected = {c.name for c in schemas.columns_in("obscore")} - {"source_table"}
    assert fed == expected
    # access_url is made from configuration at view creation, not stored
    assert "dlmeta?ID=" in mixin.get("access_url")


def test_hea_rd_selects_its_columns_from_each_collection(collection):
    rd = ET.fromstring(render.render_hea_rd([collection.schema], "/r"))
    table = rd.find("table")
    assert_columns_match(columns_of(table), schemas.columns_in("hea"))
    names = ", ".join(c.name for c in schemas.columns_in("hea"))
    assert f"SELECT {names} FROM {collection.schema}.obs" in table.findtext("viewStatement")


def test_userconfig_streams_agree_column_by_column():
    """DaCHS ignores disagreement between the three obscore streams; they must agree."""
    rd = ET.fromstring(render.render_userconfig())
    streams = {s.get("id"): s for s in rd.iter("STREAM")}
    extra = render.obscore_extra_columns()
    assert extra and all(not c.dachs for c in extra)
    assert_columns_match(columns_of(streams["obscore-extracolumns"]), extra)
    pars = [p.get("key") for p in streams["obscore-extrapars"].iter("mixinPar")]
    assert pars == [c.name for c in extra]
    clause = streams["obscore-extraevents"].find("property").text
    cast = re.findall(r"CAST\(\\\\(\w+) AS ([\w ]+)\) AS (\w+)", clause)
    assert cast == [(c.name, c.type, c.name) for c in extra]


def test_rendering_is_stable(collection):
    """A second `make serve` must find nothing changed."""
    first = render.render_collection_rd(collection, "/data/hdu-index.fits.gz", "/r")
    assert render.render_collection_rd(collection, "/data/hdu-index.fits.gz", "/r") == first


def test_each_collection_has_a_cone_search_with_a_test_query(collection):
    rd = ET.fromstring(render.render_collection_rd(collection, "/data/hdu-index.fits.gz", "/r"))
    services = {s.get("id"): s for s in rd.iter("service")}
    assert set(services) == {"dl", "cone"}
    cone = services["cone"]
    assert cone.find("scsCore").get("queriedTable") == "obs"
    meta = {m.get("name"): m.text for m in cone.iter("meta")}
    assert all(float(meta[f"testQuery.{k}"]) == v for k, v in
               zip(("ra", "dec", "sr"), render.cone_test_query(collection)))
    # DaCHS's SCS finds the position and the identifier by these UCDs
    ucds = {c.get("name"): c.get("ucd") for c in rd.find("table").iter("column")}
    assert ucds["s_ra"] == "pos.eq.ra;meta.main" and ucds["s_dec"] == "pos.eq.dec;meta.main"
    assert ucds["obs_id"] == "meta.id;meta.main"


def test_userconfig_has_the_tap_examples_for_the_given_collection():
    rd = ET.fromstring(render.render_userconfig("magic_dl3"))
    examples = [m for m in rd.find("STREAM[@id='tapexamples']").iter("meta")
                if m.get("name") == "_example"]
    assert len(examples) >= 5 and all(m.get("title") for m in examples)
    assert "FROM magic_dl3.obs" in "".join(m.text for m in examples)


def test_search_rd_names_the_collection_tables_and_the_name_resolver():
    """The web search page's core carries what dachs_ext/search_form.py reads: the collection
    tables by obs_collection, and Sesame's URLs and timeout from etc/site.yaml."""
    collections = config.load_collections(
        os.path.join(PROJECT_ROOT, "etc", "collections.yaml"), PROJECT_ROOT).values()
    resolver = config.NameResolver(sesame_urls=("http://a.example/s/", "https://b.example/?x&y"),
                                   timeout=2.5)
    rd = ET.fromstring(render.render_search_rd(collections, "/r", resolver))
    core = rd.find("dbCore")
    properties = {p.get("name"): p.text for p in core.findall("property")}
    assert json.loads(properties["collectionTables"]) == {
        c.obs_collection: f"{c.schema}.obs" for c in collections}
    assert properties["sesameURLs"].split() == list(resolver.sesame_urls)
    assert float(properties["sesameTimeout"]) == 2.5
    met = [key for key in core.iter("inputKey") if key.get("name") == "met_collection"][0]
    assert [o.text for o in met.iter("option")] == [c.obs_collection for c in collections]
