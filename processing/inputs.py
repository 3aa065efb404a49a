"""The DL3 datasets a job asks for: found in the published collection tables, checked, and kept
or left out with the reason.

A job names datasets by obs_publisher_did (ivo://<authority>/<schema>?<key>), of any published
collection. Every one must exist (else InputError); those that cannot be analysed for this
target are left out, each with its reason (no pointing, target outside the field of view), and
if none is left the job fails with every reason (InputError).
"""

import urllib.parse
from dataclasses import dataclass

from ingest import sky
from ingest.config import collection_with_schema
from ingest.datasets import key_of_did

# What a job needs of a dataset's row in its collection table.
COLUMNS = ("obs_publisher_did", "obs_id", "s_ra", "s_dec", "s_fov", "ra_pnt", "dec_pnt",
           "obs_mode", "target_name", "t_min", "t_max", "facility_name", "instrument_name",
           "data_rights", "obs_release_date", "energy_min", "energy_max")


class InputError(ValueError):
    """Datasets a job cannot use; the message names them and why."""


@dataclass(frozen=True)
class InputDataset:
    collection: object  # ingest.config.CollectionConfig
    key: str  # the dataset key (ingest/datasets.py)
    row: dict  # COLUMNS of its collection table

    @property
    def did(self):
        return self.row["obs_publisher_did"]

    def rights(self):
        """(data_rights, release_date, owner), as datalink/access.py takes them."""
        return (self.row["data_rights"], self.row["obs_release_date"],
                self.collection.owner_for(self.key, self.row["obs_id"]))


def find(cursor, collections, dids):
    """The InputDataset of each DID, in order; InputError naming every DID that is no published
    dataset. cursor: a DB-API cursor of the service's database; collections: {name:
    CollectionConfig} of the instance."""
    found, unknown = [], []
    for did in dids:
        collection = _collection_of(collections, did)
        row = _row(cursor, collection, did) if collection else None
        if row is None:
            unknown.append(did)
        else:
            found.append(InputDataset(collection, key_of_did(did), row))
    if unknown:
        raise InputError("No published DL3 dataset has the ID " + ", ".join(unknown)
                         + " (IDs are the obs_publisher_did of ivoa.obscore)")
    return found


def _collection_of(collections, did):
    parts = urllib.parse.urlsplit(did)
    if parts.scheme != "ivo" or not parts.query:
        return None
    return collection_with_schema(collections, parts.path.strip("/"))


def _row(cursor, collection, did):
    # The schema is the configured collection's, never a name from the request.
    cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM {collection.schema}.obs"
                   " WHERE obs_publisher_did = %(did)s", {"did": did})
    row = cursor.fetchone()
    return dict(zip(COLUMNS, row)) if row else None


def select(datasets, ra, dec, on_radius):
    """(usable, [(dataset, reason)]): the datasets whose field of view holds the on-region of
    radius on_radius (deg) around (ra, dec), and the others with why; InputError if none is
    usable."""
    usable, left_out = [], []
    for dataset in datasets:
        reason = _unusable(dataset.row, ra, dec, on_radius)
        if reason:
            left_out.append((dataset, reason))
        else:
            usable.append(dataset)
    if not usable:
        raise InputError("No matching observation: " + "; ".join(
            f"{d.did}: {reason}" for d, reason in left_out))
    return usable, left_out


def _unusable(row, ra, dec, on_radius):
    """Why the on-region cannot be analysed in this dataset, or None."""
    if row["ra_pnt"] is None or row["dec_pnt"] is None:
        return (f"it has no pointing (observing mode {row['obs_mode']}): the reflected-region"
                " background needs one")
    offset = float(sky.offsets_deg(ra, dec, row["s_ra"], row["s_dec"]))
    radius = row["s_fov"] / 2.0
    if offset + on_radius > radius:
        return (f"the on-region ({on_radius:g} deg around RA {ra:g}, Dec {dec:g}) is not inside"
                f" its field of view: {offset:.2f} deg from its pointing, field radius"
                f" {radius:g} deg")
    return None
