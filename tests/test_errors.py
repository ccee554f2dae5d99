"""One error root (issue 11): every product error is a ClientRatingError, and the console
command's one guard turns any of them into one Chinese line, never a traceback."""

from __future__ import annotations

import pytest

from addin.cli_errors import guard
from rules.errors import (
    ClientRatingError,
    ParameterMissingError,
    RulebookError,
    RuleError,
    RuleInputError,
)
from workbook.run.periods import PeriodOrderError
from workbook.schema import WorkbookError
from workbook.xlsxio import UnsafeWorkbookError, WorkbookLockedError, XlsxError


@pytest.mark.parametrize("cls", [RuleError, RuleInputError, RulebookError, ParameterMissingError,
                                 WorkbookError, PeriodOrderError, XlsxError, WorkbookLockedError,
                                 UnsafeWorkbookError])
def test_every_product_error_has_one_root(cls: type) -> None:
    assert issubclass(cls, ClientRatingError)


def test_rule_errors_stay_value_errors() -> None:  # callers that catch ValueError keep working
    assert issubclass(RuleInputError, ValueError)


@pytest.mark.parametrize("err", [WorkbookError("工作簿没有“客户”工作表"),
                                 XlsxError("文件不是有效的 .xlsx 工作簿"),
                                 RuleInputError("资产权益不能为负数：-5", field="资产权益", value=-5)])
def test_the_guard_shows_any_product_error_as_one_line(err: Exception, capsys) -> None:
    def run() -> int:
        raise err

    assert guard(run, 7) == 7
    assert capsys.readouterr().err == f"错误：{err}\n"


def test_the_guard_lets_programming_errors_through() -> None:
    def run() -> int:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        guard(run, 1)


def test_cli_rerate_of_a_file_that_is_not_a_workbook_says_so_in_one_line(tmp_path, capsys) -> None:
    from addin.cli import main

    f = tmp_path / "客户.xlsx"
    f.write_text("客户编号,资产权益\n1,5\n", encoding="utf-8")
    assert main(["rerate", str(f), "--period", "2026Q3", "--mode", "quarterly",
                 "--operator", "张三"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("错误：") and err.count("\n") == 1 and "Traceback" not in err
