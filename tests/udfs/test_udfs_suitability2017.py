"""INVESTOR_TYPE, INVESTOR_LEVEL, PRODUCT_MATCH as a cell sees them (values typed by hand from
办法第八条、第十一条、第十八条、第十九条、第二十二条; docs/suitability.md)."""

from __future__ import annotations

import pytest

import udfs


def c(v):
    return [[v]]


@pytest.mark.parametrize(("args", "out"), [
    (("个人", "500万", None, 2), "专业投资者B（办法第八条第（五）项）"),
    (("个人", 4_999_999.99, None, 2), "普通投资者（办法第十条）"),
    (("个人", None, "50万", None, None, None, 2), "专业投资者B（办法第八条第（五）项）"),
    (("个人", 6_000_000, None, None, None, None, None, "是"), "专业投资者B（办法第八条第（五）项）"),
    (("机构", 10_000_000, None, 2, 20_000_000), "专业投资者B（办法第八条第（四）项）"),
    (("机构", 10_000_000, None, 2, 19_999_999.99), "普通投资者（办法第十条）"),
    (("产品", None, None, None, None, "理财产品"), "专业投资者A（办法第八条第（二）项）"),
    (("个人", "500万", None, 2, None, None, None, False, "申请普通"),
     "普通投资者（办法第十一条第二款）"),
    (("个人", "300万", None, 1, None, None, None, False, "批准专业"),
     "专业投资者B（办法第十一条第三款第（二）项、第十二条）"),
    (("个人", "300万", None, 1, None, None, None, False, "申请专业"),
     "普通投资者（办法第十一条第三款第（二）项、第十二条）"),
])
def test_investor_type(args, out):
    assert udfs.INVESTOR_TYPE(*map(c, args)) == out


@pytest.mark.parametrize(("args", "start"), [
    (("个人", -5), "#VALUE! 金融资产不能为负数：-5"),
    ((None, 1), "#N/A 客户性质为空"),
    (("个人", 1, None, None, None, "大公司"), "#N/A 专业投资者类别 '大公司' 无法识别"),
    (("个人", "#DIV/0!"), "#N/A 金融资产单元格为错误值：#DIV/0!"),
])
def test_investor_type_errors(args, start):
    out = udfs.INVESTOR_TYPE(*map(c, args))
    assert out.startswith(start) and len(out) <= 255


def test_investor_level_cells_and_ranges():
    assert udfs.INVESTOR_LEVEL(c(19)) == "C1"
    assert udfs.INVESTOR_LEVEL(c(20)) == "C2"
    assert udfs.INVESTOR_LEVEL(c(80.0)) == "C5"
    assert udfs.INVESTOR_LEVEL(c(95), c(True)) == "C1（最低类别）"
    assert udfs.INVESTOR_LEVEL(c(None), c("是")) == "C1（最低类别）"
    assert udfs.INVESTOR_LEVEL(c(None)) == "#N/A 风险测评得分为空"
    assert udfs.INVESTOR_LEVEL(c(101)).startswith("#VALUE! 风险测评得分须在 0–100 之间")
    assert udfs.INVESTOR_LEVEL([[10], [50], [90]]) == [["C1"], ["C3"], ["C5"]]


def test_investor_level_expired_assessment_is_not_used():
    import datetime as dt

    done = dt.datetime(2024, 6, 30)
    assert udfs.INVESTOR_LEVEL(c(59), c(None), c(done), c(dt.datetime(2026, 6, 30))) == "C3"
    assert udfs.INVESTOR_LEVEL(c(59), c(None), c(done), c(dt.datetime(2026, 7, 1))) == "测评过期"
    assert udfs.INVESTOR_LEVEL(c(59), c(None), c(done), c(dt.datetime(2024, 1, 1))).startswith(
        "#VALUE! 测评日期 2024-06-30 晚于统计日期")


def test_product_match_table_in_one_range():
    levels = [["C1"], ["C2"], ["C3"], ["C4"], ["C5"]]
    for p in range(1, 6):
        got = [r[0] for r in udfs.PRODUCT_MATCH(levels, c(f"R{p}"))]
        assert got == ["适当" if p <= lv else "需特别风险警示" for lv in range(1, 6)]


def test_product_match_warning_and_lowest():
    assert udfs.PRODUCT_MATCH(c("C2"), c("R3"), c(True)) == "可销售（已特别风险警示）"
    assert udfs.PRODUCT_MATCH(c("C1（最低类别）"), c("R2"), c(True)) == "不得销售"
    assert udfs.PRODUCT_MATCH(c("C1（最低类别）"), c("低风险")) == "适当"
    assert udfs.PRODUCT_MATCH(c("专业投资者B"), c("R5")) == "适当"
    assert udfs.PRODUCT_MATCH(c("C3"), c("中")).startswith("#N/A 产品风险等级 '中' 无法识别")
    assert udfs.PRODUCT_MATCH(c("C3"), c("R2"), c("也许")).startswith("#VALUE! 风险警示确认")
