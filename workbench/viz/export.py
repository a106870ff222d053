"""Export a figure as PNG, SVG and PDF (vl-convert, offline) with the data behind it.

Exporting is an explicit call, never a side effect of fitting or plotting.
File names are ``<stem>.<format>`` plus ``<stem>-<table>.csv`` for each table,
``<stem>.bib`` when citations are given, and ``<stem>-caption.txt`` when a
caption is given (with the fits' cautions, so a figure never travels without
what not to trust in it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import altair as alt
import polars as pl

from workbench.errors import WorkbenchError

FORMATS = ("png", "svg", "pdf")


def _save_spec(spec: dict, path: Path, fmt: str, scale: float) -> None:
    import vl_convert as vlc

    if fmt == "svg":
        path.write_text(vlc.vegalite_to_svg(spec), encoding="utf-8")
    elif fmt == "png":
        path.write_bytes(vlc.vegalite_to_png(spec, scale=scale))
    else:
        path.write_bytes(vlc.vegalite_to_pdf(spec))


def export_figure(
    chart: alt.TopLevelMixin | dict,
    out_dir: str | Path,
    stem: str,
    *,
    tables: Mapping[str, pl.DataFrame] | None = None,
    formats: Iterable[str] = FORMATS,
    bibtex: str = "",
    scale: float = 2.0,
    caption: str = "",
) -> list[Path]:
    """Write the chart (an altair chart or a Vega-Lite spec) in each format and its tables as CSV."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkbenchError(f"cannot create export folder {out}: {exc.strerror}") from None
    written = []
    for fmt in formats:
        if fmt not in FORMATS:
            raise WorkbenchError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
        path = out / f"{stem}.{fmt}"
        if isinstance(chart, dict):  # a Vega-Lite spec, e.g. from a LiveChart
            _save_spec(chart, path, fmt, scale)
        else:
            kwargs = {"scale_factor": scale} if fmt == "png" else {}
            chart.save(str(path), format=fmt, **kwargs)
        written.append(path)
    for name, frame in (tables or {}).items():
        path = out / f"{stem}-{name}.csv"
        frame.write_csv(path)
        written.append(path)
    if bibtex:
        path = out / f"{stem}.bib"
        path.write_text(bibtex.strip() + "\n", encoding="utf-8")
        written.append(path)
    if caption.strip():
        path = out / f"{stem}-caption.txt"
        path.write_text(caption.strip() + "\n", encoding="utf-8")
        written.append(path)
    return written
