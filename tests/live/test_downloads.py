"""Every download behaves like a file on a good web server: Content-Length equal to the bytes
sent and to the {links} content_length, Accept-Ranges and Range (206, 416), HEAD, ETag and
Last-Modified with conditional requests (304), no compression on the fly; through nginx (which
sends the files itself) and from a DaCHS process alone (asked on its own port), alike.
Rights hold on every path and request kind, and nginx's internal location of the files cannot
be reached from outside."""

import concurrent.futures
import hashlib
import io
import os
import shutil
import tarfile
import urllib.parse

import numpy as np
import pytest
import requests
from astropy.io.votable import parse

from rights import MEMBER, PROPRIETARY_OBS

DID = "ivo://cherenkov-dl3.vo/hess_dr1?{}"
PUBLIC = DID.format(23523)
PROPRIETARY = DID.format(PROPRIETARY_OBS)
PARTS = ["event-list", "aeff", "edisp", "psf", "bkg", "package", "preview-image", "preview-plot",
         "documentation"]
MEDIA_TYPES = {"event-list": "application/fits", "aeff": "application/fits",
               "package": "application/x-tar", "preview-image": "image/png",
               "documentation": "text/plain;charset=utf-8"}
# Clients that accept gzip get the bytes as they are all the same (requests, pyvo, gammapy ask).
GZIP = {"Accept-Encoding": "gzip, deflate"}


@pytest.fixture(scope="module", params=["nginx", "dachs"])
def base(request, service):
    """The front (nginx before the DaCHS processes) and one DaCHS process on its own."""
    if request.param == "nginx" and len(service.pids) < 2:
        pytest.skip("one DaCHS process: no nginx in front")
    return service.url if request.param == "nginx" else service.dachs_url


def dlget(base, did, part):
    query = urllib.parse.urlencode({"ID": did, "PART": part})
    return f"{base}/hess_dr1/q/dl/dlget?{query}"


@pytest.fixture(scope="module")
def lengths(service):
    """{part: content_length} of the {links} of the public observation."""
    response = requests.get(f"{service.url}/hess_dr1/q/dl/dlmeta", params={"ID": PUBLIC},
                            timeout=120)
    table = parse(io.BytesIO(response.content)).get_first_table().to_table()
    return {urllib.parse.parse_qs(urllib.parse.urlsplit(str(url)).query)["PART"][0]: int(n)
            for url, n in zip(table["access_url"], table["content_length"]) if "PART=" in str(url)}


@pytest.mark.parametrize("part", PARTS)
def test_get_sends_what_links_announce_uncompressed(base, lengths, part):
    response = requests.get(dlget(base, PUBLIC, part), headers=GZIP, timeout=120)
    assert response.status_code == 200
    assert "content-encoding" not in response.headers
    assert int(response.headers["content-length"]) == len(response.content) == lengths[part]
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"].startswith('"') and response.headers["last-modified"]
    if part in MEDIA_TYPES:
        assert response.headers["content-type"] == MEDIA_TYPES[part]
    assert f"hess_dr1_23523_{part}." in response.headers["content-disposition"]


@pytest.mark.parametrize("part", ["event-list", "package", "documentation"])
def test_head_answers_promptly_with_the_headers_and_no_body(base, lengths, part):
    response = requests.head(dlget(base, PUBLIC, part), headers=GZIP, timeout=10)
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) == lengths[part]


def test_ranges_and_unsatisfiable_ones(base, lengths):
    url = dlget(base, PUBLIC, "event-list")
    whole = requests.get(url, timeout=120).content
    for header, expected in [("bytes=0-99", whole[:100]), ("bytes=1000-", whole[1000:]),
                             ("bytes=-2880", whole[-2880:])]:
        response = requests.get(url, headers=dict(GZIP, Range=header), timeout=120)
        assert response.status_code == 206, header
        assert response.content == expected, header
        assert int(response.headers["content-length"]) == len(expected)
        assert response.headers["content-range"].endswith(f"/{len(whole)}")
    response = requests.get(url, headers={"Range": f"bytes={len(whole)}-"}, timeout=120)
    assert response.status_code == 416


def test_conditional_requests(base):
    url = dlget(base, PUBLIC, "aeff")
    first = requests.get(url, timeout=120)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        response = requests.get(url, headers=headers, timeout=10)
        assert response.status_code == 304 and response.content == b"", headers
    assert requests.get(url, headers={"If-None-Match": '"other"'}, timeout=60).status_code == 200


def test_both_paths_give_the_same_validators(service):
    """nginx and DaCHS alone give the same ETag: a client switching between them revalidates."""
    if len(service.pids) < 2:
        pytest.skip("one DaCHS process: no nginx in front")
    tags = {requests.head(dlget(b, PUBLIC, "psf"), timeout=30).headers["etag"]
            for b in (service.url, service.dachs_url)}
    assert len(tags) == 1


@pytest.mark.parametrize("method, headers", [
    ("GET", {}), ("HEAD", {}), ("GET", {"Range": "bytes=0-9"}),
    ("GET", {"If-None-Match": "*"}), ("GET", {"If-Modified-Since": "Thu, 01 Jan 2099 00:00:00 GMT"})],
    ids=["get", "head", "range", "if-none-match", "if-modified-since"])
@pytest.mark.parametrize("part", ["event-list", "package", "preview-image"])
def test_proprietary_files_need_a_member_on_every_request_kind(base, method, headers, part):
    url = dlget(base, PROPRIETARY, part)
    anonymous = requests.request(method, url, headers=headers, timeout=120)
    assert anonymous.status_code == 401
    member = requests.request(method, url, headers=headers, auth=MEMBER, timeout=120)
    assert member.status_code in (200, 206, 304)
    if member.status_code == 200 and method == "GET":
        assert int(member.headers["content-length"]) == len(member.content) > 0


