"""The risk domain's refusals, each with its own problem code."""

from __future__ import annotations

from zhangyin.errors import DomainError
from zhangyin.risk.rules import RuleSyntaxError


class RuleInvalid(DomainError):
    """Bad rule text: the problem and the 1-based character position it starts at."""

    code = "risk_rule_invalid"
    status = 422
    title = "Invalid rule"
    message_zh = "规则第 {position} 个字符处有误：{problem_zh}"
    message_en = "The rule has an error at character {position}: {problem_en}"

    @classmethod
    def of(cls, error: RuleSyntaxError) -> RuleInvalid:
        return cls(
            position=error.position,
            problem_en=error.problem_en,
            problem_zh=error.problem_zh,
            pointer=error.pointer(),
        )


class RuleNotFound(DomainError):
    code = "risk_rule_not_found"
    status = 404
    title = "Rule not found"
    message_zh = "规则不存在"
    message_en = "The rule does not exist"


class RuleTransitionInvalid(DomainError):
    code = "risk_rule_transition_invalid"
    status = 409
    title = "Rule status change not allowed"
    message_zh = "规则不能从 {current} 状态变为 {requested}"
    message_en = "A rule cannot go from {current} to {requested}"


class FourEyesRequired(DomainError):
    code = "risk_four_eyes_required"
    status = 403
    title = "Another person must publish"
    message_zh = "规则须由作者以外的人员发布"
    message_en = "A rule must be published by someone other than its author"


class RuleKeyTaken(DomainError):
    code = "risk_rule_key_taken"
    status = 409
    title = "Rule key in use"
    message_zh = "规则编号已被另一条规则使用"
    message_en = "The rule key is already used by another rule"


class DecisionNotFound(DomainError):
    code = "risk_decision_not_found"
    status = 404
    title = "Decision not found"
    message_zh = "风控决策记录不存在"
    message_en = "The risk decision does not exist"


class OutcomeStatusInvalid(DomainError):
    code = "risk_outcome_status_invalid"
    status = 422
    title = "Unknown outcome status"
    message_zh = "未知的交易结果状态"
    message_en = "Unknown transaction outcome status"


class CaseNotFound(DomainError):
    code = "risk_case_not_found"
    status = 404
    title = "Case not found"
    message_zh = "案件不存在"
    message_en = "The case does not exist"


class CaseClosed(DomainError):
    code = "risk_case_closed"
    status = 409
    title = "Case already decided"
    message_zh = "该案件已处理完毕"
    message_en = "This case has already been decided"


class TransferNotReportable(DomainError):
    code = "risk_transfer_not_found"
    status = 404
    title = "Transfer not found"
    message_zh = "未找到该笔交易"
    message_en = "The transfer was not found"


class ModelNotFound(DomainError):
    code = "risk_model_not_found"
    status = 404
    title = "Model not found"
    message_zh = "模型版本不存在"
    message_en = "The model version does not exist"


class NotEnoughLabels(DomainError):
    code = "risk_not_enough_labels"
    status = 422
    title = "Not enough labelled history"
    message_zh = "已标注的历史交易不足，无法训练模型"
    message_en = "There is not enough labelled history to train a model"


class WatchlistEntryNotFound(DomainError):
    code = "risk_watchlist_entry_not_found"
    status = 404
    title = "Watch-list entry not found"
    message_zh = "名单条目不存在"
    message_en = "The watch-list entry does not exist"


class AmlReportNotFound(DomainError):
    code = "risk_aml_report_not_found"
    status = 404
    title = "Report not found"
    message_zh = "报告不存在"
    message_en = "The report does not exist"


class AmlDayNotOver(DomainError):
    """A day's reports are made once, when the day is over: later settlements of an open day
    would otherwise be booked to the next day's reports."""

    code = "risk_aml_day_not_over"
    status = 422
    title = "Business day not over"
    message_zh = "营业日 {business_date} 尚未结束，结束后才能生成当日报告"
    message_en = "Business day {business_date} is not over; its reports can be generated once it is"
