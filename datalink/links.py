"""The rows of the {links} response: the one place a link is made.

DaCHS 2.7's LinkDef has no content_qualifier (DataLink 1.1; DaCHS added it in 2.8): QualifiedLink
is a LinkDef that carries one, and datalink/core.py writes it into the response table of
rd/datalink.rd.in, which extends DaCHS's //datalink#dlresponse by that column.
"""

import os
import urllib.parse

from gavo.protocols.datalink import LinkDef
from gavo.protocols.soda import DatalinkFault
from gavo.votable import V

from . import parts


class QualifiedLink(LinkDef):
    """A LinkDef with a content_qualifier."""

    def __init__(self, pubDID, accessURL, contentQualifier=None, **kwargs):
        super().__init__(pubDID, accessURL, **kwargs)
        self.contentQualifier = contentQualifier

    def asDict(self):
        row = super().asDict()
        row["content_qualifier"] = self.contentQualifier
        return row


def part_url(dlget_url, pubDID, part):
    """Where dlget delivers one part of a data set."""
    query = urllib.parse.urlencode({"ID": pubDID, "PART": part.name})
    return f"{dlget_url}?{query}"


def link(pubDID, dlget_url, part, length, description=None):
    return QualifiedLink(
        pubDID, part_url(dlget_url, pubDID, part),
        contentQualifier=part.content_qualifier,
        description=description or part.description,
        semantics=part.semantics,
        contentType=part.content_type,
        contentLength=length)


def links_for(pubDID, obs_id, collection, product_cache, dlget_url):
    """The links of one observation: QualifiedLinks, or DatalinkFaults where something is broken.

    Building the products here (once; later requests find them in the cache) is what makes
    content_length the exact size of what dlget returns.
    """
    rows = []
    try:
        files = product_cache.files(collection, obs_id)
    except Exception as exc:  # a missing or broken source file: an error row, never a 500
        rows.append(DatalinkFault.FatalFault(
            pubDID, f"The files of this observation cannot be read: {exc}", semantics="#this"))
    else:
        for part, path in files.items():
            rows.append(link(pubDID, dlget_url, part, os.path.getsize(path)))
    documentation = parts.build_documentation(collection)
    rows.append(link(pubDID, dlget_url, parts.DOCUMENTATION, len(documentation)))
    return rows


class BundleEndpoint:
    """The bundle service (datalink/bundle_service.py) offered in the {links} of one ID: a #proc
    row and the service descriptor RESOURCE it points to, with ID preset to this observation
    (a client adds more IDs to fetch several observations in one tar)."""

    description = ("This observation and others (repeat ID) in one tar that gammapy's"
                   " DataStore.from_dir opens")

    def __init__(self, pubDID, access_url):
        self.pubDID, self.access_url = pubDID, access_url

    def link(self, ctx):
        return QualifiedLink(
            self.pubDID, None, serviceType=ctx.getOrMakeIdFor(self, suggestion="bundle"),
            contentQualifier="event-bundle", description=self.description, semantics="#proc",
            contentType="application/x-tar")

    def resource(self, ctx):
        return V.RESOURCE(ID=ctx.getOrMakeIdFor(self, suggestion="bundle"),
                          type="meta", utype="adhoc:service")[
            V.DESCRIPTION[self.description],
            V.PARAM(arraysize="*", datatype="char", name="accessURL", ucd="meta.ref.url",
                    value=self.access_url),
            V.GROUP(name="inputParams")[
                V.PARAM(arraysize="*", datatype="char", name="ID", ucd="meta.id;meta.main",
                        value=self.pubDID)[
                    V.DESCRIPTION["obs_publisher_did of an observation; repeat for more"]]]]
