"""Evaluation of a rulebook: one client (scalar, for an Excel cell) or whole columns (vectorised).

Both paths share the compiled conditions, the input validation messages and the hit policy, and
a property test checks they agree on every boundary. A decision carries the rule that matched and
explains itself lazily (formatting text costs more than deciding).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .conditions import INF, CompiledRule, Cond
from .errors import RuleInputError, show, show_many
from .model import InputSpec, OutputSpec, RulebookFile, Source
from .money import to_cents, to_cents_array
from .vocabulary import TierVocabulary


class Decision:
    """The outcome for one client: label, code, sub-class, rule id and rulebook version.

    ``reason`` is the Chinese explanation with the actual numbers and the bounds compared.
    """

    __slots__ = ("_rulebook", "rule", "values")

    def __init__(self, rulebook: Rulebook, rule: CompiledRule, values: tuple[float, ...]):
        self._rulebook = rulebook
        self.rule = rule
        self.values = values

    @property
    def label(self) -> str:
        return self._rulebook.outputs[self.rule.output].label

    @property
    def code(self) -> str:
        return self._rulebook.outputs[self.rule.output].code

    @property
    def rank(self) -> int:
        return self.rule.output

    @property
    def sub_class(self) -> str:
        return self.rule.sub_class

    @property
    def rule_id(self) -> str:
        return self.rule.id

    @property
    def rulebook_ref(self) -> str:
        return self._rulebook.ref

    @property
    def inputs(self) -> dict[str, float]:
        return {i.name: v for i, v in zip(self._rulebook.inputs, self.values, strict=True)}

    @property
    def reason(self) -> str:
        return self._rulebook.explain(self.rule, self.values)

    def __repr__(self) -> str:
        return f"Decision({self.label!r}, rule={self.rule_id!r}, {self.rulebook_ref})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Decision) and other.rulebook_ref == self.rulebook_ref
                and other.rule is self.rule and other.values == self.values)

    def __hash__(self) -> int:
        return hash((self.rulebook_ref, self.rule.id, self.values))


class Batch:
    """The outcome for whole columns: per row an output index, the winning rule, or an error.

    ``rule_index[i]`` is the index of the winning rule, or -1 where row ``i`` was rejected; the
    reason of a rejection is ``errors[i]`` (a :class:`RuleInputError`).
    """

    __slots__ = ("_rulebook", "errors", "output_index", "rule_index", "values")

    def __init__(self, rulebook: Rulebook, values: list[np.ndarray], rule_index: np.ndarray,
                 errors: dict[int, RuleInputError]):
        self._rulebook = rulebook
        self.values = values
        self.rule_index = rule_index
        self.errors = errors
        self.output_index = rulebook._rule_outputs[rule_index]  # -1 -> sentinel at the end

    def __len__(self) -> int:
        return len(self.rule_index)

    @property
    def ok(self) -> np.ndarray:
        return self.rule_index >= 0

    @property
    def labels(self) -> np.ndarray:
        """Output labels as an object array (None where rejected)."""
        return self._rulebook._label_table[self.output_index]

    @property
    def rule_ids(self) -> np.ndarray:
        return self._rulebook._rule_id_table[self.rule_index]

    @property
    def sub_classes(self) -> np.ndarray:
        return self._rulebook._sub_class_table[self.rule_index]

    def decision(self, i: int) -> Decision:
        """The full decision of row ``i`` (raises its :class:`RuleInputError` if rejected)."""
        if self.rule_index[i] < 0:
            raise self.errors[i]
        rule = self._rulebook.rules[int(self.rule_index[i])]
        return Decision(self._rulebook, rule, tuple(float(v[i]) for v in self.values))

    def reason(self, i: int) -> str:
        if self.rule_index[i] < 0:
            return self.errors[i].message
        return self.decision(i).reason

    def reasons(self, rows: Sequence[int] | np.ndarray | None = None) -> list[str]:
        """``[self.reason(i) for i in rows]`` (all rows by default), formatted rule by rule
        from each rule's template: about 1 µs a row instead of building a Decision each."""
        idx = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.intp)
        out: list[str] = [""] * len(idx)
        ri = self.rule_index[idx]
        rb = self._rulebook
        for r in sorted(set(ri.tolist())):  # (np.unique costs more on the small slices)
            where = np.flatnonzero(ri == r)
            if r < 0:
                for j in where.tolist():
                    out[j] = self.errors[int(idx[j])].message
                continue
            template, shown = rb.reason_template(rb.rules[int(r)])
            rows_r = idx[where]
            cols = [show_many(self.values[k][rows_r].tolist()) for k in shown]
            fmt = template.format
            for k, vals in zip(where.tolist(), zip(*cols, strict=True), strict=True):
                out[k] = fmt(*vals)
        return out


