"""Console staff: accounts, login (password + TOTP), roles and permissions, and the audit log.

Roles map to permissions in `identity_role_permissions` (data, seeded by the
migration; "*" grants all). Every console action is appended to
`identity_audit_log`, which the database itself refuses to update or delete.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyotp
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from zhangyin import pii
from zhangyin.clock import utcnow
from zhangyin.identity import passwords
from zhangyin.identity.errors import (
    StaffExists,
    StaffLoginFailed,
    StaffTotpNotEnrolled,
    UnknownRole,
)
from zhangyin.identity.models import AuditEntry, AuthSession, RolePermission, Staff, SubjectKind
from zhangyin.identity.policy import IdentityPolicy

if TYPE_CHECKING:
    from zhangyin.identity.service import Outcome, TotpEnrolment

ROLES = ("viewer", "operator", "risk_analyst", "admin")
STAFF_TOTP_CONTEXT = "identity_staff.totp_secret"


@dataclass(frozen=True)
class StaffView:
    id: str
    username: str
    name: str
    roles: tuple[str, ...]
    active: bool
    totp_enabled: bool


@dataclass(frozen=True)
class AuditView:
    id: int
    staff_id: str | None
    action: str
    target: str
    details: dict[str, Any]
    created_at: datetime


def _view(row: Staff) -> StaffView:
    enrolled = row.totp_secret_enc is not None
    return StaffView(row.id, row.username, row.name, tuple(row.roles), row.active, enrolled)


def create_staff(
    session: Session, *, username: str, name: str, password: str, roles: list[str]
) -> StaffView:
    for role in roles:
        if role not in ROLES:
            raise UnknownRole(role=role)
    passwords.check_strength(password)
    if session.scalar(select(Staff.id).where(Staff.username == username)) is not None:
        raise StaffExists()
    row = Staff(
        id=str(uuid.uuid4()),
        username=username,
        name=name,
        password_hash=passwords.hash_password(password),
        roles=sorted(set(roles)),
        active=True,
        failed_attempts=0,
        totp_last_step=0,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return _view(row)


def enrol_totp(session: Session, username: str) -> TotpEnrolment:
    """Give a staff member an authenticator secret; from now on their login needs its code."""
    from zhangyin.identity.service import TotpEnrolment

    row = session.scalar(select(Staff).where(Staff.username == username))
    if row is None:
        raise StaffLoginFailed()
    secret = pyotp.random_base32()
    row.totp_secret_enc = pii.encrypt(secret, STAFF_TOTP_CONTEXT)
    row.totp_last_step = 0
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="掌银运营平台")
    return TotpEnrolment(secret, uri)


def _failed(session: Session, row: Staff, ip: str, policy: IdentityPolicy) -> Outcome:
    from zhangyin.identity.service import Outcome

    row.failed_attempts += 1
    if row.failed_attempts >= policy.lockout_threshold:
        row.failed_attempts = 0
        row.locked_until = utcnow() + timedelta(minutes=policy.lockout_minutes)
    audit(session, None, "staff.login_failed", f"staff:{row.id}", {"ip": ip})
    return Outcome(refused=StaffLoginFailed())


def login_staff(
    session: Session,
    *,
    username: str,
    password: str,
    totp_code: str | None,
    ip: str,
    policy: IdentityPolicy,
) -> Outcome:
    """Password, then the authenticator code when enrolled (required when the policy says so)."""
    from zhangyin.identity.service import Outcome, new_session, verify_totp_code

    row = session.scalar(select(Staff).where(Staff.username == username, Staff.active.is_(True)))
    ok = passwords.verify_password(row.password_hash if row else None, password)
    if row is None:
        audit(session, None, "staff.login_failed", f"staff:{username[:40]}", {"ip": ip})
        return Outcome(refused=StaffLoginFailed())
    if row.locked_until is not None and row.locked_until > utcnow():
        audit(session, None, "staff.login_locked", f"staff:{row.id}", {"ip": ip})
        return Outcome(refused=StaffLoginFailed())
    if not ok:
        return _failed(session, row, ip, policy)
    methods: tuple[str, ...] = ("pwd",)
    if row.totp_secret_enc is not None:
        step = verify_totp_code(
            pii.decrypt(row.totp_secret_enc, STAFF_TOTP_CONTEXT), totp_code, row.totp_last_step
        )
        if step is None:
            return _failed(session, row, ip, policy)
        row.totp_last_step = step
        methods = ("pwd", "otp")
    elif policy.staff_totp_required:
        audit(session, None, "staff.login_no_totp", f"staff:{row.id}", {"ip": ip})
        return Outcome(refused=StaffTotpNotEnrolled())
    row.failed_attempts = 0
    row.locked_until = None
    grant = new_session(
        session, SubjectKind.STAFF, row.id, None, methods, ip, policy, tuple(row.roles)
    )
    audit(session, None, "staff.login", f"staff:{row.id}", {"ip": ip, "methods": list(methods)})
    return Outcome(grant=grant)


def staff_roles(session: Session, staff_id: str) -> tuple[str, ...] | None:
    row = session.get(Staff, staff_id)
    if row is None or not row.active:
        return None
    return tuple(row.roles)


def permissions_of(session: Session, roles: tuple[str, ...]) -> set[str]:
    if not roles:
        return set()
    return set(
        session.scalars(select(RolePermission.permission).where(RolePermission.role.in_(roles)))
    )


def audit(
    session: Session,
    staff: Any,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Append to the staff audit log (never updated, never deleted).

    `staff` is the acting StaffPrincipal (or None for the system and the CLI).
    """
    staff_id = getattr(staff, "staff_id", None) if staff is not None else None
    session.add(
        AuditEntry(
            staff_id=staff_id,
            action=action[:60],
            target=target[:120],
            details=details or {},
            created_at=utcnow(),
        )
    )


