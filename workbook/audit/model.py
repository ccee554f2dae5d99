"""The auditor's findings as data: severities, check names, :class:`Finding`, :class:`AuditResult`.

Kept apart from the checks so that the Excel front end, the CLI and the report writer share one
vocabulary. Severities:

* ``严重`` — something shown in the workbook is not what the rules, the formula or the history
  support (a typed-over tier, an edited history row, a cached value its formula does not give);
* ``警告`` — a policy breach or something the audit cannot prove and a person must look at;
* ``提示`` — information that needs no action on its own (figures updated since the last run, a
  row the job rejects, a date-dependent cell computed on another day). It does not change the
  exit status.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

SEVERE, WARN, INFO = "严重", "警告", "提示"
SEVERITIES: tuple[str, ...] = (SEVERE, WARN, INFO)

#: The five checks of issue 5, in order, plus the rows the re-rating job rejects.
CHECK_FORMULA = "公式结果"
CHECK_OVERWRITE = "公式被覆盖"
CHECK_TIER = "当前级别"
CHECK_HISTORY = "变更记录"
CHECK_POLICY = "制度检查"
CHECK_DATA = "数据有误"
CHECKS: tuple[str, ...] = (CHECK_FORMULA, CHECK_OVERWRITE, CHECK_TIER, CHECK_HISTORY,
                           CHECK_POLICY, CHECK_DATA)

#: Severity shown in the 审计 sheet for formula cells that were not recomputed.
NOT_CHECKED = "未检查"

#: Chinese title of each kind of finding (``Finding.kind``), for overviews and docs/audit.md.
KIND_TITLES: dict[str, str] = {
    # 1 公式结果
    "formula_mismatch": "缓存值与重算结果不符",
    "formula_name_error": "保存时未加载加载项（#NAME?）",
    "formula_stale_after_run": "重评级后尚未在 Excel 中重算",
    "formula_date_dependent": "随计算日期变化的结果",
    "formula_not_computed": "缓存为空（未计算）",
    # 2 公式被覆盖
    "overwritten_formula": "公式被值覆盖",
    "formula_changed": "公式与同列不一致",
    "formula_missing": "公式缺失",
    # 3 当前级别
    "tier_typed_over": "当前级别被手工改动",
    "tier_cleared": "当前级别被清空",
    "tier_alias": "当前级别写作简称",
    "tier_unsupported": "当前级别无法证明",
    "tier_changed_between_runs": "两次运行之间级别被改动",
    "tier_digest": "级别摘要不符",
    "tier_never_rated": "从未评级（每次都被拒绝）",
    "figures_changed": "运行后数据已更新",
    "entry_unexplained": "变更记录不能由规则解释",
    "entry_altered": "变更记录在运行后被改动",
    "entry_unverifiable": "变更记录无法核对",
    "entry_duplicate": "同一运行中重复的记录",
    "client_missing": "客户行被删除",
    "client_rows_changed": "客户行被增删",
    "no_history": "没有重评级记录",
    # 4 变更记录
    "history_edited": "记录被修改",
    "history_inserted": "插入的记录",
    "history_reordered": "记录顺序被调换",
    "history_deleted": "记录被删除",
    "history_tail": "最后的记录被删除",
    "history_unknown_type": "未知的记录类型",
    "history_no_tail": "汇总缺少末行哈希",
    "history_forced_rerun": "强制重跑的运行",
    "history_backwards_run": "强制执行的期间倒退",
    # 5 制度检查
    "override_no_approver": "特别调整无审批人",
    "override_self_approved": "特别调整由操作员自己审批",
    "risk_class_mismatch": "风险类别与得分不符",
    "risk_class_missing": "风险类别为空",
    "questionnaire_overdue": "问卷逾期未重新评估",
    "assessment_in_future": "测评日期晚于审计日",
    "assessment_date_missing": "缺测评日期",
    "assessment_date_invalid": "测评日期无法识别",
    "gap_figures": "数据落在规则缺口",
    "suitability_breach": "适当性不匹配",
    "suitability_no_class": "无风险类别却有产品",
    "product_risk_invalid": "产品风险等级无法识别",
    "transfer_breach": "转销户不符合规范（003）",
    # 5 制度检查：投资者适当性 2017（workbook/suitability2017.py）
    "purchase_unsuitable": "高于风险等级且未确认特别风险警示",
    "purchase_forbidden": "向最低类别销售高于 R1 的产品",
    "purchase_no_level": "无有效风险等级的购买",
    "purchase_unknown_client": "购买记录的客户不在客户表",
    "purchase_bad_value": "购买记录无法识别",
    "purchase_missing_column": "产品购买缺少列",
    "investor_type_mismatch": "投资者类别与规则不符",
    "risk_level_mismatch": "风险等级与规则不符",
    "suitability_regime": "适当性规则无法使用",
    "suitability_cell_invalid": "适当性数据无法识别",
    # 数据有误
    "invalid_row": "重评级会拒绝的行",
    "invalid_field": "重评级会标记的字段（照常评级）",
}


def quote_sheet(name: str) -> str:
    """A sheet name as Excel writes it in a reference: quoted, with ' doubled."""
    return "'" + name.replace("'", "''") + "'"


