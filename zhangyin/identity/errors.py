"""Identity's refusals. Login errors are deliberately generic: they never say whether
a phone number is registered."""

from __future__ import annotations

from zhangyin.errors import DomainError
from zhangyin.security import Forbidden, Unauthenticated

__all__ = ["Forbidden", "Unauthenticated"]


class InvalidPhone(DomainError):
    code = "invalid_phone"
    status = 422
    title = "Invalid mobile number"
    message_zh = "请输入正确的 11 位中国大陆手机号"
    message_en = "Enter a valid 11-digit mainland China mobile number"


class InvalidIdNumber(DomainError):
    code = "invalid_id_number"
    status = 422
    title = "Invalid resident ID number"
    message_zh = "身份证号码不正确，请核对"
    message_en = "The resident ID number is not valid"


class AgeNotEligible(DomainError):
    code = "age_not_eligible"
    status = 422
    title = "Not eligible by age"
    message_zh = "年满 16 周岁方可在线开户"
    message_en = "Online registration requires an age of at least 16"


class InvalidUscc(DomainError):
    code = "invalid_uscc"
    status = 422
    title = "Invalid unified social credit code"
    message_zh = "统一社会信用代码不正确"
    message_en = "The unified social credit code is not valid"


class WeakPassword(DomainError):
    code = "weak_password"
    status = 422
    title = "Password too weak"
    message_zh = "密码需 8 至 64 位，且同时包含字母和数字"
    message_en = "The password needs 8 to 64 characters with both letters and digits"


class PrivacyVersionUnknown(DomainError):
    code = "privacy_version_unknown"
    status = 422
    title = "Unknown privacy policy version"
    message_zh = "请阅读并同意最新版隐私政策（{current}）"
    message_en = "Please read and accept the current privacy policy ({current})"


class CodeInvalid(DomainError):
    code = "code_invalid"
    status = 422
    title = "Verification code invalid"
    message_zh = "验证码错误或已失效"
    message_en = "The verification code is wrong or no longer valid"


class RegistrationRefused(DomainError):
    """Phone or ID number already has a customer; worded so it reveals neither."""

    code = "registration_refused"
    status = 409
    title = "Registration not possible"
    message_zh = "无法使用该手机号或证件注册，如已开户请直接登录"
    message_en = "Registration with this phone or ID is not possible; if you are a customer, log in"


class LoginFailed(DomainError):
    code = "login_failed"
    status = 401
    title = "Login failed"
    message_zh = "手机号或密码错误；多次错误后账户将被临时锁定"
    message_en = "Wrong phone or password; repeated failures lock the account for a while"


class SecondFactorRequired(DomainError):
    code = "second_factor_required"
    status = 401
    title = "Second factor required"
    message_zh = "在新设备上登录，请输入短信验证码"
    message_en = "New device: enter the code we sent you by SMS"


class SecondFactorFailed(DomainError):
    code = "second_factor_failed"
    status = 401
    title = "Second factor failed"
    message_zh = "验证失败，请重新登录"
    message_en = "Verification failed; please log in again"


class DeviceNotTrusted(DomainError):
    code = "device_not_trusted"
    status = 401
    title = "Device not trusted"
    message_zh = "该设备尚未绑定，请使用密码登录"
    message_en = "This device is not bound yet; log in with your password"


class TokenInvalid(DomainError):
    code = "token_invalid"
    status = 401
    title = "Invalid or expired session"
    message_zh = "登录已失效，请重新登录"
    message_en = "Your session has ended; please log in again"


class RefreshTokenReused(DomainError):
    code = "refresh_token_reused"
    status = 401
    title = "Refresh token reused"
    message_zh = "检测到异常登录，已为您退出所有相关会话，请重新登录"
    message_en = "A refresh token was used twice; the session was ended for your safety"


