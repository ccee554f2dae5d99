"""memxl, the in-memory xlwings engine: it behaves as specified, through xlwings' own code.

Every read and write below goes through ``xlwings.main`` (Book/Sheet/Range/App/Chart) and the
``xlwings.conversion`` pipelines; only the engine impl objects are memxl's.
"""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import sys
from pathlib import Path

import pytest
import xlwings as xw

sys.path.insert(0, str(Path(__file__).parent))

import memxl

THIS_YEAR = dt.date.today().year


@pytest.fixture
def book():
    return memxl.new_book(
        {
            "客户": [["客户编号", "资产权益", "营业收入"], ["C1", 300000.0, 1200.0],
                   ["C2", 50000.0, None]],
            "控制台": [["期间", "2026-11"], ["模式", "quarterly"]],
        },
        name="分行.xlsm",
    )


@pytest.fixture
def sheet(book):
    return book.sheets["客户"]


# ------------------------------------------------------------------------------ objects


def test_new_book_gives_real_xlwings_objects(book, sheet):
    assert type(book) is xw.Book
    assert type(sheet) is xw.Sheet
    assert type(sheet.range("A1")) is xw.Range
    assert type(book.app) is xw.App
    assert book.name == "分行.xlsm"
    assert book.fullname == "分行.xlsm"
    assert [s.name for s in book.sheets] == ["客户", "控制台"]
    assert book.sheets[-1].name == "控制台"
    assert book.app.engine.name == "memxl"


def test_fullname_and_separate_apps():
    b1 = memxl.new_book({"S": [[1]]}, name="a.xlsx", fullname=r"C:\data\a.xlsx")
    b2 = memxl.new_book({"S": [[2]]}, name="a.xlsx")
    assert b1.fullname == r"C:\data\a.xlsx"
    assert b1.app != b2.app  # each new_book has its own App (own alerts, status bar)
    b3 = memxl.new_book({"T": None}, name="b.xlsx", app=b1.app)
    assert b3.app == b1.app
    assert [b.name for b in b1.app.books] == ["a.xlsx", "b.xlsx"]
    assert b3.sheets["T"].used_range.address == "$A$1"
    with pytest.raises(memxl.ComError):
        memxl.new_book({"S": None}, name="A.xlsx", app=b1)


def test_sheet_lookup_is_case_insensitive_and_missing_sheet_is_a_com_error():
    book = memxl.new_book({"Clients": [[1]]})
    assert book.sheets["clients"].name == "Clients"
    with pytest.raises(memxl.ComError):
        book.sheets["缺失"]
    with pytest.raises(IndexError):
        book.sheets[5]


def test_in_book_sheets_is_always_false_as_on_windows(book):
    # main.Collection.__contains__ -> `key in impl`; _xlwindows.Sheets has no __contains__,
    # so Python compares the str with each sheet impl: never equal.
    assert "客户" not in book.sheets
    assert "客户" in [s.name for s in book.sheets]


# ------------------------------------------------------------------------------ reading


def test_reads_through_xlwings_conversion(sheet):
    assert sheet.range((1, 1), (2, 2)).options(ndim=2).value == [
        ["客户编号", "资产权益"], ["C1", 300000.0]]
    assert sheet.range("B2").value == 300000.0
    assert sheet.range("B2").options(ndim=2).value == [[300000.0]]
    assert sheet.range("A1:C1").value == ["客户编号", "资产权益", "营业收入"]
    assert sheet.range("B1:B3").value == ["资产权益", 300000.0, 50000.0]
    assert sheet.range("A1:B2").options(transpose=True).value == [
        ["客户编号", "C1"], ["资产权益", 300000.0]]
    assert sheet.range("B2:C3").options(numbers=int).value == [[300000, 1200], [50000, None]]
    assert sheet.range("C3").options(empty="").value == ""
    assert sheet.range("C3").value is None
    assert sheet["A1:C3"].options(ndim=2).value[2] == ["C2", 50000.0, None]


def test_raw_value_is_com_shaped(sheet):
    assert sheet.range("B2").raw_value == 300000.0
    assert sheet.range("A1:B2").raw_value == (("客户编号", "资产权益"), ("C1", 300000.0))
    assert sheet.range("A2:A3").raw_value == (("C1",), ("C2",))



def test_pandas_converter_runs_on_memxl(sheet):
    pd = pytest.importorskip("pandas")
    df = sheet.range("A1:C3").options(pd.DataFrame, index=False).value
    assert list(df.columns) == ["客户编号", "资产权益", "营业收入"]
    assert df["资产权益"].tolist() == [300000.0, 50000.0]
    out = sheet.book.sheets["控制台"]
    out.range("D1").options(index=False).value = pd.DataFrame({"x": [1.5, float("nan")],
                                                               "y": ["a", "b"]})
    assert memxl.to_rows(out)[:3] == [["期间", "2026-11", None, "x", "y"],
                                      ["模式", "quarterly", None, 1.5, "a"],
                                      [None, None, None, None, "b"]]


