"""The rows of a {links} response: the one place a link row is made.

A row is a DaCHS LinkDef carrying a content_qualifier: DaCHS's own on DaCHS 2.8+, Link below on
2.7 (whose LinkDef has none; rd/datalink.rd.in then declares the column). A #proc row is a
ServiceLink, which also writes the service descriptor RESOURCE it points to: the bundle service's
(BundleLink) and the processing service's (ProcessingLink), in every response. A product of the
processing service has its own links (links_for_product), with a #progenitor row per DL3
dataset it was made from.
"""

import dataclasses
import os

from gavo.protocols.datalink import LinkDef
from gavo.protocols.soda import DatalinkFault
from gavo.votable import V

from datalink import parts
from dachs_ext import compat
from processing import parameters

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


def links_for(pubDID, dataset, collection, product_cache, dlget_url, bundle_url,
              processing_url, provenance_files):
    """The links of one observation: Links, a BundleLink, a ProcessingLink, and DatalinkFaults
    where something is broken; provenance_files: see provenance_links.

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
    rows.append(ProcessingLink(pubDID, processing_url, f"dataset {dataset}"))
    return rows


def links_for_product(pubDID, row, files, dlget_url, progenitor_urls, processing_url,
                      provenance_files):
    """The links of one product of the processing service: its file (content_qualifier: its
    dataproduct_type), plot and documentation (files: {part: path}), its provenance documents
    (provenance_files: see provenance_links), a #progenitor row per DL3 dataset it was made from
    (progenitor_urls: {their obs_publisher_did: their {links} URL}), and the processing service,
    with which to make another."""
    this = dataclasses.replace(parts.PRODUCT, content_qualifier=row["dataproduct_type"])
    rows = [link(pubDID, dlget_url, this, os.path.getsize(files[parts.PRODUCT]),
                 f"{row['obs_title']} (FITS)")]
    rows += [link(pubDID, dlget_url, part, os.path.getsize(files[part]))
             for part in (parts.PRODUCT_PLOT, parts.PRODUCT_DOCUMENTATION)]
    rows += provenance_links(pubDID, dlget_url, provenance_files)
    for did, url in progenitor_urls.items():
        rows.append(Link(pubDID, url, contentQualifier="event-list",
                         description=f"DL3 dataset {did}, which this product was made from",
                         semantics=parts.PROGENITOR,
                         contentType="application/x-votable+xml;content=datalink"))
    rows.append(ProcessingLink(pubDID, processing_url, None))
    return rows


class ServiceLink(Link):
    """A #proc row and the service descriptor RESOURCE it points to, with the service's input
    parameters ([(name, value, ucd, unit, description)]).

    The row names the RESOURCE by an ID of the response's VOTable context: bind(ctx) makes it
    before either is written (DaCHS 2.7 writes the table first, 2.8+ the RESOURCEs first)."""

    id_suggestion = "service"

    def __init__(self, pubDID, access_url, description, qualifier, content_type, params):
        # Each descriptor of a document is named and described apart (STILTS 3.5's W-SDND).
        self.description = description
        super().__init__(pubDID, None, contentQualifier=qualifier, description=description,
                         semantics="#proc", contentType=content_type)
        self.pubDID, self.access_url, self.params = pubDID, access_url, params
        self.resource_id = None

    def bind(self, ctx):
        self.resource_id = ctx.getOrMakeIdFor(self, suggestion=self.id_suggestion)

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
            V.GROUP(name="inputParams")[[
                V.PARAM(arraysize="*", datatype="char", name=name, ucd=ucd or None,
                        unit=unit or None, value=value or "")[V.DESCRIPTION[text]]
                for name, value, ucd, unit, text in self.params]]]


class BundleLink(ServiceLink):
    """The bundle service (bundle_core.py) offered in the {links} of one ID, with ID preset to
    this observation (a client adds more IDs to fetch several observations in one tar)."""

    id_suggestion = "bundle"

    def __init__(self, pubDID, dataset, access_url):
        super().__init__(
            pubDID, access_url, f"Observation {dataset} and others (repeat ID) in one tar that"
            " gammapy's DataStore.from_dir opens", "event-bundle", "application/x-tar",
            [("ID", pubDID, "meta.id;meta.main", None,
              "obs_publisher_did of an observation; repeat for more")])


class ProcessingLink(ServiceLink):
    """The processing service (processing_core.py, a UWS: POST creates a job) offered in the
    {links} of one ID: with ID preset to a DL3 dataset (what, a dataset "23523", names), empty
    in the links of a product; its other parameters with their defaults
    (processing/parameters.py)."""

    id_suggestion = "proc"

    def __init__(self, pubDID, access_url, what):
        # Each descriptor of a document is described apart (STILTS 3.5's W-SDND).
        inputs = (f"{what} and others (repeat ID)" if what else
                  f"DL3 datasets (repeat ID; those of {pubDID} are its #progenitor links)")
        description = ("Spectrum dataset (DL4), flux points and light curve (DL5) of a target,"
                       f" made with gammapy from {inputs}: an asynchronous (UWS) job whose"
                       " products are published")
        params = [(p.name, pubDID if p.name == "ID" and what else p.default, p.ucd, p.unit,
                   p.description) for p in parameters.PARAMETERS]
        super().__init__(pubDID, access_url, description, None, "text/xml", params)
