"""The small, safe expression language of procedures: conditions, guards and routing.

Agents write Python-like expressions (`perte >= 50 and not salarie`, `adresse.city == "Valmont"`).
They are parsed with `ast.parse(mode="eval")` and evaluated by walking a whitelist of node
types: nothing is ever handed to `eval`/`compile`, there is no attribute access except the three
parts of an address, no subscripts, no calls but four helper functions, and numbers only support
+ - * / (no `**`, so no `9**9**9`). Length and depth are bounded so a stored expression cannot
cost more than a few microseconds.

Evaluation never raises: a missing answer is `None`, an ordering comparison between values of
different kinds (text and number, a missing answer and a date) is false, arithmetic that cannot
be done gives `None`. Answers are stored as JSON (numbers as text, dates as ISO text), so
a comparison between a number and numeric text, or a date and ISO text, compares them as
numbers or dates. See docs/procedures-expressions.md for the agents' guide.
"""

from __future__ import annotations

import ast
import datetime
import decimal
import difflib
import functools
import logging
import re
from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

MAX_LENGTH = 500
MAX_DEPTH = 20

# The parts of an address answer; French spellings are accepted for agents who think in French.
ADDRESS_PARTS = {
    "street": "street", "rue": "street",
    "postcode": "postcode", "code_postal": "postcode",
    "city": "city", "ville": "city", "commune": "city",
}
BUILTIN_NAMES = frozenset({"today"})
FUNCTIONS = {"len": 1, "lower": 1, "contains": 2, "days_since": 1}
RESERVED_NAMES = BUILTIN_NAMES | frozenset(FUNCTIONS)

_NUMERIC_TEXT = re.compile(r"^\s*-?\d+(?:[.,]\d+)?\s*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DECIMAL_CONTEXT = decimal.Context(prec=28, Emax=10_000, Emin=-10_000)

_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div)


def _describe(node: ast.AST) -> str:
    """What a refused construction is, in words an agent understands."""
    descriptions = {
        ast.Subscript: _("l'accès par crochets (x[…])"),
        ast.Lambda: _("les fonctions lambda"),
        ast.ListComp: _("les compréhensions de liste"),
        ast.SetComp: _("les compréhensions d'ensemble"),
        ast.DictComp: _("les compréhensions de dictionnaire"),
        ast.GeneratorExp: _("les expressions génératrices"),
        ast.Dict: _("les dictionnaires ({…})"),
        ast.Set: _("les ensembles ({…})"),
        ast.IfExp: _("l'expression « … if … else … »"),
        ast.JoinedStr: _("les chaînes formatées (f\"…\")"),
        ast.NamedExpr: _("l'affectation (:=)"),
        ast.Starred: _("l'opérateur *"),
        ast.Pow: _("la puissance (**)"),
        ast.Mod: _("le modulo (%)"),
        ast.FloorDiv: _("la division entière (//)"),
        ast.MatMult: _("l'opérateur @"),
        ast.LShift: _("le décalage (<<)"),
        ast.RShift: _("le décalage (>>)"),
        ast.BitAnd: _("l'opérateur &"),
        ast.BitOr: _("l'opérateur |"),
        ast.BitXor: _("l'opérateur ^"),
        ast.Invert: _("l'opérateur ~"),
        ast.Is: _("« is » (utilisez ==)"),
        ast.IsNot: _("« is not » (utilisez !=)"),
        ast.Await: _("« await »"),
        ast.Yield: _("« yield »"),
        ast.YieldFrom: _("« yield »"),
    }
    return str(descriptions.get(type(node), type(node).__name__))


class ExpressionError(ValueError):
    """An expression that cannot be saved; `message` is French and names the position."""

    def __init__(self, message: str, *, position: int | None = None) -> None:
        self.message = message
        self.position = position
        if position is not None:
            message = _("%(message)s (caractère %(position)s)") % {
                "message": message, "position": position}
        super().__init__(message)


def _position(text: str, node: ast.AST) -> int | None:
    """1-based character position of a node (the AST counts UTF-8 bytes on each line)."""
    lineno = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    if lineno is None or col is None:
        return None
    lines = text.splitlines(keepends=True)
    before = "".join(lines[: lineno - 1])
    line = lines[lineno - 1] if lineno - 1 < len(lines) else ""
    return len(before) + len(line.encode()[:col].decode(errors="ignore")) + 1


