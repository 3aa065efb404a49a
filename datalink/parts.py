"""The parts of an observation the DataLink service offers, and how each is built.

A part is one downloadable file: its name (the PART parameter of dlget), DataLink semantics,
content_qualifier, local_semantics, media type and description, and the function that makes its
bytes.
"""

import os
import urllib.parse
from dataclasses import dataclass

from astropy.io import fits

from . import previews, products
from .observation import IRF_TYPES
from provenance import documents
from ingest.file_cache import read_when_changed
from ingest.hdu_index import find_index_table, is_hdu_index, is_obs_index

FITS = "application/fits"


@dataclass(frozen=True)
class Part:
    name: str  # PART value of dlget, also the cache file's stem
    semantics: str
    content_qualifier: str  # None: no qualifier
    content_type: str
    description: str
    extension: str  # of the cached file and of the download's file name
    local_semantics: str = None  # tells apart links of the same semantics


EVENT_LIST = Part("event-list", "#this", "event-list", FITS,
                  "Event list (EVENTS, GTI and POINTING where present; IRFs are separate links)",
                  "fits")
PACKAGE = Part("package", "#package", "event-bundle", "application/x-tar",
               "Event list, all IRFs, hdu-index and obs-index in one tar, ready for gammapy "
               "DataStore.from_dir", "tar")
PREVIEW_IMAGE = Part("preview-image", "#preview-image", "preview", "image/png",
                     "Counts map of the events around the pointing position", "png")
PREVIEW_PLOT = Part("preview-plot", "#preview-plot", "preview", "image/png",
                    "Counts per reconstructed energy", "png")
DOCUMENTATION = Part("documentation", "#documentation", None, "text/plain;charset=utf-8",
                     "Documentation and terms of use of the collection", "txt")

# The parts of a product of the processing service (processing/products.py): its FITS file
# (content_qualifier: its dataproduct_type, set per product), its plot, and the documentation of
# its job. Its inputs are #progenitor links to their {links} (dachs_ext/link_rows.py).
PRODUCT = Part("product", "#this", None, FITS, "The product (FITS)", "fits")
PRODUCT_PLOT = Part("plot", "#preview-plot", "preview", "image/png", "Plot of the product", "png")
PRODUCT_DOCUMENTATION = Part("documentation", "#documentation", None, "text/plain;charset=utf-8",
                             "How the product was made, and the terms of use of its inputs",
                             "txt")
PRODUCT_PARTS = (PRODUCT, PRODUCT_PLOT, PRODUCT_DOCUMENTATION)
PROGENITOR = "#progenitor"

# hdu-index HDU_TYPE -> (content_qualifier, what it is); bkg is `bkgrate` in the DataLink vocabulary.
IRF_PARTS = {
    "aeff": Part("aeff", "#calibration", "aeff", FITS, "Effective area (IRF)", "fits"),
    "edisp": Part("edisp", "#calibration", "edisp", FITS, "Energy dispersion (IRF)", "fits"),
    "psf": Part("psf", "#calibration", "psf", FITS, "Point spread function (IRF)", "fits"),
    "bkg": Part("bkg", "#calibration", "bkgrate", FITS, "Background rate (IRF)", "fits"),
    "rad_max": Part("rad_max", "#calibration", "rad_max", FITS,
                    "Directional cut RAD_MAX (IRF of point-like responses)", "fits"),
}
assert set(IRF_PARTS) == set(IRF_TYPES)

# Not a link of its own: every IRF in one file, as packages and bundles carry them.
ALL_IRFS = Part("irfs", "#calibration", None, FITS, "Every IRF of the observation", "fits")

# Parts that do not depend on the observation's files.
COLLECTION_PARTS = (DOCUMENTATION,)