class Rulebook:
    """A rulebook version ready to evaluate: compiled conditions plus its metadata."""

    def __init__(self, data: RulebookFile, parameters: Mapping[str, float], path: Path | None):
        self.data = data
        self.path = path
        self.id: str = data.id
        self.version: str = data.version
        self.ref = f"{data.id}@{data.version}"
        self.title = data.title
        self.effective_from: dt.date = data.effective_from
        self.effective_to: dt.date | None = data.effective_to
        self.source: Source = data.source
        self.hit_policy = data.hit_policy
        self.upgrade_only = data.upgrade_only
        self.assumption = data.assumption
        self.example = data.example
        self.inputs: tuple[InputSpec, ...] = data.inputs
        self.input_names = tuple(i.name for i in data.inputs)
        self.outputs: tuple[OutputSpec, ...] = data.outputs
        self.parameters = dict(parameters)
        self._input_pos = {n: k for k, n in enumerate(self.input_names)}
        self._out_pos = {o.label: k for k, o in enumerate(self.outputs)}
        self._templates: dict[str, tuple[str, tuple[int, ...]]] = {}
        #: the names of the tiers (labels, aliases, codes, sub-classes): rules.vocabulary
        self.vocabulary = TierVocabulary.of(data.outputs, data.rules)
        self.rules: tuple[CompiledRule, ...] = tuple(
            CompiledRule(
                id=r.id, order=k, output=self._out_pos[r.output], sub_class=r.sub_class,
                conds=tuple(sorted(
                    (self._compile_cond(name, iv) for name, iv in r.when.items()),
                    key=lambda c: c.index)),
                default=r.default, text=r.text)
            for k, r in enumerate(data.rules))
        # The order in which rules win: FIRST/UNIQUE/ANY by position; PRIORITY by output rank.
        if self.hit_policy == "PRIORITY":
            self._win_order = tuple(sorted(self.rules, key=lambda r: (r.output, r.order)))
        else:
            self._win_order = self.rules
        n_out = len(self.outputs)
        self._rule_outputs = np.array([r.output for r in self.rules] + [n_out], dtype=np.int16)
        self._label_table = np.array([o.label for o in self.outputs] + [None], dtype=object)
        self._rule_id_table = np.array([r.id for r in self.rules] + [None], dtype=object)
        self._sub_class_table = np.array([r.sub_class for r in self.rules] + [None], dtype=object)

    # -- compilation -------------------------------------------------------------------------
    def _bound(self, b: float | str | None) -> float | None:
        if isinstance(b, str):
            return float(self.parameters[b[1:]])
        return None if b is None else float(b)

    def _compile_cond(self, name: str, iv: Any) -> Cond:
        lo: float | None = -INF
        hi: float | None = INF
        lo_incl = hi_incl = False
        if iv.gt is not None:
            lo = self._bound(iv.gt)
        if iv.ge is not None:
            lo, lo_incl = self._bound(iv.ge), True
        if iv.lt is not None:
            hi = self._bound(iv.lt)
        if iv.le is not None:
            hi, hi_incl = self._bound(iv.le), True
        assert lo is not None and hi is not None  # (each bound read was not None)
        return Cond(self._input_pos[name], lo, lo_incl, hi, hi_incl)

    # -- labels ------------------------------------------------------------------------------
    def normalize_label(self, text: Any, field: str = "级别") -> str:
        """The rulebook label for a label, short form, code or sub-class (``核心``, ``二类``,
        ``ＶＩＰ``, ``A类核心`` → its label; the names are ``self.vocabulary``'s)."""
        return self.tier_of(text, field)[0]

    def tier_of(self, text: Any, field: str = "级别") -> tuple[str, str]:
        """(label, sub-class) of a tier text: ``A类核心`` → (核心客户, A类核心), ``核心`` →
        (核心客户, ""). Unknown text raises RuleInputError (kind "na") naming the labels."""
        got = self.vocabulary.lookup(text)
        if got is not None:
            return got
        raise RuleInputError(f"未知的{field}：{show(text)}（{self.ref} 可用：{self.vocabulary.describe()}）",
                             field=field, value=text, kind="na")

    def output(self, label: str) -> OutputSpec:
        return self.outputs[self._out_pos[self.normalize_label(label)]]

    def rank(self, label: str) -> int:
        """0 for the highest output (VIP客户), larger for lower ones."""
        return self._out_pos[self.normalize_label(label)]

    def service_product(self, label: str, opened_this_year: bool = False) -> str:
        """Service product for a tier; accounts opened this year get at least the new-account one."""
        out = self.output(label)
        product = out.service
        if opened_this_year and self.data.new_account_service:
            new = self.data.new_account_service
            if new not in out.services:  # the tier's product does not already include it
                product = new
        return product

    def visits_per_year(self, label: str) -> int:
        visits = self.output(label).visits_per_year
        if visits is None:
            raise RuleInputError(f"{self.ref} 未规定拜访次数", field="级别", value=label)
        return visits

    # -- validation --------------------------------------------------------------------------
    def check_value(self, spec: InputSpec, v: Any) -> float:
        """``v`` as a float, or a :class:`RuleInputError` naming the input and the value.
        A money input (``spec.money``) comes back rounded to the cent (``rules.money``): the
        value the rules compare and the reason shows."""
        t = type(v)
        if t is not float and t is not int:
            if v is None:
                if spec.empty_is_zero:
                    return 0.0
                raise RuleInputError(f"{spec.label}为空", field=spec.label, value=v, kind="na")
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
                raise RuleInputError(f"{spec.label}不是数字：{show(v)}", field=spec.label, value=v)
        x = float(v)
        if x != x:
            raise RuleInputError(f"{spec.label}不是有效数字：NaN", field=spec.label, value=v)
        if x in (INF, -INF):
            raise RuleInputError(f"{spec.label}不是有限数字：{show(x)}", field=spec.label, value=v)
        lo, hi = spec.min, spec.max
        if (lo is not None and x < lo) or (hi is not None and x > hi):
            if lo == 0 and hi is None:
                msg = f"{spec.label}不能为负数：{show(v)}"
            elif hi is None:
                msg = f"{spec.label}不能小于 {show(lo)}：{show(v)}"
            elif lo is None:
                msg = f"{spec.label}不能大于 {show(hi)}：{show(v)}"
            else:
                msg = f"{spec.label}须在 {show(lo)}–{show(hi)} 之间：{show(v)}"
            raise RuleInputError(msg, field=spec.label, value=v)
        if spec.integer and x != int(x):
            raise RuleInputError(f"{spec.label}须为整数：{show(v)}", field=spec.label, value=v)
        return to_cents(x) if spec.money else x

    # -- scalar ------------------------------------------------------------------------------
    def evaluate(self, *args: Any, **kwargs: Any) -> Decision:
        """Evaluate one client: positional values in input order, or by input name."""
        if kwargs:
            try:
                args = tuple(kwargs.pop(n) if n in kwargs else args[k]
                             for k, n in enumerate(self.input_names))
            except IndexError:
                missing = [n for n in self.input_names[len(args):] if n not in kwargs]
                raise TypeError(f"{self.ref} 缺少输入：{', '.join(missing)}") from None
            if kwargs:
                raise TypeError(f"{self.ref} 没有输入：{', '.join(kwargs)}")
        if len(args) != len(self.inputs):
            raise TypeError(f"{self.ref} 需要 {len(self.inputs)} 个输入：{self.input_names}")
        values = tuple(self.check_value(s, v) for s, v in zip(self.inputs, args, strict=True))
        return Decision(self, self._decide(values), values)

    def _decide(self, values: tuple[float, ...]) -> CompiledRule:
        if self.hit_policy in ("FIRST", "PRIORITY"):
            for r in self._win_order:
                if r.matches(values):
                    return r
            raise self._no_rule(values)
        hits = [r for r in self.rules if r.matches(values)]
        if not hits:
            raise self._no_rule(values)
        # UNIQUE: at most one rule may match; ANY: several may, if they agree
        if len(hits) > 1 and (self.hit_policy == "UNIQUE" or len({r.output for r in hits}) > 1):
            raise self._overlap(values, hits)
        return hits[0]

    def _no_rule(self, values: Sequence[float]) -> RuleInputError:
        return RuleInputError(
            f"{self._show_inputs(values)}：不在 {self.ref} 任何规则的范围内（规则缺口，请联系规则负责人）",
            field=None, value=tuple(values))

    def _overlap(self, values: Sequence[float], hits: Sequence[CompiledRule]) -> RuleInputError:
        ids = "、".join(r.id for r in hits)
        what = ("重叠（UNIQUE：只能命中一条）" if self.hit_policy == "UNIQUE"
                else "重叠且结论不同")
        return RuleInputError(
            f"{self._show_inputs(values)}：{self.ref} 的规则 {ids} {what}（{self.hit_policy}）",
            field=None, value=tuple(values))

    # -- vectorised --------------------------------------------------------------------------
    def evaluate_many(self, columns: Mapping[str, Any] | Sequence[Any]) -> Batch:
        """Evaluate whole columns (float arrays; NaN is an invalid value, as in :meth:`evaluate`).
        Money inputs are compared at the cent, as in :meth:`evaluate`.

        Callers fill empty cells of ``empty_is_zero`` inputs with 0 before calling.
        """
        if isinstance(columns, Mapping):
            missing = [n for n in self.input_names if n not in columns]
            if missing:
                raise TypeError(f"{self.ref} 缺少输入列：{', '.join(missing)}")
            cols = [columns[n] for n in self.input_names]
        else:
            cols = list(columns)
            if len(cols) != len(self.inputs):
                raise TypeError(f"{self.ref} 需要 {len(self.inputs)} 列：{self.input_names}")
        raw = [np.asarray(c) for c in cols]
        values = [_as_float_array(c) for c in raw]
        n = len(values[0])
        if any(len(v) != n for v in values):
            raise ValueError("各输入列长度不一致")
        bad = np.zeros(n, bool)
        for spec, x in zip(self.inputs, values, strict=True):
            bad |= ~_valid_mask(spec, x)
        # money at the cent, as check_value does (after the checks of the value as given)
        values = [to_cents_array(x) if spec.money else x
                  for spec, x in zip(self.inputs, values, strict=True)]
        idx = self._winners(values, n, bad)
        errors: dict[int, RuleInputError] = {}
        unmatched = (idx == -1) & ~bad
        if bad.any() or unmatched.any():
            for i in np.flatnonzero(bad | unmatched):
                errors[int(i)] = self._row_error([c[i] for c in raw])
            idx[bad] = -1
        return Batch(self, values, idx, errors)

    def _winners(self, values: list[np.ndarray], n: int, bad: np.ndarray) -> np.ndarray:
        """Per row the order of the winning rule (-1: none) by the hit policy; rows where
        UNIQUE/ANY rules overlap (or disagree) are marked in ``bad``."""
        mask_cache: dict[Cond, np.ndarray] = {}

        def rule_mask(r: CompiledRule) -> np.ndarray | None:
            m = None
            for c in r.conds:
                cm = mask_cache.get(c)
                if cm is None:
                    cm = mask_cache[c] = c.mask(values[c.index])
                m = cm if m is None else (m & cm)
            return m

        idx = np.full(n, -1, dtype=np.int16)
        if self.hit_policy in ("FIRST", "PRIORITY"):
            for r in reversed(self._win_order):
                m = rule_mask(r)
                if m is None:
                    idx[:] = r.order
                else:
                    np.copyto(idx, r.order, where=m)  # (as idx[m] = r.order, a pass less)
            return idx
        count: np.ndarray[Any, Any] = np.zeros(  # (how many rules match)
            n, np.uint8 if len(self.rules) < 255 else np.int32)
        masks = [(r, rule_mask(r)) for r in reversed(self.rules)]
        for r, m in masks:
            if m is None:
                idx[:] = r.order
                count += 1
            else:
                np.copyto(idx, r.order, where=m)
                count += m
        many = count > 1
        if self.hit_policy == "UNIQUE" or not many.any():
            bad |= many
            return idx
        first_out = np.full(n, -1, np.int16)  # ANY, rows where several rules match: do they agree
        conflict = np.zeros(n, bool)
        for r, m in masks:
            m = np.ones(n, bool) if m is None else m
            conflict |= m & (first_out >= 0) & (first_out != r.output)
            first_out[m] = r.output
        bad |= conflict
        return idx

    def _row_error(self, row: Sequence[Any]) -> RuleInputError:
        """The same error the scalar path raises for this row."""
        try:
            self.evaluate(*[x.item() if isinstance(x, np.generic) else x for x in row])
        except RuleInputError as e:
            return e
        raise AssertionError("row rejected by the vectorised path but accepted by the scalar one")

    # -- explanation -------------------------------------------------------------------------
    def _show_inputs(self, values: Sequence[float]) -> str:
        return "，".join(f"{s.label} {show(float(v))}{_unit(s)}"
                        for s, v in zip(self.inputs, values, strict=True))

    def explain(self, rule: CompiledRule, values: Sequence[float]) -> str:
        """Chinese reason: the numbers, the bounds compared, the tier, the rule id and version."""
        template, shown = self.reason_template(rule)
        return template.format(*[show(float(values[k])) for k in shown])

    def reason_template(self, rule: CompiledRule) -> tuple[str, tuple[int, ...]]:
        """The reason text of a rule with ``{}`` where the shown inputs go, and their indices
        (built once per rule; :meth:`explain` and :meth:`Batch.reasons` share it)."""
        cached = self._templates.get(rule.id)
        if cached is not None:
            return cached
        out = self.outputs[rule.output].label
        target = f"{out} {rule.sub_class}" if rule.sub_class else out

        def esc(text: str) -> str:
            return text.replace("{", "{{").replace("}", "}}")

        if rule.default:
            higher = "、".join(dict.fromkeys(
                self.outputs[r.output].label for r in self.rules if not r.default))
            shown = tuple(range(len(self.inputs)))
            cond = "，".join(f"{esc(s.label)} {{}}{esc(_unit(s))}" for s in self.inputs)
            cond += f"，不满足{esc(higher)}的任何条件"
        else:
            shown = tuple(c.index for c in rule.conds)
            cond = "，".join(
                f"{esc(self.inputs[c.index].label)} {{}}{esc(_unit(self.inputs[c.index]))} "
                f"{esc(c.describe())}" for c in rule.conds)
        cached = (f"{cond} → {esc(target)} ({esc(rule.id)}, {esc(self.ref)})", shown)
        self._templates[rule.id] = cached
        return cached

    def describe_rule(self, rule: CompiledRule) -> str:
        """A rule's condition as text, e.g. ``资产权益 ≥ 250,000 且 < 10,000,000``."""
        if rule.default:
            return "其他所有情况"
        return "，".join(f"{self.inputs[c.index].label} {c.describe()}" for c in rule.conds)

    def __repr__(self) -> str:
        return f"Rulebook({self.ref})"


def _unit(spec: InputSpec) -> str:
    return f" {spec.unit}" if spec.unit and spec.unit not in ("分",) else ""


def _as_float_array(c: Any) -> np.ndarray:
    a = np.asarray(c)
    if a.dtype == np.float64:
        return a
    if a.dtype.kind in "iuf":
        return a.astype(np.float64)
    if a.dtype.kind == "b":
        raise RuleInputError("输入列是布尔值，不是数字", value="TRUE/FALSE")
    out = np.empty(len(a), np.float64)
    for i, v in enumerate(a):
        out[i] = v if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) else np.nan
    return out


def _valid_mask(spec: InputSpec, x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    if spec.min is not None:
        ok &= x >= spec.min
    if spec.max is not None:
        ok &= x <= spec.max
    if spec.integer:
        ok &= x == np.floor(x)
    return ok
