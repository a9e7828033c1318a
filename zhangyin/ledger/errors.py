"""The ledger's refusals, each with its own problem code."""

from __future__ import annotations

from zhangyin.errors import DomainError


class AccountNotFound(DomainError):
    code = "account_not_found"
    status = 404
    title = "Account not found"
    message_zh = "账户不存在"
    message_en = "The account does not exist"


class TransferNotFound(DomainError):
    code = "transfer_not_found"
    status = 404
    title = "Transfer not found"
    message_zh = "交易不存在"
    message_en = "The transfer does not exist"


class SameAccount(DomainError):
    code = "same_account"
    status = 422
    title = "Same source and destination"
    message_zh = "付款账户与收款账户不能相同"
    message_en = "The source and destination accounts must differ"


class CurrencyMismatch(DomainError):
    code = "currency_mismatch"
    status = 422
    title = "Currency mismatch"
    message_zh = "币种与账户币种不一致"
    message_en = "The currency does not match the account's currency"


class InsufficientFunds(DomainError):
    code = "insufficient_funds"
    status = 422
    title = "Insufficient funds"
    message_zh = "可用余额不足（可用 {available}，需要 {requested}）"
    message_en = "Insufficient available balance ({available} available, {requested} requested)"


class AccountFrozen(DomainError):
    code = "account_frozen"
    status = 422
    title = "Account frozen"
    message_zh = "账户 {number} 已冻结，暂不能办理此交易"
    message_en = "Account {number} is frozen and cannot take part in this transfer"


class AccountClosed(DomainError):
    code = "account_closed"
    status = 422
    title = "Account closed"
    message_zh = "账户 {number} 已销户"
    message_en = "Account {number} is closed"


class AccountNotEmpty(DomainError):
    code = "account_not_empty"
    status = 409
    title = "Account not empty"
    message_zh = "账户仍有余额或未完成的交易，不能销户"
    message_en = "The account still has a balance or pending transfers and cannot be closed"


class TransferNotPending(DomainError):
    code = "transfer_not_pending"
    status = 409
    title = "Transfer is not pending"
    message_zh = "该交易已处理（状态：{status}）"
    message_en = "The transfer is no longer pending (status: {status})"


class HoldExpired(DomainError):
    code = "hold_expired"
    status = 409
    title = "Hold expired"
    message_zh = "预授权已过期，资金已释放"
    message_en = "The hold has expired and its funds were released"


class PostExceedsHold(DomainError):
    code = "post_exceeds_hold"
    status = 422
    title = "Amount exceeds the hold"
    message_zh = "入账金额不能超过冻结金额"
    message_en = "The amount to post exceeds the amount held"


class NotReversible(DomainError):
    code = "not_reversible"
    status = 409
    title = "Transfer cannot be reversed"
    message_zh = "该交易不能冲正（未入账、已冲正或本身是冲正交易）"
    message_en = (
        "The transfer cannot be reversed (not posted, already reversed, or itself a reversal)"
    )


class ReferenceConflict(DomainError):
    code = "reference_conflict"
    status = 409
    title = "Reference used by a different transfer"
    message_zh = "业务流水号已被另一笔不同的交易使用"
    message_en = "The reference is already used by a different transfer"


class BatchRejected(DomainError):
    code = "batch_rejected"
    status = 422
    title = "Linked batch rejected"
    message_zh = "关联批次中第 {index} 笔失败，整批未入账：{reason}"
    message_en = "Transfer {index} of the linked batch failed, so none were posted: {reason}"


class BatchTooLarge(DomainError):
    code = "batch_too_large"
    status = 422
    title = "Batch too large"
    message_zh = "每批最多 {limit} 笔"
    message_en = "A batch holds at most {limit} transfers"
