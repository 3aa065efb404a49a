"""The rows of a {links} response: the one place a link row is made.

A row is a DaCHS LinkDef carrying a content_qualifier: DaCHS's own on DaCHS 2.8+, Link below on
2.7 (whose LinkDef has none; rd/datalink.rd.in then declares the column). The bundle service's
#proc row is a BundleLink, which also writes the service descriptor RESOURCE it points to.
"""

import os

from gavo.protocols.datalink import LinkDef
from gavo.protocols.soda import DatalinkFault
from gavo.votable import V

from datalink import parts
from dachs_ext import compat

if compat.native_content_qualifier():
    Link = LinkDef
else:
    class Link(LinkDef):
        """DaCHS 2.7's LinkDef with a content_qualifier."""

        def __init__(self, pubDID, accessURL, contentQualifier=None, **kwargs):
            super().__init__(pubDID, accessURL, **kwargs)
            self.contentQualifier = contentQualifier

        def asDict(self):
            row = super().asDict()
            row["content_qualifier"] = self.contentQualifier
            return row


def link(pubDID, dlget_url, part, length, description=None):
    """The row of one part (datalink/parts.py) of a data set."""
    return Link(
        pubDID, parts.part_url(dlget_url, pubDID, part),
        contentQualifier=part.content_qualifier,
        description=description or part.description,
        semantics=part.semantics,
        localSemantics=part.local_semantics,
        contentType=part.content_type,
        contentLength=length)


def provenance_links(pubDID, dlget_url, provenance_files):
    """The rows of a data set's provenance documents; provenance_files(): their {part: path}
    (datalink.cache.ProductCache.provenance), built if need be."""
    try:
        files = provenance_files()
    except Exception as exc:  # an error row, never a 500
        return [DatalinkFault.FatalFault(
            pubDID, f"The provenance of this dataset cannot be written: {exc}",
            semantics="#documentation")]
    return [link(pubDID, dlget_url, part, os.path.getsize(path)) for part, path in files.items()]


def links_for(pubDID, dataset, collection, product_cache, dlget_url, bundle_url, provenance_files):
    """The links of one observation: Links, a BundleLink, and DatalinkFaults where something is
    broken; provenance_files: see provenance_links.

    Building the products here (once; later requests find them in the cache) is what makes
    content_length the exact size of what dlget returns.
    """
    rows = []
    try:
        files = product_cache.files(collection, dataset)
    except Exception as exc:  # a missing or broken source file: an error row, never a 500
        rows.append(DatalinkFault.FatalFault(
            pubDID, f"The files of this observation cannot be read: {exc}", semantics="#this"))
    else:
        for part, path in files.items():
            rows.append(link(pubDID, dlget_url, part, os.path.getsize(path)))
    documentation = product_cache.documentation(collection)
    rows.append(link(pubDID, dlget_url, parts.DOCUMENTATION, os.path.getsize(documentation)))
    rows.extend(provenance_links(pubDID, dlget_url, provenance_files))
    rows.append(BundleLink(pubDID, dataset, bundle_url))
    return rows


class BundleLink(Link):
    """The bundle service (bundle_core.py) offered in the {links} of one ID: a #proc row and the
    service descriptor RESOURCE it points to, with ID preset to this observation (a client adds
    more IDs to fetch several observations in one tar).

    The row names the RESOURCE by an ID of the response's VOTable context: bind(ctx) makes it
    before either is written (DaCHS 2.7 writes the table first, 2.8+ the RESOURCEs first)."""

    def __init__(self, pubDID, dataset, access_url):
        # Each descriptor of a document is named and described apart (STILTS 3.5's W-SDND).
        self.description = (f"Observation {dataset} and others (repeat ID) in one tar that"
                            " gammapy's DataStore.from_dir opens")
        super().__init__(pubDID, None, contentQualifier="event-bundle",
                         description=self.description, semantics="#proc",
                         contentType="application/x-tar")
        self.pubDID, self.access_url, self.resource_id = pubDID, access_url, None

    def bind(self, ctx):
        self.resource_id = ctx.getOrMakeIdFor(self, suggestion="bundle")

    def asDict(self):
        row = super().asDict()
        row["service_def"] = self.resource_id
        return row

    def asVOT(self, ctx):
        self.bind(ctx)
        return V.RESOURCE(ID=self.resource_id, name=self.resource_id, type="meta",
                          utype="adhoc:service")[
            V.DESCRIPTION[self.description],
            V.PARAM(arraysize="*", datatype="char", name="accessURL", ucd="meta.ref.url",
                    value=self.access_url),
            V.GROUP(name="inputParams")[
                V.PARAM(arraysize="*", datatype="char", name="ID", ucd="meta.id;meta.main",
                        value=self.pubDID)[
                    V.DESCRIPTION["obs_publisher_did of an observation; repeat for more"]]]]
