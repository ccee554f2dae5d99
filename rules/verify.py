"""The rule verifier: gaps, overlaps, masked rules and non-monotone steps, each with a witness.

It works on the same compiled rules the engine evaluates. Every input's interval bounds cut its
domain into elementary cells (each bound as a point, the open stretches between them); inside a
cell every rule gives the same answer, so evaluating one representative per cell of the cartesian
grid decides the whole input space exactly (the sweep of the DMN decision-table analysis, KIE
``DMNDTAnalyser``; Calvanese et al., BPM 2016). On that grid it reports:

- ``gap``: points no rule covers; and, where a catch-all rule exists, *holes*: points only the
  catch-all covers although both neighbours along one input are covered by explicit rules
  (brokerage: assets exactly 10,000,000);
- ``overlap``: points where several rules match and the hit policy makes it matter (UNIQUE/ANY:
  different outputs; FIRST: a later rule would give a higher output than the one that wins);
- ``masked``: rules that match somewhere but never win; ``unreachable``: rules that match nowhere;
- ``non_monotone``: raising an input (declared ``monotone = "increasing"``) lowers the output;
- ``no_rule_output``: outputs no rule produces (private-fund 潜力客户);
- ``version_overlap`` / ``version_gap`` between the effective dates of a rulebook's versions.

Findings are data (:class:`Finding`) and Chinese text (:meth:`Finding.text`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .engine import INF, Rulebook
from .errors import show

KIND_TITLES = {
    "gap": "规则缺口",
    "overlap": "规则重叠",
    "masked": "被遮蔽的规则",
    "unreachable": "不可达的规则",
    "non_monotone": "非单调",
    "no_rule_output": "无规则的级别",
    "version_overlap": "版本生效期重叠",
    "version_gap": "版本生效期空档",
    "threshold_order": "门槛顺序",
    "matching": "匹配表",
}
SEVERITY = {"gap": "警告", "overlap": "警告", "non_monotone": "警告", "masked": "警告",
            "unreachable": "警告", "no_rule_output": "提示", "version_overlap": "错误",
            "version_gap": "警告", "threshold_order": "错误", "matching": "错误"}


@dataclass(frozen=True)
class Finding:
    kind: str
    rulebook: str  # id@version, or id for version findings
    message: str  # Chinese, with numbers
    rule_ids: tuple[str, ...] = ()
    witness: dict[str, float] = field(default_factory=dict)  # input name -> value
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]

    def text(self) -> str:
        return f"[{self.severity}] {KIND_TITLES[self.kind]}（{self.rulebook}）：{self.message}"


@dataclass(frozen=True)
class _Cell:
    """An elementary cell of one input: a point (lo == hi) or the open interval (lo, hi)."""

    lo: float
    hi: float

    @property
    def is_point(self) -> bool:
        return self.lo == self.hi

    def rep(self, integer: bool) -> float:
        """A representative inside the cell (a 'nice' number where possible)."""
        if self.is_point:
            return self.lo
        if integer:
            return self.lo + 1 if self.hi == INF else math.floor((self.lo + self.hi) / 2)
        if self.hi == INF:
            return self.lo * 2 if self.lo > 0 else self.lo + 1
        return (self.lo + self.hi) / 2

    def near(self, side: str, integer: bool) -> float:
        """The value of this cell closest to its lower (``"lo"``) or upper (``"hi"``) end."""
        if self.is_point:
            return self.lo
        step = 1.0 if integer else 0.01
        if side == "hi":
            return self.rep(integer) if self.hi == INF else self.hi - step
        return self.lo + step


def _cells(rb: Rulebook, k: int) -> list[_Cell]:
    spec = rb.inputs[k]
    lo_dom = spec.min if spec.min is not None else -INF
    hi_dom = spec.max if spec.max is not None else INF
    bounds = {lo_dom, hi_dom}
    for r in rb.rules:
        for c in r.conds:
            if c.index == k:
                bounds.update(b for b in (c.lo, c.hi) if lo_dom <= b <= hi_dom)
    pts = sorted(b for b in bounds if b not in (-INF, INF))
    cells: list[_Cell] = []
    if lo_dom == -INF and pts:
        cells.append(_Cell(-INF, pts[0]))
    for a, b in itertools.pairwise([*pts, hi_dom] if hi_dom == INF else pts):
        cells.append(_Cell(a, a))
        if spec.integer:
            if b - a > 1:
                cells.append(_Cell(a, b))  # the integers strictly between
        else:
            cells.append(_Cell(a, b))
    if hi_dom != INF and pts:
        cells.append(_Cell(pts[-1], pts[-1]))
    return cells


def check(rb: Rulebook) -> list[Finding]:
    """All findings for one rulebook version (parameters resolved)."""
    return _analyse(rb)[0]


def _holes(rb: Rulebook, axes: list[list[_Cell]], match: np.ndarray
           ) -> Iterator[tuple[int, int, np.ndarray]]:
    """(input k, cell i along it, grid mask with axis k of length 1) of every hole: grid points
    only the catch-all covers while explicit rules cover the cells on both sides along k."""
    explicit = np.zeros(match.shape[1:], bool)
    for r in rb.rules:
        if not r.default:
            explicit |= match[r.order]
    for k, axis in enumerate(axes):
        for i in range(1, len(axis) - 1):
            hole = (~np.take(explicit, [i], axis=k) & np.take(explicit, [i - 1], axis=k)
                    & np.take(explicit, [i + 1], axis=k))
            if hole.any():
                yield k, i, hole


@dataclass
class _Grid:
    """A rulebook evaluated on one representative point of every cell of its input axes."""

    rb: Rulebook
    axes: list[list[_Cell]]
    reps: list[np.ndarray]
    match: np.ndarray  # (rule, *cell index) -> the rule's conditions hold
    winner: np.ndarray  # cell index -> the winning rule's order under the hit policy (-1: none)
    win_out: np.ndarray  # cell index -> the winner's output (-1: none)

    @classmethod
    def of(cls, rb: Rulebook) -> _Grid:
        axes = [_cells(rb, k) for k in range(len(rb.inputs))]
        shape = tuple(len(a) for a in axes)
        reps = [np.array([c.rep(rb.inputs[k].integer) for c in a]) for k, a in enumerate(axes)]
        flat = [g.ravel() for g in np.meshgrid(*reps, indexing="ij")]
        n_rules = len(rb.rules)
        match = np.zeros((n_rules, flat[0].size), bool)
        for r in rb.rules:
            m = np.ones(flat[0].size, bool)
            for c in r.conds:
                m &= c.mask(flat[c.index])
            match[r.order] = m
        match = match.reshape((n_rules, *shape))
        winner = np.full(shape, -1, np.int32)
        for r in reversed(rb._win_order):
            winner[match[r.order]] = r.order
        out_of = np.array([r.output for r in rb.rules] + [-1])
        return cls(rb, axes, reps, match, winner, out_of[winner])

    def point(self, idx: tuple[int, ...], override: dict[int, float] | None = None
              ) -> dict[str, float]:
        w = {self.rb.inputs[k].name: float(self.reps[k][i]) for k, i in enumerate(idx)}
        for k, v in (override or {}).items():
            w[self.rb.inputs[k].name] = v
        return w

    def show_point(self, w: dict[str, float]) -> str:
        return "，".join(f"{s.label} {show(w[s.name])}" for s in self.rb.inputs)

    def label(self, rule: Any) -> str:
        return self.rb.outputs[rule.output].label


def _analyse(rb: Rulebook) -> tuple[list[Finding], list[tuple[int, int, np.ndarray, Finding]],
                                    list[list[_Cell]]]:
    """(findings, the holes with their finding, the cells of each input)."""
    g = _Grid.of(rb)
    findings = _gaps(g)
    holes = _catch_all_holes(g) if any(r.default for r in rb.rules) else []
    findings += [h[3] for h in holes]
    findings += _overlaps(g) + _unused_rules(g) + _non_monotone(g)
    produced = {r.output for r in rb.rules}
    findings += [Finding("no_rule_output", rb.ref, f"级别 {o.label} 没有任何规则（原文未给出标准）")
                 for j, o in enumerate(rb.outputs) if j not in produced]
    return findings, holes, g.axes


def _gaps(g: _Grid) -> list[Finding]:
    """Points no rule matches."""
    out: list[Finding] = []
    seen: set[tuple] = set()
    for idx in map(tuple, np.argwhere(g.winner < 0)):
        key = ("gap", *(idx[k] if g.axes[k][idx[k]].is_point else -1 for k in range(len(idx))))
        if key in seen:
            continue
        seen.add(key)
        w = g.point(idx)
        out.append(Finding("gap", g.rb.ref, f"{g.show_point(w)} 不被任何规则覆盖，无法评级",
                           witness=w))
    return out


def _catch_all_holes(g: _Grid) -> list[tuple[int, int, np.ndarray, Finding]]:
    """Cells only the catch-all covers, with explicit rules on both sides along some input."""
    rb, out = g.rb, []
    for k, i, hole in _holes(rb, g.axes, g.match):
        axis = g.axes[k]
        first = [int(j) for j in np.argwhere(hole)[0]]
        first[k] = i
        idx = tuple(first)
        spec = rb.inputs[k]
        lo_v = axis[i - 1].near("hi", spec.integer)
        hi_v = axis[i + 1].near("lo", spec.integer)
        w = g.point(idx, {k: axis[i].rep(spec.integer)})
        below_rule = rb.rules[g.winner[(*idx[:k], i - 1, *idx[k + 1:])]]
        above_rule = rb.rules[g.winner[(*idx[:k], i + 1, *idx[k + 1:])]]
        here_rule = rb.rules[g.winner[idx]]
        cell = axis[i]
        where = (f"{spec.label} 恰为 {show(cell.lo)}" if cell.is_point
                 else f"{spec.label} 在 {show(cell.lo)}–{show(cell.hi)} 之间")
        msg = (f"{where}（例：{g.show_point(w)}）时只落入兜底规则 {here_rule.id}"
               f"（{g.label(here_rule)}），而 {spec.label} {show(lo_v)} 属 "
               f"{below_rule.id}（{g.label(below_rule)}），{show(hi_v)} 属 "
               f"{above_rule.id}（{g.label(above_rule)}）")
        found = Finding(
            "gap", rb.ref, msg, (here_rule.id, below_rule.id, above_rule.id), w,
            {"input": spec.name, "below": lo_v, "above": hi_v, "catch_all": True,
             "points": int(hole.sum())})
        out.append((k, i, hole, found))
    return out


def _overlaps(g: _Grid) -> list[Finding]:
    """Points several rules match, where that matters under the hit policy."""
    rb, out = g.rb, []
    seen: set[tuple] = set()
    for idx in map(tuple, np.argwhere(g.match.sum(axis=0) > 1)):
        hits = [r for r in rb.rules if g.match[(r.order, *idx)]]
        win = rb.rules[g.winner[idx]]
        if rb.hit_policy in ("UNIQUE", "ANY"):
            bad = len({r.output for r in hits}) > 1 if rb.hit_policy == "ANY" else True
            culprits = hits
        elif rb.hit_policy == "FIRST":
            culprits = [r for r in hits if r.output < win.output]
            bad = bool(culprits)
            culprits = [win, *culprits]
        else:  # PRIORITY: the highest output wins by definition
            bad = False
        if not bad:
            continue
        key = ("overlap", tuple(r.id for r in culprits))
        if key in seen:
            continue
        seen.add(key)
        w = g.point(idx)
        ids = "、".join(f"{r.id}（{g.label(r)}）" for r in culprits)
        msg = f"{g.show_point(w)} 同时满足 {ids}；命中策略 {rb.hit_policy} 下结论取决于规则顺序"
        out.append(Finding("overlap", rb.ref, msg, tuple(r.id for r in culprits), w))
    return out


def _unused_rules(g: _Grid) -> list[Finding]:
    """Rules nothing satisfies (unreachable) and rules always beaten by others (masked)."""
    rb, out = g.rb, []
    for r in rb.rules:
        if not g.match[r.order].any():
            out.append(Finding("unreachable", rb.ref,
                               f"规则 {r.id}（{rb.describe_rule(r)}）在定义域内没有任何取值能满足",
                               (r.id,)))
        elif not (g.winner == r.order).any():
            idx = tuple(int(j) for j in np.argwhere(g.match[r.order])[0])
            by = rb.rules[g.winner[idx]]
            w = g.point(idx)
            out.append(Finding(
                "masked", rb.ref,
                f"规则 {r.id} 永远不会生效：凡满足它的取值都先命中其他规则（例：{g.show_point(w)} 命中 {by.id}）",
                (r.id, by.id), w))
    return out


def _non_monotone(g: _Grid) -> list[Finding]:
    """Steps where raising a monotone input lowers the tier."""
    rb, out = g.rb, []
    for k, axis in enumerate(g.axes):
        spec = rb.inputs[k]
        if spec.monotone == "none":
            continue
        sign = 1 if spec.monotone == "increasing" else -1
        seen: set[tuple] = set()
        for i in range(len(axis) - 1):
            a = np.take(g.win_out, [i], axis=k)
            b = np.take(g.win_out, [i + 1], axis=k)
            # rank 0 is the highest output: raising the input must not increase the rank number
            worse = (a >= 0) & (b >= 0) & ((b - a) * sign > 0)
            for row in np.argwhere(worse):
                pos = [int(j) for j in row]
                pos[k] = i
                idx_a = tuple(pos)
                pos[k] = i + 1
                ra, rb_ = rb.rules[g.winner[idx_a]], rb.rules[g.winner[tuple(pos)]]
                if (i, ra.id, rb_.id) in seen:
                    continue
                seen.add((i, ra.id, rb_.id))
                out.append(_step_down(g, k, i, idx_a, ra, rb_, sign))
    return out


def _step_down(g: _Grid, k: int, i: int, idx_a: tuple[int, ...], ra: Any, rb_: Any,
               sign: int) -> Finding:
    spec, axis = g.rb.inputs[k], g.axes[k]
    va = axis[i].near("hi", spec.integer)
    vb = axis[i + 1].near("lo", spec.integer)
    w = g.point(idx_a, {k: va})
    others = "，".join(f"{s.label} {show(w[s.name])}"
                      for j, s in enumerate(g.rb.inputs) if j != k)
    direction = "升高" if sign > 0 else "降低"
    msg = (f"{spec.label} 从 {show(va)} {'升到' if sign > 0 else '变为'} {show(vb)}"
           f"{'（' + others + '）' if others else ''}时，结论从 "
           f"{g.label(ra)}（{ra.id}）降为 {g.label(rb_)}"
           f"（{rb_.id}）：{spec.label}{direction}反而降级")
    return Finding("non_monotone", g.rb.ref, msg, (ra.id, rb_.id), w,
                   {"input": spec.name, "from": va, "to": vb})


def known_gaps(rb: Rulebook, columns: Sequence[np.ndarray]) -> dict[int, Finding]:
    """The rows of ``columns`` (one float array per input, in input order, values as the rules
    compare them: money at the cent) whose figures fall into a gap :func:`check` reports —
    a hole only the catch-all rule covers (brokerage: 资产权益 exactly 10,000,000 → 普通客户) —
    as {row index: the finding}. Rows a rule does not cover at all are the engine's errors."""
    _findings, holes, axes = _analyse_cached(rb)
    if not holes or not len(columns) or not len(columns[0]):
        return {}
    n = len(columns[0])
    where = []  # cell index of each row along each input (-1: outside the domain)
    for k, axis in enumerate(axes):
        x = np.asarray(columns[k], dtype=np.float64)
        at = np.full(n, -1, np.intp)
        for j, cell in enumerate(axis):
            m = (x == cell.lo) if cell.is_point else ((x > cell.lo) & (x < cell.hi))
            at[m] = j
        where.append(at)
    inside = np.all([w >= 0 for w in where], axis=0)
    out: dict[int, Finding] = {}
    for k, i, hole, finding in holes:
        rows = np.flatnonzero(inside & (where[k] == i))
        if not len(rows):
            continue
        pos = tuple(np.zeros(len(rows), np.intp) if q == k else where[q][rows]
                    for q in range(len(axes)))
        for r in rows[hole[pos]].tolist():
            out.setdefault(int(r), finding)
    return out


