"""The DaCHS core of a collection's DataLink service (`<customCore module=".../datalink_core"/>`).

It is DaCHS's own DatalinkCore with three things of ours:
- the descriptor generator looks the ID up in the collection table (<schema>.obs): of the RD's
  collection, or of the collection the ID names for the service over every collection
  (rd/links.rd.in, which ivoa.obscore's DataLink service descriptor points to); an ID of a
  product of the processing service (ivo://<authority>/derived?...) in derived.products;
- the links come from link_rows.py, with content_qualifier, plus the #proc rows of the bundle
  and processing services;
- dlget delivers one part (PART=...) of an observation, as built by datalink/cache.py, or of a
  product (processing/publication.py), once datalink/access.py has allowed it (their provenance,
  metadata like their ObsCore rows, and a collection's documentation are public).

DaCHS loads this file as a module of its own (customCore); the project root is put on sys.path so
that it can import the project's packages.
"""

import os
import sys
import urllib.parse

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from gavo import base, rsc, rscdef, svcs  # noqa: E402
from gavo.formats import votablewrite  # noqa: E402
from gavo.protocols import datalink  # noqa: E402
from gavo.protocols.soda import DatalinkFault  # noqa: E402

from dachs_ext import compat, httpstream, link_rows  # noqa: E402
from datalink import access, parts  # noqa: E402
from datalink.cache import ProductCache  # noqa: E402
from ingest import config  # noqa: E402
from ingest.datasets import key_of_did  # noqa: E402
from ingest.file_cache import read_when_changed  # noqa: E402
from processing import products, publication  # noqa: E402
from provenance import database as provenance_database  # noqa: E402

compat.install()

MS = base.makeStruct
# The multi-observation bundle service (rd/bundle.rd.in, bundle_core.py).
BUNDLE_SERVICE = "bundle/q#dl"
# The processing service and the DataLink service of its products (rd/derived.rd.in).
PROCESSING_SERVICE = f"{products.SCHEMA}/q#proc"
PRODUCTS_SERVICE = f"{products.SCHEMA}/q#dl"
SITE_FILE = os.path.join(PROJECT_ROOT, "etc", "site.yaml")
# Rows of a {links} response without MAXREC: 1000 observations of about a dozen links each.
LINKS_LIMIT = 12000


# ---- the collections


def installed_collections():
    """The instance's collections, as it reads them."""
    return config.load_installed_collections(base.getConfig("rootDir"))


def collection_of(rd):
    """The configured collection an RD publishes, or None for the RD of a service over every
    collection (rd/links.rd.in, rd/bundle.rd.in)."""
    return config.collection_with_schema(installed_collections(), rd.schema)


def collection_for_id(pubDID):
    """The configured collection whose observation pubDID names
    (ivo://<authority>/<schema>?<obs_id>), or None."""
    parts = urllib.parse.urlsplit(pubDID)
    if parts.scheme != "ivo" or not parts.query:
        return None
    return config.collection_with_schema(installed_collections(), parts.path.strip("/"))


def derived_root():
    """Where the products of the processing service are kept (processing/publication.py)."""
    return os.path.join(base.getConfig("rootDir"), products.SCHEMA)


def product_cache():
    """The instance's product cache (instance.Instance.product_cache_dir), within the size
    etc/site.yaml allows."""
    site = read_when_changed(SITE_FILE, config.load_site)
    return ProductCache(os.path.join(base.getConfig("cacheDir"), "datalink"),
                        int(site.server["product_cache_gb"] * 1e9))


# ---- descriptors


class ObservationDescriptor(datalink.DatalinkDescriptorMixin):
    """One dataset (an observation or an event subset) of a collection table, found by its
    obs_publisher_did; `dataset` is its key (ingest/datasets.py), `obs_id` the observation's."""

    suppressAutoLinks = True  # DaCHS's automatic #this/#preview are for its products table

    def __init__(self, pubDID, row, collection):
        self.pubDID, self.row, self.collection = pubDID, row, collection
        self.obs_id, self.dataset = row["obs_id"], key_of_did(pubDID)


class ProductDescriptor(datalink.DatalinkDescriptorMixin):
    """One product of the processing service, found by its obs_publisher_did in
    derived.products; row: that row's columns the links and the rights need."""

    suppressAutoLinks = True

    def __init__(self, pubDID, row):
        self.pubDID, self.row = pubDID, row
        self.kind = products.kind_named(row["product"])


