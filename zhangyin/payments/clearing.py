"""ISO 20022 messages exchanged with the clearing house, and the adapter that carries them.

Messages are built with `pyiso20022` (xsdata bindings generated from the ISO
20022 XSDs): pacs.008.001.08 credit transfers, pacs.002.001.10 status reports,
pacs.004.001.09 returns, camt.053.001.08 statements. Each message is checked
twice before it leaves and when it arrives: the XSD facets the bindings carry
(patterns, lengths, required elements, enumerations) by pyiso20022's validator,
and the XML itself by parsing it back strictly into the schema's types (an
unknown or misplaced element fails).

`ClearingGateway` is the one interface to the clearing house; the HTTP one
talks to `zhangyin.payments.clearing_sim` (or a real front-end processor that
speaks the same three calls).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import httpx
from pyiso20022.camt.camt_053_001_08 import camt_053_001_08 as camt053
from pyiso20022.pacs.pacs_002_001_10 import pacs_002_001_10 as pacs002
from pyiso20022.pacs.pacs_004_001_09 import pacs_004_001_09 as pacs004
from pyiso20022.pacs.pacs_008_001_08 import pacs_008_001_08 as pacs008
from xsdata.formats.dataclass.parsers import XmlParser
from xsdata.formats.dataclass.parsers.config import ParserConfig
from xsdata.formats.dataclass.serializers import XmlSerializer
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata.models.datatype import XmlDate, XmlDateTime

from zhangyin.clock import business_date, utcnow
from zhangyin.money import CURRENCY_EXPONENTS

PACS008 = "pacs.008.001.08"
PACS002 = "pacs.002.001.10"
PACS004 = "pacs.004.001.09"
CAMT053 = "camt.053.001.08"

_DOCUMENTS: dict[str, type[Any]] = {
    PACS008: pacs008.Document,
    PACS002: pacs002.Document,
    PACS004: pacs004.Document,
    CAMT053: camt053.Document,
}

_serializer = XmlSerializer(config=SerializerConfig(indent="  ", xml_declaration=True))
_parser = XmlParser(
    config=ParserConfig(fail_on_unknown_properties=True, fail_on_converter_warnings=True)
)


def _load_validator() -> Any:
    # pyiso20022.tools/__init__ pulls in pandas and lxml for an Excel export we do
    # not use; load its dependency-free validation module on its own.
    name = "pyiso20022_validation"
    if name not in sys.modules:
        import pyiso20022

        path = os.path.join(os.path.dirname(pyiso20022.__file__), "tools", "validation.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].ISO20022Validator()


_validator = _load_validator()


class MessageInvalid(ValueError):
    """A message that does not satisfy its ISO 20022 schema."""


def message_type_of(xml: str) -> str:
    """The message definition of a document from its namespace."""
    for name in _DOCUMENTS:
        if f"urn:iso:std:iso:20022:tech:xsd:{name}" in xml[:600]:
            return name
    raise MessageInvalid("not an ISO 20022 message this bank accepts")


def validate_document(document: Any) -> None:
    result = _validator.validate_message(document, strict=False)
    if not result.is_valid:
        raise MessageInvalid("; ".join(str(e) for e in result.errors[:5]))


def render(document: Any) -> str:
    """Validate a document and serialise it; then prove the XML parses back strictly."""
    validate_document(document)
    namespace = type(document).Meta.namespace
    xml = _serializer.render(document, ns_map={None: namespace})
    parse(xml, message_type_of(xml))
    return xml


def parse(xml: str, expected: str | None = None) -> Any:
    """Parse and validate an incoming message; MessageInvalid when it is not schema-valid."""
    kind = message_type_of(xml)
    if expected is not None and kind != expected:
        raise MessageInvalid(f"expected {expected}, got {kind}")
    try:
        document = _parser.from_string(xml, _DOCUMENTS[kind])
    except Exception as exc:  # xsdata raises several types for malformed input
        raise MessageInvalid(str(exc)[:300]) from exc
    validate_document(document)
    return document


def _amount(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-CURRENCY_EXPONENTS[currency])


def _minor(value: Decimal, currency: str) -> int:
    scaled = value.scaleb(CURRENCY_EXPONENTS[currency])
    if scaled != scaled.to_integral_value():
        raise MessageInvalid("amount has more decimals than the currency allows")
    return int(scaled)


def _now() -> XmlDateTime:
    return XmlDateTime.from_datetime(datetime.now(UTC).replace(microsecond=0))


# ------------------------------------------------------------------ pacs.008


@dataclass(frozen=True)
class CreditTransfer:
    """One customer credit transfer between two banks (the fields we use of pacs.008)."""

    message_id: str
    transaction_id: str
    amount_minor: int
    currency: str
    settlement_date: date
    debtor_bank: str
    debtor_account: str
    debtor_name: str
    creditor_bank: str
    creditor_account: str
    creditor_name: str
    remittance: str = ""


def _agent8(bic: str) -> pacs008.BranchAndFinancialInstitutionIdentification6:
    return pacs008.BranchAndFinancialInstitutionIdentification6(
        fin_instn_id=pacs008.FinancialInstitutionIdentification18(bicfi=bic)
    )


def _account8(number: str) -> pacs008.CashAccount38:
    return pacs008.CashAccount38(
        id=pacs008.AccountIdentification4Choice(
            othr=pacs008.GenericAccountIdentification1(id=number)
        )
    )


def build_pacs008(ct: CreditTransfer) -> str:
    tx = pacs008.CreditTransferTransaction39(
        pmt_id=pacs008.PaymentIdentification7(
            end_to_end_id=ct.transaction_id, tx_id=ct.transaction_id
        ),
        intr_bk_sttlm_amt=pacs008.ActiveCurrencyAndAmount(
            value=_amount(ct.amount_minor, ct.currency), ccy=ct.currency
        ),
        intr_bk_sttlm_dt=XmlDate.from_date(ct.settlement_date),
        chrg_br=pacs008.ChargeBearerType1Code.SLEV,
        dbtr=pacs008.PartyIdentification135(nm=ct.debtor_name[:140]),
        dbtr_acct=_account8(ct.debtor_account),
        dbtr_agt=_agent8(ct.debtor_bank),
        cdtr_agt=_agent8(ct.creditor_bank),
        cdtr=pacs008.PartyIdentification135(nm=ct.creditor_name[:140]),
        cdtr_acct=_account8(ct.creditor_account),
        rmt_inf=pacs008.RemittanceInformation16(ustrd=[ct.remittance[:140]])
        if ct.remittance
        else None,
    )
    document = pacs008.Document(
        fito_ficstmr_cdt_trf=pacs008.FitoFicustomerCreditTransferV08(
            grp_hdr=pacs008.GroupHeader93(
                msg_id=ct.message_id,
                cre_dt_tm=_now(),
                nb_of_txs="1",
                sttlm_inf=pacs008.SettlementInstruction7(
                    sttlm_mtd=pacs008.SettlementMethod1Code.CLRG
                ),
                instg_agt=_agent8(ct.debtor_bank),
                instd_agt=_agent8(ct.creditor_bank),
            ),
            cdt_trf_tx_inf=[tx],
        )
    )
    return render(document)


def read_pacs008(xml: str) -> list[CreditTransfer]:
    document = parse(xml, PACS008)
    body = document.fito_ficstmr_cdt_trf
    transfers = []
    for tx in body.cdt_trf_tx_inf:
        currency = tx.intr_bk_sttlm_amt.ccy
        if currency not in CURRENCY_EXPONENTS:
            raise MessageInvalid(f"unsupported currency {currency}")
        settlement = tx.intr_bk_sttlm_dt or body.grp_hdr.intr_bk_sttlm_dt
        transfers.append(
            CreditTransfer(
                message_id=body.grp_hdr.msg_id,
                transaction_id=tx.pmt_id.tx_id or tx.pmt_id.end_to_end_id,
                amount_minor=_minor(tx.intr_bk_sttlm_amt.value, currency),
                currency=currency,
                # No settlement date in the message: the bank's business day, not the host's date.
                settlement_date=settlement.to_date() if settlement else business_date(utcnow()),
                debtor_bank=tx.dbtr_agt.fin_instn_id.bicfi or "",
                debtor_account=tx.dbtr_acct.id.othr.id if tx.dbtr_acct else "",
                debtor_name=tx.dbtr.nm or "",
                creditor_bank=tx.cdtr_agt.fin_instn_id.bicfi or "",
                creditor_account=tx.cdtr_acct.id.othr.id if tx.cdtr_acct else "",
                creditor_name=tx.cdtr.nm or "",
                remittance=(tx.rmt_inf.ustrd[0] if tx.rmt_inf and tx.rmt_inf.ustrd else ""),
            )
        )
    return transfers


# ------------------------------------------------------------------ pacs.002


@dataclass(frozen=True)
class StatusReport:
    message_id: str
    original_message_id: str
    transaction_id: str
    status: str  # ACSC accepted and settled | ACCP accepted | RJCT rejected
    reason: str | None  # ISO external status reason code, e.g. AC01, AC04, BE01


def build_pacs002(report: StatusReport) -> str:
    reasons = (
        [pacs002.StatusReasonInformation12(rsn=pacs002.StatusReason6Choice(cd=report.reason))]
        if report.reason
        else []
    )
    document = pacs002.Document(
        fito_fipmt_sts_rpt=pacs002.FitoFipaymentStatusReportV10(
            grp_hdr=pacs002.GroupHeader91(msg_id=report.message_id, cre_dt_tm=_now()),
            orgnl_grp_inf_and_sts=[
                pacs002.OriginalGroupHeader17(
                    orgnl_msg_id=report.original_message_id, orgnl_msg_nm_id=PACS008
                )
            ],
            tx_inf_and_sts=[
                pacs002.PaymentTransaction110(
                    orgnl_end_to_end_id=report.transaction_id,
                    orgnl_tx_id=report.transaction_id,
                    tx_sts=report.status,
                    sts_rsn_inf=reasons,
                )
            ],
        )
    )
    return render(document)


def read_pacs002(xml: str) -> list[StatusReport]:
    document = parse(xml, PACS002)
    body = document.fito_fipmt_sts_rpt
    original = body.orgnl_grp_inf_and_sts[0].orgnl_msg_id if body.orgnl_grp_inf_and_sts else ""
    reports = []
    for tx in body.tx_inf_and_sts:
        reason = None
        if tx.sts_rsn_inf and tx.sts_rsn_inf[0].rsn is not None:
            reason = tx.sts_rsn_inf[0].rsn.cd
        reports.append(
            StatusReport(
                message_id=body.grp_hdr.msg_id,
                original_message_id=original,
                transaction_id=tx.orgnl_tx_id or tx.orgnl_end_to_end_id or "",
                status=tx.tx_sts or "",
                reason=reason,
            )
        )
    return reports


# ------------------------------------------------------------------ pacs.004


@dataclass(frozen=True)
class PaymentReturn:
    message_id: str
    return_id: str
    original_message_id: str
    original_transaction_id: str
    amount_minor: int
    currency: str
    reason: str  # e.g. AC04 closed account, MS02 not specified by customer
    returning_bank: str
    receiving_bank: str


def _agent4(bic: str) -> pacs004.BranchAndFinancialInstitutionIdentification6:
    return pacs004.BranchAndFinancialInstitutionIdentification6(
        fin_instn_id=pacs004.FinancialInstitutionIdentification18(bicfi=bic)
    )


def build_pacs004(ret: PaymentReturn) -> str:
    document = pacs004.Document(
        pmt_rtr=pacs004.PaymentReturnV09(
            grp_hdr=pacs004.GroupHeader90(
                msg_id=ret.message_id,
                cre_dt_tm=_now(),
                nb_of_txs="1",
                sttlm_inf=pacs004.SettlementInstruction7(
                    sttlm_mtd=pacs004.SettlementMethod1Code.CLRG
                ),
                instg_agt=_agent4(ret.returning_bank),
                instd_agt=_agent4(ret.receiving_bank),
            ),
            tx_inf=[
                pacs004.PaymentTransaction112(
                    rtr_id=ret.return_id,
                    orgnl_grp_inf=pacs004.OriginalGroupInformation29(
                        orgnl_msg_id=ret.original_message_id, orgnl_msg_nm_id=PACS008
                    ),
                    orgnl_end_to_end_id=ret.original_transaction_id,
                    orgnl_tx_id=ret.original_transaction_id,
                    rtrd_intr_bk_sttlm_amt=pacs004.ActiveCurrencyAndAmount(
                        value=_amount(ret.amount_minor, ret.currency), ccy=ret.currency
                    ),
                    rtr_rsn_inf=[
                        pacs004.PaymentReturnReason6(rsn=pacs004.ReturnReason5Choice(cd=ret.reason))
                    ],
                )
            ],
        )
    )
    return render(document)


def read_pacs004(xml: str) -> list[PaymentReturn]:
    document = parse(xml, PACS004)
    body = document.pmt_rtr
    returns = []
    for tx in body.tx_inf:
        currency = tx.rtrd_intr_bk_sttlm_amt.ccy
        reason = ""
        if tx.rtr_rsn_inf and tx.rtr_rsn_inf[0].rsn is not None:
            reason = tx.rtr_rsn_inf[0].rsn.cd or ""
        returns.append(
            PaymentReturn(
                message_id=body.grp_hdr.msg_id,
                return_id=tx.rtr_id or body.grp_hdr.msg_id,
                original_message_id=tx.orgnl_grp_inf.orgnl_msg_id if tx.orgnl_grp_inf else "",
                original_transaction_id=tx.orgnl_tx_id or tx.orgnl_end_to_end_id or "",
                amount_minor=_minor(tx.rtrd_intr_bk_sttlm_amt.value, currency),
                currency=currency,
                reason=reason,
                returning_bank=(
                    body.grp_hdr.instg_agt.fin_instn_id.bicfi if body.grp_hdr.instg_agt else ""
                )
                or "",
                receiving_bank=(
                    body.grp_hdr.instd_agt.fin_instn_id.bicfi if body.grp_hdr.instd_agt else ""
                )
                or "",
            )
        )
    return returns


# ------------------------------------------------------------------ camt.053


@dataclass(frozen=True)
class StatementEntry:
    reference: str
    amount_minor: int  # signed from the account holder's view: + credit, - debit
    booked_at: datetime
    memo: str


@dataclass(frozen=True)
class AccountStatement:
    message_id: str
    statement_id: str
    account_number: str
    currency: str
    start: datetime
    end: datetime
    opening_minor: int
    closing_minor: int
    entries: list[StatementEntry]


def _balance53(code: str, minor: int, currency: str, day: date) -> camt053.CashBalance8:
    return camt053.CashBalance8(
        tp=camt053.BalanceType13(cd_or_prtry=camt053.BalanceType10Choice(cd=code)),
        amt=camt053.ActiveOrHistoricCurrencyAndAmount(
            value=_amount(abs(minor), currency), ccy=currency
        ),
        cdt_dbt_ind=camt053.CreditDebitCode.CRDT if minor >= 0 else camt053.CreditDebitCode.DBIT,
        dt=camt053.DateAndDateTime2Choice(dt=XmlDate.from_date(day)),
    )


def build_camt053(st: AccountStatement) -> str:
    # Balances are dated by Beijing business day: the period's UTC bounds fall at 16:00 UTC
    # of the day before the first day and of the last day.
    first_day = business_date(st.start)
    last_day = business_date(st.end - timedelta(microseconds=1))
    entries = [
        camt053.ReportEntry10(
            ntry_ref=e.reference[:35],
            amt=camt053.ActiveOrHistoricCurrencyAndAmount(
                value=_amount(abs(e.amount_minor), st.currency), ccy=st.currency
            ),
            cdt_dbt_ind=camt053.CreditDebitCode.CRDT
            if e.amount_minor >= 0
            else camt053.CreditDebitCode.DBIT,
            sts=camt053.EntryStatus1Choice(cd="BOOK"),
            bookg_dt=camt053.DateAndDateTime2Choice(
                dt_tm=XmlDateTime.from_datetime(e.booked_at.astimezone(UTC).replace(microsecond=0))
            ),
            bk_tx_cd=camt053.BankTransactionCodeStructure4(
                prtry=camt053.ProprietaryBankTransactionCodeStructure1(cd="TRF")
            ),
            addtl_ntry_inf=e.memo[:500] or None,
        )
        for e in st.entries
    ]
    document = camt053.Document(
        bk_to_cstmr_stmt=camt053.BankToCustomerStatementV08(
            grp_hdr=camt053.GroupHeader81(msg_id=st.message_id, cre_dt_tm=_now()),
            stmt=[
                camt053.AccountStatement9(
                    id=st.statement_id,
                    cre_dt_tm=_now(),
                    fr_to_dt=camt053.DateTimePeriod1(
                        fr_dt_tm=XmlDateTime.from_datetime(st.start.replace(microsecond=0)),
                        to_dt_tm=XmlDateTime.from_datetime(st.end.replace(microsecond=0)),
                    ),
                    acct=camt053.CashAccount39(
                        id=camt053.AccountIdentification4Choice(
                            othr=camt053.GenericAccountIdentification1(id=st.account_number)
                        ),
                        ccy=st.currency,
                    ),
                    bal=[
                        _balance53("OPBD", st.opening_minor, st.currency, first_day),
                        _balance53("CLBD", st.closing_minor, st.currency, last_day),
                    ],
                    ntry=entries,
                )
            ],
        )
    )
    return render(document)


# ------------------------------------------------------------------- gateway


@dataclass(frozen=True)
class FeedMessage:
    sequence: int
    message_type: str
    xml: str


class ClearingUnreachable(Exception):
    """The clearing house did not answer (retry later); not a refusal."""


class ClearingGateway(Protocol):
    participant: str

    def submit(self, xml: str) -> None:
        """Hand a pacs.008 (or pacs.004) to the clearing house."""
        ...

    def fetch(self, after: int) -> list[FeedMessage]:
        """Messages addressed to this bank after a sequence number, oldest first."""
        ...

    def settlement_report(self, day: date) -> dict[str, Any]:
        """The clearing house's view of this bank's net position for a business day."""
        ...


class HttpClearingGateway:
    """The clearing house over HTTP, with timeouts; failures are `ClearingUnreachable`."""

    def __init__(self, base_url: str, participant: str, *, timeout: float = 3.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.participant = participant
        self.timeout = timeout

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = httpx.request(
                method, f"{self.base_url}{path}", timeout=self.timeout, **kwargs
            )
        except httpx.HTTPError as exc:
            raise ClearingUnreachable(str(exc)) from exc
        if response.status_code >= 500:
            raise ClearingUnreachable(f"clearing house answered {response.status_code}")
        return response

    def submit(self, xml: str) -> None:
        response = self._request(
            "POST",
            f"/participants/{self.participant}/messages",
            content=xml.encode(),
            headers={"content-type": "application/xml"},
        )
        if response.status_code >= 400:
            raise MessageInvalid(response.text[:300])

    def fetch(self, after: int) -> list[FeedMessage]:
        response = self._request(
            "GET", f"/participants/{self.participant}/feed", params={"after": after}
        )
        return [
            FeedMessage(int(m["sequence"]), str(m["type"]), str(m["xml"]))
            for m in response.json()["messages"]
        ]

    def settlement_report(self, day: date) -> dict[str, Any]:
        response = self._request(
            "GET", f"/participants/{self.participant}/settlement", params={"date": day.isoformat()}
        )
        report: dict[str, Any] = response.json()
        return report


def default_gateway(participant: str) -> HttpClearingGateway:
    """The configured clearing house (`ZHANGYIN_CLEARING_URL`, the simulator by default)."""
    url = os.environ.get("ZHANGYIN_CLEARING_URL", "http://127.0.0.1:8600")
    return HttpClearingGateway(url, participant)
