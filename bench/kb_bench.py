"""Knowledge-base retrieval at scale: a synthetic 10,000-entry base, in-process.

Builds entries by recombining the vocabulary of the real starter entries (titles,
paraphrases and answers cut into phrases), so term statistics look like real Chinese policy
text; then measures index build time, query latency (p50/p99 over held-out paraphrase-like
questions) and the process's resident memory. Latency is measured twice: the index search
alone, and a whole decision as a member's question gets it (``KnowledgeBase.decide``: long
messages reduced, typos corrected, search, features, the fitted model, the intent model's
vote), uncached. The synthetic questions join phrases, so most have bigrams the index has
never seen: the typo path runs far more often than for real messages. Nothing generated here
is shipped.

    python -m bench.kb_bench [--entries 10000] [--queries 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import statistics
import time
from pathlib import Path

from bot.kb import entries as knowledge
from bot.kb.entries import EntryData
from bot.kb.index import search
from bot.nlu.segment import shared_analyzer

OUT = Path(__file__).with_name("out")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(n: int, seed: int = 7) -> tuple[list[tuple[str, list[str], str, str]], list[str]]:
    rng = random.Random(seed)
    real = knowledge.read_files()
    phrases = sorted(
        {
            p
            for e in real
            for text in (e.title, e.question, *e.paraphrases, e.answer)
            for p in re.split(r"[，。；、：！？\s（）“”]+", text)
            if 2 <= len(p) <= 14 and "{" not in p
        }
    )
    entries = []
    for i in range(n):
        topic_words = rng.sample(phrases, 3)
        title = "".join(topic_words[:2])
        questions = [title] + [
            "".join(rng.sample(topic_words + rng.sample(phrases, 2), 3)) for _ in range(8)
        ]
        answer = "。".join(rng.sample(phrases, 25))
        entries.append((f"synthetic.{i}", questions, " ".join(topic_words), answer))
    queries = [
        "".join(rng.sample(entries[rng.randrange(n)][1][0:1] + rng.sample(phrases, 1), 2))
        for _ in range(2000)
    ]
    return entries, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    args = parser.parse_args()
    # A web worker's footprint: the whole app (Flask, SQLAlchemy, Redis clients, the intent
    # model), then the 10,000-entry index on top.
    import os
    import tempfile

    from bot import create_app

    scratch = tempfile.mkdtemp()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/kb.db")
    app = create_app({"SECRET_KEY": "bench", "WECHAT_TOKEN": "bench"})
    app.extensions["nlu"].model.ensure_ready()
    analyzer = shared_analyzer(
        knowledge.KNOWLEDGE_DIR / "userdict.txt", knowledge.KNOWLEDGE_DIR / "synonyms.txt"
    )
    entries, queries = synthetic(args.entries)
    queries = queries[: args.queries]
    before = rss_mb()
    kb = app.extensions["kb"]
    live = [
        EntryData(topic, questions[0], questions[0], questions[1:], head.split(" "), body)
        for topic, questions, head, body in entries
    ]
    del entries
    started = time.perf_counter()
    kb.rebuild(live)
    build_s = time.perf_counter() - started
    index = kb.index
    assert index is not None
    with app.app_context():
        for q in queries[:50]:  # warm caches
            kb.decide(q)
        searches, decisions = [], []
        for q in queries:
            t = time.perf_counter()
            search(index, analyzer, q, 5)
            searches.append((time.perf_counter() - t) * 1000)
            kb.forget_decisions()
            t = time.perf_counter()
            kb.decide(q)
            decisions.append((time.perf_counter() - t) * 1000)
    searches.sort()
    decisions.sort()
    result = {
        "entries": args.entries,
        "question_documents": index.n_question_docs,
        "build_seconds": round(build_s, 2),
        "query_p50_ms": round(statistics.median(searches), 3),
        "query_p99_ms": round(searches[int(len(searches) * 0.99) - 1], 3),
        "decide_p50_ms": round(statistics.median(decisions), 3),
        "decide_p99_ms": round(decisions[int(len(decisions) * 0.99) - 1], 3),
        "rss_mb": round(rss_mb(), 1),
        "rss_before_index_mb": round(before, 1),  # app + model + synthetic source data
    }
    goals = {
        "build_seconds": 10,
        "query_p50_ms": 2,
        "query_p99_ms": 10,
        "decide_p50_ms": 2,
        "decide_p99_ms": 10,
        "rss_mb": 300,
    }
    print(f"knowledge base: {args.entries} synthetic entries, {len(queries)} queries")
    for key, value in result.items():
        goal = goals.get(key)
        mark = (
            ""
            if goal is None
            else (f"  ok (≤ {goal})" if value <= goal else f"  MISSED (≤ {goal})")
        )
        print(f"  {key:<22} {value}{mark}")
    OUT.mkdir(exist_ok=True)
    (OUT / "kb_results.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
