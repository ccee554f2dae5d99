"""``push_branches``: the head office's decisions into each branch's workbook
(docs/headoffice.md, "Back to the branches").

For each 营业部 of the decisions: its workbook in the folder (``match``), the plan
(``plan.plan_push``) and one atomic write through the workbook job's own ``write_plan``
(changed cells only, 变更记录 appended, 汇总 refreshed, every other part byte for byte). A
decided client the workbook does not hold is added as a row taken from the extract
(``--extract``) in the same write: the rows are first appended into a temporary copy, the
push planned on it, and the copy patched into the workbook's own path — the workbook is
replaced once, complete, or not at all. A branch without a workbook gets one made from the
template (``--template``) with its clients. Each workbook stands alone: one that cannot be
written (open in Excel, read-only, ambiguous) is reported and left as it was, the others are
written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules import RuleError

from ..job import read_book, write_plan
from ..schema import WorkbookError
from ..xlsxio import SheetEdit, XlsxError, check_safe, patch_workbook
from . import state
from .decisions import NO_BRANCH, Decisions, open_decisions
from .extract import extract_rows, place
from .match import branch_key, match_workbooks
from .plan import PushPlan, plan_push

UPDATED, CREATED, NOOP, DRY, FAILED, SKIPPED = "已更新", "已新建", "无需更改", "试运行", "未写入", "未处理"
_LIST = 20  # clients listed per kind in the report (the counts are whole)


@dataclass
class BranchReport:
    """What a push did to one branch's workbook."""

    branch: str
    workbook: str = ""
    status: str = SKIPPED
    message: str = ""
    decided: int = 0  # clients of the branch in the decisions
    written: int = 0  # of them, rated in the workbook with the decision
    changed: int = 0  # 变更 rows (tier or risk class changed, 特别调整, 保留…)
    cells: int = 0
    added: list[str] = field(default_factory=list)
    not_in_workbook: list[str] = field(default_factory=list)  # decided, not added
    not_decided: list[str] = field(default_factory=list)  # in the workbook, untouched
    conflicts: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # the workbook's rows it rejects
    overridden: list[str] = field(default_factory=list)  # 特别调整 in force kept
    current: list[str] = field(default_factory=list)  # showing the decision already
    warnings: list[str] = field(default_factory=list)  # the run's (overrides, the log…)
    run_id: str = ""
    exit_code: int = 0

    def as_json(self) -> dict[str, Any]:
        def cut(xs: list[str]) -> dict[str, Any]:
            return {"数量": len(xs), "列举": xs[:_LIST]}

        return {"营业部": self.branch, "工作簿": self.workbook, "状态": self.status,
                "说明": self.message, "决定客户数": self.decided, "写入客户数": self.written,
                "变更记录行": self.changed, "修改单元格": self.cells, "运行编号": self.run_id,
                "新增客户": cut(self.added), "工作簿中没有（未添加）": cut(self.not_in_workbook),
                "不在决定中（未改动）": cut(self.not_decided), "与总部不符（未写入）": cut(self.conflicts),
                "拒绝": cut(self.rejected), "特别调整优先": cut(self.overridden),
                "已与决定一致（未改动）": cut(self.current), "警告": self.warnings}


@dataclass
class PushReport:
    decisions: Decisions
    branches: list[BranchReport]
    refused: dict[str, str]  # workbook path -> why (not matched to any branch of the decisions)

    @property
    def exit_code(self) -> int:
        """1: a branch not written at all; 3: written, but some clients not; 0: all done."""
        codes = {b.exit_code for b in self.branches} | ({1} if self.refused else set())
        return 1 if 1 in codes else 3 if 3 in codes else 0

    def as_json(self) -> dict[str, Any]:
        d = self.decisions
        return {"决定文件": os.fspath(d.path), "sha256": d.digest, "总部运行": d.run_id,
                "评级期间": d.period, "模式": d.mode, "规则版本": d.rulebook_ref,
                "营业部": [b.as_json() for b in self.branches],
                "未匹配的工作簿": self.refused, "退出码": self.exit_code}


