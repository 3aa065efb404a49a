"""The staging format between the publisher and DaCHS's import: the rows of one import.

instance/publication.py writes the rows the ingest read (write_rows) and runs `dachs imp`; the
collection RD's custom grammar (dachs_ext/grammar.py) reads them back (read_rows) for DaCHS.
Below both, so that neither imports the other. A row is a dict of collection-table columns with
Python values; s_region is a list of (ra, dec) vertices in degrees, which the grammar turns into
a pgSphere polygon.
"""

import os
import pickle


def staging_path(root_dir, schema):
    """Where an instance stages the rows of a collection's import."""
    return os.path.join(root_dir, "state", "staging", f"{schema}.pickle")


def write_rows(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(rows, f, protocol=pickle.HIGHEST_PROTOCOL)


def read_rows(path):
    with open(path, "rb") as f:
        return pickle.load(f)
