"""A new client workbook built with XlsxWriter: 控制台, 客户, 变更记录, 汇总 (native chart), 规则.

计算级别 and 风险类别 hold values — what ``=CLIENT_TIER(..)`` / ``=RISK_CLASS(..)`` give, by calling
those functions here — and each run of the job writes them again: no cell calls our functions,
so a PC without the add-in (or LibreOffice) shows the values, never ``#NAME?``, and Excel makes
no Python call when the file opens (nor is a full recalculation on open asked for).
``formulas="per-row"`` writes the layout of workbooks made before (one formula a row, cached
values, full recalculation on open), which branches still hold: the audit and the job are
tested on it.

Buttons (``BUTTONS``): a ``.xlsm`` path gets form buttons on 控制台 and a small VBA project whose
macros call the add-in client_rating.xlam by its file name (addin/buttons.py), so a renamed copy
keeps working; a ``.xlsx`` stays macro-free and 控制台 points to the ribbon tab 客户分级.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from rules import get_rulebook, rulebook_ids
from rules.functions import catalogue
from rules.rerating import MODE_LABELS

from . import console, history, summary
from .schema import COLUMNS

#: (button caption, key) of the 控制台 buttons (workbook/console.py; the ribbon says the same).
BUTTONS = console.BUTTONS

#: 客户 sheet columns in template order: the contract, then the formula and output columns.
CLIENT_HEADERS: tuple[str, ...] = (
    *(c.header for c in COLUMNS[:13]), "当前级别", "计算级别", "级别变动", "级别依据",
    "服务产品", "年拜访次数", "风险类别", "评级期间", "规则版本",
    *(c.header for c in COLUMNS[14:]),
)
_DATE_COLS = {"开户日期", "测评日期", "调整日期", "调整有效期至"}
_MONEY_COLS = {"资产权益", "上年度净佣金", "日均资产", "上年度管理费", "年贡献度"}
_TIER_COLS = ("年度级别", "当前级别", "特别调整级别")


def client_headers(rb: Any) -> tuple[str, ...]:
    """The 客户 headers of a new workbook for rulebook ``rb``: ``CLIENT_HEADERS`` and, after the
    contract's figures, a column for each input of ``rb`` that no contract column stands for
    (wealth: 年贡献度), so that a run never finds an input column missing."""
    from .schema import column_map, input_columns

    base = list(CLIENT_HEADERS)
    found = input_columns(rb, column_map(base), base)
    extra = [s.label for s, c in zip(rb.inputs, found, strict=True) if c is None]
    at = base.index("资产周转率")
    return (*base[:at], *extra, *base[at:])


def cached_tier(rb: Any, assets: Any, commission: Any) -> str:
    """What =CLIENT_TIER(assets, commission[, rulebook]) shows: the function itself, called."""
    return catalogue.CLIENT_TIER(assets, commission, rb.id)


def cached_risk(score: Any) -> str:
    """What =RISK_CLASS(score) shows (an empty score too: ``#N/A 风险测评得分为空``)."""
    return catalogue.RISK_CLASS(score)


def _print_setup(ws: Any, *, repeat_header: bool = False) -> None:
    """Landscape A4, one page wide, the header row on every page (branches print these)."""
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    if repeat_header:
        ws.repeat_rows(0)


def new_workbook(path: str | os.PathLike[str], rulebook: str = "brokerage",
                 clients: Iterable[Mapping[str, Any]] | None = None, *,
                 as_of: dt.date | None = None, formulas: str = "values",
                 macros: console.ButtonMacros | None = None) -> Path:
    """Write a new workbook at ``path`` (clients: dicts keyed by 客户 headers).

    ``formulas``: "values" (计算级别 and 风险类别 as values) or "per-row" (the earlier layout:
    ``=CLIENT_TIER(F2,G2)`` and ``=RISK_CLASS(K2)`` on every row, see the module doc).
    ``macros``: the add-in's button macros (``addin.buttons.WORKBOOK_MACROS``), needed for a
    .xlsm path: its 控制台 buttons run them."""
    if formulas not in ("values", "per-row"):
        raise ValueError(f"formulas must be 'values' or 'per-row', not {formulas!r}")
    path = Path(path)
    if path.suffix.lower() == ".xlsm" and macros is None:
        raise ValueError("a .xlsm workbook needs the add-in's button macros "
                         "(macros=addin.buttons.WORKBOOK_MACROS)")
    path.parent.mkdir(parents=True, exist_ok=True)
    rb = get_rulebook(rulebook, as_of or dt.date.today())
    labels = [o.label for o in rb.outputs]
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                          "strings_to_urls": False,
                                          "strings_to_numbers": False})
    formats = _formats(wb)
    # XlsxWriter asks Excel for a full recalculation on open; only the per-row layout needs one
    wb.calc_on_load = formulas == "per-row"
    with_macros = macros is not None and path.suffix.lower() == ".xlsm"
    _console_sheet(wb, formats, rb, macros if with_macros else None)
    _client_sheet(wb, formats, rb, list(clients or []), formulas)
    _history_sheet(wb, formats["bold"])
    _summary_sheet(wb, formats["bold"], labels)
    _rules_sheet(wb, formats, rb)
    if macros is not None and with_macros:
        _add_button_macros(wb, macros)
    wb.close()
    return path


