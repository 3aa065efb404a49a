"""What differs between the DaCHS versions the service runs on (2.7 on Debian 12, 2.11 on Debian
13), each asserted on the version where the test runs; the README's "DaCHS versions" section
lists them. (Elsewhere: the DataLink standard in VOSI, test_vosi.py and test_registry.py; the
HTTP status of TAP errors, test_errors.py; DaCHS's own ObsCore column descriptions,
test_publication.py; STILTS's findings, test_votlint.py and test_datalinklint.py.)"""

import io

import pytest
import requests
from astropy.io.votable import parse

VOT = "{http://www.ivoa.net/xml/VOTable/v1.3}"
DID = "ivo://cherenkov-dl3.vo/hess_dr1?23523"


def sync(service, query):
    return requests.post(f"{service.tap_url}/sync", timeout=60,
                         data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query})


def test_compat_finds_what_the_version_has(service):
    """dachs_ext/compat.py detects features, not versions: they must agree with the version."""
    assert service.instance.features()["native_content_qualifier"] == \
        (service.dachs_version >= (2, 8))


def test_what_compat_found_is_kept_until_dachs_changes(service, tmp_path):
    """The answer is kept in the instance's state, keyed by the installed DaCHS (a package
    upgrade asks again); a fresh DachsConfig reads it back without starting DaCHS."""
    import json
    import os

    from instance.dachs_config import DachsConfig, _features_key

    kept_path = os.path.join(service.instance.root, "state", "dachs-features.json")
    with open(kept_path, encoding="utf-8") as f:
        kept = json.load(f)
    assert kept["key"] == _features_key() and kept["key"][0][0].endswith("gavo/__init__.py")
    assert kept["features"] == service.instance.features()
    forged = dict(kept, features=dict(kept["features"], forged=True))
    with open(kept_path, "w", encoding="utf-8") as f:
        json.dump(forged, f)
    try:
        assert DachsConfig(service.instance).features()["forged"]  # read back, not asked again
        forged["key"] = kept["key"][:-1] + ["another compat.py"]
        with open(kept_path, "w", encoding="utf-8") as f:
            json.dump(forged, f)
        assert "forged" not in DachsConfig(service.instance).features()  # asked DaCHS again
    finally:
        with open(kept_path, "w", encoding="utf-8") as f:
            json.dump(kept, f)


def test_votable_version(service):
    response = sync(service, "SELECT TOP 1 obs_id FROM ivoa.obscore")
    expected = "1.4" if service.dachs_version < (2, 8) else "1.5"
    assert f'<VOTABLE version="{expected}"' in response.text[:300]


def test_adql_not_equal(service, tap):
    """ADQL's <> is in DaCHS 2.8+'s grammar; 2.7 knows only !=, which works on both."""
    query = "SELECT COUNT(*) AS n FROM ivoa.obscore WHERE obs_collection {} 'CTA-1DC'"
    [others] = tap.search(query.format("!="))
    assert others["n"] == 105
    response = sync(service, query.format("<>"))
    assert response.status_code == 200
    if service.dachs_version < (2, 8):
        assert "Expected boolean expression, found '&gt;'" in response.text
    else:
        [row] = parse(io.BytesIO(response.content)).get_first_table().to_table()
        assert row["n"] == others["n"]


def test_links_carry_content_qualifier_and_service_def_ucd(service):
    """content_qualifier: the project's column on 2.7 (rd/dlresponse.rd.in), DaCHS's own on
    2.8+; service_def's UCD is meta.ref on both (DataLink 1.1)."""
    response = requests.get(f"{service.url}/hess_dr1/q/dl/dlmeta", params={"ID": DID},
                            timeout=60)
    assert response.headers["content-type"].startswith(
        "application/x-votable+xml;content=datalink")
    table = parse(io.BytesIO(response.content)).get_first_table()
    fields = {f.name: f for f in table.fields}
    assert fields["service_def"].ucd == "meta.ref"
    qualifiers = set(table.to_table()["content_qualifier"])
    assert {"event-list", "aeff", "event-bundle"} <= qualifiers
    assert (fields["content_qualifier"].ucd == "meta.code.class") == \
        (service.dachs_version < (2, 8))


def test_server_header_names_dachs(service):
    """Through nginx too (proxy_pass_header): validators read the software from it."""
    server = requests.get(f"{service.tap_url}/availability", timeout=30).headers["server"]
    assert server.startswith("DaCHS/" + ".".join(map(str, service.dachs_version)))


@pytest.mark.parametrize("path", ["/tap/examples", "/tap/capabilities"])
def test_cached_pages_are_served_again_alike(service, path):
    """DaCHS replays cached pages (examples, capabilities) with the headers of their first
    rendering; with Twisted 24 these held Transfer-Encoding beside Content-Length, which nginx
    refuses with 502 (seen on DaCHS 2.11 from the third request on; dachs_ext/compat.py). Each
    server process caches its own copy: enough requests for every one to replay it."""
    answers = [requests.get(service.url + path, timeout=60)
               for _ in range(3 * len(service.pids) + 1)]
    assert [a.status_code for a in answers] == [200] * len(answers)
    assert all(a.content == answers[0].content for a in answers)
    assert not any("transfer-encoding" in a.headers and "content-length" in a.headers
                   for a in answers)
