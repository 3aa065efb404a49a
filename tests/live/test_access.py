"""Access rights: a proprietary observation is listed like any other, but every one of its files
answers 401 to anonymous users (and to anyone outside its owner group) and 200 to members.

The test instance publishes obs 20303 as proprietary until 2099 for the group hess_team
(tests/live/conftest.py); alice is a member, bob is not.
"""

import urllib.parse

import pytest
import requests

from rights import MEMBER, OUTSIDER, OWNER_GROUP, PROPRIETARY_OBS

DID = f"ivo://cherenkov-dl3.vo/hess_dr1?{PROPRIETARY_OBS}"
FILE_PARTS = ["event-list", "aeff", "edisp", "psf", "bkg", "package", "preview-image",
              "preview-plot"]


@pytest.fixture(scope="module")
def links(service):
    import pyvo
    url = f"{service.url}/hess_dr1/q/dl/dlmeta?ID={urllib.parse.quote(DID)}"
    return pyvo.dal.adhoc.DatalinkResults.from_result_url(url)


def dlget(service, part, auth=None):
    return requests.get(f"{service.url}/hess_dr1/q/dl/dlget", params={"ID": DID, "PART": part},
                        auth=auth, timeout=120)


def test_metadata_stays_public(tap):
    [row] = tap.search(f"SELECT data_rights, obs_release_date FROM ivoa.obscore"
                       f" WHERE obs_publisher_did='{DID}'")
    assert row["data_rights"] == "proprietary"
    assert str(row["obs_release_date"]).startswith("2099-01-01")


def test_links_are_listed_for_anyone(links):
    parts = {urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["PART"][0]
             for url in links["access_url"] if url}
    assert set(FILE_PARTS) <= parts
    assert all(not message for message in links["error_message"])


@pytest.mark.parametrize("part", FILE_PARTS)
def test_anonymous_gets_401(service, part):
    response = dlget(service, part)
    assert response.status_code == 401, response.text[:300]
    assert response.headers["www-authenticate"].lower().startswith("basic")


@pytest.mark.parametrize("part", FILE_PARTS)
@pytest.mark.parametrize("auth", [OUTSIDER, (MEMBER[0], "wrong password")],
                         ids=["outside-the-group", "wrong-password"])
def test_others_get_401(service, part, auth):
    assert dlget(service, part, auth).status_code == 401


@pytest.mark.parametrize("part", FILE_PARTS)
def test_member_gets_200_and_the_file(service, links, part):
    response = dlget(service, part, MEMBER)
    assert response.status_code == 200, response.text[:300]
    [row] = [r for r in links if r.access_url and r.access_url.endswith(f"PART={part}")]
    assert len(response.content) == int(row["content_length"])


def test_documentation_is_public(service):
    assert dlget(service, "documentation").status_code == 200


@pytest.mark.parametrize("part", ["provenance-json", "provenance-xml", "provenance-provn",
                                  "provenance-graph"])
def test_provenance_is_public_like_the_obscore_row(service, links, part):
    """How a proprietary dataset was made is metadata, public like its ObsCore row; its files
    are not."""
    response = dlget(service, part)
    assert response.status_code == 200, response.text[:300]
    [row] = [r for r in links if r.access_url and r.access_url.endswith(f"PART={part}")]
    assert len(response.content) == int(row["content_length"])


def test_bundle_needs_the_group_for_every_observation(service):
    url = f"{service.url}/bundle/q/dl/dlget"
    ids = {"ID": [DID, "ivo://cherenkov-dl3.vo/hess_dr1?23523"]}
    assert requests.get(url, params=ids, timeout=120).status_code == 401
    assert requests.get(url, params=ids, auth=OUTSIDER, timeout=120).status_code == 401
    response = requests.get(url, params=ids, auth=MEMBER, timeout=300)
    assert response.status_code == 200 and len(response.content) > 0


def test_public_data_needs_no_login(service):
    response = requests.get(f"{service.url}/hess_dr1/q/dl/dlget", timeout=120, params={
        "ID": "ivo://cherenkov-dl3.vo/hess_dr1?23523", "PART": "aeff"})
    assert response.status_code == 200


def test_owner_group_is_the_configured_one(service):
    collection = service.collection("hess_dr1")
    assert collection.owner_for(PROPRIETARY_OBS) == OWNER_GROUP
