"""Issue 17 through the Excel buttons (addin/excel.py on a fake of its port): the no-op dialog says how to
force from Excel, not ``--force``; the end-of-run dialog and 汇总 name the clients in a known
gap of the rules and the rated rows with a flagged field; headers as users paste them."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import fakeport

from addin import excel
from workbook.template import new_workbook

NOW = dt.datetime(2027, 1, 6, 10, 0, 0)
CLIENTS = [
    {"客户编号": "G1", "资产权益": 10_000_000, "上年度净佣金": 0, "年度级别": "VIP客户"},
    {"客户编号": "F1", "资产权益": 300_000, "上年度净佣金": 0, "风险测评得分": "85分"},
    {"客户编号": "OK", "资产权益": 300_000, "上年度净佣金": 0, "风险测评得分": 50},
]


def _book(tmp_path: Path, clients=CLIENTS):
    path = new_workbook(tmp_path / "分行.xlsx", clients=clients)
    book = fakeport.from_file(path, name="分行.xlsm")
    labels = [r[0] for r in book.values("控制台")]
    for label, v in {"模式": "年度评级", "评级期间": 2026.0, "操作员": "张经理"}.items():
        book.plant("控制台", [[v]], labels.index(label) + 1, 2)  # ("2026" typed: a number)
    return book


def _rows(book, sheet: str) -> list[list]:
    return book.values(sheet)


def test_noop_dialog_asks_to_force_from_excel_and_never_mentions_the_cli_flag(tmp_path: Path):
    book = _book(tmp_path)
    excel.run_rerate(book, "annual", now=NOW)
    book.answers.append("no")
    excel.run_rerate(book, "annual", now=NOW)
    _title, prompt, buttons, _mode = book.alerts[-1]
    assert "已执行过" in prompt and "是否强制重跑" in prompt and buttons == "yes_no"
    assert "--force" not in prompt
    plan = excel.run_rerate(book, "annual", now=NOW, confirm_rerun=False)
    assert plan.result.noop
    assert "--force" not in book.alerts[-1][1]


def test_end_of_run_dialog_and_summary_name_gap_clients_and_flagged_fields(tmp_path: Path):
    book = _book(tmp_path)
    plan = excel.run_rerate(book, "annual", now=NOW)
    prompt = book.alerts[-1][1]
    assert "数据落在规则缺口、按兜底规则评级 1 位" in prompt
    assert "第 2 行 G1：资产权益 10,000,000 元" in prompt and "BRK-ORD-1（普通客户）" in prompt
    assert "已评级、但有字段待更正 1 行" in prompt
    assert "第 3 行「风险测评得分」：不是数字：'85分'（未评定风险类别）" in prompt
    assert "--force" not in prompt
    rows = _rows(book, "汇总")
    col_a = [r[0] for r in rows]
    gap_at = next(k for k, v in enumerate(col_a) if str(v or "").startswith("落在规则缺口的客户"))
    assert rows[gap_at + 2][1] == "G1" and rows[gap_at + 2][2] == "普通客户"
    flag_at = next(k for k, v in enumerate(col_a) if str(v or "").startswith("已评级、但有字段待更正"))
    assert rows[flag_at + 2][1:4] == ["F1", "风险测评得分", "85分"]
    assert [r[1] for r in plan.result.flags] == ["F1"] and not plan.result.rejections
