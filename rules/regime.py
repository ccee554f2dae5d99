"""The suitability regimes' data files (2017 办法 and later versions): ``rules/data/suitability/<id>/
<version>.toml`` (and a firm's ``<CLIENT_RATING_RULES_DIR>/suitability``), validated, chosen by
date, with the firm's settings (``CLIENT_RATING_PARAMS`` table ``[<id>]``) applied —
:func:`get_regime` gives the :class:`Regime` that ``rules.appropriateness`` decides with."""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._common import collect_versions, load_toml_model
from .engine import Rulebook
from .errors import RulebookError, RuleInputError, show
from .registry import get_rulebook, load_parameter_file
from .settings import on_file_change, snapshot

DATA_DIR = Path(__file__).parent / "data" / "suitability"
DEFAULT_REGIME = "csrc-2017"
LEVELS = ("C1", "C2", "C3", "C4", "C5")
PRODUCT_LEVELS = ("R1", "R2", "R3", "R4", "R5")


def norm_key(v: Any) -> str:
    """A text as compared with the regime's names: NFKC, no whitespace, upper case."""
    return "".join(unicodedata.normalize("NFKC", str(v)).split()).upper()


# --------------------------------------------------------------------------- the data file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Source(_Strict):
    document: str
    article: str
    note: str = ""


class _Category(_Strict):
    code: str
    label: str
    aliases: tuple[str, ...] = ()


class _ProA(_Strict):
    article: str
    note: str = ""
    categories: tuple[_Category, ...] = Field(min_length=1)


class _Institution(_Strict):
    article: str
    net_assets_min: float = Field(gt=0)
    financial_assets_min: float = Field(gt=0)
    investment_years_min: float = Field(gt=0)


class _Individual(_Strict):
    article: str
    financial_assets_min: float = Field(gt=0)
    income_min: float = Field(gt=0)
    investment_years_min: float = Field(gt=0)
    work_years_min: float = Field(gt=0)


class _Thresholds(_Strict):
    institution: _Institution
    individual: _Individual


class _Article(_Strict):
    article: str
    note: str = ""


class _ToOrdinary(_Strict):
    article: str
    from_categories: tuple[str, ...]
    note: str = ""


class _ProductLevel(_Strict):
    code: str = Field(pattern=r"^R[1-5]$")
    label: str


class _Matching(_Strict):
    article: str
    C1: str
    C2: str
    C3: str
    C4: str
    C5: str
    professional: str = "R5"


class _Warning(_Strict):
    article: str
    ban_article: str
    lowest_max: str = "R1"


class _Lowest(_Strict):
    article: str
    situations: tuple[str, ...]


class _Assessment(_Strict):
    article: str
    valid_years: int = Field(ge=1)
    note: str = ""


