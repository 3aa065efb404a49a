"""DataLink of the collections: the {links} rows and the files dlget delivers for each observation.

core.py      the DaCHS core of each collection's `dl` service (customCore in rd/datalink.rd.in)
links.py     the link rows (with content_qualifier): the one place a link is made
parts.py     what parts an observation offers (semantics, qualifier, media type) and how each is built
products.py  the FITS files and the tar package
previews.py  the PNG previews
cache.py     built parts on disk, so that content_length is the size of what dlget returns
observation.py  an observation's HDUs, located through the collection's hdu-index (ingest/)
"""
