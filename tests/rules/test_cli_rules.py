"""``client-rating rules list/show/check`` as a user runs them."""

from __future__ import annotations

import json

from addin.cli import main


def test_rules_list_shows_every_rulebook(capsys):
    assert main(["rules", "list"]) == 0
    out = capsys.readouterr().out
    for rid in ("brokerage", "private-fund", "risk-class", "asset-turnover", "wealth", "rfm-recency"):
        assert rid in out
    assert "需公司参数" in out  # wealth


def test_rules_show_prints_the_parameter_table(capsys):
    assert main(["rules", "show", "brokerage"]) == 0
    out = capsys.readouterr().out
    assert "brokerage@2009.1" in out and "BRK-CORE-2" in out and "资产权益 > 10,000,000" in out


def test_rules_show_wealth_without_parameters_fails_clearly(capsys):
    assert main(["rules", "show", "wealth"]) == 1
    err = capsys.readouterr().err
    assert "未设置阈值" in err and "diamond_assets = …   # 钻石级客户资产规模下限（元）" in err


def test_rules_check_reports_the_literal_gaps(capsys):
    assert main(["rules", "check", "--rulebook", "brokerage", "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)
    gap = next(f for f in findings if f["kind"] == "gap")
    assert gap["witness"] == {"assets": 10_000_000, "commission": 0}
    assert main(["rules", "check", "--rulebook", "risk-class"]) == 0
    assert "未发现问题" in capsys.readouterr().out


def test_unknown_rulebook_is_a_clear_error(capsys):
    assert main(["rules", "show", "nope"]) == 1
    assert "未知的规则：'nope'" in capsys.readouterr().err
