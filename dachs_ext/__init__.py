"""The DaCHS wing: everything that runs inside DaCHS, or that imports `gavo` or `twisted`.

DaCHS loads these modules itself, by path, from the resource descriptors rd/render.py writes:
- grammar.py: the custom grammar of a collection's import (the rows the publisher staged);
- datalink_core.py: the DataLink core of a collection ({links} and dlget of one observation);
- bundle_core.py: the DataLink core of the bundle service (many observations in one tar);
and these modules serve them:
- link_rows.py: the rows of a {links} response, the one place a link row is made;
- httpstream.py: bytes written in a thread sent to a Twisted request with flow control;
- client.py: how a request reached the service (scheme, client address, credentials sent);
- compat.py: every private or version-dependent API of DaCHS and Twisted, each behind a
  feature check, and the start-up check (`python3 -m dachs_ext.compat`);
- sql_translation.py, xml_schemas.py: DaCHS's ADQL translation and XSD validator for the
  benchmarks and the tests.

No module outside this package imports gavo or twisted (tests/unit/test_layers.py checks it),
and no private API is used outside compat.py. The product code these modules call (ingest/,
datalink/) is plain Python that runs and is tested without DaCHS.
"""
