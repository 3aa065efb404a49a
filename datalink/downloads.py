"""How a download answers an HTTP request, as a good web server does (RFC 9110): its length, its
validators (ETag, Last-Modified), conditional requests (304) and byte ranges (206, 416).

Plain Python, so that it is tested without a server: dachs_ext/ applies an Answer to a Twisted
request. Files go out through nginx where it is in front of DaCHS (X-Accel-Redirect); what DaCHS
sends itself — bundles, and files with `processes: 1` — answers the same way. The ETag is
nginx's (hex modification time and size), so the two paths agree.
"""

import email.utils
import os
import re
from dataclasses import dataclass, field

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class Representation:
    """What is downloaded: its size (bytes), strong ETag and modification time (seconds)."""

    size: int
    etag: str
    last_modified: float


def file_representation(path):
    st = os.stat(path)
    return representation(st.st_size, st.st_mtime)


def representation(size, mtime, salt=""):
    """The Representation of size bytes last changed at mtime; salt tells apart representations
    of equal size and time (a bundle's members)."""
    return Representation(size, f'"{int(mtime):x}-{size:x}{salt}"', mtime)


@dataclass
class Answer:
    status: int  # 200, 206, 304 or 416
    headers: dict = field(default_factory=dict)
    start: int = 0  # the bytes [start, stop) go in the body (none for 304 and 416, or HEAD)
    stop: int = 0

    @property
    def has_body(self):
        return self.status in (200, 206)


def http_date(seconds):
    return email.utils.formatdate(seconds, usegmt=True)


def answer(rep, headers):
    """The Answer to a GET or HEAD of rep; headers: the request's, by lower-case name."""
    validators = {"ETag": rep.etag, "Last-Modified": http_date(rep.last_modified),
                  "Accept-Ranges": "bytes"}
    if _not_modified(rep, headers):
        return Answer(304, validators)
    wanted = headers.get("range")
    if wanted and _if_range_holds(rep, headers.get("if-range")):
        byte_range = parse_range(wanted, rep.size)
        if byte_range is None:  # unsatisfiable
            return Answer(416, dict(validators, **{"Content-Range": f"bytes */{rep.size}"}))
        if byte_range != (0, rep.size):
            start, stop = byte_range
            return Answer(206, dict(validators, **{
                "Content-Range": f"bytes {start}-{stop - 1}/{rep.size}",
                "Content-Length": str(stop - start)}), start, stop)
    return Answer(200, dict(validators, **{"Content-Length": str(rep.size)}), 0, rep.size)


def _not_modified(rep, headers):
    if "if-none-match" in headers:  # it takes precedence over If-Modified-Since
        tags = [tag.strip() for tag in headers["if-none-match"].split(",")]
        return "*" in tags or any(tag.removeprefix("W/") == rep.etag for tag in tags)
    since = _parse_date(headers.get("if-modified-since"))
    return since is not None and int(rep.last_modified) <= since


def _if_range_holds(rep, condition):
    """A Range applies unless If-Range names another version of the representation."""
    if not condition:
        return True
    if condition.startswith('"'):
        return condition == rep.etag
    date = _parse_date(condition)
    return date is not None and int(rep.last_modified) == date


def _parse_date(text):
    if not text:
        return None
    try:
        return int(email.utils.parsedate_to_datetime(text).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def parse_range(header, size):
    """(start, stop) of a single `bytes=` range of a representation of size bytes, (0, size)
    where the range is to be ignored (malformed, several ranges: the whole representation is
    then sent, as RFC 9110 allows), None where it is unsatisfiable (416)."""
    found = RANGE.match(header.strip().replace(" ", ""))
    if not found or (not found.group(1) and not found.group(2)):
        return (0, size)
    first, last = found.groups()
    if not first:  # the last N bytes
        count = int(last)
        return (max(0, size - count), size) if count and size else None
    start = int(first)
    if start >= size:
        return None
    stop = size if not last else min(int(last) + 1, size)
    if stop <= start:
        return (0, size)
    return (start, stop)


CHUNK = 4 << 20  # bytes read and written at a time


def copy_range(out, path, start, stop, size=None):
    """Writes the bytes [start, stop) of the file at path to out.write, CHUNK at a time. size: the
    length the file was announced with (a file that changed since is an OSError, not a wrong
    download)."""
    with open(path, "rb") as f:
        if size is not None and os.fstat(f.fileno()).st_size != size:
            raise OSError(f"{path} changed size since its length was announced")
        f.seek(start)
        left = stop - start
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                raise OSError(f"{path} is shorter than announced")
            out.write(chunk)
            left -= len(chunk)
