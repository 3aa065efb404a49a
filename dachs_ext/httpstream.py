"""Sending what a function writes in a thread to a Twisted request, piece by piece, with flow
control.

DaCHS's own streaming (gavo.svcs.streaming) sends 50 kB pieces and, when the client is slower than
the writer, polls every 0.1 s: for bundles of hundreds of megabytes that caps the rate far below
what the disk and the network do. Here the writer thread hands CHUNK-sized pieces to the reactor
and waits for each to be written; Twisted pauses it (push producer) when the client does not keep
up, so memory is bounded by a couple of pieces whatever the size of the whole. (A pull producer
would make the reactor spin: Twisted asks it again and again while the writer is still building.)
"""

import threading

from twisted.internet import reactor, threads
from twisted.web import server

CHUNK = 4 << 20


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
