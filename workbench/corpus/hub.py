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

What a pull trusts, and why.  A branch or tag is resolved to a commit, and
that commit is what :class:`Pulled` records (a name that moves is not a
pin).  A repository may carry ``SHA256SUMS`` (the output of ``sha256sum``,
which :func:`push_runs` keeps up to date): every file it lists is checked
after the download, a changed file is an error naming it, and once a
manifest exists a pull refuses to read a file it does not list.  A
repository without one is pulled unverified (``Pulled.verified`` is empty).
Repository ids, revisions and file names are checked before any request, and
every name taken from a pulled ``sources.toml`` must stay inside the snapshot
(:mod:`workbench.corpus.paths`).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import polars as pl

from workbench.corpus.files import sha256
from workbench.corpus.load import read_table, validate
from workbench.corpus.paths import check_relative, within
from workbench.corpus.sources import registry_path, sources
from workbench.corpus.tables import read_text_table
from workbench.errors import WorkbenchError, quote

REPO_TYPE = "dataset"
RUNS_FILE = "runs.csv"
MANIFEST = "SHA256SUMS"  # `sha256sum FILE... > SHA256SUMS`; check with `sha256sum -c SHA256SUMS`
_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9])?"
_REPO_ID = re.compile(rf"^{_NAME}/{_NAME}$")
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+/-]{0,254}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_MANIFEST_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *](.+)")


@dataclass(frozen=True)
class Pulled:
    """A repository snapshot in the local cache: what was asked for and what it resolved to."""

    repo_id: str
    revision: str  # as requested (branch, tag or commit)
    commit: str  # the commit it resolved to (always a 40-hex commit id, never a branch name)
    path: Path  # snapshot folder in the Hugging Face cache
    verified: tuple[str, ...] = ()  # files whose sha256 matched SHA256SUMS (empty: the repository has no manifest)

    @property
    def pin(self) -> str:
        """``owner/name@<commit>``: what to write down to get the same bytes again."""
        return f"{self.repo_id}@{self.commit}"


