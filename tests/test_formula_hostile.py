"""Hostile formulas (issue 14): every one is refused with one line on stderr and exit 2, and nothing is run.

``HOSTILE_FORMULAS`` is the list of formulas that were tried, each with a
fragment its message must hold (what was refused).  They go through the CLI
in-process (``fit --formula ... --data chinchilla_epoch``); one subprocess run
rules out a traceback.  Two hypothesis fuzzers close the file: random text
and random syntax trees (rendered with :func:`ast.unparse`) must either
become a :class:`~workbench.laws.base.Law` or raise
:class:`~workbench.errors.WorkbenchError`, nothing else, with ``eval`` and
``exec`` replaced by functions that fail the test; a formula law is also
fitted, bootstrapped and backtested that way.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.laws import Law
from workbench.laws.formula import MAX_CHARS, MAX_DEPTH, MAX_NODES, formula_names


def _balanced_sum(leaves: int) -> str:
    """A sum of ``leaves`` terms nested as a balanced tree: many nodes, shallow depth."""
    terms = ["x"] * leaves
    while len(terms) > 1:
        terms = [f"({a} + {b})" for a, b in zip(terms[::2], terms[1::2])] + (terms[-1:] if len(terms) % 2 else [])
    return terms[0]


HOSTILE_FORMULAS = [
    # code execution and escapes from the syntax
    ("__import__('os').system('id')", "attribute access"),
    ("__import__('os')", "unknown function '__import__'"),
    ("os.system('id')", "attribute access"),
    ("params.__class__.__mro__[1].__subclasses__()", "attribute access"),
    ("().__class__.__bases__[0]", "subscripts"),
    ("params.real", "attribute access"),
    ("eval('1+1')", "unknown function 'eval'"),
    ("exec('import os')", "unknown function 'exec'"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("getattr(params, 'real')", "unknown function 'getattr'"),
    ("globals()", "unknown function 'globals'"),
    ("__builtins__", "'_'"),
    ("_x + params", "'_'"),
    ("breakpoint()", "unknown function 'breakpoint'"),
    ("sum(params)", "unknown function 'sum'"),
    ("exp", "exp is a function"),
    ("(exp)(params)", "has no parameters"),
    ("exp(params)(1)", "calls of anything but"),
    # syntax outside the whitelist
    ("lambda: 1", "lambda"),
    ("(lambda: 1)()", "lambda"),
    ("[p for p in (1, 2)]", "comprehensions"),
    ("{p for p in (1, 2)}", "comprehensions"),
    ("{p: 1 for p in (1, 2)}", "comprehensions"),
    ("exp(p for p in (1, 2))", "comprehensions"),
    ("params[0]", "subscripts"),
    ("params[1:2]", "subscripts"),
    ("params if tokens else 1", "conditional"),
    ("params < tokens", "comparisons"),
    ("params and tokens", "boolean operators"),
    ("not params", "operator not"),
    ("~params", "operator ~"),
    ("(y := params)", "assignment expressions"),
    ("f'{params}'", "f-strings"),
    ("'params'", "only numbers"),
    ("b'params'", "only numbers"),
    ("True + params", "only numbers"),
    ("None", "only numbers"),
    ("1j * params", "only numbers"),
    ("... + params", "only numbers"),
    ("(params, tokens)", "tuples"),
    ("[params]", "lists"),
    ("{'a': params}", "dicts"),
    ("{params}", "sets"),
    ("exp(x=params)", "keyword arguments"),
    ("exp(*params)", "starred arguments"),
    ("exp(params, tokens)", "takes 1 argument"),
    ("maximum(params)", "takes 2 argument"),
    ("params // 2", "operator //"),
    ("params % 2", "operator %"),
    ("params @ tokens", "operator @"),
    ("params ^ 2", "operator ^"),
    ("params << 2", "operator <<"),
    ("params | tokens", "operator |"),
    ("await params", "await not allowed"),
    ("yield params", "not a valid expression"),
    ("import os", "not a valid expression"),
    ("params = 1", "not a valid expression"),
    ("params; tokens", "not a valid expression"),
    ("params +", "not a valid expression"),
    ("", "empty"),
    ("   ", "empty"),
    # non-finite or undefined constants
    ("1e400 * params", "too large for a floating-point number"),
    ("exp(1000) * params", "not a finite"),
    ("10**10**10 * params", "not a finite"),
    ("1/0 + params", "division by zero"),
    ("params/0", "division by zero"),
    ("log(-1) + params", "not a finite real number"),
    ("sqrt(-1) * params", "not a finite real number"),
    ("(-8)**(1/3) * params", "not a finite real number"),
    ("9" * 400 + " * params", "too large for a floating-point number"),
    ("(1e300*params)**(100**100)", "overflows a floating-point number"),
    # size, depth and text
    ("params + " * (MAX_CHARS // 9) + "params", "characters long"),
    (_balanced_sum(MAX_NODES // 2 + 8), f"more than {MAX_NODES} syntax nodes"),
    ("-" * (MAX_DEPTH + 5) + "params", f"nested more than {MAX_DEPTH} levels"),
    ("(" * 300 + "params" + ")" * 300, "not a valid expression"),
    ("params" + "**params" * (MAX_DEPTH + 2), f"nested more than {MAX_DEPTH} levels"),
    ("exp(" * 40 + "params" + ")" * 40, f"nested more than {MAX_DEPTH} levels"),
    ("a" * 40 + " * params", "longer than 32 characters"),
    ("α * params", "non-ASCII"),
    ("ｐarams + 1", "non-ASCII"),
    ("params\x00", "not a valid expression"),
    ("params\n+ tokens", "not a valid expression"),
    # a formula that is fine as syntax but not as a law of the data
    ("E + A", "uses none of the data's columns"),
    ("loss + params", "target column"),
]


def run(*argv: str) -> tuple[int, str, str]:
    """``main(argv)`` in-process: exit code (argparse's SystemExit included), stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        warnings.simplefilter("error")  # a numpy or sympy warning would be output the user did not ask for
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("formula, fragment", HOSTILE_FORMULAS, ids=[f"{i:02d}" for i in range(len(HOSTILE_FORMULAS))])
def test_a_hostile_formula_exits_2_with_one_line_naming_what_was_refused(formula, fragment):
    code, out, err = run("fit", f"--formula={formula}", "--data", "chinchilla_epoch", "--json")
    assert code == 2, (formula, out, err)
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert fragment in err, (formula, err)
    assert len(err) < 400


def test_the_hostile_list_is_long_and_covers_the_issue():
    assert len(HOSTILE_FORMULAS) >= 80
    texts = [f for f, _ in HOSTILE_FORMULAS]
    assert "__import__('os').system('id')" in texts


def test_no_traceback_from_a_subprocess():
    """The real entry point, hostile formula and all: exit 2, one line, no traceback, nothing on stdout."""
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "fit", "--formula", "__import__('os').system('echo pwned')"]
        + ["--data", "chinchilla_epoch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1
    assert "pwned" not in proc.stderr + proc.stdout


def test_formula_and_law_are_mutually_exclusive():
    code, _, err = run("fit", "--formula", "E + A/params**a", "--law", "chinchilla", "--data", "chinchilla_epoch")
    assert code == 2 and "mutually exclusive" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "bound, fragment",
    [
        ("alpha", "must look like"),
        ("alpha=1", "must look like"),
        ("alpha=a:b", "must be numbers"),
        ("alpha=2:1", "low < high"),
        ("alpha=nan:1", "low < high"),
        ("alpha=-inf:1", "low < high"),
        ("zeta=0:1", "no parameter 'zeta'"),
        ("params=0:1", "is a variable"),
    ],
)
def test_a_bad_bound_exits_2(bound, fragment):
    code, _, err = run("fit", "--formula", "E + A/params**alpha", "--data", "chinchilla_epoch", "--bound", bound)
    assert code == 2 and fragment in err and err.count("\n") == 1, err