@dataclass
class Options:
    operator: str
    now: dt.datetime | None = None
    force: bool = False
    dry_run: bool = False
    template: bool = False
    extract: str | os.PathLike[str] | None = None
    #: workbook file name -> what is remembered of it (``state``: a repeat decided unread),
    #: of them those still as remembered (-> identity when hashed), the 营业部 each names
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    fresh: dict[str, tuple[int, int]] = field(default_factory=dict)
    names: dict[str, set[str]] = field(default_factory=dict)
    unread_noop: bool = False  # (the settings a push of the decisions checks first are good)


def push_branches(decisions: str | os.PathLike[str], workbooks: str | os.PathLike[str], *,
                  operator: str, now: dt.datetime | None = None, force: bool = False,
                  dry_run: bool = False, template: bool = False,
                  extract: str | os.PathLike[str] | None = None,
                  mode: str | None = None) -> PushReport:
    """Push the decisions into every branch's workbook of ``workbooks`` (module doc).
    Raises WorkbookError (Chinese) only when nothing can be done (no decisions, no folder)."""
    dec = open_decisions(decisions, mode)
    folder = Path(workbooks)
    if not folder.is_dir():
        raise WorkbookError(f"找不到工作簿文件夹 {folder}。")
    opts = Options(operator, (now or dt.datetime.now()).replace(microsecond=0), force, dry_run,
                   template, extract, state.load(folder))
    opts.fresh = state.unchanged(opts.state, folder)
    found = match_workbooks(folder, {k: set(opts.state[k].get("营业部", ())) for k in opts.fresh
                                     if "营业部" in opts.state[k]})
    opts.names = {p.name: n for p, n in found.names.items()}
    opts.unread_noop = bool(opts.fresh) and _settles(dec, opts)
    spelled: dict[str, list[str]] = {}
    for branch in dec.branches:
        spelled.setdefault(branch_key(branch), []).append(branch)
    with tempfile.TemporaryDirectory(prefix="client-rating-push-") as tmp:
        if len(dec.branches) > 1:  # (each branch then reads its own rows only)
            dec.split_later(Path(tmp) / "by-branch")
        reports = [_push_branch(branch, n, spelled[branch_key(branch)], dec, folder, found, opts)
                   for branch, n in dec.branches.items()]
    if not dry_run:
        state.save(folder, opts.state)
    refused = {os.fspath(p): why for p, why in found.refused.items()}
    refused |= {os.fspath(p): "决定文件中没有该营业部的客户，未改动" for p in found.by_branch.values()}
    return PushReport(dec, reports, refused)


def _push_branch(branch: str, n: int, spelled: list[str], dec: Decisions, folder: Path,
                 found: Any, opts: Options) -> BranchReport:
    """One 营业部: refused (no 营业部, names told apart by spaces only, ambiguous workbooks),
    pushed into its workbook, or a workbook made for it."""
    key = branch_key(branch)
    rep = BranchReport(branch, decided=n)
    if branch == NO_BRANCH:
        _fail(rep, f"{n} 位客户的决定没有营业部（总部数据的“营业部”为空），未写入任何工作簿")
    elif len(spelled) > 1:
        _fail(rep, f"决定文件中的营业部名称 {'、'.join(spelled)} 只差空格或全半角，无法确定"
                   "是否同一营业部，未写入：请在总部数据中统一名称")
    elif key in found.ambiguous:
        _fail(rep, found.ambiguous[key])
    elif key in found.by_branch:
        push_one(found.by_branch.pop(key), rep, dec, opts)
    else:
        create_one(folder, rep, dec, opts)
    return rep


def _fail(rep: BranchReport, why: str) -> None:
    rep.status, rep.message, rep.exit_code = FAILED, why, 1


def _new_rows(dec: Decisions, rep: BranchReport, opts: Options, decided: dict[str, Any],
              missing: list[str]) -> dict[str, dict[str, Any]]:
    """The extract's rows of the decided clients the workbook lacks (none without --extract:
    they are then reported, not added)."""
    if not missing:
        return {}
    if opts.extract is None:
        rep.not_in_workbook = missing
        return {}
    return extract_rows(opts.extract, {int(decided[c]["行号"]): c for c in missing})


