"""Watch-list screening of names: Chinese and pinyin, traditional and simplified, fuzzy.

A name is normalised to simplified Chinese (OpenCC), lower case, without spaces
or punctuation, and also to toneless pinyin, so that 張三, 张 三, "Zhang San" and
"ZHANGSAN" all meet the entry 张三. Scores are rapidfuzz ratios 0-100; a pinyin-only
match (a homophone) scores slightly lower than the same characters.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from opencc import OpenCC
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhangyin.clock import utcnow
from zhangyin.risk import state
from zhangyin.risk.errors import WatchlistEntryNotFound
from zhangyin.risk.models import WatchlistEntry

DEFAULT_THRESHOLD = 90.0
PINYIN_WEIGHT = 0.95

_t2s = OpenCC("t2s")


@lru_cache(maxsize=4096)
def name_key(name: str) -> str:
    """Simplified Chinese, lower case, letters and digits only."""
    simplified = _t2s.convert(unicodedata.normalize("NFKC", name))
    return "".join(ch for ch in simplified.lower() if ch.isalnum())


@lru_cache(maxsize=4096)
def pinyin_key(name: str) -> str:
    return "".join(lazy_pinyin(name_key(name))).lower()


@dataclass(frozen=True)
class WatchlistMatch:
    entry_id: int
    list_name: str
    name: str
    score: float
    matched_on: str  # account_number, name, pinyin


@dataclass(frozen=True)
class EntryView:
    id: int
    list_name: str
    name: str
    account_number: str | None
    reason: str
    added_by: str
    active: bool


class Screener:
    """An immutable index of the active entries, rebuilt when the watch-list version changes."""

    def __init__(self, entries: list[EntryView]) -> None:
        self.entries = entries
        self.by_account = {e.account_number: e for e in entries if e.account_number}
        named = [e for e in entries if name_key(e.name)]
        self.named = named
        self.name_keys = [name_key(e.name) for e in named]
        self.pinyin_keys = [pinyin_key(e.name) for e in named]

    def screen(
        self,
        name: str | None,
        account_number: str | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        limit: int = 5,
    ) -> list[WatchlistMatch]:
        best: dict[int, WatchlistMatch] = {}

        def keep(match: WatchlistMatch) -> None:
            current = best.get(match.entry_id)
            if current is None or match.score > current.score:
                best[match.entry_id] = match

        if account_number and account_number in self.by_account:
            e = self.by_account[account_number]
            keep(WatchlistMatch(e.id, e.list_name, e.name, 100.0, "account_number"))
        key = name_key(name) if name else ""
        if key and self.named:
            for _, score, index in process.extract(
                key, self.name_keys, scorer=fuzz.ratio, score_cutoff=threshold, limit=limit
            ):
                e = self.named[index]
                keep(WatchlistMatch(e.id, e.list_name, e.name, float(score), "name"))
            spoken = pinyin_key(name or "")
            cutoff = threshold / PINYIN_WEIGHT
            if spoken and cutoff <= 100:
                for _, score, index in process.extract(
                    spoken, self.pinyin_keys, scorer=fuzz.ratio, score_cutoff=cutoff, limit=limit
                ):
                    e = self.named[index]
                    keep(
                        WatchlistMatch(
                            e.id, e.list_name, e.name, float(score) * PINYIN_WEIGHT, "pinyin"
                        )
                    )
        return sorted(best.values(), key=lambda m: -m.score)[:limit]

    def best_score(self, name: str | None, account_number: str | None) -> float:
        matches = self.screen(name, account_number, threshold=60.0, limit=1)
        return matches[0].score if matches else 0.0


def _view(row: WatchlistEntry) -> EntryView:
    return EntryView(
        row.id, row.list_name, row.name, row.account_number, row.reason, row.added_by, row.active
    )


def load_screener(session: Session) -> Screener:
    rows = session.scalars(
        select(WatchlistEntry).where(WatchlistEntry.active.is_(True)).order_by(WatchlistEntry.id)
    ).all()
    return Screener([_view(r) for r in rows])


def add_entry(
    session: Session,
    *,
    list_name: str,
    name: str,
    account_number: str | None,
    reason: str,
    added_by: str,
) -> EntryView:
    row = WatchlistEntry(
        list_name=list_name,
        name=name,
        name_key=name_key(name)[:100],
        pinyin=pinyin_key(name)[:300],
        account_number=account_number,
        reason=reason,
        added_by=added_by,
        active=True,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    state.bump_watchlist(session)
    return _view(row)


def deactivate_entry(session: Session, entry_id: int) -> EntryView:
    row = session.get(WatchlistEntry, entry_id)
    if row is None:
        raise WatchlistEntryNotFound()
    row.active = False
    state.bump_watchlist(session)
    return _view(row)


def list_entries(session: Session, *, include_inactive: bool = False) -> list[EntryView]:
    query = select(WatchlistEntry).order_by(WatchlistEntry.id)
    if not include_inactive:
        query = query.where(WatchlistEntry.active.is_(True))
    return [_view(r) for r in session.scalars(query).all()]
