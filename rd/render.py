"""Renders the DaCHS resource descriptors of an instance from the templates in rd/.

Column metadata comes from schemas/columns.yaml, collection metadata from etc/collections.yaml;
nothing about a column is written twice.  The output goes to the instance's DaCHS root
(inputs/<schema>/q.rd, inputs/ivoa_hea/q.rd, etc/userconfig.rd).
"""

import json
import os
import string
import typing
from xml.sax.saxutils import quoteattr, escape

import schemas

RD_DIR = os.path.dirname(os.path.abspath(__file__))
# The modules DaCHS loads (by path) from the RDs: the DaCHS wing (dachs_ext/).
DACHS_EXT_DIR = os.path.join(os.path.dirname(RD_DIR), "dachs_ext")
GRAMMAR_MODULE = os.path.join(DACHS_EXT_DIR, "grammar")
DATALINK_CORE_MODULE = os.path.join(DACHS_EXT_DIR, "datalink_core")
BUNDLE_CORE_MODULE = os.path.join(DACHS_EXT_DIR, "bundle_core")
SEARCH_FORM_MODULE = os.path.join(DACHS_EXT_DIR, "search_form")
ADQL_FUNCTIONS_MODULE = os.path.join(DACHS_EXT_DIR, "adql_functions")
PROCESSING_CORE_MODULE = os.path.join(DACHS_EXT_DIR, "processing_core")
HEA_RD_ID = "ivoa_hea/q"
GTI_RD_ID = "ivoa_gti/q"
PROVENANCE_RD_ID = "provenance/q"
# Fixed, so that re-rendering an unchanged configuration gives byte-identical RDs.
CREATION_DATE = "2026-11-21T00:00:00"

# How ivoa.obscore gets the values DaCHS's //obscore#publish needs from a collection table;
# every other DaCHS obscore column has a same-named column in the collection table.
OBSCORE_EXPRESSIONS = {
    "access_url": "'\\getConfig{web}{serverURL}/{dl_path}?ID=' || gavo_urlescape(obs_publisher_did)",
    "preview": "NULL",
    "source_table": None,  # DaCHS's default: the table's qualified name
}


def _template(name):
    with open(os.path.join(RD_DIR, name), encoding="utf-8") as f:
        return string.Template(f.read())


def _attrs(**attrs):
    return " ".join(f"{k}={quoteattr(str(v))}" for k, v in attrs.items() if v not in (None, ""))


INTEGER_TYPES = ("smallint", "integer", "bigint")
# VOTable has no NULL for integers: DaCHS writes this value instead.  -1 means "not pixelated"
# for the *_xel columns, so the null value must be another.
INTEGER_NULL = "-9999"


def column_element(col, required=False, indent="    ", table=None):
    attrs = _attrs(name=col.name, type=col.type, unit=col.unit, ucd=col.ucd_in(table),
                   utype=col.utype,
                   required="True" if required else None, verbLevel=_verb_level(col))
    values = ""
    if col.type in INTEGER_TYPES and not required:
        values = f"\n{indent}  <values nullLiteral={quoteattr(INTEGER_NULL)}/>"
    return (f"{indent}<column {attrs}>\n{indent}  <description>{escape(col.description)}"
            f"</description>{values}\n{indent}</column>")


def _verb_level(col):
    # verbLevel orders what DaCHS shows by default: ObsCore and HE columns first.
    return {"obscore": 10, "he": 15, "config": 20, "gadf": 25}.get(col.group, 30)


def dl_path(collection):
    return f"{collection.schema}/q/dl/dlmeta"


def _mixin_pars(collection, columns):
    pars = []
    for col in columns:
        if col.name in OBSCORE_EXPRESSIONS:
            expr = OBSCORE_EXPRESSIONS[col.name]
            if expr is None:
                continue
            expr = expr.replace("{dl_path}", dl_path(collection))
        else:
            expr = col.name
        pars.append(f"      {col.name}={quoteattr(expr)}")
    return "\n".join(pars)


# ---- DataLink (datalink/, dachs_ext/; begin) -------------------------------------------------
def render_datalink(collection, native_content_qualifier=True):
    """The DataLink service of a collection (rd/datalink.rd.in), for the ${services} slot; for a
    DaCHS without content_qualifier (2.7), with the links table of rd/dlresponse.rd.in."""
    return _template("datalink.rd.in").substitute(
        response_table=_response_table(native_content_qualifier),
        obs_collection=escape(collection.obs_collection),
        title=escape(collection.title or collection.obs_collection),
        # dachs val wants a shortName of at most 16 characters
        short_name=escape(f"{collection.schema[:13]} dl"),
        core_module=escape(DATALINK_CORE_MODULE),
    )
