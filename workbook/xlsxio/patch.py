"""Lossless patching of a workbook: only the changed worksheet parts are rewritten (streamed),
every other zip entry is copied byte for byte, and the result replaces ``dst`` atomically."""

from __future__ import annotations

import contextlib
import itertools
import os
import posixpath
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from . import chart as chartxml
from . import colpatch, ooxml
from .append import append_part, rows_xml_flushed
from .book import XlsxBook
from .cells import CellWriter, rows_xml
from .chart import ChartSpec
from .errors import XlsxError
from .package import (
    T_CALCCHAIN,
    WorkbookInfo,
    read_xml_part,
    rels_path,
)
from .rowpatch import KEEP as KEEP
from .rowpatch import Edits, RowPatcher, SheetEdit, update_dimension
from .safety import check_not_locked, check_writable
from .sheetxml import (
    ROW_R_RE,
    SheetStream,
    cell_attrs,
    cell_regexes,
    col_index,
    col_letter,
    parse_attrs,
)
from .styles import StylesEditor
from .tables import extend_tables
from .xmltext import escape_attr, unescape_attr
from .zipwriter import RawZipWriter

# ----------------------------------------------------------------------------- sheet edits


# ----------------------------------------------------------------------------- edited sheets


def sheet_chunks(pt: RowPatcher) -> Iterator[bytes]:
    """The patched worksheet part: unchanged chunks as they are, pieces with column edits
    through ``colpatch`` (the row-by-row ``RowPatcher`` where a piece does not fit)."""
    e = pt.edits
    yield update_dimension(pt.stream.prefix, e.max_row, e.max_col, 1, max(e.min_col, 1))
    if pt.stream.self_closing:
        rows = b"".join(pt.new_row(r) for r in e.rows_after(0, None))
        yield b"<" + pt.ns + b"sheetData>" + rows + b"</" + pt.ns + b"sheetData>"
    last = 0
    for chunk in pt.stream.row_chunks():
        first_m = ROW_R_RE.search(chunk[: chunk.find(b">") + 1])
        last_open = chunk.rfind(b"<" + pt.ns + b"row")
        last_m = ROW_R_RE.search(chunk[last_open : chunk.find(b">", last_open) + 1])
        if first_m and last_m:
            lo, hi = int(first_m.group(1)), int(last_m.group(1))
            if lo > last and hi >= lo and not e.any_between(last + 1, hi):
                yield chunk
                last = hi
                continue
        if not pt.fast or not e.columns:
            data, last = pt.rows(chunk, last)
            yield data
            continue
        done: list[bytes] = []
        for piece in colpatch.pieces(chunk, pt.end_row):
            got = colpatch.patch_piece(pt, piece, last)
            data, last = got if got is not None else pt.rows(piece, last)
            done.append(data)
        yield b"".join(done)
    new_rows = list(e.rows_after(last, None))
    made = colpatch.new_rows(pt, new_rows) if pt.fast and e.columns else None
    tail = [made] if made is not None else [pt.new_row(nr) for nr in new_rows]
    suffix = pt.stream.suffix_chunks()
    if pt.stream.self_closing:
        yield from suffix
        return
    if tail:
        yield b"".join(tail)
    yield from suffix


# ----------------------------------------------------------------------------- replaced sheets


def _replace_chunks(stream: SheetStream, rows: list[list[Any]], w: CellWriter,
                    styles: StylesEditor) -> Iterator[bytes]:
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


_NEW_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
)


def _new_sheet_parts(n_rows: int, n_cols: int, drawing_rid: str | None = None,
                     strict: bool = False) -> tuple[bytes, bytes]:
    """A new sheet's XML before its rows (through ``<sheetData>``) and after them."""
    dim = f"A1:{col_letter(n_cols)}{n_rows}" if n_rows and n_cols else "A1"
    pane = (
        b'<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        if n_rows > 1 else b""
    )
    head = (
        (ooxml.to_strict(_NEW_SHEET_HEAD) if strict else _NEW_SHEET_HEAD)
        + f'<dimension ref="{dim}"/>'.encode()
        + b'<sheetViews><sheetView workbookViewId="0">' + pane + b"</sheetView></sheetViews>"
        + b'<sheetFormatPr defaultRowHeight="15"/>'
        + b"<sheetData>"
    )
    tail = (
        b"</sheetData>"
        + b'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
        b'footer="0.3"/>'
        + (f'<drawing r:id="{drawing_rid}"/>'.encode() if drawing_rid else b"")
        + b"</worksheet>"
    )
    return head, tail


