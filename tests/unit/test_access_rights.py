"""datalink/access.py: who may fetch an observation's files."""

import datetime

import pytest

from datalink import access

NOW = datetime.datetime(2026, 11, 21)
FUTURE, PAST = datetime.datetime(2099, 1, 1), datetime.datetime(2020, 1, 1)


def credentials(user, password):
    """(user, is_member) as dachs_ext/compat.request_credentials gives them: alice's password
    is "secret", and she is in "team"."""
    return user, lambda group: (user, password, group) == ("alice", "secret", "team")


@pytest.mark.parametrize("rights, release, owner, user, password, expected", [
    ("public", None, None, None, None, access.ALLOWED),
    (None, None, None, None, None, access.ALLOWED),
    ("proprietary", PAST, "team", None, None, access.ALLOWED),  # released
    ("proprietary", FUTURE, "team", None, None, access.AUTHENTICATE),  # anonymous
    ("proprietary", FUTURE, "team", "alice", "wrong", access.AUTHENTICATE),
    ("proprietary", FUTURE, "team", "bob", "secret", access.AUTHENTICATE),  # not a member
    ("proprietary", FUTURE, "team", "alice", "secret", access.ALLOWED),
    ("proprietary", None, "team", "alice", "secret", access.ALLOWED),  # no date: members only
    ("proprietary", None, "team", None, None, access.AUTHENTICATE),
    ("proprietary", FUTURE, None, "alice", "secret", access.FORBIDDEN),  # no owner group
    ("secure", FUTURE, "team", "alice", "secret", access.ALLOWED),
])
def test_verdict(rights, release, owner, user, password, expected):
    assert access.verdict(rights, release, owner, *credentials(user, password), NOW) == expected
