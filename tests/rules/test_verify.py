"""The verifier finds, with witnesses, the literal gaps POLICY.md names — and nothing on clean tables."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from shipped_rules import use_as_shipped

from rules import get_rulebook, versions
from rules.registry import DATA_DIR
from rules.verify import check, check_versions


def _kinds(findings):
    return sorted(f.kind for f in findings)


def test_brokerage_literal_gap_and_non_monotone_steps():
    fs = check(get_rulebook("brokerage"))
    assert _kinds(fs) == ["gap", "non_monotone", "non_monotone"]
    gap = next(f for f in fs if f.kind == "gap")
    assert gap.witness["assets"] == 10_000_000
    assert gap.detail["below"] == 9_999_999.99 and gap.detail["above"] == 10_000_000.01
    assert set(gap.rule_ids) == {"BRK-ORD-1", "BRK-CORE-1", "BRK-VIP-1"}
    assert "资产权益 恰为 10,000,000" in gap.text()
    steps = {(f.detail["input"], f.detail["from"], f.detail["to"], f.rule_ids)
             for f in fs if f.kind == "non_monotone"}
    assert steps == {("assets", 9_999_999.99, 10_000_000, ("BRK-CORE-1", "BRK-ORD-1")),
                     ("commission", 4_999.99, 5_000, ("BRK-POT-2", "BRK-ORD-1"))}
    comm = next(f for f in fs if f.kind == "non_monotone" and f.detail["input"] == "commission")
    assert 10_000 <= comm.witness["assets"] < 100_000  # the band where the step happens
    # the witnesses really do what the finding says
    rb = get_rulebook("brokerage")
    assert rb.evaluate(comm.witness["assets"], 4_999.99).label == "潜力客户"
    assert rb.evaluate(comm.witness["assets"], 5_000).label == "普通客户"


def test_private_fund_gap_at_five_million_and_missing_potential_tier():
    fs = check(get_rulebook("private-fund"))
    assert _kinds(fs) == ["gap", "no_rule_output", "non_monotone"]
    gap = next(f for f in fs if f.kind == "gap")
    assert gap.witness["assets"] == 5_000_000 and gap.witness["fee"] < 10_000
    assert "潜力客户" in next(f for f in fs if f.kind == "no_rule_output").message


@pytest.mark.parametrize("rid", ["risk-class", "asset-turnover", "rfm-recency", "rfm-frequency",
                                 "rfm-monetary"])
def test_clean_tables_have_no_findings(rid):
    assert check(get_rulebook(rid)) == []


def _edited(tmp_path, monkeypatch, rid, old, new):
    d = tmp_path / rid
    shutil.copytree(DATA_DIR / rid, d)
    f = next(d.glob("2*.toml"))
    text = f.read_text(encoding="utf-8")
    assert old in text
    f.write_text(text.replace(old, new), encoding="utf-8")
    use_as_shipped(monkeypatch, tmp_path)
    return get_rulebook(rid)


def test_true_gap_without_catch_all(tmp_path, monkeypatch):
    rb = _edited(tmp_path, monkeypatch, "risk-class", "{ ge = 41, le = 75 }", "{ ge = 42, le = 75 }")
    fs = check(rb)
    assert _kinds(fs) == ["gap"]
    assert fs[0].witness == {"score": 41.0}


def test_overlap_under_unique_policy(tmp_path, monkeypatch):
    rb = _edited(tmp_path, monkeypatch, "risk-class", "{ ge = 41, le = 75 }", "{ ge = 40, le = 75 }")
    fs = check(rb)
    assert _kinds(fs) == ["overlap"]
    assert fs[0].witness == {"score": 40.0} and set(fs[0].rule_ids) == {"RISK-BAL", "RISK-CON"}


def test_masked_and_unreachable_rules(tmp_path, monkeypatch):
    rb = _edited(tmp_path, monkeypatch, "brokerage",
                 'text = "客户资产权益10万元（含）至25万元"\nwhen.assets = { ge = 100_000, lt = 250_000 }',
                 'text = "x"\nwhen.assets = { ge = 300_000, lt = 400_000 }')
    fs = check(rb)
    masked = [f for f in fs if f.kind == "masked"]
    assert len(masked) == 1 and masked[0].rule_ids == ("BRK-POT-1", "BRK-CORE-1")
    rb = _edited(tmp_path / "b", monkeypatch, "brokerage",
                 "when.assets = { gt = 10_000_000 }", "when.assets = { gt = 10, lt = 5 }")
    assert [f.rule_ids for f in check(rb) if f.kind == "unreachable"] == [("BRK-VIP-1",)]


def test_first_policy_overlap_that_hides_a_higher_tier(tmp_path, monkeypatch):
    # put a lower-tier rule first: where it overlaps a higher one, the order decides — a finding
    d = tmp_path / "risk-class"
    shutil.copytree(DATA_DIR / "risk-class", d)
    f = d / "2024.1.toml"
    t = f.read_text(encoding="utf-8").replace('hit_policy = "UNIQUE"', 'hit_policy = "FIRST"')
    t = t.replace("{ ge = 9, le = 40 }", "{ ge = 9, le = 80 }")
    head, rules_ = t.split("[[rules]]", 1)
    blocks = ["[[rules]]" + b for b in rules_.split("[[rules]]")]
    f.write_text(head + "".join(reversed(blocks)), encoding="utf-8")
    use_as_shipped(monkeypatch, tmp_path)
    fs = check(get_rulebook("risk-class"))
    assert "overlap" in _kinds(fs)
    assert "masked" in _kinds(fs)  # RISK-BAL (41–75) always loses to RISK-CON (9–80)


def test_version_ranges():
    base = versions("brokerage")[0]
    a = base.model_copy(update={"version": "a", "effective_to": dt.date(2024, 12, 31)})
    b = base.model_copy(update={"version": "b", "effective_from": dt.date(2025, 2, 1)})
    c = base.model_copy(update={"version": "c", "effective_from": dt.date(2025, 6, 1)})
    fs = check_versions([a, b, c])
    assert [f.kind for f in fs] == ["version_gap", "version_overlap"]
    assert fs[0].detail == {"from": "2025-01-01", "to": "2025-01-31"}
    assert fs[1].detail == {"date": "2025-06-01"}
    assert check_versions(versions("brokerage")) == []
