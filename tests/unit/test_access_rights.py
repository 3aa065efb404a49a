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
    channel = access.Channel("https", "192.0.2.7", credentials_sent=user is not None)
    assert access.verdict(rights, release, owner, *credentials(user, password), channel,
                          NOW) == expected


HTTPS = access.Channel("https", "192.0.2.7")
ELSEWHERE = access.Channel("http", "192.0.2.7")
HERE = access.Channel("http", "127.0.0.1")


@pytest.mark.parametrize("channel, secure", [
    (HTTPS, True), (ELSEWHERE, False), (HERE, True),
    (access.Channel("http", "127.3.4.5"), True),  # all of 127.0.0.0/8 is this machine
    (access.Channel("http", "::1"), True), (access.Channel("http", "::ffff:127.0.0.1"), True),
    (access.Channel("http", "10.0.0.1"), False), (access.Channel("http", None), False),
])
def test_where_credentials_may_travel(channel, secure):
    assert channel.secure is secure


def with_credentials(channel):
    return access.Channel(channel.scheme, channel.client, credentials_sent=True)


@pytest.mark.parametrize("rights, release, owner, user, password, channel, expected", [
    # credentials over plain HTTP from elsewhere: refused, whatever is asked for
    ("public", None, None, "alice", "secret", with_credentials(ELSEWHERE), access.INSECURE),
    ("proprietary", FUTURE, "team", "alice", "secret", with_credentials(ELSEWHERE), access.INSECURE),
    ("proprietary", FUTURE, "team", "alice", "wrong", with_credentials(ELSEWHERE), access.INSECURE),
    # credentials DaCHS 2.8+ found wrong (no user) still crossed in clear
    ("public", None, None, None, None, with_credentials(ELSEWHERE), access.INSECURE),
    # anonymous over plain HTTP from elsewhere: public files yes, no request for credentials
    ("public", None, None, None, None, ELSEWHERE, access.ALLOWED),
    ("proprietary", FUTURE, "team", None, None, ELSEWHERE, access.INSECURE),
    # from this machine, plain HTTP is as good as HTTPS
    ("proprietary", FUTURE, "team", "alice", "secret", with_credentials(HERE), access.ALLOWED),
    ("proprietary", FUTURE, "team", None, None, HERE, access.AUTHENTICATE),
    ("proprietary", FUTURE, "team", "alice", "secret", with_credentials(HTTPS), access.ALLOWED),
    # a channel nobody could tell: taken as insecure
    ("proprietary", FUTURE, "team", "alice", "secret", None, access.INSECURE),
])
def test_verdict_by_channel(rights, release, owner, user, password, channel, expected):
    assert access.verdict(rights, release, owner, *credentials(user, password), channel,
                          NOW) == expected
