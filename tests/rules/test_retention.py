"""Tests of rules.retention (seed 003《营业部客户流失应对规范》; POLICY.md R6).
Expected chains typed from 第九条/第十条/第十七条; blockers from 第十六条; follow-up from 第三十–三十二条.
"""

from __future__ import annotations

import datetime as dt
from datetime import date

import pytest

from rules import retention
from rules.errors import RulebookError, RuleInputError, show
from rules.retention import (
    LEAVING_REASONS,
    appointment_required,
    approval_chain,
    blocker_flags,
    follow_up_plan,
    importance,
    leaving_reason_response,
    load_retention,
    transfer_blockers,
)

D = date
COUNTER, MANAGER, DIRECTOR, GM = "柜台人员（或营业部指定人员）", "客户经理", "营销总监", "总经理"


@pytest.mark.parametrize(("tier", "ctype", "chain"), [
    ("普通客户", "个人", [COUNTER, MANAGER]),
    ("潜力客户", "个人", [COUNTER, MANAGER]),
    ("四类", "个人客户", [COUNTER, MANAGER]),
    ("重要客户", "个人", [COUNTER, MANAGER, DIRECTOR]),
    ("中大客户", "个人", [COUNTER, MANAGER, DIRECTOR]),
    ("核心客户", "个人", [COUNTER, MANAGER, DIRECTOR, GM]),
    ("VIP客户", "个人", [COUNTER, MANAGER, DIRECTOR, GM]),
    ("VIP", "individual", [COUNTER, MANAGER, DIRECTOR, GM]),
    ("A类核心", "个人", [COUNTER, MANAGER, DIRECTOR, GM]),
    # institutional clients always get the top chain
    ("普通客户", "机构", [COUNTER, MANAGER, DIRECTOR, GM]),
    ("潜力客户", "机构客户", [COUNTER, MANAGER, DIRECTOR, GM]),
    ("重要客户", "institution", [COUNTER, MANAGER, DIRECTOR, GM]),
    # 产品 (WORKBOOK.md's third client type): opened by a manager acting under a legal person's
    # authorisation, the seed's 机构客户 procedure (第八条第2项): the top chain
    ("普通客户", "产品", [COUNTER, MANAGER, DIRECTOR, GM]),
    ("潜力客户", "产品户", [COUNTER, MANAGER, DIRECTOR, GM]),
])
def test_approval_chain(tier, ctype, chain):
    assert approval_chain(tier, ctype) == chain


@pytest.mark.parametrize(("tier", "ctype", "needed"), [
    ("普通客户", "个人", False), ("重要客户", "个人", False), ("核心客户", "个人", True),
    ("VIP客户", "个人", True), ("普通客户", "机构", True),
])
def test_appointment_one_day_ahead(tier, ctype, needed):
    assert appointment_required(tier, ctype) is needed


def test_chain_monotone_in_tier():
    order = ["普通客户", "潜力客户", "核心客户", "VIP客户"]
    lengths = [len(approval_chain(t, "个人")) for t in order]
    assert lengths == sorted(lengths)


@pytest.mark.parametrize(("tier", "ctype", "shown", "field"), [
    ("钻石", "个人", "'钻石'", "客户级别"), ("", "个人", "''", "客户级别"),
    ("普通客户", "合伙", "'合伙'", "客户类型"), (None, "个人", "（空）", "客户级别"),
    ("普通客户", None, "（空）", "客户类型"),
])
def test_approval_chain_invalid(tier, ctype, shown, field):
    with pytest.raises(RuleInputError) as e:
        approval_chain(tier, ctype)
    assert shown in e.value.message
    assert e.value.field == field
    assert e.value.kind == "na"


def test_importance():
    assert importance("VIP客户", "个人") == "核心"
    assert importance("潜力客户", "个人") == "普通"
    assert importance("潜力客户", "机构") == "核心"


# ----------------------------------------------------------------------------- blockers


def test_no_blockers():
    assert transfer_blockers() == []
    assert transfer_blockers(order_today=False, ipo_funds_frozen=False) == []