def check_repo_id(repo_id: object) -> str:
    """``repo_id`` if it is a valid ``owner/name`` (checked here and by huggingface_hub), else a one-line error."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    ok = (
        isinstance(repo_id, str)
        and _REPO_ID.match(repo_id)
        and ".." not in repo_id
        and "--" not in repo_id
        and not repo_id.endswith(".git")
    )
    if not ok:
        raise WorkbenchError(
            f"{quote(repo_id)} is not a Hub repository id (expected 'owner/name' of letters, digits, '_', '.' or '-', "
            "neither part starting or ending with '.' or '-', without '..' or '--')"
        )
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise WorkbenchError(f"{repo_id!r} is not a Hub repository id: {_first_line(exc)}") from None
    return repo_id


def _check(repo_id: str, revision: str | None) -> None:
    check_repo_id(repo_id)
    if not revision:
        raise WorkbenchError(
            f"pulling {repo_id} needs a revision (a commit id, or a tag or branch) so that the data is pinned"
        )
    parts = revision.split("/") if isinstance(revision, str) else [""]
    if not isinstance(revision, str) or not _REVISION.match(revision) or ".." in revision or "" in parts:
        raise WorkbenchError(
            f"{quote(revision)} is not a revision of {repo_id}: give a commit id, or a branch or tag name "
            "(letters, digits, '_', '.', '+', '-', '/'; no '..')"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _explain(exc: Exception, what: str, repo_id: str, revision: str | None = None) -> WorkbenchError:
    """Turn a huggingface_hub failure into one message that says what to do."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        EntryNotFoundError,
        FileMetadataError,
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    at = f"{repo_id}@{revision}" if revision else repo_id
    if isinstance(exc, HFValidationError):
        return WorkbenchError(f"cannot {what} {at}: huggingface_hub refuses the request: {_first_line(exc)}")
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
        return WorkbenchError(f"cannot {what} {at}: the repository has no revision {quote(revision)}")
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
        HFValidationError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
    )

    errors: list[type[Exception]] = [
        HfHubHTTPError,
        HFValidationError,
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
        folder = snapshot_download(
            repo_id=repo_id,
            repo_type=REPO_TYPE,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            local_files_only=True,
        )
    except Exception:  # noqa: BLE001 - not (completely) cached: fall through to a download
        return None
    return folder if _complete(Path(folder)) else None


def _complete(snapshot: Path) -> bool:
    """False if the snapshot's ``SHA256SUMS`` lists a file the cache lacks (e.g. only one file was pulled before)."""
    listing = snapshot / MANIFEST
    try:
        names = read_manifest(listing, str(snapshot)) if listing.is_file() else {}
    except WorkbenchError:
        return True  # let the verification report the broken manifest
    return all((snapshot / name).exists() for name in names)


def read_manifest(path: Path, where: str) -> dict[str, str]:
    """``{file: sha256}`` from a ``SHA256SUMS`` file (lines ``<sha256>  <file>``, as ``sha256sum`` writes them)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"{where}/{MANIFEST}: cannot read it ({exc})") from None
    out: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        m = _MANIFEST_LINE.fullmatch(line)
        if m is None:
            raise WorkbenchError(f"{where}/{MANIFEST} line {n}: expected '<sha256>  <file>' as sha256sum writes it")
        name = check_relative(m.group(2), f"{where}/{MANIFEST} line {n}", "file name")
        if name in out:
            raise WorkbenchError(f"{where}/{MANIFEST} line {n}: {name} is listed twice")
        out[name] = m.group(1).lower()
    return out


def manifest_text(entries: dict[str, str]) -> str:
    """The ``SHA256SUMS`` text for ``{file: sha256}``, sorted by file name (checkable with ``sha256sum -c``)."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(entries.items()))


def _unlisted(where: str, name: str) -> WorkbenchError:
    return WorkbenchError(
        f"{where}/{name} is not listed in {MANIFEST}, so it cannot be verified; "
        f"push it again with the workbench (which lists it) or add its sha256 to {MANIFEST}"
    )


def _verify(snapshot: Path, names: Iterable[str], manifest: dict[str, str], where: str) -> tuple[str, ...]:
    """Check each file against the manifest; a file it does not list, or whose bytes changed, is an error."""
    checked = []
    for name in names:
        if name not in manifest:
            raise _unlisted(where, name)
        path = within(snapshot, name, where)
        if not path.is_file():
            raise WorkbenchError(
                f"{where}/{name} is listed in {MANIFEST} but missing from the local snapshot "
                "(the cache holds only part of this revision: pull it once with network access)"
            )
        digest = sha256(path)
        if digest != manifest[name]:
            raise WorkbenchError(
                f"{where}/{name}: sha256 {digest} does not match {manifest[name]} in {MANIFEST}; the file changed "
                "after it was listed (in the repository or in the local cache): do not use it"
            )
        checked.append(name)
    return tuple(checked)


def _verify_snapshot(snapshot: Path, where: str) -> tuple[str, ...]:
    """Check every file a snapshot's ``SHA256SUMS`` lists; ``()`` if it has none."""
    listing = within(snapshot, MANIFEST, where)
    if not listing.is_file():
        return ()
    manifest = read_manifest(listing, where)
    return _verify(snapshot, sorted(manifest), manifest, where)


def _commit_of(snapshot: Path, repo_id: str, revision: str) -> str:
    """The commit id a snapshot folder (``.../snapshots/<commit>``) holds, or an error if it is not one."""
    commit = snapshot.name
    if not _COMMIT.match(commit) or snapshot.parent.name != "snapshots":
        raise WorkbenchError(f"pulling {repo_id}@{revision} did not resolve to a commit (got {snapshot})")
    if _COMMIT.match(revision) and commit != revision:
        raise WorkbenchError(f"pulling {repo_id}@{revision} gave commit {commit} instead")
    return commit


def pull(
    repo_id: str, revision: str, *, cache_dir: str | Path | None = None, token: str | bool | None = None
) -> Pulled:
    """Download (or find in the cache) a dataset repository at ``revision``, resolved to a commit and verified.

    A commit id already in the cache is served without any network access;
    a branch or tag is resolved by the Hub (or, offline, by the cached ref),
    and ``Pulled.commit`` records the commit it resolved to.  Every file the
    repository's ``SHA256SUMS`` lists is checked (``Pulled.verified``).
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
    commit = _commit_of(path, repo_id, revision)
    verified = _verify_snapshot(path, f"{repo_id}@{commit[:10]}")
    return Pulled(repo_id=repo_id, revision=revision, commit=commit, path=path, verified=verified)


def pull_corpus(
    repo_id: str, revision: str, *, cache_dir: str | Path | None = None, token: str | bool | None = None
) -> Pulled:
    """Pull a corpus repository and check it: a registry and a valid table for every source it lists.

    Source ids in the pulled ``sources.toml`` must be plain names (no path can
    lead outside the snapshot), and if the repository has a ``SHA256SUMS``,
    the registry and every table must be listed in it and match.  Load it
    with ``workbench.corpus.load(corpus=pulled.path)``.
    """
    pulled = pull(repo_id, revision, cache_dir=cache_dir, token=token)
    where = f"{repo_id}@{pulled.commit[:10]}"
    if not within(pulled.path, registry_path(pulled.path).name, where).is_file():
        raise WorkbenchError(
            f"{repo_id}@{revision} is not a corpus: it has no sources.toml (for a single runs table use pull_runs)"
        )
    listed = sources(pulled.path)
    names = [registry_path(pulled.path).name, *(src.table.name for src in listed.values())]
    unlisted = [n for n in names if n not in pulled.verified]
    if pulled.verified and unlisted:  # a manifest exists: every file read must be one it vouches for
        raise _unlisted(where, unlisted[0])
    for src in listed.values():
        table = read_table(src.table, f"{where}/{src.table.name}")
        wrong = table["source_id"] != src.id
        if wrong.any():
            row = int(wrong.arg_max())
            raise WorkbenchError(
                f"{where}/{src.table.name}: column 'source_id' row {row + 1}: "
                f"{quote(table['source_id'][row])} should be {src.id!r}"
            )
    return pulled


def _download(repo_id: str, revision: str, filename: str, cache_dir, token) -> Path:
    """One file of a repository in the local cache: a cached pinned commit needs no network."""
    from huggingface_hub import hf_hub_download

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
        return Path(path)
    _require_hub(f"pull {filename} from", repo_id, revision)
    try:
        path = hf_hub_download(
            repo_id=repo_id, filename=filename, repo_type=REPO_TYPE, revision=revision, cache_dir=cache_dir, token=token
        )
    except _hub_errors() as exc:
        raise _explain(exc, f"pull {filename} from", repo_id, revision) from None
    return Path(path)


def _manifest_beside(snapshot: Path, repo_id: str, commit: str, cache_dir, token) -> dict[str, str] | None:
    """The ``SHA256SUMS`` of a commit, ``None`` if it has none (or, offline, if that is not known yet)."""
    from huggingface_hub import hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import RemoteEntryNotFoundError

    where = f"{repo_id}@{commit[:10]}"
    listing = within(snapshot, MANIFEST, where)
    if not listing.is_file():
        known = try_to_load_from_cache(repo_id, MANIFEST, cache_dir=cache_dir, revision=commit, repo_type=REPO_TYPE)
        if known is not None or _offline():  # the Hub said before that there is none; offline, we cannot ask
            return None
        try:
            hf_hub_download(repo_id, MANIFEST, repo_type=REPO_TYPE, revision=commit, cache_dir=cache_dir, token=token)
        except RemoteEntryNotFoundError:
            return None
        except _hub_errors() as exc:
            raise _explain(exc, f"pull {MANIFEST} from", repo_id, commit) from None
    return read_manifest(listing, where)


def pull_runs(
    repo_id: str,
    revision: str,
    filename: str = RUNS_FILE,
    *,
    cache_dir: str | Path | None = None,
    token: str | bool | None = None,
) -> pl.DataFrame:
    """A runs table (CSV or parquet in the corpus schema) from a dataset repository, verified and validated.

    If the repository has a ``SHA256SUMS``, the file must be listed in it and match.
    """
    _check(repo_id, revision)
    check_relative(filename, f"{repo_id}@{revision}", "file name")
    path = _download(repo_id, revision, filename, cache_dir, token)
    snapshot = path.parents[len(PurePosixPath(filename).parts) - 1]
    commit = _commit_of(snapshot, repo_id, revision)
    where = f"{repo_id}@{commit[:10]}"
    manifest = _manifest_beside(snapshot, repo_id, commit, cache_dir, token)
    if manifest is not None:
        _verify(snapshot, [filename], manifest, where)
    return read_table(within(snapshot, filename, where), f"{repo_id}@{revision}/{filename}")


def _payload(table: str | Path | pl.DataFrame, path_in_repo: str | None) -> tuple[bytes, int, str]:
    """The bytes to upload, their row count and their name in the repository; nothing passes unvalidated."""
    if isinstance(table, pl.DataFrame):
        checked = validate(table, "runs table")
        buffer = io.BytesIO()
        keep = [c for c in checked.columns if checked[c].null_count() < checked.height]
        checked.select(keep).write_csv(buffer, float_precision=None)
        return buffer.getvalue(), checked.height, path_in_repo or RUNS_FILE
    path = Path(table)
    if path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise WorkbenchError(f"{path}: push a .csv or .parquet runs table")
    rows = validate(read_text_table(path), str(path)).height
    path_in_repo = path_in_repo or f"runs{path.suffix.lower()}"
    if Path(path_in_repo).suffix.lower() != path.suffix.lower():
        raise WorkbenchError(f"{path}: path_in_repo {path_in_repo!r} should end in {path.suffix} like the file")
    try:
        data = path.read_bytes()  # read once: the bytes hashed are the bytes uploaded
    except OSError as exc:
        raise WorkbenchError(f"{path}: cannot read it ({exc.strerror})") from None
    return data, rows, path_in_repo


def _remote_manifest(api, repo_id: str) -> tuple[str, dict[str, str]]:
    """The head commit of the default branch and its ``SHA256SUMS`` entries (empty if it has none)."""
    info = api.dataset_info(repo_id)
    if MANIFEST not in {s.rfilename for s in info.siblings or ()}:
        return info.sha, {}
    listing = api.hf_hub_download(repo_id=repo_id, filename=MANIFEST, repo_type=REPO_TYPE, revision=info.sha)
    return info.sha, read_manifest(Path(listing), f"{repo_id}@{info.sha[:10]}")


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
    unless the whole table passes the corpus validator.  The same commit
    updates ``SHA256SUMS`` with the file's sha256 (other entries kept), and is
    made on top of the head it read, so a concurrent push fails instead of
    losing an entry.
    """
    from huggingface_hub import CommitOperationAdd, HfApi

    check_repo_id(repo_id)
    payload, rows, path_in_repo = _payload(table, path_in_repo)
    check_relative(path_in_repo, f"push to {repo_id}", "path_in_repo")
    if path_in_repo == MANIFEST:
        raise WorkbenchError(f"push to {repo_id}: {MANIFEST} is the workbench's manifest; choose another path_in_repo")
    if _offline():
        raise WorkbenchError(f"cannot push to {repo_id}: HF_HUB_OFFLINE=1 forbids network access; unset it to push")
    _require_hub("push to", repo_id)
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True)
        head, entries = _remote_manifest(api, repo_id)
        entries[path_in_repo] = hashlib.sha256(payload).hexdigest()
        info = api.create_commit(
            repo_id=repo_id,
            repo_type=REPO_TYPE,
            operations=[
                CommitOperationAdd(path_in_repo=path_in_repo, path_or_fileobj=payload),
                CommitOperationAdd(path_in_repo=MANIFEST, path_or_fileobj=manifest_text(entries).encode()),
            ],
            commit_message=commit_message or f"Add {rows} runs ({path_in_repo}) from the scaling-law workbench",
            parent_commit=head,
        )
    except _hub_errors() as exc:
        raise _explain(exc, "push to", repo_id) from None
    return info.oid
