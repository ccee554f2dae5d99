"""A branch workbook for Calc (``client-rating calc template OUT.ods``): the template of
``workbook.template.new_workbook`` saved by a headless LibreOffice as .ods, its 控制台 buttons
push buttons bound to the macros of the installed extension (``uno_template.py`` does the UNO
part, under a Python that has LibreOffice's ``uno``). See docs/calc.md."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from rules.rerating import MODE_LABELS
from workbook.console import BUTTONS
from workbook.schema import WorkbookError
from workbook.template import new_workbook

SCRIPT = Path(__file__).with_name("uno_template.py")
#: the macro of ext/python/client_rating_button.py each 控制台 button runs
MACROS = {"quarterly": "rerate_quarterly", "annual": "rerate_annual",
          "new-accounts": "rerate_new_accounts", "audit": "audit"}


def macro_url(name: str, location: str = "user") -> str:
    """The script URL of a macro of the extension installed for the user (``user``) or for
    every user of the machine (``share``)."""
    return (f"vnd.sun.star.script:client_rating.oxt|python|client_rating_button.py${name}"
            f"?language=Python&location={location}:uno_packages")


def uno_python() -> str | None:
    """A Python that can ``import uno`` (Debian: the system's python3, package python3-uno)."""
    for cand in (sys.executable, "/usr/bin/python3", shutil.which("python3")):
        if cand and os.path.exists(cand):
            r = subprocess.run([cand, "-c", "import uno"], capture_output=True)
            if r.returncode == 0:
                return cand
    return None


def buttons(location: str = "user") -> list[dict[str, Any]]:
    """The 控制台 buttons (``workbook.console.BUTTONS``: caption, key) with their macros and the
    text of the cell beside them."""
    out = []
    for caption, key in BUTTONS:
        what = f"执行{MODE_LABELS[key]}（{key}），按左侧参数运行" if key in MODE_LABELS \
            else "审计检查（audit），结果写到“审计”工作表"
        out.append({"name": key, "caption": caption, "url": macro_url(MACROS[key], location),
                    "tip": what,
                    "note": f"点击左侧按钮：{what}（需已安装 LibreOffice 扩展 client_rating.oxt："
                            "client-rating calc install）"})
    return out


def make_template(out: str | os.PathLike[str], rulebook: str = "brokerage",
                  clients: Iterable[Mapping[str, Any]] | None = None, *,
                  location: str = "user") -> Path:
    """Write the Calc workbook ``out`` (.ods): the branch template, buttons bound."""
    out = Path(out).resolve()
    if out.suffix.lower() != ".ods":
        raise WorkbookError(f"Calc 工作簿须为 .ods 文件（按钮的宏绑定只在 .ods 中保存）：{out.name}")
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    python = uno_python()
    if soffice is None or python is None:
        raise WorkbookError("需要 LibreOffice（soffice）及其 Python 模块 uno（python3-uno）。")
    with tempfile.TemporaryDirectory(prefix="client-rating-ods-") as tmp:
        src = new_workbook(Path(tmp) / "branch.xlsx", rulebook, clients)
        places = _caption_cells(src)
        wanted = [dict(b, row=places[b["caption"]][0], col=places[b["caption"]][1])
                  for b in buttons(location) if b["caption"] in places]
        req = Path(tmp) / "request.json"
        req.write_text(json.dumps({
            "soffice": soffice, "profile_url": (Path(tmp) / "profile").as_uri(),
            "pipe": f"client_rating_tpl_{uuid.uuid4().hex[:12]}", "input": str(src),
            "output": str(out), "sheet": "控制台", "buttons": wanted}, ensure_ascii=False),
            encoding="utf-8")
        r = subprocess.run([python, str(SCRIPT), str(req)], capture_output=True, text=True,
                           timeout=300)
        if r.returncode != 0 or not out.exists():
            raise WorkbookError(f"LibreOffice 未能生成 {out.name}：{r.stderr.strip()[-500:]}")
    return out


def _caption_cells(path: Path) -> dict[str, tuple[int, int]]:
    """Where the template wrote each button caption on 控制台 (0-based row, column)."""
    from workbook.xlsxio import read_sheet

    d = read_sheet(path, "控制台")
    captions = {c for c, _k in BUTTONS}
    return {str(d.value(r, c)): (r - 1, c - 1) for r in range(1, d.n_rows + 1)
            for c in range(1, d.n_cols + 1) if d.value(r, c) in captions}
