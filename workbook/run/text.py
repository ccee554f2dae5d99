"""How a run turns cells into the texts it logs and compares."""

from __future__ import annotations

from typing import Any

from .. import history


def exact(x: float) -> str:
    """A number in 输入数据 exactly as read (thousands separated, never rounded), so the audit
    re-evaluates the logged inputs to the same rule: 9,999,999.995 stays 9,999,999.995."""
    return f"{int(x):,}" if x.is_integer() and abs(x) < 1e15 else f"{x:,}"


def stripped(v: Any) -> str:
    """A cell as trimmed text (None is "")."""
    return history.cell_text(v).strip()


def texts(values: list[Any]) -> list[str]:
    """``[stripped(v) for v in values]``; texts only (the usual tier column) at C speed."""
    try:
        return list(map(str.strip, values))
    except TypeError:
        return list(map(stripped, values))