_CACHE: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _analyse_cached(rb: Rulebook) -> tuple:
    key = (rb.ref, tuple(sorted(rb.parameters.items())), str(rb.path))
    got = _CACHE.get(key)
    if got is None:
        got = _CACHE[key] = _analyse(rb)
    return got


class Versioned(Protocol):
    """A versioned data file: a rulebook (:class:`RulebookFile`) or a suitability regime."""

    id: str
    version: str
    effective_from: dt.date
    effective_to: dt.date | None


def check_versions(files: Sequence[Versioned]) -> list[Finding]:
    """Overlapping or gapped effective-date ranges between versions of one rulebook (or of a
    suitability regime)."""
    findings = []
    ordered = sorted(files, key=lambda f: f.effective_from)
    for a, b in itertools.pairwise(ordered):
        if a.effective_to is None or b.effective_from <= a.effective_to:
            until = a.effective_to or "至今"
            findings.append(Finding(
                "version_overlap", a.id,
                f"版本 {a.version}（{a.effective_from}–{until}）与 {b.version}（自 {b.effective_from}）"
                f"在 {b.effective_from} 同时生效", detail={"date": b.effective_from.isoformat()}))
        elif b.effective_from > a.effective_to + dt.timedelta(days=1):
            first = a.effective_to + dt.timedelta(days=1)
            last = b.effective_from - dt.timedelta(days=1)
            findings.append(Finding(
                "version_gap", a.id,
                f"{first} 至 {last} 没有生效版本（{a.version} 止于 {a.effective_to}，{b.version} 始于 {b.effective_from}）",
                detail={"from": first.isoformat(), "to": last.isoformat()}))
    return findings



