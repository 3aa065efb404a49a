"""datalink/downloads.py: a download answers as a good web server does."""

import pytest

from datalink import downloads

REP = downloads.representation(1000, 1_700_000_000)
LATER = downloads.http_date(1_700_000_100)
EARLIER = downloads.http_date(1_699_999_000)


def test_plain_get_is_whole_with_length_and_validators():
    answer = downloads.answer(REP, {})
    assert (answer.status, answer.start, answer.stop) == (200, 0, 1000)
    assert answer.headers["Content-Length"] == "1000"
    assert answer.headers["Accept-Ranges"] == "bytes"
    assert answer.headers["ETag"] == '"6553f100-3e8"'  # nginx's form: hex mtime, hex size
    assert answer.headers["Last-Modified"] == "Tue, 14 Nov 2023 22:13:20 GMT"


@pytest.mark.parametrize("header, status, start, stop", [
    ("bytes=0-99", 206, 0, 100),
    ("bytes=100-", 206, 100, 1000),
    ("bytes=-10", 206, 990, 1000),
    ("bytes=990-5000", 206, 990, 1000),
    ("bytes=1000-", 416, 0, 0),
    ("bytes=-0", 416, 0, 0),
    ("bytes=0-", 200, 0, 1000),  # the whole: a plain 200
    ("bytes=0-1,5-9", 200, 0, 1000),  # several ranges: the whole, as RFC 9110 allows
    ("pages=1-2", 200, 0, 1000),
    ("bytes=9-3", 200, 0, 1000),
])
def test_ranges(header, status, start, stop):
    answer = downloads.answer(REP, {"range": header})
    assert answer.status == status
    if status == 206:
        assert (answer.start, answer.stop) == (start, stop)
        assert answer.headers["Content-Range"] == f"bytes {start}-{stop - 1}/1000"
        assert answer.headers["Content-Length"] == str(stop - start)
    if status == 416:
        assert answer.headers["Content-Range"] == "bytes */1000" and not answer.has_body


@pytest.mark.parametrize("headers, status", [
    ({"if-none-match": REP.etag}, 304),
    ({"if-none-match": f'"other", W/{REP.etag}'}, 304),
    ({"if-none-match": "*"}, 304),
    ({"if-none-match": '"other"'}, 200),
    ({"if-modified-since": LATER}, 304),
    ({"if-modified-since": EARLIER}, 200),
    ({"if-modified-since": "yesterday"}, 200),
    ({"if-none-match": '"other"', "if-modified-since": LATER}, 200),  # ETag wins
])
def test_conditional_requests(headers, status):
    answer = downloads.answer(REP, headers)
    assert answer.status == status
    assert answer.headers["ETag"] == REP.etag


@pytest.mark.parametrize("if_range, status", [
    (REP.etag, 206), ('"older"', 200), (downloads.http_date(1_700_000_000), 206), (EARLIER, 200)])
def test_if_range_resumes_only_the_same_version(if_range, status):
    assert downloads.answer(REP, {"range": "bytes=10-", "if-range": if_range}).status == status


def test_file_representation(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 17)
    rep = downloads.file_representation(path)
    assert rep.size == 17 and rep.etag.endswith('-11"')
