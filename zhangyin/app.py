"""The FastAPI application: routers, problem+json errors, middleware, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zhangyin import metrics
from zhangyin.config import Settings, get_settings
from zhangyin.db import Database, is_unavailable
from zhangyin.errors import (
    DomainError,
    IdempotencyKeyMissing,
    InternalError,
    InvalidRequest,
    MalformedBody,
    MoneyProblem,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    pick_language,
    problem_body,
)
from zhangyin.events import InProcessPublisher, NatsPublisher, OutboxDispatcher, Publisher
from zhangyin.logs import request_id_var
from zhangyin.money import MoneyError
from zhangyin.security import service_token

log = logging.getLogger("zhangyin.http")

PROBLEM_JSON = "application/problem+json"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict"
    message_zh = "请求与当前状态冲突，请刷新后重试"
    message_en = "The request conflicts with the current state; refresh and try again"


def problem_response(request: Request, error: DomainError) -> JSONResponse:
    language = pick_language(request.headers.get("accept-language"))
    body = problem_body(error, language, request.url.path, request_id_var.get())
    headers = {"Content-Language": language}
    if error.status == 503:
        headers["Retry-After"] = "1"
    return JSONResponse(body, status_code=error.status, media_type=PROBLEM_JSON, headers=headers)


def _validation_problem(request: Request, exc: RequestValidationError) -> DomainError:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return MalformedBody()
    if any(tuple(e.get("loc", ())) == ("header", "Idempotency-Key") for e in errors):
        return IdempotencyKeyMissing()
    content_type = request.headers.get("content-type", "")
    has_body_error = any(e.get("loc", ("",))[0] == "body" for e in errors)
    if (
        has_body_error
        and request.method in ("POST", "PUT", "PATCH")
        and content_type
        and ("json" not in content_type.lower())
    ):
        return UnsupportedMediaType()
    fields = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
            "reason": e.get("type", "invalid"),
            "message": str(e.get("msg", ""))[:200],
        }
        for e in errors[:20]
    ]
    return InvalidRequest(errors=fields)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(request, exc)

    @app.exception_handler(MoneyError)
    async def money_error(request: Request, exc: MoneyError) -> JSONResponse:
        return problem_response(request, MoneyProblem(exc.code))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(request, _validation_problem(request, exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return problem_response(request, NotFound())
        error = DomainError()
        error.status = exc.status_code
        error.code = {405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem_response(request, error)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error", extra={"error": str(exc.orig)[:300]})
        return problem_response(request, Conflict())

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if is_unavailable(exc):
            log.warning("database unavailable", extra={"error": str(exc.orig)[:300]})
            return problem_response(request, ServiceUnavailable())
        log.error("database error", exc_info=exc)
        return problem_response(request, InternalError())

    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import PendingRollbackError

    # Registered by class so that they are answered inside the app: the catch-all below
    # runs in Starlette's outermost middleware, which drops the kept-alive connection.
    @app.exception_handler(RedisConnectionError)
    @app.exception_handler(RedisTimeoutError)
    @app.exception_handler(PendingRollbackError)
    async def dependency_error(request: Request, exc: Exception) -> JSONResponse:
        return await unexpected_error(request, exc)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        if await asyncio.to_thread(_dependency_down, request, exc):
            log.warning("dependency unavailable", extra={"error": repr(exc)[:300]})
            return problem_response(request, ServiceUnavailable())
        log.error("unhandled error", exc_info=exc)
        response = problem_response(request, InternalError())
        response.headers["Connection"] = "close"  # the server drops it after a 500: say so
        return response


def _dependency_down(request: Request, exc: BaseException) -> bool:
    """True when an error comes from a database or Redis that cannot be reached, even wrapped.

    Code that catches a database error and carries on (a fail-safe) meets the dead
    connection again as `PendingRollbackError`; that is an outage too if the database
    does not answer a ping now. Everything else stays a 500.
    """
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import PendingRollbackError

    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if any(is_unavailable(e) for e in chain):
        return True
    if any(isinstance(e, RedisConnectionError | RedisTimeoutError) for e in chain):
        return True
    if any(isinstance(e, PendingRollbackError) for e in chain):
        return not request.app.state.db.ping()
    return False


class EdgeMiddleware:
    """Request id, access log, metrics, security headers and the body size limit.

    Plain ASGI (not BaseHTTPMiddleware) so it adds microseconds, not a task per request.
    """

    SECURITY_HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            b"script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        ),
        (b"permissions-policy", b"camera=(self), geolocation=()"),
    )
    # /docs loads Swagger UI's script from its CDN-free inline bootstrap; give it a looser policy.
    DOCS_CSP = (
        b"default-src 'self'; img-src 'self' data: https:; "
        b"style-src 'self' 'unsafe-inline' https:; "
        b"script-src 'self' 'unsafe-inline' https:; frame-ancestors 'none'"
    )

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming_id = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = (
            incoming_id
            if 0 < len(incoming_id) <= 64 and incoming_id.isprintable()
            else uuid.uuid4().hex
        )
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_holder = [500]
        is_docs = scope["path"] in ("/docs", "/redoc")
        secure = scope.get("scheme") == "https" or headers.get(b"x-forwarded-proto") == b"https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                extra = [(b"x-request-id", request_id.encode())]
                for name, value in self.SECURITY_HEADERS:
                    if is_docs and name == b"content-security-policy":
                        value = self.DOCS_CSP
                    extra.append((name, value))
                if secure:
                    extra.append(
                        (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
                    )
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            declared = headers.get(b"content-length")
            if declared is not None and (
                not declared.isdigit() or int(declared) > self.max_body_bytes
            ):
                await self._reject_too_large(scope, receive, send_wrapper)
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body_bytes:
                        raise _BodyTooLarge()
                return message

            try:
                await self.app(scope, limited_receive, send_wrapper)
            except _BodyTooLarge:
                await self._reject_too_large(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = metrics.route_label(scope)
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(method, route, str(status_holder[0])).inc()
            metrics.HTTP_LATENCY.labels(method, route).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status_holder[0],
                    "ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)

    async def _reject_too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = problem_response(request, PayloadTooLarge())
        await response(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def make_publisher(settings: Settings) -> Publisher:
    if settings.nats_url:
        return NatsPublisher(settings.nats_url)
    return InProcessPublisher()


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    *,
    background_jobs: bool = True,
) -> FastAPI:
    """Build the application. Tests pass their own database and turn background jobs off."""
    settings = settings or get_settings()
    db = database or Database(settings.database_url)
    publisher = make_publisher(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        if background_jobs:
            from zhangyin.jobs import run_periodic_jobs

            dispatcher = OutboxDispatcher(db, publisher)
            tasks.append(asyncio.create_task(dispatcher.run_forever()))
            tasks.append(asyncio.create_task(run_periodic_jobs(db)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if isinstance(publisher, NatsPublisher):
                await publisher.close()
            if database is None:
                db.dispose()

    app = FastAPI(
        title="Zhangyin (掌银) API",
        version="0.1.0",
        description="Mobile banking platform: ledger, identity, payments, risk and more.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.publisher = publisher
    app.state.service_token = service_token(settings)

    install_error_handlers(app)
    app.add_middleware(EdgeMiddleware, max_body_bytes=settings.max_body_bytes)

    from zhangyin.ledger.api import router as ledger_router

    app.include_router(ledger_router)
    from zhangyin.risk.api import router as risk_router

    app.include_router(risk_router)
    from zhangyin.payments.api import install as install_payments

    install_payments(app)
    from zhangyin.analytics.api import install as install_analytics
    from zhangyin.console.api import install as install_console

    install_analytics(app)
    install_console(app)
    from zhangyin.identity.api import routers as identity_routers

    for identity_router in identity_routers(settings):
        app.include_router(identity_router)
    from zhangyin.wealth.api import install as install_wealth

    install_wealth(app)
    _add_operational_routes(app, db)
    from zhangyin.web import mount_app

    mount_app(app)
    return app


def _add_operational_routes(app: FastAPI, db: Database) -> None:
    @app.get("/healthz", tags=["operations"], summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Database reachable and migrations current")
    def readyz() -> JSONResponse:
        from zhangyin.migrate import migration_state

        state = migration_state(db)
        ready = state.up_to_date
        body: dict[str, Any] = {
            "status": "ready" if ready else "not_ready",
            "database": db.backend,
            "reachable": state.reachable,
            "migration": state.current,
            "head": state.head,
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    def prometheus_metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def language_of(request: Request) -> str:
    return pick_language(request.headers.get("accept-language"))
