"""``client-rating calc install``: the .oxt it builds (no LibreOffice needed), and how the
extension finds the project's environment — or says in every cell that it cannot."""

from __future__ import annotations

import importlib.util
import json
import sys
import zipfile
from pathlib import Path

from addin.calc.build import EXT, PROJECT_ROOT
from addin.cli import main


def test_build_only_writes_an_extension_that_records_this_environment(tmp_path: Path) -> None:
    assert main(["calc", "install", "--out", str(tmp_path), "--build-only"]) == 0
    with zipfile.ZipFile(tmp_path / "client_rating.oxt") as z:
        names = set(z.namelist())
        manifest = z.read("META-INF/manifest.xml").decode()
        env = json.loads(z.read("env.json"))
        fns = json.loads(z.read("functions.json"))
    assert {"META-INF/manifest.xml", "description.xml", "XClientRating.rdb", "Addons.xcu",
            "client_rating_calc.py", "python/client_rating_button.py",
            "pythonpath/client_rating_env.py"} <= names
    for entry in ("XClientRating.rdb", "client_rating_calc.py", "Addons.xcu", "python/"):
        assert f'manifest:full-path="{entry}"' in manifest
    assert env["paths"] == [str(PROJECT_ROOT)]
    assert env["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    tier = next(f for f in fns if f["name"] == "CLIENT_TIER")
    assert tier["description"].startswith("客户级别")
    assert [p["name"] for p in tier["params"]] == ["assets", "revenue", "rulebook"]
    assert tier["params"][2]["optional"] and "资产" in tier["params"][0]["doc"]


def _env_module():  # the extension's own module, as LibreOffice's Python loads it
    spec = importlib.util.spec_from_file_location(
        "client_rating_env_test", EXT / "pythonpath" / "client_rating_env.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_machine_without_the_environment_gets_a_message_not_a_traceback(tmp_path: Path) -> None:
    env = _env_module()
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "env.json").write_text(json.dumps(
        {"python": f"{sys.version_info.major}.{sys.version_info.minor}",
         "paths": ["/nonexistent/client-rating"], "site_packages": []}), encoding="utf-8")
    assert "/nonexistent/client-rating 不存在" in env.activate(str(tmp_path / "gone"))
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "env.json").write_text(json.dumps({"python": "3.9"}), encoding="utf-8")
    assert "项目环境的 Python 为 3.9" in env.activate(str(tmp_path / "old"))
    assert "没有 env.json" in env.activate(str(tmp_path / "nowhere"))


def test_the_shipped_type_library_is_what_unoidl_write_makes_of_the_idl(tmp_path: Path) -> None:
    import pytest

    from addin.calc import build

    if build.unoidl_write() is None or not (build._office_program() / "types.rdb").exists():
        pytest.skip("unoidl-write (libreoffice-dev) is not installed")
    out = tmp_path / "XClientRating.rdb"
    build.build_rdb((EXT / "XClientRating.idl").read_text(encoding="utf-8"), out)
    assert out.read_bytes() == (EXT / "XClientRating.rdb").read_bytes()
