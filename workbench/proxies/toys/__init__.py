"""Numpy toy experiments that run through the proxy sweep exactly like the torch proxies.

Why toys share the sweep.  Some scaling phenomena are clearest in a model small
enough to solve exactly (a perceptron learning a teacher), and they deserve the
same guarantees as the torch runs: one cached, atomically written file per run
keyed by the hash of its config, resume after a kill, locks shared by sweeps on
one folder, corpus rows.  A toy config is frozen data with the surface the
sweep reads from a :class:`~workbench.proxies.config.RunConfig` (``key``,
``run_id``, ``to_dict``, ``corpus``) plus what differs: ``content_hash`` (the
toy's code version, in place of a corpus hash), ``cost`` (to schedule the
longest first), ``train``, ``problem`` (is a stored file a usable run) and
``rows``.  Its dict carries ``"toy": <name>``, which is how a worker, given only
the dict, knows what to rebuild (:func:`config_from_dict`).  Torch is never
imported for a toy.

* :mod:`~workbench.proxies.toys.pruning` - data pruning for a teacher-student perceptron (Sorscher et al. 2022)
* :mod:`~workbench.proxies.toys.regimes` - the four scaling regimes in ReLU random features (Bahri et al. 2021)
* :mod:`~workbench.proxies.toys.superposition` - superposition and width scaling (Liu, Liu and Gore 2025)
"""

from __future__ import annotations

TOY_FIELD = "toy"


def _registry() -> dict:
    from workbench.proxies.toys.pruning import PruningConfig
    from workbench.proxies.toys.regimes import RegimesConfig
    from workbench.proxies.toys.superposition import SuperpositionConfig

    return {"pruning": PruningConfig, "regimes": RegimesConfig, "superposition": SuperpositionConfig}


def is_toy(cfg) -> bool:
    """True for a toy config (anything with a ``toy`` name), False for a torch RunConfig."""
    return isinstance(getattr(cfg, TOY_FIELD, None), str)


def is_toy_result(result: dict) -> bool:
    """True for a stored or fresh result of a toy run."""
    return isinstance(result.get("config"), dict) and TOY_FIELD in result["config"]


def config_from_dict(d: dict):
    """The config a dict describes: a toy's (by its ``toy`` name) or a torch :class:`RunConfig`."""
    if TOY_FIELD in d:
        registry = _registry()
        if d[TOY_FIELD] not in registry:
            raise ValueError(f"unknown toy {d[TOY_FIELD]!r}; known: {', '.join(registry)}")
        return registry[d[TOY_FIELD]].from_dict(d)
    from workbench.proxies.config import RunConfig

    return RunConfig.from_dict(d)


def toy_rows(result: dict, preset: str) -> list[dict]:
    """The corpus rows of a toy run's result."""
    return config_from_dict(result["config"]).rows(result, preset)