BUNDLE_RD_ID = "bundle/q"
LINKS_RD_ID = "links/q"
LINKS_SERVICE = LINKS_RD_ID + "#dl"


def render_links_rd(resdir, native_content_qualifier=True):
    """The RD of the DataLink service over every collection (rd/links.rd.in)."""
    return _template("links.rd.in").substitute(
        resdir=resdir, creation_date=CREATION_DATE, core_module=escape(DATALINK_CORE_MODULE),
        response_table=_response_table(native_content_qualifier))


def _response_table(native_content_qualifier):
    """The links table for a DaCHS without content_qualifier (2.7): rd/dlresponse.rd.in."""
    return "" if native_content_qualifier else _template("dlresponse.rd.in").template + "\n"


def render_bundle_rd(resdir):
    """The RD of the multi-observation bundle service (rd/bundle.rd.in)."""
    from datalink.bundle import MAX_OBSERVATIONS

    return _template("bundle.rd.in").substitute(
        resdir=resdir, creation_date=CREATION_DATE, max_observations=MAX_OBSERVATIONS,
        core_module=escape(BUNDLE_CORE_MODULE))
# ---- DataLink (end) --------------------------------------------------------------------------


# ---- Derived products and the processing service (processing/; begin) -----------------------
DERIVED_SCHEMA = "derived"  # processing.products.SCHEMA
DERIVED_RD_ID = DERIVED_SCHEMA + "/q"
PROCESSING_SERVICE = DERIVED_RD_ID + "#proc"
DERIVED_DL_PATH = DERIVED_RD_ID + "/dl/dlmeta"


def render_derived_rd(resdir, processing, native_content_qualifier=True):
    """The RD of the derived products and the processing service (rd/derived.rd.in);
    processing: etc/site.yaml's processing settings (ingest.config.ProcessingSettings)."""
    columns = schemas.load_columns()
    pars = []
    for col in schemas.columns_in("obscore", columns):
        if col.name in OBSCORE_EXPRESSIONS:
            expression = OBSCORE_EXPRESSIONS[col.name]
            if expression is None:
                continue
            expression = expression.replace("{dl_path}", DERIVED_DL_PATH)
        elif "derived" in col.tables:
            expression = col.name
        else:
            continue  # the mixin's (or userconfig.rd's) default: NULL
        pars.append(f"      {col.name}={quoteattr(expression)}")
    return _template("derived.rd.in").substitute(
        schema=DERIVED_SCHEMA, resdir=resdir, creation_date=CREATION_DATE,
        mixin_pars="\n".join(pars),
        columns="\n".join(column_element(c, required=c.not_null)
                          for c in schemas.columns_in("derived", columns)),
        progenitor_columns="\n".join(column_element(c, required=c.not_null)
                                     for c in schemas.columns_in("progenitor", columns)),
        response_table=_response_table(native_content_qualifier),
        provenance_tables=provenance_tables(), provenance_data=provenance_data(),
        max_observations=processing.max_observations,
        max_running_jobs=processing.max_running_jobs,
        processing_module=escape(PROCESSING_CORE_MODULE),
        datalink_module=escape(DATALINK_CORE_MODULE))


def derived_table_signature():
    """Text that changes exactly when the derived tables must be re-created."""
    columns = schemas.load_columns()
    return "\n".join(column_element(c, required=c.not_null)
                     for table in ("derived", "progenitor")
                     for c in schemas.columns_in(table, columns)) + provenance_tables()
# ---- Derived products (end) ------------------------------------------------------------------


# ---- Simple Cone Search (begin) ---------------------------------------------------------------
# Without an obs-index to take a pointing from, the test query covers the whole sky.
ALL_SKY_TEST_QUERY = (0.0, 0.0, 180.0)


def cone_test_query(collection):
    """(ra, dec, sr) of the cone search's registered test query: the pointing of the first
    observation (by OBS_ID) of the collection's obs-index, which the query finds."""
    path = collection.obs_index_path
    if not path or not os.path.exists(path):
        return ALL_SKY_TEST_QUERY
    from astropy.table import Table

    try:
        table = Table.read(path, hdu=1)
        first = table[int(table["OBS_ID"].argmin())]
        return (round(float(first["RA_PNT"]) % 360, 4), round(float(first["DEC_PNT"]), 4), 0.1)
    except (OSError, KeyError, ValueError, IndexError):
        return ALL_SKY_TEST_QUERY