def test_used_range_and_last_cell(sheet):
    assert sheet.used_range.last_cell.row == 3
    assert sheet.used_range.last_cell.column == 3
    empty = sheet.book.sheets.add("空", after=sheet)
    assert empty.used_range.address == "$A$1"
    assert empty.used_range.last_cell.row == 1
    empty.range("C5").value = [[1, 2], [3, 4]]
    assert empty.used_range.address == "$C$5:$D$6"  # need not start at A1
    assert (empty.used_range.last_cell.row, empty.used_range.last_cell.column) == (6, 4)
    empty.range("C5:D6").clear_contents()
    assert empty.used_range.address == "$A$1"




# ------------------------------------------------------------------------------ coercion


def test_text_written_is_text_only_when_quoted_or_plain(sheet):
    # Excel's quote prefix: the rest of the entry is text, Range.Formula hides the apostrophe
    sheet.range("D1").value = [["'2026-11", "'=HYPERLINK(\"x\")", "'000123", "客户"]]
    assert sheet.range("D1:G1").value == ["2026-11", '=HYPERLINK("x")', "000123", "客户"]
    assert [memxl.cell(sheet, a).prefix for a in ("D1", "E1", "F1", "G1")] == [True] * 3 + [False]
    assert sheet.range("D1").formula == "2026-11"
    sheet.range("H1").value = "=CLIENT_TIER(F2,G2)"  # "=" starts a formula
    assert memxl.cell(sheet, "H1").formula == "=CLIENT_TIER(F2,G2)"
    # what Excel's entry parsing may turn into a number, date, bool or error is not modelled
    for text in ("2026-11", "000123", "12%", "TRUE", "-5", "#N/A", "2026年11月"):
        with pytest.raises(NotImplementedError):
            sheet.range("A9").value = text


# ------------------------------------------------------------------------------ values


def test_none_and_empty_string_clear(sheet):
    sheet.range("B2").value = None
    sheet.range("C2").value = ""
    assert memxl.cell(sheet, "B2") == memxl.Cell(None)
    assert memxl.cell(sheet, "C2").value is None
    sheet.range("A2:C2").value = None  # None empties the whole range
    assert sheet.range("A2:C2").value == [None, None, None]


def test_numbers_bools_and_other_types(sheet):
    sheet.range("A5").value = [[7, True, decimal.Decimal("1.25"), float("nan")]]
    assert sheet.range("A5:D5").value == [7.0, True, 1.25, None]
    assert type(sheet.range("A5").value) is float
    assert memxl.cell(sheet, "D5").value is None  # NaN -> "" (xlwings' prepare step) -> empty
    with pytest.raises(NotImplementedError):
        sheet.range("A6").value = float("inf")
    with pytest.raises(TypeError):
        sheet.range("A6").value = object()


def test_dates_are_stored_as_dates_and_read_back_as_datetime(sheet):
    sheet.range("A7").value = [[dt.date(2026, 11, 3), dt.datetime(2026, 11, 3, 9, 30),
                                dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)]]
    assert sheet.range("A7:C7").value == [dt.datetime(2026, 11, 3),
                                          dt.datetime(2026, 11, 3, 9, 30),
                                          dt.datetime(2026, 1, 1, 8)]  # tz cut off, as Windows
    assert sheet.range("A7").options(dates=dt.date).value == dt.date(2026, 11, 3)
    assert memxl.cell(sheet, "A7").number_format == "yyyy/m/d"
    assert memxl.cell(sheet, "B7").number_format == "yyyy/m/d h:mm"
    assert sheet.range("A7").formula == "11/3/2026"
    # a number in a date-formatted cell reads back as a datetime (the format stays)
    sheet.range("A7").clear_contents()
    sheet.range("A7").value = 46000
    assert sheet.range("A7").value == dt.datetime(2025, 12, 9)








# ------------------------------------------------------------------------------ formulas


def test_formula_reads_like_range_formula():
    sheet = memxl.new_book({"S": [["x", 300000.0, 50000.0, "=CLIENT_TIER(B2,C2)", True, "'007",
                                   0.1, memxl.XlError("#N/A")]]}).sheets[0]
    assert sheet.range("D1").formula == "=CLIENT_TIER(B2,C2)"
    assert sheet.range("D1").value is None  # nothing is calculated
    assert sheet.range("B1").formula == "300000"
    assert sheet.range("E1").formula == "TRUE"
    assert sheet.range("F1").formula == "'007"  # (planted: the apostrophe is the text's)
    sheet.range("F1").value = "'007"  # entered: Excel's quote prefix, hidden by Range.Formula
    assert sheet.range("F1").formula == "007"
    assert sheet.range("G1").formula == "0.1"
    assert sheet.range("H1").formula == "#N/A"
    assert sheet.range("Z99").formula == ""
    assert sheet.range("B1:C1").formula == (("300000", "50000"),)  # tuple of row tuples
    assert sheet.range("A1:A1").formula == "x"