def push_one(path: Path, rep: BranchReport, dec: Decisions, opts: Options) -> None:
    """Push into an existing workbook; whatever fails leaves it as it was (reported)."""
    rep.workbook = os.fspath(path)
    tmp: Path | None = None
    try:
        check_safe(path)
        if opts.unread_noop and state.pushed_already(
                opts.state.get(path.name), path, opts.fresh.get(path.name), dec,
                force=opts.force, extract=opts.extract):  # (not read again)
            e = opts.state[path.name]
            rep.status, rep.not_in_workbook = NOOP, list(e["未含客户"])
            rep.message = state.noop_message(dec.period, dec.mode, e["运行编号"])
            return
        decided = dec.rows(rep.branch)
        identity = _identity(path)
        book = read_book(path)
        have = _ids(book)
        rows = _new_rows(dec, rep, opts, decided, sorted(set(decided) - have))
        if rows:
            tmp = _append(path, book, rows)
            book = read_book(tmp)
        pp = _plan_and_write(book, tmp or path, path, rep, dec, opts, decided, identity)
        rep.added = sorted(rows) if rep.status in (UPDATED, DRY) else []
        if rep.status == NOOP and rows:  # (applied before: the clients it lacks stay out)
            rep.not_in_workbook = sorted(rows)
        _remember(path, rep, dec, opts, pp, set(decided) - have - (
            set(rows) if rep.status == UPDATED else set()), identity, bool(rows))
    except (WorkbookError, XlsxError, RuleError, OSError) as e:
        _fail(rep, f"{getattr(e, 'message', None) or e}")
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _settles(dec: Decisions, opts: Options) -> bool:
    """Whether the push's settings pass the checks every workbook's push makes first (an
    operator, the rulebook in force for the period the decisions' own): if not, a workbook
    pushed already is read and refused as before, not taken as pushed."""
    from .plan import settle_push

    try:
        settle_push(dec, opts.operator, opts.now, opts.force, opts.dry_run)
    except (WorkbookError, RuleError):
        return False
    return True


def _remember(path: Path, rep: BranchReport, dec: Decisions, opts: Options, pp: PushPlan,
              missing: set[str], identity: tuple[int, int] | None, added: bool) -> None:
    """Remember a workbook left pushed (``state``): written now, or found pushed already by
    its 变更记录 — with a log showing no tampering (whose warnings a repeat would repeat).
    The 营业部 its rows name are the match's, read again where rows were added."""
    from .match import branches_in

    if opts.dry_run or pp.log_warnings:
        return
    if rep.status in (UPDATED, CREATED):
        run_id = rep.run_id
    elif rep.status == NOOP and pp.plan.result.noop and pp.done:
        run_id = pp.done[-1]
    else:
        opts.state.pop(path.name, None)
        return
    digest = state.file_digest(path)
    if identity is not None and rep.status == NOOP and _identity(path) != identity:
        return  # (saved meanwhile: not the bytes read)
    names = branches_in(path) if added or path.name not in opts.names else opts.names[path.name]
    opts.state[path.name] = state.entry(path, dec, run_id, missing, names, digest)


def _ids(book: Any) -> set[str]:
    from ..schema import column_map

    data = book.clients
    c = column_map([h.strip() for h in data.header]).get("client_id")
    if c is None or c > data.n_cols:
        return set()
    return {_text(v) for v in data.columns[c - 1] if v is not None}


def _text(v: Any) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()


def _append(path: Path, book: Any, rows: dict[str, dict[str, Any]]) -> Path:
    """A temporary copy of the workbook with ``rows`` appended to 客户 (under its headers)."""
    data = book.clients
    target = [str(h) if h is not None else "" for h in data.header_values]
    cells: dict[tuple[int, int], Any] = {}
    for k, cid in enumerate(sorted(rows)):
        for c, v in place(rows[cid], target).items():
            cells[(data.n_rows + 1 + k, c)] = v
    tmp = _tmp_beside(path)
    patch_workbook(path, tmp, {data.name: SheetEdit(cells=cells)}, recalc_on_open=False)
    return tmp


