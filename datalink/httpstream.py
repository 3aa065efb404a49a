"""Sending what a function writes in a thread to a Twisted request, chunk by chunk, with flow control.

DaCHS's own streaming (gavo.svcs.streaming) sends 50 kB pieces and, when the client is slower than
the writer, polls every 0.1 s: for bundles of hundreds of megabytes that caps the rate far below
what the disk and the network do. Here the writer thread fills a small queue of CHUNK-sized pieces
(it blocks when the queue is full, so memory is bounded by QUEUE_CHUNKS * CHUNK whatever the
size of the whole), and a pull producer hands one piece to the request each time Twisted asks.
"""

import queue
import threading

from twisted.internet import threads
from twisted.web import server

CHUNK = 4 << 20
QUEUE_CHUNKS = 4
_END = object()


class Stop(Exception):
    """The client went away: the writer stops."""


class _QueueFile:
    """The file the writer writes to: collects pieces of about CHUNK bytes into the queue (with
    one copy: large writes, such as file contents, pass as they are)."""

    def __init__(self, pieces, stopped):
        self.pieces, self.stopped = pieces, stopped
        self.pending, self.size = [], 0

    def write(self, data):
        if self.stopped.is_set():
            raise Stop()
        self.pending.append(data)
        self.size += len(data)
        if self.size >= CHUNK:
            self._flush()

    def close(self):
        self._flush()
        self._put(_END)

    def _flush(self):
        if self.pending:
            piece = self.pending[0] if len(self.pending) == 1 else b"".join(self.pending)
            self.pending, self.size = [], 0
            self._put(piece)

    def _put(self, item):
        while not self.stopped.is_set():
            try:
                self.pieces.put(item, timeout=1)
                return
            except queue.Full:
                continue
        raise Stop()


class _Producer:
    """IPullProducer: one piece from the queue per resumeProducing."""

    def __init__(self, request, pieces, stopped):
        self.request, self.pieces, self.stopped = request, pieces, stopped
        self.waiting = False

    def resumeProducing(self):
        if self.waiting or self.stopped.is_set():
            return
        self.waiting = True
        threads.deferToThread(self.pieces.get).addCallback(self._deliver)

    def _deliver(self, piece):
        self.waiting = False
        if self.stopped.is_set():
            return
        if piece is _END:
            self.request.unregisterProducer()
            self.request.finish()
        elif isinstance(piece, BaseException):
            # Headers are gone already: ending the connection without the last chunk tells the
            # client the download is incomplete.
            self.request.unregisterProducer()
            self.request.transport.loseConnection()
        else:
            self.request.write(piece)

    def stopProducing(self):
        self.stopped.set()


def stream(request, write_to):
    """Calls write_to(file) in a thread and sends what it writes; returns NOT_DONE_YET."""
    pieces, stopped = queue.Queue(QUEUE_CHUNKS), threading.Event()
    out = _QueueFile(pieces, stopped)

    def run():
        try:
            write_to(out)
            out.close()
        except Stop:
            pass
        except BaseException as exc:  # reported to the client by a cut connection
            try:
                out._put(exc)
            except Stop:
                pass

    request.notifyFinish().addErrback(lambda _: stopped.set())
    request.registerProducer(_Producer(request, pieces, stopped), False)
    threading.Thread(target=run, daemon=True, name="bundle-writer").start()
    return server.NOT_DONE_YET
