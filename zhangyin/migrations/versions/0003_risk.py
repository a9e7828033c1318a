"""risk: decisions log, rules, cases, models, watch lists, AML reports; default rules

Revision ID: 0003
Revises: 0001 (after 0002: it adds risk permissions to the console role map)
Create Date: 2026-11-23 08:00:46.535055
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import zhangyin.db

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0002"


#: The default rule set as shipped (a frozen copy of zhangyin/risk/defaults.py at this
#: revision; tests/risk checks they agree). Documented in docs/risk-rules.md.
DEFAULT_RULES = [
    {
        "key": "TF001",
        "name": "First-time payee, large amount, at night",
        "expression": "payee.first_time and amount >= 5000 and hour_local in 0..5 -> challenge",
        "reason_code": "new_payee_night_large",
        "message_zh": "夜间首次向该收款人大额转账，请完成身份验证",
        "message_en": "A large first payment to this payee at night needs extra verification",
        "rationale": "Victims of impersonation scams are often pressed to pay at night, to a payee they "
        "have never paid, before they can ask anyone.",
    },
    {
        "key": "TF002",
        "name": "First-time payee, very large amount: delayed arrival",
        "expression": "payee.first_time and amount >= 50000 -> delay",
        "reason_code": "new_payee_very_large",
        "message_zh": "首次向该收款人转账金额较大，将于24小时后到账，期间可撤销。凡自称公检法、客服要求转账到“安全账户”的都是诈骗",
        "message_en": "A very large first payment to this payee arrives in 24 hours and can be cancelled "
        "until then. Anyone asking you to move money to a 'safe account' is a fraudster",
        "rationale": "Delayed arrival (延时到账) gives victims a day to realise and cancel; most "
        "telecom-fraud losses are large, one-off payments to a new payee.",
    },
    {
        "key": "TF003",
        "name": "Account takeover: new device after a password or phone change",
        "expression": "device.new and (password_changed_hours < 72 or phone_changed_hours < 72) and "
        "amount >= 1000 -> hold",
        "reason_code": "takeover_pattern",
        "message_zh": "账户近期变更了密码或手机号并在新设备上转账，交易已暂停待人工核实",
        "message_en": "The password or phone number changed recently and this payment comes from a new "
        "device; it is held for review",
        "rationale": "SIM-swap and credential theft show as a password or phone change followed by "
        "payments from a device never seen before.",
    },
    {
        "key": "TF004",
        "name": "Payee account on a watch list",
        "expression": "payee.watchlist_account -> block",
        "reason_code": "payee_account_watchlisted",
        "message_zh": "收款账户已被列入涉诈名单，交易已拦截",
        "message_en": "The payee account is on a fraud watch list; the payment is blocked",
        "rationale": "Accounts reported by the police or confirmed in our own cases are known fraud "
        "accounts; paying them is never legitimate.",
    },
    {
        "key": "TF005",
        "name": "Payee name matches a watch list",
        "expression": "payee.watchlist and not payee.watchlist_account -> hold",
        "reason_code": "payee_name_watchlisted",
        "message_zh": "收款人名称与风险名单相似，交易已暂停待人工核实",
        "message_en": "The payee's name resembles a watch-list entry; the payment is held for review",
        "rationale": "A name match (also in pinyin or traditional characters) may be a namesake, so an "
        "analyst decides rather than the machine.",
    },
    {
        "key": "TF006",
        "name": "Mule payee: many payers, money leaves within minutes",
        "expression": "payee.in_bank and payee.account_age_days < 30 and "
        "payee.ledger_distinct_payers_24h >= 5 and payee.fast_outflow_ratio >= 0.8 -> hold",
        "reason_code": "mule_payee",
        "message_zh": "收款账户存在异常资金快进快出特征，交易已暂停待人工核实",
        "message_en": "The payee account shows money-mule activity (many payers, money out within "
        "minutes); the payment is held for review",
        "rationale": "Money-mule accounts are new, receive from many unrelated people and pass the money "
        "on at once.",
    },
    {
        "key": "TF007",
        "name": "Many of our customers paying one new payee",
        "expression": "payee.first_time and payee.distinct_payers_7d >= 10 and not payee.in_bank -> "
        "challenge",
        "reason_code": "payee_many_payers",
        "message_zh": "该收款账户近期收到大量不同客户的转账，请确认您认识收款人",
        "message_en": "This payee recently received money from many different customers; please confirm "
        "you know them",
        "rationale": "A collection account of a scam receives from many victims; a shop or landlord "
        "receives from people who already paid them before.",
    },
    {
        "key": "TF008",
        "name": "Payee reported for fraud",
        "expression": "payee.fraud_reports_30d >= 1 and not (payee.known_days >= 90) -> hold",
        "reason_code": "payee_reported",
        "message_zh": "该收款账户近期被举报涉嫌诈骗，交易已暂停待人工核实",
        "message_en": "This payee was recently reported for fraud; the payment is held for review",
        "rationale": "Victims' reports are the fastest signal; a long-standing payee of this customer is "
        "exempt so that one bad report does not stop a landlord's rent.",
    },
    {
        "key": "TF009",
        "name": "Several small payments, then a large one to a new payee",
        "expression": "customer.small_then_large and payee.first_time -> challenge",
        "reason_code": "small_then_large",
        "message_zh": "短时间内多笔小额后出现大额转账，请完成身份验证",
        "message_en": "Several small payments followed by a large one need extra verification",
        "rationale": "Fraudsters test a stolen account or build a victim's trust with small payments "
        "('refunds', 'task rebates') before the large one.",
    },
    {
        "key": "TF010",
        "name": "Amount far above the customer's own history, new payee",
        "expression": "payee.first_time and amount >= 20000 and customer.count_30d >= 5 and "
        "customer.amount_zscore >= 6 -> challenge",
        "reason_code": "unusual_amount",
        "message_zh": "本次转账金额明显高于您的日常水平，请完成身份验证",
        "message_en": "This amount is far above your usual payments; please verify it's you",
        "rationale": "Telecom-fraud losses are out of character for the victim; salary and rent are not, "
        "and are paid to known payees.",
    },
    {
        "key": "TF011",
        "name": "New device, transfer seconds after login",
        "expression": "device.new and login_to_transfer_seconds < 30 and amount >= 5000 -> challenge",
        "reason_code": "new_device_rush",
        "message_zh": "新设备登录后立即大额转账，请完成身份验证",
        "message_en": "A large payment right after logging in on a new device needs extra verification",
        "rationale": "Remote-control and scripted takeovers move money within seconds of logging in; a "
        "person browsing takes longer.",
    },
    {
        "key": "TF012",
        "name": "Many distinct payees in a day",
        "expression": "customer.distinct_payees_24h >= 8 and payee.first_time -> challenge",
        "reason_code": "many_payees",
        "message_zh": "今日向较多不同收款人转账，请完成身份验证",
        "message_en": "Payments to many different payees today need extra verification",
        "rationale": "Emptying an account across many payees is a takeover or mule-layering pattern.",
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
        "rationale": "The learned model sees combinations no single rule states; its highest scores go "
        "to an analyst.",
    },
    {
        "key": "TF015",
        "name": "Model score high",
        "expression": "model.score >= 0.7 and model.score < 0.9 -> challenge",
        "reason_code": "model_elevated_risk",
        "message_zh": "交易存在风险，请完成身份验证",
        "message_en": "The transaction looks risky; please verify it's you",
        "rationale": "Elevated scores get step-up authentication, which a legitimate customer passes in "
        "seconds.",
    },
]

#: PBOC large-value transaction reporting thresholds (minor units).
AML_THRESHOLDS = [
    {
        "code": "CASH_INDIVIDUAL",
        "party": "individual",
        "operations": ["cardless_cash"],
        "currency": "CNY",
        "threshold_minor": 5_000_000,
        "description_zh": "当日单笔或累计人民币5万元以上的现金交易",
        "description_en": "Cash of 50,000 CNY or more in a day (single or cumulative)",
    },
    {
        "code": "CASH_COMPANY",
        "party": "company",
        "operations": ["cardless_cash"],
        "currency": "CNY",
        "threshold_minor": 5_000_000,
        "description_zh": "当日单笔或累计人民币5万元以上的现金交易",
        "description_en": "Cash of 50,000 CNY or more in a day (single or cumulative)",
    },
    {
        "code": "TRANSFER_INDIVIDUAL",
        "party": "individual",
        "operations": ["transfer", "interbank_transfer", "bill_payment", "qr_payment"],
        "currency": "CNY",
        "threshold_minor": 50_000_000,
        "description_zh": "自然人当日单笔或累计人民币50万元以上的境内款项划转",
        "description_en": "An individual's domestic transfers of 500,000 CNY or more in a day",
    },
    {
        "code": "TRANSFER_COMPANY",
        "party": "company",
        "operations": ["transfer", "interbank_transfer", "bill_payment", "qr_payment"],
        "currency": "CNY",
        "threshold_minor": 200_000_000,
        "description_zh": "非自然人当日单笔或累计人民币200万元以上的款项划转",
        "description_en": "A company's transfers of 2,000,000 CNY or more in a day",
    },
]

RISK_PERMISSIONS = [
    ("risk_analyst", "risk.review"),
    ("risk_analyst", "risk.rules.publish"),
]


def _seed() -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    state = sa.table(
        "risk_state",
        sa.column("id", sa.Integer),
        sa.column("rules_version", sa.Integer),
        sa.column("watchlist_version", sa.Integer),
        sa.column("model_version", sa.String),
        sa.column("updated_at", zhangyin.db.UTCDateTime()),
    )
    op.bulk_insert(
        state,
        [
            {
                "id": 1,
                "rules_version": 1,
                "watchlist_version": 1,
                "model_version": None,
                "updated_at": now,
            }
        ],
    )
    rules = sa.table(
        "risk_rules",
        sa.column("key", sa.String),
        sa.column("version", sa.Integer),
        sa.column("name", sa.String),
        sa.column("expression", sa.Text),
        sa.column("outcome", sa.String),
        sa.column("reason_code", sa.String),
        sa.column("message_zh", sa.String),
        sa.column("message_en", sa.String),
        sa.column("status", sa.String),
        sa.column("author", sa.String),
        sa.column("rationale", sa.String),
        sa.column("created_at", zhangyin.db.UTCDateTime()),
        sa.column("published_by", sa.String),
        sa.column("published_at", zhangyin.db.UTCDateTime()),
    )
    op.bulk_insert(
        rules,
        [
            {
                **rule,
                "version": 1,
                "outcome": rule["expression"].rsplit("->", 1)[1].strip(),
                "status": "live",
                "author": "zhangyin",
                "created_at": now,
                "published_by": "zhangyin",
                "published_at": now,
            }
            for rule in DEFAULT_RULES
        ],
    )
    thresholds = sa.table(
        "risk_aml_thresholds",
        sa.column("code", sa.String),
        sa.column("party", sa.String),
        sa.column("operations", sa.JSON),
        sa.column("currency", sa.String),
        sa.column("threshold_minor", sa.BigInteger),
        sa.column("description_zh", sa.String),
        sa.column("description_en", sa.String),
    )
    op.bulk_insert(thresholds, AML_THRESHOLDS)
    if sa.inspect(op.get_bind()).has_table("identity_role_permissions"):
        permissions = sa.table(
            "identity_role_permissions",
            sa.column("role", sa.String),
            sa.column("permission", sa.String),
        )
        op.bulk_insert(permissions, [{"role": r, "permission": p} for r, p in RISK_PERMISSIONS])


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "risk_aml_reports",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("rule_code", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("tx_count", sa.Integer(), nullable=False),
        sa.Column("decision_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", zhangyin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", zhangyin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_aml_reports")),
        sa.UniqueConstraint(
            "business_date",
            "kind",
            "rule_code",
            "customer_id",
            "currency",
            name="uq_risk_aml_reports_identity",
        ),
    )
    with op.batch_alter_table("risk_aml_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_aml_reports_business_date"), ["business_date"], unique=False
        )

    op.create_table(
        "risk_aml_thresholds",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("party", sa.String(length=12), nullable=False),
        sa.Column("operations", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("threshold_minor", sa.BigInteger(), nullable=False),
        sa.Column("description_zh", sa.String(length=200), nullable=False),
        sa.Column("description_en", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_risk_aml_thresholds")),
    )
    op.create_table(
        "risk_decisions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("operation", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payee_account_number", sa.String(length=40), nullable=True),
        sa.Column("payee_name", sa.String(length=100), nullable=True),
        sa.Column("payee_bank_code", sa.String(length=20), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", zhangyin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("occurred_us", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("rule_hits", sa.JSON(), nullable=False),
        sa.Column("shadow_hits", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=True),
        sa.Column("failsafe", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_at", zhangyin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fraud_label", sa.Boolean(), nullable=True),
        sa.Column("labeled_at", zhangyin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("label_source", sa.String(length=30), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_decisions")),
    )
    with op.batch_alter_table("risk_decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_risk_decisions_account", ["account_id", "occurred_us"], unique=False
        )
        batch_op.create_index(
            "ix_risk_decisions_customer", ["customer_id", "occurred_us"], unique=False
        )
        batch_op.create_index(
            "ix_risk_decisions_device", ["device_id", "occurred_us"], unique=False
        )
        batch_op.create_index("ix_risk_decisions_ip", ["ip", "occurred_us"], unique=False)
        batch_op.create_index(
            "ix_risk_decisions_known_payee",
            ["customer_id", "payee_account_number", "status"],
            unique=False,
        )
        batch_op.create_index("ix_risk_decisions_occurred", ["occurred_at"], unique=False)
        batch_op.create_index(
            "ix_risk_decisions_payee", ["payee_account_number", "occurred_us"], unique=False
        )
        batch_op.create_index(
            "ix_risk_decisions_payee_label", ["payee_account_number", "labeled_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_risk_decisions_reference"), ["reference"], unique=False
        )

    op.create_table(
        "risk_models",
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("feature_names", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("model_text", sa.Text(), nullable=False),
        sa.Column("trained_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", zhangyin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", zhangyin.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_risk_models")),
    )
    op.create_table(
        "risk_rules",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("reason_code", sa.String(length=60), nullable=False),
        sa.Column("message_zh", sa.String(length=300), nullable=False),
        sa.Column("message_en", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("rationale", sa.String(length=1000), nullable=False),
        sa.Column("created_at", zhangyin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=64), nullable=True),
        sa.Column("published_at", zhangyin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_at", zhangyin.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_rules")),
        sa.UniqueConstraint("key", "version", name="uq_risk_rules_key_version"),
    )
    with op.batch_alter_table("risk_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_rules_status"), ["status"], unique=False)

    op.create_table(
        "risk_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rules_version", sa.Integer(), nullable=False),
        sa.Column("watchlist_version", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=40), nullable=True),
        sa.Column("updated_at", zhangyin.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_state")),
    )
    op.create_table(
        "risk_watchlist",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("list_name", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("pinyin", sa.String(length=300), nullable=False),
        sa.Column("account_number", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", zhangyin.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_watchlist")),
    )
    with op.batch_alter_table("risk_watchlist", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_watchlist_account_number"), ["account_number"], unique=False
        )

    op.create_table(
        "risk_cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("customer_id", sa.String(length=64), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payee_account_number", sa.String(length=40), nullable=True),
        sa.Column("payee_name", sa.String(length=100), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("rule_hits", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("top_features", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("opened_at", zhangyin.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", zhangyin.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decision_note", sa.String(length=1000), nullable=False),
        sa.Column("fraud_confirmed", sa.Boolean(), nullable=True),
        sa.Column("payee_frozen", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["risk_decisions.id"],
            name=op.f("fk_risk_cases_decision_id_risk_decisions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_cases")),
    )
    with op.batch_alter_table("risk_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_cases_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_risk_cases_decision_id"), ["decision_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_risk_cases_status"), ["status"], unique=False)

    # ### end Alembic commands ###
    _seed()


def downgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("identity_role_permissions"):
        op.execute(
            "DELETE FROM identity_role_permissions WHERE permission IN ('risk.review', 'risk.rules.publish')"
        )
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("risk_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_cases_status"))
        batch_op.drop_index(batch_op.f("ix_risk_cases_decision_id"))
        batch_op.drop_index(batch_op.f("ix_risk_cases_customer_id"))

    op.drop_table("risk_cases")
    with op.batch_alter_table("risk_watchlist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_watchlist_account_number"))

    op.drop_table("risk_watchlist")
    op.drop_table("risk_state")
    with op.batch_alter_table("risk_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_rules_status"))

    op.drop_table("risk_rules")
    op.drop_table("risk_models")
    with op.batch_alter_table("risk_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_decisions_reference"))
        batch_op.drop_index("ix_risk_decisions_payee_label")
        batch_op.drop_index("ix_risk_decisions_known_payee")
        batch_op.drop_index("ix_risk_decisions_payee")
        batch_op.drop_index("ix_risk_decisions_occurred")
        batch_op.drop_index("ix_risk_decisions_ip")
        batch_op.drop_index("ix_risk_decisions_device")
        batch_op.drop_index("ix_risk_decisions_customer")
        batch_op.drop_index("ix_risk_decisions_account")

    op.drop_table("risk_decisions")
    op.drop_table("risk_aml_thresholds")
    with op.batch_alter_table("risk_aml_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_aml_reports_business_date"))

    op.drop_table("risk_aml_reports")
    # ### end Alembic commands ###
