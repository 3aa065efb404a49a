"""instance/server.py without starting anything: how many processes, their configuration, and
the nginx configuration in front of them."""

import os

from instance import server


def test_process_count():
    assert server.process_count(3) == 3
    assert server.process_count("1") == 1
    auto = server.process_count("auto")
    assert 1 <= auto <= server.MAX_AUTO_PROCESSES
    assert auto == min(os.cpu_count(), server.MAX_AUTO_PROCESSES)


def test_worker_settings_change_only_the_port():
    rc = "[web]\nserverURL: http://localhost:8080\nserverPort: 8080\nbindAddress: 127.0.0.1\n"
    assert server.worker_settings(rc, 40001) == rc.replace("serverPort: 8080",
                                                           "serverPort: 40001")


def test_nginx_conf():
    conf = server.nginx_conf("/srv/heobs/var/x", "127.0.0.1", 8080, [40001, 40002])
    assert "listen 127.0.0.1:8080;" in conf
    assert "server 127.0.0.1:40001;\n    server 127.0.0.1:40002;" in conf
    # UWS jobs are queued and started by one process: async goes to the first only
    uws = conf[conf.index("upstream dachs_uws"):]
    assert "40001" in uws[:uws.index("}")] and "40002" not in uws[:uws.index("}")]
    assert ("location ~ ^/((tap|__system__/tap/run)/async|derived/q/proc/(async|uws\\.xml))"
            " { proxy_pass http://dachs_uws; }") in conf
    # streamed bundles and long polls
    assert "proxy_buffering off;" in conf and "proxy_read_timeout 3600s;" in conf
    assert "/srv/heobs/var/x/server/nginx-temp/proxy" in conf
