"""Pictures: altair charts, ipywidgets explorers, and export (PNG/SVG/PDF + data)."""