def test_a_bound_twice_and_a_bound_for_a_registered_law_are_refused():
    code, _, err = run(
        "fit", "--formula", "E + A/params**a", "--data", "chinchilla_epoch", "--bound", "a=0:1", "--bound", "a=0:2"
    )
    assert code == 2 and "twice" in err
    code, _, err = run("fit", "--law", "chinchilla", "--data", "chinchilla_epoch", "--bound", "alpha=0:1")
    assert code == 2 and "registered law" in err


# -- eval and exec are never called -------------------------------------------------------------------------


@contextlib.contextmanager
def no_eval_or_exec():
    """``builtins.eval`` and ``builtins.exec`` replaced by functions that fail the test (an AssertionError is
    not a WorkbenchError, so no caller can mistake it for a refusal).

    One use of ``exec`` is let through: Python's import machinery running a module's own code object (sympy
    imports some of its modules lazily, on first use).  Code a library builds from strings at run time, or at
    import time, still fails the test.
    """
    real_exec = builtins.exec

    def forbidden_eval(*args, **kwargs):
        raise AssertionError(f"eval called with {str(args)[:200]}")

    def forbidden_exec(*args, **kwargs):
        importing = sys._getframe(1).f_globals.get("__name__") == "importlib._bootstrap"
        if importing and args and isinstance(args[0], types.CodeType):
            return real_exec(*args, **kwargs)
        raise AssertionError(f"exec called with {str(args)[:200]}")

    saved = builtins.eval, builtins.exec
    builtins.eval, builtins.exec = forbidden_eval, forbidden_exec
    try:
        yield
    finally:
        builtins.eval, builtins.exec = saved