class CsrfRejected(DomainError):
    code = "csrf_rejected"
    status = 403
    title = "Missing anti-forgery header"
    message_zh = "请求来源无法验证"
    message_en = "The request origin could not be verified"


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    title = "Too many requests"
    message_zh = "操作过于频繁，请 {retry_after} 秒后再试"
    message_en = "Too many attempts; try again in {retry_after} seconds"


class StepUpInvalid(DomainError):
    code = "step_up_invalid"
    status = 403
    title = "Verification not valid for this operation"
    message_zh = "验证无效、已使用、已过期或与本次操作不符，请重新验证"
    message_en = (
        "The verification is wrong, used, expired or for a different operation; verify again"
    )


class StepUpNotAvailable(DomainError):
    code = "step_up_unavailable"
    status = 409
    title = "No second factor available"
    message_zh = "当前账户无可用的验证方式"
    message_en = "No verification method is available for this customer"


class PasskeyRejected(DomainError):
    code = "passkey_rejected"
    status = 401
    title = "Passkey verification failed"
    message_zh = "指纹/面容验证失败，请重试或使用密码登录"
    message_en = "The passkey could not be verified; try again or use your password"


class TotpNotEnrolled(DomainError):
    code = "totp_not_enrolled"
    status = 409
    title = "Authenticator app not set up"
    message_zh = "尚未绑定动态口令"
    message_en = "No authenticator app is set up"


class LimitAboveDefault(DomainError):
    code = "limit_above_default"
    status = 422
    title = "Limit above your account class"
    message_zh = "限额不能高于账户等级的默认限额"
    message_en = "A limit cannot exceed the default of your account class"


class CustomerNotFound(DomainError):
    code = "customer_not_found"
    status = 404
    title = "Customer not found"
    message_zh = "客户不存在"
    message_en = "The customer does not exist"


class EnterpriseExists(DomainError):
    code = "enterprise_exists"
    status = 409
    title = "Enterprise already registered"
    message_zh = "该企业已登记"
    message_en = "This enterprise is already registered"


class StaffLoginFailed(DomainError):
    code = "login_failed"
    status = 401
    title = "Login failed"
    message_zh = "用户名或密码错误"
    message_en = "Wrong username or password"


class StaffExists(DomainError):
    code = "staff_exists"
    status = 409
    title = "Username taken"
    message_zh = "该用户名已存在"
    message_en = "This username is already taken"


class UnknownRole(DomainError):
    code = "unknown_role"
    status = 422
    title = "Unknown role"
    message_zh = "未知角色：{role}"
    message_en = "Unknown role: {role}"


class DeviceNotFound(DomainError):
    code = "device_not_found"
    status = 404
    title = "Device not found"
    message_zh = "设备不存在"
    message_en = "The device does not exist"


class PasskeyNotFound(DomainError):
    code = "passkey_not_found"
    status = 404
    title = "Passkey not found"
    message_zh = "该指纹/面容凭证不存在"
    message_en = "The passkey does not exist"


class StaffTotpNotEnrolled(DomainError):
    code = "staff_totp_not_enrolled"
    status = 403
    title = "Authenticator required"
    message_zh = "运营平台登录需要动态口令，请联系管理员绑定"
    message_en = "Console login needs an authenticator app; ask an administrator to set it up"


class ReauthenticationRequired(DomainError):
    code = "reauthentication_required"
    status = 403
    title = "Log in again to continue"
    message_zh = "为了您的账户安全，请重新登录后再进行此操作"
    message_en = "For your security, log in again before doing this"


class PhoneUnavailable(DomainError):
    """The new number is this customer's already or another customer's: a bank must refuse it."""

    code = "phone_unavailable"
    status = 409
    title = "Phone number not available"
    message_zh = "该手机号无法绑定，请使用其他手机号"
    message_en = "This mobile number cannot be used; choose another one"


class PhoneChangeNotFound(DomainError):
    code = "phone_change_not_found"
    status = 404
    title = "Phone change not found"
    message_zh = "更换手机号的申请不存在或已失效，请重新发起"
    message_en = "The phone change does not exist or has ended; start again"
