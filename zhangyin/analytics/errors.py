"""The analytics domain's refusals."""

from __future__ import annotations

from zhangyin.errors import DomainError


class EventTimeOutOfRange(DomainError):
    code = "event_time_out_of_range"
    status = 422
    title = "Event time out of range"
    message_zh = "事件时间必须在过去 7 天内，且不晚于当前时间 5 分钟"
    message_en = "An event's time must be within the last 7 days and at most 5 minutes ahead"


class DateRangeInvalid(DomainError):
    code = "date_range_invalid"
    status = 422
    title = "Invalid date range"
    message_zh = "日期范围无效：开始日期不能晚于结束日期，且跨度不超过 400 天"
    message_en = (
        "Invalid date range: the start must not be after the end, spanning at most 400 days"
    )


class UnknownMetric(DomainError):
    code = "unknown_metric"
    status = 422
    title = "Unknown metric or dimension"
    message_zh = "未知的指标或维度"
    message_en = "Unknown metric or dimension"


class DefinitionInvalid(DomainError):
    code = "definition_invalid"
    status = 422
    title = "Invalid metric definition"
    message_zh = "指标定义参数无效"
    message_en = "The metric definition parameter is not valid"
