"""A clearing-house simulator: the other side of interbank payments, over HTTP.

`python -m zhangyin clearing-sim` serves it; tests start it in-process on a
free port. It holds the accounts of a few named demo banks, accepts pacs.008
credit transfers from participants (this bank), and answers asynchronously:
each participant reads its feed (pacs.002 status reports, pacs.004 returns,
and pacs.008 credits that demo banks send it). A configurable share of
accepted payments is returned later. Its state lives in memory; it is a test
double with the real protocol, not a store of record.

Calls:
  POST /participants/{bic}/messages      a pacs.008, pacs.002 or pacs.004 from a participant
  GET  /participants/{bic}/feed?after=N  messages for the participant after sequence N
  GET  /participants/{bic}/settlement?date=YYYY-MM-DD   its net position that day
  POST /sim/banks/{bic}/accounts         open an account at a demo bank
  GET  /sim/banks/{bic}/accounts/{number}
  POST /sim/banks/{bic}/credit-transfers a demo bank customer pays a participant's customer
  POST /sim/config                       answer delay, return share and delay
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import uuid_utils
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, Field

from zhangyin.clock import business_date, utcnow
from zhangyin.payments import clearing

DEMO_BANKS: dict[str, str] = {
    "ICBKCNBJ": "中国工商银行",
    "PCBCCNBJ": "中国建设银行",
    "ABOCCNBJ": "中国农业银行",
    "BKCHCNBJ": "中国银行",
    "CMBCCNBS": "招商银行",
}

DEMO_ACCOUNTS: list[tuple[str, str, str]] = [
    ("ICBKCNBJ", "6222020200112233445", "王强"),
    ("ICBKCNBJ", "6222020200998877665", "赵敏"),
    ("PCBCCNBJ", "6217000010012345678", "陈静"),
    ("ABOCCNBJ", "6228480010000000017", "刘洋"),
    ("BKCHCNBJ", "6216610100000000028", "周杰"),
    ("CMBCCNBS", "6225880100000000039", "孙丽"),
]


@dataclass
class SimAccount:
    name: str
    status: str = "active"  # active | closed | frozen
    balance_minor: int = 0


@dataclass
class _Pending:
    due: float
    action: str  # answer | return
    sender: str
    transfer: clearing.CreditTransfer


@dataclass
class ClearingHouse:
    """The simulator's state. Thread-safe: every method takes the lock."""

    answer_delay: float = 0.0
    return_share: float = 0.0
    return_delay: float = 0.0
    seed: int | None = None
    accounts: dict[tuple[str, str], SimAccount] = field(default_factory=dict)
    feeds: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    seen: set[str] = field(default_factory=set)
    pending: list[_Pending] = field(default_factory=list)
    # participant -> day -> currency -> net paid out (+) / received (-)
    positions: dict[str, dict[date, dict[str, int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    )
    incoming: dict[str, tuple[str, clearing.CreditTransfer]] = field(default_factory=dict)
    sequence: int = 0
    received: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._random = random.Random(self.seed)  # noqa: S311 - simulation, not crypto
        for bic, number, name in DEMO_ACCOUNTS:
            self.accounts[(bic, number)] = SimAccount(name, balance_minor=10_000_000)

    # -- participants

    def _publish(self, participant: str, kind: str, xml: str) -> None:
        self.sequence += 1
        self.feeds[participant].append({"sequence": self.sequence, "type": kind, "xml": xml})

    def _position(self, participant: str, currency: str, delta: int) -> None:
        self.positions[participant][business_date(utcnow())][currency] += delta

    def submit(self, participant: str, xml: str) -> None:
        """A participant hands over a message; refusals raise clearing.MessageInvalid."""
        with self._lock:
            kind = clearing.message_type_of(xml)
            self.received.append(kind)
            if kind == clearing.PACS008:
                for ct in clearing.read_pacs008(xml):
                    if ct.debtor_bank != participant:
                        raise clearing.MessageInvalid("debtor agent is not the sender")
                    if ct.transaction_id in self.seen:
                        continue  # a resend after a lost answer: already taken
                    self.seen.add(ct.transaction_id)
                    self.pending.append(
                        _Pending(time.monotonic() + self.answer_delay, "answer", participant, ct)
                    )
            elif kind == clearing.PACS004:
                for ret in clearing.read_pacs004(xml):
                    self._participant_returns(participant, ret)
            else:  # pacs.002 about a credit a demo bank sent: accepted, nothing to do
                clearing.read_pacs002(xml)

    def _participant_returns(self, participant: str, ret: clearing.PaymentReturn) -> None:
        if ret.original_transaction_id in self.seen:
            return
        self.seen.add(ret.original_transaction_id)
        origin = self.incoming.get(ret.original_transaction_id)
        if origin is None:
            return
        bank, ct = origin
        account = self.accounts.get((bank, ct.debtor_account))
        if account is not None:
            account.balance_minor += ret.amount_minor
        self._position(participant, ret.currency, ret.amount_minor)

    def feed(self, participant: str, after: int) -> list[dict[str, Any]]:
        with self._lock:
            self._process_due()
            return [m for m in self.feeds[participant] if m["sequence"] > after][:200]

    def settlement(self, participant: str, day: date) -> dict[str, Any]:
        with self._lock:
            self._process_due()
            net = dict(self.positions[participant][day])
            return {"participant": participant, "date": day.isoformat(), "net_minor": net}

    # -- the clearing house's own decisions

    def _process_due(self) -> None:
        now = time.monotonic()
        due = [p for p in self.pending if p.due <= now]
        self.pending = [p for p in self.pending if p.due > now]
        for item in due:
            if item.action == "answer":
                self._answer(item)
            else:
                self._return(item)

    def _answer(self, item: _Pending) -> None:
        ct = item.transfer
        account = self.accounts.get((ct.creditor_bank, ct.creditor_account))
        reason = None
        if ct.creditor_bank not in DEMO_BANKS or account is None:
            reason = "AC01"
        elif account.status == "closed":
            reason = "AC04"
        elif account.status == "frozen":
            reason = "AC06"
        elif account.name != ct.creditor_name:
            reason = "BE01"
        report = clearing.StatusReport(
            message_id=uuid_utils.uuid7().hex,
            original_message_id=ct.message_id,
            transaction_id=ct.transaction_id,
            status="RJCT" if reason else "ACSC",
            reason=reason,
        )
        self._publish(item.sender, clearing.PACS002, clearing.build_pacs002(report))
        if reason is None and account is not None:
            account.balance_minor += ct.amount_minor
            self._position(item.sender, ct.currency, ct.amount_minor)
            if self._random.random() < self.return_share:
                self.pending.append(
                    _Pending(time.monotonic() + self.return_delay, "return", item.sender, ct)
                )

    def _return(self, item: _Pending) -> None:
        ct = item.transfer
        account = self.accounts.get((ct.creditor_bank, ct.creditor_account))
        if account is not None:
            account.balance_minor -= ct.amount_minor
        ret = clearing.PaymentReturn(
            message_id=uuid_utils.uuid7().hex,
            return_id=uuid_utils.uuid7().hex,
            original_message_id=ct.message_id,
            original_transaction_id=ct.transaction_id,
            amount_minor=ct.amount_minor,
            currency=ct.currency,
            reason="MS02",
            returning_bank=ct.creditor_bank,
            receiving_bank=item.sender,
        )
        self._position(item.sender, ct.currency, -ct.amount_minor)
        self._publish(item.sender, clearing.PACS004, clearing.build_pacs004(ret))

    # -- demo banks

    def open_account(self, bank: str, number: str, name: str, status: str = "active") -> None:
        with self._lock:
            self.accounts[(bank, number)] = SimAccount(name, status, 10_000_000)

    def account(self, bank: str, number: str) -> SimAccount | None:
        with self._lock:
            self._process_due()
            return self.accounts.get((bank, number))

    def send_credit(
        self,
        bank: str,
        from_account: str,
        to_participant: str,
        to_account: str,
        to_name: str,
        amount_minor: int,
        currency: str,
        memo: str = "",
    ) -> str:
        """A demo bank's customer pays a participant's customer: a pacs.008 into its feed."""
        with self._lock:
            source = self.accounts.get((bank, from_account))
            if source is None:
                raise KeyError("unknown demo account")
            tx_id = uuid_utils.uuid7().hex
            ct = clearing.CreditTransfer(
                message_id=tx_id,
                transaction_id=tx_id,
                amount_minor=amount_minor,
                currency=currency,
                settlement_date=business_date(utcnow()),
                debtor_bank=bank,
                debtor_account=from_account,
                debtor_name=source.name,
                creditor_bank=to_participant,
                creditor_account=to_account,
                creditor_name=to_name,
                remittance=memo,
            )
            source.balance_minor -= amount_minor
            self.incoming[tx_id] = (bank, ct)
            self._position(to_participant, currency, -amount_minor)
            self._publish(to_participant, clearing.PACS008, clearing.build_pacs008(ct))
            return tx_id


class _AccountOpen(BaseModel):
    number: str = Field(pattern=r"^\d{8,34}$")
    name: str = Field(min_length=1, max_length=100)
    status: str = Field(default="active", pattern=r"^(active|closed|frozen)$")


class _CreditSend(BaseModel):
    from_account: str
    to_participant: str = Field(pattern=r"^[A-Z0-9]{8}$")
    to_account: str = Field(min_length=1, max_length=34)
    to_name: str = Field(min_length=1, max_length=100)
    amount_minor: int = Field(gt=0, le=10**15)
    currency: str = "CNY"
    memo: str = ""


class _Config(BaseModel):
    answer_delay: float | None = Field(default=None, ge=0)
    return_share: float | None = Field(default=None, ge=0, le=1)
    return_delay: float | None = Field(default=None, ge=0)


def create_sim_app(house: ClearingHouse | None = None) -> FastAPI:
    house = house or ClearingHouse()
    app = FastAPI(title="Zhangyin clearing-house simulator", version="1")
    app.state.house = house

    @app.post("/participants/{bic}/messages", status_code=202)
    async def submit(bic: str, request: Request) -> dict[str, str]:
        body = (await request.body()).decode("utf-8", errors="replace")
        try:
            house.submit(bic, body)
        except clearing.MessageInvalid as exc:
            raise HTTPException(422, f"schema-invalid message: {exc}") from exc
        return {"status": "accepted"}

    @app.get("/participants/{bic}/feed")
    def feed(bic: str, after: int = 0) -> dict[str, Any]:
        return {"messages": house.feed(bic, after)}

    @app.get("/participants/{bic}/settlement")
    def settlement(bic: str, date: date) -> dict[str, Any]:
        return house.settlement(bic, date)

    @app.post("/sim/banks/{bic}/accounts", status_code=201)
    def open_account(bic: str, body: _AccountOpen) -> dict[str, str]:
        if bic not in DEMO_BANKS:
            raise HTTPException(404, "unknown demo bank")
        house.open_account(bic, body.number, body.name, body.status)
        return {"bank": bic, "number": body.number}

    @app.get("/sim/banks/{bic}/accounts/{number}")
    def get_account(bic: str, number: str) -> dict[str, Any]:
        account = house.account(bic, number)
        if account is None:
            raise HTTPException(404, "unknown account")
        return {
            "name": account.name,
            "status": account.status,
            "balance_minor": account.balance_minor,
        }

    @app.post("/sim/banks/{bic}/credit-transfers", status_code=201)
    def send_credit(bic: str, body: _CreditSend) -> dict[str, str]:
        try:
            tx_id = house.send_credit(
                bic,
                body.from_account,
                body.to_participant,
                body.to_account,
                body.to_name,
                body.amount_minor,
                body.currency,
                body.memo,
            )
        except KeyError as exc:
            raise HTTPException(404, "unknown demo account") from exc
        return {"transaction_id": tx_id}

    @app.post("/sim/config")
    def configure(body: _Config) -> dict[str, float]:
        with house._lock:
            if body.answer_delay is not None:
                house.answer_delay = body.answer_delay
            if body.return_share is not None:
                house.return_share = body.return_share
            if body.return_delay is not None:
                house.return_delay = body.return_delay
            return {
                "answer_delay": house.answer_delay,
                "return_share": house.return_share,
                "return_delay": house.return_delay,
            }

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RunningSimulator:
    """The simulator served by uvicorn in a background thread (for tests and benches)."""

    def __init__(self, house: ClearingHouse | None = None, port: int | None = None) -> None:
        import uvicorn

        self.house = house or ClearingHouse()
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_sim_app(self.house),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> RunningSimulator:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("clearing simulator did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(host: str, port: int, answer_delay: float, return_share: float) -> None:
    import uvicorn

    house = ClearingHouse(answer_delay=answer_delay, return_share=return_share, return_delay=30)
    uvicorn.run(create_sim_app(house), host=host, port=port, log_level="info")
