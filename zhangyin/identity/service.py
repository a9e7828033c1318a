"""Identity operations: onboarding, login, sessions, devices, step-up, limits, personal data.

Other domains call `get_customer`, `customer_limits`, `risk_profile`,
`start_step_up` and `verify_step_up`; nothing else touches identity's tables.

Two shapes of refusal: most functions raise a DomainError (the caller's
transaction rolls back). Login-type functions whose failures must be
*remembered* (wrong password counts towards lockout, a reused refresh token
kills its family) return a `Refused` value instead, so the caller commits the
bookkeeping and then raises. Per-code attempt limits are counted outside the
database (`ratelimit`), so they hold even when a request rolls back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from zhangyin import events, pii
from zhangyin.clock import business_date, utcnow
from zhangyin.errors import DomainError
from zhangyin.identity import passwords, sms
from zhangyin.identity.errors import (
    AgeNotEligible,
    CodeInvalid,
    CustomerNotFound,
    DeviceNotFound,
    DeviceNotTrusted,
    EnterpriseExists,
    InvalidIdNumber,
    InvalidPhone,
    InvalidUscc,
    LimitAboveDefault,
    LoginFailed,
    PhoneChangeNotFound,
    PhoneUnavailable,
    PrivacyVersionUnknown,
    RateLimited,
    RefreshTokenReused,
    RegistrationRefused,
    SecondFactorFailed,
    SecondFactorRequired,
    StepUpInvalid,
    StepUpNotAvailable,
    TokenInvalid,
    TotpNotEnrolled,
    UnknownRole,
)
from zhangyin.identity.models import (
    AuthSession,
    Challenge,
    ChallengeKind,
    Consent,
    Customer,
    CustomerKind,
    CustomerStatus,
    Device,
    Enterprise,
    KycLevel,
    KycLimit,
    Passkey,
    RefreshToken,
    SmsCode,
    SmsMessage,
    SmsPurpose,
    Staff,
    SubjectKind,
)
from zhangyin.identity.policy import IdentityPolicy, default_policy
from zhangyin.identity.ratelimit import CounterStore, process_counters

# Staff and the audit log live in their own module; re-exported for callers of `service`.
from zhangyin.identity.staff import (
    ROLES as ROLES,
)
from zhangyin.identity.staff import (
    AuditView as AuditView,
)
from zhangyin.identity.staff import (
    StaffView as StaffView,
)
from zhangyin.identity.staff import (
    audit as audit,
)
from zhangyin.identity.staff import (
    audit_log as audit_log,
)
from zhangyin.identity.staff import (
    create_staff as create_staff,
)
from zhangyin.identity.staff import (
    login_staff as login_staff,
)
from zhangyin.identity.staff import (
    permissions_of as permissions_of,
)
from zhangyin.identity.staff import (
    staff_roles as staff_roles,
)
from zhangyin.identity.tokens import hash_token, new_refresh_token
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind, AccountStatus
from zhangyin.money import format_minor

PHONE_RE = re.compile(
    r"^1(3[0-9]|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8[0-9]|9[0-35-9])[0-9]{8}$", re.ASCII
)
ID_CONTEXT = "identity_customers.id_number"
TOTP_CONTEXT = "identity_customers.totp_secret"
ENTERPRISE_ROLES = ("admin", "maker", "checker")
MIN_AGE = 16
#: AML record keeping after the relationship ends (反洗钱法: at least five years).
RETENTION = timedelta(days=5 * 366)


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Refused:
    """A refusal whose bookkeeping the caller commits before raising `error`."""

    error: DomainError


@dataclass(frozen=True)
class CustomerView:
    id: str
    kind: str
    status: str
    phone: str | None
    name: str
    id_number_masked: str
    birth_date: str
    kyc_level: str
    enterprise_id: str | None
    enterprise_role: str | None
    totp_enabled: bool
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    elder_mode: bool = False
    language: str = "zh-CN"


@dataclass(frozen=True)
class Registration:
    customer: CustomerView
    account: ledger.AccountView


@dataclass(frozen=True)
class SessionGrant:
    """A new or refreshed login; the API signs the access token from it."""

    kind: str
    subject_id: str
    session_id: str
    device_id: str | None
    auth_methods: tuple[str, ...]
    refresh_token: str
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionView:
    id: str
    kind: str
    subject_id: str
    device_id: str | None
    auth_methods: tuple[str, ...]
    authenticated_at: datetime


@dataclass(frozen=True)
class DeviceView:
    id: str
    name: str
    trusted: bool
    first_seen_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class StepUpBinding:
    """What a step-up approves. A proof for one binding never approves another."""

    operation: str
    amount_minor: int | None = None
    currency: str | None = None
    payee: str | None = None

    def canonical(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "amount_minor": self.amount_minor,
            "currency": self.currency,
            "payee": self.payee,
        }

    def digest(self) -> str:
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class StepUpChallenge:
    challenge_id: str
    methods: tuple[str, ...]
    expires_at: datetime
    #: WebAuthn request options (JSON-ready) when the customer has a passkey.
    passkey_options: dict[str, Any] | None = None


@dataclass(frozen=True)
class CustomerLimits:
    """Effective limits in CNY minor units: the level's defaults or the customer's lower choice."""

    kyc_level: str
    currency: str
    per_transaction_minor: int
    daily_amount_minor: int
    daily_count: int
    default_per_transaction_minor: int
    default_daily_amount_minor: int
    default_daily_count: int


@dataclass(frozen=True)
class RiskProfile:
    customer_id: str
    customer_since: datetime
    kyc_level: str
    device_first_seen_at: datetime | None
    device_trusted: bool
    last_password_change_at: datetime
    last_phone_change_at: datetime
    last_login_at: datetime | None


@dataclass(frozen=True)
class ConsentView:
    policy_version: str
    accepted_at: datetime
    withdrawn_at: datetime | None


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    provisioning_uri: str


@dataclass(frozen=True)
class EnterpriseView:
    id: str
    name: str
    uscc: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class SmsView:
    id: int
    phone: str
    purpose: str
    text: str
    created_at: datetime


@dataclass
class Outcome:
    """Result of a login step: a grant, or a refusal to raise after commit."""

    grant: SessionGrant | None = None
    refused: DomainError | None = None
    extras: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- checks


def check_phone(phone: str) -> str:
    if not PHONE_RE.match(phone):
        raise InvalidPhone()
    return phone


def check_id_number(id_number: str, *, today: date | None = None) -> tuple[str, date]:
    """A resident ID number (GB 11643): 18 characters, check digit, plausible birth date."""
    number = id_number.strip().upper()
    if len(number) != 18:
        raise InvalidIdNumber()
    try:
        number = ric.validate(number)
        born = ric.get_birth_date(number)
    except Exception as exc:  # stdnum raises ValidationError or ValueError for bad dates
        raise InvalidIdNumber() from exc
    today = today or business_date(utcnow())  # ages turn at midnight Beijing time
    if born > today or born.year < today.year - 120:
        raise InvalidIdNumber()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < MIN_AGE:
        raise AgeNotEligible()
    return number, born


def check_uscc(code: str) -> str:
    try:
        return str(uscc.validate(code.strip().upper()))
    except Exception as exc:
        raise InvalidUscc() from exc


def _new_id() -> str:
    return str(uuid.uuid4())


def _code_hash(phone: str, purpose: str, code: str) -> str:
    """The keyed hash stored for a code (current secret key)."""
    return pii.blind_index(f"{phone}\x00{purpose}\x00{code}", "sms")


def _code_matches(code_hash: str, phone: str, purpose: str, code: str) -> bool:
    """True when `code` is the code hashed, under the current or a previous secret key: a
    code sent just before the secret key rotated still works after the restart."""
    candidates = pii.blind_indexes(f"{phone}\x00{purpose}\x00{code}", "sms")
    return any([hmac.compare_digest(code_hash, candidate) for candidate in candidates])


def _customer(session: Session, customer_id: str, *, lock: bool = False) -> Customer:
    query = select(Customer).where(
        Customer.id == customer_id, Customer.status == CustomerStatus.ACTIVE.value
    )
    if lock:
        query = query.with_for_update()
    found = session.scalar(query)
    if found is None:
        raise CustomerNotFound()
    return found


def _view(c: Customer) -> CustomerView:
    return CustomerView(
        id=c.id,
        kind=c.kind,
        status=c.status,
        phone=c.phone,
        name=c.name,
        id_number_masked=c.id_number_masked,
        birth_date=c.birth_date,
        kyc_level=c.kyc_level,
        enterprise_id=c.enterprise_id,
        enterprise_role=c.enterprise_role,
        totp_enabled=c.totp_enabled,
        locked_until=c.locked_until,
        created_at=c.created_at,
        last_login_at=c.last_login_at,
        elder_mode=c.elder_mode,
        language=c.language,
    )


def _by_phone(session: Session, phone: str) -> Customer | None:
    return session.scalar(
        select(Customer).where(
            Customer.phone == phone, Customer.status == CustomerStatus.ACTIVE.value
        )
    )


# --------------------------------------------------------------------------- SMS codes


def _issue_code(
    session: Session,
    phone: str,
    purpose: SmsPurpose,
    text: str,
    policy: IdentityPolicy,
    challenge_id: str | None = None,
) -> None:
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = utcnow()
    # A new code replaces the previous one of the same purpose.
    session.execute(
        update(SmsCode)
        .where(
            SmsCode.phone == phone,
            SmsCode.purpose == purpose.value,
            SmsCode.consumed_at.is_(None),
            SmsCode.challenge_id.is_(None)
            if challenge_id is None
            else SmsCode.challenge_id == challenge_id,
        )
        .values(consumed_at=now)
    )
    session.add(
        SmsCode(
            phone=phone,
            purpose=purpose.value,
            code_hash=_code_hash(phone, purpose.value, code),
            challenge_id=challenge_id,
            created_at=now,
            expires_at=now + timedelta(minutes=policy.sms_code_minutes),
            attempts=0,
        )
    )
    sms.provider().send(session, phone, text.format(code=code), purpose.value)


def _consume_code(
    session: Session,
    phone: str,
    purpose: SmsPurpose,
    code: str,
    *,
    counters: CounterStore,
    policy: IdentityPolicy,
    challenge_id: str | None = None,
) -> bool:
    """True (and the code is used up) when `code` is the live code for phone and purpose."""
    # Per purpose: a phone change checks two codes of one challenge (new number, step-up).
    subject = f"{purpose.value}:{challenge_id or phone}"
    count, _ = counters.hit(f"code-attempt:{subject}", policy.sms_code_minutes * 60)
    if count > policy.code_attempts:
        return False
    query = select(SmsCode).where(
        SmsCode.phone == phone,
        SmsCode.purpose == purpose.value,
        SmsCode.consumed_at.is_(None),
        SmsCode.expires_at > utcnow(),
    )
    if challenge_id is not None:
        query = query.where(SmsCode.challenge_id == challenge_id)
    row = session.scalar(query.order_by(SmsCode.id.desc()).limit(1).with_for_update())
    if row is None:
        return False
    row.attempts += 1
    if not _code_matches(row.code_hash, phone, purpose.value, code):
        return False
    row.consumed_at = utcnow()
    return True


SMS_TEXTS = {
    SmsPurpose.REGISTER: "【掌银】验证码 {code}，用于注册掌银，5 分钟内有效。请勿告诉他人。",
    SmsPurpose.LOGIN: "【掌银】验证码 {code}，用于登录，5 分钟内有效。银行工作人员不会向您索要。",
    SmsPurpose.RESET_PASSWORD: (
        "【掌银】验证码 {code}，用于重置登录密码，5 分钟内有效。如非本人操作请致电客服。"
    ),
    SmsPurpose.SECOND_FACTOR: (
        "【掌银】验证码 {code}，用于在新设备上登录，5 分钟内有效。如非本人操作请立即修改密码。"
    ),
}


def request_sms_code(
    session: Session,
    phone: str,
    purpose: SmsPurpose,
    policy: IdentityPolicy,
    *,
    challenge_id: str | None = None,
) -> None:
    """Send a code. The caller answers 202 whatever happened, so nobody learns who is registered."""
    check_phone(phone)
    existing = _by_phone(session, phone)
    if purpose == SmsPurpose.REGISTER:
        if existing is not None:
            sms.provider().send(
                session,
                phone,
                "【掌银】该手机号已注册掌银，请直接登录。如非本人操作请忽略。",
                SmsPurpose.NOTICE.value,
            )
            return
        _issue_code(session, phone, purpose, SMS_TEXTS[purpose], policy)
        return
    if existing is None:
        return
    if purpose == SmsPurpose.STEP_UP:
        if challenge_id is None:
            return
        challenge = session.scalar(
            select(Challenge).where(
                Challenge.id == challenge_id,
                Challenge.customer_id == existing.id,
                Challenge.kind == ChallengeKind.STEP_UP.value,
                Challenge.consumed_at.is_(None),
                Challenge.expires_at > utcnow(),
            )
        )
        if challenge is not None:
            _issue_code(
                session,
                phone,
                purpose,
                _step_up_text(StepUpBinding(**challenge.binding)),
                policy,
                challenge_id=challenge.id,
            )
        return
    _issue_code(session, phone, purpose, SMS_TEXTS[purpose], policy)


def latest_messages(session: Session, phone: str, limit: int = 10) -> list[SmsView]:
    rows = session.scalars(
        select(SmsMessage)
        .where(SmsMessage.phone == phone)
        .order_by(SmsMessage.id.desc())
        .limit(limit)
    ).all()
    return [SmsView(r.id, r.phone, r.purpose, r.text, r.created_at) for r in rows]


def sms_outbox(session: Session, phone: str | None, limit: int = 50) -> list[SmsView]:
    query = select(SmsMessage).order_by(SmsMessage.id.desc()).limit(limit)
    if phone:
        query = query.where(SmsMessage.phone == phone)
    return [SmsView(r.id, r.phone, r.purpose, r.text, r.created_at) for r in session.scalars(query)]


# --------------------------------------------------------------------------- onboarding


def register_customer(
    session: Session,
    *,
    phone: str,
    sms_code: str,
    name: str,
    id_number: str,
    password: str,
    privacy_version: str,
    device_key: str | None,
    policy: IdentityPolicy,
    counters: CounterStore,
    number_prefix: str = "621688",
    device_name: str = "",
) -> Registration:
    """Open a personal customer (Class II by default) with a CNY current account."""
    check_phone(phone)
    number, _ = check_id_number(id_number)
    passwords.check_strength(password, phone=phone, id_number=number)
    if privacy_version != policy.privacy_policy_version:
        raise PrivacyVersionUnknown(current=policy.privacy_policy_version)
    if not _consume_code(
        session, phone, SmsPurpose.REGISTER, sms_code, counters=counters, policy=policy
    ):
        raise CodeInvalid()
    return create_customer(
        session,
        phone=phone,
        name=name,
        id_number=number,
        password=password,
        privacy_version=privacy_version,
        device_key=device_key,
        device_name=device_name,
        number_prefix=number_prefix,
    )


def _new_person(
    session: Session,
    kind: CustomerKind,
    *,
    phone: str,
    name: str,
    id_number: str,
    kyc_level: KycLevel,
    password_hash: str | None,
    enterprise_id: str | None = None,
    enterprise_role: str | None = None,
) -> Customer:
    """A new identity after the checks every person passes: valid phone and ID number, neither
    already registered (refused without saying which, so the answer reveals nothing)."""
    check_phone(phone)
    number, born = check_id_number(id_number)
    # Any index the number may be stored under: mid-rotation, older rows carry the previous key's.
    indexes = pii.blind_indexes(number, ID_CONTEXT)
    taken = session.scalar(
        select(Customer.id)
        .where((Customer.phone == phone) | Customer.id_number_index.in_(indexes))
        .limit(1)
    )
    if taken is not None:
        raise RegistrationRefused()
    now = utcnow()
    person = Customer(
        id=_new_id(),
        kind=kind.value,
        status=CustomerStatus.ACTIVE.value,
        phone=phone,
        name=name,
        id_number_enc=pii.encrypt(number, ID_CONTEXT),
        id_number_index=indexes[0],
        id_number_masked=pii.mask_id_number(number),
        birth_date=born.isoformat(),
        kyc_level=kyc_level.value,
        password_hash=password_hash,
        password_changed_at=now,
        phone_changed_at=now,
        failed_attempts=0,
        enterprise_id=enterprise_id,
        enterprise_role=enterprise_role,
        created_at=now,
    )
    session.add(person)
    session.flush()
    return person


def create_customer(
    session: Session,
    *,
    phone: str,
    name: str,
    id_number: str,
    password: str,
    privacy_version: str,
    device_key: str | None = None,
    kyc_level: KycLevel = KycLevel.II,
    number_prefix: str = "621688",
    device_name: str = "",
) -> Registration:
    """Create a personal customer and open their CNY current account.

    Registration calls this once the phone is proven; demo data and migrations
    from another system call it directly (they vouch for the phone themselves).
    """
    customer = _new_person(
        session,
        CustomerKind.PERSONAL,
        phone=phone,
        name=name,
        id_number=id_number,
        kyc_level=kyc_level,
        password_hash=passwords.hash_password(password),
    )
    now = customer.created_at
    session.add(Consent(customer_id=customer.id, policy_version=privacy_version, accepted_at=now))
    if device_key:
        # The registration code proved the phone on this device, and the password was set on it.
        touch_device(session, customer.id, device_key, trust=True, name=device_name)
    account = ledger.open_account(
        session,
        kind=AccountKind.CUSTOMER_CURRENT,
        name=name,
        owner_id=customer.id,
        number_prefix=number_prefix,
    )
    events.emit(
        session,
        "identity.customer_registered",
        "customer",
        customer.id,
        {"customer_id": customer.id, "kyc_level": customer.kyc_level, "account_id": account.id},
    )
    return Registration(_view(customer), account)


def get_customer(session: Session, customer_id: str) -> CustomerView:
    return _view(_customer(session, customer_id))


#: Languages the app speaks; the customer's choice is one of them.
LANGUAGES = ("zh-CN", "en-US")


def update_preferences(
    session: Session,
    customer_id: str,
    *,
    elder_mode: bool | None = None,
    language: str | None = None,
) -> CustomerView:
    """Store the customer's display preferences (None leaves one as it is)."""
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    customer = _customer(session, customer_id)
    changed: dict[str, Any] = {}
    if elder_mode is not None and elder_mode != customer.elder_mode:
        customer.elder_mode = elder_mode
        changed["elder_mode"] = elder_mode
    if language is not None and language != customer.language:
        customer.language = language
        changed["language"] = language
    if changed:
        events.emit(session, "identity.preferences_changed", "customer", customer_id, changed)
    return _view(customer)