def build(text: str) -> Law | None:
    """Parse ``text`` as a law of the variables x and y (those it names): a Law, or a WorkbenchError."""
    names = formula_names(text)
    variables = [n for n in names if n in ("x", "y")]
    return Law.from_formula(text, variables or ["x"])


def parses_or_refuses(text: str) -> None:
    with no_eval_or_exec():
        try:
            law = build(text)
        except WorkbenchError as exc:
            assert "\n" not in str(exc)
            return
    assert isinstance(law, Law)
    with no_eval_or_exec(), np.errstate(all="ignore"):
        x = {"x": np.array([1.0, 2.0, 3.0]), "y": np.array([0.5, 1.5, 2.5])}
        values = {p.name: 0.5 for p in law.parameters}
        law.predict(x, values)  # any value (NaN included); never an exception


def test_the_guard_itself_works():
    with no_eval_or_exec():
        with pytest.raises(AssertionError):
            eval("1")
        with pytest.raises(AssertionError):
            exec("x = 1")
        with pytest.raises(AssertionError):
            import sympy

            sympy.sympify("x + 1")  # sympy's string parser evaluates its input


def _parse_fit_bootstrap_backtest(data) -> list[float]:
    from workbench.analysis.backtest import backtest
    from workbench.fit import fit

    objectives = []
    separable = Law.from_formula("E + A/params**alpha + B/tokens**beta", ["params", "tokens"])
    general = Law.from_formula("(Nc/params)**a + maximum(tokens, 1)**-b", ["params", "tokens"])
    for law in (separable, general):
        result = fit(law, data)
        result.bootstrap(draws=5)
        result.predictions([{"params": 7e10, "tokens": 1.4e12}])
        objectives.append(result.objective)
    backtest(separable, data, "params>1e10")
    return objectives


def test_parsing_and_fitting_never_call_eval_or_exec(epoch_points):
    """Run once to import every module the path needs (importing runs module code through ``exec``), then
    again with ``eval`` and ``exec`` forbidden: parsing, fitting, the bootstrap and a backtest never call them."""
    data = epoch_points[::3]  # 82 points: the same paths, a third of the time
    warm = _parse_fit_bootstrap_backtest(data)
    with no_eval_or_exec():
        again = _parse_fit_bootstrap_backtest(data)
    assert again == warm and all(np.isfinite(again))


