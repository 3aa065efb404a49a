"""A cluster's hosts without starting anything (instance/cluster.py, balancer.py, server.py,
dachs_config.py): what each host's DaCHS reads and writes on, and the nginx configurations of
a service host behind the balancer and of the balancer, checked by nginx itself."""

import os
import shutil
import subprocess

import pytest
import yaml

from instance import Instance, balancer, server, tls
from instance.dachs_config import DachsError

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def site(tmp_path):
    with open(os.path.join(PROJECT_ROOT, "etc", "site.yaml"), encoding="utf-8") as f:
        document = yaml.safe_load(f)
    document.update(port=8443, server_url="https://10.0.0.20:{port}",
                    https={"certificate": "self-signed", "http_port": 8080})
    document["cluster"] = {
        "shared_dir": str(tmp_path / "shared"), "postgres_port": 5433,
        "primary": {"address": "10.0.0.1"},
        "replicas": {"db2": {"address": "10.0.0.2"}},
        "services": {"web1": {"address": "10.0.0.11", "replica": "db2"},
                     "web2": {"address": "10.0.0.12"}},
        "balancer": {"address": "10.0.0.20"}}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def instance(site, host):
    return Instance(f"unit_{os.getpid()}", site_file=site, host=host)


def profiles(inst):
    """{profile file: {key: value}} with the includes resolved."""
    files = inst.dachs_config.profiles()

    def read(name):
        values = {}
        for line in files[name].splitlines():
            key, _, value = line.partition(" = ") if " = " in line else line.partition(" ")
            values.update(read(value) if key == "include" else {key: value})
        return values
    return {name: read(name) for name in files}


def test_a_service_host_reads_on_its_replica_and_writes_on_the_primary(site):
    web1 = instance(site, "web1")
    for name in ("admin", "trusted", "untrusted", "replication", "adminpasswd"):
        os.makedirs(web1.dachs_config.secrets_dir, exist_ok=True)
        with open(os.path.join(web1.dachs_config.secrets_dir, name), "w") as f:
            f.write(f"pw-{name}")
    found = profiles(web1)
    assert found["untrustedquery"]["host"] == "10.0.0.2,10.0.0.1"  # the replica, then the primary
    for name in ("feed", "trustedquery", "uploadquery"):
        assert found[name]["host"] == "10.0.0.1", name
        assert found[name]["port"] == "5433"
    assert found["uploadquery"]["user"] == found["untrustedquery"]["user"]
    assert found["untrustedquery"]["password"] == "pw-untrusted"
    # web2 has no replica: everything on the primary
    assert profiles(instance(site, "web2"))["untrustedquery"]["host"] == "10.0.0.1"
    assert (web1.port, web1.public_port, web1.bind_address) == (8081, 8443, "10.0.0.11")
    assert web1.server_url == "https://10.0.0.20:8443" and web1.https is None
    assert "uwsWD: " + web1.uws_dir in web1.dachs_config.gavo_rc()
    assert web1.dachs_config.env()["HEOBS_CLUSTER_HOST"] == "web1"


def test_only_the_primary_makes_passwords(site):
    with pytest.raises(DachsError, match="the primary makes them"):
        instance(site, "web1").dachs_config.secret("trusted")
    primary = instance(site, "primary")
    assert primary.dachs_config.secret("trusted") == instance(site, "web1").dachs_config.secret(
        "trusted")


def test_every_host_keeps_the_processing_products_in_the_shared_directory(site):
    """A product made on one host is served by every other: DaCHS's rootDir/derived of each
    host is the shared directory's (and making the link twice changes nothing)."""
    hosts = [instance(site, host) for host in ("primary", "web1", "web2")]
    try:
        for inst in hosts:
            inst.dachs_config.link_derived_products()
            inst.dachs_config.link_derived_products()
        with open(os.path.join(hosts[1].root, "derived", "made-on-web1"), "w") as f:
            f.write("product")
        for inst in hosts:
            assert os.path.realpath(os.path.join(inst.root, "derived")) == inst.derived_dir
            assert os.path.exists(os.path.join(inst.root, "derived", "made-on-web1"))
        assert hosts[0].derived_dir.startswith(os.path.dirname(site))
    finally:
        for inst in hosts:
            shutil.rmtree(inst.root, ignore_errors=True)


