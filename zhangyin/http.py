"""Small helpers every domain's api.py uses: the database, the language, idempotent writes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from zhangyin.db import Database
from zhangyin.errors import pick_language
from zhangyin.idempotency import run_idempotent


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_language(request: Request) -> str:
    return pick_language(request.headers.get("accept-language"))


async def _db_dependency(request: Request) -> Database:
    """Async on purpose: no I/O, so FastAPI runs it on the event loop, not in a threadpool hop."""
    return get_db(request)


async def _language_dependency(request: Request) -> str:
    """Async on purpose, as `_db_dependency`."""
    return get_language(request)


DbDep = Annotated[Database, Depends(_db_dependency)]
LanguageDep = Annotated[str, Depends(_language_dependency)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Required on every write: a retry with the same key and body "
        "returns the first answer",
    ),
]


def idempotent_json(
    request: Request,
    *,
    scope: str,
    key: str | None,
    body: BaseModel | dict[str, Any],
    work: Callable[[Session], tuple[int, BaseModel]],
) -> JSONResponse:
    """Run a write once per Idempotency-Key and answer with its (stored) JSON result."""
    payload = body.model_dump(mode="json") if isinstance(body, BaseModel) else body

    def run(session: Session) -> tuple[int, dict[str, Any]]:
        status_code, result = work(session)
        return status_code, result.model_dump(mode="json")

    stored = run_idempotent(
        get_db(request),
        scope=scope,
        key=key,
        payload={"path": request.url.path, "body": payload},
        work=run,
        language=get_language(request),
        instance=request.url.path,
    )
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
