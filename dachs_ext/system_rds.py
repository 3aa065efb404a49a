"""What DaCHS's own system RDs define, for the tests: the ObsCore columns DaCHS declares itself
(their descriptions change between DaCHS versions; schemas/columns.yaml marks them `dachs: true`)."""


def obscore_columns():
    """{name: (description, unit, ucd)} of the columns of DaCHS's //obscore#ObsCore."""
    from gavo import api  # noqa: F401  (sets DaCHS up)
    from gavo import base

    table = base.caches.getRD("//obscore").getById("ObsCore")
    return {c.name: (" ".join((c.description or "").split()), c.unit or "", c.ucd or "")
            for c in table.columns}