class _Checker:
    """Walks the parsed tree once at compile time: whitelist, depth, names."""

    def __init__(self, text: str, names: set[str] | None) -> None:
        self.text = text
        self.known = None if names is None else set(names) | BUILTIN_NAMES
        self.used: set[str] = set()
        self.addresses: set[str] = set()

    def fail(self, message: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(message, position=_position(self.text, node))

    def refuse(self, node: ast.AST) -> ExpressionError:
        return self.fail(_("Construction non autorisée : %(what)s") % {"what": _describe(node)},
                         node)

    def check(self, node: ast.AST, depth: int = 1) -> None:
        if depth > MAX_DEPTH:
            raise self.fail(_("L'expression est trop imbriquée (%(max)s niveaux au plus).")
                            % {"max": MAX_DEPTH}, node)
        method = getattr(self, f"check_{type(node).__name__}", None)
        if method is None:
            raise self.refuse(node)
        method(node, depth)

    def children(self, nodes, depth: int) -> None:
        for child in nodes:
            self.check(child, depth + 1)

    def check_Constant(self, node: ast.Constant, depth: int) -> None:
        value = node.value
        if value is None or isinstance(value, bool | int | float | str):
            return
        raise self.fail(_("Valeur non autorisée : %(value)s") % {"value": repr(value)}, node)

    def check_Name(self, node: ast.Name, depth: int) -> None:
        if self.known is not None and node.id not in self.known:
            raise self.unknown(node.id, node)
        self.used.add(node.id)

    def unknown(self, name: str, node: ast.AST) -> ExpressionError:
        known = sorted(self.known or ())
        message = _("Le nom « %(name)s » est inconnu.") % {"name": name}
        close = difflib.get_close_matches(name, known, n=1)
        if close:
            message += " " + _("Vouliez-vous dire « %(name)s » ?") % {"name": close[0]}
        message += " " + _("Noms connus : %(names)s.") % {"names": ", ".join(known)}
        return self.fail(message, node)

    def check_List(self, node: ast.List, depth: int) -> None:
        self.children(node.elts, depth)

    check_Tuple = check_List

    def check_Attribute(self, node: ast.Attribute, depth: int) -> None:
        if node.attr not in ADDRESS_PARTS:
            raise self.fail(
                _("L'attribut « %(attr)s » n'existe pas : seule une adresse a des parties "
                  "(%(parts)s).") % {"attr": node.attr,
                                     "parts": ", ".join(sorted(ADDRESS_PARTS))}, node)
        if not isinstance(node.value, ast.Name):
            raise self.fail(_("Seul le nom d'un champ adresse peut être suivi d'un point "
                              "(par exemple adresse.city)."), node)
        self.check(node.value, depth + 1)
        self.addresses.add(node.value.id)

    def check_Compare(self, node: ast.Compare, depth: int) -> None:
        for op in node.ops:
            if not isinstance(op, _COMPARISONS):
                raise self.fail(_("Construction non autorisée : %(what)s")
                                % {"what": _describe(op)}, node)
        self.children([node.left, *node.comparators], depth)

    def check_BoolOp(self, node: ast.BoolOp, depth: int) -> None:
        self.children(node.values, depth)

    def check_UnaryOp(self, node: ast.UnaryOp, depth: int) -> None:
        if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            raise self.fail(_("Construction non autorisée : %(what)s")
                            % {"what": _describe(node.op)}, node)
        self.check(node.operand, depth + 1)

    def check_BinOp(self, node: ast.BinOp, depth: int) -> None:
        if not isinstance(node.op, _ARITHMETIC):
            raise self.fail(_("Construction non autorisée : %(what)s")
                            % {"what": _describe(node.op)}, node)
        # `a + b + c + …` nests to the left; a chain of the same operator reads flat, so it
        # does not count as nesting (the length limit still bounds it).
        chained = isinstance(node.left, ast.BinOp) and type(node.left.op) is type(node.op)
        self.check(node.left, depth if chained else depth + 1)
        self.check(node.right, depth + 1)

    def check_Call(self, node: ast.Call, depth: int) -> None:
        available = ", ".join(sorted(FUNCTIONS))
        if not isinstance(node.func, ast.Name):
            raise self.fail(_("Seules ces fonctions peuvent être appelées : %(functions)s.")
                            % {"functions": available}, node)
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.fail(_("La fonction « %(name)s » n'existe pas. Fonctions disponibles : "
                              "%(functions)s.") % {"name": name, "functions": available}, node)
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise self.fail(_("La fonction « %(name)s » s'appelle avec de simples valeurs "
                              "séparées par des virgules.") % {"name": name}, node)
        if len(node.args) != FUNCTIONS[name]:
            raise self.fail(_("La fonction « %(name)s » attend %(count)s valeur(s), "
                              "%(given)s donnée(s).")
                            % {"name": name, "count": FUNCTIONS[name],
                               "given": len(node.args)}, node)
        self.children(node.args, depth)


class Expression:
    """A checked expression, ready to be evaluated any number of times."""

    def __init__(self, text: str, tree: ast.expr, names: set[str], addresses: set[str]) -> None:
        self.text = text
        self._tree = tree
        self._names = frozenset(names)
        self._addresses = frozenset(addresses)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    @property
    def names(self) -> set[str]:
        """The answer names the expression reads (`today` included when used)."""
        return set(self._names)

    @property
    def address_names(self) -> set[str]:
        """Names used with a part (`adresse.city`): they must be address fields."""
        return set(self._addresses)

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The value of the expression for these answers; never raises on bad data."""
        try:
            with decimal.localcontext(_DECIMAL_CONTEXT):
                return _Evaluator(context).eval(self._tree)
        except (TypeError, ValueError, ArithmeticError, AttributeError, RecursionError):
            logger.info("Expression %r gave no value for this data.", self.text)
            return None


def compile_expression(text: str, *, names: set[str] | None = None) -> Expression:
    """Parse and check `text`; with `names`, any other name is refused (at save time)."""
    if not isinstance(text, str):
        raise ExpressionError(_("L'expression doit être un texte."))
    stripped = text.strip()
    if not stripped:
        raise ExpressionError(_("L'expression est vide."))
    if len(stripped) > MAX_LENGTH:
        raise ExpressionError(_("L'expression est trop longue (%(max)s caractères au plus, "
                                "%(length)s ici).") % {"max": MAX_LENGTH,
                                                       "length": len(stripped)})
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as error:
        position = None
        if error.lineno == 1 and error.offset:
            position = error.offset
        raise ExpressionError(_("Syntaxe incorrecte : vérifiez les guillemets, les parenthèses "
                                "et les opérateurs."), position=position) from None
    except (ValueError, MemoryError, RecursionError):
        raise ExpressionError(_("Syntaxe incorrecte.")) from None
    checker = _Checker(stripped, names)
    checker.check(tree.body)
    return Expression(stripped, tree.body, checker.used, checker.addresses)


@functools.lru_cache(maxsize=512)
def _cached(text: str) -> Expression:
    return compile_expression(text)


def is_true(text_or_expression: str | Expression | None, context: Mapping[str, Any]) -> bool:
    """Whether a condition holds. No condition (empty text) always holds.

    An expression that cannot be compiled (saved before a rule changed) is false and logged:
    a broken guard must block a transition rather than let it through.
    """
    if isinstance(text_or_expression, Expression):
        expression = text_or_expression
    else:
        if not text_or_expression or not text_or_expression.strip():
            return True
        try:
            expression = _cached(text_or_expression.strip())
        except ExpressionError as error:
            logger.warning("Invalid stored expression %r: %s", text_or_expression, error)
            return False
    return bool(expression.evaluate(context))


# Evaluation ------------------------------------------------------------------------------------

def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def _number(value: Any) -> decimal.Decimal | None:
    """A number, or numeric text as stored in answers ("12,5"), as a Decimal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, int):
        return decimal.Decimal(value)
    if isinstance(value, float):
        return decimal.Decimal(repr(value))
    if isinstance(value, str) and _NUMERIC_TEXT.match(value):
        return decimal.Decimal(value.strip().replace(",", "."))
    return None


