"""Who may fetch the files of an observation: the one place access rights are decided.

ObsCore metadata is public for every observation. Its files (event list, IRFs, package, previews)
are public when data_rights is `public` or the release date has passed; before that only members
of the owner group (the collection's `owner`, or the observation's own in etc/collections.yaml)
get them. Every download path asks `verdict()` (DaCHS's product embargoes do not cover custom
DataLink data functions).
"""

import datetime

ALLOWED = "allowed"
AUTHENTICATE = "authenticate"  # anonymous, or credentials that are not a member's: HTTP 401
FORBIDDEN = "forbidden"  # no one may have it yet (no owner group configured): HTTP 403


def is_released(data_rights, release_date, now=None):
    """Public data, or proprietary data past its release date."""
    if data_rights in (None, "public"):
        return True
    now = now or datetime.datetime.utcnow()
    return release_date is not None and release_date <= now


def verdict(data_rights, release_date, owner, user, is_member, now=None):
    """ALLOWED, AUTHENTICATE or FORBIDDEN for a request by user (None: anonymous).

    is_member(group) tells whether the request's credentials are valid and a member's of group
    (on the server: DaCHS's credentials, dachs_ext/compat.request_credentials).
    """
    if is_released(data_rights, release_date, now):
        return ALLOWED
    if not owner:
        return FORBIDDEN
    if user and is_member(owner):
        return ALLOWED
    return AUTHENTICATE
