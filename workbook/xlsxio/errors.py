"""Errors of the workbook file layer. Messages are in Chinese: they are shown to end users."""

from __future__ import annotations

from rules.errors import ClientRatingError


class XlsxError(ClientRatingError):
    """A workbook file cannot be read or written. ``str(err)`` is a message for the end user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WorkbookLockedError(XlsxError):
    """The workbook is open in Excel (an owner file ``~$...`` lies beside it)."""


class UnsafeWorkbookError(XlsxError):
    """The file is not a workbook we agree to open: not a zip, too big, zip bomb, DTD..."""


class CellRefError(XlsxError, ValueError):
    """A cell reference outside Excel's grid (beyond column XFD = 16384 or row 1048576)."""


class CellError:
    """A cached Excel error value (``#N/A``, ``#DIV/0!``...) read from or written to a cell."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CellError) and other.text == self.text

    def __hash__(self) -> int:
        return hash(("CellError", self.text))

    def __repr__(self) -> str:
        return f"CellError({self.text!r})"

    def __str__(self) -> str:
        return self.text
