"""How far a job is: written by the job as it runs, read for the jobInfo of its UWS job document.

The job runs in a process of its own (`dachs uwsrun`), the job document is answered by a server
process: they share the job's directory, where the progress is one small JSON file, replaced
whole (written to a temporary name and renamed) so that a reader never sees half of it.
"""

import json
import os

FILE = "progress.json"


def write(job_dir, step, steps, stage, **details):
    """Records that the job is at `step` of `steps`, doing `stage` (words); details are kept
    beside (the observations used and skipped, say)."""
    path = os.path.join(job_dir, FILE)
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(dict(details, step=step, steps=steps, stage=stage), f)
    os.replace(temporary, path)


def read(job_dir):
    """The last progress written, or None before the job started."""
    try:
        with open(os.path.join(job_dir, FILE), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