def render_cone(collection, test_query=None):
    """The Simple Cone Search service of a collection (rd/cone.rd.in)."""
    ra, dec, sr = test_query or cone_test_query(collection)
    return _template("cone.rd.in").substitute(
        obs_collection=escape(collection.obs_collection),
        title=escape(collection.title or collection.obs_collection),
        short_name=escape(f"{collection.schema[:11]} cone"),
        test_ra=ra, test_dec=dec, test_sr=sr)
# ---- Simple Cone Search (end) -----------------------------------------------------------------


# ---- Web search form (begin) -----------------------------------------------------------------
SEARCH_RD_ID = "search/q"
# GADF OBS_MODE values (ingest/modes.py), offered as the form's observing modes.
GADF_OBS_MODES = ("POINTING", "WOBBLE", "RASTER", "SLEW", "SCAN", "DRIFT")


def render_search_rd(collections, resdir, name_resolver):
    """The RD of the web search page over ivoa.obscore (rd/search.rd.in): its collection
    selectors offer the configured collections; name_resolver (ingest.config.NameResolver) is
    where it asks Sesame."""
    collections = list(collections)
    indent = " " * 10
    options = "\n".join(f"{indent}<option {_attrs(title=c.title or c.obs_collection)}"
                        f">{escape(c.obs_collection)}</option>" for c in collections)
    from processing.products import OBS_COLLECTION

    return _template("search.rd.in").substitute(
        resdir=resdir, creation_date=CREATION_DATE, derived_collection=OBS_COLLECTION,
        search_form_module=escape(SEARCH_FORM_MODULE),
        collection_tables=escape(json.dumps({c.obs_collection: f"{c.schema}.obs"
                                             for c in collections})),
        sesame_urls=escape(" ".join(name_resolver.sesame_urls)),
        sesame_timeout=name_resolver.timeout,
        collection_options=options, met_collection_options=options,
        met_collection_widget=quoteattr(
            "widgetFactory(SelectChoice, noneOption=('', '(none)'), options=%r)"
            % [(c.obs_collection, c.title or c.obs_collection) for c in collections]),
        obs_mode_options="\n".join(f"{indent}<option>{m}</option>" for m in GADF_OBS_MODES))
# ---- Web search form (end) -------------------------------------------------------------------


def render_services(collection, native_content_qualifier=True):
    """Every service of a collection, for the ${services} slot of rd/collection.rd.in."""
    return render_datalink(collection, native_content_qualifier) + render_cone(collection)


def render_collection_rd(collection, staging_path, resdir, services=None, coverage=None,
                         native_content_qualifier=True):
    """The collection's RD; its import reads the rows instance/publication.py stages in
    staging_path (ingest/staging.py). coverage: see render_coverage (none before the first
    ingest). native_content_qualifier: whether DaCHS's DataLink has content_qualifier (2.8+)."""
    if services is None:
        services = render_services(collection, native_content_qualifier)
    columns, mixin_pars = _collection_table(collection)
    return _template("collection.rd.in").substitute(
        schema=collection.schema,
        resdir=resdir,
        title=escape(collection.title),
        description=escape(collection.description),
        creation_date=CREATION_DATE,
        creator_name=escape(collection.creator_name or ""),
        facility_name=escape(collection.facility_name or ""),
        bib_reference=escape(collection.bib_reference or ""),
        reference_url=escape(collection.reference_url or ""),
        licence=escape(collection.licence or ""),
        obs_collection=escape(collection.obs_collection),
        mixin_pars=mixin_pars,
        columns=columns,
        gti_columns=_gti_columns(),
        provenance_tables=provenance_tables(),
        provenance_data=provenance_data(),
        staging_path=escape(staging_path),
        grammar_module=escape(GRAMMAR_MODULE),
        services=services,
        coverage=render_coverage(coverage),
    )


