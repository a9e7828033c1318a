"""Wealth errors: each a stable problem+json `code` with zh-CN and en-US messages."""

from __future__ import annotations

from zhangyin.errors import DomainError


class ProductNotFound(DomainError):
    code = "wealth_product_not_found"
    status = 404
    title = "Product not found"
    message_zh = "未找到该理财产品"
    message_en = "The product was not found"


class ProductNotOnSale(DomainError):
    code = "product_not_on_sale"
    status = 409
    title = "Product not on sale"
    message_zh = "该产品暂停销售"
    message_en = "This product is not on sale at the moment"


class OutsideSubscriptionWindow(DomainError):
    code = "outside_subscription_window"
    status = 409
    title = "Outside the subscription window"
    message_zh = "不在产品募集期内（{window_start} 至 {window_end}）"
    message_en = "The product can be bought only from {window_start} to {window_end}"


class BelowMinimum(DomainError):
    code = "amount_below_minimum"
    status = 422
    title = "Amount below the minimum"
    message_zh = "起购金额为 {minimum} 元"
    message_en = "The minimum amount is {minimum}"


class RiskAssessmentRequired(DomainError):
    code = "risk_assessment_required"
    status = 403
    title = "Risk assessment required"
    message_zh = "购买前请先完成风险测评（有效期一年）"
    message_en = "Please complete the risk questionnaire first (valid for one year)"


class SuitabilityMismatch(DomainError):
    code = "suitability_mismatch"
    status = 403
    title = "Product above your risk tolerance"
    message_zh = (
        "该产品风险等级为 R{product_risk}，高于您的风险承受能力 C{customer_level}，"
        "根据投资者适当性要求不能购买。您可以重新进行风险测评。"
    )
    message_en = (
        "This product is rated R{product_risk}, above your risk tolerance C{customer_level}; "
        "the suitability rule does not allow the purchase. You may retake the questionnaire."
    )


class DisclosureRequired(DomainError):
    code = "disclosure_required"
    status = 409
    title = "Read the product documents first"
    message_zh = "首次购买前请阅读并确认产品说明书和风险揭示书（版本 {document_version}）"
    message_en = (
        "Please read and acknowledge the product documents (version {document_version}) "
        "before your first purchase"
    )


class DocumentVersionStale(DomainError):
    code = "document_version_stale"
    status = 409
    title = "Documents have changed"
    message_zh = "产品文件已更新为版本 {document_version}，请重新阅读"
    message_en = "The documents are now at version {document_version}; please read them again"


class WealthAccountNotFound(DomainError):
    code = "wealth_account_not_found"
    status = 404
    title = "Account not found"
    message_zh = "未找到该账户"
    message_en = "The account was not found"


class OrderNotFound(DomainError):
    code = "wealth_order_not_found"
    status = 404
    title = "Order not found"
    message_zh = "未找到该订单"
    message_en = "The order was not found"


class HoldingNotFound(DomainError):
    code = "wealth_holding_not_found"
    status = 404
    title = "Holding not found"
    message_zh = "未找到该持仓"
    message_en = "The holding was not found"


class OrderNotCancellable(DomainError):
    code = "order_not_cancellable"
    status = 409
    title = "The order can no longer be cancelled"
    message_zh = "订单已过撤单时间或已确认，不能撤销"
    message_en = "The order is past its cancellation deadline or already confirmed"


class InsufficientUnits(DomainError):
    code = "insufficient_units"
    status = 422
    title = "Not enough units"
    message_zh = "可赎回份额不足（可用 {available}）"
    message_en = "Not enough units to redeem (available {available})"


class RedemptionNotAllowed(DomainError):
    code = "redemption_not_allowed"
    status = 409
    title = "Redemption not allowed"
    message_zh = "该产品为封闭期产品，到期前不能赎回或提前支取"
    message_en = "This product cannot be redeemed or withdrawn before it matures"


class PensionOnly(DomainError):
    code = "pension_product_required"
    status = 409
    title = "Not a pension product"
    message_zh = "个人养老金资金只能购买个人养老金产品目录内的产品"
    message_en = "Personal pension money can buy only products on the pension list"


class PensionAccountRequired(DomainError):
    code = "pension_account_required"
    status = 409
    title = "No personal pension account"
    message_zh = "请先开立个人养老金资金账户"
    message_en = "Please open a personal pension account first"


class PensionAccountExists(DomainError):
    code = "pension_account_exists"
    status = 409
    title = "Pension account already open"
    message_zh = "您已开立个人养老金资金账户"
    message_en = "You already have a personal pension account"


class PensionCapExceeded(DomainError):
    code = "pension_cap_exceeded"
    status = 422
    title = "Annual contribution limit reached"
    message_zh = "个人养老金每年缴存上限 12000 元，{tax_year} 年还可缴存 {remaining} 元"
    message_en = (
        "Personal pension contributions are capped at 12,000 CNY a year; "
        "{remaining} left for {tax_year}"
    )


class PensionWithdrawalRefused(DomainError):
    code = "pension_withdrawal_refused"
    status = 403
    title = "Withdrawal not allowed"
    message_zh = (
        "个人养老金仅在达到领取基本养老金年龄、完全丧失劳动能力、出国（境）定居等情形下可领取"
    )
    message_en = (
        "Personal pension money can be withdrawn only on reaching pension age, total "
        "disability, or settling abroad"
    )


class InvalidAnswers(DomainError):
    code = "invalid_questionnaire_answers"
    status = 422
    title = "Invalid questionnaire answers"
    message_zh = "请完整回答所有问题"
    message_en = "Please answer every question with one of its options"


class NavNotAvailable(DomainError):
    code = "nav_not_available"
    status = 409
    title = "No NAV yet"
    message_zh = "该产品暂无净值"
    message_en = "The product has no NAV yet"


class ProductExists(DomainError):
    code = "wealth_product_exists"
    status = 409
    title = "Product code taken"
    message_zh = "产品代码已存在"
    message_en = "A product with this code already exists"


class InvalidProduct(DomainError):
    code = "invalid_product"
    status = 422
    title = "Invalid product"
    message_zh = "产品参数不正确：{reason}"
    message_en = "The product is not valid: {reason}"


class StepUpRequired(DomainError):
    code = "step_up_required"
    status = 401
    title = "Confirm with a second factor"
    message_zh = "大额购买需要验证：请输入短信验证码（或使用通行密钥）后再次提交"
    message_en = (
        "A large purchase needs a second factor: send the SMS code (or a passkey) "
        "with the challenge and submit again"
    )
