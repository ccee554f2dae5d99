"""Lossless patching of a workbook: only the changed worksheet parts are rewritten (streamed),
every other zip entry is copied byte for byte, and the result replaces ``dst`` atomically."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import colpatch, ooxml
from .append import append_part
from .book import XlsxBook
from .cells import CellWriter, rows_xml
from .chart import ChartSpec
from .errors import XlsxError
from .newsheets import NewSheets, check_sheet_name
from .package import (
    T_CALCCHAIN,
    WorkbookInfo,
    read_xml_part,
    rels_path,
)
from .parpatch import RecalcJudge, write_parallel
from .rowpatch import KEEP as KEEP
from .rowpatch import Edits, RowPatcher, SheetEdit, update_dimension
from .safety import check_not_locked, check_writable
from .sheetxml import (
    ROW_R_RE,
    SheetStream,
    cell_attrs,
    cell_regexes,
    col_index,
    parse_attrs,
)
from .styles import StylesEditor
from .tables import extend_tables
from .xmltext import unescape_attr
from .zipwriter import RawZipWriter

# ----------------------------------------------------------------------------- sheet edits


# ----------------------------------------------------------------------------- edited sheets


def sheet_chunks(pt: RowPatcher, judge: Any = None) -> Iterator[bytes]:
    """The patched worksheet part: unchanged chunks as they are, pieces with column edits
    through ``colpatch`` (the row-by-row ``RowPatcher`` where a piece does not fit).
    ``judge(text)`` is shown the source part, in pieces of whole cells (the recalculation
    check)."""
    if judge is not None:
        judge(pt.stream.prefix)
    yield sheet_head(pt)
    last = yield from patch_chunks(pt, pt.stream.row_chunks(), 0, judge)
    yield from sheet_tail(pt, last, judge)


def patch_chunks(pt: RowPatcher, chunks: Iterable[bytes], last: int, judge: Any = None
                 ) -> Generator[bytes, None, int]:
    """Row chunks patched in order (each shown to ``judge`` first), from ``last``, the last row
    number done before them; returns the last row number done after them."""
    for chunk in chunks:
        if judge is not None:
            judge(chunk)
        data, last = patch_chunk(pt, chunk, last)
        yield data
    return last


def sheet_head(pt: RowPatcher) -> bytes:
    """The part up to its rows (``<dimension>`` updated)."""
    e = pt.edits
    head = update_dimension(pt.stream.prefix, e.max_row, e.max_col, 1, max(e.min_col, 1))
    if pt.stream.self_closing:
        rows = b"".join(pt.new_row(r) for r in e.rows_after(0, None))
        head += b"<" + pt.ns + b"sheetData>" + rows + b"</" + pt.ns + b"sheetData>"
    return head


def patch_chunk(pt: RowPatcher, chunk: bytes, last: int) -> tuple[bytes, int]:
    """A row chunk patched, and the last row number now done (``last`` before it)."""
    e = pt.edits
    first_m = ROW_R_RE.search(chunk[: chunk.find(b">") + 1])
    last_open = chunk.rfind(b"<" + pt.ns + b"row")
    last_m = ROW_R_RE.search(chunk[last_open : chunk.find(b">", last_open) + 1])
    if first_m and last_m:
        lo, hi = int(first_m.group(1)), int(last_m.group(1))
        if lo > last and hi >= lo and not e.any_between(last + 1, hi):
            return chunk, hi
    if not pt.fast or not e.columns:
        return pt.rows(chunk, last)
    done: list[bytes] = []
    for piece in colpatch.pieces(chunk, pt.end_row):
        got = colpatch.patch_piece(pt, piece, last)
        data, last = got if got is not None else pt.rows(piece, last)
        done.append(data)
    return b"".join(done), last


def sheet_tail(pt: RowPatcher, last: int, judge: Any = None) -> Iterator[bytes]:
    """The rows created after ``last`` (the last row of the part) and the rest of the part
    (shown whole to ``judge``)."""
    e = pt.edits
    new_rows = list(e.rows_after(last, None))
    made = colpatch.new_rows(pt, new_rows) if pt.fast and e.columns else None
    tail = [made] if made is not None else [pt.new_row(nr) for nr in new_rows]
    suffix: Iterable[bytes] = pt.stream.suffix_chunks()
    if judge is not None:
        suffix = list(suffix)
        judge(b"".join(suffix))
    if pt.stream.self_closing:
        yield from suffix
        return
    if tail:
        yield b"".join(tail)
    yield from suffix


# ----------------------------------------------------------------------------- replaced sheets


def _replace_chunks(stream: SheetStream, rows_in: Sequence[list[Any]], w: CellWriter,
                    styles: StylesEditor) -> Iterator[bytes]:
    rows = list(rows_in)
    token_re, _ = cell_regexes(stream.ns)
    old_styles: dict[tuple[int, int], int] = {}
    row = 0
    col = 0
    for chunk in stream.row_chunks():
        for m in token_re.finditer(chunk):
            g = m.groups()
            if g[0] is not None:
                rm = ROW_R_RE.search(g[0])
                row = int(rm.group(1)) if rm else row + 1
                col = 0
                continue
            letters, _rowd, s_raw, _t, _other = cell_attrs(g)
            col = col_index(letters) if letters is not None else col + 1
            if s_raw is not None:
                old_styles[(row, col)] = int(s_raw)
    n_rows = len(rows)
    n_cols = max((len(r) for r in rows), default=0)
    bold_cache: list[int | None] = []

    def bold() -> int | None:
        if not bold_cache:
            bold_cache.append(styles.bold_xf(None))
        return bold_cache[0]

    body = rows_xml(rows, w, stream.ns, old_styles, bold)
    prefix = update_dimension(stream.prefix, n_rows, n_cols, exact=True)
    ns = stream.ns
    if stream.self_closing:
        yield prefix + b"<" + ns + b"sheetData>" + body + b"</" + ns + b"sheetData>"
    else:
        yield prefix + body
    yield from stream.suffix_chunks()


# ----------------------------------------------------------------------------- package parts

def _remove_rel(rels_xml: bytes, pred) -> bytes:
    def sub(m: re.Match[bytes]) -> bytes:
        a = parse_attrs(m.group(0))
        return b"" if pred(a) else m.group(0)

    return re.sub(rb"<(?:\w+:)?Relationship\b[^>]*?(?:/>|>.*?</(?:\w+:)?Relationship>)",
                  sub, rels_xml, flags=re.S)


def _set_full_calc(wb_xml: bytes) -> bytes:
    m = re.search(rb"<(\w+:)?calcPr\b[^>]*?/?>", wb_xml)
    if m is not None:
        tag = m.group(0)
        if re.search(rb'\sfullCalcOnLoad="', tag):
            new = re.sub(rb'(\sfullCalcOnLoad=)"[^"]*"', rb'\1"1"', tag)
        else:
            p = len(b"<" + (m.group(1) or b"") + b"calcPr")
            new = tag[:p] + b' fullCalcOnLoad="1"' + tag[p:]
        return wb_xml[: m.start()] + new + wb_xml[m.end() :]
    wm = re.search(rb"<(\w+:)?workbook\b", wb_xml)
    ns = (wm.group(1) or b"") if wm else b""
    item = b"<" + ns + b'calcPr fullCalcOnLoad="1"/>'
    best = None
    for tag in (b"sheets", b"functionGroups", b"externalReferences", b"definedNames"):
        mm = re.search(rb"</(?:\w+:)?" + tag + rb">", wb_xml)
        if mm is not None and (best is None or mm.end() > best):
            best = mm.end()
    if best is None:
        return wb_xml
    return wb_xml[:best] + item + wb_xml[best:]


# ----------------------------------------------------------------------------- main entry


TMP_SUFFIX = ".xlsxio-tmp"


def cleanup_temp_files(folder: str | os.PathLike[str], older_than_s: float = 3600) -> list[Path]:
    """Remove temp files left by a save that was killed (``.NAME.*.xlsxio-tmp``)."""
    import time

    removed = []
    now = time.time()
    for p in Path(folder).glob(".*" + TMP_SUFFIX):
        try:
            if now - p.stat().st_mtime >= older_than_s:
                p.unlink()
                removed.append(p)
        except OSError:
            pass
    return removed


def _tmp_path(dst: Path) -> Path:
    """A fresh temp name beside ``dst``, not created yet: the caller creates it (mode "xb")
    inside its try, so an interrupt (Ctrl+C) at any moment leaves no temp file behind."""
    while True:
        p = dst.parent / f".{dst.name}.{secrets.token_hex(6)}{TMP_SUFFIX}"
        if not p.exists():
            return p


def patch_workbook(
    src: str | os.PathLike[str] | XlsxBook,
    dst: str | os.PathLike[str],
    edits: dict[str, SheetEdit] | None = None,
    *,
    replace_sheets: Mapping[str, Sequence[list[Any]]] | None = None,
    add_sheets: Mapping[str, Sequence[list[Any]]] | None = None,
    add_charts: dict[str, ChartSpec] | None = None,
    append_rows: Mapping[str, tuple[int, Sequence[list[Any]]]] | None = None,
    recalc_on_open: bool | RecalcJudge = True,
    compresslevel: int = 6,
    _fast: bool = True,
) -> None:
    """Apply cell edits / sheet replacements / new sheets to ``src`` and save as ``dst``.

    ``dst`` may be ``src``. The new file is written beside ``dst`` and renamed over it only
    when complete (after fsync), so ``dst`` is never seen half-written. Untouched zip entries
    are copied byte for byte. ``recalc_on_open`` sets ``fullCalcOnLoad`` so that Excel
    recalculates formulas depending on changed cells; a ``RecalcJudge`` there decides it while
    the file is written (workbook.xml is then the last entry). ``compresslevel`` applies to the
    rewritten parts only. ``add_charts[name]`` puts a native clustered column chart
    (``ChartSpec``) on a sheet added by ``add_sheets``. ``append_rows[name] = (first, rows)``
    writes rows below the last row of a sheet, from Excel row ``first`` (see ``append``: the
    old rows are not inflated again when the part ends with our flush point); on a sheet of
    ``add_sheets`` it only marks the new sheet as a log to append to later. ``_fast=False``
    patches row by row only (the reference the column-wise path, ``colpatch``, is tested
    against).

    ``src`` may be an open ``XlsxBook`` of the file (its workbook info is not read again): the
    patch closes it once the new file is written, before the rename (on Windows an open
    handle would block it), whatever happens.
    """
    book = src if isinstance(src, XlsxBook) else None
    try:
        _patch_file(book, src, dst, edits, replace_sheets, add_sheets, add_charts, append_rows,
                    recalc_on_open, compresslevel, _fast)
    finally:
        if book is not None:
            book.close()


def _patch_file(book: XlsxBook | None, src, dst, edits, replace_sheets, add_sheets, add_charts,
                append_rows, recalc_on_open, compresslevel, _fast) -> None:
    if book is not None:
        if book.path is None:
            raise XlsxError("XlsxBook 没有文件路径，无法保存。")
        src = book.path
    src, dst = Path(src), Path(dst)
    if dst.is_symlink():  # write the file the link points to: the link stays a link
        dst = dst.resolve()
    check_writable(dst)
    edits = edits or {}
    replace_sheets = replace_sheets or {}
    add_sheets = add_sheets or {}
    add_charts = add_charts or {}
    for name in add_charts:
        if name not in add_sheets:
            raise XlsxError(f"只能在新添加的工作表上添加图表（“{name}”不在 add_sheets 中）。")
    check_not_locked(src)
    if dst != src and dst.exists():
        check_not_locked(dst)
    tmp = _tmp_path(dst)
    try:
        # the source is closed whatever happens (on Windows an open handle keeps it locked)
        with contextlib.ExitStack() as stack:
            if book is None:
                book = stack.enter_context(XlsxBook(src))
            out = stack.enter_context(open(tmp, "xb"))
            src_fh = stack.enter_context(open(src, "rb"))
            _patch(book, out, edits, replace_sheets, add_sheets, recalc_on_open, compresslevel,
                   add_charts, _fast, append_rows, src_fh=src_fh)
            out.flush()
            os.fsync(out.fileno())
        book.close()  # before the rename: on Windows an open handle blocks it
        with contextlib.suppress(OSError):
            shutil.copymode(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        dfd = os.open(dst.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


@dataclass
class _Parts:
    """What is done to each worksheet part: cell edits, rows replaced, rows appended."""

    edits: dict[str, Edits]
    rows: dict[str, Sequence[list[Any]]]
    appends: dict[str, tuple[int, Sequence[list[Any]]]]

    def __bool__(self) -> bool:
        return bool(self.edits or self.rows or self.appends)


def _sheet_parts(info: WorkbookInfo, edits: dict[str, SheetEdit],
                 replace_sheets: Mapping[str, Sequence[list[Any]]],
                 append_rows: Mapping[str, tuple[int, Sequence[list[Any]]]],
                 add_sheets: dict[str, Any]) -> _Parts:
    parts = _Parts({}, {}, {})
    for name, edit in edits.items():
        e = Edits(edit)
        if e.max_col:
            parts.edits[info.sheet(name).part] = e
    for name, rows in replace_sheets.items():
        sh = info.sheet(name)
        if sh.part in parts.edits:
            raise XlsxError(f"工作表“{sh.name}”不能同时修改单元格和整体替换。")
        parts.rows[sh.part] = rows
    for name, (first, log) in append_rows.items():
        if name in add_sheets:
            continue  # the new sheet is written whole (with a flush point, below)
        sh = info.sheet(name)
        if sh.part in parts.edits or sh.part in parts.rows:
            raise XlsxError(f"工作表“{sh.name}”不能同时追加行和修改单元格。")
        if log:
            parts.appends[sh.part] = (first, log)
    return parts


def _check_new_names(wb_xml: bytes, info: WorkbookInfo, add_sheets: dict[str, Any]) -> None:
    # every <sheet> (chart sheets too) counts for name clashes
    all_names = [unescape_attr(n) for n in
                 re.findall(rb'<(?:\w+:)?sheet\b[^>]*?\sname="([^"]*)"', wb_xml)]
    all_names += [s.name for s in info.sheets]
    for name in add_sheets:
        check_sheet_name(name, all_names)
        all_names.append(name)


def _small_parts(zf: Any, info: WorkbookInfo, edits: dict[str, SheetEdit], parts: _Parts,
                 ct_name: str | None) -> tuple[set[str], dict[str, bytes]]:
    """(parts dropped, small parts rewritten): the Excel Tables new columns extend, and the
    calculation chain dropped when cells change."""
    drop: set[str] = set()
    small: dict[str, bytes] = {}
    for name, edit in edits.items():  # Excel Tables the new columns extend
        if edit.table_columns and info.sheet(name).part in parts.edits:
            small.update(extend_tables(zf, info.names, info.sheet(name).part,
                                       edit.table_columns))
    wb_rels_name = rels_path(info.workbook_part)
    if parts and info.calcchain_part:
        drop.add(info.calcchain_part)
        rels_xml = small.get(wb_rels_name) or read_xml_part(zf, wb_rels_name)
        small[wb_rels_name] = _remove_rel(
            rels_xml, lambda a: ooxml.rel_type_is(a.get(b"Type", b""), T_CALCCHAIN))
        if ct_name:
            ct = read_xml_part(zf, ct_name)
            pn = ("/" + info.calcchain_part).encode()
            small[ct_name] = re.sub(
                rb"<(?:\w+:)?Override\b[^>]*?PartName=\"" + re.escape(pn) + rb"\"[^>]*?/>",
                b"", ct, flags=re.I)
    return drop, small


def _patch(book: XlsxBook, out, edits, replace_sheets, add_sheets, recalc, level,
           add_charts=None, fast: bool = True, append_rows=None, *, src_fh) -> None:
    add_charts = add_charts or {}
    append_rows = append_rows or {}
    zf = book.zf
    info: WorkbookInfo = book.info
    styles = StylesEditor(zf, info.styles_part)
    w = CellWriter(styles, info.date1904)
    parts = _sheet_parts(info, edits, replace_sheets, append_rows, add_sheets)
    wb_xml = read_xml_part(zf, info.workbook_part)
    _check_new_names(wb_xml, info, add_sheets)
    touched = bool(parts or add_sheets)
    ct_name = next((n for n in info.names if n.lower() == "[content_types].xml"), None)
    drop, small = _small_parts(zf, info, edits, parts, ct_name)
    new_parts: list[tuple[str, Iterable[bytes | object]]] = []
    if add_sheets:
        adding = NewSheets(zf, info, wb_xml, small, ct_name, w, styles)
        for name, rows in add_sheets.items():
            adding.add(name, rows, log=name in append_rows, chart=add_charts.get(name))
        wb_xml = adding.finish()
        new_parts = adding.parts
    check = None if isinstance(recalc, bool) else recalc
    if check is None and recalc and parts:
        small[info.workbook_part] = _set_full_calc(small.get(info.workbook_part, wb_xml))
    defer = check is not None and bool(parts)
    if defer:
        drop = drop | {info.workbook_part}
    writer = RawZipWriter(out)
    _write_entries(writer, book, parts, drop, small, w, styles, level, fast, src_fh, touched,
                   check)
    if defer:
        assert check is not None
        _write_workbook_part(writer, book, small, wb_xml, check.verdict(), level, src_fh)
    for part, chunks in new_parts:
        writer.write_stream(part, chunks, compresslevel=level)
    if touched and info.styles_part in zf.NameToInfo:
        zi = zf.getinfo(info.styles_part)
        if styles.modified:
            writer.write_stream(zi.filename, [styles.data], compresslevel=level,
                                date_time=zi.date_time)
        else:
            writer.copy_raw(src_fh, zi)
    writer.close()


def _write_workbook_part(writer: RawZipWriter, book: XlsxBook, small: dict[str, bytes],
                         wb_xml: bytes, full_calc: bool, level: int, src_fh: Any) -> None:
    """workbook.xml written last (its ``fullCalcOnLoad`` decided once the sheets are)."""
    part = book.info.workbook_part
    zi = book.zf.getinfo(part)
    data = small.get(part)
    if full_calc:
        data = _set_full_calc(data if data is not None else wb_xml)
    if data is None:
        writer.copy_raw(src_fh, zi)
    else:
        writer.write_stream(part, [data], compresslevel=level, date_time=zi.date_time)


def _write_entries(writer: RawZipWriter, book: XlsxBook, parts: _Parts, drop: set[str],
                   small: dict[str, bytes], w: CellWriter, styles: StylesEditor, level: int,
                   fast: bool, src_fh: Any, touched: bool, check: RecalcJudge | None) -> None:
    """Every entry of the source in its order: edited, replaced or appended worksheets
    streamed, small parts rewritten, the others copied as they are (the styles, when the
    package is touched, are written last by the caller: the cells may add styles)."""
    zf, info = book.zf, book.info
    judged = info.sheet(check.sheet).part if check is not None else None
    for zi in zf.infolist():
        name = zi.filename
        if name in drop or (name == info.styles_part and touched):
            continue
        if name in parts.edits:
            judge = check if name == judged else None
            if fast and write_parallel(writer, book, zi, parts.edits[name], w, level, judge):
                continue
            if judge is not None:
                judge.start()
            with SheetStream(zf, name) as stream:
                patcher = RowPatcher(stream, parts.edits[name], w, fast)
                writer.write_stream(name, sheet_chunks(patcher, judge and judge.feed),
                                    compresslevel=level, date_time=zi.date_time)
        elif name in parts.rows:
            with SheetStream(zf, name) as stream:
                writer.write_stream(name, _replace_chunks(stream, parts.rows[name], w, styles),
                                    compresslevel=level, date_time=zi.date_time)
        elif name in parts.appends:
            first, rows = parts.appends[name]
            append_part(zf, src_fh, zi, writer, first, rows, w, styles, level)
        elif name in small:
            writer.write_stream(name, [small[name]], compresslevel=level, date_time=zi.date_time)
        else:
            writer.copy_raw(src_fh, zi)
