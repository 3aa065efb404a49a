"""A dataset's provenance rows (records.Records) as a W3C PROV document, written by the `prov`
library (Debian's python3-prov): PROV-JSON, PROV-XML, PROV-N, and a PNG of its graph (prov's
dot output, drawn by Graphviz).

How the rows map to PROV:
- an entity, activity or agent row is an element; its name is prov:label, its location
  prov:location, an agent's type prov:Organization/Person/SoftwareAgent; ProvDM's other
  attributes are in the voprov namespace (the IVOA's own voprov library's), and an HDU's FITS
  CHECKSUM and DATASUM in the fits namespace;
- used, wasGeneratedBy, wasAssociatedWith carry their role as prov:role; wasGeneratedBy the
  entity's generation time;
- a parameter is an entity of type voprov:Parameter with its prov:value, which its activity
  used (role "parameter"): W3C PROV has no configuration of its own.
Identifiers become qualified names: namespace up to the last '#', '?' or '/', local part after it
(documents name each namespace after its path: hess_dr1, hess_dr1_23523, agent).
"""

import re
import urllib.parse

import prov.model
from prov.dot import prov_to_dot

VOPROV = ("voprov", "http://www.ivoa.net/documents/ProvenanceDM/index.html#")
FITS = ("fits", "https://heasarc.gsfc.nasa.gov/docs/fcg/standard_dict.html#")
FORMATS = ("json", "xml", "provn")  # prov's names of the serialisations
RESERVED_PREFIXES = {"prov", "xsd", "xml", "xsi", VOPROV[0], FITS[0]}
AGENT_TYPES = {"Organization": prov.model.PROV["Organization"], "Person": prov.model.PROV["Person"],
               "SoftwareAgent": prov.model.PROV["SoftwareAgent"]}
# A local part PROV-N reads as it is; anything else is %-escaped.
LOCAL_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.%-]*$")


def document(records, referenced=()):
    """The prov.model.ProvDocument of one dataset's Records; referenced: rows of provenance.entity
    for entities the records name but do not hold (database.entities). Rows go in in a fixed order,
    so that the same rows always give the same bytes."""
    doc = prov.model.ProvDocument()
    voprov, fits = doc.add_namespace(*VOPROV), doc.add_namespace(*FITS)
    names, rows = _Names(doc), records.rows
    held = {row["id"] for row in rows["entity"]}
    for row in _sorted(rows["entity"], "id") + _sorted(
            [r for r in referenced if r["id"] not in held], "id"):
        _entity(doc, names, voprov, fits, row)
    for row in _sorted(rows["activity"], "id"):
        doc.activity(names(row["id"]), row["start_time"], row["end_time"], _present({
            prov.model.PROV_LABEL: row["name"], voprov["type"]: row["type"],
            voprov["version"]: row["version"], voprov["docurl"]: row["docurl"],
            voprov["comment"]: row["comment"]}))
    for row in _sorted(rows["agent"], "id"):
        doc.agent(names(row["id"]), _present({
            prov.model.PROV_TYPE: AGENT_TYPES.get(row["type"], row["type"]),
            prov.model.PROV_LABEL: row["name"], voprov["email"]: row["email"],
            voprov["url"]: row["url"], voprov["comment"]: row["comment"]}))
    for row in _sorted(rows["parameter"], "activity_id", "name"):
        _parameter(doc, names, voprov, row)
    _relations(doc, names, voprov, rows)
    return doc


def _entity(doc, names, voprov, fits, row):
    doc.entity(names(row["id"]), _present({
        prov.model.PROV_LABEL: row["name"], prov.model.PROV_LOCATION: row["location"],
        voprov["comment"]: row["comment"], voprov["rights"]: row["rights"],
        voprov["generatedAtTime"]: row["generated_at_time"],
        fits["CHECKSUM"]: row["checksum"], fits["DATASUM"]: row["datasum"]}))


def _parameter(doc, names, voprov, row):
    """A parameter: an entity of type voprov:Parameter that its activity used."""
    parameter = names(_parameter_id(row))
    doc.entity(parameter, _present({
        prov.model.PROV_TYPE: voprov["Parameter"], prov.model.PROV_LABEL: row["name"],
        prov.model.PROV_VALUE: row["param_value"], voprov["unit"]: row["unit"],
        voprov["ucd"]: row["ucd"], voprov["description"]: row["description"]}))
    doc.used(names(row["activity_id"]), parameter,
             other_attributes={prov.model.PROV_ROLE: "parameter"})