def check_regime(regime: Any) -> list[Finding]:
    """Findings for a suitability regime (``rules.appropriateness.Regime``): the thresholds of
    conversion to professional (第十一条) above those of 第八条, a matching table where a
    higher C-level allows less, 最低类别 allowed more than C1, a 2009 map out of order or
    incomplete. The C-level score bands are a decision table of their own (``investor-level``),
    checked by :func:`check` for gaps and overlaps."""
    d = regime.data
    out: list[Finding] = []
    for who, pro, conv in (("机构", d.professional_b.institution, d.to_professional.institution),
                           ("个人", d.professional_b.individual, d.to_professional.individual)):
        for name in type(conv).model_fields:
            if name == "article":
                continue
            p, c = getattr(pro, name), getattr(conv, name)
            if c > p:
                out.append(Finding(
                    "threshold_order", regime.ref,
                    f"{who}转化为专业投资者的门槛 {name} = {show(c)} 高于成为专业投资者的门槛 "
                    f"{show(p)}（{conv.article} 应低于 {pro.article}）",
                    detail={"who": who, "field": name, "conversion": c, "professional": p}))
    levels = ("C1", "C2", "C3", "C4", "C5")
    tops = [int(regime.max_product[lv][1]) for lv in levels]
    for (la, ta), (lb, tb) in itertools.pairwise(zip(levels, tops, strict=True)):
        if tb < ta:
            out.append(Finding("non_monotone", regime.ref,
                               f"匹配表中 {lb} 只可购买至 R{tb}，低于 {la} 的 R{ta}：等级越高可购买的反而越少",
                               detail={"from": la, "to": lb}))
    low = int(d.warning.lowest_max[1])
    if low > tops[0]:
        out.append(Finding("matching", regime.ref,
                           f"最低类别可购买至 R{low}，高于 C1 的 R{tops[0]}（{d.warning.ban_article}）"))
    order = ("保守型", "稳健型", "进取型")
    missing = [c for c in order if c not in regime.legacy]
    if missing:
        out.append(Finding("matching", regime.ref,
                           f"2009 年风险类别 {'、'.join(missing)} 没有对应的 C 级别（[legacy]）"))
    else:
        got = [int(regime.legacy[c][1]) for c in order]
        for (ca, a), (cb, b) in itertools.pairwise(zip(order, got, strict=True)):
            if b < a:
                out.append(Finding("non_monotone", regime.ref,
                                   f"2009 年对照：{cb} → C{b} 低于 {ca} → C{a}"))
    return out
