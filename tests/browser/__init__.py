"""Browser-level test harness: drive a notebook in real JupyterLab + headless Chromium.

See :mod:`tests.browser.harness` for the API (``run_notebook_in_browser``).
"""
