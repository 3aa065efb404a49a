"""The registry interface: OAI-PMH at /oai.xml (Identify, ListIdentifiers, ListRecords,
GetRecord with ivo_vor) for the registry, the TAP service, the cone searches and the collections,
every response valid against the OAI-PMH and VOResource schemas DaCHS ships (offline); records
with the publisher, contact and creator of etc/site.yaml, UAT subjects and the coverage of the
data; and `dachs val` without errors on every RD of the instance."""

import glob
import json
import os
import subprocess

import pytest
import requests
from lxml import etree

from dachs_ext.xml_schemas import xsd_errors
from instance import PROJECT_ROOT

NS = {"oai": "http://www.openarchives.org/OAI/2.0/",
      "ri": "http://www.ivoa.net/xml/RegistryInterface/v1.0",
      "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
UAT_FILE = os.path.join(PROJECT_ROOT, "etc", "vocabularies", "uat.json")
SITE_FILE = os.path.join(PROJECT_ROOT, "etc", "site.yaml")


@pytest.fixture(scope="module")
def oai(service):
    """oai(verb, **params) -> the parsed response, after checking it validates."""
    def get(verb, **params):
        response = requests.get(f"{service.url}/oai.xml", params=dict(verb=verb, **params),
                                timeout=60)
        assert response.status_code == 200, response.text[:500]
        tree = etree.fromstring(response.content)
        # Against the OAI-PMH and VOResource schemas DaCHS ships, offline.
        errors = xsd_errors(response.content)
        if errors:
            pytest.fail(f"{verb} {params}: invalid: {errors}")
        assert not tree.xpath("//oai:error", namespaces=NS), response.text[:1000]
        return tree
    return get


@pytest.fixture(scope="module")
def site():
    import yaml
    with open(SITE_FILE, encoding="utf-8") as f:
        return yaml.safe_load(f)


def identifiers(service):
    """The identifiers that must be registered: the registry, TAP, and per published collection
    its table (the data collection) and its cone search."""
    authority = service.instance.site.authority
    ids = [f"ivo://{authority}/__system__/services/registry", f"ivo://{authority}/tap"]
    for name in ("hess_dr1", "cta_1dc"):
        schema = service.collection(name).schema
        ids += [f"ivo://{authority}/{schema}/q/obs", f"ivo://{authority}/{schema}/q/cone"]
    return ids


def test_identify(oai, service, site):
    tree = oai("Identify")
    assert tree.xpath("string(//oai:Identify/oai:baseURL)", namespaces=NS) \
        == f"{service.url}/oai.xml"
    assert tree.xpath("string(//oai:Identify/oai:repositoryName)", namespaces=NS)
    assert tree.xpath("string(//oai:Identify/oai:adminEmail)", namespaces=NS) \
        == site["contact"]["email"]


def test_list_records_dublin_core(oai, service):
    tree = oai("ListRecords", metadataPrefix="oai_dc", set="ivo_managed")
    listed = set(tree.xpath("//oai:header/oai:identifier/text()", namespaces=NS))
    assert set(identifiers(service)) <= listed


def test_list_identifiers(oai, service):
    tree = oai("ListIdentifiers", metadataPrefix="ivo_vor")
    listed = set(tree.xpath("//oai:header/oai:identifier/text()", namespaces=NS))
    missing = set(identifiers(service)) - listed
    assert not missing


def test_list_records(oai, service):
    tree = oai("ListRecords", metadataPrefix="ivo_vor")
    records = {r.findtext("identifier"): r for r in tree.xpath("//ri:Resource", namespaces=NS)}
    assert set(identifiers(service)) <= set(records)
    types = {ident: records[ident].get(XSI_TYPE) for ident in identifiers(service)}
    assert types[identifiers(service)[0]].endswith(":Registry")
    assert types[identifiers(service)[1]].endswith(":CatalogService")


def _record(oai, identifier):
    tree = oai("GetRecord", metadataPrefix="ivo_vor", identifier=identifier)
    (resource,) = tree.xpath("//ri:Resource", namespaces=NS)
    assert resource.findtext("identifier") == identifier
    return resource


@pytest.mark.parametrize("which", ["tap", "hess_dr1/q/obs", "hess_dr1/q/cone", "cta_1dc/q/obs",
                                   "cta_1dc/q/cone"])
def test_get_record_curation(oai, service, site, which):
    resource = _record(oai, f"ivo://{service.instance.site.authority}/{which}")
    curation = resource.find("curation")
    assert curation.findtext("publisher").strip() == site["publisher"]
    contact = curation.find("contact")
    assert contact.findtext("name") == site["contact"]["name"]
    assert contact.findtext("email") == site["contact"]["email"]
    creators = [c.findtext("name") for c in curation.findall("creator")]
    if which == "tap":
        assert creators == [site["publisher"]]
    else:
        collection = service.collection(which.split("/")[0])
        assert creators == [collection.creator_name]


@pytest.mark.parametrize("which", ["tap", "hess_dr1/q/obs", "hess_dr1/q/cone", "cta_1dc/q/obs",
                                   "cta_1dc/q/cone"])
def test_subjects_are_uat_terms(oai, service, which):
    with open(UAT_FILE, encoding="utf-8") as f:
        uat = json.load(f)["terms"]
    resource = _record(oai, f"ivo://{service.instance.site.authority}/{which}")
    subjects = [s.text for s in resource.iterfind("content/subject")]
    assert subjects and all(s in uat for s in subjects), subjects


def _table_range(tap, schema):
    row = tap.search(f"SELECT min(t_min) AS t0, max(t_max) AS t1, min(energy_min) AS e0,"
                     f" max(energy_max) AS e1, count(*) AS n FROM {schema}.obs")[0]
    return row


@pytest.mark.parametrize("name", ["hess_dr1", "cta_1dc"])
@pytest.mark.parametrize("kind", ["obs", "cone"])
def test_coverage_is_the_data(oai, service, tap, name, kind):
    schema = service.collection(name).schema
    resource = _record(oai, f"ivo://{service.instance.site.authority}/{schema}/q/{kind}")
    coverage = resource.find("coverage")
    assert coverage is not None
    row = _table_range(tap, schema)

    t0, t1 = map(float, coverage.findtext("temporal").split())
    assert t0 <= row["t0"] and row["t1"] <= t1
    assert row["t1"] - row["t0"] >= (t1 - t0) - 2e-5

    # spectral coverage: photon energies in J (VODataService 1.2 as DaCHS 2.7 writes it)
    e0, e1 = map(float, coverage.findtext("spectral").split())
    ev = 1.602176634e-19
    assert e0 <= row["e0"] * ev * (1 + 1e-6) and row["e1"] * ev * (1 - 1e-6) <= e1
    assert e0 >= row["e0"] * ev * (1 - 1e-6) and e1 <= row["e1"] * ev * (1 + 1e-6)

    # spatial coverage: a MOC (pgSphere checks it) holding every observation's footprint
    moc = " ".join(coverage.findtext("spatial").split())
    assert moc
    outside = service.instance.db.value(
        f"SELECT count(*) FROM {schema}.obs WHERE NOT (spoint(radians(s_ra), radians(s_dec))"
        " <@ %(moc)s::smoc AND smoc(6, s_region) <@ %(moc)s::smoc)", {"moc": moc})
    assert outside == 0


def test_every_rd_validates(service):
    """`dachs val` on every RD of the instance: no error, offline (UAT from the cache)."""
    inst = service.instance
    rds = sorted(os.path.relpath(p, os.path.join(inst.root, "inputs"))[:-3]
                 for p in glob.glob(os.path.join(inst.root, "inputs", "*", "*.rd")))
    assert rds
    result = subprocess.run(["dachs", "val", *rds, "//services", "//tap"], env=inst.env(),
                            capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "[ERROR]" not in output and "No such vocabulary" not in output, output
    assert "which is not from http://ivoa.net/rdf/uat" not in output, output


@pytest.mark.parametrize("name", ["hess_dr1", "cta_1dc"])
def test_cone_records_carry_cone_tap_and_datalink_capabilities(oai, service, name):
    """What a registry client needs to get from a found observation to its files: the cone
    search record declares SCS, TAP (auxiliary) and the collection's DataLink and SODA
    endpoints, each with its access URL."""
    authority = service.instance.site.authority
    record = _record(oai, f"ivo://{authority}/{service.collection(name).schema}/q/cone")
    capabilities = {c.get("standardID"): c.findtext("interface/accessURL")
                    for c in record.iter("capability")}
    for standard in ("ivo://ivoa.net/std/ConeSearch", "ivo://ivoa.net/std/TAP#aux",
                     service.datalink_standard, "ivo://ivoa.net/std/SODA#sync-1.0"):
        assert capabilities.get(standard, "").startswith(service.url), (standard, capabilities)