def _formats(wb: Any) -> dict[str, Any]:
    """The cell formats the sheets share: bold (headers), title, date, money, note, button."""
    return {"bold": wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1}),
            "title": wb.add_format({"bold": True, "font_size": 14}),
            "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
            "money": wb.add_format({"num_format": "#,##0.00"}),
            "note": wb.add_format({"italic": True, "font_color": "#595959"}),
            "button": wb.add_format({"bold": True, "border": 2, "align": "center",
                                     "bg_color": "#FFF2CC"})}


def _console_sheet(wb: Any, f: dict[str, Any], rb: Any,
                   macros: console.ButtonMacros | None) -> None:
    """控制台: the run's settings (模式, 评级期间, 规则, 操作员, 适当性规则) with drop-downs, and
    the buttons — form buttons running ``macros`` (a .xlsm), else captions pointing to the
    ribbon tab."""
    bold, note = f["bold"], f["note"]
    ws = wb.add_worksheet("控制台")
    _print_setup(ws)
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 28)
    ws.set_column(3, 3, 16)
    ws.set_column(4, 4, 60)
    ws.write(0, 0, "客户分级 — 重评级控制台", f["title"])
    params = [("模式", MODE_LABELS["quarterly"]), ("评级期间", ""), ("规则", rb.id), ("操作员", "")]
    for k, (name, val) in enumerate(params, start=2):
        ws.write(k, 0, name, bold)
        ws.write_string(k, 1, val)
    ws.data_validation(2, 1, 2, 1, {"validate": "list", "source": list(MODE_LABELS.values())})
    ws.data_validation(4, 1, 4, 1, {"validate": "list", "source": rulebook_ids()})
    ws.data_validation(3, 1, 3, 1, {"validate": "any", "input_title": "评级期间",
                                    "input_message": "季度 2026Q3；年度 2026；新开户 2026-11"})
    # optional: the 2017 suitability regime (docs/suitability.md); empty = not used
    from rules.appropriateness import regime_ids

    ws.write(6, 0, "适当性规则", bold)
    ws.data_validation(6, 1, 6, 1, {"validate": "list", "source": regime_ids(),
                                    "input_title": "适当性规则（可空）",
                                    "input_message": "填 csrc-2017：另填投资者类别、风险等级并核对“产品购买”"})
    ws.write(1, 3, "按钮", bold)
    ws.write(1, 4, "说明", bold)
    for k, (caption, key) in enumerate(BUTTONS, start=2):
        what = (f"执行{MODE_LABELS[key]}（{key}），按左侧参数运行" if key in MODE_LABELS
                else "审计检查（audit）")
        ws.write(k, 3, caption, f["button"])
        if macros is not None:
            ws.insert_button(k, 3, {"macro": macros.macro(key), "caption": caption,
                                    "width": 117, "height": 20})
            ws.write(k, 4, f"点击左侧按钮：{what}（需已安装加载项 client_rating.xlam）", note)
        else:
            ws.write(k, 4, f"{what}：本文件不含宏，请用功能区“客户分级”选项卡的“{caption}”"
                           "（安装：client-rating addin install）", note)
    ws.write(7, 0, "命令行：client-rating rerate 文件 --period 2026Q3 --mode quarterly "
                   "--operator 姓名", note)


