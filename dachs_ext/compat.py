"""Every private or version-dependent API of DaCHS and Twisted this service uses, each behind a
feature check: the one place to look when DaCHS or Twisted is upgraded.

Neither promises what is used here. So each use is looked up once, by a feature test rather than
a version number, and `check()` reports every one that is missing with the version this service
expects and the one it found. The instance runs `python3 -m dachs_ext.compat` before it starts a
server (so an upgrade fails at start-up, not at the first request), and the modules DaCHS loads
call `install()` when they are imported.

What differs between the supported versions, and how each is met:
- DataLink content_qualifier: DaCHS 2.8+ has it (LinkDef's contentQualifier, a column of
  //datalink#dlresponse); for 2.7, link_rows.py adds it and the collection RD declares the
  column (native_content_qualifier()).
- Extra service descriptors in {links} (the bundle service's #proc): DaCHS 2.8+ writes the
  RESOURCE of every link that has asVOT(ctx); for 2.7, DatalinkCore below does the same
  through the private _iterAccessResources.
- Credentials: DaCHS 2.8+ has QueryMeta.getAuthUser() and creds.getGroupsForAuthUser(); 2.7
  has queryMeta["user"]/["password"] and creds.hasCredentials (request_credentials()).
- HTTP status of sync TAP errors: 2.7 answers a bad query with 200 and its VOTable error; 2.8+
  with 500 unless the exception says otherwise. _client_errors_as_200() restores 2.7's 200
  (DALI allows it, TAP 1.0 clients expect it, and a client's error is never a 500 here).
- Replayed cached pages: DaCHS's page cache (/tap/examples, ...) stores the response headers of
  the first rendering; with Twisted 24 those include Transfer-Encoding: chunked, replayed
  beside a Content-Length, which nginx refuses (502). _cached_pages_without_chunking() drops the
  hop-by-hop header from what is replayed.
- No compression on the fly of FITS and tar files: DaCHS wraps every response in Twisted's gzip
  encoder for clients that accept gzip; send_unencoded() switches it off through the request's
  private _encoder (no public switch exists).
- A cluster's service hosts (README, "Several hosts"): TAP uploads run on the primary
  (_uploads_on_the_primary: a replica refuses temporary tables), and DaCHS's check of async
  jobs by the PIDs in this machine's /proc is left to job_keeper.py (_no_local_zombie_check),
  as is the abort of a job whose process runs on another host (_abort_only_local_processes);
  the same on both versions.
- ADQL functions of this service (adql_functions.py): the same on both. DaCHS registers a
  function when the module defining it is imported; adql_function_loader() says how every
  process that parses ADQL comes to import it, and check() tests what that relies on.
  register_boolean_form() uses DaCHS's booleanizer registry (gavo.adql.morphhelpers).
- The processing service's UWS (processing_core.py) is DaCHS's "user UWS" attached to its core
  as workerSystem (the hook Service.getUWS() looks for; _core_worker_system_hook() checks it),
  with a job class whose destruction time and execution duration default to etc/site.yaml's
  (uws_job_class(): DaCHS's _default_<property> class methods), and the groups of a job's
  owner looked up without a password in the job's own process (user_groups(): DaCHS 2.8+ has
  creds.getGroupsForAuthUser; 2.7 only checks a password, so its dc.groups table is read).
astropy's HDU offsets, once read privately in ingest/, are read through the public
HDU.fileinfo() now.
"""

import functools
import importlib.resources
import inspect
import json
import os
import sys

# What this service was written and tested against (the README says what differs).
TESTED = "DaCHS 2.7 (Debian 12) or 2.11 (Debian 13) with Twisted 22.4 or 24.11"


class IncompatibleDaCHS(RuntimeError):
    """A DaCHS or Twisted interface this service needs is missing or changed."""


@functools.lru_cache(1)
def versions():
    """(DaCHS version, Twisted version) as they say it."""
    import twisted
    from gavo import base

    return base.getVersion(), twisted.__version__


def _problem(what):
    dachs, twisted = versions()
    return f"{what}: this service expects {TESTED}, found DaCHS {dachs} with Twisted {twisted}"


# ---------------------------------------------------------------- feature tests

@functools.lru_cache(1)
def native_content_qualifier():
    """DaCHS 2.8+: LinkDef takes a contentQualifier, //datalink#dlresponse has the column."""
    from gavo.protocols import datalink

    return "contentQualifier" in inspect.signature(datalink.LinkDef.__init__).parameters


@functools.lru_cache(1)
def _writes_link_resources():
    """DaCHS 2.8+ (where ProcLinkDef arrived) writes the RESOURCE of each link with asVOT."""
    from gavo.protocols import datalink

    return hasattr(datalink, "ProcLinkDef")


def _has_auth_user():
    from gavo import svcs
    from gavo.protocols import creds

    return hasattr(svcs.QueryMeta, "getAuthUser") and hasattr(creds, "getGroupsForAuthUser")


def _infers_dali_error_status():
    """DaCHS 2.8+ serves DALI errors with the exception's httpCode, 500 without one."""
    from gavo.protocols import dali

    parameter = inspect.signature(dali.serveDALIError).parameters.get("httpStatus")
    return parameter is not None and parameter.default is None


def _parses_local_functions():
    """DaCHS's ADQL grammar reads gavo_<name>(...) as a user-defined function (2.7 to 2.11
    take only the prefixes gavo_ and ivo_): its own gavo_match parses."""
    from gavo import adql

    try:
        adql.parseToTree("SELECT gavo_match('a', 'b') FROM t")
    except Exception:
        return False
    return True


def _tap_reads_userconfig():
    """DaCHS's //tap RD takes its TAP examples from etc/userconfig.rd, so every process that
    loads //tap reads userconfig.rd (adql_function_loader says why that matters)."""
    tap_rd = importlib.resources.files("gavo") / "resources/inputs/__system__/tap.rd"
    return 'source="%#tapexamples"' in tap_rd.read_text(encoding="utf-8")


def _core_worker_system_hook():
    """Service.getUWS() takes the UWS of a service from its core's workerSystem."""
    from gavo import svcs

    return "self.core.workerSystem" in inspect.getsource(svcs.Service.getUWS)


def check():
    """Every problem with the installed DaCHS and Twisted, as messages (empty: all is well)."""
    from gavo import adql, api
    from gavo.adql import morphhelpers
    from gavo.protocols import dali, datalink
    from gavo import svcs
    from gavo.web import caching, vodal
    from twisted.web import server

    problems = []
    # The DatalinkCore methods the cores of this service override or call.
    for name in ("completeElement", "adaptForDescriptors", "getMetaForDescriptor", "runForMeta",
                 "runForData",
                 "getDatalinksResource", "finalize", "_iterAccessResources"):
        if not hasattr(datalink.DatalinkCore, name):
            problems.append(_problem(f"gavo.protocols.datalink.DatalinkCore has no {name}"))
    if not hasattr(server.Request, "_encoder"):
        problems.append(_problem("twisted.web.server.Request has no _encoder (the gzip switch)"))
    if not hasattr(dali, "getDALIError"):
        problems.append(_problem("gavo.protocols.dali has no getDALIError"))
    if not hasattr(caching, "CachedPage") or "render" not in vars(caching.CachedPage):
        problems.append(_problem("gavo.web.caching has no CachedPage.render"))
    # The ADQL functions (adql_functions.py, adql_function_loader, register_boolean_form).
    for module, names in ((adql, ("userFunction", "UfuncError")), (api, ("Core",)),
                          (morphhelpers, ("registerBooleanizer", "addNotToBooleanized"))):
        for name in names:
            if not hasattr(module, name):
                problems.append(_problem(f"{module.__name__} has no {name}"))
    if not _parses_local_functions():
        problems.append(_problem("DaCHS's ADQL grammar does not parse gavo_ functions"))
    if not _tap_reads_userconfig():
        problems.append(_problem("DaCHS's //tap RD no longer reads etc/userconfig.rd (its"
                                 " TAP examples): async TAP jobs would not know the ADQL"
                                 " functions of this service"))
    # The processing service's UWS (processing_core.py, uws_job_class, user_groups).
    from gavo.protocols import useruws, uws, uwsactions

    for module, names in ((useruws, ("UserUWS",)), (uwsactions, ("JobActions", "RootAction")),
                          (uws.BaseUWSJob, ("_default_destructionTime",
                                            "_default_executionDuration")),
                          (uws.UWSJobWithWD, ("getWD", "addResult"))):
        for name in names:
            if not hasattr(module, name):
                problems.append(_problem(f"{module.__name__} has no {name}"))
    if not _core_worker_system_hook():
        problems.append(_problem("gavo.svcs.Service.getUWS no longer takes the core's"
                                 " workerSystem (the processing service's UWS)"))
    native = native_content_qualifier()
    if native != _writes_link_resources():
        problems.append(_problem("DataLink content_qualifier and ProcLinkDef arrived together in"
                                 " DaCHS 2.8; this DaCHS has one without the other"))
    if not callable(getattr(dali, "serveDALIError", None)):
        problems.append(_problem("gavo.protocols.dali has no serveDALIError"))
    if "_writeErrorTable" not in vars(vodal.SCSRenderer):
        problems.append(_problem("gavo.web.vodal.SCSRenderer has no _writeErrorTable"))
    if not isinstance(vars(svcs.QueryMeta).get("fromRequest"), classmethod):
        problems.append(_problem("gavo.svcs.QueryMeta has no fromRequest classmethod"))
    if native != _has_auth_user():
        problems.append(_problem("QueryMeta.getAuthUser and creds.getGroupsForAuthUser"
                                 " (DaCHS 2.8+) do not match this DaCHS's DataLink"))
    # A cluster's service hosts (_uploads_on_the_primary, _no_local_zombie_check, job_keeper.py).
    if not _can_route_uploads():
        problems.append(_problem("gavo.protocols.taprunner.getQTableFromJob(parameters, job,"
                                 " queryProfile, timeout) is missing or changed"))
    if not _has_local_zombie_check():
        problems.append(_problem("gavo.protocols.uws.UWSWithQueueing has no"
                                 " _ensureJobsAreRunning"))
    if not _has_kill_job():
        problems.append(_problem("gavo.protocols.uws.ProcessBasedUWSTransitions.killJob(newState,"
                                 " wjob, ignored) or markAborted is missing or changed"))
    return problems


