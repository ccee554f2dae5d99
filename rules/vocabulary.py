"""Tier labels and the names users type for them — the one place they are defined.

A rulebook's outputs carry a label (VIP客户), a code (一类) and aliases (VIP); its rules may name
a sub-class of an output (seed 001 第八条: 核心客户 splits into A类核心 and B类核心). From these
:class:`TierVocabulary` accepts, per rulebook:

* the label, each alias and the code as written in the rulebook file;
* the code followed by 客户 (一类客户) and the label with its code in brackets (VIP客户（一类）,
  as seed 000's table writes it);
* each sub-class of a rule (A类核心, also A类核心客户), read as its output's label with the
  sub-class kept apart (:meth:`TierVocabulary.lookup` gives both).

Texts are compared after NFKC (full-width ＶＩＰ, （一类） become VIP, (一类)), with every space
removed and case folded. The workbook job's validation, the Excel functions (CLIENT_CLASS,
QUARTER_TIER…), ``rules.suitability.normalize_tier`` and the audit all read tier cells through
the vocabulary of the rulebook they use (``Rulebook.normalize_label`` / ``Rulebook.tier_of``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import OutputSpec, Rule


def tier_key(text: str) -> str:
    """The form tier names are compared in: NFKC, no spaces, case folded."""
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


@dataclass(frozen=True)
class TierVocabulary:
    """The names of a rulebook's tiers: ``lookup(text)`` -> (label, sub-class or "")."""

    labels: tuple[str, ...]
    sub_classes: dict[str, tuple[str, ...]]  # label -> its sub-classes, in rule order
    _names: dict[str, tuple[str, str]]

    @classmethod
    def of(cls, outputs: Iterable[OutputSpec], rules: Iterable[Rule] = ()) -> TierVocabulary:
        outputs = tuple(outputs)
        names: dict[str, tuple[str, str]] = {}
        derived: list[tuple[str, tuple[str, str]]] = []
        for o in outputs:  # the names written in the rulebook file come first
            for name in (o.label, *o.aliases, *([o.code] if o.code else [])):
                names.setdefault(tier_key(name), (o.label, ""))
            if o.code:
                derived += [(f"{o.code}客户", (o.label, "")), (f"{o.label}({o.code})", (o.label, ""))]
        subs: dict[str, list[str]] = {}
        for r in rules:
            if r.sub_class and r.sub_class not in subs.get(r.output, []):
                subs.setdefault(r.output, []).append(r.sub_class)
                names.setdefault(tier_key(r.sub_class), (r.output, r.sub_class))
                derived.append((f"{r.sub_class}客户", (r.output, r.sub_class)))
        for name, meaning in derived:  # only where the file's own names leave them free
            names.setdefault(tier_key(name), meaning)
        return cls(tuple(o.label for o in outputs), {k: tuple(v) for k, v in subs.items()}, names)

    def lookup(self, text: Any) -> tuple[str, str] | None:
        """(label, sub-class) for a tier text (sub-class "" unless the text names one);
        None for anything else (not a text, unknown)."""
        if not isinstance(text, str):
            return None
        return self._names.get(tier_key(text))

    def describe(self) -> str:
        """The labels for a message: ``VIP客户、核心客户（A类核心、B类核心）、普通客户``."""
        return "、".join(f"{lab}（{'、'.join(self.sub_classes[lab])}）" if lab in self.sub_classes
                        else lab for lab in self.labels)