def _client_sheet(wb: Any, f: dict[str, Any], rb: Any, rows: list[Mapping[str, Any]],
                  formulas: str) -> None:
    """客户: the headers of ``client_headers(rb)`` (客户编号 a Text column), tier drop-downs on the
    whole column, the clients, and 计算级别 / 风险类别 as values or per-row formulas."""
    bold, date_fmt, money = f["bold"], f["date"], f["money"]
    labels = [o.label for o in rb.outputs]
    wc = wb.add_worksheet("客户")
    headers = client_headers(rb)
    hdr = {h: k for k, h in enumerate(headers)}
    # 客户编号 is Text ("@") for the whole column, so that Excel keeps 000123 as typed
    id_fmt = wb.add_format({"num_format": "@"})
    for k, h in enumerate(headers):
        wc.write_string(0, k, h, bold)
        wc.set_column(k, k, 34 if h == "级别依据" else 13, id_fmt if h == "客户编号" else None)
    wc.freeze_panes(1, 0)
    _print_setup(wc, repeat_header=True)
    last = 1_048_575  # the drop-downs cover the whole column (to Excel's last row)
    for h in _TIER_COLS:
        wc.data_validation(1, hdr[h], last, hdr[h], {"validate": "list", "source": labels,
                                                      "error_type": "warning"})
    # the rulebook's inputs: their label as a 客户 header, else the brokerage columns
    in_headers = [spec.label if spec.label in hdr else ("资产权益", "上年度净佣金")[min(k, 1)]
                  for k, spec in enumerate(rb.inputs[:2])]
    a_col, c_col, s_col = hdr[in_headers[0]], hdr[in_headers[-1]], hdr["风险测评得分"]
    rb_arg = "" if rb.id == "brokerage" else f',"{rb.id}"'
    for r, client in enumerate(rows, start=1):
        for h, v in client.items():
            if h not in hdr or v is None:
                continue
            c = hdr[h]
            if h == "客户编号":  # text, even when given as a number (123 -> "123")
                wc.write_string(r, c, _coerce_id(v), id_fmt)
            elif isinstance(v, dt.date):
                d = v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day)
                wc.write_datetime(r, c, d, date_fmt)
            elif isinstance(v, bool):
                wc.write_boolean(r, c, v)
            elif isinstance(v, int | float):
                wc.write_number(r, c, float(v), money if h in _MONEY_COLS else None)
            else:
                wc.write_string(r, c, str(v))  # text stays text, even "=HYPERLINK(...)"
        tier = cached_tier(rb, *(client.get(h) for h in in_headers))
        risk = cached_risk(client.get("风险测评得分"))
        if formulas == "per-row":
            a_ref = xl_rowcol_to_cell(r, a_col)
            c_ref = xl_rowcol_to_cell(r, c_col)
            wc.write_formula(r, hdr["计算级别"], f"=CLIENT_TIER({a_ref},{c_ref}{rb_arg})", None,
                             tier)
            s_ref = xl_rowcol_to_cell(r, s_col)
            wc.write_formula(r, hdr["风险类别"], f"=RISK_CLASS({s_ref})", None, risk)
            continue
        # values, as the job writes them: 计算级别 what the function shows (an error text
        # names the bad input); 风险类别 only a class (the job leaves it empty without one)
        wc.write_string(r, hdr["计算级别"], str(tier))
        if not str(risk).startswith("#"):
            wc.write_string(r, hdr["风险类别"], str(risk))



