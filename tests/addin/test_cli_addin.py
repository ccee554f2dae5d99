"""``client-rating addin install``: Linux writes the file and says what it did not do; the
Windows path (platform and APPDATA faked) installs into XLSTART and lists the clicks."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from addin import cli_addin
from addin.cli import main


def _conf(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("xl/sharedStrings.xml").decode()


def test_help_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["addin", "install", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：client-rating addin install")
    assert "显示本帮助并退出" in out and "--dir 目录" in out and "XLSTART" in out


def test_addin_without_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["addin"]) == 2
    assert "install" in capsys.readouterr().out


def test_linux_writes_to_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_addin, "_platform", lambda: "linux")
    monkeypatch.chdir(tmp_path)
    assert main(["addin", "install"]) == 0
    path = tmp_path / "out" / "addin" / "client_rating.xlam"
    assert path.is_file()
    out = capsys.readouterr().out
    assert "已生成：out/addin/client_rating.xlam" in out
    assert "未安装" in out and "没有写入 Python 解释器路径" in out
    conf = _conf(path)
    assert "UDF Modules" in conf and "udfs" in conf and "Interpreter" not in conf

    assert main(["addin", "install", "--dir", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / "client_rating.xlam").is_file()


def test_windows_installs_into_xlstart(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    appdata = tmp_path / "AppData" / "Roaming"
    scripts = tmp_path / "venv" / "Scripts"
    scripts.mkdir(parents=True)
    (scripts / "python.exe").touch()
    (scripts / "pythonw.exe").touch()
    monkeypatch.setattr(cli_addin, "_platform", lambda: "win32")
    monkeypatch.setenv("APPDATA", str(appdata))
    monkeypatch.setattr(sys, "executable", str(scripts / "python.exe"))
    assert main(["addin", "install"]) == 0
    path = appdata / "Microsoft" / "Excel" / "XLSTART" / "client_rating.xlam"
    assert path.is_file()
    conf = _conf(path)
    assert "Interpreter_Win" in conf and str(scripts / "pythonw.exe") in conf  # no console
    out = capsys.readouterr().out
    assert f"已安装：{path}" in out
    for click in ("关闭所有 Excel 窗口，再打开 Excel", "“客户分级”选项卡", "启用内容",
                  "受信任位置", "信任对 VBA 工程对象模型的访问", "Trust access to the VBA project "
                  "object model", "导入函数", str(scripts / "pythonw.exe"),
                  "工作表函数已随加载项提供", "client-rating addin selftest"):
        assert click in out, click


def test_windows_without_appdata(monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli_addin, "_platform", lambda: "win32")
    monkeypatch.delenv("APPDATA", raising=False)
    assert main(["addin", "install"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("错误：") and "APPDATA" in err[0]


def test_file_in_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    def locked(*_a: object, **_k: object) -> Path:
        raise PermissionError(13, "in use")

    monkeypatch.setattr("addin.xlam.build_addin", locked)
    assert main(["addin", "install", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "请先关闭 Excel" in err[0]


def test_command_group_that_cannot_be_imported_is_noted_in_help(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A group whose module is missing, or whose dependency is, is left out and --help says
    so (not dropped silently, not a traceback); the other groups still work."""
    from addin import cli

    (tmp_path / "broken_group_i15.py").write_text("import not_installed_dependency_i15\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "COMMAND_MODULES",
                        (*cli.COMMAND_MODULES, "broken_group_i15", "addin.cli_not_built_i15"))
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "无法加载" in out and "broken_group_i15" in out and "not_installed_dependency_i15" in out
    assert "addin.cli_not_built_i15" in out
    assert "rerate" in out and "audit" in out  # the groups that load are still there
