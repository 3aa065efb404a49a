"""The provenance rows of one published dataset (Records), and the identifiers they use.

A row is a dict over the columns schemas/columns.yaml defines for its table (`prov_<table>`),
plus obs_publisher_did: the dataset it belongs to. Times are naive datetimes in UTC. Values the
files do not give stay None.

Identifiers (entity, activity and agent ids) are IVOIDs of this service's authority, or of the
dataset itself: `<obs_publisher_did>` for the published dataset, `<obs_publisher_did>#<part>` for
what it was made from or by (part_id), `ivo://<authority>/agent#<name>` for an agent
(agent_id). A document (documents.py) turns each into a qualified name.
"""

import re
from dataclasses import dataclass

from schemas import PROVENANCE_TABLES

# ProvDM's AgentType
ORGANIZATION, PERSON, SOFTWARE_AGENT = "Organization", "Person", "SoftwareAgent"


def part_id(did, part):
    """The identifier of something a dataset was made from or by: '<did>#events', '<did>#ingest'."""
    return f"{did}#{part}"


def agent_id(authority, name):
    """The identifier of an agent, from its name: the same name gives the same agent everywhere
    (ivo://<authority>/agent#h-e-s-s-collaboration)."""
    return f"ivo://{authority}/agent#{slug(name)}"


def slug(text):
    """Lower-case letters, digits and '-': a name as the local part of an identifier."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "unnamed"


@dataclass(frozen=True)
class Agent:
    """An agent (ProvDM Agent): an organization, a person, a piece of software."""

    id: str
    name: str
    type: str = ORGANIZATION
    email: str = None
    url: str = None
    comment: str = None


def publisher(site):
    """The data centre that publishes (etc/site.yaml: publisher, publisher_url, contact email)."""
    return Agent(agent_id(site.authority, site.publisher), site.publisher, ORGANIZATION,
                 email=(site.contact or {}).get("email"), url=site.publisher_url,
                 comment="Publisher of this service (etc/site.yaml)")


@dataclass(frozen=True)
class Parameter:
    """A parameter of an activity (ProvDM Parameter with its ParameterDescription): a name, a
    value (written as text), and where known its unit (VOUnit), UCD and a description."""

    name: str
    value: object
    unit: str = None
    ucd: str = None
    description: str = None


class Records:
    """The provenance rows of one dataset: {table: [row, ...]} for every table of
    schemas.PROVENANCE_TABLES, each row with obs_publisher_did = did.

    The methods add one row each, named after ProvDM (entity, activity, agent, used, ...); an agent
    added twice is kept once."""

    def __init__(self, did):
        self.did = did
        self.rows = {table: [] for table in PROVENANCE_TABLES}

    def __repr__(self):
        counts = ", ".join(f"{table} {len(rows)}" for table, rows in self.rows.items() if rows)
        return f"Records({self.did!r}: {counts})"

    def _add(self, table, **values):
        values["obs_publisher_did"] = self.did
        self.rows[table].append(values)

    def entity(self, id, name=None, location=None, generated_at_time=None, comment=None,
               rights=None, checksum=None, datasum=None):
        self._add("entity", id=id, name=name, location=location,
                  generated_at_time=generated_at_time, comment=comment, rights=rights,
                  checksum=checksum, datasum=datasum)

    def activity(self, id, name, type=None, version=None, start_time=None, end_time=None,
                 docurl=None, comment=None):
        self._add("activity", id=id, name=name, type=type, version=version,
                  start_time=start_time, end_time=end_time, docurl=docurl, comment=comment)

    def agent(self, agent):
        """Adds an Agent (once)."""
        if all(row["id"] != agent.id for row in self.rows["agent"]):
            self._add("agent", id=agent.id, name=agent.name, type=agent.type, email=agent.email,
                      url=agent.url, comment=agent.comment)

    def used(self, activity_id, entity_id, role=None):
        self._add("used", activity_id=activity_id, entity_id=entity_id, role=role)

    def was_generated_by(self, entity_id, activity_id, role=None):
        self._add("wasgeneratedby", activity_id=activity_id, entity_id=entity_id, role=role)

    def was_associated_with(self, activity_id, agent, role=None):
        """agent: an Agent, added too."""
        self.agent(agent)
        self._add("wasassociatedwith", activity_id=activity_id, agent_id=agent.id, role=role)

    def was_attributed_to(self, entity_id, agent, role=None):
        """agent: an Agent, added too."""
        self.agent(agent)
        self._add("wasattributedto", entity_id=entity_id, agent_id=agent.id, role=role)

    def was_derived_from(self, generated_entity_id, used_entity_id):
        self._add("wasderivedfrom", generated_entity_id=generated_entity_id,
                  used_entity_id=used_entity_id)

    def parameter(self, activity_id, parameter):
        """parameter: a Parameter of the activity."""
        value = parameter.value
        self._add("parameter", activity_id=activity_id, name=parameter.name,
                  param_value=None if value is None else str(value), unit=parameter.unit,
                  ucd=parameter.ucd, description=parameter.description)

    def ids(self, table):
        """The ids of the entities, activities or agents in these rows."""
        return [row["id"] for row in self.rows[table]]

    def named_entities(self):
        """The ids of entities the relations name but these rows do not hold (the DL3 datasets
        a product was made from: their rows are theirs)."""
        named = {row["entity_id"] for table in ("used", "wasgeneratedby", "wasattributedto")
                 for row in self.rows[table]}
        named |= {row[key] for row in self.rows["wasderivedfrom"]
                  for key in ("generated_entity_id", "used_entity_id")}
        return sorted(named - set(self.ids("entity")))
