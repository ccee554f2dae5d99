"""Which workbook of a folder is which 营业部's (``push-branches --workbooks DIR``).

A branch workbook is matched by what it holds: the 营业部 column of its 客户 sheet. Every
client row of a branch's workbook names its 营业部 (the template's column 营业部, or
``branch``), so a workbook whose non-empty 营业部 cells all name one branch is that branch's —
whatever the file is called. A workbook without a 营业部 column, or with the column empty, is
matched by its file name (``杭州解放路营业部.xlsx``: the name without its extension, trimmed).
A workbook naming several 营业部, a file that cannot be read, and a branch matched by two
workbooks are refused: nothing of them is written, and the report says why, in Chinese.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..schema import CLIENT_SHEET_NAMES, WorkbookError, column_map, pick_sheet

SUFFIXES = (".xlsx", ".xlsm")
_SHOWN = 5


def branch_key(name: str) -> str:
    """A 营业部 name as compared: NFKC, no spaces (full-width and half-width alike)."""
    return "".join(unicodedata.normalize("NFKC", name).split())


@dataclass
class Matches:
    """营业部 key -> its workbook; the workbooks refused (path -> why)."""

    by_branch: dict[str, Path] = field(default_factory=dict)
    refused: dict[Path, str] = field(default_factory=dict)
    #: 营业部 key -> why it has no workbook although files point at it (two files name it)
    ambiguous: dict[str, str] = field(default_factory=dict)
    #: workbook -> the 营业部 its 客户 rows name (``branches_in``)
    names: dict[Path, set[str]] = field(default_factory=dict)


def workbook_files(folder: Path) -> list[Path]:
    """The .xlsx/.xlsm files of ``folder`` (not Excel's lock files ``~$…``, not hidden ones)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES
                  and not p.name.startswith(("~$", ".")))


def branches_in(path: Path) -> set[str]:
    """The 营业部 the 客户 sheet's rows name (trimmed, non-empty); WorkbookError or XlsxError
    (Chinese) when the file or its 客户 sheet cannot be read."""
    from ..source import FileSource

    src = FileSource(path)
    sheet = pick_sheet(src.sheet_names(), CLIENT_SHEET_NAMES)
    if sheet is None:
        raise WorkbookError("没有“客户”工作表")

    def pick(header: list[str]) -> list[int]:
        c = column_map(header).get("branch")
        return [] if c is None else [c]

    data = src.read_sheet(sheet, columns=pick)
    c = column_map([h.strip() for h in data.header]).get("branch")
    if c is None or c > data.n_cols:
        return set()
    return {str(v).strip() for v in data.columns[c - 1] if v is not None and str(v).strip()}


def match_workbooks(folder: str | os.PathLike[str],
                    known: dict[str, set[str]] | None = None) -> Matches:
    """Match every workbook of ``folder`` to its 营业部 (see module doc); ``known``: file
    name -> the 营业部 of a workbook known unchanged since they were read (``state``)."""
    from ..xlsxio import XlsxError

    out = Matches()
    found: dict[str, list[Path]] = {}
    for p in workbook_files(Path(folder)):
        try:
            names = set(known[p.name]) if known and p.name in known else branches_in(p)
        except (WorkbookError, XlsxError, OSError) as e:
            out.refused[p] = f"无法读取：{getattr(e, 'message', None) or e}"
            continue
        out.names[p] = set(names)
        if len(names) > 1:
            shown = "、".join(sorted(names)[:_SHOWN]) + ("等" if len(names) > _SHOWN else "")
            out.refused[p] = (f"“客户”工作表的“营业部”列含 {len(names)} 个营业部（{shown}），"
                              "无法确定属于哪个营业部，未写入：请按营业部拆分工作簿")
            continue
        key = branch_key(names.pop() if names else p.stem)
        found.setdefault(key, []).append(p)
    for key, paths in found.items():
        if len(paths) == 1:
            out.by_branch[key] = paths[0]
            continue
        files = "、".join(q.name for q in paths)
        out.ambiguous[key] = f"对应多个工作簿（{files}），无法确定写入哪一个，均未写入"
        for q in paths:
            out.refused[q] = f"与 {files} 属于同一营业部，未写入"
    return out
