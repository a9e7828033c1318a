"""Alembic environment: uses the connection handed over by zhangyin.migrate when there is one."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import zhangyin.models  # noqa: F401 - registers every table on Base.metadata
from zhangyin.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        run(conn)
