"""What is published: tables, their metadata in TAP_SCHEMA, indexes, and site configuration."""


import pytest
import requests

import schemas


def tap_schema_columns(tap, table):
    rows = tap.search("SELECT column_name, datatype, unit, ucd, utype, description"
                      f" FROM TAP_SCHEMA.columns WHERE table_name='{table}'", maxrec=10000)
    return {r["column_name"]: r for r in rows}


@pytest.mark.parametrize("table, schema_table", [
    ("ivoa.obscore", "obscore"), ("ivoa.obscore_hea", "hea"), ("hess_dr1.obs", "collection"),
    ("ivoa.obscore_gti", "gti"), ("cta_1dc.gti", "gti"), ("derived.products", "derived"),
    ("derived.progenitors", "progenitor")])
def test_tap_schema_agrees_with_schemas_column_by_column(tap, table, schema_table):
    """Every column as schemas/columns.yaml defines it; in ivoa.obscore, the columns DaCHS
    defines itself (`dachs: true`) carry the description of the DaCHS that runs (it changes
    between versions: "DaCHS versions" in the README)."""
    from dachs_ext.system_rds import obscore_columns

    published = tap_schema_columns(tap, table)
    defined = schemas.columns_in(schema_table)
    dachs_own = obscore_columns() if table == "ivoa.obscore" else {}
    assert set(published) == {c.name for c in defined}
    for col in defined:
        row = published[col.name]
        assert (row["unit"] or "") == col.unit, col.name
        assert (row["ucd"] or "") == col.ucd_in(schema_table), col.name
        if col.utype:
            assert (row["utype"] or "").lower() == col.utype.lower(), col.name
        description = dachs_own[col.name][0] if col.dachs and col.name in dachs_own \
            else col.description
        assert " ".join((row["description"] or "").split()) == description, col.name


def test_every_column_has_unit_ucd_and_description(tap):
    """TOPCAT shows these; a unitless column is fine only when the quantity has no unit."""
    rows = tap.search("SELECT table_name, column_name, ucd, description FROM TAP_SCHEMA.columns"
                      " WHERE table_name IN ('ivoa.obscore', 'ivoa.obscore_hea', 'hess_dr1.obs',"
                      " 'derived.products', 'derived.progenitors')",
                      maxrec=10000)
    missing = [f"{r['table_name']}.{r['column_name']}" for r in rows
               if not r["ucd"] or not (r["description"] or "").strip()]
    assert not missing
    unitless = {c.name for c in schemas.load_columns() if not c.unit}
    by_name = {c.name: c for c in schemas.load_columns()}
    rows = tap.search("SELECT column_name, unit FROM TAP_SCHEMA.columns"
                      " WHERE table_name='hess_dr1.obs'", maxrec=10000)
    for r in rows:
        if r["column_name"] not in unitless:
            assert r["unit"] == by_name[r["column_name"]].unit


def test_obscore_holds_the_collection(tap):
    rows = tap.search("SELECT COUNT(*) AS n FROM ivoa.obscore WHERE obs_collection='HESS-DL3-DR1'")
    assert rows[0]["n"] == 105
    rows = tap.search("SELECT COUNT(*) AS n FROM ivoa.obscore_hea")
    assert rows[0]["n"] >= 105
    rows = tap.search("SELECT COUNT(*) AS n FROM hess_dr1.obs")
    assert rows[0]["n"] == 105


def test_no_null_in_columns_shared_by_obscore_and_hea(tap):
    """NATURAL JOIN compares every shared column; a NULL there would drop the observation."""
    shared = [c.name for c in schemas.load_columns() if {"obscore", "hea"} <= set(c.tables)]
    condition = " OR ".join(f"{name} IS NULL" for name in shared)
    rows = tap.search(f"SELECT COUNT(*) AS n FROM ivoa.obscore_hea WHERE {condition}")
    assert rows[0]["n"] == 0


def _indexed_columns(service, table):
    sql = ("SELECT pg_get_indexdef(indexrelid) FROM pg_index"
           f" WHERE indrelid = '{table}'::regclass")
    return "\n".join(row[0] for row in service.instance.db.query(sql))


def test_spatial_time_and_energy_columns_are_indexed(service):
    indexes = _indexed_columns(service, "hess_dr1.obs")
    assert "q3c_ang2ipix(s_ra, s_dec)" in indexes
    for column in ("s_region", "t_min", "t_max", "energy_min", "energy_max", "obs_publisher_did"):
        assert f"({column})" in indexes, column


def test_cone_search_through_obscore_uses_the_index(service):
    """ivoa.obscore is a view: the planner must reach the collection table's q3c index."""
    sql = ("EXPLAIN SELECT * FROM ivoa.obscore WHERE"
           " q3c_join(83.633, 22.0145, s_ra, s_dec, 3)")
    plan = "\n".join(row[0] for row in service.instance.db.query(
        "SET enable_seqscan=off; " + sql))
    assert "q3c_hess_dr1_obs" in plan


def test_cone_through_obscore_is_not_jit_compiled(service):
    """DaCHS runs a query with a q3c condition with sequential scans off, which prices a table of
    ivoa.obscore's union that has no q3c index (the processing service's products) at 10^10:
    with JIT on, PostgreSQL compiled every such cone query (0.4 s of a 0.45 s TAP request).
    The instance's database has it off (instance/database.py, turn_jit_off)."""
    plan = "\n".join(row[0] for row in service.instance.db.query(
        "SET enable_seqscan=off; SET cursor_tuple_fraction=1; EXPLAIN (ANALYZE, FORMAT TEXT)"
        " SELECT * FROM ivoa.obscore WHERE q3c_join(83.633, 22.0145, s_ra, s_dec, 3) LIMIT 100"))
    assert "products" in plan, plan
    assert "JIT" not in plan, plan
    assert service.instance.db.value("SHOW jit") == "off"


def test_site_configuration_is_real(service):
    """Registry records carry publisher and contact: no DaCHS placeholder may reach them."""
    resp = requests.get(f"{service.url}/oai.xml", params={"verb": "Identify"}, timeout=30)
    assert resp.status_code == 200
    text = resp.text
    for placeholder in ("Your organisation", "Fill Out", "invalid@example.com",
                        "Unnamed data center", "x-unregistred", "UNCONFIGURED"):
        assert placeholder not in text
    site = service.instance.site
    assert site.authority in text


def test_vosi_tables_lists_the_tables(service):
    resp = requests.get(f"{service.tap_url}/tables", timeout=30)
    assert resp.status_code == 200
    for name in ("ivoa.obscore", "ivoa.obscore_hea", "hess_dr1.obs"):
        assert f"<name>{name}</name>" in resp.text