def nginx_accepts(conf_path):
    result = subprocess.run([server.nginx_command(), "-t", "-c", str(conf_path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_service_host_believes_the_balancer_only(tmp_path):
    root = tmp_path / "var"
    for directory in ("logs", "server/8081/nginx-temp", "cache/datalink"):
        (root / directory).mkdir(parents=True)
    conf = server.nginx_conf(str(root), "127.0.0.1", 8081, [40001], 40003, balancer="10.0.0.20")
    assert "set_real_ip_from 10.0.0.20;\n  real_ip_header X-Forwarded-For;" in conf
    assert '"10.0.0.20" $http_x_forwarded_proto;\n    default $scheme;' in conf
    assert "proxy_set_header X-Forwarded-Proto $heobs_scheme;" in conf
    assert "set_real_ip_from" not in server.nginx_conf(str(root), "127.0.0.1", 8081, [1], 2)
    (root / "server/8081/nginx.conf").write_text(conf)
    nginx_accepts(root / "server/8081/nginx.conf")


def test_the_balancers_nginx_conf(site, tmp_path):
    inst = instance(site, "balancer")
    certificate = tls.self_signed(str(tmp_path / "tls"), "10.0.0.20")
    conf = balancer.nginx_conf(inst, hosts_down={"web2"}, certificate=certificate)
    assert "server 10.0.0.11:8081 max_fails=1 fail_timeout=10s;" in conf
    assert "server 10.0.0.12:8081 max_fails=1 fail_timeout=10s down;" in conf
    assert "listen 10.0.0.20:8443 ssl;" in conf and "listen 10.0.0.20:8080;" in conf
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf
    assert "proxy_connect_timeout 2s;" in conf
    # queries are retried on another host even as POSTs; UWS requests are not
    assert conf.count("non_idempotent") == 2
    # nginx checks it, with the directories it names
    directory = server.server_directory(inst.root, inst.port)
    os.makedirs(os.path.join(directory, "nginx-temp"), exist_ok=True)
    os.makedirs(os.path.join(inst.root, "logs"), exist_ok=True)
    try:
        path = os.path.join(directory, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf.replace("10.0.0.20:", "127.0.0.1:"))  # an address nginx can bind here
        nginx_accepts(path)
    finally:
        shutil.rmtree(inst.root, ignore_errors=True)


def test_ipv6_addresses_in_the_balancers_nginx_conf(tmp_path):
    """IPv6 addresses are bracketed where nginx and URLs need it (listen, server)."""
    document = yaml.safe_load(open(os.path.join(PROJECT_ROOT, "etc", "site.yaml"),
                                   encoding="utf-8"))
    document["cluster"] = {
        "shared_dir": str(tmp_path / "shared"),
        "primary": {"address": "fd00::1"},
        "services": {"web1": {"address": "fd00::11"}},
        "balancer": {"address": "fd00::20"}}
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(document))
    inst = instance(str(path), "balancer")
    try:
        conf = balancer.nginx_conf(inst, hosts_down=set(), certificate=None)
        assert "server [fd00::11]:8081 max_fails=1" in conf
        assert f"listen [fd00::20]:{inst.port};" in conf
    finally:
        shutil.rmtree(inst.root, ignore_errors=True)


@pytest.mark.parametrize("path, retried", [
    ("/tap/sync", True), ("/__system__/tap/run/sync", True), ("/hess_dr1/q/dl/dlmeta", True),
    ("/links/q/dl/dlmeta", True), ("/hess_dr1/q/dl/dlget", True), ("/tap/async", False),
    ("/tap/async/abc/phase", False), ("/hess_dr1/q/cone/scs.xml", False)])
def test_which_posts_are_retried(path, retried):
    import re

    assert bool(re.search(balancer.READ_ONLY_POSTS.removeprefix("~ "), path)) == retried