# The provenance of a dataset (provenance/documents.py), made from its provenance rows, not from
# its files. DataLink's core vocabulary has no term for provenance; #documentation ("structured
# or unstructured metadata helping to understand, interpret, or work with #this ... processing
# logs ...") is the one whose meaning holds it, and local_semantics tells these links apart from
# the collection's documentation. Provenance is metadata, public like the ObsCore row.
PROVENANCE_PARTS = {
    "json": Part("provenance-json", "#documentation", None, "application/json",
                 "Provenance of this dataset (IVOA ProvDM): W3C PROV-JSON", "json", "provenance"),
    "xml": Part("provenance-xml", "#documentation", None, "application/provenance+xml",
                "Provenance of this dataset (IVOA ProvDM): W3C PROV-XML", "provx", "provenance"),
    "provn": Part("provenance-provn", "#documentation", None,
                  "text/provenance-notation;charset=utf-8",
                  "Provenance of this dataset (IVOA ProvDM): W3C PROV-N", "provn", "provenance"),
    "png": Part("provenance-graph", "#documentation", None, "image/png",
                "Provenance of this dataset as a graph (PNG)", "png", "provenance-graph"),
}


def parts_of(hdu_types):
    """The parts of an observation whose hdu-index rows have hdu_types, in link order."""
    irfs = [IRF_PARTS[t] for t in IRF_TYPES if t in hdu_types]
    return [EVENT_LIST, *irfs, PACKAGE, PREVIEW_IMAGE, PREVIEW_PLOT, DOCUMENTATION]


ALL_PARTS = (EVENT_LIST, *IRF_PARTS.values(), PACKAGE, PREVIEW_IMAGE, PREVIEW_PLOT, DOCUMENTATION,
             *PROVENANCE_PARTS.values())


def part_named(name):
    return next((part for part in ALL_PARTS if part.name == name), None)


def part_url(dlget_url, pubDID, part):
    """Where dlget delivers one part of a data set: the one place this URL is made."""
    return f"{dlget_url}?{urllib.parse.urlencode({'ID': pubDID, 'PART': part.name})}"


def build(part, collection, obs):
    """The bytes of one part of an open observation (obs: observation.ObservationFiles)."""
    if part is EVENT_LIST:
        return products.event_list(obs)
    if part is ALL_IRFS:
        return products.all_irfs(obs)
    if part.semantics == "#calibration":
        return products.irf(obs, next(t for t, p in IRF_PARTS.items() if p is part))
    if part is PACKAGE:
        return products.package(obs, hdu_index_header(collection), obs_index_table(collection),
                                os.stat(obs.hdus.events.path).st_mtime)
    if part is PREVIEW_IMAGE:
        return previews.counts_map(obs.hdus.events, obs.dataset)
    if part is PREVIEW_PLOT:
        return previews.energy_histogram(obs.hdus.events, obs.dataset)
    if part is DOCUMENTATION:
        return build_documentation(collection)
    raise ValueError(f"no such part: {part.name}")


def build_provenance(part, document):
    """The bytes of a provenance part from the dataset's prov document (documents.document)."""
    fmt = next(f for f, p in PROVENANCE_PARTS.items() if p is part)
    return documents.png(document) if fmt == "png" else documents.serialize(document, fmt)


def build_documentation(collection):
    readme = None
    if collection.licence_file:
        path = os.path.join(collection.data_dir, collection.licence_file)
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                readme = f.read()
    return products.documentation(collection, readme)


def documentation_sources(collection):
    if collection.licence_file:
        return [os.path.join(collection.data_dir, collection.licence_file)]
    return []


def hdu_index_header(collection):
    """The header of the collection's hdu-index table (shared: do not modify)."""
    return read_when_changed(collection.hdu_index_path, _read_hdu_index_header)


def obs_index_table(collection):
    """The collection's obs-index table HDU (data loaded; shared: do not modify), or None without
    an obs-index."""
    path = collection.obs_index_path
    # Every bundle and package needs it; the obs-index of a large collection takes ~0.1 s to read.
    return read_when_changed(path, _read_obs_index) if path else None


def _read_hdu_index_header(path):
    with fits.open(path) as hdulist:
        return find_index_table(hdulist, is_hdu_index, path, "hdu-index").header.copy()


def _read_obs_index(path):
    with fits.open(path) as hdulist:
        table = find_index_table(hdulist, is_obs_index, path, "obs-index")
        return fits.BinTableHDU(data=table.data.copy(), header=table.header.copy())
