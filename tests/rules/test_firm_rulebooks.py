"""A firm's rulebook directory (CLIENT_RATING_RULES_DIR): it adds versions, never silently
replaces one; a version that a later one supersedes says until when it was in force."""

from __future__ import annotations

import datetime as dt
import os

import pytest

import udfs
from addin.cli import main
from rules import RulebookError, get_rulebook, in_force_until, version_in_force
from rules.registry import DATA_DIR

SHIPPED = DATA_DIR / "brokerage" / "2009.1.toml"


def _firm_dir(tmp_path, monkeypatch, name: str, text: str):
    d = tmp_path / "firm" / "brokerage"
    d.mkdir(parents=True)
    (d / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("CLIENT_RATING_RULES_DIR", str(tmp_path / "firm"))
    return d / name


def test_a_firm_file_with_a_shipped_id_and_version_is_refused_naming_both(tmp_path, monkeypatch,
                                                                          capsys):
    text = SHIPPED.read_text(encoding="utf-8").replace(
        "when.assets = { ge = 250_000, lt = 10_000_000 }",
        "when.assets = { ge = 200_000, lt = 10_000_000 }")
    firm = _firm_dir(tmp_path, monkeypatch, "2009.1.toml", text)
    with pytest.raises(RulebookError) as e:
        get_rulebook("brokerage")
    msg = str(e.value)
    assert str(firm) in msg and str(SHIPPED) in msg and "brokerage@2009.1" in msg
    assert "新的版本号" in msg
    # never a tier computed by the firm's 200,000 under the shipped name
    assert udfs.CLIENT_TIER(220_000, 0).startswith("#N/A 规则 brokerage@2009.1 有两个内容不同的文件：")
    assert main(["rules", "list"]) == 1
    assert str(firm) in capsys.readouterr().err


def test_a_plain_copy_of_a_shipped_file_is_no_replacement(tmp_path, monkeypatch, capsys):
    _firm_dir(tmp_path, monkeypatch, "2009.1.toml", SHIPPED.read_text(encoding="utf-8"))
    _, path = version_in_force("brokerage", get_rulebook().effective_from)
    assert path == SHIPPED
    assert main(["rules", "list"]) == 0
    assert "公司文件" not in capsys.readouterr().out


def test_a_superseded_version_says_until_when_and_by_what(tmp_path, monkeypatch, capsys):
    new = SHIPPED.read_text(encoding="utf-8").replace('version = "2009.1"', 'version = "2026.1"') \
        .replace("effective_from = 2009-01-01", "effective_from = 2026-01-01")
    firm = _firm_dir(tmp_path, monkeypatch, "2026.1.toml", new)
    old, _ = version_in_force("brokerage", dt.date(2025, 6, 30))
    until, successor = in_force_until(old)
    assert (str(until), successor.version) == ("2025-12-31", "2026.1")
    assert udfs.RULES_VERSION("brokerage", "2025-06-30") == (
        "brokerage@2009.1，2009-01-01 至 2025-12-31 有效（2026-01-01 起由 brokerage@2026.1 取代）")
    assert udfs.RULES_VERSION("brokerage", "2026-06-30") == "brokerage@2026.1，2026-01-01 至 今 有效"
    assert main(["rules", "list"]) == 0
    out = capsys.readouterr().out.replace("\n", "")
    assert "2009-01-01–2025-12-31" in out and "2026-01-01 起由 2026.1 取代" in out
    assert "公司文件" in out and firm.parent.parent.name in out
    assert main(["rules", "show", "brokerage", "--as-of", "2025-06-30"]) == 0
    assert "2009-01-01 – 2025-12-31（2026-01-01 起由 2026.1 取代）" in capsys.readouterr().out


def test_two_firm_directories_with_the_same_version_are_refused(tmp_path, monkeypatch):
    new = SHIPPED.read_text(encoding="utf-8").replace('version = "2009.1"', 'version = "2026.1"') \
        .replace("effective_from = 2009-01-01", "effective_from = 2026-01-01")
    for name, t in (("a", new), ("b", new.replace('title = "', 'title = "B '))):
        (tmp_path / name / "brokerage").mkdir(parents=True)
        (tmp_path / name / "brokerage" / "2026.1.toml").write_text(t, encoding="utf-8")
    monkeypatch.setenv("CLIENT_RATING_RULES_DIR",
                       os.pathsep.join(str(tmp_path / n) for n in ("a", "b")))
    with pytest.raises(RulebookError, match=r"brokerage@2026\.1 有两个内容不同的文件"):
        get_rulebook("brokerage")
