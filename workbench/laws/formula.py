"""A researcher's own law, typed as a formula: ``E + A/params**alpha + B/tokens**beta``.

Why this module exists.  A registered law is Python code; a researcher who
wants to fit *their* law from the command line has only a string.  That string
is user input, so it is never run: it is parsed with :func:`ast.parse` into a
syntax tree, every node is checked against a short whitelist (numbers, names,
``+ - * / **``, unary signs and calls of :data:`FUNCTIONS`), and the sympy
expression is built here, node by node, from the checked tree.  Nothing the
user typed reaches ``eval``, ``exec``, ``sympy.sympify``/``parse_expr`` or
``lambdify``: the expression (and its derivatives) are evaluated by a small
interpreter over the sympy tree (:class:`Tape`), a list of numpy operations
with every shared subexpression computed once.  The LaTeX is printed from the
checked tree too (sympy's printer may call ``simplify``, which is slow on odd
input and imports modules that parse strings).

What the engine gets is an ordinary :class:`~workbench.laws.base.Law`:

* the variables are the names the caller says are data columns (the CLI:
  :func:`workbench.corpus.formula_columns.formula_variables`); every other name is a parameter;
* gradients are exact, derived by ``sympy.diff``;
* parameters that enter linearly are detected (the prediction is exactly
  ``sum_i c_i f_i(x; theta)`` with no ``f_i`` depending on any ``c``:
  see :func:`linear_split` for the proof the code checks), and the law then
  declares ``basis``/``basis_grad``, so the engine solves them exactly by
  variable projection as it does for the built-in separable laws; otherwise
  it declares ``formula`` and ``formula_grad``.

Default bounds and starting grids (``bounds`` overrides them, and the grid
then follows the bounds):

* a linear coefficient: ``[0, 1e30]``, solved exactly (non-negative least
  squares), as the built-in laws' coefficients are.  Scaling-law formulas
  write a term's sign explicitly (``E - A*x**-a``);
* an *exponent* (a parameter that appears only in exponents of ``**``, like
  ``alpha`` in ``A/params**alpha``): ``[0, 3]``, started on 0.05..1.5 in 30
  steps (the registered Chinchilla law's grid; 10 steps when the law is fitted
  by multi-start).  Write the sign in the formula (``x**-a`` or ``/x**a``), or
  pass ``a=-3:3``;
* any other parameter (a scale such as ``Nc`` in ``(Nc/params)**alpha``, a
  rate, an offset): positive, ``[0, 1e30]``, optimised as its logarithm; when
  it is a ratio with, an offset of or a cap on one variable (``x/p``, ``x - p``,
  ``minimum(x, p)``) it starts across that variable's fitted range (9 points
  from half the log-range below its smallest value to half above its largest),
  otherwise on 1e-6..1e6, one start a decade.
* bounds that hold the default grid keep it; narrower ones get 13 (30 for an
  exponent) starts inside them, log-spaced when the lower bound is not
  negative.

Hostile input is refused with a one-line :class:`WorkbenchError` saying what
was refused and where: more than :data:`MAX_CHARS` characters, non-ASCII
text, deeper than :data:`MAX_DEPTH` or more than :data:`MAX_NODES` nodes,
names longer than :data:`MAX_NAME` or starting with ``_``, any syntax but the
whitelist, non-finite constants (``1e400``, ``exp(1000)``).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from workbench.errors import WorkbenchError, quote
from workbench.laws.base import Law, Parameter, Preset

MAX_CHARS = 2000
MAX_NODES = 400
MAX_DEPTH = 32
MAX_NAME = 32
MAX_NAMES = 24
MAX_LINEAR = 8  # the engine enumerates 2^k active sets of non-negative least squares; beyond this, multi-start
SMALL_INTEGER = 100  # integer exponents up to this stay exact; every other constant is a float (no bignum blow-up)

#: The functions a formula may call, with their number of arguments.
FUNCTIONS: dict[str, int] = {"exp": 1, "log": 1, "sqrt": 1, "tanh": 1, "minimum": 2, "maximum": 2}
_SYMPY_FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "tanh": sp.tanh,
    "minimum": sp.Min,
    "maximum": sp.Max,
}
_FLOAT_FUNCTIONS = {
    "exp": math.exp,
    "log": math.log,
    "sqrt": math.sqrt,
    "tanh": math.tanh,
    "minimum": min,
    "maximum": max,
}

_EXPONENT_GRID = tuple(float(v) for v in np.round(np.linspace(0.05, 1.5, 30), 6))
_COARSE_EXPONENT_GRID = tuple(float(v) for v in np.round(np.linspace(0.05, 1.5, 10), 6))  # multi-start: fewer
_EXPONENT_BOUNDS = (0.0, 3.0)
_POSITIVE_BOUNDS = (0.0, 1e30)
_WIDE_GRID = tuple(float(v) for v in np.geomspace(1e-6, 1e6, 13))
_RELATIVE_GRID = (-0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)  # positions in a variable's log-range
_BOUNDED_STARTS = 13

# What each refused node is called in a message.
_REFUSED = {
    ast.Attribute: "attribute access ('.')",
    ast.Subscript: "subscripts ('[...]')",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.Compare: "comparisons",
    ast.BoolOp: "boolean operators ('and', 'or')",
    ast.NamedExpr: "assignment expressions (':=')",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.IfExp: "conditional expressions ('if ... else')",
    ast.Starred: "starred arguments ('*')",
    ast.keyword: "keyword arguments",
    ast.Tuple: "tuples (',')",
    ast.List: "lists",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.Slice: "slices",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_REFUSED_OPERATORS = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^ (write powers as **)",
    ast.BitAnd: "&",
    ast.Not: "not",
    ast.Invert: "~",
}


@dataclass(frozen=True)
class ParsedFormula:
    """A checked formula: its text, its sympy expression, its names in order of first appearance, its LaTeX."""

    text: str
    expression: sp.Expr
    names: tuple[str, ...]
    latex: str = ""


# -- parsing ------------------------------------------------------------------------------------------------


def _where(node: ast.AST) -> str:
    col = getattr(node, "col_offset", None)
    return f" (at character {col + 1})" if col is not None else ""


def _refuse(what: str, node: ast.AST | None = None) -> WorkbenchError:
    return WorkbenchError(f"formula: {what} not allowed" + _where(node))


def _syntax_tree(text: str) -> ast.Expression:
    """``text`` parsed by Python's parser (never run), with its own failures turned into one-line errors."""
    if not isinstance(text, str):
        raise WorkbenchError(f"formula must be text, not {type(text).__name__}")
    if not text.strip():
        raise WorkbenchError("formula is empty")
    if len(text) > MAX_CHARS:
        raise WorkbenchError(f"formula is {len(text):,} characters long; at most {MAX_CHARS:,} are accepted")
    if not text.isascii():
        at = next(i for i, ch in enumerate(text) if not ch.isascii())
        raise WorkbenchError(f"formula: non-ASCII character {text[at]!r} at character {at + 1}; write names in ASCII")
    try:
        return ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        where = f" at character {exc.offset}" if exc.offset else ""
        raise WorkbenchError(f"formula {quote(text)} is not a valid expression ({exc.msg}{where})") from None
    except (RecursionError, MemoryError):
        raise WorkbenchError(f"formula {quote(text)} is nested too deeply for the parser") from None
    except ValueError as exc:
        raise WorkbenchError(f"formula {quote(text)} cannot be parsed ({exc})") from None


