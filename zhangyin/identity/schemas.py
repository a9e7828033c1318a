"""Request and response bodies of identity. Personal data leaves here masked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, Field, StrictBool, StrictInt, model_validator

from zhangyin.api_types import StrictBody
from zhangyin.identity import passkeys, service
from zhangyin.identity.models import KycLevel
from zhangyin.ledger.service import AccountView
from zhangyin.money import format_minor, parse_amount
from zhangyin.pii import mask_codes, mask_name, mask_phone

Phone = Annotated[str, Field(pattern=r"^[0-9]{11}$", examples=["13812345678"])]
SmsCode = Annotated[str, Field(pattern=r"^[0-9]{6}$", examples=["123456"])]
DeviceKey = Annotated[
    str,
    Field(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="A random id the app keeps in secure storage",
    ),
]
_NAME_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z·"
#: Chinese names (with the middle dot of minority names) or Latin letters.
PersonName = Annotated[
    str,
    Field(
        min_length=2,
        max_length=30,
        pattern=rf"^[{_NAME_CHARS}][{_NAME_CHARS} ]*$",
    ),
]
IdNumber = Annotated[str, Field(pattern=r"^[0-9]{17}[0-9Xx]$", examples=["110101199003074514"])]
Password = Annotated[str, Field(min_length=1, max_length=128)]
Uuid = Annotated[
    str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
Label = Annotated[str, Field(max_length=60, pattern=f"^[{_NAME_CHARS}0-9 ()（）_-]*$")]
Amount = Annotated[str, Field(min_length=1, max_length=24, pattern=r"^[0-9]+(\.[0-9]{1,2})?$")]


class SmsCodeRequest(StrictBody):
    phone: Phone
    purpose: Literal["register", "login", "reset_password", "step_up"]
    challenge_id: Uuid | None = Field(
        default=None, description="For step_up: resend the code of this challenge"
    )


class CustomerCreate(StrictBody):
    phone: Phone
    sms_code: SmsCode
    name: PersonName
    id_number: IdNumber
    password: Password
    accept_privacy_version: Annotated[str, Field(pattern=r"^[0-9A-Za-z.-]{1,20}$")]
    device_id: DeviceKey | None = Field(
        default=None, description="The registering device; it becomes trusted"
    )
    device_name: Label | None = None


class PasswordLogin(StrictBody):
    phone: Phone
    password: Password
    device_id: DeviceKey
    device_name: Label | None = Field(default=None, description="e.g. iPhone 15")


class SmsLogin(StrictBody):
    phone: Phone
    sms_code: SmsCode
    device_id: DeviceKey
    device_name: Label | None = Field(default=None, description="e.g. iPhone 15")


class SecondFactor(StrictBody):
    challenge_id: Uuid
    sms_code: SmsCode | None = None
    totp_code: SmsCode | None = None


class RefreshRequest(StrictBody):
    refresh_token: Annotated[str, Field(min_length=10, max_length=100)] | None = Field(
        default=None, description="Omit to use the refresh cookie"
    )


class PasswordReset(StrictBody):
    phone: Phone
    sms_code: SmsCode
    id_number: IdNumber
    new_password: Password


class TotpCode(StrictBody):
    code: SmsCode


class LimitsUpdate(StrictBody):
    per_transaction: Amount | None = None
    daily_amount: Amount | None = None
    daily_count: Annotated[StrictInt, Field(ge=1, le=10_000)] | None = None

    def minor(self) -> tuple[int | None, int | None]:
        return (
            parse_amount(self.per_transaction, "CNY").minor if self.per_transaction else None,
            parse_amount(self.daily_amount, "CNY").minor if self.daily_amount else None,
        )


Language = Literal["zh-CN", "en-US"]


class PreferencesUpdate(StrictBody):
    """PATCH /v1/me: the fields given change; at least one, and none of them null."""

    elder_mode: StrictBool | None = Field(default=None, description="长辈版: larger text")
    language: Language | None = None

    @model_validator(mode="after")
    def _one_field_without_nulls(self) -> PreferencesUpdate:
        if not self.model_fields_set:
            raise ValueError("give elder_mode or language")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class PhoneChangeStart(StrictBody):
    new_phone: Phone


class PhoneChangeConfirm(StrictBody):
    """Both proofs: the code sent to the new number, and the step-up of the change."""

    change_id: Uuid = Field(description="From POST /v1/me/phone/start; also the step-up challenge")
    sms_code: SmsCode = Field(description="The code sent to the new number")
    step_up_sms_code: SmsCode | None = Field(
        default=None, description="The step-up code sent to the current number"
    )
    passkey_assertion: dict[str, Any] | None = Field(
        default=None, description="Or the step-up by passkey (fingerprint or face)"
    )


class ConsentAccept(StrictBody):
    policy_version: Annotated[str, Field(pattern=r"^[0-9A-Za-z.-]{1,20}$")]


class ClosureStart(StrictBody):
    pass


class ClosureConfirm(StrictBody):
    challenge_id: Uuid
    sms_code: SmsCode | None = None
    passkey_assertion: dict[str, Any] | None = None


class PasskeyRegistration(StrictBody):
    challenge_id: Uuid
    credential: dict[str, Any]
    name: Label = ""


class PasskeyLogin(StrictBody):
    challenge_id: Uuid
    credential: dict[str, Any]
    device_id: DeviceKey
    device_name: Label | None = Field(default=None, description="e.g. iPhone 15")


class StaffLogin(StrictBody):
    username: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
    password: Password
    totp_code: SmsCode | None = Field(default=None, description="When the staff member has one")


class KycLevelChange(StrictBody):
    kyc_level: KycLevel


#: A registered company name: Chinese, Latin letters, digits, brackets, middle dot, & and -.
_COMPANY_NAME = "^[\u4e00-\u9fffA-Za-z0-9（）()·&\\- ]+$"


class EnterpriseCreate(StrictBody):
    name: Annotated[str, Field(min_length=2, max_length=100, pattern=_COMPANY_NAME)]
    uscc: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{18}$")]


class OperatorCreate(StrictBody):
    phone: Phone
    name: PersonName
    id_number: IdNumber
    role: Literal["admin", "maker", "checker"]


class StaffCreate(StrictBody):
    username: Annotated[str, Field(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
    name: PersonName
    password: Password
    roles: Annotated[
        list[Literal["viewer", "operator", "risk_analyst", "admin"]],
        Field(min_length=1, max_length=4),
    ]


# --------------------------------------------------------------------------- responses


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"


class CustomerOut(BaseModel):
    id: str
    kind: str
    status: str
    phone: str = Field(description="Masked, e.g. 138****5678")
    name: str = Field(description="Masked, e.g. 张*")
    id_number: str = Field(description="Masked, e.g. 110***********1234")
    kyc_level: str
    enterprise_id: str | None
    totp_enabled: bool
    elder_mode: bool = Field(description="长辈版 (elder mode): larger text, simpler screens")
    language: Language
    created_at: datetime

    @classmethod
    def of(cls, c: service.CustomerView) -> CustomerOut:
        return cls(
            id=c.id,
            kind=c.kind,
            status=c.status,
            phone=mask_phone(c.phone),
            name=mask_name(c.name),
            id_number=c.id_number_masked,
            kyc_level=c.kyc_level,
            enterprise_id=c.enterprise_id,
            totp_enabled=c.totp_enabled,
            elder_mode=c.elder_mode,
            language=cast(Language, c.language),  # the service stores only these two
            created_at=c.created_at,
        )


class AccountSummaryOut(BaseModel):
    id: int
    number: str
    currency: str
    kind: str
    status: str
    balance: str
    available_balance: str

    @classmethod
    def of(cls, a: AccountView) -> AccountSummaryOut:
        return cls(
            id=a.id,
            number=a.number,
            currency=a.currency,
            kind=a.kind,
            status=a.status,
            balance=format_minor(a.balance_minor, a.currency),
            available_balance=format_minor(a.available_minor, a.currency),
        )


class RegistrationOut(BaseModel):
    customer: CustomerOut
    account: AccountSummaryOut


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    expires_in: int
    refresh_token: str
    session_id: str
    subject_id: str
    device_id: str | None
    auth_methods: list[str]


class DeviceOut(BaseModel):
    id: str
    name: str
    trusted: bool
    first_seen_at: datetime
    last_seen_at: datetime

    @classmethod
    def of(cls, d: service.DeviceView) -> DeviceOut:
        return cls(
            id=d.id,
            name=d.name,
            trusted=d.trusted,
            first_seen_at=d.first_seen_at,
            last_seen_at=d.last_seen_at,
        )


class LimitsOut(BaseModel):
    kyc_level: str
    currency: str
    per_transaction: str
    daily_amount: str
    daily_count: int
    default_per_transaction: str
    default_daily_amount: str
    default_daily_count: int

    @classmethod
    def of(cls, limits: service.CustomerLimits) -> LimitsOut:
        def fmt(minor: int) -> str:
            return format_minor(minor, limits.currency)

        return cls(
            kyc_level=limits.kyc_level,
            currency=limits.currency,
            per_transaction=fmt(limits.per_transaction_minor),
            daily_amount=fmt(limits.daily_amount_minor),
            daily_count=limits.daily_count,
            default_per_transaction=fmt(limits.default_per_transaction_minor),
            default_daily_amount=fmt(limits.default_daily_amount_minor),
            default_daily_count=limits.default_daily_count,
        )


class ConsentOut(BaseModel):
    policy_version: str
    accepted_at: datetime
    withdrawn_at: datetime | None


class TotpEnrolmentOut(BaseModel):
    secret: str
    provisioning_uri: str


class CeremonyOut(BaseModel):
    challenge_id: str
    options: dict[str, Any]


class StepUpOut(BaseModel):
    challenge_id: str
    methods: list[str]
    expires_at: datetime
    passkey_options: dict[str, Any] | None

    @classmethod
    def of(cls, c: service.StepUpChallenge) -> StepUpOut:
        return cls(
            challenge_id=c.challenge_id,
            methods=list(c.methods),
            expires_at=c.expires_at,
            passkey_options=c.passkey_options,
        )


class PhoneChangeOut(BaseModel):
    change_id: str
    #: How the current holder approves (step-up): `sms` to the current number, `passkey`.
    methods: list[str]
    expires_at: datetime
    passkey_options: dict[str, Any] | None

    @classmethod
    def of(cls, c: service.PhoneChange) -> PhoneChangeOut:
        return cls(
            change_id=c.change_id,
            methods=list(c.step_up.methods),
            expires_at=c.step_up.expires_at,
            passkey_options=c.step_up.passkey_options,
        )


class PasskeyOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, p: passkeys.PasskeyView) -> PasskeyOut:
        return cls(id=p.id, name=p.name, created_at=p.created_at, last_used_at=p.last_used_at)


class SmsOut(BaseModel):
    id: int
    phone: str
    purpose: str
    text: str
    created_at: datetime

    @classmethod
    def of(cls, m: service.SmsView, *, reveal: bool) -> SmsOut:
        return cls(
            id=m.id,
            phone=m.phone if reveal else mask_phone(m.phone),
            purpose=m.purpose,
            text=m.text if reveal else mask_codes(m.text),
            created_at=m.created_at,
        )


class ConsoleCustomerOut(CustomerOut):
    locked_until: datetime | None
    last_login_at: datetime | None

    @classmethod
    def of(cls, c: service.CustomerView) -> ConsoleCustomerOut:
        base = CustomerOut.of(c).model_dump()
        return cls(**base, locked_until=c.locked_until, last_login_at=c.last_login_at)


class AuditOut(BaseModel):
    id: int
    staff_id: str | None
    action: str
    target: str
    details: dict[str, Any]
    created_at: datetime


class EnterpriseOut(BaseModel):
    id: str
    name: str
    uscc: str
    status: str
    created_at: datetime


class StaffOut(BaseModel):
    id: str
    username: str
    name: str
    roles: list[str]
    active: bool
