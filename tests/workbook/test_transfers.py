"""The optional sheet 转销户 checked against seed 003 (workbook/transfers.py), alone and through
the re-rating job, as a branch would keep it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from workbook.job import rerate
from workbook.transfers import check_transfers
from workbook.xlsxio import read_sheet

NOW = dt.datetime(2026, 10, 9, 10, 0, 0)
HEADER = ["客户编号", "客户名称", "客户级别", "客户性质", "办理日期", "预约日期", "当天有委托",
          "国债回购未到期", "国债回购登记未撤销", "新股申购资金未解冻", "协议未履行完毕",
          "柜台人员", "客户经理", "营销总监", "总经理", "流失原因", "原因说明"]
D = dt.datetime
GOOD = [
    # 普通客户: counter staff and account manager sign (第九条)
    ["T1", "甲", "普通客户", "个人", D(2026, 9, 1), None, "否", "否", "否", "否", "否",
     "张柜员", "李经理", None, None, "行业内竞争", None],
    # 核心客户: + 营销总监, 总经理, appointment a day ahead (第十、十七、十八条)
    ["T2", "乙", "核心客户", "个人", D(2026, 9, 2), D(2026, 9, 1), "否", "否", "否", "否", "否",
     "张柜员", "李经理", "王总监", "赵总", "其他", "子女在外地工作，随迁"],
    # 产品: the 机构客户 procedure (第八条第2项)
    ["T3", "某资管计划", "普通客户", "产品", D(2026, 9, 3), D(2026, 9, 1), None, None, None,
     None, None, "张柜员", "李经理", "王总监", "赵总", "佣金费率水平较高", None],
]
BAD = [
    # a blocker recorded and the transfer done anyway (第十六条第1项)
    ["T4", "丙", "普通客户", "个人", D(2026, 9, 4), None, "是", "否", "否", "否", "否",
     "张柜员", "李经理", None, None, "住址搬迁，交通不便利", None],
    # 核心客户 without 总经理, appointed the same day, a paraphrased reason
    ["T5", "丁", "VIP客户", "个人", D(2026, 9, 5), D(2026, 9, 5), "否", "否", "否", "否", "否",
     "张柜员", "李经理", "王总监", None, "佣金太高", None],
    # 机构 with only the counter and the account manager; 其他 without a note; unreadable flag
    ["T6", "某公司", "潜力客户", "机构", D(2026, 9, 6), D(2026, 9, 4), "否", "否", "否", "也许",
     "否", "张柜员", "李经理", None, None, "其他", None],
]


def _book(path: Path, transfers: list[list[Any]] | None, header: list[str] = HEADER) -> Path:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet("客户")
    for c, h in enumerate(["客户编号", "资产权益", "上年度净佣金"]):
        ws.write_string(0, c, h)
    for r, (cid, assets) in enumerate([("C1", 300_000), ("C2", 50_000)], start=1):
        ws.write_string(r, 0, cid)
        ws.write_number(r, 1, assets)
        ws.write_number(r, 2, 0)
    if transfers is None:
        wb.close()
        return path
    tr = wb.add_worksheet("转销户")
    for c, h in enumerate(header):
        tr.write_string(0, c, h)
    for r, row in enumerate(transfers, start=1):
        for c, v in enumerate(row):
            if isinstance(v, dt.datetime):
                tr.write_datetime(r, c, v, date_fmt)
            elif isinstance(v, str):
                tr.write_string(r, c, v)
    wb.close()
    return path


def _columns(rows: list[list[Any]]) -> list[list[Any]]:
    return [list(c) for c in zip(*rows, strict=True)]


def test_a_clean_sheet_has_no_findings():
    assert check_transfers(HEADER, _columns(GOOD)) == []


def test_every_transfer_with_a_blocker_or_a_wrong_approver_is_listed():
    found = check_transfers(HEADER, _columns(GOOD + BAD))
    got = [(f.row, f.column) for f in found]
    assert got == [
        (5, "当天有委托"),
        (6, "总经理"), (6, "预约日期"), (6, "流失原因"),
        (7, "新股申购资金未解冻"), (7, "营销总监"), (7, "总经理"), (7, "原因说明"),
    ]
    by = {(f.row, f.column): f for f in found}
    assert by[5, "当天有委托"].value == "是"
    assert by[5, "当天有委托"].text() == (
        "转销户 第 5 行 当天有委托='是'：存在“当天有委托（已成交或未成交）”时不能办理转销户"
        "（第十六条第1项），本笔却已办理")
    assert "缺总经理签字" in by[6, "总经理"].message and "第十条、第十七条" in by[6, "总经理"].message
    assert by[6, "预约日期"].text().startswith("转销户 第 6 行 预约日期=2026-09-05：")
    assert "未提前一天" in by[6, "预约日期"].message
    assert "不是制度列出的原因" in by[6, "流失原因"].message
    assert by[7, "营销总监"].message.startswith("潜力客户（机构）的转销户须经")
    assert "须写明具体原因" in by[7, "原因说明"].message


def test_missing_columns_are_named_never_read_as_no():
    header = [h for h in HEADER if h not in ("当天有委托", "总经理")]
    rows = [[v for h, v in zip(HEADER, row, strict=True) if h in header] for row in GOOD]
    found = check_transfers(header, _columns(rows))
    assert [(f.row, f.column) for f in found] == [(1, "当天有委托"), (3, "总经理"), (4, "总经理")]
    assert found[0].text() == ("转销户 列“当天有委托”：缺少此列，无法核对第十六条第1项"
                               "“当天有委托（已成交或未成交）”（是/否）")
    assert "（工作表没有此列）" in found[1].message


def test_the_rerating_lists_the_findings_and_leaves_the_sheet_alone(tmp_path: Path, capsys):
    p = _book(tmp_path / "b.xlsx", GOOD + BAD)
    before = read_sheet(p, "转销户").columns
    res = rerate(p, period="2026Q3", mode="quarterly", operator="t", now=NOW)
    assert res.written and res.exit_code == 0  # the clients are rated as always
    assert [(f.row, f.column) for f in res.transfer_findings][:2] == [(5, "当天有委托"), (6, "总经理")]
    assert len(res.transfer_findings) == 8
    assert any(w.startswith("“转销户”工作表有 8 项不符合 003《营业部客户流失应对规范》：转销户 第 5 行")
               for w in res.warnings)
    assert read_sheet(p, "转销户").columns == before
    from addin.cli import main

    assert main(["rerate", str(p), "--period", "2026Q3", "--mode", "quarterly", "--operator",
                 "t", "--dry-run", "--force"]) == 0
    out = capsys.readouterr().out
    assert "“转销户”不合规（共 8 项" in out and "缺总经理签字" in out


@pytest.mark.parametrize("rows", [None, []])
def test_a_workbook_without_transfers_is_not_affected(tmp_path: Path, rows):
    p = _book(tmp_path / "b.xlsx", rows)
    res = rerate(p, period="2026Q3", mode="quarterly", operator="t", now=NOW)
    assert res.transfer_findings == [] and not any("转销户" in w for w in res.warnings)


@pytest.mark.parametrize("value", ["TRUE", "1", "是"])
def test_yes_in_any_spelling_is_a_blocker(value):
    row = list(GOOD[0])
    row[HEADER.index("国债回购未到期")] = value
    found = check_transfers(HEADER, _columns([row]))
    assert [(f.row, f.column) for f in found] == [(2, "国债回购未到期")]


def test_the_audit_reports_the_same_findings_with_cell_addresses(tmp_path: Path):
    from workbook.audit import audit_file

    p = _book(tmp_path / "b.xlsx", GOOD + BAD)
    res = audit_file(p, as_of=dt.date(2026, 10, 9))
    got = [(f.cell, f.client_id, f.severity) for f in res.findings if f.kind == "transfer_breach"]
    assert set(got) == {("G5", "T4", "警告"), ("O6", "T5", "警告"), ("F6", "T5", "警告"),
                        ("P6", "T5", "警告"), ("J7", "T6", "警告"), ("N7", "T6", "警告"),
                        ("O7", "T6", "警告"), ("Q7", "T6", "警告")}
    first = next(f for f in res.findings if f.kind == "transfer_breach")
    assert first.sheet == "转销户" and first.found == "是" and "第十六条第1项" in first.explanation
