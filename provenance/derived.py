"""The provenance of a product made on the server from published DL3 datasets (a DL4 spectrum
dataset, DL5 flux points, a light curve, their plots): the API the processing service calls.

    from provenance import derived, database
    from provenance.records import Parameter

    job = derived.Job(
        id="ivo://<authority>/proc?<job id>",          # unique to the job
        software="gammapy", version=gammapy.__version__,
        started=start, ended=end,                       # naive datetimes, UTC
        inputs=("ivo://<authority>/hess_dr1?23523", ...),  # obs_publisher_did of each DL3 used
        parameters=(Parameter("on_radius", 0.11, unit="deg", ucd="phys.angSize",
                              description="radius of the on region"), ...),
        title="Spectrum and light curve of the Crab Nebula")
    spectrum = derived.Product(did="ivo://<authority>/<schema>?<key>", name="...",
                               rights="public")
    records = derived.product_records(job, spectrum, site)     # site: ingest.config.SiteConfig
    database.write(cursor, "<schema>", [records])              # in the publication's transaction

A product's rows: the product (an entity, with its rights), the job (an activity: the software
and its version, start and end, its parameters), `used` of every input DL3 dataset, the product
`wasGeneratedBy` the job and `wasDerivedFrom` every input (and the products of the same job it
was made from: Product.derived_from), the job `wasAssociatedWith` the publisher (and the user
who ran it, where known), the product `wasAttributedTo` the publisher. Each product of a job
carries the job's rows: a product's provenance is whole on its own, and the provenance views
show the job once. The input datasets' own rows (how they were made) are theirs: a document
(documents.py) reaches them through their ids.
"""

from dataclasses import dataclass

from .records import PERSON, Agent, Records, agent_id, publisher

JOB_TYPE = "processing"  # activity.type of a processing job
INPUT_ROLE = "DL3 dataset"  # used.role of an input
PRODUCT_ROLE = "product"  # wasgeneratedby.role


@dataclass(frozen=True)
class Job:
    """A processing job: the activity that made products.

    id: unique to the job, e.g. ivo://<authority>/<service>?<job id>; software, version: what
    ran ("gammapy", its __version__); started, ended: naive datetimes in UTC; inputs: the
    obs_publisher_did of every DL3 dataset it used; parameters: records.Parameter, one per
    parameter of the job (with unit and UCD where it has them); title: what it did, in words;
    docurl: documentation of the software; user: who ran it (the UWS job owner), None when
    anonymous."""

    id: str
    software: str
    version: str
    started: object
    ended: object
    inputs: tuple
    parameters: tuple = ()
    title: str = None
    docurl: str = None
    user: str = None


@dataclass(frozen=True)
class Product:
    """One published result of a job: its obs_publisher_did, a name ("Flux points of the Crab
    Nebula (DL5, FITS)"), its data_rights (those the product is published with: a product of
    proprietary inputs is proprietary), the other products of the same job it was made from
    (flux points from the spectrum dataset: their DIDs), and when it was written (default: the
    end of the job)."""

    did: str
    name: str
    rights: str
    derived_from: tuple = ()
    generated: object = None


def product_records(job, product, site):
    """The provenance Records of one product of a job; site: the data centre
    (ingest.config.SiteConfig: authority, publisher, publisher_url, contact)."""
    if not job.inputs:
        raise ValueError(f"job {job.id}: a product needs the DL3 datasets it was made from")
    records = Records(product.did)
    records.entity(product.did, name=product.name, rights=product.rights,
                   generated_at_time=product.generated or job.ended,
                   comment=f"Made by processing job {job.id}")
    records.activity(job.id, job.software, type=JOB_TYPE, version=job.version,
                     start_time=job.started, end_time=job.ended, docurl=job.docurl,
                     comment=job.title)
    for parameter in job.parameters:
        records.parameter(job.id, parameter)
    for did in job.inputs:
        records.used(job.id, did, INPUT_ROLE)
    records.was_generated_by(product.did, job.id, PRODUCT_ROLE)
    for did in tuple(job.inputs) + tuple(product.derived_from):
        records.was_derived_from(product.did, did)
    operator = publisher(site)
    records.was_associated_with(job.id, operator, "operator")
    if job.user:
        records.was_associated_with(job.id, Agent(agent_id(site.authority, job.user), job.user,
                                                  PERSON, comment="Who ran the job"), "requester")
    records.was_attributed_to(product.did, operator, "publisher")
    return records