# ---------------------------------------------------------------- registry coverage
def render_coverage(coverage):
    """The <coverage> element of a collection RD from the values instance/ computes from the
    published table after an ingest (instance/registry.py): {"spatial": an
    ASCII MOC, "temporal": [MJD min, MJD max], "spectral": [J min, J max]} (DaCHS 2.7 wants the
    spectral coverage as photon energies in Joules). Empty without coverage."""
    if not coverage:
        return ""
    lines = ["  <!-- registry coverage, computed from the published table (instance/) -->",
             "  <coverage>"]
    if coverage.get("spectral"):
        lines.append("    <spectral>%r %r</spectral>" % tuple(coverage["spectral"]))
    if coverage.get("temporal"):
        lines.append("    <temporal>%r %r</temporal>" % tuple(coverage["temporal"]))
    if coverage.get("spatial"):
        lines.append("    <spatial>%s</spatial>" % escape(coverage["spatial"]))
    lines.append("  </coverage>")
    return "\n".join(lines) + "\n"


def _collection_table(collection):
    """The column elements and the ObsCore mixin parameters of the collection table."""
    columns = schemas.load_columns()
    table_columns = schemas.columns_in("collection", columns)
    obscore_columns = schemas.columns_in("obscore", columns)
    return ("\n".join(column_element(c, required=c.not_null, table="collection")
                      for c in table_columns),
            _mixin_pars(collection, obscore_columns))


def _gti_columns():
    return "\n".join(column_element(c, required=c.not_null) for c in schemas.columns_in("gti"))


def collection_table_signature(collection):
    """Text that changes exactly when the collection's tables must be re-created (their columns
    or what they give ivoa.obscore), not when only descriptive metadata changes."""
    columns, mixin_pars = _collection_table(collection)
    tables = _template("collection.rd.in").template.split("<data")[0].split("<table", 1)[1]
    return columns + mixin_pars + _gti_columns() + tables + provenance_tables()


# ---- Provenance (provenance/; begin) ----------------------------------------------------------
# What the provenance tables of a schema are indexed on besides obs_publisher_did (by which a
# dataset's rows are read and deleted): the ids ProvTAP queries look up.
PROVENANCE_INDEXES = {"entity": ("id",), "activity": ("id",), "used": ("entity_id",),
                      "wasgeneratedby": ("entity_id",),
                      "wasderivedfrom": ("generated_entity_id", "used_entity_id")}
PROVENANCE_DESCRIPTIONS = {
    "entity": "Entities: the published datasets, the FITS HDUs they were made from, the data"
              " releases they belong to, the products of processing jobs.",
    "activity": "Activities: the production of the DL3 files (as far as their headers tell), this"
                " service's ingest of each dataset, processing jobs.",
    "agent": "Agents: the collaborations and institutes that made the data, the data centre"
             " that publishes them, users who ran processing jobs.",
    "used": "Which activity used which entity, in which role (the HDU type, dataset, release).",
    "wasgeneratedby": "Which activity generated which entity.",
    "wasassociatedwith": "Which agent was responsible for which activity, in which role.",
    "wasattributedto": "Which agent an entity is attributed to, in which role.",
    "wasderivedfrom": "Which entity was derived from which (its progenitor): a published dataset"
                      " from its HDUs, a product from the datasets it was made from.",
    "parameter": "The configuration of the activities: header keywords of the DL3 production"
                 " (EV_CLASS, CONFIG, ...), the ingest's fingerprints, a job's parameters.",
}


def provenance_tables():
    """The tables <schema>.prov_<table> holding the provenance of a schema's datasets (one per
    table of schemas.PROVENANCE_TABLES; provenance/database.py writes them), as RD text. Every
    RD that publishes datasets has them, with provenance_data() to make them; the views
    provenance.<table> (render_provenance_rd) show those of every schema."""
    from provenance.database import table_name

    elements = []
    for table in schemas.PROVENANCE_TABLES:
        indexes = ("obs_publisher_did",) + PROVENANCE_INDEXES.get(table, ())
        elements.append("\n".join([
            f'  <table id="{table_name(table)}" onDisk="True">',
            f"    <meta name=\"description\">{escape(PROVENANCE_DESCRIPTIONS[table])} The rows of"
            f" the datasets of this schema; provenance.{table} shows those of all.</meta>",
            *(f'    <index columns="{column}"/>' for column in indexes),
            *(column_element(c, required=c.not_null) for c in schemas.provenance_columns(table)),
            "  </table>"]))
    return "\n".join(elements) + "\n"


def provenance_data():
    """The <data> element that makes the tables of provenance_tables()."""
    from provenance.database import table_name

    makes = "".join(f'    <make table="{table_name(t)}"/>\n' for t in schemas.PROVENANCE_TABLES)
    return f'  <data id="provenance_tables" updating="True">\n{makes}  </data>\n'