@dataclass(frozen=True)
class Finding:
    """One finding. ``cell`` is an A1 address inside ``sheet`` ("" = the sheet as a whole);
    ``found`` is what the workbook shows, ``supported`` what the rules / formula / history
    support; ``rule`` the clause or rule id and ``rulebook`` the id@version, where relevant."""

    severity: str
    check: str
    kind: str
    sheet: str
    cell: str = ""
    client_id: str = ""
    found: Any = None
    supported: Any = None
    explanation: str = ""
    rule: str = ""
    rulebook: str = ""

    @property
    def address(self) -> str:
        """``客户!N7`` (or the sheet name alone)."""
        return f"{self.sheet}!{self.cell}" if self.cell else self.sheet

    @property
    def link(self) -> str:
        """Location inside the workbook for a hyperlink: ``#'客户'!N7``."""
        return f"#{quote_sheet(self.sheet)}!{self.cell or 'A1'}"

    @property
    def row(self) -> int | None:
        digits = "".join(ch for ch in self.cell.split(":")[0] if ch.isdigit())
        return int(digits) if digits else None


@dataclass(frozen=True)
class NotChecked:
    """A formula cell calling our functions that the audit could not recompute, and why."""

    sheet: str
    cell: str
    formula: str
    reason: str

    @property
    def address(self) -> str:
        return f"{self.sheet}!{self.cell}"


@dataclass
class AuditResult:
    """Everything one audit found. ``stats`` holds counts (formula cells checked, clients,
    history rows, runs …); ``notes`` are Chinese lines for the summary (what was proven)."""

    as_of: dt.date
    rulebook: str
    findings: list[Finding] = field(default_factory=list)
    not_checked: list[NotChecked] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    path: str | None = None

    def count(self, severity: str | None = None, check: str | None = None) -> int:
        return sum(1 for f in self.findings
                   if (severity is None or f.severity == severity)
                   and (check is None or f.check == check))

    def by_severity(self) -> dict[str, list[Finding]]:
        out: dict[str, list[Finding]] = {s: [] for s in SEVERITIES}
        for f in self.findings:
            out[f.severity].append(f)
        return out

    @property
    def has_findings(self) -> bool:
        """True when there is a 严重 or 警告 finding (提示 alone is informational)."""
        return any(f.severity in (SEVERE, WARN) for f in self.findings)

    @property
    def exit_code(self) -> int:
        """0 no findings (提示 only), 1 findings."""
        return 1 if self.has_findings else 0

    def sort(self) -> None:
        sev = {s: k for k, s in enumerate(SEVERITIES)}
        chk = {c: k for k, c in enumerate(CHECKS)}
        self.findings.sort(key=lambda f: (sev.get(f.severity, 9), chk.get(f.check, 9), f.sheet,
                                          f.row or 0, _col_key(f.cell), f.kind))


def _col_key(cell: str) -> tuple[int, str]:
    letters = "".join(ch for ch in cell.split(":")[0] if ch.isalpha())
    return len(letters), letters
