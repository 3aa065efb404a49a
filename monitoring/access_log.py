"""nginx's access log, one JSON object a line (`log_format ... escape=json`), and reading it as
it grows.

FIELDS is the format: the README's table of the access log is this one. nginx writes the line
when the response is complete, so `request_time` is what the client waited, `status` what it got.
Two fields come from the DaCHS processes, as response headers nginx logs and does not pass on
(instance/server.py): `vo_error`, set on an error document answered with 200 (a TAP query that
does not parse, a cone search with a bad radius: DALI and SCS want 200 for those), and `cache`,
`hit` or `miss` for a file or bundle that was in the product cache or had to be built.
"""

import json
import os
import time

# name in the log: (nginx variable, is it a number)
FIELDS = {
    "time": ("$time_iso8601", False),
    "service": ("$heobs_service", False),
    "method": ("$request_method", False),
    "uri": ("$request_uri", False),
    "status": ("$status", True),
    "request_time": ("$request_time", True),
    "bytes_sent": ("$bytes_sent", True),
    "request_length": ("$request_length", True),
    "scheme": ("$scheme", False),
    "remote_addr": ("$remote_addr", False),
    "user": ("$remote_user", False),
    "user_agent": ("$http_user_agent", False),
    "upstream": ("$upstream_addr", False),
    "upstream_status": ("$upstream_status", False),
    "upstream_time": ("$upstream_response_time", False),
    "vo_error": ("$upstream_http_x_heobs_vo_error", False),
    "cache": ("$upstream_http_x_heobs_cache", False),
}
FORMAT_NAME = "heobs_json"


def nginx_log_format():
    """nginx's log_format directive of FIELDS (escape=json makes every value JSON-safe)."""
    parts = [f'"{name}":{variable}' if number else f'"{name}":"{variable}"'
             for name, (variable, number) in FIELDS.items()]
    return f"log_format {FORMAT_NAME} escape=json '{{{','.join(parts)}}}';"


def parse(line):
    """The fields of one line, or None if it is not one of ours (a partial or foreign line)."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or not FIELDS.keys() <= entry.keys():
        return None
    return entry


class Follower:
    """Reads the lines appended to a file, from its end when it starts, across rotations (a new
    file under the name: nginx reopens it on SIGUSR1) and truncations.

    pygtail (Debian's python3-pygtail) does this for runs that come and go, keeping the position
    in an offset file; here one process follows the file for as long as the server runs, and
    counts only what it sees (Prometheus counters start at zero with their process)."""

    def __init__(self, path):
        self.path = path
        self.file, self.inode, self.partial = None, None, ""
        self._open(at_end=True)

    def _open(self, at_end):
        try:
            f = open(self.path, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            self.file = None
            return
        if self.file:
            self.file.close()
        self.file, self.inode, self.partial = f, os.fstat(f.fileno()).st_ino, ""
        if at_end:
            f.seek(0, os.SEEK_END)

    def lines(self):
        """The complete lines appended since the last call."""
        if self.file is None:
            self._open(at_end=False)  # created since: read it from its start
            if self.file is None:
                return []
        text = self.partial + self.file.read()
        lines = text.split("\n")
        self.partial = lines.pop()
        if not lines and self._replaced():
            self._open(at_end=False)
            return self.lines()
        return lines

    def _replaced(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        return st.st_ino != self.inode or st.st_size < self.file.tell()

    def follow(self, handle, interval=0.5, stop=None):
        """Calls handle(line) for every line appended, until stop (a threading.Event) is set."""
        while stop is None or not stop.is_set():
            for line in self.lines():
                handle(line)
            time.sleep(interval)
