"""Identity's HTTP API: onboarding, login, sessions, devices, passkeys, personal data; and
the console's customer, staff and audit routes under /v1/console.

Thin: parse, authorise by dependency, call the service, shape the response.
Login-type calls commit their bookkeeping (failed attempts, reused refresh
tokens) before the refusal is raised; see `service.Outcome`.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from zhangyin.config import Settings
from zhangyin.http import DbDep, IdempotencyKey, idempotent_json
from zhangyin.identity import passkeys, service
from zhangyin.identity import staff as staff_accounts
from zhangyin.identity.auth import (
    PUBLIC,
    REFRESH_COOKIE,
    CurrentCustomer,
    CurrentStaff,
    LimiterDep,
    PolicyDep,
    StaffPrincipal,
    access_token_for,
    audit,
    clear_session_cookies,
    client_ip,
    get_settings_of,
    require_staff,
    set_session_cookies,
)
from zhangyin.identity.errors import TokenInvalid
from zhangyin.identity.models import SmsPurpose
from zhangyin.identity.ratelimit import Limit
from zhangyin.identity.schemas import (
    Accepted,
    AccountSummaryOut,
    AuditOut,
    CeremonyOut,
    ClosureConfirm,
    ConsentAccept,
    ConsentOut,
    ConsoleCustomerOut,
    CustomerCreate,
    CustomerOut,
    DeviceOut,
    EnterpriseCreate,
    EnterpriseOut,
    KycLevelChange,
    LimitsOut,
    LimitsUpdate,
    OperatorCreate,
    PasskeyLogin,
    PasskeyOut,
    PasskeyRegistration,
    PasswordLogin,
    PasswordReset,
    Phone,
    PhoneChangeConfirm,
    PhoneChangeOut,
    PhoneChangeStart,
    PreferencesUpdate,
    RefreshRequest,
    RegistrationOut,
    SecondFactor,
    SmsCodeRequest,
    SmsLogin,
    SmsOut,
    StaffCreate,
    StaffLogin,
    StaffOut,
    StepUpOut,
    TokenOut,
    TotpCode,
    TotpEnrolmentOut,
    Uuid,
)

router = APIRouter(prefix="/v1", tags=["identity"])
console_router = APIRouter(prefix="/v1/console", tags=["console"])
dev_router = APIRouter(prefix="/v1/dev", tags=["dev"])

CLOSE_ACCOUNT = service.StepUpBinding(operation="close_account")


def routers(settings: Settings) -> list[APIRouter]:
    """The routers to mount; the dev SMS inbox only in demo mode (ZHANGYIN_DEMO=1)."""
    return [router, console_router, *([dev_router] if settings.demo else [])]


def _grant_response(
    request: Request, outcome: service.Outcome, *, cookies: bool = True
) -> JSONResponse:
    if outcome.refused is not None:
        raise outcome.refused
    grant = outcome.grant
    assert grant is not None
    access_token, ttl = access_token_for(request, grant)
    body = TokenOut(
        access_token=access_token,
        expires_in=ttl,
        refresh_token=grant.refresh_token,
        session_id=grant.session_id,
        subject_id=grant.subject_id,
        device_id=grant.device_id,
        auth_methods=list(grant.auth_methods),
    )
    response = JSONResponse(body.model_dump(mode="json"), status_code=201)
    response.headers["Cache-Control"] = "no-store"
    if cookies:
        set_session_cookies(request, response, access_token, grant.refresh_token, ttl)
    return response


_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u4e00-\u9fff]")


def _device_name(request: Request, given: str | None) -> str:
    """The name the app gave the device, or a cleaned-up User-Agent."""
    if given:
        return given
    return _UNPRINTABLE.sub("", request.headers.get("user-agent", ""))[:60]


def _login_limits(request: Request, limiter: LimiterDep, policy: PolicyDep, subject: str) -> None:
    limiter.check(Limit("login-ip", policy.login_per_ip_per_minute, 60), client_ip(request))
    limiter.check(Limit("login-subject", policy.login_per_phone_per_15min, 900), subject)


def _sms_limits(
    request: Request, limiter: LimiterDep, policy: PolicyDep, phone: str, purpose: SmsPurpose
) -> None:
    """Every SMS that carries a code: per client, a cooldown per number and purpose, per number."""
    limiter.check(Limit("sms-ip", policy.sms_per_ip_per_hour, 3600), client_ip(request))
    if policy.sms_cooldown_seconds > 0:
        limiter.check(
            Limit("sms-cooldown", 1, policy.sms_cooldown_seconds), f"{phone}:{purpose.value}"
        )
    limiter.check(Limit("sms-hour", policy.sms_per_phone_per_hour, 3600), phone)
    limiter.check(Limit("sms-day", policy.sms_per_phone_per_day, 86400), phone)


# --------------------------------------------------------------------------- onboarding


@router.post(
    "/sms-codes",
    status_code=202,
    response_model=Accepted,
    summary="Send a one-time code by SMS (always 202: never tells who is registered)",
    openapi_extra=PUBLIC,
)
def send_sms_code(
    body: SmsCodeRequest, request: Request, db: DbDep, policy: PolicyDep, limiter: LimiterDep
) -> Accepted:
    phone = service.check_phone(body.phone)
    purpose = SmsPurpose(body.purpose)
    _sms_limits(request, limiter, policy, phone, purpose)
    db.run(
        lambda s: service.request_sms_code(
            s, phone, purpose, policy, challenge_id=body.challenge_id
        )
    )
    return Accepted()


@router.post(
    "/customers",
    status_code=201,
    response_model=RegistrationOut,
    summary="Register: verified phone, real name, resident ID, password; opens a CNY account",
    openapi_extra=PUBLIC,
)
def register(
    body: CustomerCreate,
    request: Request,
    idempotency_key: IdempotencyKey,
    policy: PolicyDep,
    limiter: LimiterDep,
) -> JSONResponse:
    limiter.check(Limit("register-ip", policy.sms_per_ip_per_hour, 3600), client_ip(request))
    prefix = get_settings_of(request).account_number_prefix
    counters = limiter.store
    device_name = _device_name(request, body.device_name)

    def work(session: Session) -> tuple[int, RegistrationOut]:
        result = service.register_customer(
            session,
            phone=body.phone,
            sms_code=body.sms_code,
            name=body.name,
            id_number=body.id_number,
            password=body.password,
            privacy_version=body.accept_privacy_version,
            device_key=body.device_id,
            policy=policy,
            counters=counters,
            number_prefix=prefix,
            device_name=device_name,
        )
        return 201, RegistrationOut(
            customer=CustomerOut.of(result.customer), account=AccountSummaryOut.of(result.account)
        )

    # The stored answer is the masked one; the password never reaches the idempotency record.
    fingerprint = body.model_dump(exclude={"password"})
    return idempotent_json(
        request, scope="identity:customers", key=idempotency_key, body=fingerprint, work=work
    )


@router.post(
    "/password-resets",
    status_code=204,
    summary="Reset a forgotten password with an SMS code and the ID number",
    openapi_extra=PUBLIC,
)
def reset_password(
    body: PasswordReset, request: Request, db: DbDep, policy: PolicyDep, limiter: LimiterDep
) -> Response:
    _login_limits(request, limiter, policy, body.phone)
    db.run(
        lambda s: service.reset_password(
            s,
            phone=body.phone,
            sms_code=body.sms_code,
            id_number=body.id_number,
            new_password=body.new_password,
            policy=policy,
            counters=limiter.store,
        )
    )
    return Response(status_code=204)


# --------------------------------------------------------------------------- sessions


@router.post(
    "/sessions",
    status_code=201,
    response_model=TokenOut,
    summary="Log in with phone and password (a new device answers 401 second_factor_required)",
    openapi_extra=PUBLIC,
    responses={
        401: {
            "description": "`login_failed` (generic), or `second_factor_required` with "
            "`challenge_id` and `methods`: finish at POST /v1/sessions/second-factor",
            "content": {"application/problem+json": {}},
        },
        429: {"description": "`rate_limited` with `retry_after` seconds"},
    },
)
def create_session(
    body: PasswordLogin, request: Request, db: DbDep, policy: PolicyDep, limiter: LimiterDep
) -> JSONResponse:
    _login_limits(request, limiter, policy, body.phone)
    ip = client_ip(request)
    outcome = db.run(
        lambda s: service.login_with_password(
            s,
            phone=body.phone,
            password=body.password,
            device_key=body.device_id,
            ip=ip,
            policy=policy,
            device_name=_device_name(request, body.device_name),
        )
    )
    return _grant_response(request, outcome)


@router.post(
    "/sessions/second-factor",
    status_code=201,
    response_model=TokenOut,
    summary="Finish a login from a new device with the SMS (or TOTP) code; trusts the device",
    openapi_extra=PUBLIC,
)
def complete_second_factor(
    body: SecondFactor, request: Request, db: DbDep, policy: PolicyDep, limiter: LimiterDep
) -> JSONResponse:
    _login_limits(request, limiter, policy, body.challenge_id)
    ip = client_ip(request)
    outcome = db.run(
        lambda s: service.complete_second_factor(
            s,
            challenge_id=body.challenge_id,
            sms_code=body.sms_code,
            totp_code=body.totp_code,
            ip=ip,
            policy=policy,
            counters=limiter.store,
        )
    )
    return _grant_response(request, outcome)


@router.post(
    "/sessions/sms-code",
    status_code=201,
    response_model=TokenOut,
    summary="Log in with an SMS code (purpose login) from a trusted device",
    openapi_extra=PUBLIC,
)
def create_session_by_sms(
    body: SmsLogin, request: Request, db: DbDep, policy: PolicyDep, limiter: LimiterDep
) -> JSONResponse:
    _login_limits(request, limiter, policy, body.phone)
    ip = client_ip(request)
    outcome = db.run(
        lambda s: service.login_with_sms_code(
            s,
            phone=body.phone,
            sms_code=body.sms_code,
            device_key=body.device_id,
            ip=ip,
            policy=policy,
            counters=limiter.store,
            device_name=_device_name(request, body.device_name),
        )
    )
    return _grant_response(request, outcome)


@router.post(
    "/sessions/refresh",
    status_code=201,
    response_model=TokenOut,
    summary="Rotate the refresh token (reusing an old one ends the session)",
    openapi_extra=PUBLIC,
)
def refresh_session(
    body: RefreshRequest, request: Request, db: DbDep, policy: PolicyDep, limiter: LimiterDep
) -> JSONResponse:
    limiter.check(Limit("refresh-ip", policy.login_per_ip_per_minute, 60), client_ip(request))
    token = body.refresh_token or request.cookies.get(REFRESH_COOKIE)
    if not token or len(token) > 100:
        raise TokenInvalid()
    outcome = db.run(lambda s: service.refresh_session(s, token, policy))
    kind = outcome.grant.kind if outcome.grant else "customer"
    return _grant_response(request, outcome, cookies=kind == "customer")


@router.delete("/sessions/current", status_code=204, summary="Log out (ends this session)")
def delete_session(customer: CurrentCustomer, db: DbDep) -> Response:
    db.run(lambda s: service.logout(s, customer.session_id))
    response = Response(status_code=204)
    clear_session_cookies(response)
    return response


# --------------------------------------------------------------------------- me


@router.get("/me", response_model=CustomerOut, summary="The logged-in customer (masked)")
def me(customer: CurrentCustomer, db: DbDep) -> CustomerOut:
    return CustomerOut.of(db.run(lambda s: service.get_customer(s, customer.customer_id)))


@router.patch(
    "/me",
    response_model=CustomerOut,
    summary="Change my display preferences (elder mode, language); every phone applies them",
)
def update_me(body: PreferencesUpdate, customer: CurrentCustomer, db: DbDep) -> CustomerOut:
    view = db.run(
        lambda s: service.update_preferences(
            s, customer.customer_id, elder_mode=body.elder_mode, language=body.language
        )
    )
    return CustomerOut.of(view)


@router.post(
    "/me/phone/start",
    status_code=201,
    response_model=PhoneChangeOut,
    summary="Start changing my phone number: a code to the new number, a step-up to approve",
    responses={409: {"description": "`phone_unavailable`: the number is taken or already mine"}},
)
def start_phone_change(
    body: PhoneChangeStart,
    request: Request,
    customer: CurrentCustomer,
    db: DbDep,
    policy: PolicyDep,
    limiter: LimiterDep,
) -> PhoneChangeOut:
    phone = service.check_phone(body.new_phone)
    _sms_limits(request, limiter, policy, phone, SmsPurpose.CHANGE_PHONE)
    return PhoneChangeOut.of(
        db.run(lambda s: service.start_phone_change(s, customer.customer_id, phone, policy=policy))
    )


@router.post(
    "/me/phone/confirm",
    response_model=CustomerOut,
    summary="Confirm the new phone number; every other session ends",
)
def confirm_phone_change(
    body: PhoneChangeConfirm,
    customer: CurrentCustomer,
    db: DbDep,
    policy: PolicyDep,
    limiter: LimiterDep,
) -> CustomerOut:
    view = db.run(
        lambda s: service.confirm_phone_change(
            s,
            customer.customer_id,
            body.change_id,
            sms_code=body.sms_code,
            step_up_sms_code=body.step_up_sms_code,
            passkey_assertion=body.passkey_assertion,
            current_session_id=customer.session_id,
            policy=policy,
            counters=limiter.store,
        )
    )
    return CustomerOut.of(view)


@router.get("/me/devices", response_model=list[DeviceOut], summary="My devices")
def my_devices(customer: CurrentCustomer, db: DbDep) -> list[DeviceOut]:
    return [
        DeviceOut.of(d) for d in db.run(lambda s: service.list_devices(s, customer.customer_id))
    ]


@router.delete(
    "/me/devices/{device_id}",
    status_code=204,
    summary="Revoke a device: its sessions end and it needs a second factor again",
)
def revoke_device(device_id: Uuid, customer: CurrentCustomer, db: DbDep) -> Response:
    db.run(lambda s: service.revoke_device(s, customer.customer_id, device_id))
    return Response(status_code=204)


@router.get("/me/limits", response_model=LimitsOut, summary="My transaction limits")
def my_limits(customer: CurrentCustomer, db: DbDep) -> LimitsOut:
    return LimitsOut.of(db.run(lambda s: service.customer_limits(s, customer.customer_id)))


@router.put(
    "/me/limits", response_model=LimitsOut, summary="Lower my limits (never above my class)"
)
def set_my_limits(body: LimitsUpdate, customer: CurrentCustomer, db: DbDep) -> LimitsOut:
    per_transaction, daily_amount = body.minor()
    return LimitsOut.of(
        db.run(
            lambda s: service.set_own_limits(
                s,
                customer.customer_id,
                per_transaction_minor=per_transaction,
                daily_amount_minor=daily_amount,
                daily_count=body.daily_count,
            )
        )
    )


@router.post(
    "/me/totp",
    status_code=201,
    response_model=TotpEnrolmentOut,
    summary="Start setting up an authenticator app (TOTP)",
)
def begin_totp(customer: CurrentCustomer, db: DbDep) -> JSONResponse:
    customer.require_recent_login()
    enrolment = db.run(lambda s: service.begin_totp(s, customer.customer_id))
    body = TotpEnrolmentOut(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)
    return JSONResponse(body.model_dump(), status_code=201, headers={"Cache-Control": "no-store"})


@router.post("/me/totp/confirm", status_code=204, summary="Confirm the authenticator app")
def confirm_totp(body: TotpCode, customer: CurrentCustomer, db: DbDep) -> Response:
    db.run(lambda s: service.confirm_totp(s, customer.customer_id, body.code))
    return Response(status_code=204)


@router.post("/me/totp/disable", status_code=204, summary="Remove the authenticator app")
def disable_totp(body: TotpCode, customer: CurrentCustomer, db: DbDep) -> Response:
    db.run(lambda s: service.disable_totp(s, customer.customer_id, body.code))
    return Response(status_code=204)


@router.get("/me/consents", response_model=list[ConsentOut], summary="My privacy consents")
def my_consents(customer: CurrentCustomer, db: DbDep) -> list[ConsentOut]:
    return [
        ConsentOut(**c.__dict__)
        for c in db.run(lambda s: service.list_consents(s, customer.customer_id))
    ]


@router.post(
    "/me/consents",
    status_code=201,
    response_model=list[ConsentOut],
    summary="Accept the current privacy policy",
)
def accept_consent(
    body: ConsentAccept, customer: CurrentCustomer, db: DbDep, policy: PolicyDep
) -> list[ConsentOut]:
    views = db.run(
        lambda s: service.accept_privacy_policy(
            s, customer.customer_id, body.policy_version, policy
        )
    )
    return [ConsentOut(**c.__dict__) for c in views]


@router.post(
    "/me/consents/withdraw", response_model=list[ConsentOut], summary="Withdraw my consent"
)
def withdraw_consent(customer: CurrentCustomer, db: DbDep) -> list[ConsentOut]:
    views = db.run(lambda s: service.withdraw_consent(s, customer.customer_id))
    return [ConsentOut(**c.__dict__) for c in views]


@router.get("/me/export", summary="Export my personal data as JSON (PIPL right of access)")
def export_my_data(customer: CurrentCustomer, db: DbDep) -> JSONResponse:
    data = db.run(lambda s: service.export_personal_data(s, customer.customer_id))
    return JSONResponse(
        data,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": 'attachment; filename="zhangyin-my-data.json"',
        },
    )


@router.post(
    "/me/closure/step-up",
    status_code=201,
    response_model=StepUpOut,
    summary="Start closing my relationship: sends a code that approves only the closure",
)
def start_closure(customer: CurrentCustomer, db: DbDep, policy: PolicyDep) -> StepUpOut:
    return StepUpOut.of(
        db.run(
            lambda s: service.start_step_up(s, customer.customer_id, CLOSE_ACCOUNT, policy=policy)
        )
    )


@router.post(
    "/me/closure",
    status_code=204,
    summary="Close my accounts (must be empty) and anonymise what the law lets go",
)
def close_me(
    body: ClosureConfirm, customer: CurrentCustomer, db: DbDep, policy: PolicyDep
) -> Response:
    def work(session: Session) -> None:
        service.verify_step_up(
            session,
            customer.customer_id,
            body.challenge_id,
            CLOSE_ACCOUNT,
            sms_code=body.sms_code,
            passkey_assertion=body.passkey_assertion,
            policy=policy,
        )
        service.close_customer(session, customer.customer_id)

    db.run(work)
    response = Response(status_code=204)
    clear_session_cookies(response)
    return response


# --------------------------------------------------------------------------- passkeys


@router.post(
    "/passkeys/registration-options",
    response_model=CeremonyOut,
    summary="Options to create a passkey on this phone",
)
def passkey_registration_options(
    customer: CurrentCustomer, db: DbDep, policy: PolicyDep
) -> CeremonyOut:
    customer.require_recent_login()
    ceremony = db.run(lambda s: passkeys.registration_options(s, customer.customer_id, policy))
    return CeremonyOut(challenge_id=ceremony.challenge_id, options=ceremony.options)


@router.post("/passkeys", status_code=201, response_model=PasskeyOut, summary="Register a passkey")
def register_passkey(
    body: PasskeyRegistration, customer: CurrentCustomer, db: DbDep, policy: PolicyDep
) -> PasskeyOut:
    view = db.run(
        lambda s: passkeys.register(
            s, customer.customer_id, body.challenge_id, body.credential, body.name, policy
        )
    )
    return PasskeyOut.of(view)


@router.get("/passkeys", response_model=list[PasskeyOut], summary="My passkeys")
def list_passkeys(customer: CurrentCustomer, db: DbDep) -> list[PasskeyOut]:
    return [
        PasskeyOut.of(p) for p in db.run(lambda s: passkeys.list_passkeys(s, customer.customer_id))
    ]


@router.delete("/passkeys/{passkey_id}", status_code=204, summary="Remove a passkey")
def remove_passkey(passkey_id: Uuid, customer: CurrentCustomer, db: DbDep) -> Response:
    db.run(lambda s: passkeys.remove(s, customer.customer_id, passkey_id))
    return Response(status_code=204)


@router.post(
    "/passkeys/login-options",
    response_model=CeremonyOut,
    summary="Options to log in with a passkey",
    openapi_extra=PUBLIC,
)
def passkey_login_options(
    request: Request, db: DbDep, policy: PolicyDep, limiter: LimiterDep
) -> CeremonyOut:
    limiter.check(Limit("login-ip", policy.login_per_ip_per_minute, 60), client_ip(request))
    ceremony = db.run(lambda s: passkeys.login_options(s, policy))
    return CeremonyOut(challenge_id=ceremony.challenge_id, options=ceremony.options)


@router.post(
    "/passkeys/sessions",
    status_code=201,
    response_model=TokenOut,
    summary="Log in with a passkey (fingerprint or face); trusts the device",
    openapi_extra=PUBLIC,
)
def passkey_login(
    body: PasskeyLogin, request: Request, db: DbDep, policy: PolicyDep, limiter: LimiterDep
) -> JSONResponse:
    _login_limits(request, limiter, policy, body.challenge_id)
    ip = client_ip(request)
    outcome = db.run(
        lambda s: passkeys.login(
            s,
            challenge_id=body.challenge_id,
            credential=body.credential,
            device_key=body.device_id,
            ip=ip,
            policy=policy,
            device_name=_device_name(request, body.device_name),
        )
    )
    return _grant_response(request, outcome)


# --------------------------------------------------------------------------- dev inbox


@dev_router.get(
    "/sms",
    response_model=list[SmsOut],
    summary="Demo only: the latest SMS sent to a phone (ZHANGYIN_DEMO=1)",
    openapi_extra=PUBLIC,
)
def dev_sms_inbox(phone: Annotated[Phone, Query()], db: DbDep) -> list[SmsOut]:
    return [SmsOut.of(m, reveal=True) for m in db.run(lambda s: service.latest_messages(s, phone))]


# --------------------------------------------------------------------------- console

StaffCustomersRead = Annotated[StaffPrincipal, Depends(require_staff("customers.read"))]
StaffCustomersUnlock = Annotated[StaffPrincipal, Depends(require_staff("customers.unlock"))]
StaffCustomersKyc = Annotated[StaffPrincipal, Depends(require_staff("customers.kyc"))]
StaffSmsRead = Annotated[StaffPrincipal, Depends(require_staff("sms.read"))]
StaffAuditRead = Annotated[StaffPrincipal, Depends(require_staff("audit.read"))]
StaffEnterprises = Annotated[StaffPrincipal, Depends(require_staff("enterprises.manage"))]
StaffManage = Annotated[StaffPrincipal, Depends(require_staff("staff.manage"))]


@console_router.post(
    "/sessions",
    status_code=201,
    response_model=TokenOut,
    summary="Staff login",
    openapi_extra=PUBLIC,
)
def staff_login(
    body: StaffLogin, request: Request, db: DbDep, policy: PolicyDep, limiter: LimiterDep
) -> JSONResponse:
    _login_limits(request, limiter, policy, f"staff:{body.username}")
    ip = client_ip(request)
    outcome = db.run(
        lambda s: staff_accounts.login_staff(
            s,
            username=body.username,
            password=body.password,
            totp_code=body.totp_code,
            ip=ip,
            policy=policy,
        )
    )
    return _grant_response(request, outcome, cookies=False)


@console_router.delete("/sessions/current", status_code=204, summary="Staff logout")
def staff_logout(staff: CurrentStaff, db: DbDep) -> Response:
    def work(session: Session) -> None:
        service.logout(session, staff.session_id)
        audit(session, staff, "staff.logout", f"staff:{staff.staff_id}", {})

    db.run(work)
    return Response(status_code=204)


@console_router.get(
    "/customers", response_model=list[ConsoleCustomerOut], summary="Find customers (masked)"
)
def console_customers(
    staff: StaffCustomersRead, db: DbDep, phone: Annotated[Phone | None, Query()] = None
) -> list[ConsoleCustomerOut]:
    def work(session: Session) -> list[service.CustomerView]:
        found = service.search_customers(session, phone=phone)
        audit(session, staff, "customer.search", "customers", {"by_phone": phone is not None})
        return found

    return [ConsoleCustomerOut.of(c) for c in db.run(work)]


@console_router.get(
    "/customers/{customer_id}", response_model=ConsoleCustomerOut, summary="A customer (masked)"
)
def console_customer(customer_id: Uuid, staff: StaffCustomersRead, db: DbDep) -> ConsoleCustomerOut:
    def work(session: Session) -> service.CustomerView:
        found = service.get_customer_any_status(session, customer_id)
        audit(session, staff, "customer.view", f"customer:{customer_id}", {})
        return found

    return ConsoleCustomerOut.of(db.run(work))


@console_router.post(
    "/customers/{customer_id}/unlock",
    response_model=ConsoleCustomerOut,
    summary="Unlock a customer locked by failed attempts",
)
def console_unlock(customer_id: Uuid, staff: StaffCustomersUnlock, db: DbDep) -> ConsoleCustomerOut:
    def work(session: Session) -> service.CustomerView:
        view = service.unlock_customer(session, customer_id)
        audit(session, staff, "customer.unlock", f"customer:{customer_id}", {})
        return view

    return ConsoleCustomerOut.of(db.run(work))


@console_router.put(
    "/customers/{customer_id}/kyc-level",
    response_model=ConsoleCustomerOut,
    summary="Change a customer's account class (I/II/III)",
)
def console_kyc_level(
    customer_id: Uuid, body: KycLevelChange, staff: StaffCustomersKyc, db: DbDep
) -> ConsoleCustomerOut:
    def work(session: Session) -> service.CustomerView:
        before = service.get_customer(session, customer_id).kyc_level
        view = service.set_kyc_level(session, customer_id, body.kyc_level)
        audit(
            session,
            staff,
            "customer.kyc_level",
            f"customer:{customer_id}",
            {"from": before, "to": body.kyc_level.value},
        )
        return view

    return ConsoleCustomerOut.of(db.run(work))


@console_router.get(
    "/sms-outbox", response_model=list[SmsOut], summary="Sent SMS (phones and codes masked)"
)
def console_sms_outbox(
    staff: StaffSmsRead, db: DbDep, phone: Annotated[Phone | None, Query()] = None
) -> list[SmsOut]:
    def work(session: Session) -> list[service.SmsView]:
        audit(session, staff, "sms.read", "sms_outbox", {"by_phone": phone is not None})
        return service.sms_outbox(session, phone)

    return [SmsOut.of(m, reveal=False) for m in db.run(work)]


@console_router.get("/audit-log", response_model=list[AuditOut], summary="Staff audit log")
def console_audit_log(
    staff: StaffAuditRead,
    db: DbDep,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditOut]:
    entries = db.run(lambda s: staff_accounts.audit_log(s, limit=limit, before_id=before_id))
    return [AuditOut(**e.__dict__) for e in entries]


@console_router.post(
    "/enterprises",
    status_code=201,
    response_model=EnterpriseOut,
    summary="Register an enterprise customer (unified social credit code)",
)
def console_create_enterprise(
    body: EnterpriseCreate,
    request: Request,
    staff: StaffEnterprises,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    def work(session: Session) -> tuple[int, EnterpriseOut]:
        view = service.create_enterprise(session, body.name, body.uscc)
        audit(session, staff, "enterprise.create", f"enterprise:{view.id}", {})
        return 201, EnterpriseOut(**view.__dict__)

    return idempotent_json(
        request, scope="identity:enterprises", key=idempotency_key, body=body, work=work
    )


@console_router.post(
    "/enterprises/{enterprise_id}/operators",
    status_code=201,
    response_model=ConsoleCustomerOut,
    summary="Add an operator to an enterprise (they set a password by SMS reset)",
)
def console_add_operator(
    enterprise_id: Uuid,
    body: OperatorCreate,
    request: Request,
    staff: StaffEnterprises,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    def work(session: Session) -> tuple[int, ConsoleCustomerOut]:
        view = service.add_enterprise_operator(
            session,
            enterprise_id,
            phone=body.phone,
            name=body.name,
            id_number=body.id_number,
            role=body.role,
        )
        audit(
            session,
            staff,
            "enterprise.operator_add",
            f"enterprise:{enterprise_id}",
            {"customer_id": view.id, "role": body.role},
        )
        return 201, ConsoleCustomerOut.of(view)

    return idempotent_json(
        request,
        scope=f"identity:operators:{enterprise_id}",
        key=idempotency_key,
        body=body,
        work=work,
    )


@console_router.post(
    "/staff", status_code=201, response_model=StaffOut, summary="Create a staff member"
)
def console_create_staff(body: StaffCreate, staff: StaffManage, db: DbDep) -> StaffOut:
    def work(session: Session) -> staff_accounts.StaffView:
        view = staff_accounts.create_staff(
            session,
            username=body.username,
            name=body.name,
            password=body.password,
            roles=list(body.roles),
        )
        audit(session, staff, "staff.create", f"staff:{view.id}", {"roles": list(view.roles)})
        return view

    view = db.run(work)
    return StaffOut(
        id=view.id,
        username=view.username,
        name=view.name,
        roles=list(view.roles),
        active=view.active,
    )
