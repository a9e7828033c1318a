"""The console's refusals."""

from __future__ import annotations

from zhangyin.errors import DomainError


class HomeItemNotFound(DomainError):
    code = "home_item_not_found"
    status = 404
    title = "Home-page item not found"
    message_zh = "首页配置项不存在"
    message_en = "The home-page item does not exist"


class HomeItemStateConflict(DomainError):
    code = "home_item_state_conflict"
    status = 409
    title = "Not allowed in this state"
    message_zh = "当前状态（{status}）下不能执行该操作"
    message_en = "This cannot be done while the item is {status}"


class HomeItemVersionConflict(DomainError):
    code = "home_item_version_conflict"
    status = 409
    title = "Changed by someone else"
    message_zh = "该配置已被他人修改，请刷新后重试"
    message_en = "Someone else changed this item; refresh and try again"


class SelfApprovalRefused(DomainError):
    code = "self_approval_refused"
    status = 403
    title = "Four-eyes rule"
    message_zh = "不能审批自己提交的变更，请由另一位管理员审批"
    message_en = "You cannot approve a change you submitted; another approver must do it"


class HomeItemInvalid(DomainError):
    code = "home_item_invalid"
    status = 422
    title = "Invalid home-page item"
    message_zh = "首页配置内容有误：{reason}"
    message_en = "The home-page item is not valid: {reason}"


class SearchTermInvalid(DomainError):
    code = "search_term_invalid"
    status = 422
    title = "Search by phone or account number"
    message_zh = (
        "请输入 11 位手机号、138****5678 形式的脱敏手机号或 19 位账号（结果中的个人信息均已脱敏）"
    )
    message_en = (
        "Enter an 11-digit phone, a masked phone such as 138****5678 "
        "or a 19-digit account number (results are masked)"
    )


class LimitsInvalid(DomainError):
    code = "limits_invalid"
    status = 422
    title = "Invalid limits"
    message_zh = "限额设置有误：{reason}（金额须为正数、最多两位小数，日累计限额不低于单笔限额）"
    message_en = (
        "The limits are not valid: {reason} (amounts are positive with at most two decimals, "
        "and the daily amount is at least the per-transaction amount)"
    )


class StaffNotFound(DomainError):
    code = "staff_not_found"
    status = 404
    title = "Staff member not found"
    message_zh = "该运营人员不存在"
    message_en = "The staff member does not exist"


class SelfLockoutRefused(DomainError):
    code = "self_lockout_refused"
    status = 409
    title = "You cannot lock yourself out"
    message_zh = "不能停用自己或移除自己的管理员角色，请由另一位管理员操作"
    message_en = "You cannot disable yourself or remove your own admin role; ask another admin"
