"""`python -m zhangyin identity ...`: console staff, customer unlock, moving data to new keys."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from zhangyin.config import get_settings
from zhangyin.db import Database

identity_app = typer.Typer(
    help="Identity: console staff, customer unlock, re-keying personal data.", no_args_is_help=True
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


@identity_app.command(
    help=(
        "Move all personal data to the current keys, after the secret key or the data keys "
        "rotated.\n\n"
        "Re-encrypts every ID number and TOTP secret (customers and staff) under the current "
        "data key, and recomputes every ID-number blind index with the current secret key. "
        "Runs in batches of one transaction each: safe to interrupt and to run again (rows "
        "already current are left alone). Prints what it changed.\n\n"
        "Exit 0: every value is under the current keys, and ZHANGYIN_PREVIOUS_SECRET_KEYS (and "
        "older ZHANGYIN_DATA_KEYS versions) may be removed. Exit 1: some rows open under no "
        "configured key, or two customers share an ID number; they are listed and left as "
        "they were: keep the previous keys. See docs/security.md, 'Rotating the secret key'."
    )
)
def rekey(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction")] = 500,
) -> None:
    from zhangyin import pii
    from zhangyin.identity.rekey import run_rekey

    ring = pii.keyring()
    counts = run_rekey(_database(), ring, batch_size)
    typer.echo(
        f"customers checked: {counts.customers}; ID numbers re-encrypted: {counts.id_numbers}; "
        f"ID-number indexes recomputed: {counts.id_indexes}"
    )
    typer.echo(
        f"staff checked: {counts.staff}; TOTP secrets re-encrypted (customers and staff): "
        f"{counts.totp_secrets}; current data key v{ring.current_version}"
    )
    for problem in counts.unreadable:
        typer.echo(f"unreadable under every configured key: {problem}", err=True)
    for problem in counts.conflicts:
        typer.echo(f"not reindexed: {problem}", err=True)
    if counts.unreadable or counts.conflicts:
        typer.echo("keep the previous keys until these rows are resolved", err=True)
        raise typer.Exit(1)
    typer.echo("all personal data is under the current keys; previous secret keys may be removed")


@identity_app.command("rotate-keys", hidden=True)
def rotate_keys() -> None:
    """Former name of `rekey`."""
    rekey(batch_size=500)