def _check_shape(tree: ast.Expression) -> None:
    """Count nodes and measure depth without recursion, before anything recursive walks the tree."""
    count = 0
    stack = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise WorkbenchError(f"formula has more than {MAX_NODES} syntax nodes; write a shorter formula")
        if depth > MAX_DEPTH:
            raise WorkbenchError(f"formula is nested more than {MAX_DEPTH} levels deep" + _where(node))
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _check_node(node: ast.AST) -> None:
    """Refuse any node outside the whitelist, naming it."""
    kind = type(node)
    if kind in _REFUSED:
        raise _refuse(_REFUSED[kind], node)
    if isinstance(node, (ast.BinOp, ast.UnaryOp)) and type(node.op) in _REFUSED_OPERATORS:
        raise _refuse(f"the operator {_REFUSED_OPERATORS[type(node.op)]}", node)
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float):
            shown = quote(node.value) if isinstance(node.value, (str, bytes)) else repr(node.value)
            raise WorkbenchError(f"formula: only numbers may be written as constants, not {shown}" + _where(node))
        return
    if isinstance(node, ast.Name):
        _check_name(node.id, node)
        return
    if isinstance(node, ast.Call):
        _check_call(node)
        return
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Load, *_OPERATORS, ast.USub, ast.UAdd)
    if not isinstance(node, allowed):
        raise _refuse(f"{type(node).__name__} syntax", node)


