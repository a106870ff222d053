"""One fitting engine for every law, plus its uncertainty."""

from workbench.fit.engine import fit, fit_problem, multistart, objective_at, polish
from workbench.fit.problem import Problem, make_problem
from workbench.fit.result import FitResult, Flag, Prediction, caution_of

__all__ = ["FitResult", "Flag", "Prediction", "Problem", "caution_of", "fit", "fit_problem", "make_problem",
           "multistart", "objective_at", "polish"]