def _relations(doc, names, voprov, rows):
    generated_at = {row["id"]: row["generated_at_time"] for row in rows["entity"]}
    for row in _sorted(rows["used"], "activity_id", "entity_id"):
        doc.used(names(row["activity_id"]), names(row["entity_id"]),
                 other_attributes=_present({prov.model.PROV_ROLE: row["role"]}))
    for row in _sorted(rows["wasgeneratedby"], "entity_id", "activity_id"):
        doc.wasGeneratedBy(names(row["entity_id"]), names(row["activity_id"]),
                           generated_at.get(row["entity_id"]),
                           other_attributes=_present({prov.model.PROV_ROLE: row["role"]}))
    for row in _sorted(rows["wasassociatedwith"], "activity_id", "agent_id"):
        doc.wasAssociatedWith(names(row["activity_id"]), names(row["agent_id"]),
                              other_attributes=_present({prov.model.PROV_ROLE: row["role"]}))
    for row in _sorted(rows["wasattributedto"], "entity_id", "agent_id"):
        # PROV-DM gives an attribution no role: it is ProvDM's (voprov:role)
        doc.wasAttributedTo(names(row["entity_id"]), names(row["agent_id"]),
                            other_attributes=_present({voprov["role"]: row["role"]}))
    for row in _sorted(rows["wasderivedfrom"], "generated_entity_id", "used_entity_id"):
        doc.wasDerivedFrom(names(row["generated_entity_id"]), names(row["used_entity_id"]))


def serialize(doc, fmt):
    """The document in one of FORMATS, as UTF-8 bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"no provenance format {fmt!r} (one of {', '.join(FORMATS)})")
    text = doc.get_provn() if fmt == "provn" else doc.serialize(format=fmt)
    return text.encode("utf-8")


def png(doc):
    """The graph of the document as a PNG image (Graphviz's dot draws it): labels only, left to
    right (the datasets on the left, what they were made from and by on the right)."""
    return prov_to_dot(doc, use_labels=True, show_element_attributes=False,
                       show_relation_attributes=False, direction="LR").create(format="png")


def _parameter_id(row):
    """Parameters are entities in a document: named after their activity and their name."""
    return f"{row['activity_id']}.{re.sub(r'[^A-Za-z0-9_-]+', '-', row['name']).strip('-')}"


def _sorted(rows, *keys):
    """Rows in a fixed order, so that the same rows always give the same bytes."""
    return sorted(rows, key=lambda row: tuple(str(row[k]) for k in keys))


def _present(attributes):
    """The attributes that have a value (prov writes None as a value otherwise)."""
    return {k: v for k, v in attributes.items() if v is not None and v != ""}


class _Names:
    """Turns identifiers into the document's qualified names, declaring their namespaces."""

    def __init__(self, doc):
        self.doc, self.namespaces = doc, {}  # namespace URI -> prov Namespace

    def __call__(self, identifier):
        uri, local = _split(identifier)
        if uri not in self.namespaces:
            self.namespaces[uri] = self.doc.add_namespace(self._prefix(uri), uri)
        return self.namespaces[uri][local]

    def _prefix(self, namespace):
        """A readable prefix: the namespace's path without its authority (hess_dr1_23523)."""
        parts = urllib.parse.urlsplit(namespace)
        text = re.sub(r"[^A-Za-z0-9_]+", "_", parts.path + "_" + parts.query).strip("_") or "ns"
        text = text if text[0].isalpha() else "n_" + text
        prefix, n = text, 1
        taken = {ns.prefix for ns in self.namespaces.values()}
        while prefix in RESERVED_PREFIXES or prefix in taken:
            n += 1
            prefix = f"{text}_{n}"
        return prefix


def _split(identifier):
    """(namespace, local part) of an identifier: split after its last '#', '?' or '/' (past the
    scheme and authority); a local part PROV-N cannot hold as it is gets %-escaped."""
    cut = max(identifier.rfind(c) for c in "#?/")
    namespace, local = identifier[:cut + 1], identifier[cut + 1:]
    if not LOCAL_PART.match(local) or local.endswith("."):
        local = urllib.parse.quote(local, safe="") or "_"
        local = local[:-1] + "%2E" if local.endswith(".") else local
    return namespace, local
