"""HTTPS (etc/site.yaml's https:, instance/tls.py, instance/server.py) on an instance of its own:
a self-signed certificate made by the instance, TLS through the real nginx, server_url, the
ObsCore access URLs, the DataLink links and the registry records in https once the instance moves
to it; plain HTTP on the second port serving public data; and basic-auth credentials refused
over plain HTTP from another machine (a network namespace with an address of its own, joined to
this one by a veth pair) but taken over HTTPS, and over plain HTTP from this machine (loopback).
"""

import json
import os
import subprocess
import sys
import urllib.parse

import pyvo
import pytest
import requests
import yaml

from instance import PROJECT_ROOT, Instance, stop_process
from metrics_client import scrape
from rights import MEMBER, OUTSIDER, PROPRIETARY_OBS
from testinstance import add_users, collections_file, free_port
from tests.conftest import HAWC_DIR

PROPRIETARY = f"ivo://cherenkov-dl3.vo/hess_dr1?{PROPRIETARY_OBS}"
PUBLIC = "ivo://cherenkov-dl3.vo/hess_dr1?23523"


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True)


class Elsewhere:
    """A network namespace standing for another machine: its address and this machine's on the
    link between them."""

    def __init__(self, name, host_address, address):
        self.name, self.host_address, self.address = name, host_address, address

    def get(self, url, **kwargs):
        """requests.get(url, **kwargs) run inside the namespace: (status, headers, text)."""
        script = ("import json, sys, requests\n"
                  "url, kwargs = json.loads(sys.argv[1])\n"
                  "kwargs['auth'] = tuple(kwargs['auth']) if 'auth' in kwargs else None\n"
                  "r = requests.get(url, timeout=120, **kwargs)\n"
                  "print(json.dumps([r.status_code, dict(r.headers), r.text]))\n")
        result = subprocess.run(["ip", "netns", "exec", self.name, sys.executable, "-c", script,
                                 json.dumps([url, kwargs])], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]
        status, headers, text = json.loads(result.stdout)
        return status, {k.lower(): v for k, v in headers.items()}, text


@pytest.fixture(scope="module")
def elsewhere():
    """The namespace, its veth pair and addresses (10.250.<n>.0/30), removed at the end."""
    number = os.getpid()
    name, host_link, link = f"heobs{number}", f"hv{number}", f"nv{number}"
    subnet = f"10.250.{number % 250}"
    try:
        ip("netns", "add", name)
        ip("link", "add", host_link, "type", "veth", "peer", "name", link, "netns", name)
        ip("addr", "add", f"{subnet}.1/30", "dev", host_link)
        ip("link", "set", host_link, "up")
        ip("-n", name, "addr", "add", f"{subnet}.2/30", "dev", link)
        ip("-n", name, "link", "set", link, "up")
        ip("-n", name, "link", "set", "lo", "up")
        yield Elsewhere(name, f"{subnet}.1", f"{subnet}.2")
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "link", "del", host_link], capture_output=True)


