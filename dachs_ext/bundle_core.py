"""The DaCHS core of the bundle service (`<customCore module=".../bundle_core"/>`):
dlget?ID=...&ID=... returns one tar of all the observations, streamed (datalink/bundle.py).

It takes the IDs of any collection (obs_publisher_did: ivo://<authority>/<schema>?<obs_id>), so
that the result of a search over ivoa.obscore can be fetched in one go. Each collection's {links}
response declares this service as a #proc link (link_rows.BundleLink). Every ID must exist and
be accessible to the caller, else nothing is sent: 404 (or 422) naming the ID, 401 for
proprietary data without a member's credentials.
"""

import os
import sys

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from gavo import base  # noqa: E402
from gavo.protocols import datalink  # noqa: E402
from gavo.protocols.soda import DatalinkFault  # noqa: E402

from dachs_ext import compat, datalink_core, httpstream  # noqa: E402
from datalink import bundle  # noqa: E402

compat.install()

MS = base.makeStruct
CONTENT_TYPE = "application/x-tar"


def make_descriptor(pubDID):
    """The observation of any configured collection that pubDID names, or a NotFoundFault."""
    collection = datalink_core.collection_for_id(pubDID)
    if collection is None:
        return DatalinkFault.NotFoundFault(
            pubDID, "Not an observation ID of this service (ivo://<authority>/<collection>?<obs_id>)",
            semantics="#this")
    return datalink_core.find_observation(collection, pubDID)


class BundleResponse:
    """The HTTP response: the tar, its members built first (in a thread), then sent with its
    length, validators and ranges (httpstream.py), never compressed on the way (a tar of FITS
    files shrinks by ~30 % while gzip in the streaming process limits it to ~60 MB/s)."""

    type = CONTENT_TYPE

    def __init__(self, observations):
        self.observations = observations

    def render(self, request):
        request.setHeader("content-type", CONTENT_TYPE)
        request.setHeader("content-disposition",
                          f'attachment; filename="observations-{len(self.observations)}.tar"')
        return httpstream.send_built(request, self._build)

    def _build(self):
        cache = datalink_core.product_cache()
        archive, representation = bundle.layout(self.observations, cache)
        return (representation, archive.write,
                {httpstream.CACHE_HEADER: httpstream.cache_result(cache)})


class _DescriptorGenerator(datalink.DescriptorGenerator):
    additionalNamesForProcs = dict(datalink.DescriptorGenerator.additionalNamesForProcs,
                                   make_descriptor=make_descriptor)


class Core(compat.datalink_core_base()):
    """A DatalinkCore whose dlget takes many IDs and answers with one bundle."""

    def completeElement(self, ctx):
        self.descriptorGenerator = MS(_DescriptorGenerator, parent_=self,
                                      code="return make_descriptor(pubDID)")
        super().completeElement(ctx)

    def getMetaForDescriptor(self, descriptor):
        return [], [], []

    def runForData(self, service, inputTable, queryMeta):
        try:
            for descriptor in self.descriptors:
                if isinstance(descriptor, DatalinkFault):
                    descriptor.raiseException()
                datalink_core.check_access(descriptor, queryMeta)
            observations = [(d.collection, d.dataset) for d in self.descriptors]
            try:
                bundle.check_bundle(observations)
            except bundle.BundleError as exc:
                raise base.ValidationError(str(exc), "ID")
            return BundleResponse(bundle.unique(observations))
        finally:
            self.finalize()
