"""instance/server.py without starting anything: how many processes, their configuration, and
the nginx configuration in front of them."""

import json
import os
import signal
import socket
import subprocess

import pytest

from instance import server


def test_process_count():
    assert server.process_count(3) == 3
    assert server.process_count("1") == 1
    auto = server.process_count("auto")
    assert 1 <= auto <= server.MAX_AUTO_PROCESSES
    assert auto == min(os.cpu_count(), server.MAX_AUTO_PROCESSES)


def test_worker_settings_change_only_the_port_and_address():
    """A DaCHS process listens on its own port of 127.0.0.1: only nginx and this machine reach it."""
    rc = "[web]\nserverURL: http://vo.example.org\nserverPort: 8080\nbindAddress: 0.0.0.0\n"
    assert server.worker_settings(rc, 40001) == rc.replace(
        "serverPort: 8080", "serverPort: 40001").replace("0.0.0.0", "127.0.0.1")


def test_nginx_conf():
    conf = server.nginx_conf("/srv/heobs/var/x", "127.0.0.1", 8080, [40001, 40002], 40003)
    assert "listen 127.0.0.1:8080;" in conf and "ssl" not in conf
    assert "server 127.0.0.1:40001;\n    server 127.0.0.1:40002;" in conf
    # UWS jobs are queued and started by one process: async goes to the first only
    uws = conf[conf.index("upstream dachs_uws"):]
    assert "40001" in uws[:uws.index("}")] and "40002" not in uws[:uws.index("}")]
    assert ("location ~ ^/((tap|__system__/tap/run)/async|derived/q/proc/(async|uws\\.xml))"
            " { proxy_pass http://dachs_uws; }") in conf
    # streamed bundles and long polls
    assert "proxy_buffering off;" in conf and "proxy_read_timeout 3600s;" in conf
    assert "/srv/heobs/var/x/server/8080/nginx-temp/proxy" in conf
    assert "pid /srv/heobs/var/x/server/8080/nginx.pid;" in conf
    # the metrics from the exporter, for this machine only; the health for anyone
    assert "location = /metrics { allow 127.0.0.1; allow ::1; deny all; proxy_pass http://exporter; }" in conf
    assert "location = /health { proxy_pass http://exporter; }" in conf
    assert "server 127.0.0.1:40003;" in conf
    # what the DaCHS processes need to decide on credentials, and the JSON access log
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "proxy_set_header X-Real-IP $remote_addr;" in conf
    assert "access_log /srv/heobs/var/x/logs/access-8080.log heobs_json;" in conf


def test_nginx_conf_with_https():
    conf = server.nginx_conf("/srv/x", "0.0.0.0", 443, [40001], 40003, tls=("/c.pem", "/k.pem"),
                             http_port=80, metrics_allow=("10.0.0.0/8",))
    https, http = conf.split("  server {")[1:]
    assert "listen 0.0.0.0:443 ssl;" in https and "ssl_certificate /c.pem;" in https
    assert "ssl_certificate_key /k.pem;" in https
    # plain HTTP on http_port: the same service, told apart by $scheme
    assert "listen 0.0.0.0:80;" in http and "ssl" not in http
    assert "location / { proxy_pass http://dachs; }" in http
    assert "allow 10.0.0.0/8; deny all;" in http
    assert "listen [::]:443 ssl;" in server.nginx_conf("/srv/x", "::", 443, [1], 2, tls=("c", "k"))


def test_nginx_accepts_the_configuration(tmp_path):
    """nginx itself checks what is generated: the log format, the service map's regular
    expressions, TLS with a real certificate."""
    from instance import tls

    root = tmp_path / "var"
    for directory in ("logs", "server/8443/nginx-temp", "cache/datalink"):
        (root / directory).mkdir(parents=True)
    certificate = tls.self_signed(str(tmp_path / "tls"), "localhost")
    conf = root / "server" / "8443" / "nginx.conf"
    conf.write_text(server.nginx_conf(str(root), "127.0.0.1", 8443, [40001, 40002], 40003,
                                      tls=certificate, http_port=8080))
    result = subprocess.run([server.nginx_command(), "-t", "-c", str(conf)], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


# ---- what a server killed with its supervisor leaves behind (ServingRecord)


@pytest.fixture
def orphan():
    """A process started as a server process is (its own process group), whose supervisor is gone."""
    proc = subprocess.Popen(["sleep", "600"], process_group=0)
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def dead_supervisor():
    """The identity of a process that has ended."""
    proc = subprocess.Popen(["true"])
    identity = server.process_identity(proc.pid)
    proc.wait()
    return identity


def test_a_dead_supervisors_processes_are_stopped(tmp_path, orphan, capsys):
    record = server.ServingRecord(str(tmp_path))
    record.add(orphan)
    with open(record.path) as f:
        document = json.load(f)
    document["supervisor"] = dead_supervisor()
    with open(record.path, "w") as f:
        json.dump(document, f)
    server.ServingRecord(str(tmp_path)).stop_stale()
    assert orphan.wait(10) == -signal.SIGTERM
    assert not os.path.exists(record.path)
    assert f"{orphan.pid} (sleep 600)" in capsys.readouterr().out


def test_a_running_supervisor_is_not_stale(tmp_path, orphan):
    server.ServingRecord(str(tmp_path)).add(orphan)  # this process supervises it
    with pytest.raises(server.ServerError, match=f"already being served on this port by process {os.getpid()}"):
        server.ServingRecord(str(tmp_path)).stop_stale()
    assert orphan.poll() is None


def test_a_pid_given_to_another_process_is_left_alone(tmp_path, orphan):
    """The record says (pid, start time): the same pid with another start time is another process."""
    pid, started = server.process_identity(orphan.pid)
    with open(os.path.join(str(tmp_path), "serving.json"), "w") as f:
        json.dump({"supervisor": dead_supervisor(), "processes": [[pid, started - 1]]}, f)
    server.ServingRecord(str(tmp_path)).stop_stale()
    assert orphan.poll() is None


def test_what_holds_the_port_is_named():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert server.listeners(port) == [os.getpid()]
        with pytest.raises(server.ServerError) as caught:
            server.check_port_free("127.0.0.1", port)
    assert f"held by process {os.getpid()} (" in str(caught.value)
    server.check_port_free("127.0.0.1", port)  # free again
