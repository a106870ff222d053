"""One curation recipe per corpus source, registered by source id.

Each recipe is a small module with a ``build(src, files) -> Curated``
function: it reads the source's pinned raw files (already fetched and
sha256-checked by :mod:`workbench.corpus.curate`) and returns the rows in the
corpus schema plus a count, by reason, of every raw value it leaves out.
Keeping the per-paper quirks here, one file per paper, keeps the loader and
the schema free of them.
"""

from __future__ import annotations

from collections.abc import Callable

from workbench.corpus.recipes import (
    bnsl_addition,
    chinchilla_configs,
    chinchilla_epoch,
    epoch_ai_models,
    gadre_overtraining,
    laion_clip_mammut,
    language_monkeys,
    llama3_isoflops,
    misfitting,
    obs_scaling,
    open_athena_isoflops,
    porian_discrepancies,
    pythia_evals,
    quartet2_nvfp4,
    quest_qat,
)
from workbench.corpus.recipes._common import Curated

BUILDERS: dict[str, Callable[..., Curated]] = {
    "chinchilla_epoch": chinchilla_epoch.build,
    "chinchilla_configs": chinchilla_configs.build,
    "gadre_overtraining": gadre_overtraining.build,
    "porian_discrepancies": porian_discrepancies.build,
    "misfitting": misfitting.build,
    "llama3_isoflops": llama3_isoflops.build,
    "open_athena_isoflops": open_athena_isoflops.build,
    "pythia_evals": pythia_evals.build,
    "obs_scaling": obs_scaling.build,
    "epoch_ai_models": epoch_ai_models.build,
    "quest_qat": quest_qat.build,
    "quartet2_nvfp4": quartet2_nvfp4.build,
    "laion_clip_mammut": laion_clip_mammut.build,
    "language_monkeys": language_monkeys.build,
    "bnsl_addition": bnsl_addition.build,
}

__all__ = ["BUILDERS", "Curated"]
