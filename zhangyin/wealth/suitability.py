"""Risk-tolerance questionnaire (风险测评) and the suitability rule (投资者适当性).

The questionnaire is data: each question's options carry a score; the total maps
to a level C1 (conservative) to C5 (aggressive). Answering that no loss at all is
acceptable caps the level at C1 whatever the total. A result is valid for one
year. A customer may buy a product of risk R_n only when their level is C_n or
higher; deposits carry no market risk and need no assessment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from zhangyin.wealth.errors import InvalidAnswers

QUESTIONNAIRE_VERSION = "2026-01"
VALIDITY = timedelta(days=365)


@dataclass(frozen=True)
class Option:
    key: str
    zh: str
    en: str
    score: int


@dataclass(frozen=True)
class Question:
    key: str
    zh: str
    en: str
    options: tuple[Option, ...]


def _q(key: str, zh: str, en: str, *options: tuple[str, str, int]) -> Question:
    return Question(
        key,
        zh,
        en,
        tuple(Option(chr(ord("A") + i), o[0], o[1], o[2]) for i, o in enumerate(options)),
    )


QUESTIONS: tuple[Question, ...] = (
    _q(
        "age",
        "您的年龄是？",
        "How old are you?",
        ("65 岁以上", "Over 65", 1),
        ("51-65 岁", "51 to 65", 2),
        ("18-30 岁", "18 to 30", 3),
        ("31-50 岁", "31 to 50", 4),
    ),
    _q(
        "income",
        "您家庭的年收入约为？",
        "Your household's yearly income?",
        ("10 万元以下", "Under 100k CNY", 1),
        ("10-50 万元", "100k to 500k CNY", 2),
        ("50-100 万元", "500k to 1m CNY", 3),
        ("100 万元以上", "Over 1m CNY", 4),
    ),
    _q(
        "share",
        "您计划用于投资的资金占家庭金融资产的比例？",
        "What share of your household's financial assets will you invest?",
        ("10% 以下", "Under 10%", 4),
        ("10%-30%", "10% to 30%", 3),
        ("30%-50%", "30% to 50%", 2),
        ("50% 以上", "Over 50%", 1),
    ),
    _q(
        "experience",
        "您投资基金、股票、理财等产品的经验有多久？",
        "How long have you invested in funds, shares or wealth products?",
        ("没有经验", "Never", 1),
        ("2 年以下", "Under 2 years", 2),
        ("2-5 年", "2 to 5 years", 3),
        ("5 年以上", "Over 5 years", 4),
    ),
    _q(
        "knowledge",
        "您对金融产品的了解程度？",
        "How well do you know financial products?",
        ("基本不了解", "Hardly at all", 1),
        ("了解存款和理财", "Deposits and wealth products", 2),
        ("了解基金和债券", "Funds and bonds too", 3),
        ("了解股票、衍生品", "Shares and derivatives too", 4),
    ),
    _q(
        "horizon",
        "您的投资期限一般是？",
        "How long do you usually invest for?",
        ("1 年以内", "Under 1 year", 1),
        ("1-3 年", "1 to 3 years", 2),
        ("3-5 年", "3 to 5 years", 3),
        ("5 年以上", "Over 5 years", 4),
    ),
    _q(
        "goal",
        "您的投资目标是？",
        "What is your investment goal?",
        ("保本，资产不受损失", "Keep my capital safe", 1),
        ("稳健增长，收益略高于存款", "Steady growth, a little above deposits", 2),
        ("收益与风险平衡", "Balance return and risk", 3),
        ("追求较高收益，能承受较大波动", "Higher return, large swings are fine", 4),
    ),
    _q(
        "loss",
        "您能承受的最大年度亏损是？",
        "What is the largest yearly loss you can accept?",
        ("不能承受任何亏损", "No loss at all", 0),
        ("10% 以内", "Up to 10%", 2),
        ("10%-30%", "10% to 30%", 3),
        ("30% 以上", "Over 30%", 4),
    ),
)

#: Score bounds of each level: a total of at least LEVEL_FLOORS[n] gives C(n+1).
LEVEL_FLOORS = (0, 15, 21, 26, 30)
#: The answer that caps the level at C1 (no loss accepted).
NO_LOSS = ("loss", "A")

LEVEL_NAMES = {
    1: ("保守型", "Conservative"),
    2: ("稳健型", "Moderately conservative"),
    3: ("平衡型", "Balanced"),
    4: ("成长型", "Growth"),
    5: ("进取型", "Aggressive"),
}


@dataclass(frozen=True)
class Assessment:
    score: int
    level: int


def score_answers(answers: dict[str, str]) -> Assessment:
    """Score a full set of answers ({question key: option key}); refuse partial or unknown ones."""
    by_key = {q.key: q for q in QUESTIONS}
    if set(answers) != set(by_key):
        raise InvalidAnswers()
    total = 0
    for key, choice in answers.items():
        option = next((o for o in by_key[key].options if o.key == choice), None)
        if option is None:
            raise InvalidAnswers()
        total += option.score
    level = max(i + 1 for i, floor in enumerate(LEVEL_FLOORS) if total >= floor)
    if answers.get(NO_LOSS[0]) == NO_LOSS[1]:
        level = 1
    return Assessment(total, level)


def may_buy(customer_level: int, product_risk: int) -> bool:
    """The suitability rule: risk R_n only for customers of level C_n or higher."""
    return product_risk <= customer_level