def _bold(styles: StylesEditor) -> Callable[[], int | None]:
    """The bold style of a header row, made when first asked for."""
    cache: list[int | None] = []

    def bold() -> int | None:
        if not cache:
            cache.append(styles.bold_xf(None))
        return cache[0]

    return bold


def _new_sheet_xml(rows: list[list[Any]], w: CellWriter, styles: StylesEditor,
                   drawing_rid: str | None = None, strict: bool = False) -> bytes:
    n_cols = max((len(r) for r in rows), default=0)
    head, tail = _new_sheet_parts(len(rows), n_cols, drawing_rid, strict)
    return head + rows_xml(rows, w, b"", {}, _bold(styles)) + tail


def _new_log_chunks(rows: Sequence[list[Any]], w: CellWriter, styles: StylesEditor,
                    strict: bool = False) -> Iterable[bytes | object]:
    """A new sheet of log rows, streamed a block of rows at a time (the rows may be made as
    they are written: ``workbook.run.logrows``) with the flush point before its last row:
    the bytes of ``last_row_flush(_new_sheet_xml(rows, ...))``."""
    width = getattr(rows, "width", None)
    n_cols = width if width is not None else max((len(r) for r in rows), default=0)
    head, tail = _new_sheet_parts(len(rows), n_cols, strict=strict)
    bold = _bold(styles)
    if len(rows):
        bold()  # (made now, as the whole sheet's XML made here would: the styles' order)
    return itertools.chain([head], rows_xml_flushed(rows, 1, b"", w, bold), [tail])


# ----------------------------------------------------------------------------- package parts

WS_KIND = "worksheet"
WS_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_BAD_SHEET_CHARS = set('[]:*?/\\')


def _check_sheet_name(name: str, existing: list[str]) -> None:
    if not name or len(name) > 31 or any(ch in _BAD_SHEET_CHARS for ch in name) \
            or name.startswith("'") or name.endswith("'"):
        raise XlsxError(f"工作表名“{name}”无效（最多 31 个字符，不能含 []:*?/\\ ）。")
    if name.casefold() in (n.casefold() for n in existing):
        raise XlsxError(f"工作表“{name}”已存在。")


def _remove_rel(rels_xml: bytes, pred) -> bytes:
    def sub(m: re.Match[bytes]) -> bytes:
        a = parse_attrs(m.group(0))
        return b"" if pred(a) else m.group(0)

    return re.sub(rb"<(?:\w+:)?Relationship\b[^>]*?(?:/>|>.*?</(?:\w+:)?Relationship>)",
                  sub, rels_xml, flags=re.S)