def features():
    """What the instance needs to know to write the RDs (see rd/render.py)."""
    dachs, twisted = versions()
    return {"dachs": dachs, "twisted": twisted,
            "native_content_qualifier": native_content_qualifier()}


# ---------------------------------------------------------------- DataLink

@functools.lru_cache(1)
def datalink_core_base():
    """The DatalinkCore the cores of this service extend."""
    from gavo.protocols import datalink

    if _writes_link_resources():
        return datalink.DatalinkCore

    class DatalinkCore(datalink.DatalinkCore):
        """DaCHS 2.7's DatalinkCore, writing the RESOURCE of every link that has asVOT(ctx) as
        DaCHS 2.8+ does (for the bundle service's #proc row)."""

        def _iterAccessResources(self, ctx, service):
            yield from super()._iterAccessResources(ctx, service)
            for link in self.datalinkLinks:
                if hasattr(link, "asVOT"):
                    yield link.asVOT(ctx)

    return DatalinkCore


def response_maker(rd):
    """The data element turning links into the {links} table: DaCHS's own where it knows
    content_qualifier, else the collection RD's make_dlresponse (rd/datalink.rd.in)."""
    from gavo import base

    if native_content_qualifier():
        return base.caches.getRD("//datalink").getById("make_response")
    return rd.getById("make_dlresponse")


# ---------------------------------------------------------------- ADQL functions

def adql_function_loader():
    """The Core class of the module of this service's ADQL functions, which makes it loadable
    by DaCHS as a <customCore>.

    DaCHS registers an ADQL function when the module defining it is imported, and parses a
    query before it looks at the tables (whose RDs could import modules), so the module must
    be imported before the first query in every process that parses ADQL. DaCHS 2.7 and 2.11
    have no configuration item or hook for that; what they do have:
    - the server processes parse sync TAP queries and the ADQL form's; they load
      the //tap RD as they start ([web]preloadRDs in gavo.rc, instance/dachs_config.py);
    - async TAP jobs run in a process of their own (`dachs taprun <job>`, started by the
      server), which loads //tap to read the job before it parses the query;
    - //tap reads etc/userconfig.rd for its TAP examples (<FEED source="%#tapexamples"/>;
      _tap_reads_userconfig() checks this), and reading an RD imports the module of each
      <customCore> in it at once (its documented element for Python code: "Writing Custom
      Cores").
    So etc/userconfig.rd holds a <customCore> of the functions' module, which no service uses.
    Imported by the server processes only (an RD they preload), the functions would work in
    sync queries and fail with "No such function" in async ones; tests/live/
    test_goodtime_function.py runs them both ways."""
    from gavo import api

    class Core(api.Core):
        """Not a service's core: it only gets the ADQL functions' module imported."""

    return Core


_BOOLEAN_FORMS = {}


def register_boolean_form(name, condition):
    """Makes `1 = name(...)` (`0 =`, `!= 1`, `!= 0` likewise) the SQL condition(args) itself,
    as DaCHS does for its own ivo_hasword. DaCHS's booleanizer registry appends; the module of
    the functions is executed again when userconfig.rd is read again, so the registry gets one
    entry per name that calls the latest condition."""
    from gavo.adql import morphhelpers

    first = name.upper() not in _BOOLEAN_FORMS
    _BOOLEAN_FORMS[name.upper()] = condition
    if first:
        def booleanize(node, operator, operand):
            return morphhelpers.addNotToBooleanized(
                _BOOLEAN_FORMS[name.upper()](node.args), operator, operand)

        morphhelpers.registerBooleanizer(name.upper(), booleanize)


# ---------------------------------------------------------------- credentials

def request_credentials(queryMeta):
    """(user, is_member): the user a request names (None: anonymous or, on DaCHS 2.8+, wrong
    credentials) and a function telling whether the request's credentials are a member's of
    a group."""
    from gavo.protocols import creds

    if _has_auth_user():
        user = queryMeta.getAuthUser()
        groups = creds.getGroupsForAuthUser(user) if user else set()
        return user, lambda group: group in groups
    user, password = queryMeta["user"], queryMeta["password"]
    return user, lambda group: bool(user) and creds.hasCredentials(user, password, group)


# ---------------------------------------------------------------- the processing service's UWS

def uws_job_class(job_class, lifetime_seconds, duration_seconds):
    """A subclass of DaCHS's UWS job class whose new jobs are destroyed lifetime_seconds after
    their creation and run at most duration_seconds, unless the client says otherwise (DaCHS
    takes both from its [async] settings, which TAP's jobs share)."""
    import datetime

    class ProcessingJob(job_class):
        @classmethod
        def _default_destructionTime(cls):
            return datetime.datetime.utcnow() + datetime.timedelta(seconds=lifetime_seconds)

        @classmethod
        def _default_executionDuration(cls):
            return duration_seconds

    return ProcessingJob


def user_groups(user):
    """The groups of a user whose credentials were checked before (a job's owner), in the job's
    process, where there is no request and so no password."""
    from gavo import base
    from gavo.protocols import creds

    if not user:
        return set()
    if hasattr(creds, "getGroupsForAuthUser"):
        return set(creds.getGroupsForAuthUser(user))
    with base.getAdminConn() as conn:
        return {row[0] for row in conn.query(
            "SELECT groupname FROM dc.groups WHERE username=%(user)s", {"user": user})}


# ---------------------------------------------------------------- HTTP

def send_unencoded(request):
    """Turns off the gzip Content-Encoding DaCHS puts on every response for clients that send
    Accept-Encoding: gzip (requests, pyvo and gammapy do): FITS and tar files are sent as they
    are, with their length. Twisted reads the request's private _encoder on each write."""
    request._encoder = None
    request.responseHeaders.removeHeader(b"content-encoding")


def _client_errors_as_200():
    """DaCHS 2.8+ gives a DALI error document the exception's httpCode, 500 without one; the
    sync TAP renderer passes no status, so a malformed query or parameter is a 500 there. An
    error DaCHS expects (a base.Error: bad ADQL, an unknown column, a bad MAXREC) is the
    client's: it gets 200, as on DaCHS 2.7; anything else (a bug) stays 500."""
    from gavo import base
    from gavo.protocols import dali

    original = dali.getDALIError
    if getattr(original, "heobs_hook", False):
        return

    @functools.wraps(original)
    def getDALIError(errInfo, *args, **kwargs):
        document, status = original(errInfo, *args, **kwargs)
        if isinstance(errInfo, base.Error) and getattr(errInfo, "httpCode", None) is None:
            status = 200
        return document, status

    getDALIError.heobs_hook = True
    dali.getDALIError = getDALIError


# The response header an error document answered with 200 carries, for nginx's access log
# (monitoring/access_log.py: vo_error), which does not pass it on to the client.
VO_ERROR_HEADER = "x-heobs-vo-error"


def _vo_errors_marked():
    """Marks every DALI error document (TAP, DataLink, UWS: dali.serveDALIError) and every cone
    search error (SCS 1.03's INFO, SCSRenderer._writeErrorTable) with VO_ERROR_HEADER: both are
    sent with status 200, as the standards want, so nginx cannot tell them from an answer."""
    from gavo.protocols import dali
    from gavo.web import vodal

    if getattr(dali.serveDALIError, "heobs_hook", False):
        return
    serve_error = dali.serveDALIError

    @functools.wraps(serve_error)
    def serveDALIError(request, errInfo, *args, **kwargs):
        _mark_vo_error(request, kwargs.get("queryStatus", args[1] if len(args) > 1 else "ERROR"))
        return serve_error(request, errInfo, *args, **kwargs)

    serveDALIError.heobs_hook = True
    dali.serveDALIError = serveDALIError
    write_error = vodal.SCSRenderer._writeErrorTable

    @functools.wraps(write_error)
    def _writeErrorTable(self, request, *args, **kwargs):
        _mark_vo_error(request, "ERROR")
        return write_error(self, request, *args, **kwargs)

    vodal.SCSRenderer._writeErrorTable = _writeErrorTable


def _mark_vo_error(request, status):
    try:
        request.setHeader(VO_ERROR_HEADER, str(status or "ERROR"))
    except Exception:  # noqa: BLE001 (a request that cannot take headers any more: no mark)
        pass


# What nginx knows of a request (datalink/access.py decides what it means): queryMeta's key.
CHANNEL_KEY = "heobs_channel"


def _channel_in_query_meta():
    """Every QueryMeta DaCHS makes from a request (renderers hand it to the cores) carries
    the request's channel (dachs_ext/client.py): the cores see queryMeta, never the request,
    and the access decision needs how the client came."""
    from gavo import svcs
    from dachs_ext import client

    original = vars(svcs.QueryMeta)["fromRequest"].__func__
    if getattr(original, "heobs_hook", False):
        return

    @functools.wraps(original)
    def fromRequest(cls, request, *args, **kwargs):
        queryMeta = original(cls, request, *args, **kwargs)
        queryMeta[CHANNEL_KEY] = client.channel_of(request)
        return queryMeta

    fromRequest.heobs_hook = True
    svcs.QueryMeta.fromRequest = classmethod(fromRequest)


def request_channel(queryMeta):
    """The client.Channel of the request queryMeta was made from; None if it was not made from
    one (then no credentials are taken)."""
    return queryMeta.get(CHANNEL_KEY)


HOP_BY_HOP = (b"transfer-encoding", b"connection", b"keep-alive")


def _cached_pages_without_chunking():
    from gavo.web import caching

    original = caching.CachedPage.render
    if getattr(original, "heobs_hook", False):
        return

    @functools.wraps(original)
    def render(self, request):
        for name in HOP_BY_HOP:
            self.headers.removeHeader(name)
        return original(self, request)

    render.heobs_hook = True
    caching.CachedPage.render = render


# ---------------------------------------------------------------- a cluster's service host

# Set by instance/ in the environment of the DaCHS processes of a cluster's service host (and
# so of the async jobs they start): the host's name (README, "Several hosts").
CLUSTER_HOST_VARIABLE = "HEOBS_CLUSTER_HOST"
# The database profile a query with TAP uploads runs with there (instance/dachs_config.py):
# the untrusted role on the primary.
UPLOAD_PROFILE = "uploadquery"


def cluster_host():
    """The name of the cluster's service host this process runs on, or None."""
    return os.environ.get(CLUSTER_HOST_VARIABLE) or None


def _can_route_uploads():
    """Every TAP query, sync or async, gets its connection in taprunner.getQTableFromJob(
    parameters, job, queryProfile, timeout), which runTAPJobNoState looks up by name."""
    from gavo.protocols import taprunner

    function = getattr(taprunner, "getQTableFromJob", None)
    return function is not None and list(inspect.signature(function).parameters) == [
        "parameters", "job", "queryProfile", "timeout"]


