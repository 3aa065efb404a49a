"""How a request reached the service: the scheme the client used, its address, and whether it
sent credentials (a Channel, which datalink/access.py judges).

The DaCHS processes listen on 127.0.0.1 behind nginx (instance/server.py), which terminates
HTTPS and tells them what only it knows in X-Forwarded-Proto and X-Real-IP, replacing any value a
client sent. Those headers are believed only from a peer on this machine (nginx, or a local
client that could use the service anyway); from any other peer the connection's own scheme and
address count.
"""

from datalink.access import Channel, is_loopback


def _header(request, name):
    value = request.getHeader(name)
    return value.strip() if value else None


def channel_of(request):
    """The Channel of a Twisted request."""
    peer = request.getClientAddress()
    peer_host = getattr(peer, "host", None)
    scheme = "https" if request.isSecure() else "http"
    client = peer_host
    if peer_host and is_loopback(peer_host):
        scheme = (_header(request, "x-forwarded-proto") or scheme).lower()
        client = _header(request, "x-real-ip") or peer_host
    return Channel(scheme=scheme, client=client, credentials_sent=bool(request.getUser()))
