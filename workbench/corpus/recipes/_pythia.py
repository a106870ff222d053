"""The Pythia suite's model sizes, shared by the recipes whose rows are Pythia models.

Transcribed from the Pythia paper (Biderman et al. 2023, arXiv:2304.01373,
Table 1) and the EleutherAI/pythia README: total and non-embedding
parameters, layers, model width and heads.  Each total minus its two
(untied) embedding matrices gives the non-embedding count exactly, which is
how these numbers were checked.  The standard runs use batches of 1024
sequences of 2048 tokens (2,097,152 tokens per step, ~300B tokens at step
143,000); the two batch-size variants keep the token budget.
"""

from __future__ import annotations

import re

from workbench.errors import WorkbenchError

# size label -> (total params, non-embedding params, layers, width, heads)
SIZES: dict[str, tuple[int, int, int, int, int]] = {
    "70m": (70_426_624, 18_915_328, 6, 512, 8),
    "160m": (162_322_944, 85_056_000, 12, 768, 12),
    "410m": (405_334_016, 302_311_424, 24, 1024, 16),
    "1b": (1_011_781_632, 805_736_448, 16, 2048, 8),
    "1.4b": (1_414_647_808, 1_208_602_624, 24, 2048, 16),
    "2.8b": (2_775_208_960, 2_517_652_480, 32, 2560, 32),
    "6.9b": (6_857_302_016, 6_444_163_072, 32, 4096, 32),
    "12b": (11_846_072_320, 11_327_027_200, 36, 5120, 40),
}
TOKENS_PER_STEP = {"": 2_097_152, "0.25MtokBS": 262_144, "0.5MtokBS": 524_288}
FINAL_TOKENS = 143_000 * 2_097_152
PAPER = "arXiv:2304.01373"

_NAME = re.compile(r"^pythia-(\d+(?:\.\d+)?[mb])(?:-(deduped|bf16|0\.25MtokBS|0\.5MtokBS))?$")


def size_of(name: str, origin: str) -> tuple[str, str]:
    """(size label, variant) of a Pythia model name such as ``pythia-1.4b-deduped``."""
    match = _NAME.match(name.strip().lower().replace(" ", "-").replace("mtokbs", "MtokBS"))
    if not match or match.group(1) not in SIZES:
        raise WorkbenchError(f"{origin}: {name!r} is not a known Pythia model name")
    return match.group(1), match.group(2) or ""
