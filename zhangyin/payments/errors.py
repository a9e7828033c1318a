"""The payments domain's refusals, each with its own problem code."""

from __future__ import annotations

from zhangyin.errors import DomainError


class PaymentAccountNotFound(DomainError):
    code = "account_not_found"
    status = 404
    title = "Account not found"
    message_zh = "账户不存在"
    message_en = "The account does not exist"


class PaymentNotFound(DomainError):
    code = "transfer_not_found"
    status = 404
    title = "Transfer not found"
    message_zh = "交易不存在"
    message_en = "The transfer does not exist"


class PayeeAccountUnknown(DomainError):
    code = "payee_account_unknown"
    status = 422
    title = "Payee account unknown"
    message_zh = "收款账号不存在，请核对后重试"
    message_en = "The payee account number does not exist; please check it"


class PayeeNameMismatch(DomainError):
    code = "payee_name_mismatch"
    status = 422
    title = "Payee name does not match"
    message_zh = "收款人户名与账号不符，请核对收款人姓名"
    message_en = "The payee name does not match the account; please check the name"


class SameAccountTransfer(DomainError):
    code = "same_account"
    status = 422
    title = "Same source and destination"
    message_zh = "付款账户与收款账户不能相同"
    message_en = "The source and destination accounts must differ"


class UnknownBank(DomainError):
    code = "unknown_bank"
    status = 422
    title = "Unknown bank"
    message_zh = "不支持向该银行转账（行号 {bank_code}）"
    message_en = "Transfers to this bank are not supported (bank code {bank_code})"


class LimitExceeded(DomainError):
    code = "limit_exceeded"
    status = 422
    title = "Transfer limit reached"
    message_zh = "超出{limit_name}（限额 {limit}，今日剩余 {remaining}）"
    message_en = "This exceeds your {limit_name_en} (limit {limit}, {remaining} left today)"


class DailyCountExceeded(DomainError):
    code = "daily_count_exceeded"
    status = 422
    title = "Daily transfer count reached"
    message_zh = "今日转账笔数已达上限（{limit} 笔）"
    message_en = "You have reached today's limit of {limit} transfers"


class TransferNotCancellable(DomainError):
    code = "transfer_not_cancellable"
    status = 409
    title = "Transfer cannot be cancelled"
    message_zh = "该笔转账已处理，不能撤销（状态：{status}）"
    message_en = "This transfer can no longer be cancelled (status: {status})"


class TransferNotAwaitingChallenge(DomainError):
    code = "transfer_not_pending_challenge"
    status = 409
    title = "Transfer is not waiting for confirmation"
    message_zh = "该笔转账无需验证或已处理（状态：{status}）"
    message_en = "This transfer is not waiting for confirmation (status: {status})"


class ChallengeMismatch(DomainError):
    code = "challenge_mismatch"
    status = 422
    title = "Wrong challenge"
    message_zh = "验证信息与该笔转账不符"
    message_en = "The challenge does not belong to this transfer"


class TransferBlocked(DomainError):
    code = "transfer_blocked"
    status = 422
    title = "Transfer refused"
    message_zh = "该笔交易存在风险，已被拒绝。如有疑问请联系客服"
    message_en = "This transfer was refused for your protection. Contact us if in doubt"


class InvalidArrival(DomainError):
    code = "invalid_arrival"
    status = 422
    title = "Arrival option not available"
    message_zh = "该类交易不支持延时到账"
    message_en = "Delayed arrival is not available for this payment"


class BillerNotFound(DomainError):
    code = "biller_not_found"
    status = 404
    title = "Biller not found"
    message_zh = "缴费机构不存在"
    message_en = "The biller does not exist"


class BillAccountInvalid(DomainError):
    code = "bill_account_invalid"
    status = 422
    title = "Bill account not valid"
    message_zh = "{label}格式不正确"
    message_en = "The {label} is not valid for this biller"


class NoBillDue(DomainError):
    code = "no_bill_due"
    status = 422
    title = "Nothing owed"
    message_zh = "该户号暂无待缴账单"
    message_en = "There is no bill due on this account"