def find_customer_by_phone(session: Session, phone: str) -> CustomerView | None:
    found = _by_phone(session, phone)
    return _view(found) if found else None


def reveal_id_number(session: Session, customer_id: str) -> str:
    """The full ID number; callers must have a reason and log the access."""
    return pii.decrypt(_customer(session, customer_id).id_number_enc, ID_CONTEXT)


def reset_password(
    session: Session,
    *,
    phone: str,
    sms_code: str,
    id_number: str,
    new_password: str,
    policy: IdentityPolicy,
    counters: CounterStore,
) -> None:
    """Forgotten password: SMS code plus the ID number; every session ends."""
    check_phone(phone)
    passwords.check_strength(new_password, phone=phone)
    ok = _consume_code(
        session, phone, SmsPurpose.RESET_PASSWORD, sms_code, counters=counters, policy=policy
    )
    customer = _by_phone(session, phone)
    indexes = pii.blind_indexes(id_number.strip().upper(), ID_CONTEXT)
    if (
        not ok
        or customer is None
        or not any([hmac.compare_digest(customer.id_number_index, i) for i in indexes])
    ):
        raise CodeInvalid()
    now = utcnow()
    customer.password_hash = passwords.hash_password(new_password)
    customer.password_changed_at = now
    customer.failed_attempts = 0
    customer.locked_until = None
    _revoke_sessions(session, SubjectKind.CUSTOMER, customer.id, "password_reset")
    sms.provider().send(
        session,
        phone,
        "【掌银】您的登录密码已重置，所有设备已退出登录。如非本人操作请立即致电客服。",
        SmsPurpose.NOTICE.value,
    )
    events.emit(session, "identity.password_reset", "customer", customer.id, {})


