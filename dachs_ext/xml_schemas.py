"""The IVOA and W3C XML schemas DaCHS ships, and its validator over them, for the tests: VOSI,
OAI-PMH and VOResource documents are validated offline against these copies."""

import functools


@functools.lru_cache(1)
def schemata_dir():
    """The directory of DaCHS's XSD copies (gavo/resources/schemata, wherever DaCHS lives)."""
    from gavo import base

    return base.getPathForDistFile("schemata")


def xsd_errors(document):
    """None if the XML document (bytes) validates against the schemas it names, else DaCHS's
    description of what does not."""
    from gavo.helpers import testtricks

    return testtricks.getXSDErrors(document)
