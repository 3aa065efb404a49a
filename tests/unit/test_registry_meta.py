"""Registry metadata of the collection RDs: UAT subjects from etc/vocabularies/uat.json and the
<coverage> element rd/render.py writes from the coverage instance/ computes after an ingest."""

import json
import os
import xml.etree.ElementTree as ET

import pytest

from ingest import config
from rd import render

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COVERAGE = {"spatial": "3/450 4/1795 1804", "temporal": [53090.1227, 54706.87553],
            "spectral": [3.27e-08, 1.6e-05]}


@pytest.fixture(scope="module")
def collection():
    collections = config.load_collections(
        os.path.join(PROJECT_ROOT, "etc", "collections.yaml"), PROJECT_ROOT)
    return next(iter(collections.values()))


def test_subjects_are_in_the_uat_subset(collection):
    with open(os.path.join(PROJECT_ROOT, "etc", "vocabularies", "uat.json"),
              encoding="utf-8") as f:
        uat = json.load(f)
    assert uat["uri"] == "http://www.ivoa.net/rdf/uat"
    rds = [render.render_collection_rd(collection, "/tmp/x", "/tmp/y"),
           render.render_bundle_rd("/tmp/y"), render.render_hea_rd([collection.schema], "/tmp/y")]
    for text in rds:
        subjects = [m.text for m in ET.fromstring(text).iter("meta") if m.get("name") == "subject"]
        assert subjects and all(s in uat["terms"] for s in subjects), subjects


def test_no_coverage_before_the_first_ingest(collection):
    assert ET.fromstring(render.render_collection_rd(
        collection, "/tmp/x", "/tmp/y")).find("coverage") is None


def test_coverage_element(collection):
    rd = ET.fromstring(render.render_collection_rd(collection, "/tmp/x", "/tmp/y",
                                                   coverage=COVERAGE))
    coverage = rd.find("coverage")
    assert [float(v) for v in coverage.findtext("temporal").split()] == COVERAGE["temporal"]
    assert [float(v) for v in coverage.findtext("spectral").split()] == COVERAGE["spectral"]
    assert coverage.findtext("spatial") == COVERAGE["spatial"]
    assert rd.find("table/publish").get("sets") == "ivo_managed"
