"""``client-rating addin selftest``: its checks run here against the test engine (memxl: an
in-memory Excel under xlwings' own Book/Sheet/Range/App), with an add-in whose functions are
the catalogue's Python and whose macros run the buttons' Python strings as RunPython would.
Where no Excel can be started the command says so and exits 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from unittest import mock

import pytest
import xlwings as xw

sys.path.insert(0, str(Path(__file__).parent))

import memxl

import udfs
from addin import cli, cli_addin, excel, selftest
from addin.buttons import ADDIN_BUILD, ADDIN_FILENAME, BUTTONS

N_CLIENTS, N_ROWS = 1000, 10_000  # the command's defaults


@pytest.fixture(autouse=True)
def _engine():
    """memxl as xlwings' active engine (Book.activate asks xlwings for the active app)."""
    with memxl.activate():
        yield


def _button_macro(app: xw.App, python: str):
    def run() -> None:  # RunPython: the Python string, xw.Book.caller() = the active book
        with mock.patch.object(excel, "caller", lambda: app.books.active):
            exec(python, {})
    return run


def _excel_with_addin(functions=None, macros=None) -> xw.App:
    app = memxl.new_book({"Sheet1": []}).app
    fns = {n: getattr(udfs, n) for n in udfs.__all__}
    ms = {"ClientRatingPing": lambda: f"client-rating {ADDIN_FILENAME} {ADDIN_BUILD}"}
    ms.update({b.macro: _button_macro(app, b.python) for b in BUTTONS if b.python})
    memxl.load_addin(app, ADDIN_FILENAME, functions={**fns, **(functions or {})},
                     macros={**ms, **(macros or {})})
    return app


def _run(app: xw.App, tmp_path: Path) -> selftest.Report:
    return selftest.run_checks(selftest.Run(app, tmp_path, n_clients=N_CLIENTS, n_rows=N_ROWS))


def test_every_check_passes_on_a_good_install(tmp_path: Path) -> None:
    report = _run(_excel_with_addin(), tmp_path)
    got = {c.key: (c.status, c.detail, c.problems) for c in report.checks}
    assert [c.key for c in report.checks] == ["addin", "functions", "buttons", "save", "array"]
    assert all(c.status == selftest.OK for c in report.checks), got
    assert report.ok
    assert got["functions"][1] == f"{len(udfs.__all__)} 个函数全部一致"
    assert "季度、年度、新开户、按控制台设置运行、审计检查" in got["buttons"][1]
    assert f"{N_ROWS:,} 行一次计算" in got["array"][1]
    j, t = selftest.write_report(report, tmp_path / "out")
    data = json.loads(j.read_text("utf-8"))
    assert data["ok"] is True and data["checks"][0]["key"] == "addin"
    assert "结论：全部通过" in t.read_text("utf-8")


def test_no_addin_fails_plainly_and_skips_the_rest(tmp_path: Path) -> None:
    app = memxl.new_book({"Sheet1": []}).app
    report = _run(app, tmp_path)
    first, *rest = report.checks
    assert first.status == selftest.FAILED and "client-rating addin install" in first.detail
    assert {c.status for c in rest} == {selftest.SKIPPED}
    assert not report.ok and "有检查未通过" in report.text()


def test_an_old_addin_build_is_named(tmp_path: Path) -> None:
    app = _excel_with_addin(macros={"ClientRatingPing": lambda: "client-rating x build 1"})
    report = selftest.run_checks(selftest.Run(app, tmp_path), checks=(selftest.check_addin,))
    assert report.checks[0].status == selftest.FAILED
    assert "重新运行 client-rating addin install" in report.checks[0].detail


def test_a_function_excel_computes_differently_is_named(tmp_path: Path) -> None:
    app = _excel_with_addin(functions={"CLIENT_TIER": lambda *a: "VIP客户"})
    report = selftest.run_checks(selftest.Run(app, tmp_path, n_rows=50),
                                 checks=(selftest.check_addin, selftest.check_functions,
                                         selftest.check_array))
    _, fns, arr = report.checks
    assert fns.status == selftest.FAILED and fns.problems[0].startswith("CLIENT_TIER：")
    assert len(fns.problems) == 1
    assert arr.status == selftest.FAILED


def test_a_button_whose_result_differs_from_the_job_is_named(tmp_path: Path) -> None:
    app = _excel_with_addin()
    good = app.impl.macros[f"'{ADDIN_FILENAME}'!ClientRatingQuarterly"]

    def wrong() -> None:  # a stale add-in: the run, then one cell typed over
        good()
        app.books.active.sheets["客户"].range("N2").value = "VIP客户"

    memxl.load_addin(app, "other.xlam")  # (a second add-in does not disturb the lookup)
    app.impl.macros[f"'{ADDIN_FILENAME}'!ClientRatingQuarterly"] = wrong
    report = selftest.run_checks(selftest.Run(app, tmp_path, n_clients=40),
                                 checks=(selftest.check_addin, selftest.check_buttons))
    buttons = report.checks[1]
    assert buttons.status == selftest.FAILED
    assert any("客户!N2：Excel 'VIP客户'" in p for p in buttons.problems), buttons.problems[:3]


def test_the_buttons_show_no_message_box_while_excel_alerts_are_off(tmp_path: Path) -> None:
    app = _excel_with_addin()
    report = selftest.run_checks(selftest.Run(app, tmp_path, n_clients=40),
                                 checks=(selftest.check_addin, selftest.check_buttons))
    assert report.checks[1].status == selftest.OK
    assert memxl.alerts(app) == []
    assert app.display_alerts is True  # put back


def test_no_excel_here_exits_2_with_a_plain_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["addin", "selftest"]) == 2
    err = capsys.readouterr().err
    assert "无法自检" in err and "没有 Microsoft Excel" in err and "Traceback" not in err


def test_windows_without_excel_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    addin = tmp_path / ADDIN_FILENAME
    addin.write_bytes(b"x")
    monkeypatch.setattr(cli_addin, "_platform", lambda: "win32")
    monkeypatch.setattr(selftest.sys, "platform", "win32")

    def no_excel(*a, **k):
        raise OSError("Invalid class string")  # what COM says when Excel is not installed

    monkeypatch.setattr(xw, "App", no_excel)
    assert cli.main(["addin", "selftest", "--addin", str(addin)]) == 2
    err = capsys.readouterr().err
    assert "无法启动 Excel" in err and "Invalid class string" in err


def test_windows_without_the_addin_file_says_to_install(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli_addin, "_platform", lambda: "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path))
    assert cli.main(["addin", "selftest"]) == 1
    assert "client-rating addin install" in capsys.readouterr().err


def test_the_ribbon_entry_runs_the_checks_in_its_excel(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    app = _excel_with_addin()
    caller = app.books.active
    monkeypatch.setattr(excel, "caller", lambda: caller)
    selftest.selftest_button(n_clients=200, n_rows=2_000)
    _title, prompt, _, mode = memxl.alerts(app)[-1]
    assert prompt.startswith("自检全部通过") and mode == "info"
    assert "client-rating-selftest.json" in prompt
    report = json.loads((tmp_path / "client-rating-selftest.json").read_text("utf-8"))
    assert report["ok"] and "直接调用按钮的 Python" in report["how_macros_run"]
    sheet = app.books.active.sheets["自检"]
    lines = [r[0] or "" for r in memxl.to_rows(sheet)]
    assert lines[1] == "结论：全部通过"
    assert sum(line.startswith("[通过]") for line in lines) == 5
