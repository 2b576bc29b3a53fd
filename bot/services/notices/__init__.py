"""Notices (通知公告): compose, audience, approval, per-recipient deliveries, reconciliation.

Modules: :mod:`rules` (the platform's rules as data: quotas, windows, field limits, error
codes and what each means), :mod:`audience` (who a notice reaches), :mod:`compose` (drafts,
approval, cancel, retry), :mod:`deliveries` (the delivery table: bulk creation, leased
claims, outcomes, progress), :mod:`reconcile` (WeChat's job reports matched to notices).
The sending itself, which talks to WeChat, is ``bot.jobs.notices``.
"""