# --------------------------------------------------------------------------- devices, sessions


def touch_device(
    session: Session, customer_id: str, device_key: str, *, trust: bool = False, name: str = ""
) -> Device:
    now = utcnow()
    device = session.scalar(
        select(Device).where(Device.customer_id == customer_id, Device.device_key == device_key)
    )
    if device is None:
        device = Device(
            id=_new_id(),
            customer_id=customer_id,
            device_key=device_key,
            name=name[:60],
            first_seen_at=now,
            last_seen_at=now,
        )
        session.add(device)
    device.last_seen_at = now
    if trust:
        device.trusted_at = now
        device.revoked_at = None
    session.flush()
    return device


def _is_trusted(device: Device | None) -> bool:
    return device is not None and device.trusted_at is not None and device.revoked_at is None


def new_session(
    session: Session,
    kind: SubjectKind,
    subject_id: str,
    device_id: str | None,
    methods: tuple[str, ...],
    ip: str,
    policy: IdentityPolicy,
    roles: tuple[str, ...] = (),
) -> SessionGrant:
    now = utcnow()
    row = AuthSession(
        id=_new_id(),
        subject_kind=kind.value,
        subject_id=subject_id,
        device_id=device_id,
        auth_methods=list(methods),
        ip=ip[:45],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=policy.session_max_hours),
    )
    session.add(row)
    session.flush()
    token = new_refresh_token()
    session.add(RefreshToken(token_hash=hash_token(token), session_id=row.id, created_at=now))
    return SessionGrant(kind.value, subject_id, row.id, device_id, methods, token, roles)