def audit_log(
    session: Session, *, limit: int = 100, before_id: int | None = None
) -> list[AuditView]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return [
        AuditView(r.id, r.staff_id, r.action, r.target, r.details, r.created_at)
        for r in session.scalars(query)
    ]


# --------------------------------------------------------------------------- console: staff admin


@dataclass(frozen=True)
class StaffEntry:
    """A staff member as the console's staff screen lists them."""

    id: str
    username: str
    name: str
    roles: tuple[str, ...]
    active: bool
    totp_enabled: bool
    created_at: datetime
    last_login_at: datetime | None


def list_staff(session: Session) -> list[StaffEntry]:
    """Every staff member, with their last login (their newest console session), by username."""
    newest = session.execute(
        select(AuthSession.subject_id, func.max(AuthSession.created_at))
        .where(AuthSession.subject_kind == SubjectKind.STAFF.value)
        .group_by(AuthSession.subject_id)
    )
    last_login: dict[str, datetime] = {subject: at for subject, at in newest}
    return [
        StaffEntry(
            row.id,
            row.username,
            row.name,
            tuple(row.roles),
            row.active,
            row.totp_secret_enc is not None,
            row.created_at,
            last_login.get(row.id),
        )
        for row in session.scalars(select(Staff).order_by(Staff.username))
    ]


def get_staff(session: Session, staff_id: str, *, lock: bool = False) -> StaffView | None:
    row = session.get(Staff, staff_id, with_for_update=lock)
    return _view(row) if row is not None else None


def set_staff_roles(session: Session, staff_id: str, roles: list[str]) -> StaffView:
    """Replace a staff member's roles; their next request is authorised by the new ones."""
    for role in roles:
        if role not in ROLES:
            raise UnknownRole(role=role)
    row = session.get(Staff, staff_id, with_for_update=True)
    if row is None:
        raise LookupError(staff_id)
    row.roles = sorted(set(roles))
    session.flush()
    return _view(row)


def disable_staff(session: Session, staff_id: str) -> StaffView:
    """Disable a staff member: no more logins, and their open sessions end now."""
    row = session.get(Staff, staff_id, with_for_update=True)
    if row is None:
        raise LookupError(staff_id)
    row.active = False
    session.execute(
        update(AuthSession)
        .where(
            AuthSession.subject_kind == SubjectKind.STAFF.value,
            AuthSession.subject_id == staff_id,
            AuthSession.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow(), revoked_reason="staff_disabled")
    )
    session.flush()
    return _view(row)
