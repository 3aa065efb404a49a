"""The certificate nginx serves HTTPS with (etc/site.yaml's https: block): the configured one, or
a self-signed one made here for trying HTTPS out.

A self-signed certificate is made with Debian's `openssl` command into var/<instance>/tls/ (never
committed), for the host of server_url (and localhost, 127.0.0.1, ::1), valid for a year; it is
made again when it is missing, was made for another host, or expires within a week. Clients must
be told to trust it (`requests.get(url, verify="var/serve/tls/self-signed.crt")`, `curl --cacert`).
"""

import ipaddress
import os
import shutil
import subprocess
import urllib.parse

from ingest.config import SELF_SIGNED

DAYS = 365
RENEW_BEFORE = 7 * 86400  # seconds before expiry when a self-signed certificate is made again


class TLSError(RuntimeError):
    """No certificate can be made; the message says why."""


def certificate_files(inst):
    """(certificate, key) paths nginx reads for the instance, making a self-signed pair if the
    configuration asks for one; None without HTTPS."""
    https = inst.site.https
    if https is None:
        return None
    if https.certificate != SELF_SIGNED:
        return https.certificate, https.key
    host = urllib.parse.urlsplit(inst.server_url).hostname or "localhost"
    return self_signed(os.path.join(inst.root, "tls"), host)


def self_signed(directory, host):
    """(certificate, key) of a self-signed certificate for host in directory, made if needed."""
    cert, key = os.path.join(directory, "self-signed.crt"), os.path.join(directory, "self-signed.key")
    names = _subject_names(host)
    if _usable(cert, key, names):
        return cert, key
    openssl = shutil.which("openssl")
    if not openssl:
        raise TLSError("https: certificate: self-signed needs the openssl command (Debian's"
                       " package openssl)")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    result = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", str(DAYS),
         "-keyout", key, "-out", cert, "-subj", f"/CN={host}",
         "-addext", "subjectAltName=" + ",".join(names)],
        capture_output=True, text=True)
    if result.returncode != 0:
        raise TLSError(f"openssl could not make a self-signed certificate: {result.stderr.strip()}")
    os.chmod(key, 0o600)
    return cert, key


def _subject_names(host):
    names = [host, "localhost", "127.0.0.1", "::1"]
    unique = list(dict.fromkeys(names))
    return [f"IP:{n}" if _is_address(n) else f"DNS:{n}" for n in unique]


def _is_address(name):
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def _usable(cert, key, names):
    """True if the pair exists, names exactly these hosts and is valid for another week."""
    if not (os.path.exists(cert) and os.path.exists(key)):
        return False
    text = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-ext", "subjectAltName",
                           "-checkend", str(RENEW_BEFORE)], capture_output=True, text=True)
    if text.returncode != 0:
        return False
    found = {n.strip().replace("IP Address:", "IP:") for line in text.stdout.splitlines()
             if "DNS:" in line or "IP Address:" in line for n in line.split(",")}
    # openssl writes an IPv6 address in full (0:0:0:0:0:0:0:1)
    found = {"IP:::1" if n == "IP:0:0:0:0:0:0:0:1" else n for n in found}
    return found == set(names)
