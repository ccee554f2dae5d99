"""``addin.xlwings_port.XlwingsPort``: the port's operations through xlwings' own Book/Sheet/
Range/App and value converters (``xlwings.conversion``), over the test engine memxl (which
answers as Excel's COM object model does; the facts it pins are listed, with their sources, in
its docstring). Not run in Excel.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import fakeport
import memxl

from addin import excel
from addin.xlwings_port import TITLE, XlwingsPort
from workbook.template import new_workbook


def _port(sheets) -> XlwingsPort:
    return XlwingsPort(memxl.new_book(sheets, name="b.xlsx"))


def test_values_come_as_xlwings_hands_them_over() -> None:
    port = _port({"S": [["a", 1.0, dt.datetime(2026, 11, 3)], [None, memxl.XlError("#N/A"), True]],
                  "One": [["x"]], "Empty": []})
    # dates as datetime, empty cells None, numbers float, errors as their text (err_to_str)
    assert port.values("S") == [["a", 1.0, dt.datetime(2026, 11, 3)], [None, "#N/A", True]]
    assert port.values("One") == [["x"]]  # 2-D even for one cell (ndim=2)
    assert port.values("Empty") == [] and port.used_shape("Empty") == (1, 1)
    assert port.used_shape("S") == (2, 3)


def test_text_written_stays_text_and_empty_empties() -> None:
    port = _port({"S": [["old", "old", "old", "old"]]})
    port.write("S", 1, 1, [["=HYPERLINK(\"x\")", "2026-11", "000123", ""]])
    cells = memxl.cells(port.book.sheets["S"])
    for c, text in ((1, '=HYPERLINK("x")'), (2, "2026-11"), (3, "000123")):
        assert cells[(1, c)].value == text and cells[(1, c)].formula is None, c
        assert cells[(1, c)].prefix  # Excel's quote prefix: shown as typed, never parsed
    assert (1, 4) not in cells
    port.write("S", 2, 1, [[dt.datetime(2026, 1, 5), 3.5]])
    assert port.values("S")[1][:2] == [dt.datetime(2026, 1, 5), 3.5]
    (w,) = [w for w in memxl.writes(port.book.sheets["S"], "value") if w.row == 2]
    assert (w.nrows, w.ncols) == (1, 2)  # one call for the block


def test_formulas_of_the_sheet_or_of_columns() -> None:
    port = _port({"S": [["h1", "h2"], [1.0, "=A2*2"], [2.0, "=A3*2"]]})
    assert port.formulas("S") == {(2, 2): "A2*2", (3, 2): "A3*2"}
    assert port.formulas("S", [2]) == {(2, 2): "A2*2", (3, 2): "A3*2"}
    assert port.formulas("S", [1]) == {}
    port.write_formulas("S", 2, 1, [['=HYPERLINK("#S!B2","S!B2")'], ["S!B3"]])
    cells = memxl.cells(port.book.sheets["S"])
    assert cells[(2, 1)].formula == '=HYPERLINK("#S!B2","S!B2")'
    assert cells[(3, 1)].formula is None and cells[(3, 1)].value == "S!B3"


def test_sheets_chart_clear() -> None:
    port = _port({"A": [["x"]], "B": [["y", "z"]]})
    assert port.add_sheet("汇总") == "汇总" and port.sheet_names() == ["A", "B", "汇总"]
    port.write("汇总", 1, 1, [["级别", "评级前", "评级后"]] + [["t", 1.0, 2.0]] * 4)
    assert not port.has_chart("汇总")
    port.add_column_chart("汇总", 5, 3)
    (info,) = memxl.charts(port.book.sheets["汇总"])
    assert info["chart_type"] == "column_clustered" and info["source"] == "汇总!$A$1:$C$5"
    assert port.has_chart("汇总")
    port.clear("B")
    assert port.values("B") == []


def test_alerts_status_and_restore() -> None:
    port = _port({"S": [["x"]]})
    app = port.book.app
    assert port.alert("完成", critical=False) == "ok"
    memxl.queue_answers(app, "no")
    assert port.alert("重跑？", buttons="yes_no") == "no"
    assert memxl.alerts(app) == [(TITLE, "完成", "ok", "info"), (TITLE, "重跑？", "yes_no", "info")]
    app.display_alerts = False  # (the self-test runs the buttons so): no box, a question is "no"
    assert port.alert("错误", critical=True) is None and len(memxl.alerts(app)) == 2
    port.pause()
    port.status("写入")
    assert app.screen_updating is False and app.calculation == "manual"
    port.restore()
    assert app.screen_updating and app.calculation == "automatic"
    assert memxl.status_history(app) == [f"{TITLE}：写入…", False]


def test_the_button_through_xlwings_leaves_what_it_leaves_on_the_fake(tmp_path: Path) -> None:
    """The same run on the xlwings port (memxl) and on the fake: the same sheets' values."""
    clients = [{"客户编号": "C1", "资产权益": 300_000, "上年度净佣金": 0, "当前级别": "普通客户"},
               {"客户编号": "C2", "资产权益": -5},
               {"客户编号": "000123", "资产权益": 2e7, "开户日期": dt.date(2026, 11, 2)}]
    path = new_workbook(tmp_path / "分行.xlsx", clients=clients)
    now = dt.datetime(2026, 10, 9, 10)
    fake, book = fakeport.from_file(path), memxl.from_file(path)
    labels = [r[0] for r in fake.values("控制台")]
    for label, v in (("评级期间", "2026Q3"), ("操作员", "张经理")):
        row = labels.index(label) + 1
        fake.plant("控制台", [[v]], row, 2)
        book.sheets["控制台"].range((row, 2)).value = v
    assert excel.run_rerate(fake, "quarterly", now=now).result.written
    assert excel.run_rerate(book, "quarterly", now=now).result.written
    for sheet in ("客户", "变更记录", "汇总"):
        assert memxl.to_rows(book.sheets[sheet]) == fake.values(sheet), sheet
