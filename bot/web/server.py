"""The gunicorn worker the bot runs under: threads, and no read that can wait forever.

With gunicorn's sync workers, one connection that announces more body bytes than it sends
holds a whole worker until gunicorn kills it (30 s): two such connections stalled the bot
for every member, and WeChat gives up after 5 s. Threaded workers serve others meanwhile,
but gunicorn's threads read the request with a blocking socket and no time limit, so enough
slow connections would still take every thread. This worker gives each client socket a
time limit per read (``WEB_READ_TIMEOUT_SECONDS``): a client that stops sending is dropped,
its thread freed, and nobody else waits. nginx in front (deploy/nginx.conf) buffers bodies
as well; this keeps the bot safe without it.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

READ_TIMEOUT_SECONDS = float(os.environ.get("WEB_READ_TIMEOUT_SECONDS", "3"))
REQUEST_READ_SECONDS = float(os.environ.get("WEB_REQUEST_READ_SECONDS", "5"))


class BoundedSocket(socket.socket):
    """A socket whose blocking mode has a time limit per read and per request.

    gunicorn switches each connection between non-blocking (while its poller watches it)
    and blocking (while a thread reads and answers a request). "Blocking" here means: at
    most ``READ_TIMEOUT_SECONDS`` per read, and ``REQUEST_READ_SECONDS`` for all the reads
    of one request, so a client that trickles a byte now and then cannot keep a thread
    either. (A WeChat message is a few KB and arrives in milliseconds.)
    """

    _deadline = 0.0

    def setblocking(self, flag: bool) -> None:
        if flag:
            self._deadline = time.monotonic() + REQUEST_READ_SECONDS
            self.settimeout(READ_TIMEOUT_SECONDS)
        else:
            self._deadline = 0.0
            super().setblocking(False)

    def _bound(self) -> None:
        if self._deadline:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("request not received in time")
            if left < READ_TIMEOUT_SECONDS:
                self.settimeout(left)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._bound()
        return super().recv(bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._bound()
        return super().recv_into(buffer, nbytes, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        # The answer is not held to what was left of the reading time.
        if self._deadline:
            self._deadline = 0.0
            self.settimeout(READ_TIMEOUT_SECONDS)
        super().sendall(data, flags)


class BoundedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's threaded worker with :class:`BoundedSocket` client connections."""

    def accept(self, listener: Any) -> None:
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        bounded = BoundedSocket(client.family, client.type, client.proto, fileno=client.detach())
        bounded.setblocking(True)
        self.enqueue_req(TConn(self.cfg, bounded, address, listener.getsockname()))
