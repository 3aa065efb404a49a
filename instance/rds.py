"""The resource descriptors of an instance, written into its inputs/ from rd/ (render.py): one
RD per collection, the ivoa.obscore_hea and ivoa.obscore_gti views, the provenance views, the
bundle service, the derived products and the processing service, the web search page, and
etc/userconfig.rd. Each file is rendered and written here and nowhere else (`rendered()` says what
they would be, for a backup's check that the configuration still makes the instance's files).
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

    def _view_text(self, rd_id, sources):
        """The RD of the views render.VIEWS[rd_id] over the schemas `sources`."""
        return render.VIEWS[rd_id].render(list(sources), os.path.join(self.inputs, rd_id.split("/")[0]))

    def _service_texts(self):
        """{id: (path, text)} of the RDs served from their file (bundle, links, search: nothing to
        import), of the derived products' RD and of etc/userconfig.rd (id "userconfig")."""
        features = self.inst.features()
        default_schema = self.inst.collections[self.inst.default_collection].schema
        return {
            render.BUNDLE_RD_ID: (self.path(render.BUNDLE_RD_ID),
                                  render.render_bundle_rd(os.path.join(self.inputs, "bundle"))),
            render.DERIVED_RD_ID: (self.path(render.DERIVED_RD_ID), render.render_derived_rd(
                os.path.join(self.inputs, render.DERIVED_SCHEMA), self.inst.site.processing,
                features["native_content_qualifier"])),
            render.LINKS_RD_ID: (self.path(render.LINKS_RD_ID), render.render_links_rd(
                os.path.join(self.inputs, "links"), features["native_content_qualifier"])),
            render.SEARCH_RD_ID: (self.path(render.SEARCH_RD_ID), render.render_search_rd(
                self.inst.collections.values(), os.path.join(self.inputs, "search"),
                self.inst.site.name_resolver)),
            "userconfig": (os.path.join(self.inst.root, "etc", "userconfig.rd"),
                           render.render_userconfig(default_schema)),
        }

    def rendered(self):
        """{path: text} of every RD and etc/userconfig.rd as the configuration renders them now
        (the views over their sources now: Instance.view_sources)."""
        texts = {self.path(self.rd_id(c)): self._collection_text(c)
                 for c in self.inst.collections.values()}
        for rd_id in render.VIEWS:
            texts[self.path(rd_id)] = self._view_text(rd_id, self.inst.view_sources(rd_id))
        texts.update(self._service_texts().values())
        return texts

    def write_collection(self, collection):
        """Writes the collection's RD; True if it changed."""
        return write_if_changed(self.path(self.rd_id(collection)), self._collection_text(collection))

    def write_view(self, rd_id, sources):
        """Writes the RD of the views render.VIEWS[rd_id] over the schemas `sources`; True if its
        text changed."""
        return write_if_changed(self.path(rd_id), self._view_text(rd_id, sources))

    def write_views(self):
        """Writes the RDs of every view in render.VIEWS over its sources now
        (Instance.view_sources); returns the ids of those whose text changed."""
        return [rd_id for rd_id in render.VIEWS
                if self.write_view(rd_id, self.inst.view_sources(rd_id))]

    def write_all(self):
        """Renders every RD but the views' (they are over what is published, and written when
        that changes: Instance.publish_views); returns the ids of those whose text changed and
        that DaCHS imports ("userconfig" for etc/userconfig.rd, the derived products' RD)."""
        changed = [self.rd_id(c) for c in self.inst.collections.values()
                   if self.write_collection(c)]
        for rd_id, (path, text) in self._service_texts().items():
            if write_if_changed(path, text) and rd_id in ("userconfig", render.DERIVED_RD_ID):
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

    def derived_redefined(self):
        """True if the derived products' tables were created from other column definitions."""
        return read_text(self._derived_stamp()) != self.derived_signature()

    def record_derived(self):
        write_if_changed(self._derived_stamp(), self.derived_signature())

    def _derived_stamp(self):
        return os.path.join(self.inst.root, "state", "table-derived.stamp")

    @staticmethod
    def derived_signature():
        return hashlib.sha256(render.derived_table_signature().encode()).hexdigest()

    def forget_table(self, collection):
        try:
            os.unlink(self._table_stamp(collection))
        except FileNotFoundError:
            pass
