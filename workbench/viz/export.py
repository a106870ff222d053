"""Export a figure as PNG, SVG and PDF (vl-convert, offline) with the data behind it.

Exporting is an explicit call, never a side effect of fitting or plotting.
``isolate=True`` renders in a child process: vl-convert (a JavaScript engine)
costs a notebook kernel about 100 MB once loaded, and an explorer's Export
button should not leave that behind.  File names are ``<stem>.<format>`` plus ``<stem>-<table>.csv`` for each table,
``<stem>.bib`` when citations are given, and ``<stem>-caption.txt`` when a
caption is given (with the fits' cautions, so a figure never travels without
what not to trust in it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

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


_RENDER = """
import json, sys
from pathlib import Path
from workbench.viz.export import _save_spec
job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
for path, fmt in job["outputs"]:
    _save_spec(job["spec"], Path(path), fmt, job["scale"])
"""


def _render_in_child(spec: dict, outputs: list[tuple[Path, str]], scale: float) -> None:
    """Render ``spec`` to each (path, format) in a child Python, so vl-convert never loads in this process."""
    with tempfile.TemporaryDirectory(prefix="workbench-export-") as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps({"spec": spec, "scale": scale, "outputs": [(str(p), f) for p, f in outputs]}))
        done = subprocess.run([sys.executable, "-c", _RENDER, str(job)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no error output"])[-1]
        raise WorkbenchError(f"exporting {', '.join(p.name for p, _ in outputs)} failed: {tail}")


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
    isolate: bool = False,
) -> list[Path]:
    """Write the chart (an altair chart or a Vega-Lite spec) in each format and its tables as CSV.

    ``isolate`` renders the images in a child process (see the module docstring).
    """
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkbenchError(f"cannot create export folder {out}: {exc.strerror}") from None
    formats = list(formats)
    for fmt in formats:
        if fmt not in FORMATS:
            raise WorkbenchError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    outputs = [(out / f"{stem}.{fmt}", fmt) for fmt in formats]
    if isolate:
        _render_in_child(chart if isinstance(chart, dict) else chart.to_dict(), outputs, scale)
    else:
        for path, fmt in outputs:
            if isinstance(chart, dict):  # a Vega-Lite spec, e.g. from a LiveChart
                _save_spec(chart, path, fmt, scale)
            else:
                kwargs = {"scale_factor": scale} if fmt == "png" else {}
                chart.save(str(path), format=fmt, **kwargs)
    written = [path for path, _ in outputs]
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
