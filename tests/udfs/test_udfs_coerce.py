"""Excel cell values -> numbers, dates, texts (rules.cells) and the shape wrapper (rules.functions.shape)."""

import datetime as dt

import pytest

from rules import cells as _coerce
from rules.errors import RuleInputError
from rules.functions import shape as _shape


@pytest.mark.parametrize(("cell", "expected"), [
    (250000.0, 250000.0),
    (3, 3.0),
    ("250000", 250000.0),
    (" 25万 ", 250000.0),
    ("25万元", 250000.0),
    ("1,000,000", 1_000_000.0),
    ("1.2亿", 120_000_000.0),
    ("０.３５万", 3500.0),          # full-width digits and point
    ("２５万", 250000.0),
    ("１，０００，０００", 1_000_000.0),  # full-width commas
    ("¥1,234.5", 1234.5),
    ("-1", -1.0),
    ("1e3", 1000.0),
    ("50%", 0.5),
    ("\u300025万\u3000", 250000.0),  # ideographic spaces
])
def test_number_reads_excel_texts(cell, expected):
    assert _coerce.number(cell, "资产权益") == expected


@pytest.mark.parametrize("cell", [None, "", "   "])
def test_empty_cells_are_none(cell):
    assert _coerce.number(cell, "资产权益") is None


@pytest.mark.parametrize(("cell", "start", "kind"), [
    (True, "资产权益不是数字：TRUE", "value"),
    (False, "资产权益不是数字：FALSE", "value"),
    ("abc", "资产权益不是数字：'abc'", "value"),
    ("1,00", "资产权益不是数字", "value"),       # misplaced thousands separator
    ("25万万", "资产权益不是数字", "value"),
    (dt.datetime(2024, 1, 1), "资产权益是日期，不是数字：2024-01-01", "value"),
    ("#DIV/0!", "资产权益单元格为错误值：#DIV/0!", "na"),
    ("#VALUE! 资产权益不能为负数：-1", "资产权益单元格为错误值：#VALUE!", "na"),
])
def test_number_refuses(cell, start, kind):
    with pytest.raises(RuleInputError) as e:
        _coerce.number(cell, "资产权益")
    assert e.value.message.startswith(start)
    assert e.value.kind == kind


@pytest.mark.parametrize(("cell", "expected"), [
    (dt.datetime(2024, 3, 31, 15, 0), dt.date(2024, 3, 31)),
    (dt.date(2024, 3, 31), dt.date(2024, 3, 31)),
    (45382.0, dt.date(2024, 3, 31)),    # Excel serial number of 2024-03-31
    (45382.75, dt.date(2024, 3, 31)),   # time part ignored
    (1.0, dt.date(1900, 1, 1)),
    (61.0, dt.date(1900, 3, 1)),        # after Excel's fictitious 1900-02-29
    ("2024-03-31", dt.date(2024, 3, 31)),
    ("2024/3/31", dt.date(2024, 3, 31)),
    ("2024年3月31日", dt.date(2024, 3, 31)),
    ("20240331", dt.date(2024, 3, 31)),
    (None, None),
])
def test_date(cell, expected):
    assert _coerce.date(cell, "测评日期") == expected


@pytest.mark.parametrize("cell", [True, "2024-02-30", "明天", -5.0, 1e9])
def test_date_refuses(cell):
    with pytest.raises(RuleInputError):
        _coerce.date(cell, "测评日期")


@pytest.mark.parametrize("cell", ["2024-03-31 10:00", "2024/3/31 9:30", " 2024-03-31  10:00:05 ",
                                  "2024-03-31T10:00", "２０２４－０３－３１　１０：００"])
def test_date_with_a_time_of_day(cell):
    assert _coerce.date(cell, "测评日期") == dt.date(2024, 3, 31)


@pytest.mark.parametrize("cell", ["2024-03-31 垃圾", "2024-03-31 10", "2024-03-31 1000"])
def test_date_with_junk_after_it_is_refused(cell):
    with pytest.raises(RuleInputError):
        _coerce.date(cell, "测评日期")


@pytest.mark.parametrize("word", ["高", "低"])
def test_flag_does_not_read_high_low_as_yes_no(word):
    # "高" is not "yes": HOLDING_STYLE(…, "高") must not mean "trades derivatives frequently"
    with pytest.raises(RuleInputError):
        _coerce.flag(word, "频繁衍生品交易")


def test_flag_and_text():
    assert _coerce.flag("是", "x") is True
    assert _coerce.flag(0.0, "x") is False
    assert _coerce.flag("低", "x", false_words=("低",)) is False
    assert _coerce.flag(None, "x") is None
    with pytest.raises(RuleInputError):
        _coerce.flag("也许", "x")
    assert _coerce.text("  核心 ", "级别") == "核心"
    with pytest.raises(RuleInputError):
        _coerce.text(3.0, "级别")


def test_number_column_fast_and_slow_paths():
    x, errors, empty = _coerce.number_column([1.0, 2, 3.5], "资产")
    assert x.tolist() == [1.0, 2.0, 3.5] and errors == {} and empty == []
    x, errors, empty = _coerce.number_column([1.0, None, "25万", True, ""], "资产")
    assert x[0] == 1.0 and x[2] == 250000.0
    assert empty == [1, 4]
    assert list(errors) == [3]


def test_error_text_is_short_and_never_a_traceback():
    assert _shape.error_text(RuleInputError("x" * 300)).startswith("#VALUE! xxx")
    assert len(_shape.error_text(RuleInputError("x" * 300))) == 255
    assert _shape.error_text(RuleInputError("缺", kind="na")) == "#N/A 缺"
    assert _shape.error_text(ZeroDivisionError("boom")) == "#VALUE! 内部错误：ZeroDivisionError（详见日志）"


def test_broadcast_shapes():
    assert _shape.broadcast_shape([[[1]], [[1], [2]]], ["a", "b"]) == (2, 1)
    assert _shape.broadcast_shape([[[1, 2], [3, 4]], [[1], [2]]], ["a", "b"]) == (2, 2)
    with pytest.raises(RuleInputError, match="大小不一致"):
        _shape.broadcast_shape([[[1], [2], [3]], [[1], [2]]], ["a", "b"])
    with pytest.raises(RuleInputError, match="一行与一列"):
        _shape.broadcast_shape([[[1, 2]], [[1], [2]]], ["a", "b"])
