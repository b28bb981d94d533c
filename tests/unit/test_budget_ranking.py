"""Which keys keep their own budget series: the most used, the rest summed as "other"."""

from __future__ import annotations

from ielts_service.budget_metrics import Spend, top_and_other


def test_top_and_other_keeps_the_most_used_and_sums_the_rest() -> None:
    spends = [Spend("a", 10, 100), Spend("b", 90, 100), Spend("c", 5, 10), Spend("d", 1, 1000)]
    kept = top_and_other(spends, 2)
    assert [s.key_id for s in kept] == ["b", "c", "other"]
    assert (kept[-1].used, kept[-1].limit) == (11, 1100)
    assert top_and_other(spends, 4) == sorted(spends, key=lambda s: s.ratio, reverse=True)