# ------------------------------------------------------------------------------ errors


def test_error_cells_read_like_windows():
    sheet = memxl.new_book({"S": [["C2", memxl.XlError("#N/A"), memxl.XlError("#DIV/0!")]]}
                           ).sheets[0]
    assert sheet.range("B1").value is None
    assert sheet.range("B1:C1").options(err_to_str=True).value == ["#N/A", "#DIV/0!"]
    assert sheet.range("B1").raw_value == -2146826246  # COM's int
    assert memxl.cell(sheet, "B1").value == memxl.XlError("#N/A")
    assert memxl.to_rows(sheet)[0] == ["C2", "#N/A", "#DIV/0!"]


def test_newer_errors_reach_xlwings_users_as_raw_ints():
    sheet = memxl.new_book({"S": [[memxl.XlError("#SPILL!")]]}).sheets[0]
    assert sheet.range("A1").options(err_to_str=True).value == -2146826243
    with pytest.raises(ValueError):
        memxl.XlError("#OOPS")


def test_error_table_is_the_windows_engines():
    src = Path(xw.__file__).with_name("_xlwindows.py").read_text(encoding="utf-8")
    tree = ast.parse(src)
    table = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                 and getattr(n.targets[0], "id", None) == "cell_errors")
    assert table == {code: text for text, code in memxl.ERROR_CODES.items()}
    assert {t: -2146826288 + n for t, n in {"#NULL!": 0, "#DIV/0!": 7, "#N/A": 42}.items()} == \
        {t: memxl.ERROR_CODES[t] for t in ("#NULL!", "#DIV/0!", "#N/A")}


# ------------------------------------------------------------------------------ writing


def test_two_d_write_from_the_anchor_is_one_call(sheet):
    sheet.range("A5").value = [["x", 1], ["y", 2]]
    assert memxl.to_rows(sheet)[4:6] == [["x", 1.0, None], ["y", 2.0, None]]
    assert memxl.writes(sheet) == [memxl.Write("value", "$A$5:$B$6", 5, 1, 2, 2)]


def test_a_transposed_list_is_one_column_in_one_call(sheet):
    sheet.range((2, 5)).options(transpose=True).value = ["a", "b", None]
    assert sheet.range("E2:E4").value == ["a", "b", None]
    assert memxl.writes(sheet) == [memxl.Write("value", "$E$2:$E$4", 2, 5, 3, 1)]
    sheet.range((2, 5), (3, 5)).clear_contents()
    assert sheet.range("E2:E3").formula == (("",), ("",))
    assert [w.kind for w in memxl.writes(sheet)] == ["value", "clear_contents"]


def test_each_output_column_written_in_one_call(sheet):
    for c, values in ((5, ["A", "B"]), (6, ["x", "y"])):
        sheet.range((2, c)).options(transpose=True).value = values
    per_column = {}
    for w in memxl.writes(sheet):
        per_column[w.column] = per_column.get(w.column, 0) + 1
    assert per_column == {5: 1, 6: 1}


def test_xlwings_itself_chunks_writes_above_100000_cells():
    s = memxl.new_book({"S": None}).sheets[0]
    s.range("A1").options(transpose=True).value = [1.0] * 100_001
    assert [(w.row, w.nrows) for w in memxl.writes(s)] == [(1, 100_000), (100_001, 1)]
    s.range("B1").options(transpose=True, chunksize=None).value = [1.0] * 100_001
    assert len(memxl.writes(s)) == 3


# ------------------------------------------------------------------------------ sheets


def test_add_sheets(book):
    hist = book.sheets.add("变更记录", after=book.sheets[-1])
    assert [s.name for s in book.sheets] == ["客户", "控制台", "变更记录"]
    assert type(hist) is xw.Sheet
    with pytest.raises(ValueError):  # xlwings checks duplicates itself
        book.sheets.add("变更记录", after=hist)
    hist.name = "记录"
    assert hist.name == "记录"
    with pytest.raises(memxl.ComError):
        hist.name = "客户"




# ------------------------------------------------------------------------------ charts


