"""Loading etc/site.yaml and etc/collections.yaml into typed configuration."""

import datetime
import os

import pytest

from ingest.config import (SESAME_URLS, ConfigError, default_collection_name, load_collections,
                           load_site)

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MINIMAL = """\
default: one
collections:
  one:
    schema: one
    obs_collection: ONE
    data_dir: data/one
    obs_release_date: 2020-01-02
    licence: any text the ingest does not use
    observations:
      42: {data_rights: proprietary, obs_release_date: "2031-05-01", owner: alice}
    defaults:
      analysis_mode: std
  two:
    schema: two
    obs_collection: TWO
    data_dir: /abs/two
    prebuild: true
"""


def write(tmp_path, text, name="collections.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_collections(tmp_path):
    path = write(tmp_path, MINIMAL)
    collections = load_collections(path, "/project")
    one = collections["one"]
    assert one.data_dir == "/project/data/one"
    assert collections["two"].data_dir == "/abs/two"
    assert one.hdu_index_path == "/project/data/one/hdu-index.fits.gz"
    assert one.obs_index is None
    assert one.obs_release_date == datetime.datetime(2020, 1, 2)
    assert one.licence == "any text the ingest does not use"
    assert one.defaults == {"analysis_mode": "std"}
    override = one.override_for("42")
    assert (override.data_rights, override.owner) == ("proprietary", "alice")
    assert override.obs_release_date == datetime.datetime(2031, 5, 1)
    assert one.override_for("43").data_rights is None
    assert (one.prebuild, collections["two"].prebuild) == (False, True)
    assert default_collection_name(path) == "one"


def test_data_dir_override(tmp_path):
    path = write(tmp_path, MINIMAL)
    collections = load_collections(path, "/project", data_dirs={"two": str(tmp_path)})
    assert collections["two"].data_dir == str(tmp_path)
    assert collections["one"].with_data_dir("/elsewhere").data_dir == "/elsewhere"
    with pytest.raises(ConfigError, match="no collection named 'three'"):
        load_collections(path, "/project", data_dirs={"three": "/x"})


@pytest.mark.parametrize("edit,key,message", [
    (("    schema: one\n", ""), "collections.one.schema", "missing mandatory key"),
    (("    obs_release_date: 2020-01-02\n", "    data_rights: open\n"), "collections.one.data_rights",
     "must be one of"),
    (("    obs_release_date: 2020-01-02\n", "    obs_release_date: soon\n"), "collections.one.obs_release_date",
     "must be a date"),
    (("      analysis_mode: std\n", "      no_such_column: 1\n"), "collections.one.defaults.no_such_column",
     "not a column"),
    (("      42: {", "      abc: {"), "collections.one.observations.abc", "whole numbers"),
    (("    prebuild: true\n", "    prebuild: yes please\n"), "collections.two.prebuild",
     "must be true or false"),
])
def test_errors_name_the_file_and_the_key(tmp_path, edit, key, message):
    path = write(tmp_path, MINIMAL.replace(*edit))
    with pytest.raises(ConfigError) as caught:
        load_collections(path, "/project")
    assert str(caught.value).startswith(f"{path}: {key}: ")
    assert message in str(caught.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_site(str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_site(write(tmp_path, "a: [", "site.yaml"))
    with pytest.raises(ConfigError, match="authority: missing mandatory key"):
        load_site(write(tmp_path, "site_name: x\n", "site.yaml"))


def test_site(tmp_path):
    site = load_site(write(tmp_path, "authority: a.b\nsite_name: S\nport: 8080\n", "site.yaml"))
    assert (site.authority, site.site_name, site.port) == ("a.b", "S", 8080)


def test_the_project_configuration_loads():
    etc = os.path.join(PROJECT_ROOT, "etc")
    site = load_site(os.path.join(etc, "site.yaml"))
    assert site.authority
    path = os.path.join(etc, "collections.yaml")
    collections = load_collections(path, PROJECT_ROOT)
    assert default_collection_name(path) in collections


def test_server_settings(tmp_path):
    site = load_site(write(tmp_path, "authority: a.b\n", "site.yaml"))
    assert site.server == {"processes": "auto", "sync_timeout": 60, "async_slots": 4,
                           "sql_timeout": 15, "product_cache_gb": 50.0}
    site = load_site(write(tmp_path, "authority: a.b\nserver: {processes: 3, async_slots: 8}\n",
                           "site.yaml"))
    assert (site.server["processes"], site.server["async_slots"]) == (3, 8)
    for bad in ("0", "many", "-1"):
        with pytest.raises(ConfigError, match="server.processes: must be auto or a number"):
            load_site(write(tmp_path, f"authority: a.b\nserver: {{processes: {bad}}}\n",
                            "site.yaml"))
    with pytest.raises(ConfigError, match="server.sync_timeout: must be a whole number"):
        load_site(write(tmp_path, "authority: a.b\nserver: {sync_timeout: soon}\n", "site.yaml"))
    for bad in ("0", "-2", "lots"):
        with pytest.raises(ConfigError, match="server.product_cache_gb: must be"):
            load_site(write(tmp_path, f"authority: a.b\nserver: {{product_cache_gb: {bad}}}\n",
                            "site.yaml"))


def test_name_resolver(tmp_path):
    """Sesame's URLs and timeout for the web search page: CDS and its mirror unless said otherwise;
    an empty list never asks."""
    resolver = load_site(write(tmp_path, "authority: a.b\n", "site.yaml")).name_resolver
    assert resolver.sesame_urls == SESAME_URLS and resolver.timeout == 3.0
    resolver = load_site(write(tmp_path, "authority: a.b\nname_resolver: {sesame_urls: [], timeout: 1}\n",
                               "site.yaml")).name_resolver
    assert (resolver.sesame_urls, resolver.timeout) == ((), 1.0)
    for bad, message in (("{sesame_urls: cds}", "sesame_urls: must be a list of http"),
                         ("{sesame_urls: [ftp://x/]}", "sesame_urls: must be a list of http"),
                         ("{timeout: 0}", "timeout: must be a number of seconds"),
                         ("{timeout: soon}", "timeout: must be a number")):
        with pytest.raises(ConfigError, match="name_resolver." + message):
            load_site(write(tmp_path, f"authority: a.b\nname_resolver: {bad}\n", "site.yaml"))


def test_https(tmp_path):
    site = "authority: a.b\nserver_url: https://vo.example.org\n"
    assert load_site(write(tmp_path, "authority: a.b\n", "site.yaml")).https is None
    https = load_site(write(tmp_path, site + "https: {certificate: self-signed, http_port: 80}\n",
                            "site.yaml")).https
    assert (https.certificate, https.key, https.http_port) == ("self-signed", None, 80)
    (tmp_path / "c.pem").write_text("certificate")
    (tmp_path / "k.pem").write_text("key")
    https = load_site(write(tmp_path, site + "https: {certificate: c.pem, key: k.pem}\n",
                            "site.yaml")).https
    assert (https.certificate, https.key) == (str(tmp_path / "c.pem"), str(tmp_path / "k.pem"))
    for block, message in [
            ("{key: k.pem}", "https.certificate: missing mandatory key"),
            ("{certificate: c.pem}", "https.key: missing mandatory key"),
            ("{certificate: missing.pem, key: k.pem}", "https.certificate: no such file: "),
            ("{certificate: self-signed, key: k.pem}", "https.key: must be left out"),
            ("{certificate: self-signed, http_port: 70000}", "https.http_port: must be a port"),
            ("[c.pem]", "https: must be a mapping")]:
        with pytest.raises(ConfigError, match=message):
            load_site(write(tmp_path, site + f"https: {block}\n", "site.yaml"))
    with pytest.raises(ConfigError, match="server_url: must be an https:// URL when https: is"):
        load_site(write(tmp_path, "authority: a.b\nhttps: {certificate: self-signed}\n", "site.yaml"))


def test_monitoring(tmp_path):
    assert load_site(write(tmp_path, "authority: a.b\n", "site.yaml")).monitoring.metrics_allow \
        == ("127.0.0.1", "::1")
    monitoring = load_site(write(tmp_path, "authority: a.b\nmonitoring: {metrics_allow:"
                                 " [10.0.0.0/8, 192.0.2.7]}\n", "site.yaml")).monitoring
    assert monitoring.metrics_allow == ("10.0.0.0/8", "192.0.2.7")
    for bad in ("10.0.0.0/8", "[everyone]"):
        with pytest.raises(ConfigError, match="monitoring.metrics_allow: "):
            load_site(write(tmp_path, f"authority: a.b\nmonitoring: {{metrics_allow: {bad}}}\n",
                            "site.yaml"))