def _insert_before_close(xml: bytes, tag: bytes, item: bytes) -> bytes:
    m = re.search(rb"</(\w+:)?" + tag + rb">", xml)
    if m is None:
        raise XlsxError(f"工作簿结构异常（缺少 {tag.decode()}），无法添加工作表。")
    return xml[: m.start()] + item + xml[m.start() :]


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
    replace_sheets: dict[str, list[list[Any]]] | None = None,
    add_sheets: dict[str, list[list[Any]]] | None = None,
    add_charts: dict[str, ChartSpec] | None = None,
    append_rows: dict[str, tuple[int, list[list[Any]]]] | None = None,
    recalc_on_open: bool = True,
    compresslevel: int = 6,
    _fast: bool = True,
) -> None:
    """Apply cell edits / sheet replacements / new sheets to ``src`` and save as ``dst``.

    ``dst`` may be ``src``. The new file is written beside ``dst`` and renamed over it only
    when complete (after fsync), so ``dst`` is never seen half-written. Untouched zip entries
    are copied byte for byte. ``recalc_on_open`` sets ``fullCalcOnLoad`` so that Excel
    recalculates formulas depending on changed cells. ``compresslevel`` applies to the
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


def _free_part(names: set[str], pattern: str) -> str:
    k = 1
    low = {n.lower() for n in names}
    while (pattern % k).lower() in low:
        k += 1
    names.add(pattern % k)
    return pattern % k


def _patch(book: XlsxBook, out, edits, replace_sheets, add_sheets, recalc, level,
           add_charts=None, fast: bool = True, append_rows=None, *, src_fh) -> None:
    add_charts = add_charts or {}
    append_rows = append_rows or {}
    zf = book.zf
    info: WorkbookInfo = book.info
    styles = StylesEditor(zf, info.styles_part)
    w = CellWriter(styles, info.date1904)
    part_edits: dict[str, Edits] = {}
    for name, edit in edits.items():
        sh = info.sheet(name)
        e = Edits(edit)
        if e.max_col:
            part_edits[sh.part] = e
    part_rows: dict[str, list[list[Any]]] = {}
    for name, rows in replace_sheets.items():
        sh = info.sheet(name)
        if sh.part in part_edits:
            raise XlsxError(f"工作表“{sh.name}”不能同时修改单元格和整体替换。")
        part_rows[sh.part] = rows
    part_appends: dict[str, tuple[int, list[list[Any]]]] = {}
    for name, (first, rows) in append_rows.items():
        if name in add_sheets:
            continue  # the new sheet is written whole (with a flush point, below)
        sh = info.sheet(name)
        if sh.part in part_edits or sh.part in part_rows:
            raise XlsxError(f"工作表“{sh.name}”不能同时追加行和修改单元格。")
        if rows:
            part_appends[sh.part] = (first, rows)
    wb_xml = read_xml_part(zf, info.workbook_part)
    # every <sheet> (chart sheets too) counts for name clashes
    all_names = [unescape_attr(n) for n in
                 re.findall(rb'<(?:\w+:)?sheet\b[^>]*?\sname="([^"]*)"', wb_xml)]
    all_names += [s.name for s in info.sheets]
    for name in add_sheets:
        _check_sheet_name(name, all_names)
        all_names.append(name)

    touched = bool(part_edits or part_rows or add_sheets or part_appends)
    drop: set[str] = set()
    small: dict[str, bytes] = {}
    for name, edit in edits.items():  # Excel Tables the new columns extend
        if edit.table_columns and info.sheet(name).part in part_edits:
            small.update(extend_tables(zf, info.names, info.sheet(name).part,
                                       edit.table_columns))
    ct_name = next((n for n in info.names if n.lower() == "[content_types].xml"), None)
    wb_rels_name = rels_path(info.workbook_part)
    if touched and (part_edits or part_rows or part_appends) and info.calcchain_part:
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
    new_parts: list[tuple[str, Iterable[bytes | object]]] = []
    if add_sheets:
        rels_xml = small.get(wb_rels_name) or read_xml_part(zf, wb_rels_name)
        ct = small.get(ct_name) if ct_name else None
        if ct is None and ct_name:
            ct = read_xml_part(zf, ct_name)
        ids = {s.sheet_id for s in info.sheets}
        ids |= {int(x) for x in re.findall(rb'\ssheetId="([0-9]+)"', wb_xml)}
        rids = {r.id for r in info.rels}
        wb_dir = posixpath.dirname(info.workbook_part)
        rpre = ooxml.rel_prefix(wb_xml)
        ns_m = re.search(rb"<(\w+:)?sheets\b", wb_xml)
        ns = (ns_m.group(1) or b"") if ns_m else b""
        k = 1
        for name, rows in add_sheets.items():
            while posixpath.join(wb_dir, f"worksheets/sheet{k}.xml") in info.names:
                k += 1
            part = posixpath.join(wb_dir, f"worksheets/sheet{k}.xml")
            k += 1
            sid = max(ids, default=0) + 1
            ids.add(sid)
            n = 1
            while f"rId{n}" in rids:
                n += 1
            rid = f"rId{n}"
            rids.add(rid)
            rel_target = posixpath.relpath(part, wb_dir) if wb_dir else part
            rels_xml = _insert_before_close(
                rels_xml, b"Relationships",
                f'<Relationship Id="{rid}" Type="{ooxml.rel_type(WS_KIND, info.strict)}" '
                f'Target="{rel_target}"/>'.encode())
            if rpre:
                rattr = rpre + f':id="{rid}"'.encode()
            else:
                rattr = f'xmlns:r="{ooxml.rel_ns(info.strict)}" r:id="{rid}"'.encode()
            item = (b"<" + ns + b'sheet name="' + escape_attr(name).encode() + b'" sheetId="'
                    + str(sid).encode() + b'" ' + rattr + b"/>")
            wb_xml = _insert_before_close(wb_xml, b"sheets", item)
            if ct is not None:
                ct = _insert_before_close(
                    ct, b"Types",
                    f'<Override PartName="/{part}" ContentType="{WS_CT}"/>'.encode())
            spec = add_charts.get(name)
            if spec is None:
                if name in append_rows:  # a log, streamed: ready for the next append
                    new_parts.append((part, _new_log_chunks(rows, w, styles, info.strict)))
                else:
                    new_parts.append((part, [_new_sheet_xml(rows, w, styles,
                                                            strict=info.strict)]))
                continue
            taken = set(info.names) | {p for p, _ in new_parts}
            drawing = _free_part(taken, posixpath.join(wb_dir, "drawings/drawing%d.xml"))
            chart = _free_part(taken, posixpath.join(wb_dir, "charts/chart%d.xml"))
            new_parts.append((part, [_new_sheet_xml(rows, w, styles, drawing_rid="rId1",
                                                    strict=info.strict)]))
            chart_parts = [
                (rels_path(part), chartxml.rels_xml(
                    chartxml.DRAWING_REL, posixpath.relpath(drawing, posixpath.dirname(part)))),
                (drawing, chartxml.drawing_xml(spec)),
                (rels_path(drawing), chartxml.rels_xml(
                    chartxml.CHART_REL, posixpath.relpath(chart, posixpath.dirname(drawing)))),
                (chart, chartxml.chart_xml(spec, name, rows))]
            new_parts += [(pn, [ooxml.to_strict(x) if info.strict else x])
                          for pn, x in chart_parts]
            if ct is not None:
                for pn, ctype in ((drawing, chartxml.DRAWING_CT), (chart, chartxml.CHART_CT)):
                    ct = _insert_before_close(
                        ct, b"Types",
                        f'<Override PartName="/{pn}" ContentType="{ctype}"/>'.encode())
        small[wb_rels_name] = rels_xml
        if ct_name and ct is not None:
            small[ct_name] = ct
        small[info.workbook_part] = wb_xml
    if recalc and (part_edits or part_rows or part_appends):
        small[info.workbook_part] = _set_full_calc(small.get(info.workbook_part, wb_xml))

    writer = RawZipWriter(out)
    deferred_styles = None
    for zi in zf.infolist():
        name = zi.filename
        if name in drop:
            continue
        if name in part_edits:
            with SheetStream(zf, name) as stream:
                patcher = RowPatcher(stream, part_edits[name], w, fast)
                writer.write_stream(name, sheet_chunks(patcher), compresslevel=level,
                                    date_time=zi.date_time)
        elif name in part_rows:
            with SheetStream(zf, name) as stream:
                writer.write_stream(name, _replace_chunks(stream, part_rows[name], w, styles),
                                    compresslevel=level, date_time=zi.date_time)
        elif name in part_appends:
            first, rows = part_appends[name]
            append_part(zf, src_fh, zi, writer, first, rows, w, styles, level)
        elif name == info.styles_part and touched:
            deferred_styles = zi
        elif name in small:
            writer.write_stream(name, [small[name]], compresslevel=level, date_time=zi.date_time)
        else:
            writer.copy_raw(src_fh, zi)
    for part, chunks in new_parts:
        writer.write_stream(part, chunks, compresslevel=level)
    if deferred_styles is not None:
        if styles.modified:
            writer.write_stream(deferred_styles.filename, [styles.data], compresslevel=level,
                                date_time=deferred_styles.date_time)
        else:
            writer.copy_raw(src_fh, deferred_styles)
    writer.close()
