"""Downloads over Twisted: answering a request for a file or a bundle as datalink/downloads.py
decides (length, validators, 304, ranges, HEAD), handing files to nginx where it is in front
(X-Accel-Redirect), and sending what a function writes in a thread piece by piece, with flow
control.

Where nginx fronts the DaCHS processes (instance/server.py) it tells them so with the request
header ACCEL_HEADER, naming its internal location of the product cache: a file then goes out as
an X-Accel-Redirect to it, and nginx sends the bytes itself (sendfile), with its own Range,
conditional-request and HEAD handling. Asked on a DaCHS process's own port (a client on this
machine), DaCHS sends the file.

DaCHS's own streaming (gavo.svcs.streaming) sends 50 kB pieces and, when the client is slower than
the writer, polls every 0.1 s: for bundles of hundreds of megabytes that caps the rate far below
what the disk and the network do. Here the writer thread hands CHUNK-sized pieces to the reactor
and waits for each to be written; Twisted pauses it (push producer) when the client does not keep
up, so memory is bounded by a couple of pieces whatever the size of the whole. (A pull producer
would make the reactor spin: Twisted asks it again and again while the writer is still building.)
"""

import os
import threading

from twisted.internet import reactor, threads
from twisted.web import server

from dachs_ext import compat
from datalink import downloads

CHUNK = 4 << 20
# Set by nginx on every request it passes on (a client's value is replaced): the prefix of the
# internal location that serves the product cache.
ACCEL_HEADER = "x-heobs-accel-location"
# Set on a file or bundle response: "hit" if every file was in the product cache, "miss" if one
# had to be built. For nginx's access log (monitoring/access_log.py), which keeps it from clients.
CACHE_HEADER = "x-heobs-cache"


def cache_result(cache):
    """CACHE_HEADER's value for what a datalink.cache.ProductCache had to do."""
    return "miss" if cache.builds else "hit"


def _request_headers(request):
    return {name.decode("latin-1").lower(): values[-1].decode("latin-1")
            for name, values in request.requestHeaders.getAllRawHeaders()}


def send(request, representation, write_range, headers=None):
    """Answers a GET or HEAD for representation; write_range(out, start, stop) writes the bytes
    [start, stop) of it to out.write; headers: more response headers. Returns NOT_DONE_YET (the
    request is finished here)."""
    compat.send_unencoded(request)
    answer = downloads.answer(representation, _request_headers(request))
    request.setResponseCode(answer.status)
    for name, value in {**(headers or {}), **answer.headers}.items():
        request.setHeader(name, value)
    if not answer.has_body or request.method == b"HEAD":
        request.finish()
        return server.NOT_DONE_YET
    return stream(request, lambda out: write_range(out, answer.start, answer.stop))


def send_built(request, build):
    """Like send(), where build() -> (representation, write_range, headers) takes time (building
    files): it runs in a thread, off the reactor. A failure answers 500 with what went wrong."""
    gone = []
    request.notifyFinish().addErrback(lambda _: gone.append(True))

    def answer(built):
        if not gone:
            send(request, *built)

    def failed(failure):
        if gone:
            return
        request.setResponseCode(500)
        request.setHeader("content-type", "text/plain;charset=utf-8")
        request.write(f"The files cannot be made: {failure.getErrorMessage()}\n".encode())
        request.finish()

    threads.deferToThread(build).addCallbacks(answer, failed)
    return server.NOT_DONE_YET


def send_file(request, path, media_type, filename, cache_root, cached=None):
    """Sends the file at path (within the product cache at cache_root; None: elsewhere, sent by
    DaCHS) as an attachment; cached: CACHE_HEADER's value."""
    compat.send_unencoded(request)
    if cached:
        request.setHeader(CACHE_HEADER, cached)
    request.setHeader("content-type", media_type)
    request.setHeader("content-disposition", f'attachment; filename="{filename}"')
    location = request.getHeader(ACCEL_HEADER)
    relative = os.path.relpath(path, cache_root) if cache_root else ".."
    if location and not relative.startswith(".."):
        request.setHeader("x-accel-redirect", location.rstrip("/") + "/" + relative)
        request.setHeader("content-length", "0")
        request.finish()
        return server.NOT_DONE_YET
    return send(request, downloads.file_representation(path),
                lambda out, start, stop: downloads.copy_range(out, path, start, stop))


class FileResponse:
    """A built file as what a DaCHS data function returns (descriptor.data): DaCHS calls its
    render(request) and ignores what it returns, so the request is always finished here."""

    def __init__(self, path, media_type, filename, cache_root, cached=None):
        self.path, self.type, self.filename, self.cache_root = \
            path, media_type, filename, cache_root
        self.cached = cached  # CACHE_HEADER's value

    def render(self, request):
        return send_file(request, self.path, self.type, self.filename, self.cache_root,
                         self.cached)


class Stop(Exception):
    """The client went away: the writer stops."""


class _Producer:
    """IPushProducer: Twisted pauses and resumes the writer thread through it."""

    def __init__(self):
        self.may_write, self.stopped = threading.Event(), threading.Event()
        self.may_write.set()

    def pauseProducing(self):
        self.may_write.clear()

    def resumeProducing(self):
        self.may_write.set()

    def stopProducing(self):
        self.stopped.set()
        self.may_write.set()


class _RequestFile:
    """The file the writer writes to: pieces of about CHUNK bytes go to the request."""

    def __init__(self, request, producer):
        self.request, self.producer = request, producer
        self.pending, self.size = [], 0

    def write(self, data):
        self.pending.append(data)
        self.size += len(data)
        if self.size >= CHUNK:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        piece = self.pending[0] if len(self.pending) == 1 else b"".join(self.pending)
        self.pending, self.size = [], 0
        while not self.producer.may_write.wait(1):
            pass
        if self.producer.stopped.is_set():
            raise Stop()
        # Waits until the reactor has written it: a pause it causes is seen before the next one.
        threads.blockingCallFromThread(reactor, self.request.write, piece)


def stream(request, write_to):
    """Calls write_to(file) in a thread and sends what it writes; returns NOT_DONE_YET."""
    producer = _Producer()
    out = _RequestFile(request, producer)

    def finish():
        request.unregisterProducer()
        request.finish()

    def cut():
        # Headers are gone already: ending the connection without the last chunk tells the
        # client the download is incomplete.
        request.unregisterProducer()
        request.transport.loseConnection()

    def run():
        try:
            write_to(out)
            out.flush()
        except Stop:
            return
        except BaseException:
            if not producer.stopped.is_set():
                reactor.callFromThread(cut)
            return
        if not producer.stopped.is_set():
            reactor.callFromThread(finish)

    request.notifyFinish().addErrback(lambda _: producer.stopProducing())
    request.registerProducer(producer, True)
    threading.Thread(target=run, daemon=True, name="bundle-writer").start()
    return server.NOT_DONE_YET