def _uploads_on_the_primary():
    """On a cluster's service host, untrustedquery reads on a replica, a hot standby, which
    refuses the temporary tables DaCHS makes of TAP uploads ("cannot execute CREATE TABLE in a
    read-only transaction"): a query with uploads gets its connection with UPLOAD_PROFILE."""
    from gavo.protocols import taprunner

    original = taprunner.getQTableFromJob
    if getattr(original, "heobs_hook", False):
        return

    @functools.wraps(original)
    def getQTableFromJob(parameters, job, queryProfile, timeout):
        if parameters.get("upload") and queryProfile == "untrustedquery":
            queryProfile = UPLOAD_PROFILE
        return original(parameters, job, queryProfile, timeout)

    getQTableFromJob.heobs_hook = True
    taprunner.getQTableFromJob = getQTableFromJob


def _has_local_zombie_check():
    from gavo.protocols import uws

    return callable(getattr(uws.UWSWithQueueing, "_ensureJobsAreRunning", None))


def _has_kill_job():
    from gavo.protocols import uws

    transitions = uws.ProcessBasedUWSTransitions
    return all(callable(getattr(transitions, name, None))
               and list(inspect.signature(getattr(transitions, name)).parameters)[1:] in (
                   ["newState", "wjob", "ignored"], ["newPhase", "wjob", "ignored"])
               for name in ("killJob", "markAborted"))


def _no_local_zombie_check():
    """DaCHS pushes an EXECUTING async job to ERROR when no process of its recorded PID is in
    this machine's /proc (UWSWithQueueing._ensureJobsAreRunning, run when queued jobs cannot
    start). On a cluster the job may run on another host, where that PID is: the check would
    fail jobs that run well. The job keeper (dachs_ext/job_keeper.py) watches the jobs of every
    host instead, by which host claims them."""
    from gavo.protocols import uws

    def _ensureJobsAreRunning(self):
        """Left to dachs_ext/job_keeper.py on a cluster's service host."""

    _ensureJobsAreRunning.heobs_hook = True
    uws.UWSWithQueueing._ensureJobsAreRunning = _ensureJobsAreRunning


@functools.lru_cache(1)
def install():
    """Checks the installed DaCHS and Twisted and installs the hooks above, once per process;
    raises IncompatibleDaCHS with every problem found."""
    problems = check()
    if problems:
        raise IncompatibleDaCHS("\n".join(problems))
    if _infers_dali_error_status():
        _client_errors_as_200()
    _cached_pages_without_chunking()
    _vo_errors_marked()
    _channel_in_query_meta()
    install_cluster_hooks()
    return True


def job_process_here(job_id, pid):
    """True if the process pid on this host runs the async job job_id (`gavo ... taprun -- <job>`
    for TAP, `dachs uwsrun -- <job>` for the processing service)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return (b"taprun" in argv or b"uwsrun" in argv) and job_id.encode() in argv


def _abort_only_local_processes():
    """To abort (or delete) an executing async job, DaCHS signals the PID its job row records
    (ProcessBasedUWSTransitions.killJob), on this machine. On a cluster the job may run on
    another host, where that PID is: here it names some other process, or none. Such a job is
    marked ABORTED, and the job keeper of the host that runs it stops its process
    (job_keeper.stop_abandoned)."""
    from gavo.protocols import uws

    kill_here = uws.ProcessBasedUWSTransitions.killJob

    def killJob(self, newState, wjob, ignored):
        if wjob.pid is not None and wjob.pid >= 2 and not job_process_here(wjob.jobId,
                                                                           wjob.pid):
            return self.markAborted(newState, wjob, ignored)
        return kill_here(self, newState, wjob, ignored)

    killJob.heobs_hook = True
    uws.ProcessBasedUWSTransitions.killJob = killJob


def install_cluster_hooks():
    """On a cluster's service host, the hooks every process that runs TAP queries needs: the
    server processes (install()) and the async jobs' own (adql_functions.py, which they import
    before the query: adql_function_loader)."""
    if cluster_host():
        _uploads_on_the_primary()
        _no_local_zombie_check()
        _abort_only_local_processes()


def main():
    """`python3 -m dachs_ext.compat`: exit 1 with every problem, or print features() as JSON."""
    problems = check()
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(features(), sort_keys=True))


if __name__ == "__main__":
    main()