def site_file(directory, https, http_port=None):
    """etc/site.yaml as it is, serving on every address with one DaCHS process; with https, the
    https: block (self-signed, plain HTTP on http_port too) and server_url at the address the
    namespace reaches (its certificate then names it)."""
    with open(os.path.join(PROJECT_ROOT, "etc", "site.yaml"), encoding="utf-8") as f:
        document = yaml.safe_load(f)
    document["bind_address"] = "0.0.0.0"
    document["server"]["processes"] = 1
    if https:
        document["server_url"] = f"https://{https}:{{port}}"
        document["https"] = {"certificate": "self-signed", "http_port": http_port}
    path = os.path.join(directory, "site-https.yaml" if https else "site-http.yaml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(document, f)
    return path


class TLSService:
    def __init__(self, inst, servers, http_port):
        self.instance, self.servers, self.http_port = inst, servers, http_port
        self.port = inst.port
        self.certificate = os.path.join(inst.root, "tls", "self-signed.crt")
        self.local = f"https://127.0.0.1:{self.port}"  # this machine, TLS
        self.local_http = f"http://127.0.0.1:{http_port}"  # this machine, plain HTTP


@pytest.fixture(scope="module")
def tls(hess_dir, cta_dir, elsewhere, tmp_path_factory):
    """The instance, published over plain HTTP first, then moved to HTTPS and served."""
    etc = str(tmp_path_factory.mktemp("https-etc"))
    collections = collections_file(etc, {"hess_dr1": hess_dir, "cta_1dc": cta_dir,
                                         "corpus": etc, "hawc_crab_pass4": HAWC_DIR,
                                         "timesys": etc})
    name, port, http_port = f"test_{os.getpid()}_tls", free_port(), free_port()
    plain = Instance(name, port=port, collections_file=collections, site_file=site_file(etc, None))
    try:
        plain.prepare(["hess_dr1"])
        add_users(plain)
        inst = Instance(name, port=port, collections_file=collections,
                        site_file=site_file(etc, elsewhere.host_address, http_port))
        inst.prepare(["hess_dr1"])
        servers = inst.start()
    except BaseException:
        if os.environ.get("HEOBS_KEEP_INSTANCE") != "1":
            plain.destroy()
        raise
    yield TLSService(inst, servers, http_port)
    stop_process(servers)
    if os.environ.get("HEOBS_KEEP_INSTANCE") != "1":
        inst.destroy()


def dlget(base, did, part="aeff"):
    return f"{base}/hess_dr1/q/dl/dlget?" + urllib.parse.urlencode({"ID": did, "PART": part})


def test_tls_through_nginx_with_the_self_signed_certificate(tls, elsewhere):
    response = requests.get(f"{tls.local}/tap/availability", verify=tls.certificate, timeout=60)
    assert response.status_code == 200 and "available>true" in response.text
    text = subprocess.run(["openssl", "x509", "-in", tls.certificate, "-noout", "-ext",
                           "subjectAltName"], capture_output=True, text=True).stdout
    assert f"IP Address:{elsewhere.host_address}" in text and "DNS:localhost" in text
    with pytest.raises(requests.exceptions.SSLError):  # not a certificate anyone vouches for
        requests.get(f"{tls.local}/tap/availability", timeout=60)


def test_server_url_obscore_and_datalink_urls_are_https(tls):
    url = tls.instance.server_url
    assert url.startswith("https://")
    session = requests.Session()
    session.verify = tls.certificate
    session.trust_env = False  # else REQUESTS_CA_BUNDLE, where set, replaces session.verify
    tap = pyvo.dal.TAPService(f"{tls.local}/tap", session=session)
    [row] = tap.search(f"SELECT access_url FROM ivoa.obscore WHERE obs_publisher_did='{PUBLIC}'")
    # published over http://, then moved: the access URLs followed
    assert row["access_url"].startswith(f"{url}/hess_dr1/q/dl/dlmeta?ID="), row["access_url"]
    links = session.get(f"{tls.local}/hess_dr1/q/dl/dlmeta", params={"ID": PUBLIC}, timeout=60)
    urls = [u for u in pyvo.dal.adhoc.DatalinkResults.from_result_url(
        links.url, session=session)["access_url"] if u]
    assert urls and all(u.startswith(url + "/") for u in urls), urls


def test_registry_records_are_https(tls):
    response = requests.get(f"{tls.local}/oai.xml", params={"verb": "ListRecords",
                            "metadataPrefix": "ivo_vor"}, verify=tls.certificate, timeout=120)
    assert response.status_code == 200
    host = urllib.parse.urlsplit(tls.instance.server_url).netloc
    assert f"https://{host}/tap" in response.text
    assert f"http://{host}" not in response.text


def test_plain_http_serves_public_data(tls, elsewhere):
    """No redirect (Java's HTTP client, TOPCAT's, does not follow one from http to https): the
    same service, public data to anyone."""
    response = requests.get(dlget(tls.local_http, PUBLIC), timeout=120)
    assert response.status_code == 200 and response.content.startswith(b"SIMPLE")
    status, _, text = elsewhere.get(dlget(f"http://{elsewhere.host_address}:{tls.http_port}", PUBLIC))
    assert status == 200


def test_credentials_over_plain_http_from_this_machine(tls):
    response = requests.get(dlget(tls.local_http, PROPRIETARY), auth=MEMBER, timeout=120)
    assert response.status_code == 200
    assert requests.get(dlget(tls.local_http, PROPRIETARY), timeout=120).status_code == 401


def refused_over_http(tls, status, headers, text):
    assert status == 403, text[:500]
    assert "www-authenticate" not in headers
    assert "plain HTTP" in text and f"use HTTPS: {tls.instance.server_url}" in text, text[:500]


def test_credentials_over_plain_http_from_elsewhere_are_refused(tls, elsewhere):
    base = f"http://{elsewhere.host_address}:{tls.http_port}"
    refused_over_http(tls, *elsewhere.get(dlget(base, PROPRIETARY), auth=list(MEMBER)))
    # whatever is asked for: the password has crossed the network in clear
    refused_over_http(tls, *elsewhere.get(dlget(base, PUBLIC), auth=list(MEMBER)))
    # nor is anyone asked for credentials there (no 401)
    refused_over_http(tls, *elsewhere.get(dlget(base, PROPRIETARY)))
    bundle = f"{base}/bundle/q/dl/dlget?" + urllib.parse.urlencode({"ID": [PROPRIETARY]}, doseq=True)
    refused_over_http(tls, *elsewhere.get(bundle, auth=list(MEMBER)))


def test_forged_forwarding_headers_change_nothing(tls, elsewhere):
    """nginx replaces what a client says in X-Forwarded-Proto and X-Real-IP."""
    base = f"http://{elsewhere.host_address}:{tls.http_port}"
    refused_over_http(tls, *elsewhere.get(dlget(base, PROPRIETARY), auth=list(MEMBER), headers={
        "X-Forwarded-Proto": "https", "X-Real-IP": "127.0.0.1"}))


def test_credentials_over_https_from_elsewhere(tls, elsewhere):
    base = f"https://{elsewhere.host_address}:{tls.port}"
    status, _, _ = elsewhere.get(dlget(base, PROPRIETARY), auth=list(MEMBER), verify=tls.certificate)
    assert status == 200
    status, headers, _ = elsewhere.get(dlget(base, PROPRIETARY), auth=list(OUTSIDER),
                                       verify=tls.certificate)
    assert status == 401 and headers["www-authenticate"].lower().startswith("basic")
    status, headers, _ = elsewhere.get(dlget(base, PROPRIETARY), verify=tls.certificate)
    assert status == 401


def test_metrics_for_this_machine_health_for_anyone(tls, elsewhere):
    samples = scrape(tls.local, verify=tls.certificate)
    https = sum(v for (n, labels), v in samples.items() if n == "heobs_http_requests_total"
                and dict(labels)["service"] == "datalink_files")
    assert https > 0
    status, _, _ = elsewhere.get(f"https://{elsewhere.host_address}:{tls.port}/metrics",
                                 verify=tls.certificate)
    assert status == 403
    status, _, text = elsewhere.get(f"https://{elsewhere.host_address}:{tls.port}/health",
                                    verify=tls.certificate)
    assert status == 200 and json.loads(text)["status"] == "ok"
