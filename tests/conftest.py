"""Test set-up: every database test runs on SQLite and, when reachable, on real PostgreSQL.

Each test gets a fresh, fully migrated database: a copy of a migrated SQLite
file, or a PostgreSQL database cloned from a migrated template. The template
databases are created once per test process and dropped at the end, so a run
leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings

from zhangyin.app import create_app
from zhangyin.config import Settings
from zhangyin.db import Database
from zhangyin.migrate import upgrade
from zhangyin.security import service_token

PG_ADMIN_URL = os.environ.get(
    "ZHANGYIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
RUN_ID = uuid.uuid4().hex[:8]

# Property tests draw new examples on every run: in CI a rare failing example would fail
# one run in many, on a test that then passes alone. CI runs the same examples every time;
# local runs keep exploring (and print the blob that replays a failure).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("dev", print_blob=True)
hypothesis_settings.load_profile("ci" if IN_CI else "dev")


def _pg_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


PG_AVAILABLE = _pg_reachable() and os.environ.get("ZHANGYIN_TEST_SKIP_PG") != "1"
BACKENDS = ["sqlite", "postgresql"] if PG_AVAILABLE else ["sqlite"]
_ran_on: set[str] = set()


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not PG_AVAILABLE:
        raise pytest.UsageError(f"CI=true but PostgreSQL is not reachable at {PG_ADMIN_URL}")


#: Files that take a minute or more, run first. With `--dist loadfile` a worker takes its
#: next file when it has two tests left, so a long file started near the end kept one
#: worker busy for minutes after the other had run out of work.
SLOW_FILES_FIRST = (
    "tests/reliability/test_crash.py",
    "tests/hostile/test_schemathesis.py",
    "tests/analytics/test_metrics.py",
    "tests/reliability/test_scheduler_catch_up.py",
    "tests/e2e/test_screens.py",
    "tests/e2e/test_console.py",
    "tests/reliability/test_redis_nats_down.py",
    "tests/reliability/test_database_restart.py",
    "tests/wealth/test_lifecycle.py",
    "tests/e2e/test_transfers.py",
    "tests/hostile/test_fuzz_corpus.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: n for n, path in enumerate(SLOW_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable


def pytest_report_header(config: pytest.Config) -> str:
    return f"database backends: {', '.join(BACKENDS)}"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # user_properties travel from xdist workers to the controller that prints the summary.
    for name, value in report.user_properties:
        if name == "backend" and report.when == "call":
            _ran_on.add(str(value))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    ran = ", ".join(sorted(_ran_on)) or "none"
    missing = (
        "" if PG_AVAILABLE else f" (PostgreSQL not reachable at {PG_ADMIN_URL}: not tested on it)"
    )
    terminalreporter.write_line(f"database tests ran on: {ran}{missing}")


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{dbname}"


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")
    name = f"zy_tmpl_{RUN_ID}_{worker}"
    _admin(f'CREATE DATABASE "{name}"')
    db = Database(_pg_url(name), pool_size=1)
    upgrade(db)
    db.dispose()
    yield name
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend; a test can pin one with parametrize(..., indirect=True)."""
    if request.param == "postgresql" and not PG_AVAILABLE:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    request.node.user_properties.append(("backend", backend))
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("pg_template")
    name = f"zy_{RUN_ID}_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    yield _pg_url(name)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url, pool_size=20)
    yield database
    database.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        ZHANGYIN_SECRET_KEY="test-secret-" + RUN_ID,
        ZHANGYIN_DEMO=True,
    )


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    app = create_app(settings, database=db, background_jobs=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def service_headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {service_token(settings)}"}