def make_descriptor(rd, pubDID):
    """The observation pubDID names: in the RD's collection, or in any for a service over every
    collection; or the product it names."""
    if urllib.parse.urlsplit(pubDID).path.strip("/") == products.SCHEMA:
        return find_product(pubDID)
    collection = collection_of(rd) or collection_for_id(pubDID)
    if collection is None:
        return DatalinkFault.NotFoundFault(
            pubDID, "Not an observation ID of this service"
            " (ivo://<authority>/<collection>?<obs_id>)", semantics="#this")
    return find_observation(collection, pubDID)


def find_observation(collection, pubDID):
    """The ObservationDescriptor of pubDID in the table of a configured collection (never a
    name from the request), or a NotFoundFault."""
    with base.getTableConn() as conn:
        rows = list(conn.queryToDicts(
            f"SELECT obs_id, data_rights, obs_release_date, source_fingerprint"
            f" FROM {collection.schema}.obs"
            " WHERE obs_publisher_did=%(did)s", {"did": pubDID}))
    if not rows:
        return DatalinkFault.NotFoundFault(
            pubDID, f"No observation with this ID in {collection.schema}", semantics="#this")
    # The links of proprietary observations are listed like all others; dlget checks the rights.
    return ObservationDescriptor(pubDID, rows[0], collection)


PRODUCT_COLUMNS = ("obs_publisher_did", "product", "job_id", "dataproduct_type", "obs_title",
                   "data_rights", "obs_release_date", "owner")


def find_product(pubDID):
    """The ProductDescriptor of pubDID, or a NotFoundFault."""
    with base.getTableConn() as conn:
        rows = list(conn.queryToDicts(
            f"SELECT {', '.join(PRODUCT_COLUMNS)} FROM {products.SCHEMA}.products"
            " WHERE obs_publisher_did=%(did)s", {"did": pubDID}))
    if not rows:
        return DatalinkFault.NotFoundFault(pubDID, "No product with this ID", semantics="#this")
    return ProductDescriptor(pubDID, rows[0])


def progenitors(pubDID):
    """The obs_publisher_did of the DL3 datasets a product was made from."""
    with base.getTableConn() as conn:
        return [row["progenitor_did"] for row in conn.queryToDicts(
            f"SELECT progenitor_did FROM {products.SCHEMA}.progenitors"
            " WHERE obs_publisher_did=%(did)s ORDER BY progenitor_did", {"did": pubDID})]


def check_access(descriptor, queryMeta):
    """Raises 401 (svcs.Authenticate) or 403 unless the request may have the descriptor's files."""
    row = descriptor.row
    if isinstance(descriptor, ProductDescriptor):
        owner, what = row["owner"], f"Product {descriptor.pubDID}"
    else:
        owner = descriptor.collection.owner_for(descriptor.dataset, descriptor.obs_id)
        what = f"Observation {descriptor.dataset}"
    user, is_member = compat.request_credentials(queryMeta)
    outcome = access.verdict(row["data_rights"], row["obs_release_date"], owner, user, is_member,
                             compat.request_channel(queryMeta))
    until = f" until {row['obs_release_date']:%Y-%m-%d}" if row["obs_release_date"] else ""
    if outcome == access.AUTHENTICATE:
        raise svcs.Authenticate(hint=f"{what} is proprietary{until}:"
                                     " log in as a member of its owner group")
    if outcome == access.FORBIDDEN:
        raise svcs.ForbiddenURI(f"{what} is proprietary{until}")
    if outcome == access.INSECURE:
        raise svcs.ForbiddenURI(insecure_message())


def insecure_message():
    """Why credentials are refused over plain HTTP, and where to send them instead."""
    url = base.getConfig("web", "serverURL")
    where = (f"use HTTPS: {url}" if url.startswith("https://") else
             "this service has no HTTPS (etc/site.yaml, https:), so they are taken only from its"
             " own machine")
    return ("Credentials (user name and password) are refused over plain HTTP from another"
            f" machine, where they cross the network in clear: {where}. Proprietary files need"
            " them; public files need none.")


def provenance_files(descriptor):
    """{part: path} of the descriptor's provenance documents, built from its provenance rows when
    they changed (the row's source_fingerprint changes with them)."""
    schema = descriptor.collection.schema

    def load():
        with base.getTableConn() as conn:
            cursor = conn.cursor()
            records = provenance_database.read(cursor, schema, descriptor.pubDID)
            return records, provenance_database.entities(cursor, records.named_entities())

    return product_cache().provenance(schema, descriptor.dataset,
                                      descriptor.row["source_fingerprint"], load)


