"""The DaCHS core of a collection's DataLink service (`<customCore module=".../datalink_core"/>`).

It is DaCHS's own DatalinkCore with three things of ours:
- the descriptor generator looks the ID up in the collection table (<schema>.obs);
- the links come from link_rows.py, with content_qualifier, plus the bundle service's #proc;
- dlget delivers one part (PART=...) of an observation, as built by datalink/cache.py, once
  datalink/access.py has allowed it.

DaCHS loads this file as a module of its own (customCore); the project root is put on sys.path so
that it can import the project's packages.
"""

import os
import sys

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from gavo import base, rsc, rscdef, svcs  # noqa: E402
from gavo.formats import votablewrite  # noqa: E402
from gavo.protocols import datalink  # noqa: E402
from gavo.protocols.soda import DatalinkFault  # noqa: E402
from twisted.web import static  # noqa: E402

from dachs_ext import compat, link_rows  # noqa: E402
from datalink import access, parts  # noqa: E402
from datalink.cache import ProductCache  # noqa: E402
from ingest import config  # noqa: E402

compat.install()

MS = base.makeStruct
# The multi-observation bundle service (rd/bundle.rd.in, bundle_core.py).
BUNDLE_SERVICE = "bundle/q#dl"


# ---- the collection served by an RD


def collection_of(rd):
    """The configured collection an RD publishes, as the instance reads it."""
    return config.installed_collection(base.getConfig("rootDir"), rd.schema)


def product_cache():
    return ProductCache(os.path.join(base.getConfig("cacheDir"), "datalink"))


# ---- descriptors


class ObservationDescriptor(datalink.DatalinkDescriptorMixin):
    """One observation of the collection table, found by its obs_publisher_did."""

    suppressAutoLinks = True  # DaCHS's automatic #this/#preview are for its products table

    def __init__(self, pubDID, row):
        self.pubDID, self.row = pubDID, row
        self.obs_id = row["obs_id"]


def make_descriptor(rd, pubDID):
    return find_observation(rd.schema, pubDID)


def find_observation(schema, pubDID):
    """The ObservationDescriptor of pubDID in the collection table of schema (a configured
    schema, never request text), or a NotFoundFault."""
    with base.getTableConn() as conn:
        rows = list(conn.queryToDicts(
            f"SELECT obs_id, data_rights, obs_release_date FROM {schema}.obs"
            " WHERE obs_publisher_did=%(did)s", {"did": pubDID}))
    if not rows:
        return DatalinkFault.NotFoundFault(
            pubDID, f"No observation with this ID in {schema}", semantics="#this")
    # The links of proprietary observations are listed like all others; dlget checks the rights.
    return ObservationDescriptor(pubDID, rows[0])


def check_access(collection, descriptor, queryMeta):
    """Raises 401 (svcs.Authenticate) or 403 unless the request may have the descriptor's files."""
    row = descriptor.row
    user, is_member = compat.request_credentials(queryMeta)
    outcome = access.verdict(row["data_rights"], row["obs_release_date"],
                             collection.owner_for(descriptor.obs_id), user, is_member)
    until = f" until {row['obs_release_date']:%Y-%m-%d}" if row["obs_release_date"] else ""
    if outcome == access.AUTHENTICATE:
        raise svcs.Authenticate(hint=f"Observation {descriptor.obs_id} is proprietary{until}:"
                                     " log in as a member of its owner group")
    if outcome == access.FORBIDDEN:
        raise svcs.ForbiddenURI(f"Observation {descriptor.obs_id} is proprietary{until}")


# ---- dlget


class PartFile(static.File):
    """A built part as the HTTP response: Twisted's static file (Range, HEAD, Last-Modified),
    with the part's media type, saved under its own name (DaCHS names every attachment after
    the ID, which would give the same name to all parts), never compressed on the way."""

    def __init__(self, path, media_type, filename):
        super().__init__(path)
        self.type, self.encoding = media_type, None
        self.filename = filename

    def render(self, request):
        compat.send_unencoded(request)
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

    def getMetaForDescriptor(self, descriptor):
        """(links, input keys, errors) of one descriptor.

        No input keys: PART only picks one of the listed files, it is not a processing service,
        so DaCHS must not declare a #proc service for it.
        """
        rows = link_rows.links_for(
            descriptor.pubDID, descriptor.obs_id, collection_of(self.rd), product_cache(),
            self.parent.getURL("dlget"), base.resolveCrossId(BUNDLE_SERVICE).getURL("dlget"))
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
        """dlget: the rights are checked before any data function runs (the documentation, which
        is the collection's and not the observation's, is public)."""
        collection = collection_of(self.rd)
        if _single(inputTable.getParamDict().get("PART")) == parts.DOCUMENTATION.name:
            return super().runForData(service, inputTable, queryMeta)
        for descriptor in self.descriptors:
            if isinstance(descriptor, ObservationDescriptor):
                check_access(collection, descriptor, queryMeta)
        return super().runForData(service, inputTable, queryMeta)

    def getDatalinksResource(self, ctx, service):
        """The links table, with the rows of each ID together in the order of the request."""
        for row in self.datalinkLinks:
            if isinstance(row, link_rows.BundleLink):
                row.bind(ctx)
        data = rsc.makeData(compat.response_maker(self.rd),
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
