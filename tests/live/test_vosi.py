"""VOSI (capabilities, availability, tables) for every service, valid against the IVOA schemas
DaCHS ships, and complete column metadata (unit, UCD, description) wherever TOPCAT looks."""

import pytest
import requests
from lxml import etree

import schemas

SERVICES = ["tap", "hess_dr1/q/cone", "cta_1dc/q/cone", "hess_dr1/q/dl", "cta_1dc/q/dl",
            "bundle/q/dl", "derived/q/dl", "derived/q/proc"]
# Services whose only interface has no parameters DaCHS declares (the bundle service's SODA
# dlget, the processing service's UWS): DaCHS then leaves vs: undeclared in their capabilities.
UNDECLARED_VS = ("bundle/q/dl", "derived/q/proc")
VOSI = {"capabilities": "ivo://ivoa.net/std/VOSI#capabilities",
        "availability": "ivo://ivoa.net/std/VOSI#availability",
        "tableMetadata": "ivo://ivoa.net/std/VOSI#tables"}
STANDARD = {"tap": "ivo://ivoa.net/std/TAP", "cone": "ivo://ivoa.net/std/ConeSearch",
            "soda": "ivo://ivoa.net/std/SODA#sync"}  # "dl": service.datalink_standard


def xsd_errors(document):
    """DaCHS's validator over the IVOA schemas it ships, offline."""
    from dachs_ext import xml_schemas
    return xml_schemas.xsd_errors(document)


@pytest.mark.parametrize("endpoint", sorted(VOSI))
@pytest.mark.parametrize("path", SERVICES)
def test_vosi_endpoint_answers_and_validates(service, path, endpoint):
    response = requests.get(f"{service.url}/{path}/{endpoint}", timeout=60)
    assert response.status_code == 200
    if path in UNDECLARED_VS and endpoint == "capabilities":
        # DaCHS (2.7 and 2.11 alike) declares the vs namespace only for elements, and a service
        # whose one interface is SODA dlget or UWS (no parameters) uses vs: only in xsi:type
        # (README).
        errors = xsd_errors(response.content)
        assert errors and "interface" in errors, errors
        pytest.xfail("DaCHS omits xmlns:vs for a dlget-only or UWS-only service")
    assert xsd_errors(response.content) is None


@pytest.mark.parametrize("path", SERVICES)
def test_capabilities_list_the_standard_and_every_vosi_endpoint(service, path):
    root = etree.fromstring(requests.get(f"{service.url}/{path}/capabilities", timeout=60).content)
    declared = {c.get("standardID") for c in root.iter("capability")}
    assert set(VOSI.values()) <= declared
    if path == "derived/q/proc":
        return  # a UWS of its own: no IVOA standard to declare
    kind = "soda" if path.startswith("bundle/") else path.split("/")[-1]
    standard = service.datalink_standard if kind == "dl" else STANDARD[kind]
    assert any(d.startswith(standard) for d in declared if d), declared


@pytest.mark.parametrize("path", SERVICES)
def test_availability_says_available(service, path):
    root = etree.fromstring(requests.get(f"{service.url}/{path}/availability", timeout=60).content)
    available = root.find("{http://www.ivoa.net/xml/VOSIAvailability/v1.0}available")
    assert available is not None and available.text == "true"


def test_tap_tables_describe_every_column(service):
    """What TOPCAT's TAP window shows: unit, UCD and description of each column."""
    root = etree.fromstring(requests.get(f"{service.tap_url}/tables", timeout=60).content)
    by_name = {c.name: c for c in schemas.load_columns()}
    tables = {t.findtext("name"): t for t in root.iter("table")}
    for table, kind in [("ivoa.obscore", "obscore"), ("ivoa.obscore_hea", "hea"),
                        ("hess_dr1.obs", "collection"), ("cta_1dc.obs", "collection"),
                        ("ivoa.obscore_gti", "gti"), ("hess_dr1.gti", "gti"),
                        ("derived.products", "derived"), ("derived.progenitors", "progenitor")]:
        assert table in tables, sorted(tables)
        columns = {c.findtext("name"): c for c in tables[table].iter("column")}
        assert set(columns) == {c.name for c in schemas.columns_in(kind)}, table
        for name, column in columns.items():
            defined = by_name[name]
            assert (column.findtext("description") or "").strip(), (table, name)
            assert column.findtext("ucd") == defined.ucd_in(kind), (table, name)
            assert (column.findtext("unit") or "") == defined.unit, (table, name)


@pytest.mark.parametrize("schema", ["hess_dr1", "cta_1dc"])
def test_cone_search_fields_are_described(service, schema):
    response = requests.get(f"{service.url}/{schema}/q/cone/scs.xml",
                            params={"RA": 0, "DEC": 0, "SR": 0.1, "VERB": 3}, timeout=60)
    root = etree.fromstring(response.content)
    fields = list(root.iter("{http://www.ivoa.net/xml/VOTable/v1.3}FIELD"))
    assert len(fields) > 50
    for field in fields:
        description = field.findtext("{http://www.ivoa.net/xml/VOTable/v1.3}DESCRIPTION")
        assert (description or "").strip() and field.get("ucd"), field.get("name")