def product_provenance_files(descriptor):
    """provenance_files() of a product of the processing service: its rows never change once
    written, so its obs_publisher_did keys the built documents."""
    def load():
        with base.getTableConn() as conn:
            cursor = conn.cursor()
            records = provenance_database.read(cursor, products.SCHEMA, descriptor.pubDID)
            return records, provenance_database.entities(cursor, records.named_entities())

    key = f"{descriptor.row['job_id']}-{descriptor.kind.name}"
    return product_cache().provenance(products.SCHEMA, key, descriptor.pubDID, load)


# Parts anyone may fetch: the collection's documentation and the dataset's provenance (metadata,
# like its ObsCore row).
PROVENANCE_PART_NAMES = {p.name for p in parts.PROVENANCE_PARTS.values()}
PUBLIC_PARTS = {parts.DOCUMENTATION.name} | PROVENANCE_PART_NAMES


# ---- dlget


def deliver(rd, descriptor, args):
    """The first (and only) data function: sets descriptor.data to the requested part.

    It only sets data: raising DeliverNow in a first data function is a 500 in DaCHS 2.7.
    """
    if isinstance(descriptor, ProductDescriptor):
        return deliver_product(descriptor, args)
    part = parts.part_named(_single(args.get("PART")) or parts.EVENT_LIST.name)
    if part is None:
        raise base.ValidationError(f"Unknown part {args.get('PART')!r}", "PART")
    collection, cache = descriptor.collection, product_cache()
    stem = f"{collection.schema}_{descriptor.dataset}_{part.name}"
    if part is parts.DOCUMENTATION:
        path = cache.documentation(collection)
    elif part in parts.PROVENANCE_PARTS.values():
        path = provenance_files(descriptor)[part]
    else:
        files = cache.files(collection, descriptor.dataset)
        if part not in files:
            raise svcs.UnknownURI(f"Observation {descriptor.dataset} has no {part.name}")
        path = files[part]
    descriptor.data = httpstream.FileResponse(path, part.content_type, f"{stem}.{part.extension}",
                                              cache.root, httpstream.cache_result(cache))


def deliver_product(descriptor, args):
    """deliver() for a product: its FITS file (the default), plot or documentation."""
    name = _single(args.get("PART")) or parts.PRODUCT.name
    offered = parts.PRODUCT_PARTS + tuple(parts.PROVENANCE_PARTS.values())
    part = next((p for p in offered if p.name == name), None)
    if part is None:
        raise base.ValidationError(
            f"A product has no part {name!r} (it has {', '.join(p.name for p in offered)})",
            "PART")
    stem = f"{descriptor.row['job_id']}-{descriptor.kind.name}"
    if part in parts.PRODUCT_PARTS:
        path = publication.file_of(derived_root(), descriptor.row["job_id"], descriptor.kind,
                                   part)
    else:
        path = product_provenance_files(descriptor)[part]
    # Products are small: DaCHS sends them (nginx serves the product cache only).
    descriptor.data = httpstream.FileResponse(path, part.content_type,
                                              f"{stem}.{part.extension}", None)


def _single(value):
    """DaCHS hands over parameters as lists or values depending on the renderer."""
    if isinstance(value, (list, tuple)):
        return value[0] if value else None
    return value


# ---- the core


class _DescriptorGenerator(datalink.DescriptorGenerator):
    additionalNamesForProcs = dict(datalink.DescriptorGenerator.additionalNamesForProcs,
                                   make_descriptor=make_descriptor)


class _DataFunction(datalink.DataFunction):
    additionalNamesForProcs = dict(datalink.DataFunction.additionalNamesForProcs, deliver=deliver)


