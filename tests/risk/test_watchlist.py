"""Watch-list screening: Chinese and pinyin, traditional and simplified, fuzzy."""

from __future__ import annotations

import pytest

from zhangyin.risk.watchlist import EntryView, Screener, name_key, pinyin_key


def entry(i: int, name: str, account: str | None = None) -> EntryView:
    return EntryView(i, "pboc_fraud", name, account, "test", "t", True)


SCREENER = Screener(
    [
        entry(1, "张三丰"),
        entry(2, "深圳市某某贸易有限公司"),
        entry(3, "", "6222000011112222333"),
        entry(4, "Li Xiaolong"),
    ]
)


def test_normalisation_folds_traditional_spaces_punctuation_and_case() -> None:
    assert name_key("張 三·豐") == "张三丰"
    assert name_key("ＬＩ Xiao-Long") == "lixiaolong"
    assert pinyin_key("张三丰") == "zhangsanfeng"


@pytest.mark.parametrize(
    ("name", "entry_id", "matched_on"),
    [
        ("张三丰", 1, "name"),
        ("張三豐", 1, "name"),  # traditional characters
        ("张 三 丰", 1, "name"),
        ("ZHANG SANFENG", 1, "pinyin"),  # romanised
        ("章三丰", 1, "pinyin"),  # a homophone
        ("深圳市某某贸易有限公司 ", 2, "name"),
        ("深圳某某贸易有限公司", 2, "name"),  # fuzzy: a character missing
        ("李小龙", 4, "pinyin"),
    ],
)
def test_names_are_found_however_they_are_written(
    name: str, entry_id: int, matched_on: str
) -> None:
    [best, *_] = SCREENER.screen(name)
    assert (best.entry_id, best.matched_on) == (entry_id, matched_on)
    assert best.score >= 90


def test_account_number_match_is_exact_and_certain() -> None:
    [match] = SCREENER.screen(None, "6222000011112222333")
    assert (match.entry_id, match.score, match.matched_on) == (3, 100.0, "account_number")
    assert SCREENER.screen(None, "6222000011112222334") == []


@pytest.mark.parametrize("name", ["张伟", "王芳", "深圳市腾讯计算机系统有限公司", "Wang Fang"])
def test_unrelated_names_do_not_match(name: str) -> None:
    assert SCREENER.screen(name) == []
