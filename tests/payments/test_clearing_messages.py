"""ISO 20022 messages: built with pyiso20022, checked against the schema's facets both ways."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from zhangyin.payments import clearing

TRANSFER = clearing.CreditTransfer(
    message_id="01a2076efb23731fba7ab82aecb84694",
    transaction_id="01a2076efb23731fba7ab82aecb84694",
    amount_minor=123_456,
    currency="CNY",
    settlement_date=date(2026, 11, 23),
    debtor_bank="ZYBKCNBJ",
    debtor_account="6216880000000000017",
    debtor_name="张三",
    creditor_bank="ICBKCNBJ",
    creditor_account="6222020200112233445",
    creditor_name="王强",
    remittance="房租 11月",
)


def test_pacs008_round_trip() -> None:
    xml = clearing.build_pacs008(TRANSFER)
    assert 'xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08"' in xml
    assert '<IntrBkSttlmAmt Ccy="CNY">1234.56</IntrBkSttlmAmt>' in xml
    assert clearing.read_pacs008(xml) == [TRANSFER]


def test_pacs008_without_a_settlement_date_settles_on_the_banks_business_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    xml = clearing.build_pacs008(TRANSFER).replace("<IntrBkSttlmDt>2026-11-23</IntrBkSttlmDt>", "")
    assert "IntrBkSttlmDt" not in xml
    # 16:30 UTC on the 23rd is already the 24th in Beijing, whatever the host's date says.
    monkeypatch.setattr(clearing, "utcnow", lambda: datetime(2026, 11, 23, 16, 30, tzinfo=UTC))
    [read] = clearing.read_pacs008(xml)
    assert read.settlement_date == date(2026, 11, 24)


def test_pacs002_and_pacs004_round_trip() -> None:
    report = clearing.StatusReport(
        "m2", TRANSFER.message_id, TRANSFER.transaction_id, "RJCT", "AC01"
    )
    assert clearing.read_pacs002(clearing.build_pacs002(report)) == [report]
    ret = clearing.PaymentReturn(
        "m3",
        "r3",
        TRANSFER.message_id,
        TRANSFER.transaction_id,
        500,
        "CNY",
        "MS02",
        "ICBKCNBJ",
        "ZYBKCNBJ",
    )
    assert clearing.read_pacs004(clearing.build_pacs004(ret)) == [ret]


def test_camt053_renders_valid() -> None:
    statement = clearing.AccountStatement(
        "m4",
        "s4",
        "6216880000000000017",
        "CNY",
        datetime(2026, 11, 22, 16, tzinfo=UTC),
        datetime(2026, 11, 23, 16, tzinfo=UTC),
        10_000,
        9_000,
        [clearing.StatementEntry("t1", -1_000, datetime(2026, 11, 23, 1, tzinfo=UTC), "午饭")],
    )
    document = clearing.parse(clearing.build_camt053(statement), clearing.CAMT053)
    assert document.bk_to_cstmr_stmt.stmt[0].ntry[0].cdt_dbt_ind.value == "DBIT"
    # The period is Beijing's 2026-11-23 (16:00 UTC to 16:00 UTC): both balances carry that day.
    dates = {b.tp.cd_or_prtry.cd: str(b.dt.dt) for b in document.bk_to_cstmr_stmt.stmt[0].bal}
    assert dates == {"OPBD": "2026-11-23", "CLBD": "2026-11-23"}


@pytest.mark.parametrize(
    "change",
    [
        {"message_id": "x" * 36},  # Max35Text
        {"creditor_bank": "icbc"},  # BICFI pattern
        {"creditor_account": "1" * 35},  # Max34Text
    ],
)
def test_schema_invalid_messages_are_not_built(change: dict[str, str]) -> None:
    from dataclasses import replace

    with pytest.raises(clearing.MessageInvalid):
        clearing.build_pacs008(replace(TRANSFER, **change))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<NbOfTxs>1</NbOfTxs>", "<Unknown/><NbOfTxs>1</NbOfTxs>"),  # unknown element
        ("<ChrgBr>SLEV</ChrgBr>", "<ChrgBr>NONE</ChrgBr>"),  # not in the code list
        ("<SttlmMtd>CLRG</SttlmMtd>", ""),  # required element missing
        ("1234.56", "12.345.6"),  # not a decimal
        ("<BICFI>ICBKCNBJ</BICFI>", "<BICFI>icbk</BICFI>"),  # pattern
    ],
)
def test_schema_invalid_messages_are_refused_on_arrival(old: str, new: str) -> None:
    xml = clearing.build_pacs008(TRANSFER)
    assert old in xml
    with pytest.raises(clearing.MessageInvalid):
        clearing.read_pacs008(xml.replace(old, new, 1))


def test_unknown_message_type_is_refused() -> None:
    with pytest.raises(clearing.MessageInvalid):
        clearing.parse("<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.09'/>")
    with pytest.raises(clearing.MessageInvalid):
        clearing.parse(clearing.build_pacs008(TRANSFER), clearing.PACS002)