def _revoke_sessions(
    session: Session,
    kind: SubjectKind,
    subject_id: str,
    reason: str,
    *,
    device_id: str | None = None,
    except_session_id: str | None = None,
) -> None:
    query = (
        update(AuthSession)
        .where(
            AuthSession.subject_kind == kind.value,
            AuthSession.subject_id == subject_id,
            AuthSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    if device_id is not None:
        query = query.where(AuthSession.device_id == device_id)
    if except_session_id is not None:
        query = query.where(AuthSession.id != except_session_id)
    session.execute(query)


def _session_alive(row: AuthSession | None, policy: IdentityPolicy) -> bool:
    if row is None or row.revoked_at is not None:
        return False
    now = utcnow()
    return row.expires_at > now and now - row.last_seen_at <= timedelta(
        minutes=policy.idle_timeout_minutes
    )


def check_session(
    session: Session, session_id: str, kind: str, subject_id: str, policy: IdentityPolicy
) -> SessionView:
    """The live session behind an access token; TokenInvalid when revoked, idle or expired."""
    row = session.get(AuthSession, session_id)
    if row is None or row.subject_kind != kind or row.subject_id != subject_id:
        raise TokenInvalid()
    if not _session_alive(row, policy):
        raise TokenInvalid()
    now = utcnow()
    if now - row.last_seen_at > timedelta(seconds=30):
        row.last_seen_at = now
    return SessionView(
        row.id,
        row.subject_kind,
        row.subject_id,
        row.device_id,
        tuple(row.auth_methods),
        row.created_at,
    )


def refresh_session(session: Session, refresh_token: str, policy: IdentityPolicy) -> Outcome:
    """Rotate a refresh token. A token used twice ends its whole family (the session)."""
    # Locked: two refreshes with one token at the same moment are a reuse, not two rotations.
    token = session.scalar(
        select(RefreshToken)
        .where(RefreshToken.token_hash == hash_token(refresh_token))
        .with_for_update()
    )
    if token is None:
        return Outcome(refused=TokenInvalid())
    row = session.get(AuthSession, token.session_id, with_for_update=True)
    if token.used_at is not None:
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
            row.revoked_reason = "refresh_token_reused"
            events.emit(
                session,
                "identity.refresh_token_reused",
                row.subject_kind,
                row.subject_id,
                {"session_id": row.id},
            )
        return Outcome(refused=RefreshTokenReused())
    if row is None or not _session_alive(row, policy):
        return Outcome(refused=TokenInvalid())
    if row.device_id is not None:
        device = session.get(Device, row.device_id)
        if not _is_trusted(device):
            return Outcome(refused=TokenInvalid())
    now = utcnow()
    token.used_at = now
    row.last_seen_at = now
    new_token = new_refresh_token()
    session.add(RefreshToken(token_hash=hash_token(new_token), session_id=row.id, created_at=now))
    roles: tuple[str, ...] = ()
    if row.subject_kind == SubjectKind.STAFF.value:
        staff = session.get(Staff, row.subject_id)
        if staff is None or not staff.active:
            return Outcome(refused=TokenInvalid())
        roles = tuple(staff.roles)
    return Outcome(
        grant=SessionGrant(
            row.subject_kind,
            row.subject_id,
            row.id,
            row.device_id,
            tuple(row.auth_methods),
            new_token,
            roles,
        )
    )


def logout(session: Session, session_id: str) -> None:
    session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason="logout")
    )


def list_devices(session: Session, customer_id: str) -> list[DeviceView]:
    rows = session.scalars(
        select(Device)
        .where(Device.customer_id == customer_id, Device.revoked_at.is_(None))
        .order_by(Device.first_seen_at)
    ).all()
    return [
        DeviceView(d.id, d.name, _is_trusted(d), d.first_seen_at, d.last_seen_at, d.revoked_at)
        for d in rows
    ]


def revoke_device(session: Session, customer_id: str, device_id: str) -> None:
    """Untrust a device and end its sessions; its next login needs a second factor again."""
    device = session.scalar(
        select(Device).where(
            Device.id == device_id,
            Device.customer_id == customer_id,
            Device.revoked_at.is_(None),
        )
    )
    if device is None:
        raise DeviceNotFound()
    device.revoked_at = utcnow()
    device.trusted_at = None
    _revoke_sessions(
        session, SubjectKind.CUSTOMER, customer_id, "device_revoked", device_id=device.id
    )
    events.emit(
        session, "identity.device_revoked", "customer", customer_id, {"device_id": device.id}
    )


# --------------------------------------------------------------------------- login


def _register_failure(session: Session, customer: Customer, policy: IdentityPolicy) -> None:
    """Count a wrong password or code; lock after the threshold and tell the phone's owner."""
    customer.failed_attempts += 1
    if customer.failed_attempts >= policy.lockout_threshold:
        customer.failed_attempts = 0
        customer.locked_until = utcnow() + timedelta(minutes=policy.lockout_minutes)
        if customer.phone:
            sms.provider().send(
                session,
                customer.phone,
                f"【掌银】因多次验证失败，您的账户已临时锁定 {policy.lockout_minutes} 分钟。"
                "如非本人操作请及时修改密码。",
                SmsPurpose.NOTICE.value,
            )
        events.emit(session, "identity.customer_locked", "customer", customer.id, {})


def is_locked(customer: Customer) -> bool:
    return customer.locked_until is not None and customer.locked_until > utcnow()


def login_succeeded(
    session: Session,
    customer: Customer,
    device: Device,
    methods: tuple[str, ...],
    ip: str,
    policy: IdentityPolicy,
) -> SessionGrant:
    customer.failed_attempts = 0
    customer.locked_until = None
    customer.last_login_at = utcnow()
    grant = new_session(session, SubjectKind.CUSTOMER, customer.id, device.id, methods, ip, policy)
    events.emit(
        session,
        "identity.logged_in",
        "customer",
        customer.id,
        {"device_id": device.id, "methods": list(methods)},
    )
    return grant


def _second_factor_challenge(
    session: Session, customer: Customer, device_key: str, first: str, policy: IdentityPolicy
) -> Challenge:
    now = utcnow()
    methods = ["sms"] + (["totp"] if customer.totp_enabled else [])
    challenge = Challenge(
        id=_new_id(),
        kind=ChallengeKind.SECOND_FACTOR.value,
        customer_id=customer.id,
        device_key=device_key,
        binding={"first_factor": first},
        binding_hash="",
        methods=methods,
        created_at=now,
        expires_at=now + timedelta(minutes=policy.challenge_minutes),
    )
    session.add(challenge)
    session.flush()
    assert customer.phone is not None
    _issue_code(
        session,
        customer.phone,
        SmsPurpose.SECOND_FACTOR,
        SMS_TEXTS[SmsPurpose.SECOND_FACTOR],
        policy,
        challenge_id=challenge.id,
    )
    return challenge


