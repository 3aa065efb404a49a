"""The resource descriptors of an instance, written into its inputs/ from rd/ (render.py): one
RD per collection, the ivoa.obscore_hea and ivoa.obscore_gti views, the bundle service, the web search page, and
etc/userconfig.rd. Each file is written here and nowhere else.
"""

import hashlib
import os

from ingest import staging
from instance.files import read_text, write_if_changed
from rd import render


class ResourceDescriptors:
    """The RDs of one instance (instance.Instance)."""

    def __init__(self, inst):
        self.inst = inst
        self.inputs = os.path.join(inst.root, "inputs")

    @staticmethod
    def rd_id(collection):
        return f"{collection.schema}/q"

    def path(self, rd_id):
        return os.path.join(self.inputs, rd_id + ".rd")

    def _collection_text(self, collection):
        """The collection's RD, with the registry coverage of its published table (none before
        the first ingest)."""
        return render.render_collection_rd(
            collection, staging.staging_path(self.inst.root, collection.schema),
            os.path.join(self.inputs, collection.schema),
            coverage=self.inst.registry.stored_coverage(collection),
            native_content_qualifier=self.inst.features()["native_content_qualifier"])

    def _view_texts(self, collections):
        """{rd id: (path, text)} of the RDs of the ivoa views over these collections (render.VIEWS)."""
        texts = {}
        for rd_id, (_, make) in render.VIEWS.items():
            resdir = os.path.join(self.inputs, rd_id.split("/")[0])
            texts[rd_id] = (self.path(rd_id), make(list(collections), resdir))
        return texts

    def _service_texts(self):
        """{id: (path, text)} of the RDs served from their file (nothing to import: bundle, links,
        search) and of etc/userconfig.rd (id "userconfig")."""
        features = self.inst.features()
        default_schema = self.inst.collections[self.inst.default_collection].schema
        return {
            render.BUNDLE_RD_ID: (self.path(render.BUNDLE_RD_ID),
                                  render.render_bundle_rd(os.path.join(self.inputs, "bundle"))),
            render.LINKS_RD_ID: (self.path(render.LINKS_RD_ID), render.render_links_rd(
                os.path.join(self.inputs, "links"), features["native_content_qualifier"])),
            render.SEARCH_RD_ID: (self.path(render.SEARCH_RD_ID), render.render_search_rd(
                self.inst.collections.values(), os.path.join(self.inputs, "search"),
                self.inst.site.name_resolver)),
            "userconfig": (os.path.join(self.inst.root, "etc", "userconfig.rd"),
                           render.render_userconfig(default_schema)),
        }

    def rendered(self, published):
        """{path: text} of every RD and etc/userconfig.rd as the configuration renders them now
        (the views over the published collections)."""
        texts = {self.path(self.rd_id(c)): self._collection_text(c)
                 for c in self.inst.collections.values()}
        for path, text in [*self._view_texts(published).values(), *self._service_texts().values()]:
            texts[path] = text
        return texts

    def write_collection(self, collection):
        """Writes the collection's RD; True if it changed."""
        return write_if_changed(self.path(self.rd_id(collection)), self._collection_text(collection))

    def write_views(self, collections):
        """The RDs of the ivoa views over these collections; the ids of those whose text changed."""
        return [rd_id for rd_id, (path, text) in self._view_texts(collections).items()
                if write_if_changed(path, text)]

    def write_all(self):
        """Renders every RD but the views' (they are over the published collections, and written
        when those are: Instance._publish_views); returns the ids of those whose text changed
        ("userconfig" for etc/userconfig.rd; the others are served from their file: there is
        nothing to import)."""
        changed = [self.rd_id(c) for c in self.inst.collections.values()
                   if self.write_collection(c)]
        for rd_id, (path, text) in self._service_texts().items():
            if write_if_changed(path, text) and rd_id == "userconfig":
                changed.append(rd_id)
        return changed

    # ---------------------------------------------------------------- table definitions
    def _table_stamp(self, collection):
        return os.path.join(self.inst.root, "state", f"table-{collection.schema}.stamp")

    @staticmethod
    def table_signature(collection):
        """Changes exactly when the collection table must be re-created."""
        return hashlib.sha256(render.collection_table_signature(collection).encode()).hexdigest()

    def table_redefined(self, collection):
        """True if the collection's published table has another definition than its RD's."""
        return read_text(self._table_stamp(collection)) != self.table_signature(collection)

    def record_table(self, collection):
        """The published table now has its RD's definition."""
        write_if_changed(self._table_stamp(collection), self.table_signature(collection))

    def forget_table(self, collection):
        try:
            os.unlink(self._table_stamp(collection))
        except FileNotFoundError:
            pass
