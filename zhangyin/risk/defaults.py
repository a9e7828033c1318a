"""The default rule set shipped with the product, for the common telecom-fraud patterns.

Seeded live by migration 0003 (a frozen copy; a test checks they agree) and
documented, with the reason for each, in docs/risk-rules.md. The bank edits,
retires or replaces them from the console like any other rule.
"""

from __future__ import annotations

from typing import TypedDict


class DefaultRule(TypedDict):
    key: str
    name: str
    expression: str
    reason_code: str
    message_zh: str
    message_en: str
    rationale: str


DEFAULT_RULES: list[DefaultRule] = [
    {
        "key": "TF001",
        "name": "First-time payee, large amount, at night",
        "expression": "payee.first_time and amount >= 5000 and hour_local in 0..5 -> challenge",
        "reason_code": "new_payee_night_large",
        "message_zh": "夜间首次向该收款人大额转账，请完成身份验证",
        "message_en": "A large first payment to this payee at night needs extra verification",
        "rationale": "Victims of impersonation scams are often pressed to pay at night, "
        "to a payee they have never paid, before they can ask anyone.",
    },
    {
        "key": "TF002",
        "name": "First-time payee, very large amount: delayed arrival",
        "expression": "payee.first_time and amount >= 50000 -> delay",
        "reason_code": "new_payee_very_large",
        "message_zh": "首次向该收款人转账金额较大，将于24小时后到账，期间可撤销。"
        "凡自称公检法、客服要求转账到“安全账户”的都是诈骗",
        "message_en": "A very large first payment to this payee arrives in 24 hours and can be "
        "cancelled until then. Anyone asking you to move money to a 'safe account' is a fraudster",
        "rationale": "Delayed arrival (延时到账) gives victims a day to realise and cancel; most "
        "telecom-fraud losses are large, one-off payments to a new payee.",
    },
    {
        "key": "TF003",
        "name": "Account takeover: new device after a password or phone change",
        "expression": "device.new and (password_changed_hours < 72 or phone_changed_hours < 72) "
        "and amount >= 1000 -> hold",
        "reason_code": "takeover_pattern",
        "message_zh": "账户近期变更了密码或手机号并在新设备上转账，交易已暂停待人工核实",
        "message_en": "The password or phone number changed recently and this payment comes from "
        "a new device; it is held for review",
        "rationale": "SIM-swap and credential theft show as a password or phone change followed "
        "by payments from a device never seen before.",
    },
    {
        "key": "TF004",
        "name": "Payee account on a watch list",
        "expression": "payee.watchlist_account -> block",
        "reason_code": "payee_account_watchlisted",
        "message_zh": "收款账户已被列入涉诈名单，交易已拦截",
        "message_en": "The payee account is on a fraud watch list; the payment is blocked",
        "rationale": "Accounts reported by the police or confirmed in our own cases are known "
        "fraud accounts; paying them is never legitimate.",
    },
    {
        "key": "TF005",
        "name": "Payee name matches a watch list",
        "expression": "payee.watchlist and not payee.watchlist_account -> hold",
        "reason_code": "payee_name_watchlisted",
        "message_zh": "收款人名称与风险名单相似，交易已暂停待人工核实",
        "message_en": "The payee's name resembles a watch-list entry; the payment is held for "
        "review",
        "rationale": "A name match (also in pinyin or traditional characters) may be a "
        "namesake, so an analyst decides rather than the machine.",
    },
    {
        "key": "TF006",
        "name": "Mule payee: many payers, money leaves within minutes",
        "expression": "payee.in_bank and payee.account_age_days < 30 and "
        "payee.ledger_distinct_payers_24h >= 5 and payee.fast_outflow_ratio >= 0.8 -> hold",
        "reason_code": "mule_payee",
        "message_zh": "收款账户存在异常资金快进快出特征，交易已暂停待人工核实",
        "message_en": "The payee account shows money-mule activity (many payers, money out "
        "within minutes); the payment is held for review",
        "rationale": "Money-mule accounts are new, receive from many unrelated people and pass "
        "the money on at once.",
    },
    {
        "key": "TF007",
        "name": "Many of our customers paying one new payee",
        "expression": "payee.first_time and payee.distinct_payers_7d >= 10 and "
        "not payee.in_bank -> challenge",
        "reason_code": "payee_many_payers",
        "message_zh": "该收款账户近期收到大量不同客户的转账，请确认您认识收款人",
        "message_en": "This payee recently received money from many different customers; please "
        "confirm you know them",
        "rationale": "A collection account of a scam receives from many victims; a shop or "
        "landlord receives from people who already paid them before.",
    },
    {
        "key": "TF008",
        "name": "Payee reported for fraud",
        "expression": "payee.fraud_reports_30d >= 1 and not (payee.known_days >= 90) -> hold",
        "reason_code": "payee_reported",
        "message_zh": "该收款账户近期被举报涉嫌诈骗，交易已暂停待人工核实",
        "message_en": "This payee was recently reported for fraud; the payment is held for review",
        "rationale": "Victims' reports are the fastest signal; a long-standing payee of this "
        "customer is exempt so that one bad report does not stop a landlord's rent.",
    },
    {
        "key": "TF009",
        "name": "Several small payments, then a large one to a new payee",
        "expression": "customer.small_then_large and payee.first_time -> challenge",
        "reason_code": "small_then_large",
        "message_zh": "短时间内多笔小额后出现大额转账，请完成身份验证",
        "message_en": "Several small payments followed by a large one need extra verification",
        "rationale": "Fraudsters test a stolen account or build a victim's trust with small "
        "payments ('refunds', 'task rebates') before the large one.",
    },
    {
        "key": "TF010",
        "name": "Amount far above the customer's own history, new payee",
        "expression": "payee.first_time and amount >= 20000 and customer.count_30d >= 5 and "
        "customer.amount_zscore >= 6 -> challenge",
        "reason_code": "unusual_amount",
        "message_zh": "本次转账金额明显高于您的日常水平，请完成身份验证",
        "message_en": "This amount is far above your usual payments; please verify it's you",
        "rationale": "Telecom-fraud losses are out of character for the victim; salary and "
        "rent are not, and are paid to known payees.",
    },
    {
        "key": "TF011",
        "name": "New device, transfer seconds after login",
        "expression": "device.new and login_to_transfer_seconds < 30 and amount >= 5000 "
        "-> challenge",
        "reason_code": "new_device_rush",
        "message_zh": "新设备登录后立即大额转账，请完成身份验证",
        "message_en": "A large payment right after logging in on a new device needs extra "
        "verification",
        "rationale": "Remote-control and scripted takeovers move money within seconds of "
        "logging in; a person browsing takes longer.",
    },
    {
        "key": "TF012",
        "name": "Many distinct payees in a day",
        "expression": "customer.distinct_payees_24h >= 8 and payee.first_time -> challenge",
        "reason_code": "many_payees",
        "message_zh": "今日向较多不同收款人转账，请完成身份验证",
        "message_en": "Payments to many different payees today need extra verification",
        "rationale": "Emptying an account across many payees is a takeover or mule-layering "
        "pattern.",
    },
    {
        "key": "TF013",
        "name": "New customer moving a large amount out",
        "expression": "customer.age_days < 7 and amount >= 20000 -> challenge",
        "reason_code": "new_customer_large",
        "message_zh": "新开户客户大额转出，请完成身份验证",
        "message_en": "A large payment from a newly opened relationship needs extra verification",
        "rationale": "Accounts opened to be sold or rented to fraud rings are used at once.",
    },
    {
        "key": "TF014",
        "name": "Model score very high",
        "expression": "model.score >= 0.9 -> hold",
        "reason_code": "model_high_risk",
        "message_zh": "交易风险评分较高，已暂停待人工核实",
        "message_en": "The transaction's risk score is high; it is held for review",
        "rationale": "The learned model sees combinations no single rule states; its highest "
        "scores go to an analyst.",
    },
    {
        "key": "TF015",
        "name": "Model score high",
        "expression": "model.score >= 0.7 and model.score < 0.9 -> challenge",
        "reason_code": "model_elevated_risk",
        "message_zh": "交易存在风险，请完成身份验证",
        "message_en": "The transaction looks risky; please verify it's you",
        "rationale": "Elevated scores get step-up authentication, which a legitimate customer "
        "passes in seconds.",
    },
]
