"""The operations console: home-page configuration with approval, and the customer 360 view.

Home-page changes go draft → pending approval → live (or rejected), and a staff member
cannot approve what they submitted (four-eyes). What the app shows is computed from the
live items whose schedule covers now and whose targeting (segment, elder mode) matches.
The customer 360 view asks identity, the ledger, payments, risk and analytics through
their services; it never reads their tables.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhangyin import pii
from zhangyin.analytics.service import SEGMENTS
from zhangyin.clock import utcnow
from zhangyin.console.errors import (
    HomeItemInvalid,
    HomeItemNotFound,
    HomeItemStateConflict,
    HomeItemVersionConflict,
    LimitsInvalid,
    SearchTermInvalid,
    SelfApprovalRefused,
    SelfLockoutRefused,
    StaffNotFound,
)
from zhangyin.console.models import ElderTargeting, HomeItem, HomeItemKind, HomeItemStatus
from zhangyin.money import MoneyError, parse_amount

if TYPE_CHECKING:
    from zhangyin.identity.service import LevelLimits
    from zhangyin.identity.staff import StaffView
    from zhangyin.risk.service import CustomerRiskEvent

SHORTCUT_ID = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
LINK = re.compile(r"^(/[A-Za-z0-9_\-./?=&#%]*|https://[A-Za-z0-9.\-]+(/[A-Za-z0-9_\-./?=&#%]*)?)$")
EDITABLE = (HomeItemStatus.DRAFT.value, HomeItemStatus.REJECTED.value)


# --------------------------------------------------------------------------- home config


@dataclass(frozen=True)
class HomeItemFields:
    kind: HomeItemKind
    title_zh: str
    title_en: str = ""
    body_zh: str = ""
    body_en: str = ""
    image_url: str = ""
    link: str = ""
    shortcuts: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    elder_mode: ElderTargeting = ElderTargeting.ANY
    priority: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True)
class HomeItemView:
    id: str
    kind: str
    status: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    image_url: str
    link: str
    shortcuts: list[str]
    segments: list[str]
    elder_mode: str
    priority: int
    starts_at: datetime | None
    ends_at: datetime | None
    version: int
    created_by: str
    submitted_by: str | None
    reviewed_by: str | None
    review_note: str
    created_at: datetime
    updated_at: datetime
    reviewed_at: datetime | None


def _view(row: HomeItem) -> HomeItemView:
    return HomeItemView(
        id=row.id,
        kind=row.kind,
        status=row.status,
        title_zh=row.title_zh,
        title_en=row.title_en,
        body_zh=row.body_zh,
        body_en=row.body_en,
        image_url=row.image_url,
        link=row.link,
        shortcuts=list(row.shortcuts or []),
        segments=list(row.segments or []),
        elder_mode=row.elder_mode,
        priority=row.priority,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        version=row.version,
        created_by=row.created_by,
        submitted_by=row.submitted_by,
        reviewed_by=row.reviewed_by,
        review_note=row.review_note,
        created_at=row.created_at,
        updated_at=row.updated_at,
        reviewed_at=row.reviewed_at,
    )


def _check_fields(f: HomeItemFields) -> None:
    if f.kind == HomeItemKind.SHORTCUTS:
        if not f.shortcuts or len(f.shortcuts) > 16:
            raise HomeItemInvalid(reason="shortcuts: 1-16")
        if len(set(f.shortcuts)) != len(f.shortcuts) or not all(
            SHORTCUT_ID.match(s) for s in f.shortcuts
        ):
            raise HomeItemInvalid(reason="shortcuts")
    elif f.shortcuts:
        raise HomeItemInvalid(reason="shortcuts")
    if f.kind == HomeItemKind.BANNER and not f.image_url:
        raise HomeItemInvalid(reason="image_url")
    for name, value in (("image_url", f.image_url), ("link", f.link)):
        if value and not LINK.match(value):
            raise HomeItemInvalid(reason=name)
    if any(s not in SEGMENTS for s in f.segments) or len(set(f.segments)) != len(f.segments):
        raise HomeItemInvalid(reason="segments")
    if f.starts_at and f.ends_at and f.starts_at >= f.ends_at:
        raise HomeItemInvalid(reason="starts_at < ends_at")


def _apply(row: HomeItem, f: HomeItemFields) -> None:
    row.kind = f.kind.value
    row.title_zh = f.title_zh
    row.title_en = f.title_en
    row.body_zh = f.body_zh
    row.body_en = f.body_en
    row.image_url = f.image_url
    row.link = f.link
    row.shortcuts = list(f.shortcuts)
    row.segments = list(f.segments)
    row.elder_mode = f.elder_mode.value
    row.priority = f.priority
    row.starts_at = f.starts_at
    row.ends_at = f.ends_at


def create_home_item(session: Session, staff_id: str, fields_: HomeItemFields) -> HomeItemView:
    _check_fields(fields_)
    now = utcnow()
    row = HomeItem(
        id=str(uuid.uuid4()),
        status=HomeItemStatus.DRAFT.value,
        version=1,
        created_by=staff_id,
        review_note="",
        created_at=now,
        updated_at=now,
    )
    _apply(row, fields_)
    session.add(row)
    session.flush()
    return _view(row)


def _item(session: Session, item_id: str, *, lock: bool = False) -> HomeItem:
    row = session.get(HomeItem, item_id, with_for_update=lock)
    if row is None:
        raise HomeItemNotFound()
    return row


def get_home_item(session: Session, item_id: str) -> HomeItemView:
    return _view(_item(session, item_id))


def list_home_items(session: Session, status: str | None = None) -> list[HomeItemView]:
    query = select(HomeItem).order_by(HomeItem.updated_at.desc()).limit(500)
    if status:
        query = query.where(HomeItem.status == status)
    return [_view(r) for r in session.scalars(query)]


def _expect(row: HomeItem, version: int, *statuses: str) -> None:
    if row.version != version:
        raise HomeItemVersionConflict()
    if row.status not in statuses:
        raise HomeItemStateConflict(status=row.status)


def update_home_item(
    session: Session, item_id: str, version: int, fields_: HomeItemFields
) -> HomeItemView:
    """Change a draft (or a rejected item, which becomes a draft again)."""
    _check_fields(fields_)
    row = _item(session, item_id, lock=True)
    _expect(row, version, *EDITABLE)
    _apply(row, fields_)
    row.status = HomeItemStatus.DRAFT.value
    row.version += 1
    row.updated_at = utcnow()
    return _view(row)


def submit_home_item(session: Session, item_id: str, version: int, staff_id: str) -> HomeItemView:
    row = _item(session, item_id, lock=True)
    _expect(row, version, *EDITABLE)
    row.status = HomeItemStatus.PENDING.value
    row.submitted_by = staff_id
    row.version += 1
    row.updated_at = utcnow()
    return _view(row)


def review_home_item(
    session: Session, item_id: str, version: int, staff_id: str, *, approve: bool, note: str
) -> HomeItemView:
    """Approve (it goes live: shown while its schedule covers now) or reject with a note."""
    row = _item(session, item_id, lock=True)
    _expect(row, version, HomeItemStatus.PENDING.value)
    if approve and row.submitted_by == staff_id:
        raise SelfApprovalRefused()
    now = utcnow()
    row.status = (HomeItemStatus.LIVE if approve else HomeItemStatus.REJECTED).value
    row.reviewed_by = staff_id
    row.reviewed_at = now
    row.review_note = note
    row.version += 1
    row.updated_at = now
    return _view(row)


def withdraw_home_item(session: Session, item_id: str, version: int) -> HomeItemView:
    """Take a live or pending item down at once."""
    row = _item(session, item_id, lock=True)
    _expect(row, version, HomeItemStatus.LIVE.value, HomeItemStatus.PENDING.value)
    row.status = HomeItemStatus.WITHDRAWN.value
    row.version += 1
    row.updated_at = utcnow()
    return _view(row)


@dataclass
class HomeConfig:
    """What the app's home page shows one customer now."""

    banners: list[HomeItemView] = field(default_factory=list)
    notices: list[HomeItemView] = field(default_factory=list)
    shortcuts: list[str] | None = None
    version: str = ""


