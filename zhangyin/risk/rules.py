"""The rule language the bank writes: a small, safe expression language (no `eval`).

A rule is `<condition> -> <outcome>`, for example

    payee.first_time and amount >= 5000 and hour_local in 0..6 -> challenge

The text is tokenised, parsed into an AST by a recursive-descent parser, checked
against the feature catalogue (an unknown name is an error at its position), and
compiled into nested Python closures, so evaluating a rule costs a few
microseconds and can do nothing but read features and compute.

Semantics chosen so that missing data never makes a rule fire by accident:
a comparison with a missing value (`null`) is false, arithmetic with a missing
value is missing, division by zero is missing.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

OUTCOMES = ("allow", "challenge", "delay", "hold", "block")
#: Severity order: the decision is the most severe outcome among the rules that act.
SEVERITY = {name: rank for rank, name in enumerate(OUTCOMES)}

Features = Mapping[str, Any]
Evaluator = Callable[[Features], Any]

MAX_RULE_LENGTH = 2000
MAX_DEPTH = 40


class RuleSyntaxError(Exception):
    """Bad rule text: `position` is the 1-based character the problem starts at."""

    def __init__(self, text: str, position: int, problem_en: str, problem_zh: str) -> None:
        self.text = text
        self.position = position
        self.problem_en = problem_en
        self.problem_zh = problem_zh
        super().__init__(f"{problem_en} at position {position}\n{self.pointer()}")

    def pointer(self) -> str:
        """The rule line with a caret under the offending character."""
        line = self.text.replace("\n", " ")
        return f"{line}\n{' ' * (self.position - 1)}^"


@dataclass(frozen=True)
class Token:
    kind: str  # num, str, name, op, kw, end
    value: str
    pos: int  # 0-based offset


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d[\d_]*(?:\.\d+)?)
  | (?P<str>'[^'\n]*'|"[^"\n]*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>->|\.\.|==|!=|<=|>=|[<>+\-*/(),\[\]])
    """,
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "not", "in", "true", "false", "null"}
FUNCTIONS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise RuleSyntaxError(
                text,
                pos + 1,
                f"unexpected character {text[pos]!r}",
                f"无法识别的字符 {text[pos]!r}",
            )
        kind = match.lastgroup or ""
        value = match.group()
        if kind != "ws":
            if kind == "name" and value in KEYWORDS:
                kind = "kw"
            tokens.append(Token(kind, value, pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class InRange(Node):
    subject: Node
    low: Node
    high: Node
    negated: bool


@dataclass(frozen=True)
class InList(Node):
    subject: Node
    items: tuple[Node, ...]
    negated: bool


@dataclass(frozen=True)
class Call(Node):
    function: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class ParsedRule:
    condition: Node
    outcome: str
    names: frozenset[str]


class _Parser:
    def __init__(self, text: str, known: Collection[str] | None) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.known = known
        self.names: set[str] = set()

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, token: Token, en: str, zh: str) -> RuleSyntaxError:
        return RuleSyntaxError(self.text, token.pos + 1, en, zh)

    def describe(self, token: Token) -> str:
        return "the end of the rule" if token.kind == "end" else repr(token.value)

    def accept(self, kind: str, value: str | None = None) -> Token | None:
        token = self.tok
        if token.kind == kind and (value is None or token.value == value):
            self.i += 1
            return token
        return None

    def expect(self, kind: str, value: str, en_what: str, zh_what: str) -> Token:
        token = self.accept(kind, value)
        if token is None:
            found = self.describe(self.tok)
            raise self.error(self.tok, f"expected {en_what}, found {found}", f"此处应为{zh_what}")
        return token

    # -- grammar
    def rule(self) -> ParsedRule:
        if not self.text.strip():
            raise self.error(self.tok, "the rule is empty", "规则内容为空")
        condition = self.expr()
        self.expect("op", "->", "'->' and an outcome", "“->”及处置结果")
        outcome = self.tok
        if outcome.kind != "name" or outcome.value not in OUTCOMES:
            raise self.error(
                outcome,
                f"expected an outcome ({', '.join(OUTCOMES)}), found {self.describe(outcome)}",
                f"处置结果应为 {', '.join(OUTCOMES)} 之一",
            )
        self.i += 1
        if self.tok.kind != "end":
            raise self.error(
                self.tok,
                f"unexpected {self.describe(self.tok)} after the outcome",
                "处置结果之后不应再有内容",
            )
        return ParsedRule(condition, outcome.value, frozenset(self.names))

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(self.tok, "the rule is nested too deeply", "规则嵌套层级过深")
        try:
            return self.or_expr()
        finally:
            self.depth -= 1

    def or_expr(self) -> Node:
        node = self.and_expr()
        while (token := self.accept("kw", "or")) is not None:
            node = Binary(token.pos, "or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while (token := self.accept("kw", "and")) is not None:
            node = Binary(token.pos, "and", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        token = self.accept("kw", "not")
        if token is not None:
            return Unary(token.pos, "not", self.not_expr())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum()
        token = self.tok
        if token.kind == "op" and token.value in ("==", "!=", "<", "<=", ">", ">="):
            self.i += 1
            return Binary(token.pos, token.value, left, self.sum())
        negated = False
        if token.kind == "kw" and token.value == "not":
            nxt = self.tokens[self.i + 1]
            if nxt.kind == "kw" and nxt.value == "in":
                self.i += 1
                negated = True
        if self.accept("kw", "in") is not None:
            if self.accept("op", "[") is not None:
                items = [self.sum()]
                while self.accept("op", ",") is not None:
                    items.append(self.sum())
                self.expect("op", "]", "']' to close the list", "“]”")
                return InList(token.pos, left, tuple(items), negated)
            low = self.sum()
            self.expect("op", "..", "'..' in a range such as 0..6", "区间符号“..”，如 0..6")
            return InRange(token.pos, left, low, self.sum(), negated)
        return left

    def sum(self) -> Node:
        node = self.term()
        while self.tok.kind == "op" and self.tok.value in ("+", "-"):
            token = self.tok
            self.i += 1
            node = Binary(token.pos, token.value, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.tok.kind == "op" and self.tok.value in ("*", "/"):
            token = self.tok
            self.i += 1
            node = Binary(token.pos, token.value, node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.accept("op", "-")
        if token is not None:
            return Unary(token.pos, "-", self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.tok
        if token.kind == "num":
            self.i += 1
            text = token.value.replace("_", "")
            return Literal(token.pos, float(text) if "." in text else int(text))
        if token.kind == "str":
            self.i += 1
            return Literal(token.pos, token.value[1:-1])
        if token.kind == "kw" and token.value in ("true", "false", "null"):
            self.i += 1
            return Literal(token.pos, {"true": True, "false": False, "null": None}[token.value])
        if token.kind == "op" and token.value == "(":
            self.i += 1
            node = self.expr()
            self.expect("op", ")", "')'", "“)”")
            return node
        if token.kind == "name":
            self.i += 1
            if self.accept("op", "(") is not None:
                if token.value not in FUNCTIONS:
                    raise self.error(
                        token,
                        f"unknown function {token.value!r} (known: {', '.join(FUNCTIONS)})",
                        f"未知函数 {token.value!r}",
                    )
                args = [self.expr()]
                while self.accept("op", ",") is not None:
                    args.append(self.expr())
                self.expect("op", ")", "')'", "“)”")
                if token.value == "abs" and len(args) != 1:
                    raise self.error(token, "abs takes one argument", "abs 只接受一个参数")
                return Call(token.pos, token.value, tuple(args))
            if self.known is not None and token.value not in self.known:
                close = difflib.get_close_matches(token.value, list(self.known), n=1)
                hint_en = f"; did you mean {close[0]!r}?" if close else ""
                hint_zh = f"，是否应为 {close[0]!r}？" if close else ""
                raise self.error(
                    token,
                    f"unknown feature {token.value!r}{hint_en}",
                    f"未知特征 {token.value!r}{hint_zh}",
                )
            self.names.add(token.value)
            return Name(token.pos, token.value)
        raise self.error(
            token,
            f"expected a value, a feature name or '(', found {self.describe(token)}",
            "此处应为数值、特征名或“(”",
        )


def parse(text: str, known: Collection[str] | None = None) -> ParsedRule:
    """Parse rule text; raise `RuleSyntaxError` pointing at the problem."""
    if len(text) > MAX_RULE_LENGTH:
        raise RuleSyntaxError(
            text[:80],
            1,
            f"the rule is longer than {MAX_RULE_LENGTH} characters",
            f"规则长度超过 {MAX_RULE_LENGTH} 个字符",
        )
    return _Parser(text, known).rule()


# --------------------------------------------------------------------------- compile


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(op: str) -> Callable[[Any, Any], bool]:
    def eq(a: Any, b: Any) -> bool:
        return bool(a == b)

    def ne(a: Any, b: Any) -> bool:
        return a is not None and b is not None and bool(a != b)

    def ordered(check: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
        def run(a: Any, b: Any) -> bool:
            if a is None or b is None:
                return False
            if _num(a) != _num(b):
                return False
            return check(a, b)

        return run

    table: dict[str, Callable[[Any, Any], bool]] = {
        "==": eq,
        "!=": ne,
        "<": ordered(lambda a, b: a < b),
        "<=": ordered(lambda a, b: a <= b),
        ">": ordered(lambda a, b: a > b),
        ">=": ordered(lambda a, b: a >= b),
    }
    return table[op]


def _arith(op: str, a: Any, b: Any) -> Any:
    if not (_num(a) and _num(b)):
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return None if b == 0 else a / b


_ORDERED: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_NUMBER_TYPES = (int, float)


def _chain(node: Node, op: str) -> list[Node]:
    if isinstance(node, Binary) and node.op == op:
        return _chain(node.left, op) + _chain(node.right, op)
    return [node]


def _feature_vs_number(node: Binary) -> bool:
    return (
        isinstance(node.left, Name) and isinstance(node.right, Literal) and _num(node.right.value)
    )


def _fast_compare(node: Binary) -> Evaluator:
    """`feature <op> number`, the commonest comparison, in one closure (same semantics)."""
    assert isinstance(node.left, Name)
    assert isinstance(node.right, Literal)
    name, const, compare = node.left.name, node.right.value, _ORDERED[node.op]

    def run(f: Features) -> bool:
        value = f.get(name)
        # type() not isinstance(): a bool is not a number here, as in _num.
        return type(value) in _NUMBER_TYPES and bool(compare(value, const))

    return run


def _compile(node: Node) -> Evaluator:
    if isinstance(node, Literal):
        value = node.value
        return lambda f: value
    if isinstance(node, Name):
        name = node.name
        return lambda f: f.get(name)
    if isinstance(node, Unary):
        inner = _compile(node.operand)
        if node.op == "not":
            return lambda f: not inner(f)

        def negate(f: Features) -> Any:
            v = inner(f)
            return -v if _num(v) else None

        return negate
    if isinstance(node, Binary) and node.op in ("and", "or"):
        # Flatten chains (a and b and c) into one loop: rules are mostly long conjunctions.
        parts = [_compile(p) for p in _chain(node, node.op)]
        if node.op == "and":

            def conjunction(f: Features) -> bool:
                for part in parts:  # noqa: SIM110 - a loop beats all(genexpr) on the hot path
                    if not part(f):
                        return False
                return True

            return conjunction

        def disjunction(f: Features) -> bool:
            for part in parts:  # noqa: SIM110 - a loop beats any(genexpr) on the hot path
                if part(f):
                    return True
            return False

        return disjunction
    if isinstance(node, Binary) and node.op in _ORDERED and _feature_vs_number(node):
        return _fast_compare(node)
    if isinstance(node, Binary):
        left, right = _compile(node.left), _compile(node.right)
        if node.op in ("+", "-", "*", "/"):
            op = node.op
            return lambda f: _arith(op, left(f), right(f))
        compare = _compare(node.op)
        return lambda f: compare(left(f), right(f))
    if isinstance(node, InRange):
        subject, low, high = _compile(node.subject), _compile(node.low), _compile(node.high)
        negated = node.negated

        def in_range(f: Features) -> bool:
            v, lo, hi = subject(f), low(f), high(f)
            if not (_num(v) and _num(lo) and _num(hi)):
                return False
            return bool(lo <= v <= hi) != negated

        return in_range
    if isinstance(node, InList):
        subject = _compile(node.subject)
        items = [_compile(item) for item in node.items]
        negated = node.negated

        def in_list(f: Features) -> bool:
            v = subject(f)
            if v is None:
                return False
            return any(v == item(f) for item in items) != negated

        return in_list
    if isinstance(node, Call):
        function = FUNCTIONS[node.function]
        args = [_compile(arg) for arg in node.args]

        def call(f: Features) -> Any:
            values = [a(f) for a in args]
            if not all(_num(v) for v in values):
                return None
            return function(*values)

        return call
    raise TypeError(f"unknown node {node!r}")


@dataclass(frozen=True)
class CompiledRule:
    text: str
    outcome: str
    names: frozenset[str]
    condition: Evaluator

    def matches(self, features: Features) -> bool:
        return bool(self.condition(features))


def compile_rule(text: str, known: Collection[str] | None = None) -> CompiledRule:
    """Parse, check and compile; raise `RuleSyntaxError` for bad text."""
    parsed = parse(text, known)
    return CompiledRule(text, parsed.outcome, parsed.names, _compile(parsed.condition))