def _date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _comparable(left: Any, right: Any) -> tuple[Any, Any] | None:
    """The pair converted to one kind (numbers, dates, texts), or None if they differ."""
    if left is None or right is None:
        return None
    if isinstance(left, bool) or isinstance(right, bool):
        return (left, right) if isinstance(left, bool) and isinstance(right, bool) else None
    if _is_number(left) or _is_number(right):
        a, b = _number(left), _number(right)
        return None if a is None or b is None else (a, b)
    if isinstance(left, datetime.date) or isinstance(right, datetime.date):
        day_a, day_b = _date(left), _date(right)
        return None if day_a is None or day_b is None else (day_a, day_b)
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return list(left), list(right)
    if isinstance(left, dict) and isinstance(right, dict):
        return left, right
    return None


def _equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    pair = _comparable(left, right)
    return pair is not None and pair[0] == pair[1]


def _contained(item: Any, container: Any) -> bool | None:
    """`item in container`; None when the question makes no sense (a number "in" a number)."""
    if container is None:
        return False
    if isinstance(container, str):
        return item in container if isinstance(item, str) else None
    if isinstance(container, list | tuple):
        return any(_equal(item, element) for element in container)
    if isinstance(container, dict):
        return any(_equal(item, element) for element in container.values())
    return None


