"""`python -m workbench fit --law NAME` works for every registered law (issue 4's CLI contract)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_laws_registry import SAMPLES, mid_theta

from workbench.cli import main
from workbench.laws import LAWS


def truth(law):
    if law.presets:
        return dict(law.presets[0].values)
    values = dict(zip([p.name for p in law.nonlinear], mid_theta(law)))
    values.update({p.name: 1.0 for p in law.linear})
    return values


def design(law, n=32, seed=0):
    rng = np.random.default_rng(seed)
    return {v: rng.choice(SAMPLES[v], n) for v in law.variables}


@pytest.mark.parametrize("name", sorted(LAWS))
def test_fit_every_law_from_a_csv(name, tmp_path, capsys):
    law = LAWS[name]
    x = design(law)
    y = law.predict(x, truth(law))
    assert np.all(y > 0), f"{name}: synthetic targets must be positive"
    path = tmp_path / f"{name}.csv"
    cols = [*law.variables, law.target]
    rows = [",".join(repr(float(x[v][i])) for v in law.variables) + f",{float(y[i])!r}" for i in range(len(y))]
    path.write_text(",".join(cols) + "\n" + "\n".join(rows) + "\n")
    point = ":".join(repr(float(SAMPLES[v][3])) for v in law.variables)
    code = main(["fit", "--law", name, "--data", str(path), "--predict", point, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    res = json.loads(out)
    assert set(res["params"]) == set(law.names)
    assert res["n_points"] == len(y)
    assert res["objective"] < 1e-6, f"{name}: noiseless data should be fitted almost exactly"
    (pred,) = res["predictions"]
    assert pred[law.target] > 0


def test_missing_column_for_a_laws_variables_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text("params,tokens,loss\n1e9,1e10,2.5\n")
    assert main(["fit", "--law", "sun_fp", "--data", str(path)]) == 2
    assert "missing column 'exponent_bits'" in capsys.readouterr().err
