"""Deprecated home of cell coercion: it lives in :mod:`rules.cells` now (no xlwings). Kept as a
re-export while workbook/ and the audit switch their imports; remove then."""

from rules.cells import (
    EXCEL_ERRORS,
    date,
    error_cell,
    flag,
    integer,
    is_error_text,
    number,
    number_column,
    parse_number,
    text,
)

__all__ = ["EXCEL_ERRORS", "date", "error_cell", "flag", "integer", "is_error_text", "number",
           "number_column", "parse_number", "text"]
