"""Alembic, driven from code: the migrations ship inside the package."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DBAPIError

from zhangyin.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "heads") -> None:
    """Bring the schema to `revision`. Running it again changes nothing."""
    config = alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def check(db: Database) -> None:
    """Fail when the models have drifted from the migrations (`alembic check`)."""
    config = alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.check(config)


@dataclass(frozen=True)
class MigrationState:
    reachable: bool
    current: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.reachable and self.current == self.head


def _joined(revisions: tuple[str, ...] | list[str]) -> str | None:
    return ",".join(sorted(revisions)) or None


@lru_cache(maxsize=1)
def shipped_heads() -> str | None:
    """The migration heads this code ships (read once: loading the scripts takes a while)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return _joined(ScriptDirectory.from_config(config).get_heads())


def migration_state(db: Database) -> MigrationState:
    """Where the database is against the migrations shipped (several heads joined by commas)."""
    head = shipped_heads()
    try:
        with db.engine.connect() as connection:
            current = _joined(MigrationContext.configure(connection).get_current_heads())
    except DBAPIError:
        return MigrationState(False, None, head)
    return MigrationState(True, current, head)
