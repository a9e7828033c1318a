"""Identity tables. Only `zhangyin.identity.service` writes them.

Personal data: ID numbers and TOTP secrets are AES-GCM ciphertexts
(`zhangyin.pii`), ID numbers are found by a keyed blind index, passwords are
argon2id hashes. One-time codes, refresh tokens and challenges are stored as
keyed hashes, never in the clear. The staff audit log is append-only: the
migration installs triggers that refuse UPDATE and DELETE on both backends.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhangyin.db import Base, UTCDateTime
from zhangyin.events import BigId


class KycLevel(enum.StrEnum):
    """Mainland account classes (I/II/III 类账户)."""

    I = "I"  # noqa: E741 - the regulator's name for the class
    II = "II"
    III = "III"


class CustomerKind(enum.StrEnum):
    PERSONAL = "personal"
    ENTERPRISE_OPERATOR = "enterprise_operator"


class CustomerStatus(enum.StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class SmsPurpose(enum.StrEnum):
    REGISTER = "register"
    LOGIN = "login"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose, not a secret
    STEP_UP = "step_up"
    SECOND_FACTOR = "second_factor"
    CHANGE_PHONE = "change_phone"
    NOTICE = "notice"


class ChallengeKind(enum.StrEnum):
    SECOND_FACTOR = "second_factor"
    STEP_UP = "step_up"
    PASSKEY_REGISTRATION = "passkey_registration"
    PASSKEY_LOGIN = "passkey_login"


class SubjectKind(enum.StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


class KycLimit(Base):
    """Default limits per KYC level, in CNY minor units (seeded by the migration)."""

    __tablename__ = "identity_kyc_limits"

    level: Mapped[str] = mapped_column(String(3), primary_key=True)
    per_transaction_minor: Mapped[int] = mapped_column(BigInteger)
    daily_amount_minor: Mapped[int] = mapped_column(BigInteger)
    daily_count: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(
            "per_transaction_minor > 0 AND daily_amount_minor > 0 AND daily_count > 0",
            name="limits_positive",
        ),
    )


class Customer(Base):
    __tablename__ = "identity_customers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default=CustomerKind.PERSONAL.value)
    status: Mapped[str] = mapped_column(String(10), default=CustomerStatus.ACTIVE.value)
    #: Mainland mobile number; NULL once the customer closed (frees it for someone else).
    phone: Mapped[str | None] = mapped_column(String(11), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    id_number_enc: Mapped[str] = mapped_column(String(200))
    id_number_index: Mapped[str] = mapped_column(String(64), unique=True)
    id_number_masked: Mapped[str] = mapped_column(String(18))
    birth_date: Mapped[str] = mapped_column(String(10))
    kyc_level: Mapped[str] = mapped_column(String(3))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    phone_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    totp_secret_enc: Mapped[str | None] = mapped_column(String(200), default=None)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Customer-chosen lower limits (NULL = the level's default).
    per_transaction_limit_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    daily_amount_limit_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    daily_count_limit: Mapped[int | None] = mapped_column(Integer, default=None)
    enterprise_id: Mapped[str | None] = mapped_column(
        ForeignKey("identity_enterprises.id"), default=None, index=True
    )
    enterprise_role: Mapped[str | None] = mapped_column(String(20), default=None)
    #: Display preferences the app applies on every phone the customer logs in from.
    elder_mode: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    language: Mapped[str] = mapped_column(String(5), default="zh-CN", server_default="zh-CN")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: Until when closed customers' KYC records are kept (AML: five years after the relationship).
    retain_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (
        CheckConstraint("kyc_level IN ('I', 'II', 'III')", name="kyc_level_valid"),
        CheckConstraint("status IN ('active', 'closed')", name="status_valid"),
        CheckConstraint("failed_attempts >= 0", name="failed_attempts_not_negative"),
    )


class Enterprise(Base):
    """A company customer, identified by its unified social credit code (统一社会信用代码)."""

    __tablename__ = "identity_enterprises"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=CustomerStatus.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Consent(Base):
    """Which privacy policy version a customer accepted, when, and its withdrawal."""

    __tablename__ = "identity_consents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("identity_customers.id"), index=True)
    policy_version: Mapped[str] = mapped_column(String(20))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Device(Base):
    """A phone the customer logs in from; trusted only after a second factor on it."""

    __tablename__ = "identity_devices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("identity_customers.id"), index=True)
    device_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(60), default="")
    trusted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (
        UniqueConstraint("customer_id", "device_key", name="uq_identity_devices_key"),
    )


class AuthSession(Base):
    """A login: its refresh-token family, its device, and when it was last active."""

    __tablename__ = "identity_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[str] = mapped_column(String(36))
    device_id: Mapped[str | None] = mapped_column(
        ForeignKey("identity_devices.id"), default=None, index=True
    )
    auth_methods: Mapped[list[str]] = mapped_column(JSON)
    ip: Mapped[str] = mapped_column(String(45), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_reason: Mapped[str | None] = mapped_column(String(40), default=None)

    __table_args__ = (Index("ix_identity_sessions_subject", "subject_kind", "subject_id"),)


class RefreshToken(Base):
    """One refresh token of a session's family, by hash. Used once; reuse kills the family."""

    __tablename__ = "identity_refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("identity_sessions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class SmsCode(Base):
    """A one-time code sent by SMS, by keyed hash, with its attempts and single use."""

    __tablename__ = "identity_sms_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(11))
    purpose: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    challenge_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (Index("ix_identity_sms_codes_phone_purpose", "phone", "purpose", "id"),)


class SmsMessage(Base):
    """The default SMS provider's outbox: what was sent to whom (read by the console, tests)."""

    __tablename__ = "identity_sms_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(11), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Challenge(Base):
    """A pending proof: second factor of a login, step-up for one operation, or a passkey ceremony.

    `binding` is what a step-up approves (operation, amount, currency, payee) and
    `binding_hash` its canonical hash: the proof only ever approves that.
    """

    __tablename__ = "identity_challenges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    customer_id: Mapped[str | None] = mapped_column(
        ForeignKey("identity_customers.id"), default=None, index=True
    )
    device_key: Mapped[str | None] = mapped_column(String(64), default=None)
    binding: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    binding_hash: Mapped[str] = mapped_column(String(64), default="")
    webauthn_challenge: Mapped[bytes | None] = mapped_column(LargeBinary(64), default=None)
    methods: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Passkey(Base):
    """A WebAuthn credential: the phone's fingerprint or face unlock."""

    __tablename__ = "identity_passkeys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("identity_customers.id"), index=True)
    credential_id: Mapped[str] = mapped_column(String(400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(1024))
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(60), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class Staff(Base):
    """A member of the bank's channel-operations team who uses the console."""

    __tablename__ = "identity_staff"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    totp_secret_enc: Mapped[str | None] = mapped_column(String(200), default=None)
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RolePermission(Base):
    """The permission map of console roles, held in data ('*' grants every permission)."""

    __tablename__ = "identity_role_permissions"

    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    permission: Mapped[str] = mapped_column(String(60), primary_key=True)


class AuditEntry(Base):
    """Append-only record of what staff did (the database refuses UPDATE and DELETE)."""

    __tablename__ = "identity_audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    staff_id: Mapped[str | None] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(120))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