def test_the_files_location_cannot_be_reached_from_outside(service):
    """nginx's internal location of the product cache: 404 for any client, whatever it sends."""
    if len(service.pids) < 2:
        pytest.skip("one DaCHS process: no nginx in front")
    path = os.path.relpath(_built_path(service, "hess_dr1", "23523", "event-list.fits"),
                           service.instance.product_cache_dir)
    for headers in ({}, {"X-HEObs-Accel-Location": "/_heobs_files/"},
                    {"X-Accel-Redirect": "/_heobs_files/" + path}):
        for url in (f"{service.url}/_heobs_files/{path}", f"{service.url}/_heobs_files/"):
            assert requests.get(url, headers=headers, timeout=30).status_code == 404


def _built_path(service, schema, obs_id, name):
    root = os.path.join(service.instance.product_cache_dir, schema, obs_id)
    for dirpath, _, files in os.walk(root):
        if name in files:
            return os.path.join(dirpath, name)
    raise AssertionError(f"{name} of {obs_id} is not built")


def test_simultaneous_first_requests_get_one_complete_file(service):
    """Eight clients ask at once for files no one has asked for: every one gets the same
    complete bytes (the cache builds once, under a lock, and renames what it wrote)."""
    obs_id = "33787"
    shutil.rmtree(os.path.join(service.instance.product_cache_dir, "hess_dr1", obs_id),
                  ignore_errors=True)
    url = dlget(service.url, DID.format(obs_id), "package")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: requests.get(url, timeout=300), range(8)))
    assert {b.status_code for b in bodies} == {200}
    digests = {hashlib.sha256(b.content).hexdigest() for b in bodies}
    assert len(digests) == 1
    assert all(int(b.headers["content-length"]) == len(b.content) for b in bodies)
    with tarfile.open(fileobj=io.BytesIO(bodies[0].content)) as tar:
        assert "hdu-index.fits.gz" in tar.getnames()


# ---- bundles

def bundle_url(base, dids):
    return f"{base}/bundle/q/dl/dlget?" + urllib.parse.urlencode([("ID", d) for d in dids])


BUNDLE = [DID.format(o) for o in (23523, 23526, 23559)]


def test_bundle_has_its_length_first_and_resumes_with_range(base):
    url = bundle_url(base, BUNDLE)
    whole = requests.get(url, headers=GZIP, timeout=300)
    assert whole.status_code == 200 and "content-encoding" not in whole.headers
    assert int(whole.headers["content-length"]) == len(whole.content)
    head = requests.head(url, timeout=60)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == whole.headers["content-length"]
    assert head.headers["etag"] == whole.headers["etag"]
    # a download broken after 1 MB, resumed as wget -c and curl -C - do
    broken = whole.content[:1 << 20]
    rest = requests.get(url, headers={"Range": f"bytes={len(broken)}-",
                                      "If-Range": whole.headers["etag"]}, timeout=300)
    assert rest.status_code == 206
    assert broken + rest.content == whole.content
    assert requests.get(url, headers={"If-None-Match": whole.headers["etag"]},
                        timeout=60).status_code == 304
    with tarfile.open(fileobj=io.BytesIO(whole.content)) as tar:
        assert {"hdu-index.fits.gz", "obs-index.fits.gz"} <= set(tar.getnames())


def test_bundle_of_a_proprietary_observation_needs_a_member(base):
    url = bundle_url(base, [PUBLIC, PROPRIETARY])
    for method, headers in (("GET", {}), ("HEAD", {}), ("GET", {"Range": "bytes=0-9"})):
        assert requests.request(method, url, headers=headers, timeout=120).status_code == 401
    assert requests.head(url, auth=MEMBER, timeout=120).status_code == 200


# ---- DataLink in batches

def test_links_for_50_ids_in_one_request_in_id_order(service, tap):
    """pyvo asks 50 IDs at a time; every ID gets its rows, in the order asked, an error row for
    a bad one; ivoa.obscore's descriptor points to a service that takes them all."""
    dids = [str(d) for d in tap.search("SELECT TOP 48 obs_publisher_did FROM ivoa.obscore"
                                       " ORDER BY obs_publisher_did DESC")["obs_publisher_did"]]
    asked = dids[:20] + ["ivo://cherenkov-dl3.vo/hess_dr1?99999999"] + dids[20:] + ["nonsense"]
    response = requests.post(f"{service.url}/links/q/dl/dlmeta", data={"ID": asked},
                             timeout=300)
    table = parse(io.BytesIO(response.content)).get_first_table().to_table()
    ids = [str(i) for i in table["ID"]]
    seen = list(dict.fromkeys(ids))
    assert seen == asked
    errors = {str(i) for i, m in zip(table["ID"], table["error_message"]) if _text(m)}
    assert errors == {asked[20], asked[-1]}


def _text(value):
    return "" if value is None or value is np.ma.masked else str(value).strip()


def test_obscore_results_batch_their_datalinks(service, tap):
    """The DataLink service descriptor of an ivoa.obscore result is the one over every
    collection; pyvo's iter_datalinks() then asks it for many IDs in one request."""
    result = tap.search("SELECT TOP 60 * FROM ivoa.obscore ORDER BY obs_publisher_did")
    descriptors = [r for r in result.votable.resources if r.type == "meta"]
    urls = [p.value for r in descriptors for p in r.params if p.name == "accessURL"]
    assert any(str(u).endswith("/links/q/dl/dlmeta") for u in urls), urls
    got = [links for links in result.iter_datalinks()]
    assert len(got) == 60
    for row, links in zip(result, got):
        [this] = [link for link in links if link.semantics == "#this"]
        assert urllib.parse.quote(str(row["obs_publisher_did"]), safe="") in this.access_url
