"""``client-rating rules list | show ID | check [--rulebook ID]``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from rich.console import Console
from rich.table import Table

import rules
from rules.errors import ParameterMissingError, show
from rules.verify import check, check_versions


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rules", help="规则：列出、查看参数表、校验（缺口、重叠、非单调）")
    rs = p.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    lst = rs.add_parser("list", help="列出所有规则及其生效版本")
    lst.set_defaults(func=cmd_list)
    show_p = rs.add_parser("show", help="显示一个规则的参数表")
    show_p.add_argument("rulebook")
    show_p.add_argument("--as-of", type=dt.date.fromisoformat, help="生效日期（默认今天）")
    show_p.add_argument("--params", help="公司参数文件（TOML），如 wealth 的阈值")
    show_p.set_defaults(func=cmd_show)
    chk = rs.add_parser("check", help="校验规则：缺口、重叠、遮蔽、非单调、版本生效期")
    chk.add_argument("--rulebook", help="只校验这一个规则（默认全部）")
    chk.add_argument("--as-of", type=dt.date.fromisoformat, help="生效日期（默认今天）")
    chk.add_argument("--params", help="公司参数文件（TOML）")
    chk.add_argument("--json", action="store_true", help="以 JSON 输出发现（供程序使用）")
    chk.set_defaults(func=cmd_check)


def _console() -> Console:
    return Console(soft_wrap=False, width=140 if not sys.stdout.isatty() else None)


def _params(args: argparse.Namespace, rid: str) -> dict[str, float] | None:
    if not args.params:
        return None
    from pathlib import Path

    return rules.load_parameter_file(Path(args.params)).get(rid)


def cmd_list(args: argparse.Namespace) -> int:
    t = Table(title="规则 (rulebooks)")
    for col in ("id", "版本", "生效", "名称", "来源"):
        t.add_column(col)
    t.add_column("说明", overflow="fold")  # a firm file's path in full
    for rid in rules.rulebook_ids():
        for v in rules.versions(rid):
            notes = ["需公司参数"] if any(p.value is None for p in v.parameters.values()) else []
            if v.assumption:
                notes.append("含重构/默认值")
            until, successor = rules.in_force_until(v)
            if successor is not None:
                notes.append(f"{successor.effective_from} 起由 {successor.version} 取代")
            path, firm = rules.source_file(rid, v.version)
            if firm:
                notes.append(f"公司文件 {path}")
            t.add_row(rid, v.version, f"{v.effective_from}–{until or '至今'}", v.title,
                      f"seed {v.source.seed} {v.source.article}", "；".join(notes))
    _list_regimes(t)
    _console().print(t)
    return 0


def _list_regimes(t: Table) -> None:
    """The suitability regimes (rules/data/suitability, docs/suitability.md) as rows too."""
    from rules import appropriateness

    for rid in appropriateness.regime_ids():
        for v in appropriateness.versions(rid):
            t.add_row(rid, v.version, f"{v.effective_from}–{v.effective_to or '至今'}", v.title,
                      v.source.article, "适当性；" + v.source.note)


def cmd_show(args: argparse.Namespace) -> int:
    rid = args.rulebook
    from rules import appropriateness

    if isinstance(rid, str) and rid.strip().lower() in appropriateness.regime_ids():
        return _show_regime(appropriateness.get_regime(rid, args.as_of))
    try:
        rb = rules.get_rulebook(rid, args.as_of, _params(args, rid))
    except ParameterMissingError as e:
        print(f"错误：{e}", file=sys.stderr)
        data, _ = rules.version_in_force(rid, args.as_of or dt.date.today())
        for name in e.missing:
            p = data.parameters[name]
            print(f"  {name} = …   # {p.label}（{p.unit}）", file=sys.stderr)
        print(f"示例：{rules.EXAMPLE_PARAMETERS}", file=sys.stderr)
        return 1
    c = _console()
    c.print(f"[bold]{rb.ref}[/bold]  {rb.title}")
    c.print(f"来源：{rb.source.document} {rb.source.article}（seed {rb.source.seed}）")
    until, successor = rules.in_force_until(rb.data)
    then = f"（{successor.effective_from} 起由 {successor.version} 取代）" if successor else ""
    c.print(f"生效：{rb.effective_from} – {until or '至今'}{then}；命中策略：{rb.hit_policy}；"
            f"就高不就低：{'是' if rb.upgrade_only else '否'}")
    sched = rb.data.schedule  # run windows (rules.schedule.run_window)
    windows = [f"{name}前 {w.days} 个工作日（{w.source.partition('：')[0]}）" for name, w in (
        ("年度评级", sched.annual), ("季度评级", sched.quarterly), ("新开户评级", sched.monthly))
        if w is not None] if sched is not None else []
    c.print("运行窗口：" + ("；".join(windows) if windows else "制度未规定（不核对运行日期）"))
    if rb.assumption:
        c.print(f"[yellow]假设：{rb.assumption}[/yellow]")
    if rb.parameters:
        pt = Table(title="参数")
        for col in ("参数", "含义", "值", "备注"):
            pt.add_column(col)
        for name, p in rb.data.parameters.items():
            pt.add_row(name, p.label, show(rb.parameters[name]),
                       ("默认值/假设；" if p.assumption else "") + p.note)
        c.print(pt)
    t = Table(title="规则表（自上而下）")
    for col in ("规则", "结论", "子类", "条件", "原文"):
        t.add_column(col)
    for r in rb.rules:
        t.add_row(r.id, rb.outputs[r.output].label, r.sub_class, rb.describe_rule(r), r.text)
    c.print(t)
    o = Table(title="级别")
    for col in ("级别", "代码", "别名", "服务", "年拜访"):
        o.add_column(col)
    for out in rb.outputs:
        o.add_row(out.label, out.code, "、".join(out.aliases), out.service or "、".join(out.services),
                  "" if out.visits_per_year is None else str(out.visits_per_year))
    c.print(o)
    return 0


def _show_regime(rg) -> int:
    d = rg.data
    c = _console()
    c.print(f"[bold]{rg.ref}[/bold]  {d.title}")
    c.print(f"来源：{d.source.document} {d.source.article}")
    c.print(f"[yellow]核实情况：{d.source.note}[/yellow]")
    t = Table(title="投资者分类（元 / 年）")
    for col in ("类别", "条件", "条款"):
        t.add_column(col)
    for cat in d.professional_a.categories:
        t.add_row("专业投资者A", f"第（{cat.code}）项：{cat.label}", d.professional_a.article)
    for kind, rule, quals in (("专业投资者B", d.professional_b, " 或 高管/持证会计师律师"),
                              ("可申请转化", d.to_professional, "")):
        pi, pp = rule.institution, rule.individual
        t.add_row(kind, f"机构：净资产 ≥ {show(pi.net_assets_min)} 且 金融资产 ≥ "
                  f"{show(pi.financial_assets_min)} 且 投资经历 ≥ {show(pi.investment_years_min)}",
                  pi.article)
        t.add_row(kind, f"个人：(金融资产 ≥ {show(pp.financial_assets_min)} 或 年均收入 ≥ "
                  f"{show(pp.income_min)}) 且 (投资经历 ≥ {show(pp.investment_years_min)} 或 工作经历 ≥ "
                  f"{show(pp.work_years_min)}{quals})", pp.article)
    c.print(t)
    m = Table(title="匹配表")
    for col in ("投资者", "可购买", "条款"):
        m.add_column(col)
    for lv, top in rg.max_product.items():
        m.add_row(lv, "R1" if top == "R1" else f"R1–{top}", d.matching.article)
    m.add_row("C1（最低类别）", d.warning.lowest_max, d.warning.ban_article)
    c.print(m)
    c.print(f"高于等级：须特别的书面风险警示并经客户确认（{d.warning.article}）；最低类别不得销售。")
    c.print(f"测评有效期：{rg.valid_years} 年（公司设置）；2009 年对照：" +
            "，".join(f"{k}→{v}" for k, v in rg.legacy.items()) + "（公司配置）")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from rules import appropriateness
    from rules.verify import check_regime

    regimes = appropriateness.regime_ids()
    asked = args.rulebook.strip().lower() if args.rulebook else None
    findings = []
    if asked is None or asked in regimes:
        for rid in [asked] if asked else regimes:
            findings += check_versions(appropriateness.versions(rid))
            findings += check_regime(appropriateness.get_regime(rid, args.as_of))
    ids = [] if asked in regimes else [args.rulebook] if args.rulebook else rules.rulebook_ids()
    for rid in ids:
        findings += check_versions(rules.versions(rid))
        try:
            rb = rules.get_rulebook(rid, args.as_of, _params(args, rid))
        except ParameterMissingError as e:
            if args.rulebook:
                print(f"错误：{e}", file=sys.stderr)
                return 1
            if not args.json:
                print(f"{rid}：跳过（{e.args[0].split('。')[0]}）")
            continue
        findings += check(rb)
    if args.json:
        print(json.dumps([{"kind": f.kind, "severity": f.severity, "rulebook": f.rulebook,
                           "rule_ids": list(f.rule_ids), "witness": f.witness,
                           "message": f.message, "detail": f.detail} for f in findings],
                         ensure_ascii=False, indent=2))
    else:
        for f in findings:
            print(f.text())
        print(f"共 {len(findings)} 项发现。" if findings else "未发现问题。")
    return 1 if findings else 0