def _targets(row: HomeItem, segment: str | None, elder_mode: bool) -> bool:
    if row.segments and (segment is None or segment not in row.segments):
        return False
    if row.elder_mode == ElderTargeting.ONLY.value and not elder_mode:
        return False
    return not (row.elder_mode == ElderTargeting.EXCLUDE.value and elder_mode)


def home_config(
    session: Session,
    *,
    segment: str | None,
    elder_mode: bool,
    at: datetime | None = None,
    include_item: str | None = None,
) -> HomeConfig:
    """The live items in schedule at `at` that target this customer, highest priority first.

    `include_item` previews a draft or pending item as if it were live (console preview).
    """
    at = at or utcnow()
    query = select(HomeItem).where(HomeItem.status == HomeItemStatus.LIVE.value)
    if include_item:
        query = select(HomeItem).where(
            (HomeItem.status == HomeItemStatus.LIVE.value) | (HomeItem.id == include_item)
        )
    rows = [
        r
        for r in session.scalars(query)
        if (r.starts_at is None or r.starts_at <= at)
        and (r.ends_at is None or at < r.ends_at)
        and _targets(r, segment, elder_mode)
    ]
    rows.sort(key=lambda r: (-r.priority, -r.updated_at.timestamp(), r.id))
    config = HomeConfig()
    for row in rows:
        if row.kind == HomeItemKind.BANNER.value:
            config.banners.append(_view(row))
        elif row.kind == HomeItemKind.NOTICE.value:
            config.notices.append(_view(row))
        elif config.shortcuts is None:
            config.shortcuts = list(row.shortcuts)
    config.version = ",".join(f"{r.id[:8]}.{r.version}" for r in rows)[:200]
    return config