class BillAmountNotAllowed(DomainError):
    code = "bill_amount_not_allowed"
    status = 422
    title = "Amount not allowed"
    message_zh = "该机构只接受以下金额：{allowed}"
    message_en = "This biller only accepts these amounts: {allowed}"


class AutopayCapExceeded(DomainError):
    code = "autopay_cap_exceeded"
    status = 422
    title = "Auto-pay cap reached"
    message_zh = "超出自动缴费每月上限"
    message_en = "The auto-pay monthly cap would be exceeded"


class QrInvalid(DomainError):
    code = "qr_invalid"
    status = 422
    title = "QR code not valid"
    message_zh = "二维码无效或已被篡改"
    message_en = "The QR code is not valid or has been altered"


class QrExpired(DomainError):
    code = "qr_expired"
    status = 422
    title = "QR code expired"
    message_zh = "二维码已过期，请让收款方刷新"
    message_en = "The QR code has expired; ask the payee to refresh it"


class QrAlreadyPaid(DomainError):
    code = "qr_already_paid"
    status = 409
    title = "QR code already paid"
    message_zh = "该收款码已支付，请勿重复付款"
    message_en = "This payment code has already been paid"


class QrAmountRequired(DomainError):
    code = "qr_amount_required"
    status = 422
    title = "Amount required"
    message_zh = "请输入付款金额"
    message_en = "Enter the amount to pay"


class CardlessCodeInvalid(DomainError):
    code = "cardless_code_invalid"
    status = 422
    title = "Withdrawal code not valid"
    message_zh = "取款码无效、已使用或已过期"
    message_en = "The withdrawal code is not valid, already used or expired"


class CardlessNotFound(DomainError):
    code = "cardless_not_found"
    status = 404
    title = "Withdrawal not found"
    message_zh = "无卡取款预约不存在"
    message_en = "The cardless withdrawal does not exist"


class CardlessRefusedByRisk(DomainError):
    code = "cardless_refused"
    status = 422
    title = "Cardless withdrawal not available"
    message_zh = "为保障资金安全，暂不能办理无卡取款，请携带银行卡或到柜台办理"
    message_en = "For your safety cardless cash is not available now; use your card or a branch"


class CardlessNotActive(DomainError):
    code = "cardless_not_active"
    status = 409
    title = "Withdrawal no longer active"
    message_zh = "该取款码已使用、已撤销或已过期（状态：{status}）"
    message_en = "This withdrawal code is no longer active (status: {status})"


class ScheduleInvalid(DomainError):
    code = "schedule_invalid"
    status = 422
    title = "Schedule not valid"
    message_zh = "预约日期无效：{why_zh}"
    message_en = "The schedule is not valid: {why}"


class ScheduledNotFound(DomainError):
    code = "scheduled_transfer_not_found"
    status = 404
    title = "Scheduled transfer not found"
    message_zh = "预约转账不存在"
    message_en = "The scheduled transfer does not exist"


class ReceiptNotAvailable(DomainError):
    code = "receipt_not_available"
    status = 409
    title = "No receipt yet"
    message_zh = "交易完成后才能生成电子回单"
    message_en = "A receipt is available once the transfer has completed"


class DepositsDisabled(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"
    message_zh = "未找到所请求的内容"
    message_en = "The requested resource was not found"


class ClearingUnavailable(DomainError):
    code = "clearing_unavailable"
    status = 503
    title = "Clearing house unavailable"
    message_zh = "清算系统暂不可用，稍后自动重试"
    message_en = "The clearing house is unavailable; the payment will be retried"


class TransferNotReportable(DomainError):
    code = "transfer_not_reportable"
    status = 409
    title = "Transfer cannot be reported as fraud"
    message_zh = "只能举报已完成、转给他人的交易（当前状态：{status}）"
    message_en = (
        "Only a completed transfer to someone else can be reported as fraud (status: {status})"
    )
