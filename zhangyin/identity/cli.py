"""`python -m zhangyin identity ...`: console staff, unlocking customers, rotating data keys."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhangyin.config import get_settings
from zhangyin.db import Database

identity_app = typer.Typer(
    help="Identity: console staff, customer unlock, data-key rotation.", no_args_is_help=True
)


def _database() -> Database:
    return Database(get_settings().database_url)


@identity_app.command("create-staff")
def create_staff(
    username: Annotated[str, typer.Option(help="Login name")],
    name: Annotated[str, typer.Option(help="Real name")],
    role: Annotated[
        list[str], typer.Option(help="viewer, operator, risk_analyst or admin (repeatable)")
    ],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create a console staff member (the first admin is made this way)."""
    from zhangyin.errors import DomainError
    from zhangyin.identity import staff

    def work(session: Session) -> staff.StaffView:
        view = staff.create_staff(
            session, username=username, name=name, password=password, roles=role
        )
        staff.audit(session, None, "staff.create", f"staff:{view.id}", {"via": "cli"})
        return view

    try:
        view = _database().run(work)
    except DomainError as error:
        typer.echo(f"refused: {error.detail('en-US')}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"created staff {view.username} ({', '.join(view.roles)}) id {view.id}")


@identity_app.command()
def unlock(phone: Annotated[str, typer.Argument(help="The customer's mobile number")]) -> None:
    """Unlock a customer locked by failed attempts (audited)."""
    from zhangyin.identity import service, staff

    def work(session: Session) -> bool:
        found = service.find_customer_by_phone(session, phone)
        if found is None:
            return False
        service.unlock_customer(session, found.id)
        staff.audit(session, None, "customer.unlock", f"customer:{found.id}", {"via": "cli"})
        return True

    if not _database().run(work):
        typer.echo("no active customer with that phone", err=True)
        raise typer.Exit(1)
    typer.echo("unlocked")


@identity_app.command("staff-totp")
def staff_totp(username: Annotated[str, typer.Argument(help="The staff member's login")]) -> None:
    """Give a staff member an authenticator app secret (their logins then need its code)."""
    from zhangyin.errors import DomainError
    from zhangyin.identity import staff

    def work(session: Session) -> str:
        enrolment = staff.enrol_totp(session, username)
        staff.audit(session, None, "staff.totp_enrolled", f"staff:{username}", {"via": "cli"})
        return enrolment.provisioning_uri

    try:
        uri = _database().run(work)
    except DomainError as error:
        typer.echo("no such staff member", err=True)
        raise typer.Exit(1) from error
    typer.echo("scan this in the authenticator app (shown once):")
    typer.echo(uri)


@identity_app.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt ID numbers and TOTP secrets under the newest ZHANGYIN_DATA_KEYS version."""
    from zhangyin import pii
    from zhangyin.identity.models import Customer, Staff
    from zhangyin.identity.service import ID_CONTEXT, TOTP_CONTEXT
    from zhangyin.identity.staff import STAFF_TOTP_CONTEXT

    ring = pii.keyring()

    def work(session: Session) -> int:
        changed = 0
        for customer in session.scalars(select(Customer).with_for_update()):
            if ring.needs_rotation(customer.id_number_enc):
                customer.id_number_enc = ring.rotate(customer.id_number_enc, ID_CONTEXT)
                changed += 1
            if customer.totp_secret_enc and ring.needs_rotation(customer.totp_secret_enc):
                customer.totp_secret_enc = ring.rotate(customer.totp_secret_enc, TOTP_CONTEXT)
                changed += 1
        for member in session.scalars(select(Staff).with_for_update()):
            if member.totp_secret_enc and ring.needs_rotation(member.totp_secret_enc):
                member.totp_secret_enc = ring.rotate(member.totp_secret_enc, STAFF_TOTP_CONTEXT)
                changed += 1
        return changed

    typer.echo(f"re-encrypted {_database().run(work)} values under key v{ring.current_version}")