def login_with_password(
    session: Session,
    *,
    phone: str,
    password: str,
    device_key: str,
    ip: str,
    policy: IdentityPolicy,
    device_name: str = "",
) -> Outcome:
    customer = _by_phone(session, phone) if PHONE_RE.match(phone) else None
    # Verify even for an unknown phone so that timing does not tell who is registered.
    ok = passwords.verify_password(customer.password_hash if customer else None, password)
    if customer is None or is_locked(customer):
        return Outcome(refused=LoginFailed())
    if not ok:
        _register_failure(session, customer, policy)
        return Outcome(refused=LoginFailed())
    if customer.password_hash and passwords.needs_rehash(customer.password_hash):
        customer.password_hash = passwords.hash_password(password)
    device = touch_device(session, customer.id, device_key, name=device_name)
    if _is_trusted(device):
        return Outcome(grant=login_succeeded(session, customer, device, ("pwd",), ip, policy))
    challenge = _second_factor_challenge(session, customer, device_key, "pwd", policy)
    return Outcome(
        refused=SecondFactorRequired(challenge_id=challenge.id, methods=list(challenge.methods))
    )


def login_with_sms_code(
    session: Session,
    *,
    phone: str,
    sms_code: str,
    device_key: str,
    ip: str,
    policy: IdentityPolicy,
    counters: CounterStore,
    device_name: str = "",
) -> Outcome:
    """SMS-code login: one factor, so only from a device that is already trusted."""
    customer = _by_phone(session, phone) if PHONE_RE.match(phone) else None
    ok = _consume_code(session, phone, SmsPurpose.LOGIN, sms_code, counters=counters, policy=policy)
    if customer is None or is_locked(customer):
        return Outcome(refused=LoginFailed())
    if not ok:
        _register_failure(session, customer, policy)
        return Outcome(refused=LoginFailed())
    device = touch_device(session, customer.id, device_key, name=device_name)
    if not _is_trusted(device):
        if customer.totp_enabled:
            challenge = _second_factor_challenge(session, customer, device_key, "sms", policy)
            challenge.methods = ["totp"]
            return Outcome(
                refused=SecondFactorRequired(challenge_id=challenge.id, methods=["totp"])
            )
        return Outcome(refused=DeviceNotTrusted())
    return Outcome(grant=login_succeeded(session, customer, device, ("sms",), ip, policy))


def verify_totp_code(secret: str, code: str | None, last_step: int) -> int | None:
    """The time step of `code` if it is current (±30 s) and newer than `last_step` (no replay)."""
    if code is None:
        return None
    totp = pyotp.TOTP(secret)
    now = utcnow()
    for offset in (-1, 0, 1):
        moment = now + timedelta(seconds=30 * offset)
        step = totp.timecode(moment)
        if step > last_step and hmac.compare_digest(totp.at(moment), code):
            return int(step)
    return None


def _verify_totp(customer: Customer, code: str) -> bool:
    if not customer.totp_enabled or not customer.totp_secret_enc:
        return False
    secret = pii.decrypt(customer.totp_secret_enc, TOTP_CONTEXT)
    step = verify_totp_code(secret, code, customer.totp_last_step)
    if step is None:
        return False
    customer.totp_last_step = step
    return True


def complete_second_factor(
    session: Session,
    *,
    challenge_id: str,
    sms_code: str | None,
    totp_code: str | None,
    ip: str,
    policy: IdentityPolicy,
    counters: CounterStore,
) -> Outcome:
    challenge = session.get(Challenge, challenge_id, with_for_update=True)
    if (
        challenge is None
        or challenge.kind != ChallengeKind.SECOND_FACTOR.value
        or challenge.consumed_at is not None
        or challenge.expires_at <= utcnow()
        or challenge.customer_id is None
        or challenge.device_key is None
    ):
        return Outcome(refused=SecondFactorFailed())
    customer = session.get(Customer, challenge.customer_id)
    if customer is None or customer.status != CustomerStatus.ACTIVE.value or is_locked(customer):
        return Outcome(refused=SecondFactorFailed())
    ok = False
    method = ""
    if sms_code is not None and "sms" in challenge.methods and customer.phone:
        method = "sms"
        ok = _consume_code(
            session,
            customer.phone,
            SmsPurpose.SECOND_FACTOR,
            sms_code,
            counters=counters,
            policy=policy,
            challenge_id=challenge.id,
        )
    elif totp_code is not None and "totp" in challenge.methods:
        method = "otp"
        count, _ = counters.hit(f"challenge-attempt:{challenge.id}", policy.challenge_minutes * 60)
        ok = count <= policy.code_attempts and _verify_totp(customer, totp_code)
    if not ok:
        _register_failure(session, customer, policy)
        return Outcome(refused=SecondFactorFailed())
    challenge.consumed_at = utcnow()
    device = touch_device(session, customer.id, challenge.device_key, trust=True)
    first = str(challenge.binding.get("first_factor", "pwd"))
    events.emit(
        session, "identity.device_trusted", "customer", customer.id, {"device_id": device.id}
    )
    return Outcome(grant=login_succeeded(session, customer, device, (first, method), ip, policy))


# --------------------------------------------------------------------------- TOTP


def begin_totp(session: Session, customer_id: str) -> TotpEnrolment:
    customer = _customer(session, customer_id)
    secret = pyotp.random_base32()
    customer.totp_secret_enc = pii.encrypt(secret, TOTP_CONTEXT)
    customer.totp_enabled = False
    customer.totp_last_step = 0
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=pii.mask_phone(customer.phone), issuer_name="掌银"
    )
    return TotpEnrolment(secret, uri)


def confirm_totp(session: Session, customer_id: str, code: str) -> None:
    customer = _customer(session, customer_id)
    if not customer.totp_secret_enc:
        raise TotpNotEnrolled()
    customer.totp_enabled = True
    if not _verify_totp(customer, code):
        raise CodeInvalid()
    events.emit(session, "identity.totp_enabled", "customer", customer_id, {})


def disable_totp(session: Session, customer_id: str, code: str) -> None:
    customer = _customer(session, customer_id)
    if not customer.totp_enabled:
        raise TotpNotEnrolled()
    if not _verify_totp(customer, code):
        raise CodeInvalid()
    customer.totp_enabled = False
    customer.totp_secret_enc = None
    events.emit(session, "identity.totp_disabled", "customer", customer_id, {})


# --------------------------------------------------------------------------- step-up


def _step_up_text(binding: StepUpBinding) -> str:
    parts = [f"【掌银】验证码 {{code}}，用于{_operation_label(binding.operation)}"]
    if binding.amount_minor is not None and binding.currency:
        parts.append(
            f"，金额 {format_minor(binding.amount_minor, binding.currency)} {binding.currency}"
        )
    if binding.operation == CHANGE_PHONE and binding.payee:
        parts.append(f"，新手机号 {pii.mask_phone(binding.payee)}")
    elif binding.payee:
        parts.append(f"，收款方 {binding.payee}")
    parts.append("，5 分钟内有效。请核对交易信息，切勿告诉他人。")
    return "".join(parts)


