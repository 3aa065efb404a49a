"""The DaCHS core of a collection's DataLink service (`<customCore module=".../datalink/core"/>`).

It is DaCHS's own DatalinkCore with three things of ours:
- the descriptor generator looks the ID up in the collection table (<schema>.obs);
- the links come from links.py and are written into the RD's `make_dlresponse` data
  (rd/datalink.rd.in), whose table extends //datalink#dlresponse by content_qualifier;
- dlget delivers one part (PART=...) of an observation, as built by cache.py.

DaCHS loads this file as a module of its own (customCore); the project root is put on sys.path so
that it can import the datalink and ingest packages.
"""

import datetime
import os
import sys

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from gavo import base, rsc, rscdef, svcs  # noqa: E402
from gavo.formats import votablewrite  # noqa: E402
from gavo.protocols import datalink  # noqa: E402
from gavo.protocols.soda import DatalinkFault  # noqa: E402

from datalink import links, parts  # noqa: E402
from datalink.cache import ProductCache  # noqa: E402
from ingest import config  # noqa: E402

MS = base.makeStruct


# ---- the collection served by an RD


def collection_of(rd):
    """The configured collection an RD publishes, read from where the RD's import reads it
    (the same mapping as rd/gadf_grammar.py: `make serve DATA=...` moves the data directory)."""
    sources = rd.getById("import").sources
    hdu_index_path = (sources.patterns or [sources.content_])[0].strip()
    collections = config.load_collections(
        os.path.join(PROJECT_ROOT, "etc", "collections.yaml"), PROJECT_ROOT)
    for collection in collections.values():
        if collection.schema == rd.schema:
            data_dir = hdu_index_path[:-len(collection.hdu_index)].rstrip(os.sep)
            return collection.with_data_dir(data_dir)
    raise base.ReportableError(f"No collection in etc/collections.yaml has schema {rd.schema}")


def product_cache():
    return ProductCache(os.path.join(base.getConfig("cacheDir"), "datalink"))


# ---- descriptors


class ObservationDescriptor(datalink.DatalinkDescriptorMixin):
    """One observation of the collection table, found by its obs_publisher_did."""

    suppressAutoLinks = True  # DaCHS's automatic #this/#preview are for its products table

    def __init__(self, pubDID, row):
        self.pubDID, self.row = pubDID, row
        self.obs_id = row["obs_id"]


def is_released(row, now=None):
    """Public data, or proprietary data past its release date."""
    if row.get("data_rights") in (None, "public"):
        return True
    release = row.get("obs_release_date")
    now = now or datetime.datetime.utcnow()
    return release is not None and release <= now


def make_descriptor(rd, pubDID):
    """The ObservationDescriptor of pubDID, or a NotFoundFault for an ID this collection lacks."""
    with base.getTableConn() as conn:
        rows = list(conn.queryToDicts(
            f"SELECT obs_id, data_rights, obs_release_date FROM {rd.schema}.obs"
            " WHERE obs_publisher_did=%(did)s", {"did": pubDID}))
    if not rows:
        return DatalinkFault.NotFoundFault(
            pubDID, f"No observation with this ID in {rd.schema}", semantics="#this")
    if not is_released(rows[0]):
        # Custom dlget code bypasses DaCHS's product embargoes: refuse until the release date.
        return DatalinkFault.AuthorizationFault(
            pubDID, "This observation is not released yet", semantics="#this")
    return ObservationDescriptor(pubDID, rows[0])


# ---- dlget


class PartFile(datalink._File):
    """A built part as the HTTP response, saved under its own name (DaCHS names every
    attachment after the ID, which would give the same name to all parts)."""

    def __init__(self, path, media_type, filename):
        super().__init__(path, media_type)
        self.filename = filename

    def render(self, request):
        request.setHeader("content-disposition", f'attachment; filename="{self.filename}"')
        return super().render(request)


def deliver(rd, descriptor, args):
    """The first (and only) data function: sets descriptor.data to the requested part.

    It only sets data: raising DeliverNow in a first data function is a 500 in DaCHS 2.7.
    """
    part = parts.part_named(_single(args.get("PART")) or parts.EVENT_LIST.name)
    if part is None:
        raise base.ValidationError(f"Unknown part {args.get('PART')!r}", "PART")
    collection = collection_of(rd)
    stem = f"{rd.schema}_{descriptor.obs_id}_{part.name}"
    if part is parts.DOCUMENTATION:
        descriptor.data = (part.content_type, parts.build_documentation(collection))
        return
    files = product_cache().files(collection, descriptor.obs_id)
    if part not in files:
        raise svcs.UnknownURI(f"Observation {descriptor.obs_id} has no {part.name}")
    descriptor.data = PartFile(files[part], part.content_type, f"{stem}.{part.extension}")


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


class Core(datalink.DatalinkCore):
    """DaCHS's DatalinkCore answering with content_qualifier; see the module docstring."""

    def completeElement(self, ctx):
        # DaCHS calls its procedures as compiled code; these are one-line calls into this module
        # (`rd` is the RD in every procedure's namespace).
        self.descriptorGenerator = MS(_DescriptorGenerator, parent_=self,
                                      code="return make_descriptor(rd, pubDID)")
        self.feedObject("dataFunction", MS(_DataFunction, parent_=self,
                                           code="deliver(rd, descriptor, args)"))
        self.feedObject("inputKeys", _part_key())
        super().completeElement(ctx)

    def getMetaForDescriptor(self, descriptor):
        """(links, input keys, errors) of one descriptor.

        No input keys: PART only picks one of the listed files, it is not a processing service,
        so DaCHS must not declare a #proc service for it.
        """
        rows = links.links_for(descriptor.pubDID, descriptor.obs_id, collection_of(self.rd),
                               product_cache(), self.parent.getURL("dlget"))
        return ([r for r in rows if not isinstance(r, DatalinkFault)], [],
                [r for r in rows if isinstance(r, DatalinkFault)])

    def getDatalinksResource(self, ctx, service):
        """The links table, made by the RD's make_dlresponse (with content_qualifier) instead of
        //datalink#make_response."""
        data = rsc.makeData(self.rd.getById("make_dlresponse"),
                            forceSource=_grouped_by_id(self.datalinkLinks + self.errors))
        data.setMeta("_type", "results")
        return votablewrite.makeResource(votablewrite.VOTableContext(tablecoding="td"), data)


def _grouped_by_id(rows):
    """The rows with those of one ID consecutive (DataLink requires it; DaCHS lists all links
    before all errors), IDs in the order of the request."""
    by_id = {}
    for row in rows:
        by_id.setdefault(row.asDict()["ID"], []).append(row)
    return [row for group in by_id.values() for row in group]


def _part_key():
    """PART, whose values DaCHS checks before deliver() runs."""
    return MS(svcs.InputKey, name="PART", type="text",
              description="The part of the observation dlget delivers (default: event-list)",
              values=MS(rscdef.Values,
                        options=[MS(rscdef.Option, content_=p.name) for p in parts.ALL_PARTS]))