class RegimeFile(_Strict):
    """One version of a suitability regime, as written in its data file."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    version: str
    title: str
    effective_from: dt.date
    effective_to: dt.date | None = None
    level_rulebook: str
    source: _Source
    professional_a: _ProA
    professional_b: _Thresholds
    ordinary: _Article
    to_ordinary: _ToOrdinary
    to_professional: _Thresholds
    product_levels: tuple[_ProductLevel, ...]
    matching: _Matching
    warning: _Warning
    lowest: _Lowest
    assessment: _Assessment
    legacy: dict[str, str]

    @model_validator(mode="after")
    def _consistent(self) -> RegimeFile:
        if tuple(p.code for p in self.product_levels) != PRODUCT_LEVELS:
            raise ValueError(f"product_levels 应依次为 {'、'.join(PRODUCT_LEVELS)}")
        for name in (*LEVELS, "professional"):
            if getattr(self.matching, name) not in PRODUCT_LEVELS:
                raise ValueError(f"matching.{name} 应为 R1–R5 之一")
        if self.warning.lowest_max not in PRODUCT_LEVELS:
            raise ValueError("warning.lowest_max 应为 R1–R5 之一")
        for k, v in self.legacy.items():
            if k != "article" and v not in LEVELS:
                raise ValueError(f"legacy.{k} 应为 C1–C5 之一，而不是 {v!r}")
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError("effective_to 早于 effective_from")
        return self


def regime_dirs() -> list[Path]:
    """Firm directories first (``<CLIENT_RATING_RULES_DIR>/suitability``), then the shipped one."""
    return [*(p / "suitability" for p in snapshot().firm_dirs), DATA_DIR]


def _load(path: Path) -> RegimeFile:
    return load_toml_model(path, RegimeFile, "适当性规则文件")


@functools.cache
def _versions(regime_id: str, dirs: tuple[Path, ...]) -> tuple[tuple[RegimeFile, Path], ...]:
    return collect_versions(regime_id, dirs, lambda f: sorted(f.glob("*.toml")), _load, "适当性规则")


def regime_ids() -> list[str]:
    return list(_regime_ids(tuple(regime_dirs())))


@functools.cache
def _regime_ids(dirs: tuple[Path, ...]) -> tuple[str, ...]:
    """Regime ids found in ``dirs``, scanned once per set of directories (and again when a file
    changed: rules.settings)."""
    return tuple(sorted({p.name for d in dirs if d.is_dir() for p in d.iterdir()
                         if p.is_dir() and any(p.glob("*.toml"))}))


def versions(regime_id: str = DEFAULT_REGIME) -> list[RegimeFile]:
    """Every version of a regime, oldest first."""
    return [v for v, _ in _versions(_check_id(regime_id), tuple(regime_dirs()))]


def _check_id(regime_id: Any) -> str:
    if isinstance(regime_id, str) and regime_id.strip().lower() in regime_ids():
        return regime_id.strip().lower()
    raise RuleInputError(f"未知的适当性规则：{show(regime_id)}（可用：{'、'.join(regime_ids())}）",
                         field="适当性规则", value=regime_id, kind="na")


#: numbers a firm may set in its parameter file (CLIENT_RATING_PARAMS, table [csrc-2017])
FIRM_SETTINGS = {"valid_years": "测评有效期（年）", "legacy_conservative": "保守型对应的 C 级别（1–5）",
                 "legacy_balanced": "稳健型对应的 C 级别（1–5）",
                 "legacy_aggressive": "进取型对应的 C 级别（1–5）"}
_LEGACY_KEYS = {"legacy_conservative": "保守型", "legacy_balanced": "稳健型",
                "legacy_aggressive": "进取型"}


def get_regime(regime_id: str = DEFAULT_REGIME, as_of: dt.date | None = None,
               settings: Mapping[str, float] | None = None) -> Regime:
    """The regime version in force on ``as_of`` (default today), with the firm's settings
    (``CLIENT_RATING_PARAMS`` table ``[<id>]``, then ``settings``) applied; kept in the memo of
    the settings in force (rules.settings), like the rulebooks."""
    snap = snapshot()
    given = tuple(sorted(settings.items())) if settings else ()
    key = ("regime", regime_id, as_of, given, DATA_DIR) if type(regime_id) is str else None
    return snap.recall(key, lambda: _regime(_check_id(regime_id), as_of or snap.today,
                                            snap.params, given, tuple(regime_dirs())))


@functools.lru_cache(maxsize=64)
def _regime(rid: str, as_of: dt.date, params_file: str, settings: tuple[tuple[str, float], ...],
            dirs: tuple[Path, ...]) -> Regime:
    """One Regime per day, firm file and settings (an Excel range calls it once per cell)."""
    found = [(v, p) for v, p in _versions(rid, dirs)
             if v.effective_from <= as_of and (v.effective_to is None or as_of <= v.effective_to)]
    if not found:
        raise RuleInputError(f"适当性规则 {rid} 在 {as_of} 没有生效的版本", field="日期",
                             value=as_of, kind="na")
    data, path = max(found, key=lambda t: t[0].effective_from)
    firm: dict[str, float] = {}
    if params_file:
        firm.update(load_parameter_file(Path(params_file)).get(rid, {}))
    firm.update(dict(settings))
    return Regime(data, path, as_of, firm)


for _cache in (_versions, _regime_ids, _regime):
    on_file_change(_cache.cache_clear)


class Regime:
    """A regime version ready to decide: its file, the firm settings, the C-level rulebook."""

    def __init__(self, data: RegimeFile, path: Path | None, as_of: dt.date,
                 settings: Mapping[str, float]) -> None:
        self.data = data
        self.path = path
        self.as_of = as_of
        self.ref = f"{data.id}@{data.version}"
        for name, v in settings.items():
            if name not in FIRM_SETTINGS:
                raise RulebookError(f"适当性规则 {self.ref} 没有公司参数 {name!r}"
                                    f"（可用：{'、'.join(FIRM_SETTINGS)}）")
            if name == "valid_years" and not (v >= 1 and float(v).is_integer()):
                raise RulebookError(f"公司参数 valid_years 须为不小于 1 的整数（年）：{show(v)}")
            if name in _LEGACY_KEYS and v not in (1, 2, 3, 4, 5):
                raise RulebookError(f"公司参数 {name} 须为 1–5（C1–C5）：{show(v)}")
        self.settings = dict(settings)
        self.valid_years = int(settings.get("valid_years", data.assessment.valid_years))
        self.legacy = {k: v for k, v in data.legacy.items() if k != "article"}
        for key, label in _LEGACY_KEYS.items():
            if key in settings:
                self.legacy[label] = f"C{int(settings[key])}"
        self.max_product = {lv: getattr(data.matching, lv) for lv in LEVELS}
        self.categories: dict[str, Any] = {}
        for c in data.professional_a.categories:
            for name in (c.code, c.label, *c.aliases):
                self.categories[norm_key(name)] = c

    @functools.cached_property
    def levels(self) -> Rulebook:
        """The C-level rulebook in force (score bands: firm configuration)."""
        return get_rulebook(self.data.level_rulebook, self.as_of)

    def __repr__(self) -> str:
        return f"Regime({self.ref})"
