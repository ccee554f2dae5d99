"""Finding, validating and choosing rulebook versions.

Rulebook files live in ``rules/data/rulebooks/<id>/<version>.toml``; a firm may add directories of its own
(``CLIENT_RATING_RULES_DIR``, ``os.pathsep``-separated), whose files add versions. A file with the
id and version of another one (shipped or firm) is refused at load, naming both files, unless its
content is the same: "brokerage@2009.1" in a decision must name one text, the one an auditor
reads (a firm that changes a rule publishes a new version; the one in force is chosen by date).
Firm parameters (e.g. the wealth thresholds the policy
leaves as "[X]") come from a TOML file named by ``CLIENT_RATING_PARAMS``, one table per rulebook.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ._common import collect_versions, read_toml
from .engine import Rulebook
from .errors import ParameterMissingError, RulebookError, RuleInputError
from .model import RulebookFile
from .settings import on_file_change, snapshot

DATA_DIR = Path(__file__).parent / "data" / "rulebooks"
DEFAULT_RULEBOOK = "brokerage"
EXAMPLE_PARAMETERS = DATA_DIR / "wealth" / "example-parameters.toml"


def data_dirs() -> list[Path]:
    """The rulebook directories: the firm's (``CLIENT_RATING_RULES_DIR``), then the shipped one."""
    return list(_dirs())


def _dirs() -> tuple[Path, ...]:
    """``data_dirs()`` of the settings in force (rules.settings: files changed since the last
    look drop the parsed ones)."""
    return (*snapshot().firm_dirs, DATA_DIR)


def _is_rulebook_file(p: Path) -> bool:
    return p.suffix == ".toml" and not p.name.endswith("parameters.toml")


def load_file(path: Path) -> RulebookFile:
    """Parse and validate one rulebook file; errors name the file, the rule and the field."""
    raw = read_toml(path, "规则文件")
    try:
        return RulebookFile.model_validate(raw)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = list(err["loc"])
            where = []
            if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
                rules = raw.get("rules") or []
                rid = rules[loc[1]].get("id", "?") if loc[1] < len(rules) else "?"
                where.append(f"规则 {rid}")
                loc = loc[2:]
            field = ".".join(str(x) for x in loc) or "（文件）"
            where.append(f"字段 {field}")
            problems.append(f"{'，'.join(where)}：{err['msg']}")
        raise RulebookError(f"规则文件 {path} 有误：" + "；".join(problems)) from e


@functools.cache
def _versions(rulebook_id: str, dirs: tuple[Path, ...]) -> tuple[tuple[RulebookFile, Path], ...]:
    return collect_versions(rulebook_id, dirs, lambda f: filter(_is_rulebook_file, sorted(f.iterdir())),
                            load_file, "规则")


def rulebook_ids() -> list[str]:
    return list(_ids(_dirs()))


#: Rulebooks that decide something else than a client tier (客户分级), though some of them have
#: two inputs like the tier rulebooks (asset-turnover: assets × turnover).
NOT_TIERS = ("risk-class", "asset-turnover", "rfm-recency", "rfm-frequency", "rfm-monetary")


def rates_tiers(data: RulebookFile) -> bool:
    """Whether a rulebook rates client tiers (客户分级: assets and revenue -> VIP客户 …):
    the one answer the Excel functions' rulebook argument and the lists of tier rulebooks use."""
    return data.id not in NOT_TIERS and len(data.inputs) == 2


def tier_rulebook_ids() -> list[str]:
    """The ids of the rulebooks that rate client tiers (brokerage, private-fund, wealth …)."""
    return [rid for rid in rulebook_ids() if rates_tiers(versions(rid)[-1])]


@functools.cache
def _ids(dirs: tuple[Path, ...]) -> tuple[str, ...]:
    """Rulebook ids found in ``dirs``, scanned once per set of directories (as versions are)."""
    ids = {p.name for d in dirs if d.is_dir() for p in d.iterdir()
           if p.is_dir() and any(_is_rulebook_file(f) for f in p.iterdir())}
    return tuple(sorted(ids, key=lambda i: (i != DEFAULT_RULEBOOK, i)))


def versions(rulebook_id: str) -> list[RulebookFile]:
    """Every version of a rulebook, oldest first."""
    rulebook_id = _check_id(rulebook_id)
    return [v for v, _ in _versions(rulebook_id, _dirs())]


def _check_id(rulebook_id: Any) -> str:
    if isinstance(rulebook_id, str):
        rid = rulebook_id.strip().lower()
        if rid in _ids(_dirs()):
            return rid
    raise RuleInputError(
        f"未知的规则：{rulebook_id!r}（可用：{'、'.join(rulebook_ids())}）",
        field="规则", value=rulebook_id, kind="na")