def _compare(op: ast.cmpop, left: Any, right: Any) -> bool:
    if isinstance(op, ast.Eq):
        return _equal(left, right)
    if isinstance(op, ast.NotEq):
        return not _equal(left, right)
    if isinstance(op, ast.In | ast.NotIn):
        inside = _contained(left, right)
        if inside is None:
            return False
        return inside if isinstance(op, ast.In) else not inside
    pair = _comparable(left, right)
    if pair is None or isinstance(pair[0], dict | bool):
        return False
    a, b = pair
    try:
        if isinstance(op, ast.Lt):
            return a < b
        if isinstance(op, ast.LtE):
            return a <= b
        if isinstance(op, ast.Gt):
            return a > b
        return a >= b
    except (TypeError, ArithmeticError):
        return False


class _Evaluator:
    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context

    def eval(self, node: ast.AST) -> Any:
        return getattr(self, f"eval_{type(node).__name__}")(node)

    def eval_Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, float):
            return decimal.Decimal(repr(node.value))
        return node.value

    def eval_Name(self, node: ast.Name) -> Any:
        if node.id in self.context:
            value = self.context[node.id]
        elif node.id == "today":
            return timezone.localdate()
        else:
            return None
        if isinstance(value, float):
            return _number(value)
        return value

    def eval_List(self, node: ast.List) -> list:
        return [self.eval(element) for element in node.elts]

    eval_Tuple = eval_List

    def eval_Attribute(self, node: ast.Attribute) -> Any:
        value = self.eval(node.value)
        if isinstance(value, Mapping):
            return value.get(ADDRESS_PARTS[node.attr])
        return None

    def eval_Compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comparator)
            if not _compare(op, left, right):
                return False
            left = right
        return True

    def eval_BoolOp(self, node: ast.BoolOp) -> Any:
        value: Any = None
        for operand in node.values:
            value = self.eval(operand)
            if isinstance(node.op, ast.And) and not value:
                return value
            if isinstance(node.op, ast.Or) and value:
                return value
        return value

    def eval_UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.eval(node.operand)
        if isinstance(node.op, ast.Not):
            return not value
        number = _number(value)
        if number is None:
            return None
        return -number if isinstance(node.op, ast.USub) else number

    def eval_BinOp(self, node: ast.BinOp) -> Any:
        left, right = _number(self.eval(node.left)), _number(self.eval(node.right))
        if left is None or right is None:
            return None
        try:
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            return left / right
        except ArithmeticError:
            return None

    def eval_Call(self, node: ast.Call) -> Any:
        args = [self.eval(arg) for arg in node.args]
        if not isinstance(node.func, ast.Name):
            # Refused at compile time (check_Call); `evaluate` turns this into None.
            raise AttributeError("only named functions can be called")
        return getattr(self, f"call_{node.func.id}")(*args)

    @staticmethod
    def call_len(value: Any) -> int:
        if isinstance(value, str | list | tuple):
            return len(value)
        return 0

    @staticmethod
    def call_lower(value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @staticmethod
    def call_contains(container: Any, item: Any) -> bool:
        return bool(_contained(item, container))

    def call_days_since(self, value: Any) -> int | None:
        day = _date(value)
        if day is None:
            return None
        today = _date(self.context.get("today")) or timezone.localdate()
        return (today - day).days
