"""Small helpers shared by the rule modules: data-file loading and date arithmetic."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

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


class _Versioned(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def effective_from(self) -> date: ...


V = TypeVar("V", bound=_Versioned)


def collect_versions(item_id: str, dirs: Iterable[Path], files: Callable[[Path], Iterable[Path]],
                     load: Callable[[Path], V], what: str) -> tuple[tuple[V, Path], ...]:
    """Every version of ``item_id`` (a rulebook or a regime) in ``dirs`` (firm directories first,
    the shipped one last), oldest start first. A firm file never replaces a shipped one: a
    version found twice with different contents is a RulebookError naming both files (an
    identical copy is ignored) — every decision names ``id@version``, and an auditor must find
    the one text behind it. ``what`` names the kind in messages (规则, 适当性规则)."""
    found: dict[str, tuple[V, Path]] = {}
    for d in reversed(list(dirs)):  # shipped first, then the firm directories
        folder = d / item_id
        if not folder.is_dir():
            continue
        for p in files(folder):
            data = load(p)
            if data.id != item_id:
                raise RulebookError(f"{what}文件 {p} 的 id 为 {data.id!r}，与目录 {item_id!r} 不符")
            if data.version in found:
                first, first_path = found[data.version]
                if data == first:  # a plain copy: the same text, nothing is replaced
                    continue
                raise RulebookError(
                    f"{what} {data.id}@{data.version} 有两个内容不同的文件：{p} 与 {first_path}。"
                    f"同一版本号只能对应一份规则：请给公司修订的规则一个新的版本号"
                    f"（version）和生效日期（effective_from），或删除其中一个文件")
            found[data.version] = (data, p)
    return tuple(sorted(found.values(), key=lambda t: t[0].effective_from))
