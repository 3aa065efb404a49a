"""Values read from the database, kept for a minute: the web search page needs the published
targets and a collection's MJDREF twice in a request (for its query, and to say what it made of
the input), and reading them for every request would scan the collection tables each time.
What an ingest changes shows within MAX_AGE_S."""

import threading
import time

MAX_AGE_S = 60.0
_values = {}
_lock = threading.Lock()


def recent(key, read, max_age=MAX_AGE_S):
    """read(), or what it returned for key less than max_age seconds ago."""
    with _lock:
        made, value = _values.get(key, (None, None))
        if made is None or time.monotonic() - made > max_age:
            value = read()
            _values[key] = (time.monotonic(), value)
        return value
