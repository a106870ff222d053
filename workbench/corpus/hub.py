"""Sharing corpora and runs tables through the Hugging Face Hub (dataset repositories).

Why the Hub, and why through ``huggingface_hub`` rather than plain HTTP: a
pull names a repository and a *revision*, the library resolves it to a commit
and keeps the files in its content-addressed local cache, so the same pull
gives the same bytes tomorrow and works offline once cached
(``HF_HUB_OFFLINE=1``).  ``HF_ENDPOINT`` points it at a mirror (the tests use
a loopback stand-in).  Everything pulled or pushed goes through the corpus
validator, so a shared table can be used exactly like a bundled one, and the
library's failures become one :class:`~workbench.errors.WorkbenchError` that
says what to do.

Two kinds of repository are understood:

* a *corpus*: ``sources.toml`` beside one ``<id>.csv`` per source, the layout
  of ``datasets/`` (load it with ``corpus.load(corpus=pulled.path)``);
* a *runs table*: one CSV/parquet file in the corpus schema (``runs.csv`` by
  default), e.g. a user's own training runs.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from workbench.corpus.load import read_table, validate
from workbench.corpus.sources import sources
from workbench.corpus.tables import read_text_table
from workbench.errors import WorkbenchError

REPO_TYPE = "dataset"
RUNS_FILE = "runs.csv"
_REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Pulled:
    """A repository snapshot in the local cache: what was asked for and what it resolved to."""

    repo_id: str
    revision: str  # as requested (branch, tag or commit)
    commit: str  # the commit it resolved to
    path: Path  # snapshot folder in the Hugging Face cache


def _check(repo_id: str, revision: str | None) -> None:
    if not _REPO_ID.match(repo_id or ""):
        raise WorkbenchError(f"{repo_id!r} is not a Hub repository id (expected 'owner/name')")
    if not revision:
        raise WorkbenchError(
            f"pulling {repo_id} needs a revision (a commit id, or a tag or branch) so that the data is pinned"
        )


def _explain(exc: Exception, what: str, repo_id: str, revision: str | None = None) -> WorkbenchError:
    """Turn a huggingface_hub failure into one message that says what to do."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        EntryNotFoundError,
        FileMetadataError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    at = f"{repo_id}@{revision}" if revision else repo_id
    offline = _offline()
    if isinstance(exc, (LocalEntryNotFoundError, OfflineModeIsEnabled)):
        if offline:
            return WorkbenchError(
                f"cannot {what} {at}: it is not in the local Hugging Face cache and HF_HUB_OFFLINE=1 forbids "
                f"downloading; run the same call once with network access (it is then cached), or unset HF_HUB_OFFLINE"
            )
        return WorkbenchError(
            f"cannot {what} {at}: the Hub at {constants.ENDPOINT} cannot be reached and no cached copy exists; "
            f"check the network (or HF_ENDPOINT), or work offline from a cached revision"
        )
    if isinstance(exc, RevisionNotFoundError):
        return WorkbenchError(f"cannot {what} {at}: the repository has no revision {revision!r}")
    if isinstance(exc, (RepositoryNotFoundError, GatedRepoError)):
        return WorkbenchError(
            f"cannot {what} {at}: no dataset repository {repo_id!r} on {constants.ENDPOINT} that you can access "
            f"(check the id; for a private repository log in with `hf auth login` or set HF_TOKEN)"
        )
    if isinstance(exc, EntryNotFoundError):
        return WorkbenchError(f"cannot {what} {at}: the repository has no such file at that revision")
    if isinstance(exc, FileMetadataError):
        return WorkbenchError(
            f"cannot {what} {at}: {constants.ENDPOINT} does not answer like a Hugging Face Hub (check HF_ENDPOINT)"
        )
    if isinstance(exc, HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return WorkbenchError(
                f"cannot {what} {at}: not authorised (HTTP {status}); log in with `hf auth login` or pass a token "
                "with write access"
            )
        return WorkbenchError(f"cannot {what} {at}: the Hub answered HTTP {status}: {str(exc).splitlines()[0]}")
    return WorkbenchError(f"cannot {what} {at}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


def _hub_errors() -> tuple[type[Exception], ...]:
    from huggingface_hub.errors import (
        EntryNotFoundError,
        FileMetadataError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
    )

    errors: list[type[Exception]] = [
        HfHubHTTPError,
        LocalEntryNotFoundError,
        EntryNotFoundError,
        FileMetadataError,
        OfflineModeIsEnabled,
    ]
    for client in ("httpx2", "httpx"):  # the HTTP client of huggingface_hub 2.x (httpx2) or 1.x (httpx)
        try:
            errors.append(__import__(client).HTTPError)
        except ImportError:
            pass
    return tuple(errors)


def _offline() -> bool:
    from huggingface_hub import constants

    return constants.is_offline_mode()


def _require_hub(what: str, repo_id: str, revision: str | None = None, timeout: float = 3.0) -> None:
    """Fail within ``timeout`` seconds if the Hub endpoint does not answer at all.

    huggingface_hub retries unreachable hosts with back-off (tens of seconds);
    one short request first turns "no network" into a quick, clear error.
    Any HTTP answer counts as reachable; proxies configured in the
    environment are honoured (the library's own session is used).
    """
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    if _offline():
        return  # the library fails fast (or serves the cache) on its own
    try:
        get_session().head(constants.ENDPOINT, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - any transport failure means unreachable
        at = f"{repo_id}@{revision}" if revision else repo_id
        raise WorkbenchError(
            f"cannot {what} {at}: the Hub at {constants.ENDPOINT} does not answer ({type(exc).__name__}); "
            "check the network (or HF_ENDPOINT); a revision pulled before is served from the cache with "
            "HF_HUB_OFFLINE=1"
        ) from None


def _cached(repo_id: str, revision: str, cache_dir, token) -> str | None:
    """The snapshot folder of a pinned commit already in the cache, without touching the network."""
    from huggingface_hub import snapshot_download

    if not _COMMIT.match(revision):
        return None  # a branch or tag may have moved: ask the Hub
    try:
        return snapshot_download(
            repo_id=repo_id,
            repo_type=REPO_TYPE,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            local_files_only=True,
        )
    except Exception:  # noqa: BLE001 - not (completely) cached: fall through to a download
        return None


def pull(
    repo_id: str, revision: str, *, cache_dir: str | Path | None = None, token: str | bool | None = None
) -> Pulled:
    """Download (or find in the cache) a dataset repository at ``revision``.

    A commit id already in the cache is served without any network access;
    a branch or tag is resolved by the Hub (or, offline, by the cached ref).
    """
    from huggingface_hub import snapshot_download

    _check(repo_id, revision)
    folder = _cached(repo_id, revision, cache_dir, token)
    if folder is None:
        _require_hub("pull", repo_id, revision)
        try:
            folder = snapshot_download(
                repo_id=repo_id, repo_type=REPO_TYPE, revision=revision, cache_dir=cache_dir, token=token
            )
        except _hub_errors() as exc:
            raise _explain(exc, "pull", repo_id, revision) from None
    path = Path(folder)
    return Pulled(
        repo_id=repo_id, revision=revision, commit=path.name if _COMMIT.match(path.name) else revision, path=path
    )


def pull_corpus(
    repo_id: str, revision: str, *, cache_dir: str | Path | None = None, token: str | bool | None = None
) -> Pulled:
    """Pull a corpus repository and check it: a registry and a valid table for every source it lists.

    Load it with ``workbench.corpus.load(corpus=pulled.path)``.
    """
    pulled = pull(repo_id, revision, cache_dir=cache_dir, token=token)
    if not (pulled.path / "sources.toml").is_file():
        raise WorkbenchError(
            f"{repo_id}@{revision} is not a corpus: it has no sources.toml (for a single runs table use pull_runs)"
        )
    for src in sources(pulled.path).values():
        table = read_table(src.table, f"{repo_id}@{pulled.commit[:10]}/{src.table.name}")
        wrong = table["source_id"] != src.id
        if wrong.any():
            row = int(wrong.arg_max())
            raise WorkbenchError(
                f"{repo_id}@{pulled.commit[:10]}/{src.table.name}: column 'source_id' row {row + 1}: "
                f"{table['source_id'][row]!r} should be {src.id!r}"
            )
    return pulled


def pull_runs(
    repo_id: str,
    revision: str,
    filename: str = RUNS_FILE,
    *,
    cache_dir: str | Path | None = None,
    token: str | bool | None = None,
) -> pl.DataFrame:
    """A runs table (CSV or parquet in the corpus schema) from a dataset repository, validated."""
    from huggingface_hub import hf_hub_download

    _check(repo_id, revision)
    try:
        path = hf_hub_download(
            repo_id=repo_id,
            filename=filename,
            repo_type=REPO_TYPE,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            local_files_only=True,
        )
    except Exception:  # noqa: BLE001 - not cached yet
        path = None
    if path is not None and _COMMIT.match(revision):
        return read_table(Path(path), f"{repo_id}@{revision}/{filename}")
    _require_hub(f"pull {filename} from", repo_id, revision)
    try:
        path = hf_hub_download(
            repo_id=repo_id, filename=filename, repo_type=REPO_TYPE, revision=revision, cache_dir=cache_dir, token=token
        )
    except _hub_errors() as exc:
        raise _explain(exc, f"pull {filename} from", repo_id, revision) from None
    return read_table(Path(path), f"{repo_id}@{revision}/{filename}")


def push_runs(
    table: str | Path | pl.DataFrame,
    repo_id: str,
    *,
    path_in_repo: str | None = None,
    private: bool = False,
    token: str | None = None,
    commit_message: str | None = None,
) -> str:
    """Validate a runs table and commit it to a dataset repository (created if missing); returns the commit id.

    A file is uploaded byte for byte as the user wrote it (it is read, never
    modified); a DataFrame is written as CSV.  ``path_in_repo`` defaults to
    ``runs.csv`` (``runs.parquet`` for a parquet file).  Nothing is pushed
    unless the whole table passes the corpus validator.
    """
    from huggingface_hub import HfApi

    if not _REPO_ID.match(repo_id or ""):
        raise WorkbenchError(f"{repo_id!r} is not a Hub repository id (expected 'owner/name')")
    if isinstance(table, pl.DataFrame):
        checked = validate(table, "runs table")
        buffer = io.BytesIO()
        keep = [c for c in checked.columns if checked[c].null_count() < checked.height]
        checked.select(keep).write_csv(buffer, float_precision=None)
        payload: bytes | str = buffer.getvalue()
        rows = checked.height
        path_in_repo = path_in_repo or RUNS_FILE
    else:
        path = Path(table)
        if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise WorkbenchError(f"{path}: push a .csv or .parquet runs table")
        rows = validate(read_text_table(path), str(path)).height
        payload = str(path)
        path_in_repo = path_in_repo or f"runs{path.suffix.lower()}"
        if Path(path_in_repo).suffix.lower() != path.suffix.lower():
            raise WorkbenchError(f"{path}: path_in_repo {path_in_repo!r} should end in {path.suffix} like the file")
    if _offline():
        raise WorkbenchError(f"cannot push to {repo_id}: HF_HUB_OFFLINE=1 forbids network access; unset it to push")
    _require_hub("push to", repo_id)
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True)
        info = api.upload_file(
            path_or_fileobj=payload,
            path_in_repo=path_in_repo,
            repo_id=repo_id,
            repo_type=REPO_TYPE,
            commit_message=commit_message or f"Add {rows} runs ({path_in_repo}) from the scaling-law workbench",
        )
    except _hub_errors() as exc:
        raise _explain(exc, "push to", repo_id) from None
    return info.oid
