"""Errors as values with stable codes, rendered as RFC 9457 problem+json.

A domain raises a `DomainError` subclass that names its `code`, HTTP status and
its message in zh-CN and en-US; the edge picks the language from
`Accept-Language`. The code is the contract: clients switch on it, never on the
translated detail.
"""

from __future__ import annotations

from typing import Any, ClassVar

SUPPORTED_LANGUAGES = ("zh-CN", "en-US")
DEFAULT_LANGUAGE = "zh-CN"


class DomainError(Exception):
    """Base of every error a client may see. Subclasses set the class variables."""

    code: str = "error"
    status: int = 400
    title: ClassVar[str] = "Request refused"
    message_zh: ClassVar[str] = "请求无法处理"
    message_en: ClassVar[str] = "The request cannot be processed"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.detail("en-US"))

    def detail(self, language: str) -> str:
        template = self.message_en if language == "en-US" else self.message_zh
        try:
            return template.format(**self.params)
        except (KeyError, IndexError):
            return template

    def extensions(self) -> dict[str, Any]:
        """Machine-readable fields added to the problem body (JSON-safe values)."""
        return {k: v for k, v in self.params.items() if isinstance(v, str | int | bool | list)}


class InvalidRequest(DomainError):
    code = "validation_error"
    status = 422
    title = "Invalid request"
    message_zh = "请求内容有误，请检查后重试"
    message_en = "The request has invalid fields; please check and try again"


class MalformedBody(DomainError):
    code = "malformed_body"
    status = 400
    title = "Malformed request body"
    message_zh = "请求内容不是有效的 JSON"
    message_en = "The request body is not valid JSON"


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"
    message_zh = "未找到所请求的内容"
    message_en = "The requested resource was not found"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 409
    title = "Idempotency-Key reused with a different request"
    message_zh = "该幂等键已用于另一笔不同的请求"
    message_en = "This Idempotency-Key was already used for a different request"


class IdempotencyKeyMissing(DomainError):
    code = "idempotency_key_missing"
    status = 400
    title = "Idempotency-Key header required"
    message_zh = "此操作需要 Idempotency-Key 请求头"
    message_en = "This operation requires an Idempotency-Key header"


class IdempotencyKeyInvalid(DomainError):
    code = "idempotency_key_invalid"
    status = 400
    title = "Invalid Idempotency-Key"
    message_zh = "Idempotency-Key 必须为 1 到 128 个可打印 ASCII 字符"
    message_en = "Idempotency-Key must be 1 to 128 printable ASCII characters"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413
    title = "Request body too large"
    message_zh = "请求内容过大"
    message_en = "The request body is too large"


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"
    message_zh = "请以 application/json 格式提交"
    message_en = "Send the request body as application/json"


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status = 503
    title = "Service temporarily unavailable"
    message_zh = "服务暂时不可用，请稍后重试"
    message_en = "The service is temporarily unavailable; please try again shortly"


class RequestTimeout(DomainError):
    code = "request_timeout"
    status = 504
    title = "Request took too long"
    message_zh = "处理超时，请稍后用同一请求重试"
    message_en = "The request took too long; retry the same request shortly"


class InternalError(DomainError):
    code = "internal_error"
    status = 500
    title = "Internal error"
    message_zh = "系统繁忙，请稍后重试"
    message_en = "Something went wrong on our side; please try again later"


#: Messages of the money kernel's error codes (zhangyin.money.MoneyError).
MONEY_MESSAGES: dict[str, tuple[str, str]] = {
    "invalid_amount": ("金额格式不正确，例如 100.00", "The amount is not valid, e.g. 100.00"),
    "amount_not_positive": ("金额必须大于零", "The amount must be greater than zero"),
    "amount_precision": (
        "金额最多精确到分",
        "The amount has more decimals than the currency allows",
    ),
    "amount_too_large": ("金额超出允许的上限", "The amount exceeds the largest allowed"),
    "unknown_currency": ("不支持该币种", "This currency is not supported"),
    "currency_mismatch": ("币种不一致", "The currencies do not match"),
}


class MoneyProblem(DomainError):
    """A `MoneyError` carried to the edge with its own code."""

    status = 422
    title = "Invalid amount"

    def __init__(self, money_code: str) -> None:
        self.code = money_code
        super().__init__()

    def detail(self, language: str) -> str:
        zh, en = MONEY_MESSAGES.get(self.code, (self.message_zh, self.message_en))
        return en if language == "en-US" else zh


def pick_language(accept_language: str | None) -> str:
    """The best of our languages for an Accept-Language header (zh-CN when unsure)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for part in accept_language.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        language = {"zh": "zh-CN", "en": "en-US"}.get(primary)
        if language and q > best_q:
            best, best_q = language, q
    return best


def problem_body(
    error: DomainError, language: str, instance: str, request_id: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:zhangyin:problem:{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail(language),
        "code": error.code,
        "instance": instance,
    }
    if request_id:
        body["request_id"] = request_id
    for key, value in error.extensions().items():
        body.setdefault(key, value)
    return body
