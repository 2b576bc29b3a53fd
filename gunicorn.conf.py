"""Gunicorn settings used by `make run`, the benchmark and production (see README.md)."""

import gc
import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads with a time limit on every read (bot/web/server.py): a few slow or broken clients
# must not stall everyone else, as they did with sync workers.
worker_class = "bot.web.server.BoundedThreadWorker"
threads = int(os.environ.get("WEB_THREADS", "8"))
# The webhook answers within WeChat's 5 s; anything slower is pushed later by a job.
timeout = 30
graceful_timeout = 10
max_requests = 1000000
max_requests_jitter = 100000


def post_worker_init(worker):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    # Pay the segmenter/model/index start-up before the first member's message.
    from bot import warm_up

    warm_up(worker.wsgi)
    # Everything loaded so far (index, model, dictionaries) lives as long as the worker.
    # Frozen, the collector stops re-scanning it: a full collection over it took ~100 ms,
    # a pause that lands on some member's reply.
    gc.collect()
    gc.freeze()


# gunicorn's control socket lives at one path per user by default; several servers on one
# host (make run beside the benchmark, tests) would take it from each other. We don't use it.
control_socket_disable = True
