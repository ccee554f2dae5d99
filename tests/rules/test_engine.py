"""Scalar and vectorised evaluation agree; versions are chosen by date; bad files are named."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shipped_rules import use_as_shipped

import rules
import rules.registry
from rules import RulebookError, RuleInputError, get_rulebook, load_file, version_in_force
from rules.registry import DATA_DIR

PARAMS = {"wealth": rules.load_parameter_file(rules.EXAMPLE_PARAMETERS)["wealth"]}
IDS = rules.rulebook_ids()


def _rulebook(rid):
    return get_rulebook(rid, dt.date(2026, 12, 31), PARAMS.get(rid))


def _boundaries(rb, k):
    """Every bound of input k, and ± 0.01 (± 1 for integers) around it."""
    step = 1 if rb.inputs[k].integer else 0.01
    out = {0.0}
    for r in rb.rules:
        for c in r.conds:
            if c.index == k:
                for b in (c.lo, c.hi):
                    if np.isfinite(b):
                        out |= {b - step, b, b + step}
    return sorted(out)


def _scalar(rb, row):
    try:
        d = rb.evaluate(*row)
        return d.label, d.rule_id, d.reason
    except RuleInputError as e:
        return None, None, e.message


def _batch(rb, rows):
    cols = [np.array([r[k] for r in rows], dtype=float) for k in range(len(rb.inputs))]
    b = rb.evaluate_many(cols)
    reasons = b.reasons()
    # the rule-by-rule formatter gives each row's own reason, for any subset and order of rows
    assert reasons == [b.reason(i) for i in range(len(rows))]
    assert b.reasons(list(range(len(rows)))[::-2]) == reasons[::-2]
    return [(b.labels[i], b.rule_ids[i], reasons[i]) for i in range(len(rows))]


@pytest.mark.parametrize("rid", IDS)
def test_scalar_and_vector_agree_on_every_boundary_grid(rid):
    rb = _rulebook(rid)
    axes = [_boundaries(rb, k) for k in range(len(rb.inputs))]
    rows = [tuple(p) for p in np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(axes), -1).T]
    assert _batch(rb, rows) == [_scalar(rb, r) for r in rows]


@st.composite
def _rows(draw, rb):
    n = draw(st.integers(1, 30))
    rows = []
    for _ in range(n):
        row = []
        for k, spec in enumerate(rb.inputs):
            near = _boundaries(rb, k)
            v = draw(st.one_of(
                st.sampled_from(near),
                st.floats(min_value=-10, max_value=2e7),
                st.sampled_from([np.nan, np.inf, -np.inf]),
                st.integers(min_value=-5, max_value=200).map(float)))
            row.append(float(round(v)) if spec.integer and draw(st.booleans()) and np.isfinite(v) else v)
        rows.append(tuple(row))
    return rows


@pytest.mark.parametrize("rid", IDS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_scalar_and_vector_agree_property(rid, data):
    rb = _rulebook(rid)
    rows = data.draw(_rows(rb))
    assert _batch(rb, rows) == [_scalar(rb, r) for r in rows]


def test_batch_rejects_rows_and_keeps_others():
    rb = _rulebook("brokerage")
    b = rb.evaluate_many({"assets": [300_000, -5, np.nan, 20_000_000],
                          "commission": [0, 0, 0, np.inf]})
    assert list(b.labels) == ["核心客户", None, None, None]
    assert b.errors[1].message == "资产权益不能为负数：-5"
    assert b.errors[2].message == "资产权益不是有效数字：NaN"
    assert b.errors[3].message == "上年度净佣金不是有限数字：无穷大"
    assert list(b.ok) == [True, False, False, False]


def test_batch_names_non_numeric_values():
    b = _rulebook("brokerage").evaluate_many([np.array([1.0, "abc", None], dtype=object),
                                              np.zeros(3)])
    assert b.errors[1].message == "资产权益不是数字：'abc'"
    assert b.errors[2].message == "资产权益为空"


def _copy_rulebook(tmp_path: Path, rid: str) -> Path:
    d = tmp_path / rid
    shutil.copytree(DATA_DIR / rid, d)
    return d


def test_version_in_force_is_chosen_by_date(tmp_path, monkeypatch):
    d = _copy_rulebook(tmp_path, "brokerage")
    text = (d / "2009.1.toml").read_text(encoding="utf-8")
    (d / "2009.1.toml").write_text(text.replace("effective_from = 2009-01-01",
                                                "effective_from = 2009-01-01\neffective_to = 2025-12-31"),
                                   encoding="utf-8")
    new = text.replace('version = "2009.1"', 'version = "2026.1"').replace(
        "effective_from = 2009-01-01", "effective_from = 2026-01-01").replace(
        "when.assets = { ge = 250_000, lt = 10_000_000 }", "when.assets = { ge = 300_000, lt = 10_000_000 }")
    (d / "2026.1.toml").write_text(new, encoding="utf-8")
    use_as_shipped(monkeypatch, tmp_path)
    d25 = get_rulebook("brokerage", dt.date(2025, 12, 31)).evaluate(299_999, 0)
    assert (d25.label, d25.rulebook_ref) == ("核心客户", "brokerage@2009.1")
    # 2026.1 moves 核心's lower bound to 300,000: 299,999 is then neither 核心 nor 潜力 (< 250,000)
    d26 = get_rulebook("brokerage", dt.date(2026, 12, 31)).evaluate(299_999, 0)
    assert (d26.label, d26.rulebook_ref) == ("普通客户", "brokerage@2026.1")
    with pytest.raises(RuleInputError, match="2008-12-31 没有生效的版本"):
        version_in_force("brokerage", dt.date(2008, 12, 31))


def test_malformed_file_names_file_rule_and_field(tmp_path):
    src = (DATA_DIR / "brokerage" / "2009.1.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(src.replace("when.assets = { ge = 250_000, lt = 10_000_000 }",
                               "when.assets = { ge = 250_000, gt = 1, lt = 10_000_000 }"), encoding="utf-8")
    with pytest.raises(RulebookError) as e:
        load_file(bad)
    msg = str(e.value)
    assert str(bad) in msg and "规则 BRK-CORE-1" in msg and "when.assets" in msg
    bad.write_text(src.replace('output = "潜力客户"\ntext = "客户资产权益10万元',
                               'output = "潜力"\ntext = "客户资产权益10万元'), encoding="utf-8")
    with pytest.raises(RulebookError, match="BRK-POT-1 的输出 '潜力' 不在 outputs 中"):
        load_file(bad)
    bad.write_text(src.replace('version = "2009.1"', ""), encoding="utf-8")
    with pytest.raises(RulebookError, match="字段 version"):
        load_file(bad)
    bad.write_text("id = [", encoding="utf-8")
    with pytest.raises(RulebookError, match="无法读取"):
        load_file(bad)


def test_unique_policy_reports_overlap_instead_of_choosing(tmp_path, monkeypatch):
    d = _copy_rulebook(tmp_path, "risk-class")
    f = d / "2024.1.toml"
    f.write_text(f.read_text(encoding="utf-8").replace("{ ge = 41, le = 75 }", "{ ge = 40, le = 75 }"),
                 encoding="utf-8")
    use_as_shipped(monkeypatch, tmp_path)
    rb = get_rulebook("risk-class")
    with pytest.raises(RuleInputError, match="RISK-BAL、RISK-CON 重叠"):
        rb.evaluate(40)
    b = rb.evaluate_many([np.array([40.0, 41.0])])
    assert list(b.labels) == [None, "稳健型"]
    assert "重叠" in b.errors[0].message


@pytest.mark.parametrize("policy", ["UNIQUE", "ANY"])
def test_unique_refuses_any_overlap_any_only_a_disagreeing_one(policy: str) -> None:
    """UNIQUE (as the verifier reads it): a value matched by two rules is an error even when
    they give the same tier; ANY accepts agreeing rules. Scalar and vectorised paths agree."""
    import tomllib

    from rules.engine import Rulebook as Compiled
    from rules.model import RulebookFile

    raw = tomllib.loads((DATA_DIR / "rfm-recency" / "2024.1.toml").read_text(encoding="utf-8"))
    raw["hit_policy"] = policy
    # a second rule for "5" overlapping RFM-R5 on 5..7 days, same output
    raw["rules"].append({"id": "RFM-R5-DUP", "output": "5", "when": {"days": {"ge": 5, "le": 7}}})
    rb = Compiled(RulebookFile.model_validate(raw), {}, None)
    assert rb.evaluate(3).label == "5"
    batch = rb.evaluate_many([np.array([3.0, 6.0])])
    if policy == "UNIQUE":
        with pytest.raises(RuleInputError, match=r"RFM-R5.*RFM-R5-DUP.*UNIQUE"):
            rb.evaluate(6)
        assert set(batch.errors) == {1} and "UNIQUE" in batch.errors[1].message
    else:
        assert rb.evaluate(6).label == "5"
        assert batch.errors == {}