OPERATION_LABELS = {
    "transfer": "转账",
    "payment": "支付",
    "close_account": "注销账户",
    "add_payee": "添加收款人",
    "raise_limit": "提高限额",
    "change_phone": "更换手机号",
}
#: The step-up operation of a phone change; its payee is the new number.
CHANGE_PHONE = "change_phone"


def _operation_label(operation: str) -> str:
    return OPERATION_LABELS.get(operation, operation)


def start_step_up(
    session: Session,
    customer_id: str,
    binding: StepUpBinding,
    *,
    policy: IdentityPolicy | None = None,
) -> StepUpChallenge:
    """Ask for a fresh second factor that approves exactly `binding` (one use, minutes long)."""
    policy = policy or default_policy()
    customer = _customer(session, customer_id)
    count, retry_after = process_counters().hit(f"step-up-start:{customer_id}", 600)
    if count > 20:
        raise RateLimited(retry_after=retry_after)
    has_passkey = (
        session.scalar(select(Passkey.id).where(Passkey.customer_id == customer_id).limit(1))
        is not None
    )
    methods = (["sms"] if customer.phone else []) + (["passkey"] if has_passkey else [])
    if not methods:
        raise StepUpNotAvailable()
    now = utcnow()
    digest = binding.digest()
    nonce = secrets.token_bytes(16)
    # The passkey signs a challenge derived from the binding: what it approves is in the signature.
    webauthn_challenge = hashlib.sha256(nonce + bytes.fromhex(digest)).digest()
    challenge = Challenge(
        id=_new_id(),
        kind=ChallengeKind.STEP_UP.value,
        customer_id=customer_id,
        binding=binding.canonical(),
        binding_hash=digest,
        webauthn_challenge=webauthn_challenge,
        methods=methods,
        created_at=now,
        expires_at=now + timedelta(minutes=policy.challenge_minutes),
    )
    session.add(challenge)
    session.flush()
    if customer.phone:
        _issue_code(
            session,
            customer.phone,
            SmsPurpose.STEP_UP,
            _step_up_text(binding),
            policy,
            challenge_id=challenge.id,
        )
    options = None
    if has_passkey:
        from zhangyin.identity import passkeys

        options = passkeys.request_options(session, customer_id, webauthn_challenge, policy)
    return StepUpChallenge(challenge.id, tuple(methods), challenge.expires_at, options)


def verify_step_up(
    session: Session,
    customer_id: str,
    challenge_id: str,
    binding: StepUpBinding,
    *,
    sms_code: str | None = None,
    passkey_assertion: dict[str, Any] | None = None,
    policy: IdentityPolicy | None = None,
) -> None:
    """Raise StepUpInvalid unless the proof is fresh, unused, this customer's and for `binding`.

    Success uses the challenge up in the caller's transaction. Wrong tries are
    counted outside the database, so a rolled-back request still counts.
    """
    policy = policy or default_policy()
    counters = process_counters()
    count, _ = counters.hit(f"step-up-attempt:{challenge_id}", policy.challenge_minutes * 60)
    if count > policy.code_attempts:
        raise StepUpInvalid(reason="too_many_attempts")
    challenge = session.scalar(
        select(Challenge)
        .where(
            Challenge.id == challenge_id,
            Challenge.customer_id == customer_id,
            Challenge.kind == ChallengeKind.STEP_UP.value,
        )
        .with_for_update()
    )
    if challenge is None:
        raise StepUpInvalid(reason="unknown")
    if challenge.consumed_at is not None:
        raise StepUpInvalid(reason="used")
    if challenge.expires_at <= utcnow():
        raise StepUpInvalid(reason="expired")
    if not hmac.compare_digest(challenge.binding_hash, binding.digest()):
        raise StepUpInvalid(reason="binding_mismatch")
    customer = _customer(session, customer_id)
    if sms_code is not None and "sms" in challenge.methods and customer.phone:
        ok = _consume_code(
            session,
            customer.phone,
            SmsPurpose.STEP_UP,
            sms_code,
            counters=counters,
            policy=policy,
            challenge_id=challenge.id,
        )
    elif passkey_assertion is not None and challenge.webauthn_challenge is not None:
        from zhangyin.identity import passkeys

        ok = (
            passkeys.verify_assertion(
                session, passkey_assertion, challenge.webauthn_challenge, policy, customer_id
            )
            is not None
        )
    else:
        ok = False
    if not ok:
        raise StepUpInvalid(reason="wrong_proof")
    challenge.consumed_at = utcnow()
    events.emit(
        session,
        "identity.step_up_verified",
        "customer",
        customer_id,
        {"challenge_id": challenge.id, "operation": binding.operation},
    )


# --------------------------------------------------------------------------- phone change


@dataclass(frozen=True)
class PhoneChange:
    """A started phone change: its id is also the step-up challenge the current phone answers."""

    change_id: str
    step_up: StepUpChallenge


def _check_phone_available(session: Session, customer: Customer, new_phone: str) -> None:
    if new_phone == customer.phone:
        raise PhoneUnavailable()
    # Any customer, closed ones too: a closed customer's number is NULL, so it is free again.
    if session.scalar(select(Customer.id).where(Customer.phone == new_phone)) is not None:
        raise PhoneUnavailable()


def start_phone_change(
    session: Session, customer_id: str, new_phone: str, *, policy: IdentityPolicy
) -> PhoneChange:
    """Send a code to the new number and a step-up (to the current phone or a passkey).

    Both are needed to confirm: the code proves the new number is the customer's,
    the step-up that the holder of the account agrees to move it. The step-up is
    bound to operation change_phone with the new number as its target, so it
    approves this change and nothing else.
    """
    check_phone(new_phone)
    customer = _customer(session, customer_id)
    _check_phone_available(session, customer, new_phone)
    binding = StepUpBinding(operation=CHANGE_PHONE, payee=new_phone)
    step_up = start_step_up(session, customer_id, binding, policy=policy)
    _issue_code(
        session,
        new_phone,
        SmsPurpose.CHANGE_PHONE,
        "【掌银】验证码 {code}，用于将此号码绑定为掌银登录手机号，5 分钟内有效。"
        "如非本人操作请忽略。",
        policy,
        challenge_id=step_up.challenge_id,
    )
    return PhoneChange(step_up.challenge_id, step_up)


def confirm_phone_change(
    session: Session,
    customer_id: str,
    change_id: str,
    *,
    sms_code: str,
    step_up_sms_code: str | None,
    passkey_assertion: dict[str, Any] | None,
    current_session_id: str,
    policy: IdentityPolicy,
    counters: CounterStore,
) -> CustomerView:
    """Move the customer to the new number; every other session ends, both numbers are told."""
    challenge = session.scalar(
        select(Challenge).where(
            Challenge.id == change_id,
            Challenge.customer_id == customer_id,
            Challenge.kind == ChallengeKind.STEP_UP.value,
        )
    )
    if challenge is None or challenge.binding.get("operation") != CHANGE_PHONE:
        raise PhoneChangeNotFound()
    new_phone = str(challenge.binding.get("payee"))
    if not _consume_code(
        session,
        new_phone,
        SmsPurpose.CHANGE_PHONE,
        sms_code,
        counters=counters,
        policy=policy,
        challenge_id=change_id,
    ):
        raise CodeInvalid()
    verify_step_up(
        session,
        customer_id,
        change_id,
        StepUpBinding(operation=CHANGE_PHONE, payee=new_phone),
        sms_code=step_up_sms_code,
        passkey_assertion=passkey_assertion,
        policy=policy,
    )
    customer = _customer(session, customer_id, lock=True)
    # Someone may have registered the number since the start.
    _check_phone_available(session, customer, new_phone)
    old_phone = customer.phone
    customer.phone = new_phone
    customer.phone_changed_at = utcnow()
    session.flush()
    _revoke_sessions(
        session,
        SubjectKind.CUSTOMER,
        customer_id,
        "phone_changed",
        except_session_id=current_session_id,
    )
    notice = (
        f"【掌银】您的掌银登录手机号已由 {pii.mask_phone(old_phone)} 更换为 "
        f"{pii.mask_phone(new_phone)}，其他设备已退出登录。如非本人操作请立即致电客服。"
    )
    for phone in (old_phone, new_phone):
        if phone:
            sms.provider().send(session, phone, notice, SmsPurpose.NOTICE.value)
    events.emit(session, "identity.phone_changed", "customer", customer_id, {})
    return _view(customer)


