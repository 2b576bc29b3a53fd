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
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

READ_TIMEOUT_SECONDS = float(os.environ.get("WEB_READ_TIMEOUT_SECONDS", "3"))


class BoundedSocket(socket.socket):
    """A socket whose blocking mode has a time limit per operation.

    gunicorn switches each connection between non-blocking (while its poller watches it)
    and blocking (while a thread reads the request); "blocking" here means "blocking for
    at most ``READ_TIMEOUT_SECONDS`` per read or write".
    """

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(READ_TIMEOUT_SECONDS)
        else:
            super().setblocking(False)


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