def version_in_force(rulebook_id: str, as_of: dt.date) -> tuple[RulebookFile, Path]:
    rid = _check_id(rulebook_id)
    candidates = [(v, p) for v, p in _versions(rid, _dirs())
                  if v.effective_from <= as_of and (v.effective_to is None or as_of <= v.effective_to)]
    if not candidates:
        spans = "、".join(f"{v.version}（{v.effective_from}–{in_force_until(v)[0] or '至今'}）"
                         for v, _ in _versions(rid, _dirs()))
        raise RuleInputError(f"规则 {rid} 在 {as_of} 没有生效的版本（已有：{spans}）",
                             field="日期", value=as_of, kind="na")
    # Overlapping versions are a finding of the verifier; the latest start wins here.
    return max(candidates, key=lambda t: t[0].effective_from)


def in_force_until(data: RulebookFile) -> tuple[dt.date | None, RulebookFile | None]:
    """The last day ``data`` is in force (``None``: open) and the version that supersedes it.

    A version ends on its ``effective_to``, or the day before a later version starts (the one
    in force is the one with the latest start, ``version_in_force``), whichever comes first.
    """
    later = [v for v, _ in _versions(_check_id(data.id), _dirs())
             if v.effective_from > data.effective_from
             and (data.effective_to is None or v.effective_from <= data.effective_to)]
    if not later:
        return data.effective_to, None
    nxt = min(later, key=lambda v: v.effective_from)
    return nxt.effective_from - dt.timedelta(days=1), nxt


def source_file(rulebook_id: str, version: str) -> tuple[Path, bool]:
    """The file of ``rulebook_id@version`` and whether it is a firm file
    (``CLIENT_RATING_RULES_DIR``) rather than a shipped one."""
    for v, p in _versions(_check_id(rulebook_id), _dirs()):
        if v.version == version:
            return p, not p.is_relative_to(DATA_DIR)
    raise RuleInputError(f"规则 {rulebook_id} 没有版本 {version}", field="版本", value=version,
                         kind="na")


@functools.cache
def _firm_parameters(path: str) -> dict[str, dict[str, float]]:
    return load_parameter_file(Path(path))


def load_parameter_file(path: Path) -> dict[str, dict[str, float]]:
    """A firm parameter file: ``[rulebook-id]`` tables of ``name = number``."""
    raw = read_toml(path, "参数文件")
    out: dict[str, dict[str, float]] = {}
    for rid, table in raw.items():
        if not isinstance(table, dict):
            raise RulebookError(f"参数文件 {path}：{rid} 应为表 [{rid}]")
        for name, value in table.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise RulebookError(f"参数文件 {path}：[{rid}] {name} 须为数字，而不是 {value!r}")
        out[rid] = {k: float(v) for k, v in table.items()}
    return out


def get_rulebook(rulebook_id: str = DEFAULT_RULEBOOK, as_of: dt.date | None = None,
                 parameters: Mapping[str, float] | None = None) -> Rulebook:
    """The rulebook version in force on ``as_of`` (default: today), ready to evaluate.

    Parameters come from the file's defaults, then the firm file (``CLIENT_RATING_PARAMS``), then
    ``parameters``. A rulebook with a parameter still unset refuses, naming what is missing.
    Kept in the memo of the settings in force (``rules.settings``): a cell's call costs one
    look-up; a changed firm file or directory, or another day, gives the new rulebook.
    """
    snap = snapshot()
    params = tuple(sorted(parameters.items())) if parameters else ()
    key = (("rulebook", rulebook_id, as_of, params, DATA_DIR) if type(rulebook_id) is str
           else None)
    return snap.recall(key, lambda: _build(_check_id(rulebook_id), as_of or snap.today,
                                           snap.params, params, (*snap.firm_dirs, DATA_DIR)))


@functools.lru_cache(maxsize=256)
def _build(rid: str, as_of: dt.date, firm: str, params: tuple[tuple[str, float], ...],
           dirs: tuple[Path, ...]) -> Rulebook:
    data, path = version_in_force(rid, as_of)
    values: dict[str, float | None] = {k: p.value for k, p in data.parameters.items()}
    overrides = dict(_firm_parameters(firm).get(rid, {})) if firm else {}
    overrides.update(dict(params))
    for name, v in overrides.items():
        if name not in data.parameters:
            raise RulebookError(f"规则 {data.id}@{data.version} 没有参数 {name!r}"
                                f"（可用：{'、'.join(data.parameters) or '无'}）")
        values[name] = v
    missing = [k for k, v in values.items() if v is None]
    if missing:
        raise ParameterMissingError(
            f"规则 {data.id}@{data.version} 未设置阈值：{'、'.join(missing)}（原文为“[X]”，"
            f"须由公司提供参数文件 CLIENT_RATING_PARAMS）", missing)
    return Rulebook(data, {k: float(v) for k, v in values.items() if v is not None}, path)


for _cache in (_versions, _ids, _firm_parameters, _build):
    on_file_change(_cache.cache_clear)