# --------------------------------------------------------------------------- limits, risk


def _level_limits(session: Session, level: str) -> KycLimit:
    row = session.get(KycLimit, level)
    if row is None:
        raise RuntimeError(f"no limits configured for KYC level {level}")
    return row


def customer_limits(
    session: Session, customer_id: str, device_id: str | None = None
) -> CustomerLimits:
    """The customer's effective limits, in one statement (a payment's hot path).

    With `device_id`, the same statement also reads the customer's device, which then
    stays in the session for `risk_profile`: a payment reads neither twice.
    """
    query = (
        select(Customer, KycLimit, Device)
        .outerjoin(KycLimit, KycLimit.level == Customer.kyc_level)
        .outerjoin(Device, and_(Device.id == device_id, Device.customer_id == Customer.id))
        if device_id
        else select(Customer, KycLimit).outerjoin(KycLimit, KycLimit.level == Customer.kyc_level)
    )
    found = session.execute(
        query.where(Customer.id == customer_id, Customer.status == CustomerStatus.ACTIVE.value)
    ).one_or_none()
    if found is None:
        raise CustomerNotFound()
    customer, level = found[0], found[1]
    if device_id:
        # Found or not (None): either way risk_profile needs no statement of its own.
        session.info.setdefault("identity_devices", {})[customer_id, device_id] = found[2]
    if level is None:
        raise RuntimeError(f"no limits configured for KYC level {customer.kyc_level}")
    _remember(session, customer)

    def lower(own: int | None, default: int) -> int:
        return default if own is None else min(own, default)

    return CustomerLimits(
        kyc_level=customer.kyc_level,
        currency="CNY",
        per_transaction_minor=lower(
            customer.per_transaction_limit_minor, level.per_transaction_minor
        ),
        daily_amount_minor=lower(customer.daily_amount_limit_minor, level.daily_amount_minor),
        daily_count=lower(customer.daily_count_limit, level.daily_count),
        default_per_transaction_minor=level.per_transaction_minor,
        default_daily_amount_minor=level.daily_amount_minor,
        default_daily_count=level.daily_count,
    )


def set_own_limits(
    session: Session,
    customer_id: str,
    *,
    per_transaction_minor: int | None,
    daily_amount_minor: int | None,
    daily_count: int | None,
) -> CustomerLimits:
    """A customer lowers (or restores up to the default) their own limits. None = default."""
    customer = _customer(session, customer_id)
    level = _level_limits(session, customer.kyc_level)
    for own, default in (
        (per_transaction_minor, level.per_transaction_minor),
        (daily_amount_minor, level.daily_amount_minor),
        (daily_count, level.daily_count),
    ):
        if own is not None and own > default:
            raise LimitAboveDefault()
    customer.per_transaction_limit_minor = per_transaction_minor
    customer.daily_amount_limit_minor = daily_amount_minor
    customer.daily_count_limit = daily_count
    events.emit(session, "identity.limits_changed", "customer", customer_id, {})
    return customer_limits(session, customer_id)


def set_kyc_level(session: Session, customer_id: str, level: KycLevel) -> CustomerView:
    customer = _customer(session, customer_id)
    customer.kyc_level = level.value
    events.emit(
        session, "identity.kyc_level_changed", "customer", customer_id, {"kyc_level": level.value}
    )
    return _view(customer)


def _remember(session: Session, customer: Customer) -> None:
    """Keep an active customer read in this unit of work for `risk_profile` (no second read)."""
    session.info.setdefault("identity_customers", {})[customer.id] = customer


def risk_profile(session: Session, customer_id: str, device_id: str | None) -> RiskProfile:
    known: Customer | None = session.info.get("identity_customers", {}).get(customer_id)
    customer = (
        known
        if known is not None and known.status == CustomerStatus.ACTIVE.value
        else _customer(session, customer_id)
    )
    devices: dict[tuple[str, str], Device | None] = session.info.get("identity_devices", {})
    if not device_id:
        device = None
    elif (customer_id, device_id) in devices:
        device = devices[customer_id, device_id]  # read with the customer by `customer_limits`
    else:
        device = session.scalar(
            select(Device).where(Device.id == device_id, Device.customer_id == customer_id)
        )
    return RiskProfile(
        customer_id=customer.id,
        customer_since=customer.created_at,
        kyc_level=customer.kyc_level,
        device_first_seen_at=device.first_seen_at if device else None,
        device_trusted=_is_trusted(device),
        last_password_change_at=customer.password_changed_at,
        last_phone_change_at=customer.phone_changed_at,
        last_login_at=customer.last_login_at,
    )


# ------------------------------------------------------------------ consent, export, closure


def list_consents(session: Session, customer_id: str) -> list[ConsentView]:
    rows = session.scalars(
        select(Consent).where(Consent.customer_id == customer_id).order_by(Consent.id)
    ).all()
    return [ConsentView(r.policy_version, r.accepted_at, r.withdrawn_at) for r in rows]


def accept_privacy_policy(
    session: Session, customer_id: str, version: str, policy: IdentityPolicy
) -> list[ConsentView]:
    _customer(session, customer_id)
    if version != policy.privacy_policy_version:
        raise PrivacyVersionUnknown(current=policy.privacy_policy_version)
    session.add(Consent(customer_id=customer_id, policy_version=version, accepted_at=utcnow()))
    session.flush()
    return list_consents(session, customer_id)


def withdraw_consent(session: Session, customer_id: str) -> list[ConsentView]:
    """Withdraw consent to processing beyond what the contract and the law require."""
    _customer(session, customer_id)
    session.execute(
        update(Consent)
        .where(Consent.customer_id == customer_id, Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow())
    )
    events.emit(session, "identity.consent_withdrawn", "customer", customer_id, {})
    return list_consents(session, customer_id)


