"""Reads one dataset's provenance documents with the `prov` library of PyPI (3.x, in the test
virtualenv .venv-gammapy), which reads PROV-N too (Debian's prov 2.0.0 writes it but cannot read
it), and reports what they hold (JSON):

    prov_read.py <PROV-JSON file> <PROV-XML file> <PROV-N file>

{"same": whether the three are one document, "entities"/"activities"/"agents": {URI: label}}.
"""

import json
import sys

import prov
from prov.model import ProvActivity, ProvAgent, ProvEntity


def labelled(document, kind):
    found = {}
    for record in document.get_records(kind):
        labels = record.get_attribute("prov:label")
        found[record.identifier.uri] = str(next(iter(labels))) if labels else None
    return found


def main(paths):
    documents = [prov.read(path, format=fmt) for path, fmt in zip(paths, ("json", "xml", "provn"))]
    first = documents[0]
    print(json.dumps({
        "same": all(document == first for document in documents[1:]),
        "entities": labelled(first, ProvEntity), "activities": labelled(first, ProvActivity),
        "agents": labelled(first, ProvAgent)}))


if __name__ == "__main__":
    main(sys.argv[1:])
