"""rules.verify.known_gaps: the clients whose figures fall into a gap ``rules check`` reports."""

from __future__ import annotations

import numpy as np
import pytest

from rules import EXAMPLE_PARAMETERS, get_rulebook, rulebook_ids
from rules.verify import check, known_gaps


@pytest.mark.parametrize("rid", rulebook_ids())
def test_every_hole_the_verifier_reports_is_found_at_its_witness(rid: str, monkeypatch):
    monkeypatch.setenv("CLIENT_RATING_PARAMS", str(EXAMPLE_PARAMETERS))
    rb = get_rulebook(rid)
    holes = [f for f in check(rb) if f.kind == "gap" and f.detail.get("catch_all")]
    for f in holes:
        cols = [np.array([f.witness[s.name]]) for s in rb.inputs]
        assert known_gaps(rb, cols) == {0: f}
        # one cent on either side along the input is covered by an explicit rule
        k = [s.name for s in rb.inputs].index(f.detail["input"])
        for side in ("below", "above"):
            moved = [c.copy() for c in cols]
            moved[k][0] = f.detail[side]
            assert known_gaps(rb, moved) == {}


def test_brokerage_rows_at_exactly_10_million_whatever_the_commission():
    rb = get_rulebook("brokerage")
    assets = np.array([10_000_000, 10_000_000, 10_000_000.01, 9_999_999.99, 0, 1e9])
    commission = np.array([0, 1e6, 0, 0, 0, 0], float)
    got = known_gaps(rb, [assets, commission])
    assert sorted(got) == [0, 1]
    assert got[0].rule_ids == ("BRK-ORD-1", "BRK-CORE-1", "BRK-VIP-1")