def _check_name(name: str, node: ast.AST) -> None:
    if name.startswith("_"):
        raise WorkbenchError(f"formula: names may not start with '_' ({quote(name)})" + _where(node))
    if len(name) > MAX_NAME:
        raise WorkbenchError(f"formula: the name {quote(name)} is longer than {MAX_NAME} characters" + _where(node))
    if name in FUNCTIONS:
        raise WorkbenchError(f"formula: {name} is a function; call it as {name}(...)" + _where(node))


def _check_call(node: ast.Call) -> None:
    allowed = ", ".join(FUNCTIONS)
    if not isinstance(node.func, ast.Name):
        what = _REFUSED.get(type(node.func), f"calls of anything but {allowed}")  # os.system(...): the '.'
        raise _refuse(what, node.func)
    name = node.func.id
    if name not in FUNCTIONS:
        raise WorkbenchError(f"formula: unknown function {quote(name)}{_where(node)}; allowed: {allowed}")
    if node.keywords:
        raise _refuse("keyword arguments", node)
    if any(isinstance(a, ast.Starred) for a in node.args):
        raise _refuse("starred arguments ('*')", node)
    if len(node.args) != FUNCTIONS[name]:
        raise WorkbenchError(
            f"formula: {name} takes {FUNCTIONS[name]} argument(s), not {len(node.args)}" + _where(node)
        )


def _names_in_order(tree: ast.Expression) -> tuple[str, ...]:
    """The names (not called functions) in order of first appearance in the text."""
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called),
        key=lambda n: (n.lineno, n.col_offset),
    )
    out = tuple(dict.fromkeys(n.id for n in names))
    if len(out) > MAX_NAMES:
        raise WorkbenchError(f"formula uses {len(out)} names; at most {MAX_NAMES} are accepted")
    return out


def _number(value: float, exponent: bool = False, node: ast.AST | None = None) -> sp.Expr:
    """A sympy number for a checked constant: small integer exponents exact, everything else a float."""
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        finite = False
    if not finite:
        raise WorkbenchError("formula: a constant is too large for a floating-point number" + _where(node))
    if exponent and float(value).is_integer() and abs(value) <= SMALL_INTEGER:
        return sp.Integer(int(value))
    return sp.Float(float(value))


def _fold(op: str, args: Sequence[float], node: ast.AST) -> float:
    """A constant subexpression computed in floats, refused if it is not a finite real number."""
    try:
        if op in _FLOAT_FUNCTIONS:
            value = _FLOAT_FUNCTIONS[op](*args)
        elif op == "**":
            value = math.pow(*args)
        else:
            a, b = args
            value = {"+": a + b, "-": a - b, "*": a * b}[op] if op != "/" else a / b
    except ZeroDivisionError:
        raise WorkbenchError("formula: division by zero in a constant" + _where(node)) from None
    except (OverflowError, ValueError):
        raise WorkbenchError(
            f"formula: the constant expression at {op!r} is not a finite real number" + _where(node)
        ) from None
    if not math.isfinite(value):
        raise WorkbenchError(f"formula: the constant expression at {op!r} is not a finite number" + _where(node))
    return float(value)


def _to_sympy(node: ast.AST, symbols: Mapping[str, sp.Symbol], exponent: bool = False) -> sp.Expr:
    """The sympy expression of a checked node (constants folded in floats, so no exact bignums are built)."""
    if isinstance(node, ast.Constant):
        return _number(node.value, exponent, node)
    if isinstance(node, ast.Name):
        return symbols[node.id]
    if isinstance(node, ast.UnaryOp):
        inner = _to_sympy(node.operand, symbols, exponent)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp):
        op = _OPERATORS[type(node.op)]
        left = _to_sympy(node.left, symbols, exponent)
        right = _to_sympy(node.right, symbols, exponent or op == "**")
        if left.is_Number and right.is_Number:
            return _number(_fold(op, (float(left), float(right)), node), exponent)
        return _combine(op, left, right, node)
    if isinstance(node, ast.Call):
        name = node.func.id
        args = [_to_sympy(a, symbols) for a in node.args]
        if all(a.is_Number for a in args):
            return _number(_fold(name, [float(a) for a in args], node))
        if name in ("minimum", "maximum"):  # unevaluated: sympy would try to order the arguments symbolically
            return _SYMPY_FUNCTIONS[name](*args, evaluate=False)
        return _SYMPY_FUNCTIONS[name](*args)
    raise _refuse(f"{type(node).__name__} syntax", node)  # unreachable after _check_node