# --------------------------------------------------------------------------- customer 360

PHONE = re.compile(r"^1[3-9][0-9]{9}$")
#: A phone as the console shows it (138****5678): the first 3 and last 4 digits.
MASKED_PHONE = re.compile(r"^(1[3-9][0-9])\*{4}([0-9]{4})$")
ACCOUNT = re.compile(r"^[0-9]{19}$")


@dataclass(frozen=True)
class CustomerHit:
    id: str
    name_masked: str
    phone_masked: str
    kyc_level: str
    status: str
    kind: str


def _hit(view: Any) -> CustomerHit:
    return CustomerHit(
        id=view.id,
        name_masked=pii.mask_name(view.name),
        phone_masked=pii.mask_phone(view.phone),
        kyc_level=view.kyc_level,
        status=view.status,
        kind=view.kind,
    )


def search_kind(term: str) -> str:
    """What a search term is (phone, masked_phone, account), for the audit log."""
    term = term.strip().replace(" ", "")
    if PHONE.match(term):
        return "phone"
    return "masked_phone" if MASKED_PHONE.match(term) else "account"


def search_customers(session: Session, term: str) -> list[CustomerHit]:
    """By mobile number or masked mobile number (identity), or account number (ledger → owner).

    A masked pattern (138****5678) may match several customers; the hits stay masked, so
    the search reveals nothing the pattern did not already say.
    """
    from zhangyin.identity import service as identity
    from zhangyin.ledger import service as ledger

    term = term.strip().replace(" ", "")
    if PHONE.match(term):
        return [_hit(c) for c in identity.search_customers(session, phone=term)]
    masked = MASKED_PHONE.match(term)
    if masked:
        found = identity.search_customers_by_masked_phone(session, masked[1], masked[2])
        return [_hit(c) for c in found]
    if ACCOUNT.match(term):
        try:
            account = ledger.get_account_by_number(session, term)
        except Exception:
            return []
        if not account.owner_id:
            return []
        try:
            return [_hit(identity.get_customer_any_status(session, account.owner_id))]
        except Exception:
            return []
    raise SearchTermInvalid()


@dataclass
class Customer360:
    profile: dict[str, Any]
    accounts: list[dict[str, Any]]
    transfers: list[dict[str, Any]]
    devices: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    activity: list[dict[str, Any]]
    segment: str
    risk_events: list[CustomerRiskEvent]


def customer_360(session: Session, customer_id: str, analytics_key: str) -> Customer360:
    """Everything the console shows about one customer, personal data masked."""
    from zhangyin.analytics import service as analytics
    from zhangyin.identity import service as identity
    from zhangyin.ledger import service as ledger
    from zhangyin.payments import service as payments
    from zhangyin.risk import service as risk

    view = identity.get_customer_any_status(session, customer_id)
    profile = {
        "id": view.id,
        "kind": view.kind,
        "status": view.status,
        "name_masked": pii.mask_name(view.name),
        "phone_masked": pii.mask_phone(view.phone),
        "id_number_masked": view.id_number_masked,
        "birth_year": view.birth_date[:4],
        "kyc_level": view.kyc_level,
        "totp_enabled": view.totp_enabled,
        "locked": view.locked_until is not None and view.locked_until > utcnow(),
        "created_at": view.created_at,
        "last_login_at": view.last_login_at,
    }
    accounts = [
        {
            "id": a.id,
            "number_masked": pii.mask_card(a.number),
            "kind": a.kind,
            "currency": a.currency,
            "status": a.status,
            "balance_minor": a.balance_minor,
            "available_minor": a.available_minor,
        }
        for a in ledger.list_accounts(session, customer_id)
    ]
    transfers_found, _ = payments.list_transfers(
        session, payments.Caller(customer_id=customer_id), limit=20
    )
    transfers = [
        {
            "id": t.id,
            "kind": t.kind,
            "to_name_masked": pii.mask_name(t.to_name),
            "to_account_masked": pii.mask_card(t.to_account_number),
            "amount_minor": t.amount_minor,
            "currency": t.currency,
            "status": t.status,
            "reason": t.reason,
            "created_at": t.created_at,
        }
        for t in transfers_found
    ]
    devices = [
        {
            "id": d.id,
            "name": d.name,
            "trusted": d.trusted,
            "first_seen_at": d.first_seen_at,
            "last_seen_at": d.last_seen_at,
            "revoked": d.revoked_at is not None,
        }
        for d in identity.list_devices(session, customer_id)
    ]
    messages = (
        [
            {
                "id": m.id,
                "purpose": m.purpose,
                "text": pii.mask_codes(m.text),
                "created_at": m.created_at,
            }
            for m in identity.sms_outbox(session, view.phone, limit=20)
        ]
        if view.phone
        else []
    )
    hashed = analytics.customer_hash(customer_id, analytics_key)
    return Customer360(
        profile=profile,
        accounts=accounts,
        transfers=transfers,
        devices=devices,
        messages=messages,
        activity=analytics.customer_activity(session, hashed, limit=30),
        segment=analytics.segment_for(view.kind, view.birth_date),
        risk_events=risk.customer_risk_events(session, customer_id, limit=50),
    )


