"""What one published dataset is, and its identifier: the one place where both are decided.

A dataset is an observation, or one event subset of it (HE-OBSCORE-SPEC §7): an hdu-index with
EVENT_CLASS and/or EVENT_TYPE columns gives each distinct (OBS_ID, EVENT_CLASS, EVENT_TYPE) its
own event list and IRFs, and each is published as a dataset of its own. Its key is the OBS_ID,
followed for a subset by the subset's name: '23523', '103000133-GP-5'. The key is what the ingest,
the product cache and the DataLink services look datasets up by; obs_publisher_did is
ivo://<authority>/<schema>?<key>, and obs_id stays the observation's.
"""

import urllib.parse

# Characters of EVENT_CLASS / EVENT_TYPE values kept as they are in a key (and so in a DID and a
# file name); any other is %-escaped.
SAFE_CHARACTERS = "-._+"


def subset_name(event_class, event_type):
    """The published event_type of a subset: class then type, joined by '-' ('GP-5'); '' for
    none."""
    return "-".join(str(part).strip() for part in (event_class, event_type)
                    if part is not None and str(part).strip())


def dataset_key(obs_id, subset=""):
    """'23523' for an observation, '103000133-GP-5' for one of its event subsets."""
    if not subset:
        return str(obs_id)
    return f"{obs_id}-{urllib.parse.quote(subset, safe=SAFE_CHARACTERS)}"


def publisher_did(authority, schema, key):
    """The obs_publisher_did of a dataset."""
    return f"ivo://{authority}/{schema}?{key}"


def key_of_did(did):
    """The dataset key of an obs_publisher_did (the part after '?'), or None."""
    query = urllib.parse.urlsplit(did).query if isinstance(did, str) else ""
    return query or None