def _history_sheet(wb: Any, bold: Any) -> None:
    """变更记录: the header row (history.HEADER), frozen, printed on every page."""
    wh = wb.add_worksheet("变更记录")
    for k, h in enumerate(history.HEADER):
        wh.write_string(0, k, h, bold)
    wh.freeze_panes(1, 0)
    _print_setup(wh, repeat_header=True)
    wide = {"运行编号": 23, "时间": 19, "规则版本": 17, "级别变动": 16, "原因": 60, "输入数据": 40,
            "统计": 40, "输入哈希": 20, "哈希": 20}
    for k, h in enumerate(history.HEADER):
        wh.set_column(k, k, wide.get(h, 10))



def _summary_sheet(wb: Any, bold: Any, labels: list[str]) -> None:
    """汇总 before any run, with its native chart (tiers × 评级前/评级后)."""
    wsum = wb.add_worksheet("汇总")
    _print_setup(wsum)
    empty = {lab: 0 for lab in [*labels, summary.NO_TIER]}
    for r, row in enumerate(summary.rows(labels, empty, empty, {}, 0, [("评级期间", "（尚未运行）")])):
        for c, v in enumerate(row):
            if isinstance(v, float):
                wsum.write_number(r, c, v)
            else:
                wsum.write_string(r, c, v, bold if r == 0 else None)
    wsum.set_column(0, 0, 20)
    wsum.set_column(1, 2, 12)
    first, lastr = summary.tier_rows_range(labels)
    chart = wb.add_chart({"type": "column"})
    for col in (1, 2):
        chart.add_series({"name": ["汇总", 0, col], "categories": ["汇总", first - 1, 0, lastr - 1, 0],
                          "values": ["汇总", first - 1, col, lastr - 1, col]})
    chart.set_title({"name": summary.CHART_TITLE})
    chart.set_y_axis({"name": "客户数"})
    wsum.insert_chart("E2", chart)



def _rules_sheet(wb: Any, f: dict[str, Any], rb: Any) -> None:
    """规则: every rule of the rulebook (id, tier, condition, text); the sheet protected."""
    bold, title, note = f["bold"], f["title"], f["note"]
    labels = [o.label for o in rb.outputs]
    wr = wb.add_worksheet("规则")
    _print_setup(wr)
    wr.write(0, 0, f"{rb.title}（{rb.ref}，生效 {rb.effective_from}）", title)
    wr.write(1, 0, f"依据：{rb.source.document} {rb.source.article}", note)
    for k, h in enumerate(("规则编号", "级别", "条件", "原文")):
        wr.write_string(3, k, h, bold)
    for r, rule in enumerate(rb.rules, start=4):
        wr.write_string(r, 0, rule.id)
        wr.write_string(r, 1, labels[rule.output])
        wr.write_string(r, 2, rb.describe_rule(rule))
        wr.write_string(r, 3, rule.text)
    wr.set_column(0, 1, 14)
    wr.set_column(2, 3, 50)
    wr.protect()


def _coerce_id(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _add_button_macros(wb: xlsxwriter.Workbook, macros: console.ButtonMacros) -> None:
    """The VBA project of a .xlsm: document modules under fixed code names, button macros."""
    wb.set_vba_name("ThisWorkbook")
    code_names = []
    for k, sheet in enumerate(wb.worksheets(), start=1):
        sheet.set_vba_name(f"Sheet{k}")
        code_names.append(f"Sheet{k}")
    project = macros.vba_project(code_names, [key for _, key in BUTTONS])
    wb.add_vba_project(io.BytesIO(project), is_stream=True)
