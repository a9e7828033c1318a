"""The FastAPI application: routers, problem+json errors, middleware, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
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
    RequestTimeout,
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
    retry_after = error.params.get("retry_after")
    if error.status == 429 and isinstance(retry_after, int):
        headers["Retry-After"] = str(retry_after)
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
        down = _dependency_down(exc)
        if down is None:  # only a ping can tell; it may wait for a connect timeout
            down = not await asyncio.to_thread(request.app.state.db.ping)
        if down:
            log.warning("dependency unavailable", extra={"error": repr(exc)[:300]})
            return problem_response(request, ServiceUnavailable())
        log.error("unhandled error", exc_info=exc)
        response = problem_response(request, InternalError())
        response.headers["Connection"] = "close"  # the server drops it after a 500: say so
        # Answered outside EdgeMiddleware (by Starlette's outermost middleware): add its headers.
        for name, value in EdgeMiddleware.SECURITY_HEADERS:
            response.headers[name.decode()] = value.decode()
        if request.headers.get("x-forwarded-proto") == "https" or request.url.scheme == "https":
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        response.headers["X-Request-ID"] = request_id_var.get() or uuid.uuid4().hex
        return response


def _dependency_down(exc: BaseException) -> bool | None:
    """True when an error comes from a database or Redis that cannot be reached, even wrapped.

    Code that catches a database error and carries on (a fail-safe) meets the dead
    connection again as `PendingRollbackError`; that is an outage too if the database
    does not answer a ping now (None: ask the database). Everything else stays a 500.
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
        return None
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

    def __init__(self, app: ASGIApp, max_body_bytes: int, request_timeout: float = 30.0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.request_timeout = request_timeout

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
                await self._reject(scope, receive, send_wrapper, PayloadTooLarge())
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
                app_receive = await self._json_checked(scope, headers, limited_receive)
            except _BodyTooLarge:
                await self._reject(scope, receive, send_wrapper, PayloadTooLarge())
                return
            if app_receive is None:
                await self._reject(scope, receive, send_wrapper, MalformedBody())
                return
            await self._run_with_deadline(scope, app_receive, send_wrapper, receive)
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

    async def _run_with_deadline(
        self, scope: Scope, receive: Receive, send: Send, raw_receive: Receive
    ) -> None:
        """Run the request; past the deadline, answer 504 and let the work finish unheard.

        The work is not cancelled: a sync endpoint runs in a thread that cannot be
        stopped, and a write that commits after the 504 is found by retrying with the
        same Idempotency-Key. Its late response is dropped.
        """
        answered = False
        response_started = False

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if answered:
                return
            response_started = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded_send))
        done, _ = await asyncio.wait({task}, timeout=self.request_timeout)
        if done:
            try:
                task.result()
            except _BodyTooLarge:
                if not response_started:
                    await self._reject(scope, raw_receive, send, PayloadTooLarge())
            return
        if response_started:
            await task  # streaming already: let it finish rather than cut the body
            return
        answered = True
        _late_requests.add(task)
        task.add_done_callback(_forget_late_request)
        log.warning("request timed out", extra={"path": scope["path"]})
        await self._reject(scope, raw_receive, send, RequestTimeout())

    async def _json_checked(
        self, scope: Scope, headers: dict[bytes, bytes], receive: Receive
    ) -> Receive | None:
        """Refuse a JSON body with duplicate keys (None); otherwise hand the body on.

        JSON parsers disagree on which of two equal keys wins, so a body that means
        different things to a gateway and to us is refused rather than guessed at.
        """
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return receive
        if b"json" not in headers.get(b"content-type", b"").lower():
            return receive
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return receive  # the client went away: let the app see it
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _has_duplicate_keys(body):
            return None
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    async def _reject(self, scope: Scope, receive: Receive, send: Send, error: DomainError) -> None:
        request = Request(scope, receive)
        response = problem_response(request, error)
        await response(scope, receive, send)


#: Requests answered 504 whose work is still running (kept so the tasks are not collected).
_late_requests: set[asyncio.Future[None]] = set()


def _forget_late_request(task: asyncio.Future[None]) -> None:
    _late_requests.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("timed-out request failed later", extra={"error": repr(task.exception())})


def _has_duplicate_keys(body: bytes) -> bool:
    found = False

    def pairs(items: list[tuple[str, Any]]) -> None:
        nonlocal found
        if len({key for key, _ in items}) != len(items):
            found = True

    try:
        json.loads(body, object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return False  # not JSON at all: the app answers that
    return found


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
    app.add_middleware(
        EdgeMiddleware,
        max_body_bytes=settings.max_body_bytes,
        # Kept below the clients' and load balancers' timeouts, so they hear a 504 problem.
        request_timeout=float(os.environ.get("REQUEST_TIMEOUT_SECONDS", "30")),
    )

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