def test_each_blocker_text():
    expected = {
        "order_today": "当天有委托",
        "repo_not_matured": "国债回购未到期",
        "repo_registration_not_revoked": "国债回购登记未撤销",
        "ipo_funds_frozen": "新股申购资金未解冻",
        "agreement_unfulfilled": "协议未履行完毕",
        "registrar_refuses": "中国证券登记结算",
    }
    assert set(blocker_flags()) == set(expected)
    for i, (flag, phrase) in enumerate(expected.items(), start=1):
        out = transfer_blockers(**{flag: True})
        assert len(out) == 1
        assert phrase in out[0]
        assert f"第十六条第{i}项" in out[0]


def test_several_blockers_in_clause_order():
    out = transfer_blockers(ipo_funds_frozen=True, order_today=True)
    assert len(out) == 2
    assert "当天有委托" in out[0] and "新股申购" in out[1]


def test_blocker_unknown_flag():
    with pytest.raises(RuleInputError) as e:
        transfer_blockers(margin_debt=True)
    assert "'margin_debt'" in e.value.message


@pytest.mark.parametrize("bad", [1, "是", None, "TRUE"])
def test_blocker_non_bool(bad):
    with pytest.raises(RuleInputError) as e:
        transfer_blockers(order_today=bad)
    assert show(bad) in e.value.message


# ----------------------------------------------------------------------------- follow-up


def test_follow_up_ordinary():
    plan = follow_up_plan("普通客户", "个人", D(2026, 11, 18))
    assert len(plan) == 2
    assert plan[0].due_by == D(2026, 11, 18) and "工作备忘录" in plan[0].text_zh
    assert plan[1].due_by is None and "第三十条" in plan[1].text_zh


def test_follow_up_core_individual():
    # 2026-11-18 is a Wednesday: the week ends on Sunday 2026-11-22.
    plan = follow_up_plan("核心客户", "个人", D(2026, 11, 18))
    assert plan[0].due_by == D(2026, 11, 18)
    assert plan[1].due_by == D(2026, 11, 22) and "当周" in plan[1].text_zh
    monthly = plan[2:]
    assert len(monthly) == 12
    assert monthly[0].due_by == D(2026, 12, 31)
    assert monthly[1].due_by == D(2027, 1, 31)
    assert monthly[2].due_by == D(2027, 2, 28)
    assert monthly[-1].due_by == D(2027, 11, 30)
    assert all("第三十一条" in s.text_zh for s in monthly)
    assert not any("上门回访" in s.text_zh and "一年内" in s.text_zh for s in plan)


def test_follow_up_sunday_departure_week_ends_same_day():
    plan = follow_up_plan("重要客户", "个人", D(2026, 11, 22))
    assert plan[1].due_by == D(2026, 11, 22)


def test_follow_up_institution_has_yearly_visit():
    plan = follow_up_plan("普通客户", "机构", D(2026, 11, 18))
    yearly = [s for s in plan if "一年内" in s.text_zh]
    assert len(yearly) == 1
    assert yearly[0].due_by == D(2027, 11, 18)
    assert "第三十二条" in yearly[0].text_zh
    dues = [s.due_by for s in plan]
    assert dues == sorted(dues)
    assert len(plan) == 1 + 1 + 12 + 1


def test_follow_up_feb_29():
    plan = follow_up_plan("核心客户", "机构", D(2028, 2, 29))
    assert any(s.due_by == D(2029, 2, 28) and "一年内" in s.text_zh for s in plan)


def test_follow_up_accepts_datetime_and_rejects_non_dates():
    assert follow_up_plan("普通", "个人", dt.datetime(2026, 1, 5, 10))[0].due_by == D(2026, 1, 5)
    with pytest.raises(RuleInputError, match="'2026-01-05'"):
        follow_up_plan("普通", "个人", "2026-01-05")


# ----------------------------------------------------------------------------- reasons


def test_leaving_reasons():
    # the seed's own words (第二十–二十八条: "因……引起的转销户"), not paraphrases
    assert len(LEAVING_REASONS) == 10
    assert LEAVING_REASONS[0] == "住址搬迁，交通不便利"
    assert LEAVING_REASONS[-1] == "其他"
    assert "佣金费率水平较高" in LEAVING_REASONS
    assert "行业内竞争" in LEAVING_REASONS
    assert "设备老化、系统故障率高、交易速度较慢" in LEAVING_REASONS
    assert "第二十七条" in leaving_reason_response("佣金费率水平较高")