def _combine(op: str, left: sp.Expr, right: sp.Expr, node: ast.AST) -> sp.Expr:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    if op == "/":
        if right.is_zero:
            raise WorkbenchError("formula: division by zero" + _where(node))
        return left / right
    return sp.Pow(left, right)


def parse_formula(text: str, variables: Iterable[str] = (), domains: Mapping[str, str] | None = None) -> ParsedFormula:
    """Check ``text`` against the whitelist and build its sympy expression.

    ``variables`` (with their ``domains``, ``"positive"`` by default) get
    sympy assumptions (positive, non-negative or real); parameters are real.
    """
    tree = _syntax_tree(text)
    _check_shape(tree)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}  # a function's name, checked there
    for node in ast.walk(tree):
        if id(node) not in called:
            _check_node(node)
    names = _names_in_order(tree)
    variables, domains = set(variables), dict(domains or {})
    symbols = {n: _symbol(n, domains.get(n, "positive") if n in variables else "real") for n in names}
    expression = _to_sympy(tree.body, symbols)
    if expression.has(sp.zoo, sp.oo, -sp.oo, sp.nan, sp.I):
        raise WorkbenchError(f"formula {quote(text)} is undefined (it divides by zero or takes an invalid value)")
    if not all(math.isfinite(float(a)) for a in expression.atoms(sp.Number)):
        raise WorkbenchError(f"formula {quote(text)}: a constant overflows a floating-point number")
    return ParsedFormula(text=" ".join(text.split()), expression=expression, names=names, latex=_latex(tree.body)[0])


# -- LaTeX, printed from the checked syntax tree (sympy's printer may simplify, which can be slow) ---------

_GREEK = set(
    "alpha beta gamma delta epsilon zeta eta theta iota kappa mu nu xi pi rho sigma tau upsilon phi chi psi "
    "omega Gamma Delta Theta Xi Pi Sigma Upsilon Phi Psi Omega".split()
)
_LATEX_FUNCTIONS = {"exp": r"\exp", "log": r"\log", "tanh": r"\tanh", "minimum": r"\min", "maximum": r"\max"}


def name_latex(name: str) -> str:
    """``alpha`` -> ``\\alpha``, ``x0`` -> ``x_{0}``, ``N_c`` -> ``N_{c}``, ``params`` -> ``\\mathrm{params}``."""
    base, sep, sub = name.partition("_")
    if not sep:
        stripped = base.rstrip("0123456789")
        base, sub = (stripped, base[len(stripped) :]) if stripped else (base, "")

    def word(w: str) -> str:
        return f"\\{w}" if w in _GREEK else w if len(w) <= 1 or w.isdigit() else f"\\mathrm{{{w}}}"

    return word(base) + (f"_{{{word(sub)}}}" if sub else "")


def _wrap(text: str) -> str:
    return f"\\left({text}\\right)"


def _latex(node: ast.AST) -> tuple[str, int]:
    """LaTeX of a checked node and its precedence (1 sum, 2 product, 3 sign, 4 power, 5 atom)."""
    if isinstance(node, ast.Constant):
        mantissa, e, exponent = repr(node.value).partition("e")
        return (f"{mantissa} \\times 10^{{{int(exponent)}}}" if e else mantissa), (2 if e else 5)
    if isinstance(node, ast.Name):
        return name_latex(node.id), 5
    if isinstance(node, ast.UnaryOp):
        inner, p = _latex(node.operand)
        if isinstance(node.op, ast.UAdd):
            return inner, p
        return f"-{inner if p >= 2 else _wrap(inner)}", 3
    if isinstance(node, ast.Call):
        args = [_latex(a)[0] for a in node.args]
        if node.func.id == "sqrt":
            return f"\\sqrt{{{args[0]}}}", 5
        return f"{_LATEX_FUNCTIONS[node.func.id]}{_wrap(', '.join(args))}", 5
    left, lp = _latex(node.left)
    right, rp = _latex(node.right)
    op = type(node.op)
    if op in (ast.Add, ast.Sub):
        sign = "+" if op is ast.Add else "-"
        return f"{left} {sign} {right if rp >= 2 and rp != 3 else _wrap(right)}", 1
    if op is ast.Mult:
        return f"{left if lp >= 2 else _wrap(left)} \\, {right if rp >= 2 and rp != 3 else _wrap(right)}", 2
    if op is ast.Div:
        return f"\\frac{{{left}}}{{{right}}}", 4
    return f"{{{left if lp >= 5 else _wrap(left)}}}^{{{right}}}", 4