@dataclass(frozen=True)
class RevealedCustomer:
    id: str
    name: str
    phone: str | None
    id_number: str


def reveal_customer(session: Session, customer_id: str) -> RevealedCustomer:
    """The full personal data; the caller has checked the permission and writes the audit."""
    from zhangyin.identity import service as identity

    view = identity.get_customer_any_status(session, customer_id)
    return RevealedCustomer(
        id=view.id,
        name=view.name,
        phone=view.phone,
        id_number=identity.reveal_id_number(session, customer_id),
    )


# --------------------------------------------------------------------------- roles


def role_map(session: Session) -> dict[str, list[str]]:
    """Each console role and the permissions it holds (identity's map, read by its service)."""
    from zhangyin.identity import service as identity

    return {role: sorted(identity.permissions_of(session, (role,))) for role in identity.ROLES}


# --------------------------------------------------------------------------- limits by KYC level


def _limit_minor(text: str, name: str) -> int:
    try:
        return parse_amount(text, "CNY").minor
    except MoneyError as exc:
        raise LimitsInvalid(reason=f"{name}: {exc.code}") from exc


def set_level_limits(
    session: Session, level: str, *, per_transaction: str, daily_amount: str, daily_count: int
) -> tuple[LevelLimits, LevelLimits]:
    """Check and replace a KYC level's limits (identity's data); returns (before, after).

    Payments read the level's limits on every transfer, so the change applies to the next
    one without a restart. A customer's own lower limits stay lower.
    """
    from zhangyin.identity import service as identity

    per_transaction_minor = _limit_minor(per_transaction, "per_transaction")
    daily_amount_minor = _limit_minor(daily_amount, "daily_amount")
    if daily_amount_minor < per_transaction_minor:
        raise LimitsInvalid(reason="daily_amount < per_transaction")
    if daily_count < 1:
        raise LimitsInvalid(reason="daily_count")
    return identity.set_level_limits(
        session,
        level,
        per_transaction_minor=per_transaction_minor,
        daily_amount_minor=daily_amount_minor,
        daily_count=daily_count,
    )


# --------------------------------------------------------------------------- staff


ADMIN_ROLE = "admin"


def set_staff_roles(
    session: Session, acting_staff_id: str, staff_id: str, roles: list[str]
) -> tuple[tuple[str, ...], StaffView]:
    """Replace a staff member's roles; returns (roles before, the member now).

    An admin cannot take their own admin role away (someone else must), so the console
    is never left without an admin by accident.
    """
    from zhangyin.identity import staff as staff_accounts

    found = staff_accounts.get_staff(session, staff_id, lock=True)
    if found is None:
        raise StaffNotFound()
    if staff_id == acting_staff_id and ADMIN_ROLE in found.roles and ADMIN_ROLE not in roles:
        raise SelfLockoutRefused()
    return found.roles, staff_accounts.set_staff_roles(session, staff_id, roles)


def disable_staff(session: Session, acting_staff_id: str, staff_id: str) -> StaffView:
    """Disable a staff member (their sessions end); not oneself."""
    from zhangyin.identity import staff as staff_accounts

    if staff_id == acting_staff_id:
        raise SelfLockoutRefused()
    if staff_accounts.get_staff(session, staff_id, lock=True) is None:
        raise StaffNotFound()
    return staff_accounts.disable_staff(session, staff_id)
