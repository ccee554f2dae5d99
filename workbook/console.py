"""The buttons of the 控制台 sheet: their captions, once (the template draws them; the add-in's
ribbon, addin/buttons.py, takes the same captions for the same keys).

The VBA behind them (macro names, the workbook's VBA project) belongs to the add-in: the template
gets it as an argument (:class:`ButtonMacros`, implemented by ``addin.buttons.WORKBOOK_MACROS``),
so workbook/ never imports addin/. This module imports nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

#: (caption, key) of the 控制台 buttons, in order; key is a re-rating mode or "audit".
BUTTONS: list[tuple[str, str]] = [("季度重评级", "quarterly"), ("年度评级", "annual"),
                                  ("新开户评级", "new-accounts"), ("审计检查", "audit")]
#: key -> caption
CAPTIONS: dict[str, str] = {key: caption for caption, key in BUTTONS}


class ButtonMacros(Protocol):
    """What a macro-enabled (.xlsm) branch workbook needs from the add-in for its buttons."""

    def macro(self, key: str) -> str:
        """The name of the workbook's Sub that button ``key`` is bound to."""
        ...

    def vba_project(self, sheet_code_names: Sequence[str], keys: Sequence[str]) -> bytes:
        """``vbaProject.bin``: a document module per sheet code name, one Sub per key."""
        ...
