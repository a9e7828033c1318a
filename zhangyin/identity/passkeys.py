"""Passkeys (WebAuthn): the phone's fingerprint or face unlock, verified by `webauthn`.

Registration and login are two-step ceremonies around a challenge row: the
server makes the options (with a random challenge it keeps), the authenticator
signs, the server verifies origin, RP id, user verification, the signature and
the sign counter (a counter that goes backwards means a cloned key). User
verification is required, so a passkey counts as two factors (possession +
biometric) and trusts the device it logs in from.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from zhangyin import events
from zhangyin.clock import utcnow
from zhangyin.identity import service
from zhangyin.identity.errors import PasskeyNotFound, PasskeyRejected
from zhangyin.identity.models import Challenge, ChallengeKind, Customer, CustomerStatus, Passkey
from zhangyin.identity.policy import IdentityPolicy


@dataclass(frozen=True)
class PasskeyView:
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True)
class Ceremony:
    challenge_id: str
    options: dict[str, Any]


def _view(p: Passkey) -> PasskeyView:
    return PasskeyView(p.id, p.name, p.created_at, p.last_used_at)


def _new_challenge(
    session: Session, kind: ChallengeKind, customer_id: str | None, policy: IdentityPolicy
) -> Challenge:
    now = utcnow()
    row = Challenge(
        id=str(uuid.uuid4()),
        kind=kind.value,
        customer_id=customer_id,
        binding={},
        binding_hash="",
        webauthn_challenge=secrets.token_bytes(32),
        methods=["passkey"],
        created_at=now,
        expires_at=now + timedelta(minutes=policy.challenge_minutes),
    )
    session.add(row)
    session.flush()
    return row


def _live_challenge(
    session: Session, challenge_id: str, kind: ChallengeKind, customer_id: str | None
) -> Challenge | None:
    row = session.get(Challenge, challenge_id, with_for_update=True)
    if (
        row is None
        or row.kind != kind.value
        or row.consumed_at is not None
        or row.expires_at <= utcnow()
        or row.webauthn_challenge is None
        or (customer_id is not None and row.customer_id != customer_id)
    ):
        return None
    return row


def registration_options(session: Session, customer_id: str, policy: IdentityPolicy) -> Ceremony:
    customer = service.get_customer(session, customer_id)
    challenge = _new_challenge(session, ChallengeKind.PASSKEY_REGISTRATION, customer_id, policy)
    existing = session.scalars(
        select(Passkey.credential_id).where(Passkey.customer_id == customer_id)
    ).all()
    options = generate_registration_options(
        rp_id=policy.webauthn_rp_id,
        rp_name=policy.webauthn_rp_name,
        user_id=customer_id.encode(),
        user_name=customer.phone or customer_id,
        user_display_name=customer.name,
        challenge=challenge.webauthn_challenge,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=_b64decode(cid)) for cid in existing],
    )
    return Ceremony(challenge.id, json.loads(options_to_json(options)))


def register(
    session: Session,
    customer_id: str,
    challenge_id: str,
    credential: dict[str, Any],
    name: str,
    policy: IdentityPolicy,
) -> PasskeyView:
    challenge = _live_challenge(
        session, challenge_id, ChallengeKind.PASSKEY_REGISTRATION, customer_id
    )
    if challenge is None or challenge.webauthn_challenge is None:
        raise PasskeyRejected()
    challenge.consumed_at = utcnow()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge.webauthn_challenge,
            expected_rp_id=policy.webauthn_rp_id,
            expected_origin=policy.origins,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise PasskeyRejected() from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise PasskeyRejected()
    row = Passkey(
        id=str(uuid.uuid4()),
        customer_id=customer_id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=name,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    events.emit(session, "identity.passkey_added", "customer", customer_id, {"passkey_id": row.id})
    return _view(row)


def list_passkeys(session: Session, customer_id: str) -> list[PasskeyView]:
    rows = session.scalars(
        select(Passkey).where(Passkey.customer_id == customer_id).order_by(Passkey.created_at)
    ).all()
    return [_view(p) for p in rows]


def remove(session: Session, customer_id: str, passkey_id: str) -> None:
    row = session.scalar(
        select(Passkey).where(Passkey.id == passkey_id, Passkey.customer_id == customer_id)
    )
    if row is None:
        raise PasskeyNotFound()
    session.delete(row)
    events.emit(
        session, "identity.passkey_removed", "customer", customer_id, {"passkey_id": passkey_id}
    )


def request_options(
    session: Session, customer_id: str | None, challenge: bytes, policy: IdentityPolicy
) -> dict[str, Any]:
    allowed: list[PublicKeyCredentialDescriptor] = []
    if customer_id is not None:
        allowed = [
            PublicKeyCredentialDescriptor(id=_b64decode(cid))
            for cid in session.scalars(
                select(Passkey.credential_id).where(Passkey.customer_id == customer_id)
            )
        ]
    options = generate_authentication_options(
        rp_id=policy.webauthn_rp_id,
        challenge=challenge,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


def login_options(session: Session, policy: IdentityPolicy) -> Ceremony:
    challenge = _new_challenge(session, ChallengeKind.PASSKEY_LOGIN, None, policy)
    assert challenge.webauthn_challenge is not None
    return Ceremony(
        challenge.id, request_options(session, None, challenge.webauthn_challenge, policy)
    )


def verify_assertion(
    session: Session,
    credential: dict[str, Any],
    expected_challenge: bytes,
    policy: IdentityPolicy,
    customer_id: str | None,
) -> Passkey | None:
    """The passkey that signed `expected_challenge` (of `customer_id` when given), or None."""
    credential_id = credential.get("id") if isinstance(credential, dict) else None
    if not isinstance(credential_id, str) or len(credential_id) > 400:
        return None
    query = select(Passkey).where(Passkey.credential_id == credential_id)
    if customer_id is not None:
        query = query.where(Passkey.customer_id == customer_id)
    row = session.scalar(query.with_for_update())
    if row is None:
        return None
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=expected_challenge,
            expected_rp_id=policy.webauthn_rp_id,
            expected_origin=policy.origins,
            credential_public_key=row.public_key,
            credential_current_sign_count=row.sign_count,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return None
    row.sign_count = verified.new_sign_count
    row.last_used_at = utcnow()
    return row


def login(
    session: Session,
    *,
    challenge_id: str,
    credential: dict[str, Any],
    device_key: str,
    ip: str,
    policy: IdentityPolicy,
    device_name: str = "",
) -> service.Outcome:
    challenge = _live_challenge(session, challenge_id, ChallengeKind.PASSKEY_LOGIN, None)
    if challenge is None or challenge.webauthn_challenge is None:
        return service.Outcome(refused=PasskeyRejected())
    challenge.consumed_at = utcnow()
    key = verify_assertion(session, credential, challenge.webauthn_challenge, policy, None)
    if key is None:
        return service.Outcome(refused=PasskeyRejected())
    customer = session.get(Customer, key.customer_id)
    if (
        customer is None
        or customer.status != CustomerStatus.ACTIVE.value
        or service.is_locked(customer)
    ):
        return service.Outcome(refused=PasskeyRejected())
    device = service.touch_device(session, customer.id, device_key, trust=True, name=device_name)
    grant = service.login_succeeded(session, customer, device, ("passkey",), ip, policy)
    return service.Outcome(grant=grant)


def _b64decode(value: str) -> bytes:
    from webauthn import base64url_to_bytes

    return base64url_to_bytes(value)
