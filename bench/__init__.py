"""Throughput and latency benchmark of the webhook: ``python -m bench.run`` (see README.md)."""
