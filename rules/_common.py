"""Small helpers shared by the rule modules: data-file loading and date arithmetic."""

from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import RulebookError, RuleInputError, show

M = TypeVar("M", bound=BaseModel)


def read_toml(path: Path | str, what: str) -> dict[str, Any]:
    """The one reader of rules/' TOML data files (rulebooks, parameters, policies): a file that
    cannot be read or is not TOML is a :class:`RulebookError` naming ``what`` and the file."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RulebookError(f"无法读取{what} {path}：{exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RulebookError(f"无法读取{what} {path}：不是有效的 TOML（{exc}）") from exc


def load_toml_model(path: Path | str, model: type[M], what: str) -> M:
    """Read a TOML data file and validate it; errors name ``what``, the file and the field."""
    path = Path(path)
    raw = read_toml(path, what)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "（根）"
        raise RulebookError(f"{what} {path} 的字段 {where} 无效：{err['msg']}") from exc


def as_date(v: Any, field: str = "日期") -> date:
    """A date from a date or datetime; anything else is a :class:`RuleInputError`."""
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    raise RuleInputError(f"{field} {show(v)} 不是日期", field=field, value=v)


def month_end(year: int, month: int) -> date:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return nxt - timedelta(days=1)


def add_years(d: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)
