"""The settings a rule look-up depends on (rules/settings.py) are cached, and a change still takes
effect: an edited firm parameter file or rulebook, another environment variable, another
rulebook argument, another day — through the Excel functions as a user calls them."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from rules import EXAMPLE_PARAMETERS, settings
from rules.functions import catalogue as fn
from rules.registry import DATA_DIR


class Clock:
    """``settings.clock`` under the test's hand: files are looked at again once it moved on."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def tick(self) -> None:
        self.now += settings.CHECK_SECONDS


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(settings, "clock", c)
    return c


def _edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_an_edited_firm_parameter_file_takes_effect(tmp_path, monkeypatch, clock):
    params = tmp_path / "params.toml"
    params.write_text(EXAMPLE_PARAMETERS.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("CLIENT_RATING_PARAMS", str(params))
    assert fn.CLIENT_TIER([[600_000.0]], [[6_000.0]], [["wealth"]]) == "黄金"  # ≥ 50万, ≥ 5,000
    _edit(params, "gold_assets = 500_000", "gold_assets = 1_000_000")  # the firm raises 黄金
    clock.tick()
    assert fn.CLIENT_TIER([[600_000.0]], [[6_000.0]], [["wealth"]]) == "普通"
    assert fn.CLIENT_TIER([[600_000.0], [1e6]], [[6_000.0], [6_000.0]], "wealth") == [
        ["普通"], ["黄金"]]  # the range path too


def test_an_edited_firm_rulebook_takes_effect(tmp_path, monkeypatch, clock):
    firm = tmp_path / "firm" / "brokerage"
    firm.mkdir(parents=True)
    text = (DATA_DIR / "brokerage" / "2009.1.toml").read_text(encoding="utf-8")
    version = text.replace('version = "2009.1"', 'version = "2026.1"').replace(
        "effective_from = 2009-01-01", "effective_from = 2026-01-01")
    monkeypatch.setenv("CLIENT_RATING_RULES_DIR", str(tmp_path / "firm"))
    before = fn.CLIENT_TIER(260_000.0, 0.0)  # (shipped 2009.1 only: 核心 from 25万)
    assert before == "核心客户"
    (firm / "2026.1.toml").write_text(version, encoding="utf-8")  # a version added …
    clock.tick()
    assert fn.RULES_VERSION().startswith("brokerage@2026.1，2026-01-01 至 今")
    _edit(firm / "2026.1.toml", "when.assets = { ge = 250_000, lt = 10_000_000 }",
          "when.assets = { ge = 300_000, lt = 10_000_000 }")  # … then edited: 核心 from 30万
    clock.tick()
    assert fn.CLIENT_TIER(260_000.0, 0.0) == "普通客户"  # (潜力 ends at 25万: the gap of the text)
    assert "≥ 300,000" in fn.TIER_EXPLAIN(300_000.0, 0.0)


def test_an_edited_regime_setting_takes_effect(tmp_path, monkeypatch, clock):
    params = tmp_path / "params.toml"
    params.write_text("[csrc-2017]\nvalid_years = 2\n", encoding="utf-8")
    monkeypatch.setenv("CLIENT_RATING_PARAMS", str(params))
    call = ([[55.0]], False, [[dt.datetime(2023, 6, 30)]], [[dt.datetime(2026, 6, 30)]])
    assert fn.INVESTOR_LEVEL(*call) == "测评过期"  # 3 years old, valid 2
    params.write_text("[csrc-2017]\nvalid_years = 4\n", encoding="utf-8")
    clock.tick()
    assert fn.INVESTOR_LEVEL(*call) == "C3"


def test_another_environment_or_rulebook_argument_takes_effect_at_once(tmp_path, monkeypatch):
    monkeypatch.delenv("CLIENT_RATING_PARAMS", raising=False)
    assert fn.CLIENT_TIER(600_000.0, 6_000.0, "wealth").startswith("#N/A 规则 wealth@2024.1 未设置阈值")
    monkeypatch.setenv("CLIENT_RATING_PARAMS", str(EXAMPLE_PARAMETERS))
    assert fn.CLIENT_TIER(600_000.0, 6_000.0, "wealth") == "黄金"  # no clock tick needed
    assert fn.CLIENT_TIER(600_000.0, 6_000.0, "财富") == "黄金"
    assert fn.CLIENT_TIER(600_000.0, 6_000.0, "brokerage") == "核心客户"
    assert fn.CLIENT_TIER(600_000.0, 6_000.0) == "核心客户"
    assert fn.CLIENT_TIER(600_000.0, 6_000.0, "私募") == "核心客户"
    monkeypatch.delenv("CLIENT_RATING_PARAMS")
    assert fn.CLIENT_TIER(600_000.0, 6_000.0, "wealth").startswith("#N/A")


def test_another_day_gives_another_snapshot(monkeypatch):
    s = settings.snapshot()
    assert settings.snapshot() is s  # the same settings: the same memo
    monkeypatch.setattr(s, "day_ends", 0.0)  # (midnight has passed)
    later = settings.snapshot()
    assert later is not s and later.today == dt.date.today() and later.memo == {}


def test_a_look_at_the_files_is_made_at_most_once_per_interval(monkeypatch, clock):
    looks = []
    real = settings.stamp
    monkeypatch.setattr(settings, "stamp", lambda *a: looks.append(a) or real(*a))
    monkeypatch.setenv("CLIENT_RATING_PARAMS", os.fspath(EXAMPLE_PARAMETERS))
    for _ in range(100):
        fn.CLIENT_TIER(600_000.0, 6_000.0, "wealth")
    assert len(looks) == 1  # the new environment
    clock.tick()
    for _ in range(100):
        fn.CLIENT_TIER(600_000.0, 6_000.0, "wealth")
    assert len(looks) == 2