def _symbol(name: str, domain: str) -> sp.Symbol:
    if domain == "positive":
        return sp.Symbol(name, positive=True)
    if domain == "nonnegative":
        return sp.Symbol(name, nonnegative=True)
    return sp.Symbol(name, real=True)


def formula_names(text: str) -> tuple[str, ...]:
    """The names a formula uses (variables and parameters), in order of first appearance; checks the formula."""
    return parse_formula(text).names


# -- evaluating: a small interpreter over sympy trees ------------------------------------------------------


def _total(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


def _product(*xs):
    out = xs[0]
    for x in xs[1:]:
        out = out * x
    return out


def _power(base, exponent):
    return np.power(np.asarray(base, dtype=float), exponent)


def _constant_power(k: float) -> Callable:
    if k == -1:
        return lambda b: 1.0 / np.asarray(b, dtype=float)
    if k == 0.5:
        return np.sqrt
    if k == 2:
        return lambda b: b * b
    return lambda b: np.power(np.asarray(b, dtype=float), k)


def _reduce(fn: Callable) -> Callable:
    def apply(*xs):
        out = xs[0]
        for x in xs[1:]:
            out = fn(out, x)
        return out

    return apply


_FUNCTION_OPS: dict[type, Callable] = {
    sp.exp: np.exp,
    sp.log: np.log,
    sp.tanh: np.tanh,
    sp.Abs: np.abs,
    sp.sign: np.sign,
    sp.Min: _reduce(np.minimum),
    sp.Max: _reduce(np.maximum),
    sp.Heaviside: lambda x, *_: np.heaviside(x, 0.5),
    sp.DiracDelta: lambda x, *_: np.zeros_like(np.asarray(x, dtype=float)),  # zero almost everywhere
}


class Tape:
    """Several sympy expressions as one list of numpy operations; a shared subexpression is computed once.

    Built from the sympy tree by structure only (no code is generated): a
    symbol reads its array from the environment, a number is a float, and
    each Add, Mul, Pow or function is one numpy call on earlier results.
    """

    def __init__(self, expressions: Sequence[sp.Expr]):
        self.steps: list[tuple[str, object, tuple[int, ...]]] = []
        self._index: dict[sp.Expr, int] = {}
        self.outputs = [self._add(e) for e in expressions]

    def _add(self, expr: sp.Expr) -> int:
        if expr in self._index:
            return self._index[expr]
        if expr.is_Symbol:
            step = ("symbol", expr.name, ())
        elif expr.is_Number or expr.is_NumberSymbol:  # a number, or e or pi as sympy writes them
            value = float(expr)
            if not math.isfinite(value):
                raise WorkbenchError(
                    "formula: a constant of the formula or of its derivatives overflows a floating-point number "
                    "(a huge power of a number?)"
                )
            step = ("number", value, ())
        elif isinstance(expr, sp.Add):
            step = ("call", _total, tuple(self._add(a) for a in expr.args))
        elif isinstance(expr, sp.Mul):
            step = ("call", _product, tuple(self._add(a) for a in expr.args))
        elif isinstance(expr, sp.Pow):
            base, exponent = expr.args
            if exponent.is_Number:
                step = ("call", _constant_power(float(exponent)), (self._add(base),))
            else:
                step = ("call", _power, (self._add(base), self._add(exponent)))
        elif expr.func in _FUNCTION_OPS:
            step = ("call", _FUNCTION_OPS[expr.func], tuple(self._add(a) for a in expr.args))
        else:
            raise WorkbenchError(
                f"formula: its derivatives need {expr.func.__name__}, which the workbench cannot evaluate"
            )
        self.steps.append(step)
        self._index[expr] = len(self.steps) - 1
        return len(self.steps) - 1

    def run(self, env: Mapping[str, object]) -> list:
        """Every expression's value for the arrays (or numbers) in ``env``; numpy's errors are ignored (a
        non-finite value marks an invalid point, which the engine rejects)."""
        values: list = []
        with np.errstate(all="ignore"):
            for kind, payload, args in self.steps:
                if kind == "symbol":
                    values.append(env[payload])
                elif kind == "number":
                    values.append(payload)
                else:
                    values.append(payload(*[values[i] for i in args]))
        return [values[i] for i in self.outputs]


# -- linear parameters ------------------------------------------------------------------------------------


def linear_split(expression: sp.Expr, parameters: Sequence[sp.Symbol]) -> dict[sp.Symbol, sp.Expr] | None:
    """The linear parameters and their basis functions, ``{c: f_c}`` with ``expression == sum c * f_c``, or None.

    A parameter ``c`` is a candidate when ``f_c = d expression / d c`` holds
    no candidate (itself included); candidates whose ``f`` holds another are
    dropped, last first, until none does.  Then the leftover
    ``r = expression - sum c f_c`` is verified to be identically zero,
    symbolically and without expanding anything (expanding a product of sums
    can take forever): every ``d r / d c = f_c - f_c`` simplifies to 0, so
    ``r`` does not depend on the ``c``, and ``r`` at all ``c = 0`` simplifies
    to 0.  More than :data:`MAX_LINEAR` linear parameters, or a leftover
    term (``1 + A*x**-a``), give None.
    """
    derivative = {c: sp.diff(expression, c) for c in parameters}
    linear = [c for c in parameters if c not in derivative[c].free_symbols]
    changed = True
    while changed:
        changed = False
        for c in reversed(linear):
            if derivative[c].free_symbols & set(linear):
                linear.remove(c)
                changed = True
                break
    if not linear or len(linear) > MAX_LINEAR:
        return None
    leftover = expression - sum((c * derivative[c] for c in linear), sp.Integer(0))
    if any(sp.diff(leftover, c) != 0 for c in linear):
        return None
    if leftover.xreplace({c: sp.Integer(0) for c in linear}) != 0:
        return None
    return {c: derivative[c] for c in linear}


# -- parameters -----------------------------------------------------------------------------------------------


def _outside_exponents(expression: sp.Expr) -> set[sp.Symbol]:
    """Symbols with an occurrence that is not inside the exponent of a ``**``."""
    found, stack = set(), [expression]
    while stack:
        node = stack.pop()
        if node.is_Symbol:
            found.add(node)
        elif isinstance(node, sp.Pow):
            stack.append(node.args[0])
        else:
            stack.extend(node.args)
    return found


def _paired_variable(expression: sp.Expr, p: sp.Symbol, variables: Sequence[sp.Symbol]) -> str:
    """The variable ``p`` is a scale of (``x/p``, ``p/x``), an offset of (``x - p``) or a cap on
    (``minimum(x, p)``), or ""."""
    for node in sp.preorder_traversal(expression):
        if isinstance(node, sp.Mul):
            powers = dict(f.as_base_exp() for f in node.args if f.as_base_exp()[0].is_Symbol)
            for v in variables:
                if p in powers and v in powers and powers[p] == -powers[v]:
                    return v.name
        elif isinstance(node, (sp.Add, sp.Min, sp.Max)):
            terms = {t if t.is_Symbol else -t for t in node.args if t.is_Symbol or (-t).is_Symbol}
            for v in variables:
                if p in terms and v in terms:
                    return v.name
    return ""


def _nonlinear(name, latex, role, over, bounds, separable: bool) -> Parameter:
    """A non-linear parameter with its default (or given) bounds and a starting grid.

    A separable law's grid is scanned with its coefficients projected (cheap: one batched solve), so its
    exponents get 30 starts; a multi-start law scores every start on its own, so they get 10.  Given
    bounds that hold the default grid keep it; narrower ones get a grid that follows them.
    """
    if role == "exponent":
        default = _EXPONENT_GRID if separable else _COARSE_EXPONENT_GRID
        lo, hi = bounds or _EXPONENT_BOUNDS
        grid = default if _holds(lo, hi, default) else np.linspace(lo, hi, len(default) + 2)[1:-1]
        return Parameter(name, lo, hi, latex, "exponent", grid=tuple(float(g) for g in grid))
    lo, hi = bounds or _POSITIVE_BOUNDS
    description = f"scale of {over}" if over else "parameter"
    if lo < 0:
        grid = np.linspace(lo, hi, _BOUNDED_STARTS + 2)[1:-1]
        return Parameter(name, lo, hi, latex, description, grid=tuple(float(g) for g in grid))
    if over:
        return Parameter(name, lo, hi, latex, description, grid=_RELATIVE_GRID, log_scale=True, grid_over=over)
    grid = (
        _WIDE_GRID if _holds(lo, hi, _WIDE_GRID) else np.geomspace(max(lo, hi * 1e-12), hi, _BOUNDED_STARTS + 2)[1:-1]
    )
    return Parameter(name, lo, hi, latex, description, grid=tuple(float(g) for g in grid), log_scale=True)


def _holds(lo: float, hi: float, grid: Sequence[float]) -> bool:
    return lo <= grid[0] and grid[-1] <= hi


def _parameters(
    expression: sp.Expr,
    names: Sequence[str],
    variables: Sequence[str],
    linear: Mapping[sp.Symbol, sp.Expr] | None,
    bounds: Mapping[str, tuple[float, float]],
) -> tuple[Parameter, ...]:
    symbols = {s.name: s for s in expression.free_symbols}
    var_symbols = [symbols[v] for v in variables if v in symbols]
    outside = _outside_exponents(expression)
    linear_names = {c.name for c in (linear or {})}
    out = []
    for name in names:
        if name in variables or name not in symbols:
            continue
        latex = name_latex(name)
        given = bounds.get(name)
        if name in linear_names:
            lo, hi = given or _POSITIVE_BOUNDS
            out.append(Parameter(name, lo, hi, latex, "linear coefficient", linear=True))
            continue
        role = "other" if symbols[name] in outside else "exponent"
        over = _paired_variable(expression, symbols[name], var_symbols) if role == "other" else ""
        out.append(_nonlinear(name, latex, role, over, given, linear is not None))
    return tuple(out)


def _check_bounds(bounds, names: Sequence[str], variables: Sequence[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for name, pair in dict(bounds or {}).items():
        if name in variables:
            raise WorkbenchError(f"bounds: {quote(name)} is a variable (a data column), not a parameter")
        if name not in names:
            known = ", ".join(n for n in names if n not in variables)
            raise WorkbenchError(f"bounds: the formula has no parameter {quote(name)}; its parameters are {known}")
        try:
            if isinstance(pair, (str, bytes)):
                raise TypeError
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise WorkbenchError(f"bounds for {name} must be two numbers [low, high], not {quote(pair)}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise WorkbenchError(f"bounds for {name} must be finite with low < high, not [{lo:g}, {hi:g}]")
        out[name] = (lo, hi)
    return out


def parse_bound(item: str) -> tuple[str, tuple[float, float]]:
    """``"alpha=0.01:2"`` -> ``("alpha", (0.01, 2.0))`` (the CLI's ``--bound``)."""
    name, sep, rest = item.partition("=")
    lo, colon, hi = rest.partition(":")
    if not sep or not colon or not name.strip():
        raise WorkbenchError(f"--bound {quote(item)} must look like 'alpha=0.01:2'")
    try:
        pair = (float(lo), float(hi))
    except ValueError:
        raise WorkbenchError(f"--bound {quote(item)}: {quote(lo)} and {quote(hi)} must be numbers") from None
    if not (math.isfinite(pair[0]) and math.isfinite(pair[1]) and pair[0] < pair[1]):
        raise WorkbenchError(f"--bound {quote(item)}: the bounds must be finite with low < high")
    return name.strip(), pair


def parse_bounds(items: Iterable[str]) -> dict[str, tuple[float, float]]:
    """Several ``--bound`` flags, each parameter bounded once."""
    out: dict[str, tuple[float, float]] = {}
    for item in items:
        name, pair = parse_bound(item)
        if name in out:
            raise WorkbenchError(f"--bound bounds {name} twice; give it once")
        out[name] = pair
    return out


# -- the law --------------------------------------------------------------------------------------------------


def _environment(x, variables: Sequence[str], names: Sequence[str], values) -> dict:
    env = {v: x[v] for v in variables}
    env.update(zip(names, values))
    return env


def _shape(env: Mapping[str, object], results: Iterable) -> tuple[int, ...]:
    return np.broadcast_shapes(*(np.shape(a) for a in env.values()), *(np.shape(r) for r in results))


def _separable(
    expression, variables, parameters: Sequence[Parameter], split: Mapping[sp.Symbol, sp.Expr]
) -> dict[str, Callable]:
    """``basis`` and ``basis_grad`` of a separable formula: each ``f_c`` and its exact derivatives."""
    symbols = {s.name: s for s in expression.free_symbols}
    columns = [split[symbols[p.name]] for p in parameters if p.linear]
    nl_names = [p.name for p in parameters if not p.linear]
    entries = [(i, j, sp.diff(f, symbols[name])) for i, f in enumerate(columns) for j, name in enumerate(nl_names)]
    entries = [(i, j, d) for i, j, d in entries if d != 0]
    basis_tape = Tape(columns)
    grad_tape = Tape([d for _, _, d in entries])
    k, m = len(columns), len(nl_names)

    def basis(x, theta):
        env = _environment(x, variables, nl_names, theta)
        cols = basis_tape.run(env)
        shape = _shape(env, cols)
        return np.stack([np.broadcast_to(np.asarray(c, dtype=float), shape) for c in cols], axis=-1)

    def basis_grad(x, theta):
        env = _environment(x, variables, nl_names, theta)
        values = grad_tape.run(env)
        out = np.zeros(_shape(env, values) + (k, m))
        for (i, j, _), value in zip(entries, values):
            out[..., i, j] = value
        return out

    return {"basis": basis, "basis_grad": basis_grad}


def _general(expression, variables, parameters: Sequence[Parameter]) -> dict[str, Callable]:
    """``formula`` and ``formula_grad`` of a formula with no exact linear split (two tapes: a prediction, which
    scoring a start needs alone, and every derivative, each subexpression shared among them computed once)."""
    symbols = {s.name: s for s in expression.free_symbols}
    names = [p.name for p in parameters]
    value_tape = Tape([expression])
    grad_tape = Tape([sp.diff(expression, symbols[n]) for n in names])

    def run(tape, x, values):
        env = _environment(x, variables, names, [values[n] for n in names])
        results = tape.run(env)
        shape = _shape(env, results)
        return [np.array(np.broadcast_to(np.asarray(r, dtype=float), shape)) for r in results]

    def formula(x, values):
        return run(value_tape, x, values)[0]

    def formula_grad(x, values):
        return dict(zip(names, run(grad_tape, x, values)))

    return {"formula": formula, "formula_grad": formula_grad}


def law_from_formula(
    formula: str,
    variables: Sequence[str],
    target: str = "loss",
    bounds: Mapping[str, Sequence[float]] | None = None,
    name: str | None = None,
    latex: str | None = None,
    description: str = "",
    *,
    domains: Mapping[str, str] | None = None,
    presets: Sequence[Preset] = (),
    title: str | None = None,
) -> Law:
    """A :class:`Law` from a formula; see :meth:`Law.from_formula` and this module's docstring."""
    if isinstance(variables, str):
        variables = (variables,)
    variables = tuple(dict.fromkeys(str(v) for v in variables))
    if not variables:
        raise WorkbenchError("formula: name at least one variable (a data column)")
    parsed = parse_formula(formula, variables, domains)
    missing = [v for v in variables if v not in parsed.names]
    if missing:
        raise WorkbenchError(f"formula {quote(parsed.text)} does not use the variable(s) {', '.join(missing)}")
    if target in parsed.names:
        raise WorkbenchError(f"formula {quote(parsed.text)} uses its own target {quote(target)}")
    expression = parsed.expression
    present = {s.name for s in expression.free_symbols}
    lost = [v for v in variables if v not in present]
    if lost:
        raise WorkbenchError(f"formula {quote(parsed.text)}: {', '.join(lost)} cancel(s) out of the formula")
    if not any(n not in variables for n in present):
        raise WorkbenchError(f"formula {quote(parsed.text)} has no parameters to fit (every name is a variable)")
    given = _check_bounds(bounds, parsed.names, variables)
    param_symbols = [s for n in parsed.names if n not in variables for s in expression.free_symbols if s.name == n]
    split = linear_split(expression, param_symbols)
    parameters = _parameters(expression, parsed.names, variables, split, given)
    functions = (
        _separable(expression, variables, parameters, split) if split else _general(expression, variables, parameters)
    )
    law_name = name or "formula"
    try:
        return Law(
            name=law_name,
            title=title or f"formula {parsed.text}",
            variables=variables,
            parameters=parameters,
            latex=latex or f"{name_latex(target)} = {parsed.latex}",
            target=target,
            domains=dict(domains or {}),
            presets=tuple(presets),
            description=description or f"The formula {parsed.text}, fitted as typed.",
            **functions,
        )
    except ValueError as exc:  # a parameter's bounds or grid, checked by the Law's own declarations
        raise WorkbenchError(f"formula {quote(parsed.text)}: {exc}") from None