@pytest.mark.parametrize(("reason", "detail", "recorded"), [
    ("佣金费率水平较高", None, "佣金费率水平较高"),
    (" 住址搬迁、交通不便利 ", None, "住址搬迁，交通不便利"),  # 、 or ， alike
    ("员工或外聘经纪人流动", "客户经理离职", "员工或外聘经纪人流动（客户经理离职）"),
    ("其他", "家人要求", "其他：家人要求"),
    ("其他：家人要求", None, "其他：家人要求"),
    ("其他:家人要求", "", "其他：家人要求"),
])
def test_record_leaving_reason_keeps_the_seed_text(reason, detail, recorded):
    assert retention.record_leaving_reason(reason, detail) == recorded


@pytest.mark.parametrize(("reason", "detail", "message"), [
    ("佣金费率较高", None, "不是制度列出的原因"),   # a paraphrase is not the text
    ("太贵了", None, "不是制度列出的原因"),
    ("其他", None, "须写明具体原因"),
    ("其他：", "  ", "须写明具体原因"),
    ("", None, "流失原因为空"),
    (None, None, "流失原因为空"),
    ("其他：搬家", "又写了一遍", "原因说明应留空"),
])
def test_record_leaving_reason_refuses_other_texts(reason, detail, message):
    with pytest.raises(RuleInputError, match=message):
        retention.record_leaving_reason(reason, detail)


def test_closing_check_seed_003_article_19():
    flags = retention.closing_flags()
    assert retention.closing_check(**dict.fromkeys(flags, True)) == []
    assert retention.closing_check() == ["已办理上海撤销指定交易", "已办理深圳转托管", "已办理资金结息取款",
                                         "与营业部签定的各种协议已履行完毕", "无其他对应关系"]
    left = retention.closing_check(**dict.fromkeys(flags, True) | {"sz_transferred": False})
    assert left == ["已办理深圳转托管"]
    with pytest.raises(RuleInputError, match="无法识别"):
        retention.closing_check(closed=True)
    with pytest.raises(RuleInputError, match="应为 TRUE 或 FALSE"):
        retention.closing_check(sz_transferred="是")


def test_missing_approvers():
    assert retention.missing_approvers("核心客户", "个人", [COUNTER, MANAGER, GM]) == [DIRECTOR]
    assert retention.missing_approvers("普通客户", "个人", ["柜台人员", MANAGER, GM]) == []
    assert retention.missing_approvers("普通客户", "产品", ["营业部指定人员", MANAGER]) == [DIRECTOR, GM]


def test_leaving_reason_unknown():
    with pytest.raises(RuleInputError) as e:
        leaving_reason_response("天气不好")
    assert "'天气不好'" in e.value.message and e.value.kind == "na"


# ----------------------------------------------------------------------------- data file

SHIPPED = retention.DATA_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize(("old", "new", "field"), [
    ('importance = "重要"', 'importance = "次要"', "chains.1.importance"),
    ('approvers = ["柜台人员（或营业部指定人员）", "客户经理", "营销总监"]',
     'approvers = ["营销总监"]', "chains"),
    ('"vip客户" = "核心"', '"vip客户" = "顶级"', "importance_aliases"),
    ("monthly_months = 12", "monthly_months = 0", "follow_up.monthly_months"),
    ('flag = "repo_not_matured"', 'flag = "order_today"', "blockers"),
    ('clause = "第二十条"', "", "reasons.0.clause"),
])
def test_malformed_data_names_file_and_field(tmp_path, old, new, field):
    assert old in SHIPPED
    f = tmp_path / "retention.toml"
    f.write_text(SHIPPED.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RulebookError) as e:
        load_retention(f)
    assert str(f) in str(e.value)
    assert field in str(e.value)


def test_missing_or_broken_data(tmp_path):
    with pytest.raises(RulebookError, match="nope"):
        load_retention(tmp_path / "nope.toml")
    f = tmp_path / "r.toml"
    f.write_text("[meta", encoding="utf-8")
    with pytest.raises(RulebookError, match="TOML"):
        load_retention(f)
