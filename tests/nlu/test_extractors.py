"""The entity families' registry: the order extractors run in, masking, and a failing one."""

from __future__ import annotations

from datetime import date

import bot.nlu.entities as entities
from bot.nlu.entities import EXTRACTORS, Extractor, extract

TODAY = date(2026, 11, 23)


def test_masking_extractors_run_before_the_looser_ones():
    names = [e.name for e in EXTRACTORS]
    assert len(names) == len(set(names))
    masking = [i for i, e in enumerate(EXTRACTORS) if e.masks]
    assert masking == list(range(len(masking))), "masking extractors must come first"


def test_a_phone_is_not_read_again_as_money_or_a_date():
    found = extract("电话13800138000，5万元，12月5日", today=TODAY)
    assert found["phone"] == "13800138000"
    assert found["money"] == 50000 and found["date"] == "2026-12-05"


def test_a_failing_extractor_costs_only_its_own_keys(monkeypatch, caplog):
    def broken(text: str, today: date) -> entities.Found:
        raise ValueError("boom")

    monkeypatch.setattr(entities, "EXTRACTORS", (Extractor("broken", broken), *EXTRACTORS))
    entities._extract_cached.cache_clear()
    try:
        assert extract("我叫张三，电话13800138000", today=TODAY) == {
            "phone": "13800138000",
            "person_name": "张三",
        }
        assert "entity extractor broken failed" in caplog.text
    finally:
        entities._extract_cached.cache_clear()