def render_provenance_rd(sources, resdir):
    """The views provenance.<table> (ProvTAP) over the provenance tables of the schemas
    `sources`: each row once (a dataset's rows hold what it shares with others, such as an
    agent; the view lists it once)."""
    from provenance.database import table_name

    tables = []
    for table in schemas.PROVENANCE_TABLES:
        columns = schemas.columns_in(f"prov_{table}")
        names = ", ".join(c.name for c in columns)
        selects = "\n        UNION\n".join(
            f"        SELECT DISTINCT {names} FROM {schema}.{table_name(table)}"
            for schema in sources)
        tables.append("\n".join([
            f'  <table id="{table}" onDisk="True" adql="True">',
            f"    <meta name=\"description\">{escape(PROVENANCE_DESCRIPTIONS[table])}</meta>",
            *(column_element(c, required=c.not_null) for c in columns),
            "    <viewStatement>",
            "      CREATE OR REPLACE VIEW \\qName (\\colNames) AS (",
            selects,
            "      )",
            "    </viewStatement>",
            "  </table>"]))
    return _template("provenance.rd.in").substitute(
        resdir=resdir, creation_date=CREATION_DATE, tables="\n\n".join(tables),
        makes="\n".join(f'    <make table="{t}"/>' for t in schemas.PROVENANCE_TABLES))
# ---- Provenance (end) -------------------------------------------------------------------------


def _render_view_rd(template, kind, table, sources, resdir):
    """The RD of an ivoa view over the collections of the schemas `sources`: the columns of
    `kind` (schemas/columns.yaml) of each one's `table`, one UNION ALL."""
    columns = schemas.columns_in(kind)
    names = ", ".join(c.name for c in columns)
    selects = "\n        UNION ALL\n".join(
        f"        SELECT {names} FROM {schema}.{table}" for schema in sources)
    return _template(template).substitute(
        resdir=resdir,
        creation_date=CREATION_DATE,
        columns="\n".join(column_element(c, required=c.not_null) for c in columns),
        selects=selects,
    )


def render_gti_rd(sources, resdir):
    """ivoa.obscore_gti: the union of the GTI tables of the collections (schemas) `sources`."""
    return _render_view_rd("obscore_gti.rd.in", "gti", "gti", sources, resdir)


def render_hea_rd(sources, resdir):
    """ivoa.obscore_hea: the HE columns of the tables of the collections (schemas) `sources`."""
    return _render_view_rd("obscore_hea.rd.in", "hea", "obs", sources, resdir)


class ViewRD(typing.NamedTuple):
    """An RD of views over tables of several schemas: the views' schema, their names, and the
    renderer of the RD (given the source schemas and the resdir)."""

    schema: str
    views: tuple
    render: typing.Callable


# RD id -> ViewRD. The ivoa views are over the published collections, the provenance views over
# every schema with provenance tables (instance.Instance.view_sources).
VIEWS = {HEA_RD_ID: ViewRD("ivoa", ("obscore_hea",), render_hea_rd),
         GTI_RD_ID: ViewRD("ivoa", ("obscore_gti",), render_gti_rd),
         PROVENANCE_RD_ID: ViewRD("provenance", schemas.PROVENANCE_TABLES, render_provenance_rd)}


def obscore_extra_columns(columns=None):
    """The ivoa.obscore columns that DaCHS 2.7 does not define itself."""
    return [c for c in schemas.columns_in("obscore", columns) if not c.dachs]


def render_userconfig(example_schema="hess_dr1"):
    """etc/userconfig.rd: the ObsCore extension streams, the TAP examples, whose
    collection-table examples use the table of the collection example_schema, and the import
    of the service's ADQL functions."""
    extra = obscore_extra_columns()
    # The mixinPar default must be valid SQL of the column's type for DaCHS's empty prototype
    # view; in 2.7 the macro needs two backslashes inside the stream (see docs/DACHS-2.7).
    return _template("userconfig.rd.in").substitute(
        example_schema=example_schema, links_service=LINKS_SERVICE,
        adql_functions_module=escape(ADQL_FUNCTIONS_MODULE),
        extra_columns="\n".join(column_element(c) for c in extra),
        extra_pars="\n".join(
            f'    <mixinPar key="{c.name}">NULL</mixinPar>' for c in extra),
        # The stream is appended to DaCHS's own clause, hence the leading comma.
        extra_clause="".join(
            f"      , CAST(\\\\{c.name} AS {c.type}) AS {c.name}\n" for c in extra),
    )
