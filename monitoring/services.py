"""Which service a request is for, by its URL path: the `service` label of the request metrics
and field of the access log. nginx computes it (a `map` written from SERVICES by
instance/server.py), so each log line carries it.

The paths are the RDs' (rd/*.rd.in) and DaCHS's: TAP under its vanity name and under the TAP
service's own URL; every collection's cone search and DataLink; the bundle service; the processing
service's UWS (/derived/q/proc/...); the search page.
"""

# (label, regular expression on the request URI, path and query), the first match wins.
SERVICES = (
    ("tap_sync", r"^/(tap|__system__/tap/run)/sync"),
    ("tap_async", r"^/(tap|__system__/tap/run)/async"),
    ("processing", r"^/derived/q/proc/"),
    ("bundle", r"^/bundle/q/dl/dlget"),
    ("datalink_links", r"^/[^/?]+/q/dl/dlmeta"),
    ("datalink_files", r"^/[^/?]+/q/dl/dlget"),
    ("scs", r"^/[^/?]+/q/cone/scs\.xml"),
    ("web_form", r"^/search/q/q/form"),
    ("monitoring", r"^/(metrics|health)(\?|$)"),
)
OTHER = "other"
LABELS = tuple(label for label, _ in SERVICES) + (OTHER,)