# -- fuzzers --------------------------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALPHABET = st.sampled_from(list("xyab0123456789.eE+-*/()_, [']:;=<>!~%^&|@{}\\\"#\n\t ") + ["**", "exp(", "log("])


@FUZZ
@given(st.lists(ALPHABET, max_size=40).map("".join) | st.text(max_size=60))
def test_random_text_becomes_a_law_or_a_workbench_error(text):
    parses_or_refuses(text)


def _leaf():
    names = st.sampled_from(["x", "y", "a", "b", "E", "exp", "__import__", "os", "_a", "eval", "loss"])
    numbers = st.one_of(
        st.integers(-(10**30), 10**30), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, 1, 1e308])
    )
    others = st.sampled_from(["s", b"b", True, None, 1j, ...])
    return st.one_of(
        names.map(lambda n: ast.Name(id=n, ctx=ast.Load())),
        numbers.map(lambda v: ast.Constant(value=v)),
        others.map(lambda v: ast.Constant(value=v)),
    )


_BINARY = [ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.FloorDiv, ast.Mod, ast.BitXor, ast.MatMult]
_FUNCTIONS = ["exp", "log", "sqrt", "tanh", "minimum", "maximum", "eval", "open", "foo"]


def _branches(children):
    load = ast.Load()
    return st.one_of(
        st.tuples(children, st.sampled_from(_BINARY), children).map(lambda t: ast.BinOp(t[0], t[1](), t[2])),
        st.tuples(st.sampled_from([ast.USub, ast.UAdd, ast.Invert, ast.Not]), children).map(
            lambda t: ast.UnaryOp(t[0](), t[1])
        ),
        st.tuples(st.sampled_from(_FUNCTIONS), st.lists(children, max_size=3)).map(
            lambda t: ast.Call(ast.Name(t[0], load), t[1], [])
        ),
        st.tuples(children, st.sampled_from(["real", "__class__", "system"])).map(
            lambda t: ast.Attribute(t[0], t[1], load)
        ),
        st.tuples(children, children).map(lambda t: ast.Subscript(t[0], t[1], load)),
        children.map(lambda c: ast.Lambda(ast.arguments([], [], None, [], [], None, []), c)),
        st.tuples(children, children).map(lambda t: ast.Compare(t[0], [ast.Lt()], [t[1]])),
        st.tuples(children, children, children).map(lambda t: ast.IfExp(t[0], t[1], t[2])),
        st.tuples(children, children).map(lambda t: ast.NamedExpr(ast.Name("z", ast.Store()), t[1])),
        st.lists(children, max_size=3).map(lambda xs: ast.Tuple(xs, load)),
        st.tuples(children, children).map(
            lambda t: ast.ListComp(t[0], [ast.comprehension(ast.Name("q", ast.Store()), t[1], [], 0)])
        ),
        st.tuples(children, children).map(lambda t: ast.Call(ast.Name("exp", load), [t[0]], [ast.keyword("k", t[1])])),
    )


SYNTAX_TREES = st.recursive(_leaf(), _branches, max_leaves=25)


@FUZZ
@given(SYNTAX_TREES)
def test_random_syntax_trees_become_a_law_or_a_workbench_error(tree):
    try:
        text = ast.unparse(ast.fix_missing_locations(ast.Expression(tree)))
    except Exception:  # a tree ast.unparse itself cannot print is no formula anyone can type
        return
    parses_or_refuses(text)


@FUZZ
@given(
    st.recursive(
        st.sampled_from(["x", "y", "a", "b", "2", "0.5", "1e3"]),
        lambda c: st.one_of(
            st.tuples(c, st.sampled_from(["+", "-", "*", "/", "**"]), c).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["exp", "log", "sqrt", "tanh"]), c).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["minimum", "maximum"]), c, c).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        ),
        max_leaves=12,
    )
)
def test_random_valid_formulas_become_laws_whose_gradients_evaluate(text):
    """Formulas inside the whitelist: a Law (or a clear refusal, e.g. a variable that cancels out)."""
    parses_or_refuses(text)