def export_personal_data(session: Session, customer_id: str) -> dict[str, Any]:
    """Everything identity holds about the customer, in full: the data is theirs (PIPL art. 45)."""
    customer = _customer(session, customer_id)
    devices = list_devices(session, customer_id)
    keys = session.scalars(select(Passkey).where(Passkey.customer_id == customer_id)).all()
    data = {
        "customer": {
            "id": customer.id,
            "kind": customer.kind,
            "phone": customer.phone,
            "name": customer.name,
            "id_number": pii.decrypt(customer.id_number_enc, ID_CONTEXT),
            "birth_date": customer.birth_date,
            "kyc_level": customer.kyc_level,
            "created_at": customer.created_at.isoformat(),
            "last_login_at": customer.last_login_at.isoformat() if customer.last_login_at else None,
            "password_changed_at": customer.password_changed_at.isoformat(),
            "phone_changed_at": customer.phone_changed_at.isoformat(),
            "totp_enabled": customer.totp_enabled,
            "elder_mode": customer.elder_mode,
            "language": customer.language,
        },
        "limits": customer_limits(session, customer_id).__dict__,
        "consents": [
            {
                "policy_version": c.policy_version,
                "accepted_at": c.accepted_at.isoformat(),
                "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None,
            }
            for c in list_consents(session, customer_id)
        ],
        "devices": [
            {
                "id": d.id,
                "trusted": d.trusted,
                "first_seen_at": d.first_seen_at.isoformat(),
                "last_seen_at": d.last_seen_at.isoformat(),
            }
            for d in devices
        ],
        "passkeys": [
            {"id": k.id, "name": k.name, "created_at": k.created_at.isoformat()} for k in keys
        ],
        "accounts": [
            {
                "id": a.id,
                "number": a.number,
                "currency": a.currency,
                "kind": a.kind,
                "status": a.status,
            }
            for a in ledger.list_accounts(session, customer_id)
        ],
    }
    events.emit(session, "identity.personal_data_exported", "customer", customer_id, {})
    return data


def close_customer(session: Session, customer_id: str) -> None:
    """Close the relationship: accounts closed (must be empty), then anonymise what the law lets go.

    Kept for AML record keeping (five years): name, encrypted ID number and its
    index, account numbers and the ledger. Removed: phone, password, TOTP secret,
    passkeys, devices; every session ends.
    """
    customer = _customer(session, customer_id, lock=True)
    for account in ledger.list_accounts(session, customer_id):
        if account.status != AccountStatus.CLOSED.value:
            ledger.set_account_status(session, account.id, AccountStatus.CLOSED)
    now = utcnow()
    _revoke_sessions(session, SubjectKind.CUSTOMER, customer_id, "customer_closed")
    session.execute(
        update(Device)
        .where(Device.customer_id == customer_id, Device.revoked_at.is_(None))
        .values(revoked_at=now, trusted_at=None)
    )
    for key in session.scalars(select(Passkey).where(Passkey.customer_id == customer_id)).all():
        session.delete(key)
    session.execute(
        update(Consent)
        .where(Consent.customer_id == customer_id, Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )
    customer.status = CustomerStatus.CLOSED.value
    customer.phone = None
    customer.password_hash = None
    customer.totp_secret_enc = None
    customer.totp_enabled = False
    customer.closed_at = now
    customer.retain_until = now + RETENTION
    events.emit(session, "identity.customer_closed", "customer", customer_id, {})


# --------------------------------------------------------------------------- enterprises


def create_enterprise(session: Session, name: str, code: str) -> EnterpriseView:
    code = check_uscc(code)
    if session.scalar(select(Enterprise.id).where(Enterprise.uscc == code)) is not None:
        raise EnterpriseExists()
    row = Enterprise(id=_new_id(), name=name, uscc=code, created_at=utcnow())
    session.add(row)
    session.flush()
    events.emit(session, "identity.enterprise_created", "enterprise", row.id, {})
    return EnterpriseView(row.id, row.name, row.uscc, row.status, row.created_at)


def add_enterprise_operator(
    session: Session,
    enterprise_id: str,
    *,
    phone: str,
    name: str,
    id_number: str,
    role: str,
) -> CustomerView:
    """An operator of an enterprise: an identity of its own, who sets a password by SMS reset."""
    if session.get(Enterprise, enterprise_id) is None:
        raise CustomerNotFound()
    if role not in ENTERPRISE_ROLES:
        raise UnknownRole(role=role)
    row = _new_person(
        session,
        CustomerKind.ENTERPRISE_OPERATOR,
        phone=phone,
        name=name,
        id_number=id_number,
        kyc_level=KycLevel.II,
        password_hash=None,
        enterprise_id=enterprise_id,
        enterprise_role=role,
    )
    events.emit(
        session,
        "identity.enterprise_operator_added",
        "enterprise",
        enterprise_id,
        {"customer_id": row.id},
    )
    return _view(row)


# --------------------------------------------------------------------------- console


def unlock_customer(session: Session, customer_id: str) -> CustomerView:
    customer = _customer(session, customer_id)
    customer.failed_attempts = 0
    customer.locked_until = None
    events.emit(session, "identity.customer_unlocked", "customer", customer_id, {})
    return _view(customer)


def search_customers(session: Session, *, phone: str | None, limit: int = 20) -> list[CustomerView]:
    query = select(Customer).order_by(Customer.created_at.desc()).limit(limit)
    if phone:
        query = query.where(Customer.phone == phone)
    return [_view(c) for c in session.scalars(query)]


def get_customer_any_status(session: Session, customer_id: str) -> CustomerView:
    found = session.get(Customer, customer_id)
    if found is None:
        raise CustomerNotFound()
    return _view(found)


# ----------------------------------------------------------------- console: limits, masked search


@dataclass(frozen=True)
class LevelLimits:
    """The bank's default limits of one KYC level (CNY minor units)."""

    level: str
    per_transaction_minor: int
    daily_amount_minor: int
    daily_count: int


def _level_view(row: KycLimit) -> LevelLimits:
    return LevelLimits(
        row.level, row.per_transaction_minor, row.daily_amount_minor, row.daily_count
    )


def list_level_limits(session: Session) -> list[LevelLimits]:
    rows = session.scalars(select(KycLimit))
    order = [level.value for level in KycLevel]
    return sorted((_level_view(r) for r in rows), key=lambda v: order.index(v.level))


def set_level_limits(
    session: Session,
    level: str,
    *,
    per_transaction_minor: int,
    daily_amount_minor: int,
    daily_count: int,
) -> tuple[LevelLimits, LevelLimits]:
    """Replace a level's limits; returns (before, after). Payments read them on every transfer.

    The caller (the console) has checked the values; the table's CHECK refuses non-positive ones.
    """
    row = session.get(KycLimit, level, with_for_update=True)
    if row is None:
        raise RuntimeError(f"no limits configured for KYC level {level}")
    before = _level_view(row)
    row.per_transaction_minor = per_transaction_minor
    row.daily_amount_minor = daily_amount_minor
    row.daily_count = daily_count
    session.flush()
    return before, _level_view(row)


def search_customers_by_masked_phone(
    session: Session, prefix: str, suffix: str, limit: int = 20
) -> list[CustomerView]:
    """Customers whose phone is `prefix` + any 4 digits + `suffix` (e.g. 138****5678)."""
    if not (prefix.isdigit() and suffix.isdigit() and len(prefix) == 3 and len(suffix) == 4):
        raise ValueError("prefix: 3 digits, suffix: 4 digits")
    query = (
        select(Customer)
        .where(Customer.phone.like(f"{prefix}____{suffix}"))
        .order_by(Customer.created_at.desc())
        .limit(limit)
    )
    return [_view(c) for c in session.scalars(query)]
