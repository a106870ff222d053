"""Tiny torch proxies: make scaling curves on a laptop CPU and emit them as corpus rows.

Floor 5 of the workbench (see the architecture notes): the modules here know
the corpus *schema* and emit rows in it; they never read the curated corpus.

* :mod:`~workbench.proxies.models`   - nanoGPT-style transformer, LSTM, MLP over bytes; encoder-decoder; exact counts
* :mod:`~workbench.proxies.corpora`  - Python-stdlib bytes, Zipf-Markov sources (exact entropy rate), a translation pair
* :mod:`~workbench.proxies.quantize` - fake quantisation (int, fp8/fp4, any e/m), per-block scales, QAT and PTQ
* :mod:`~workbench.proxies.config`   - :class:`RunConfig`, LR schedules (no torch import)
* :mod:`~workbench.proxies.train`    - AdamW training with loss curves, deterministic on CPU
* :mod:`~workbench.proxies.sweep`    - process pool, per-run cache, atomic writes, resume
* :mod:`~workbench.proxies.ray_backend` - the same sweep as Ray tasks on a cluster (``--backend ray``)
* :mod:`~workbench.proxies.device`   - ``--device auto|cpu|cuda`` and bf16 autocast for torch runs
* :mod:`~workbench.proxies.pricing`  - ``--dry-run``: FLOPs, memory and time of a preset before it runs
* :mod:`~workbench.proxies.presets`  - the named sweeps and their checks
* :mod:`~workbench.proxies.results`  - runs as schema rows; the shipped ``datasets/proxies/*.csv``

Torch is imported only when a model is built or trained.
"""