def test_charts(sheet):
    chart = sheet.charts.add(300, 20, 480, 300)
    assert type(chart) is xw.Chart
    chart.set_source_data(sheet.range((1, 1), (3, 3)))
    chart.chart_type = "column_clustered"
    assert chart.chart_type == "column_clustered"
    assert sheet.charts.count == 1
    assert memxl.charts(sheet) == [
        {"name": "Chart 1", "chart_type": "column_clustered", "source": "客户!$A$1:$C$3"}]
    with pytest.raises(ValueError):
        sheet.charts.add(0, 0, 10, 10).chart_type = "no_such_type"  # validated by xlwings


# ------------------------------------------------------------------------------ app


def test_status_bar_and_settings(book):
    app = book.app
    assert app.status_bar is False
    app.status_bar = "客户分级：读取…"
    assert app.status_bar == "客户分级：读取…"
    app.screen_updating = False
    app.calculation = "manual"
    app.status_bar = False
    assert memxl.status_history(app) == ["客户分级：读取…", False]
    assert app.screen_updating is False and app.calculation == "manual"
    with pytest.raises(KeyError):
        app.calculation = "auto"




def test_app_properties_context_manager_restores(book):
    app = book.app
    with app.properties(screen_updating=False, calculation="manual"):
        assert app.calculation == "manual"
    assert app.calculation == "automatic" and app.screen_updating is True

def test_alerts(book):
    app = book.app
    assert app.alert("完成", title="客户分级", buttons="ok", mode="info") == "ok"
    memxl.queue_answers(app, "yes")
    assert app.alert("强制重跑？", title="客户分级", buttons="yes_no", mode="critical") == "yes"
    assert app.alert("无标题") == "ok"
    assert memxl.alerts(book) == [("客户分级", "完成", "ok", "info"),
                                  ("客户分级", "强制重跑？", "yes_no", "critical"),
                                  ("", "无标题", "ok", None)]
    with pytest.raises(AssertionError, match="queue_answers"):
        app.alert("再来？", buttons="yes_no")
    memxl.queue_answers(app, "cancel")
    with pytest.raises(AssertionError):
        app.alert("再来？", buttons="yes_no")
    with pytest.raises(KeyError):
        app.alert("x", buttons="okay")
    with pytest.raises(KeyError):
        app.alert("x", mode="warning")
    with pytest.raises(TypeError):
        app.alert(ValueError("not a str"))


# ------------------------------------------------------------------------------ engine


def test_activate_registers_and_restores_the_engine():
    before = (list(xw.engines), xw.engines.active)
    with memxl.activate() as engine:
        assert xw.engines.active is engine
        book = memxl.new_book({"S": [["x"]]}, name="a.xlsx")
        assert xw.books.active == book
        assert xw.Range("A1").value == "x"
        assert xw.apps.active == book.app
    assert (list(xw.engines), xw.engines.active) == before
    assert "memxl" not in xw.engines.engines_by_name


def test_books_work_without_activation():
    assert xw.engines.active is None or xw.engines.active.name != "memxl"
    book = memxl.new_book({"S": [[1]]})
    assert book.sheets[0].range("A1").value == 1.0




# ------------------------------------------------------------------------------ files


def test_from_file_loads_what_the_headless_reader_sees(tmp_path):
    import xlsxwriter

    from workbook.xlsxio import read_sheet

    path = tmp_path / "分行.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("客户")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, ["客户编号", "资产权益", "开户日期", "级别"])
    ws.write_string(1, 0, "00123")
    ws.write_number(1, 1, 300000)
    ws.write_datetime(1, 2, dt.datetime(2020, 5, 6), date_fmt)
    ws.write_formula(1, 3, "=CLIENT_TIER(B2,0)", None, "A")
    ws.write_string(2, 0, "2026-11")
    ws.write_formula(2, 1, "=1/0", None, "#DIV/0!")
    ws.write_boolean(2, 2, True)
    wb.add_worksheet("空")
    wb.close()

    book = memxl.from_file(path)
    assert book.name == "分行.xlsx"
    assert book.fullname == str(path)
    assert [s.name for s in book.sheets] == ["客户", "空"]
    s = book.sheets["客户"]
    assert memxl.to_rows(s) == [
        ["客户编号", "资产权益", "开户日期", "级别"],
        ["00123", 300000.0, dt.datetime(2020, 5, 6), "A"],
        ["2026-11", "#DIV/0!", True, None],
    ]
    assert s.range("A2").value == "00123"  # text stays text when loaded
    assert s.range("D2").formula == "=CLIENT_TIER(B2,0)"
    assert memxl.cell(s, "B3") == memxl.Cell(memxl.XlError("#DIV/0!"), "=1/0")
    data = read_sheet(path, "客户")
    assert {(r, c): "=" + f for (r, c), f in data.formulas.items()} == {
        k: v.formula for k, v in memxl.cells(s).items() if v.formula}
    assert memxl.to_rows(book.sheets["空"]) == []