def _tmp_beside(path: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=".push-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(name)  # (patch_workbook writes it anew)
    return Path(name)


def _plan_and_write(book: Any, src: Path, dst: Path, rep: BranchReport, dec: Decisions,
                    opts: Options, decided: dict[str, Any], identity: tuple[int, int] | None,
                    created: bool = False) -> PushPlan:
    pp = plan_push(book, decided, dec, operator=opts.operator, now=opts.now, force=opts.force,
                   dry_run=opts.dry_run, path=dst)
    res = pp.plan.result
    ck = pp.check
    rep.run_id, rep.message, rep.warnings = res.run_id, res.message, res.warnings
    rep.written, rep.changed, rep.cells = res.n_in_scope, len(res.changes), res.cells_written
    rep.conflicts = [why for _c, _r, why in ck.conflicts]
    n_bad = len(res.rejections) - len(ck.conflicts)  # (the conflicts are listed last)
    rep.rejected = [r[4] for r in res.rejections[:n_bad]]
    rep.not_decided, rep.overridden, rep.current = ck.not_decided, ck.overridden, ck.current
    rep.not_in_workbook = sorted(set(rep.not_in_workbook) | set(ck.missing))
    if res.noop:
        rep.status = NOOP
        return pp
    if not pp.plan.writes:
        if opts.dry_run:
            rep.status = DRY
        elif res.exit_code == 0 and not res.rejections:  # (every client shows its decision)
            rep.status, rep.message = NOOP, "工作簿已与总部决定一致，未写入。"
        else:
            _fail(rep, rep.message or "没有可写入的客户，未写入。")
        return pp
    if identity is not None and _identity(dst) != identity:
        raise WorkbookError(f"工作簿 {dst} 在读取后被修改过（可能在别处保存了），本次未写入：请重新运行。")
    write_plan(pp.plan, src, dst)
    rep.status = CREATED if created else UPDATED
    leftover = rep.conflicts or rep.rejected or rep.not_in_workbook
    rep.exit_code = 3 if leftover else 0
    return pp


def create_one(folder: Path, rep: BranchReport, dec: Decisions, opts: Options) -> None:
    """A workbook made from the template for a branch that has none (``--template`` and
    ``--extract``: its clients' rows), then pushed into; else reported."""
    from ..template import client_headers, new_workbook

    decided = dec.rows(rep.branch)
    path = folder / f"{_file_name(rep.branch)}.xlsx"
    rep.workbook = os.fspath(path)
    if not opts.template or opts.extract is None:
        rep.not_in_workbook = sorted(decided)
        need = "--template 和 --extract" if not opts.template else "--extract"
        _fail(rep, f"文件夹中没有该营业部的工作簿：未新建（需 {need}：按模板新建并填入总部数据中的客户）")
        return
    tmp: Path | None = None
    try:
        from rules import get_rulebook
        from rules.schedule import parse_period

        rb = get_rulebook(dec.rulebook_id, parse_period(dec.period).end)
        target = list(client_headers(rb))
        rows = extract_rows(opts.extract, {int(d["行号"]): c for c, d in decided.items()})
        clients = [{target[c - 1]: v for c, v in place(rows[cid], target).items()}
                   for cid in sorted(rows)]
        tmp = _tmp_beside(path)
        new_workbook(tmp, dec.rulebook_id, clients, as_of=parse_period(dec.period).end)
        if path.exists():  # (made meanwhile: not overwritten)
            raise WorkbookError(f"{path.name} 已存在，未新建。")
        pp = _plan_and_write(read_book(tmp), tmp, path, rep, dec, opts, decided, None,
                             created=True)
        rep.added = sorted(rows) if rep.status in (CREATED, DRY) else []
        if rep.status == CREATED:
            _remember(path, rep, dec, opts, pp, set(decided) - set(rows), None, True)
    except (WorkbookError, XlsxError, RuleError, OSError) as e:
        _fail(rep, f"{getattr(e, 'message', None) or e}")
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()


def _file_name(branch: str) -> str:
    """A 营业部 name as a file name (characters Windows refuses in a name replaced by _)."""
    return "".join("_" if ch in '\\/:*?"<>|' or ord(ch) < 32 else ch for ch in branch.strip())


def _identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns
