"""The DaCHS core of the processing service (`<customCore module=".../processing_core"/>` in
rd/derived.rd.in) and the UWS it runs in: DaCHS's "user UWS" (gavo.protocols.useruws).

A client POSTs ID (repeated), RA, DEC, ... to /derived/q/proc/uws.xml and gets a job; PHASE=RUN
queues it (at most etc/site.yaml's processing.max_running_jobs run at once, the others wait
QUEUED), and DaCHS runs it in a process of its own (`dachs uwsrun <job>`), which calls
Core.run(). That checks the parameters and the datasets, the rights of the job's owner on them,
lays the datasets out for gammapy, runs the analysis in the gammapy virtualenv
(processing/job.py), publishes the three products (processing/publication.py: files, rows in
derived.products and derived.progenitors, their provenance) and adds the job's results.
Its progress is in the job document's jobInfo (JobDocument). What can go wrong ends the job in
ERROR with a message saying what: a bad parameter, unknown or unusable datasets, rights, a
failing analysis; ABORT stops the analysis (the job process gets SIGINT) and the job is ABORTED.

The UWS is ProcessingUWS, given to DaCHS as the core's workerSystem (dachs_ext/compat.py says
why that hook). DaCHS loads this file as a module of its own (customCore); the project root is
put on sys.path so that it can import the project's packages.
"""

import datetime
import os
import shutil
import sys

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PROJECT_ROOT not in sys.path:
    sys.path.insert(0, PROJECT_ROOT)

from lxml import etree  # noqa: E402

from gavo import base, svcs  # noqa: E402
from gavo.protocols import useruws, uws, uwsactions  # noqa: E402

from dachs_ext import client, compat, datalink_core  # noqa: E402
from datalink import access  # noqa: E402
from datalink.bundle import BundleError  # noqa: E402
from ingest import config  # noqa: E402
from ingest.file_cache import read_when_changed  # noqa: E402
from processing import inputs, parameters, products, progress, publication  # noqa: E402
from processing import job as analysis  # noqa: E402

compat.install()

MS = base.makeStruct
UWS_NAMESPACE = "http://www.ivoa.net/xml/UWS/v1.0"
# What UWS 1.1 (and DaCHS: action, wait) means by the parameters of a job's creation, not the
# service's.
UWS_PARAMETERS = ("phase", "runid", "executionduration", "destruction", "quote", "action",
                  "wait", "upload")


def site():
    return read_when_changed(datalink_core.SITE_FILE, config.load_site)


# ---- the UWS


def input_table_xml():
    """The core's input keys, from processing/parameters.py. Lower-case names, as DaCHS's
    reference advises for UWS (it lower-cases every UWS parameter); clients may send any case."""
    keys = []
    for p in parameters.PARAMETERS:
        attrs = f'name="{p.name.lower()}" type="text" tablehead="{p.name}"'
        if p.multiple:
            attrs += ' multiplicity="multiple"'
        if p.unit:
            attrs += f' unit="{p.unit}"'
        if p.ucd:
            attrs += f' ucd="{p.ucd}"'
        # a job's parameters then show the defaults it ran with
        default = f'<values default="{p.default}"/>' if p.default else ""
        keys.append(f"<inputKey {attrs}><description>{p.description}</description>{default}"
                    "</inputKey>")
    # exclusive: a parameter it does not know (a typo) is refused when the job is made
    return '<inputTable exclusive="True">' + "".join(keys) + "</inputTable>"


class JobDocument(uwsactions.RootAction):
    """The job resource (GET <job>): DaCHS's, with each value of a repeated parameter (ID) a
    <uws:parameter> of its own (UWS 1.1; DaCHS 2.7 writes the Python list), and the job's
    progress as its jobInfo (UWS 1.1 leaves that element to the service)."""

    def doGET(self, job, request):
        document = super().doGET(job, request)
        if not isinstance(document, (str, bytes)):
            return document  # a slow poll (WAIT): DaCHS calls doGET again when it ends
        tree = _parse(document)
        _replace_parameters(tree, job)
        _add_job_info(tree, progress.read(job.getWD()))
        return etree.tostring(tree, xml_declaration=True, encoding="utf-8")


class ParametersDocument(uwsactions.ParameterAction):
    """GET <job>/parameters, with repeated parameters as in JobDocument."""

    def doGET(self, job, request):
        request.setHeader("content-type", "text/xml")
        return etree.tostring(parameters_element(job), xml_declaration=True, encoding="utf-8")


def _parse(document):
    raw = document.encode("utf-8") if isinstance(document, str) else document
    return etree.fromstring(raw).getroottree()


def parameters_element(job):
    """<uws:parameters> of a job: its parameters under the names clients send them by, one
    element per value."""
    element = etree.Element(f"{{{UWS_NAMESPACE}}}parameters", nsmap={"uws": UWS_NAMESPACE})
    for p in parameters.PARAMETERS:
        value = job.parameters.get(p.name.lower())
        for single in (value if isinstance(value, list) else [value]):
            etree.SubElement(element, f"{{{UWS_NAMESPACE}}}parameter", id=p.name).text = (
                "" if single is None else str(single))
    return element


def _replace_parameters(tree, job):
    old = tree.getroot().find(f"{{{UWS_NAMESPACE}}}parameters")
    if old is not None:
        old.getparent().replace(old, parameters_element(job))


def _add_job_info(tree, info):
    """<uws:jobInfo>: step, steps, stage, and the datasets used and left out (with why), as far
    as the job got."""
    if not info:
        return
    job_info = etree.SubElement(tree.getroot(), f"{{{UWS_NAMESPACE}}}jobInfo")
    for name in ("step", "steps", "stage"):
        etree.SubElement(job_info, name).text = str(info[name])
    for did in info.get("used", []):
        etree.SubElement(job_info, "used").text = did
    for did, reason in info.get("left_out", []):
        etree.SubElement(job_info, "leftOut", reason=reason).text = did


class ProcessingUWS(useruws.UserUWS):
    """DaCHS's user UWS for this service: PHASE=RUN with the creation starts it (UWS 1.1), its
    jobs default to etc/site.yaml's
    destruction time and execution duration, and its job documents carry the progress."""

    def __init__(self, service):
        grammar = MS(svcs.ContextGrammar, inputTD=service.core.inputTable)
        super().__init__(service, uwsactions.JobActions(JobDocument, ParametersDocument),
                         grammar)
        settings = site().processing
        self.jobClass = compat.uws_job_class(
            self.jobClass, settings.job_lifetime_days * 86400, settings.execution_duration)

    def getNewIdFromRequest(self, request):
        channel = client.channel_of(request)
        if channel.credentials_sent and not channel.secure:
            # The job would analyse proprietary data for credentials that crossed a network in clear.
            raise svcs.ForbiddenURI(datalink_core.insecure_message())
        # DaCHS takes the UWS parameters out of the request before the service's parameters are
        # read, but only as spelled in lower case: PHASE=RUN would be refused as unknown.
        for name in list(request.strargs):
            if name.lower() in UWS_PARAMETERS:
                del request.strargs[name]
        return super().getNewIdFromRequest(request)

    def getNewIdFromArgs(self, uwsArgs, paramDict, user=None):
        job_id = super().getNewIdFromArgs(uwsArgs, paramDict, user)
        if (uwsArgs.get("phase") or "").upper() == "RUN":
            self.changeToPhase(job_id, uws.QUEUED)
        return job_id


# ---- the core


class JobError(base.ReportableError):
    """Ends a job in ERROR; the message is what the client reads in the job's errorSummary."""


class Core(svcs.Core):
    inputTableXML = input_table_xml()
    worker = None

    @property
    def workerSystem(self):
        """The service's UWS, made when the service first asks for it (svcs.Service.getUWS)."""
        if self.worker is None:
            self.worker = ProcessingUWS(self.parent)
        return self.worker

    def run(self, service, inputTable, queryMeta):
        job = getattr(inputTable, "job", None)
        if job is None:
            raise base.ValidationError("This service runs jobs: POST the parameters to its"
                                       " uws.xml endpoint", "ID")
        try:
            ProcessingJob(job, inputTable.args).run()
            with job.getWritable() as wjob:  # DaCHS marks it COMPLETED, but leaves endTime NULL
                wjob.change(endTime=datetime.datetime.utcnow())
        except KeyboardInterrupt:  # ABORT: DaCHS sent SIGINT to this job process
            _end(job, uws.ABORTED)
            raise SystemExit(0)
        except JobError as exc:
            job.uws.changeToPhase(job.jobId, uws.ERROR, exc)
            raise SystemExit(0)
        return None  # the results are added: DaCHS marks the job COMPLETED


def _end(job, phase):
    """Puts the job in phase from within its own process (a transition to ABORTED would send
    this process SIGINT again)."""
    with job.getWritable() as wjob:
        wjob.change(phase=phase, endTime=datetime.datetime.utcnow())


class ProcessingJob:
    """One run of a job: Core.run's work, step by step."""

    def __init__(self, job, args):
        self.job, self.args = job, args
        self.started = datetime.datetime.utcnow()
        self.directory = job.getWD()
        self.settings = site().processing
        self.used, self.left_out = [], []

    def progress(self, step, stage):
        progress.write(self.directory, step, analysis.STEPS, stage,
                       used=[d.did for d in self.used], left_out=self.left_out)

    def run(self):
        self.progress(1, analysis.STEPS_BEFORE[0])
        try:
            values = parameters.parse(self.args, self.settings.max_observations)
        except parameters.ParameterError as exc:
            raise JobError(f"Bad parameter {exc}") from None
        rights = self.rights(self.datasets(values))

        self.progress(2, analysis.STEPS_BEFORE[1])
        workdir = os.path.join(self.directory, "analysis")
        data = os.path.join(workdir, "data")
        python = self.python()
        try:
            try:
                stores = analysis.lay_out(data, self.used, datalink_core.product_cache())
            except (BundleError, OSError) as exc:
                raise JobError(f"The files of the datasets cannot be read: {exc}") from None
            spec = analysis.analysis_spec(values, stores, os.path.join(workdir, "outputs"))
            before = len(analysis.STEPS_BEFORE)
            report = analysis.run_analysis(
                python, workdir, spec, self.time_limit(),
                lambda step, stage: self.progress(before + step, stage))
        except analysis.AnalysisFailed as exc:
            raise JobError(f"The analysis failed: {exc}") from None
        finally:
            # links to the input files: the job's directory is served as its results
            shutil.rmtree(data, ignore_errors=True)

        analysed = {entry["did"] for entry in report["used"]}
        self.left_out += [(s["did"], s["reason"]) for s in report["skipped"]]
        self.used = [d for d in self.used if d.did in analysed]
        self.progress(analysis.STEPS, analysis.STEPS_AFTER[0])
        self.publish(values, report, rights, spec["outputs"])

    def datasets(self, values):
        """The InputDatasets of the job's IDs; sets self.used and self.left_out."""
        collections = datalink_core.installed_collections()
        try:
            with base.getTableConn() as conn:
                found = inputs.find(conn.cursor(), collections, values.ids)
            self.used, left_out = inputs.select(found, values.ra, values.dec, values.on_radius)
            self.left_out = [(d.did, why) for d, why in left_out]
        except inputs.InputError as exc:
            raise JobError(str(exc)) from None
        return self.used

    def rights(self, datasets):
        """The rights the products inherit; JobError unless the job's owner may read every
        dataset."""
        groups = compat.user_groups(self.job.owner)
        for dataset in datasets:
            data_rights, release, owner = dataset.rights()
            verdict = access.verdict(data_rights, release, owner, self.job.owner,
                                     lambda group: group in groups, access.JOB)
            if verdict != access.ALLOWED:
                until = f" until {release:%Y-%m-%d}" if release else ""
                raise JobError(
                    f"Not allowed: dataset {dataset.did} is proprietary{until}; only members of"
                    f" its owner group may analyse it: make the job with a member's credentials"
                    f" (HTTP basic auth)")
        try:
            return access.inherited_rights([d.rights() for d in datasets])
        except access.MixedOwners as exc:
            raise JobError(f"Not allowed: {exc}") from None

    def python(self):
        """The gammapy virtualenv's Python (etc/site.yaml); JobError if it is not there."""
        python = self.settings.gammapy_python
        python = python if os.path.isabs(python) else os.path.join(PROJECT_ROOT, python)
        if not os.access(python, os.X_OK):
            raise JobError(f"The analysis cannot run: there is no gammapy Python at {python}"
                           " (etc/site.yaml processing.gammapy_python; `make setup` makes it)")
        return python

    def time_limit(self):
        """Seconds the analysis may take: the job's execution duration, at most the site's."""
        asked = self.job.executionDuration
        limit = self.settings.execution_duration
        return min(asked, limit) if asked and asked > 0 else limit

    def publish(self, values, report, rights, outputs):
        """Keeps the files, writes the rows and the provenance, adds the UWS results."""
        job_id, created = self.job.jobId, datetime.datetime.utcnow()
        documentation = publication.documentation(job_id, values, report, self.used,
                                                  self.left_out)
        files = publication.keep_files(outputs, datalink_core.derived_root(), job_id,
                                       documentation)
        description = {"id": job_id, "ra": values.ra, "dec": values.dec,
                       "on_radius": values.on_radius, "software": report["software"]}
        rows = [products.obscore_row(kind, description, report["products"][kind.name],
                                     self.used, rights, os.path.getsize(files[kind.name]),
                                     site(), created)
                for kind in products.KINDS]
        progenitors = products.progenitor_rows([r["obs_publisher_did"] for r in rows],
                                               self.used)
        provenance = publication.provenance_records(
            {"id": job_id, "started": self.started, "ended": created,
             "owner": self.job.owner}, values, report, self.used, rows, site())
        with base.getWritableAdminConn() as conn:
            publication.write_rows(conn.cursor(), rows, progenitors, provenance)
        self.add_results(outputs, rows)

    def add_results(self, outputs, rows):
        """The UWS results: `result`, a VOTable of the published products (pyvo's
        AsyncTAPJob.fetch_result reads it), and each product's FITS file and plot."""
        with self.job.getWritable() as wjob:
            links = base.resolveCrossId(datalink_core.PRODUCTS_SERVICE).getURL("dlmeta")
            wjob.addResult(products.products_votable(rows, links), "application/x-votable+xml",
                           "result")
            for kind in products.KINDS:
                with open(os.path.join(outputs, kind.fits()), "rb") as f:
                    wjob.addResult(f, "application/fits", kind.name)
                with open(os.path.join(outputs, kind.plot()), "rb") as f:
                    wjob.addResult(f, "image/png", f"{kind.name}-plot")