class Core(compat.datalink_core_base()):
    """DaCHS's DatalinkCore answering with our links; see the module docstring."""

    def completeElement(self, ctx):
        # DaCHS calls its procedures as compiled code; these are one-line calls into this module
        # (`rd` is the RD in every procedure's namespace).
        self.descriptorGenerator = MS(_DescriptorGenerator, parent_=self,
                                      code="return make_descriptor(rd, pubDID)")
        self.feedObject("dataFunction", MS(_DataFunction, parent_=self,
                                           code="deliver(rd, descriptor, args)"))
        self.feedObject("inputKeys", _part_key())
        super().completeElement(ctx)

    def adaptForDescriptors(self, renderer, descriptors, maxRec):
        """DaCHS cuts a {links} response at MAXREC rows, 100 where the client gives none ([db]
        defaultLimit): fewer than ten observations. pyvo asks for 50 IDs at a time and takes a
        cut answer as its batch size: without a MAXREC, a response holds LINKS_LIMIT rows."""
        if maxRec == base.getConfig("db", "defaultLimit"):
            maxRec = LINKS_LIMIT
        return super().adaptForDescriptors(renderer, descriptors, maxRec)

    def getMetaForDescriptor(self, descriptor):
        """(links, input keys, errors) of one descriptor.

        No input keys: PART only picks one of the listed files, it is not a processing service,
        so DaCHS must not declare a #proc service for it.
        """
        processing_url = base.resolveCrossId(PROCESSING_SERVICE).getURL("uws.xml")
        if isinstance(descriptor, ProductDescriptor):
            rows = product_links(descriptor, processing_url)
        else:
            collection = descriptor.collection
            rows = link_rows.links_for(
                descriptor.pubDID, descriptor.dataset, collection, product_cache(),
                base.resolveCrossId(f"{collection.schema}/q#dl").getURL("dlget"),
                base.resolveCrossId(BUNDLE_SERVICE).getURL("dlget"), processing_url,
                lambda: provenance_files(descriptor))
        return ([r for r in rows if not isinstance(r, DatalinkFault)], [],
                [r for r in rows if isinstance(r, DatalinkFault)])

    def runForMeta(self, service, inputTable, queryMeta):
        """DaCHS answers text/xml to any Accept naming text/html (for its XSLT); DataLink clients
        such as STILTS send that too and must get the DataLink media type. Browsers are still
        recognised by their User-Agent (and get HTML) in DaCHS's dlmeta renderer."""
        mime, payload = super().runForMeta(service, inputTable, queryMeta)
        if mime == "text/xml" and not inputTable.getParam("responseformat"):
            mime = self.datalinkType
        return mime, payload

    def runForData(self, service, inputTable, queryMeta):
        """dlget: the rights are checked before any data function runs (PUBLIC_PARTS of an
        observation and the provenance of a product are public; a product's documentation, which
        tells its fit, is the product's)."""
        part = _single(inputTable.getParamDict().get("PART"))
        for descriptor in self.descriptors:
            if isinstance(descriptor, ProductDescriptor):
                if part not in PROVENANCE_PART_NAMES:
                    check_access(descriptor, queryMeta)
            elif isinstance(descriptor, ObservationDescriptor) and part not in PUBLIC_PARTS:
                check_access(descriptor, queryMeta)
        return super().runForData(service, inputTable, queryMeta)

    def getDatalinksResource(self, ctx, service):
        """The links table, with the rows of each ID together in the order of the request."""
        for row in self.datalinkLinks:
            if isinstance(row, link_rows.ServiceLink):
                row.bind(ctx)
        order = [getattr(d, "pubDID", None) for d in self.descriptors]
        data = rsc.makeData(compat.response_maker(self.rd),
                            forceSource=_grouped_by_id(self.datalinkLinks + self.errors, order))
        data.setMeta("_type", "results")
        return votablewrite.makeResource(votablewrite.VOTableContext(tablecoding="td"), data)


def product_links(descriptor, processing_url):
    """The link rows of a product: its files, its progenitors' {links}, the processing
    service."""
    files = {part: publication.file_of(derived_root(), descriptor.row["job_id"],
                                       descriptor.kind, part) for part in parts.PRODUCT_PARTS}
    missing = [path for path in files.values() if not os.path.exists(path)]
    if missing:
        return [DatalinkFault.FatalFault(descriptor.pubDID, "The files of this product are"
                                         f" missing: {missing[0]}", semantics="#this")]
    urls = {}
    for did in progenitors(descriptor.pubDID):
        collection = collection_for_id(did)
        if collection is not None:  # a collection no longer configured: no link to make
            urls[did] = (base.resolveCrossId(f"{collection.schema}/q#dl").getURL("dlmeta")
                         + "?" + urllib.parse.urlencode({"ID": did}))
    return link_rows.links_for_product(
        descriptor.pubDID, descriptor.row, files,
        base.resolveCrossId(PRODUCTS_SERVICE).getURL("dlget"), urls, processing_url,
        lambda: product_provenance_files(descriptor))


def _grouped_by_id(rows, order):
    """The rows with those of one ID consecutive (DataLink requires it; DaCHS lists all links
    before all errors), IDs in the order of the request (order)."""
    by_id = {pubDID: [] for pubDID in order}
    for row in rows:
        by_id.setdefault(row.asDict()["ID"], []).append(row)
    return [row for group in by_id.values() for row in group]


def _part_key():
    """PART, whose values DaCHS checks before deliver() runs."""
    return MS(svcs.InputKey, name="PART", type="text",
              description="The part of the observation (default: event-list) or of the product"
                          " (default: product) dlget delivers",
              values=MS(rscdef.Values,
                        options=[MS(rscdef.Option, content_=name) for name in dict.fromkeys(
                            p.name for p in parts.ALL_PARTS + parts.PRODUCT_PARTS)]))
