"""Who may fetch the files of an observation: the one place access rights are decided.

ObsCore metadata is public for every observation. Its files (event list, IRFs, package, previews)
are public when data_rights is `public` or the release date has passed; before that only members
of the owner group (the collection's `owner`, or the observation's own in etc/collections.yaml)
get them. Every download path asks `verdict()` (DaCHS's product embargoes do not cover custom
DataLink data functions).

Credentials (HTTP basic auth: a password in clear inside the request) are taken only over HTTPS,
or from this machine, where they cross no network: a request with credentials over plain HTTP
from elsewhere is refused whatever it asks for, and a proprietary file is never answered with a
request for credentials (401) over plain HTTP from elsewhere, but with a refusal naming HTTPS.

A product the processing service makes (processing/) inherits the rights of its inputs
(`inherited_rights()`), and the same `verdict()` decides who gets its files; a job may analyse
a proprietary input only for a member of its owner group (the job's owner).
"""

import datetime
import ipaddress
from dataclasses import dataclass

ALLOWED = "allowed"
AUTHENTICATE = "authenticate"  # anonymous, or credentials that are not a member's: HTTP 401
FORBIDDEN = "forbidden"  # no one may have it yet (no owner group configured): HTTP 403
INSECURE = "insecure"  # credentials would cross a network in clear: HTTP 403, use HTTPS


def is_loopback(address):
    """True for an address of this machine's loopback (127.0.0.0/8, ::1, IPv4-mapped too)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except (AttributeError, ValueError):
        return False
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return ip.is_loopback


@dataclass(frozen=True)
class Channel:
    """How a request reached the service (dachs_ext/client.py finds it)."""

    scheme: str  # what the client used: "http" or "https"
    client: str  # the client's address
    credentials_sent: bool = False  # an Authorization header with a user

    @property
    def secure(self):
        """Credentials may travel here: HTTPS, or plain HTTP on this machine's loopback."""
        return self.scheme == "https" or is_loopback(self.client)


# A processing job (processing/) reading its inputs on the server, for the owner its creation
# request authenticated; that request was itself refused if it sent credentials in clear
# (dachs_ext/processing_core.py).
JOB = Channel(scheme="job", client="127.0.0.1")


def is_released(data_rights, release_date, now=None):
    """Public data, or proprietary data past its release date."""
    if data_rights in (None, "public"):
        return True
    now = now or datetime.datetime.utcnow()
    return release_date is not None and release_date <= now


def verdict(data_rights, release_date, owner, user, is_member, channel, now=None):
    """ALLOWED, AUTHENTICATE, FORBIDDEN or INSECURE for a request by user (None: anonymous) that
    came by channel (a Channel; None: unknown, taken as insecure).

    is_member(group) tells whether the request's credentials are valid and a member's of group
    (on the server: DaCHS's credentials, dachs_ext/compat.request_credentials).
    """
    secure = channel is not None and channel.secure
    if (user or (channel is not None and channel.credentials_sent)) and not secure:
        return INSECURE
    if is_released(data_rights, release_date, now):
        return ALLOWED
    if not owner:
        return FORBIDDEN
    if user and is_member(owner):
        return ALLOWED
    return AUTHENTICATE if secure else INSECURE


class MixedOwners(ValueError):
    """Inputs owned by several groups: a product has one owner group, so it cannot be made."""


def inherited_rights(inputs, now=None):
    """(data_rights, release_date, owner) of a product made from inputs, each a (data_rights,
    release_date, owner) of one input: public when every input is released; otherwise the
    unreleased inputs' rights — proprietary (secure if one of them is), their owner group, and
    the latest of their release dates (None if one has none: never, until someone sets it).
    Raises MixedOwners when the unreleased inputs have different owner groups."""
    unreleased = [i for i in inputs if not is_released(i[0], i[1], now)]
    if not unreleased:
        return "public", None, None
    owners = sorted({owner or "" for _, _, owner in unreleased})
    if len(owners) > 1:
        raise MixedOwners("the proprietary inputs belong to several owner groups ("
                          + ", ".join(o or "none" for o in owners) + "); a product has one:"
                          " analyse each group's data in a job of its own")
    rights = "secure" if any(i[0] == "secure" for i in unreleased) else "proprietary"
    dates = [i[1] for i in unreleased]
    release = None if any(d is None for d in dates) else max(dates)
    return rights, release, owners[0] or None
