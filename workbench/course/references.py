"""The course's citations, from one file: ``references.bib`` (keyed by arXiv id), plus the corpus's own.

Every figure and export cites what it shows.  Papers are entries of
``references.bib`` keyed ``arXiv:NNNN.NNNNN``; a corpus source (published or a
workbench proxy source) is cited by its id and brings the BibTeX declared with
it in ``datasets/sources.toml`` or ``datasets/proxies/sources.toml``.  One
function, :func:`bib`, turns any mix of keys into the text an export writes.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from workbench.errors import WorkbenchError

_ENTRY = re.compile(r"^@\w+\{([^,]+),", re.M)


@lru_cache(maxsize=1)
def entries() -> dict[str, str]:
    """Every entry of ``references.bib`` by key."""
    text = resources.files("workbench.course").joinpath("references.bib").read_text(encoding="utf-8")
    starts = [(m.start(), m.group(1)) for m in _ENTRY.finditer(text)]
    out = {}
    for (start, key), end in zip(starts, [s for s, _ in starts[1:]] + [len(text)]):
        if key in out:
            raise WorkbenchError(f"references.bib: key {key!r} appears twice")
        out[key] = text[start:end].strip()
    return out


def _key(key: str) -> str:
    """``2001.08361`` and ``arXiv:2001.08361`` name the same entry."""
    return f"arXiv:{key}" if re.fullmatch(r"\d{4}\.\d{4,5}", key) else key


def bib(*keys: str) -> str:
    """The BibTeX of ``keys`` (arXiv ids, ``workbench-proxies``, or corpus source ids), each once, in order."""
    from workbench import corpus
    from workbench.corpus.proxy_sources import proxy_sources

    out: list[str] = []
    for raw in keys:
        key = _key(raw)
        if key in entries():
            text = entries()[key]
        elif key in corpus.sources():
            text = corpus.get_source(key).bibtex
        elif key in proxy_sources():
            text = proxy_sources()[key].bibtex
        else:
            raise WorkbenchError(f"no reference {raw!r}: not in workbench/course/references.bib nor a corpus source id")
        if text.strip() and text.strip() not in out:
            out.append(text.strip())
    return "\n\n".join(out) + "\n"


def cite(source_id: str) -> str:
    """One line naming a corpus source: its citation, licence and repository at its commit."""
    from workbench import corpus

    s = corpus.get_source(source_id)
    return f"{s.citation}. Licence: {s.licence}; data: {s.repository}@{s.commit[:10]}."
