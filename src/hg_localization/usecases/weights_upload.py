"""Upload a folder of weights to a Hub repo: a fresh checksums.txt, then everything in ONE commit.

1. :func:`plan_upload` lists what would go (hidden files and folders are skipped and named) and
   refuses Git LFS pointer files, which mean the weights were never pulled. A folder without a
   README.md gets a minimal model card (:mod:`weights_card`), unless told not to.
2. :func:`upload_weights` hashes every file, writes ``checksums.txt`` beside them, creates the
   repo when it is missing, and sends one ``create_commit`` with every file in it (and the card,
   from memory: it is never written into the folder). With a tag, it first checks that the tag
   is free (nothing is sent otherwise), then tags the new commit.

How the bytes travel. With ``hf_xet`` installed, huggingface_hub sends files given by path
through Xet, which only the Hub itself speaks; and whether Xet is off (``HF_HUB_DISABLE_XET``)
is read once, when huggingface_hub is imported. So:

- to huggingface.co, files are given by path: the client's own choice (Xet when available);
- to any other endpoint (a mirror, an hg-localization server), files are given as open file
  objects, for which huggingface_hub always uses the plain-HTTP LFS protocol that every
  Hub-compatible server speaks. No environment variable is needed for this.

The sha256 computed for ``checksums.txt`` is handed to the client, so no file is hashed twice.
"""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from huggingface_hub import CommitOperationAdd, get_token
from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

from hg_localization.config import DEFAULT_HF_ENDPOINT, HGLocalizationConfig
from hg_localization.errors import (
    AuthenticationError,
    HGLocalizationError,
    InvalidInputError,
    NotFoundError,
    RepoNotFoundError,
    UpstreamError,
)
from hg_localization.hub.client import HubClient
from hg_localization.hub.errors import translate
from hg_localization.ids import (
    RepoId,
    parse_repo_id,
    validate_ref_name,
    validate_repo_path,
    validate_revision,
)
from hg_localization.integrity.checksums import CHECKSUMS_FILENAME, FileSum, format_checksums, sum_file
from hg_localization.store.atomic import atomic_write_text
from hg_localization.usecases.progress import SILENT, ProgressListener
from hg_localization.usecases.tracked_file import TrackedFile
from hg_localization.usecases.weights_card import CARD_FILENAME, model_card

DEFAULT_SOURCE_DIR = Path("weights_to_upload")
DEFAULT_COMMIT_MESSAGE = "Upload weights with hg-localization"
TOKEN_REQUIRED = "HUGGING_FACE_HUB_TOKEN is required for uploads."  # noqa: S105 - a message
_LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"
_LFS_POINTER_MAX_SIZE = 1024


@dataclass(frozen=True)
class PlannedFile:
    path: str
    size: int
    disk_path: Path


@dataclass(frozen=True)
class UploadPlan:
    """What :func:`upload_weights` will send: the files, and what it skips (hidden files, folders)."""

    source_dir: Path
    files: tuple[PlannedFile, ...]
    skipped: tuple[str, ...]
    replaces_checksums: bool
    #: The folder has no README.md: a minimal model card is added to the commit.
    adds_card: bool = False

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def card(
        self,
        repo_id: str,
        sha256: dict[str, str] | None = None,
        *,
        tag: str | None = None,
        endpoint: str = DEFAULT_HF_ENDPOINT,
    ) -> str:
        """The model card this plan adds (``sha256`` None: a preview, before hashing)."""
        files = [(f.path, f.size) for f in self.files]
        return model_card(parse_repo_id(repo_id), files, sha256, revision=tag, endpoint=endpoint)


@dataclass(frozen=True)
class UploadResult:
    repo_id: str
    commit_url: str
    commit_oid: str
    pull_request_url: str | None
    files: int
    total_bytes: int
    checksums_file: Path | None
    #: The tag made on the new commit, if one was asked for.
    tag: str | None = None
    card_added: bool = False
    #: False when the repo already had every file as it is: no commit was made, nothing was sent.
    changed: bool = True


def upload_token(config: HGLocalizationConfig) -> str:
    """The token uploads use (environment, then the stored login); raise before anything is sent."""
    token = config.token or get_token()
    if not token:
        raise AuthenticationError(
            message=TOKEN_REQUIRED,
            hint="Set HUGGING_FACE_HUB_TOKEN (or HF_TOKEN) to a token with write access, "
            "or log in with `hf auth login`. Nothing was uploaded.",
        )
    return token


def plan_upload(source_dir: Path, *, card: bool = True) -> UploadPlan:
    """Every non-hidden file under ``source_dir`` (recursive), sorted; its checksums.txt is regenerated.

    With ``card`` and no README.md in the folder, the plan adds a minimal model card.
    """
    if not source_dir.is_dir():
        raise InvalidInputError(
            f"The folder to upload, {source_dir}, does not exist.",
            hint="Put the weights in weights_to_upload/ or pass --source-dir.",
        )
    files: list[PlannedFile] = []
    skipped: list[str] = []
    replaces_checksums = False
    for folder, dirnames, filenames in os.walk(source_dir):
        base = Path(folder)
        relative_base = base.relative_to(source_dir)
        for name in sorted(dirnames):
            if name.startswith("."):
                skipped.append(f"{(relative_base / name).as_posix()}/")
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            relative = (relative_base / name).as_posix()
            disk_path = base / name
            if name.startswith("."):
                skipped.append(relative)
            elif relative == CHECKSUMS_FILENAME:
                replaces_checksums = True
            elif disk_path.is_file():
                files.append(PlannedFile(validate_repo_path(relative), disk_path.stat().st_size, disk_path))
    if not files:
        raise InvalidInputError(f"There is nothing to upload in {source_dir}.")
    for planned in files:
        _refuse_lfs_pointer(planned)
    return UploadPlan(
        source_dir=source_dir,
        files=tuple(sorted(files, key=lambda f: f.path)),
        skipped=tuple(sorted(skipped)),
        replaces_checksums=replaces_checksums,
        adds_card=card and not any(f.path == CARD_FILENAME for f in files),
    )


def _refuse_lfs_pointer(planned: PlannedFile) -> None:
    if planned.size > _LFS_POINTER_MAX_SIZE:
        return
    with planned.disk_path.open("rb") as handle:
        if handle.read(len(_LFS_POINTER_PREFIX)) == _LFS_POINTER_PREFIX:
            raise InvalidInputError(
                f"'{planned.path}' is a Git LFS pointer, not the file it points to.",
                hint=f"Fetch the real files first: git lfs pull --include '{planned.disk_path.parent}/**' "
                "(the push-weights workflow does this for its weights_path).",
            )


def upload_weights(
    config: HGLocalizationConfig,
    plan: UploadPlan,
    *,
    repo_id: str,
    commit_message: str | None = None,
    private: bool = False,
    revision: str | None = None,
    create_pr: bool = False,
    tag: str | None = None,
    tag_message: str | None = None,
    progress: ProgressListener = SILENT,
) -> UploadResult:
    """Hash, write checksums.txt, create the repo if needed, upload everything in one commit, tag it."""
    token = upload_token(config)
    rid = parse_repo_id(repo_id)
    check_options(revision=revision, tag=tag, create_pr=create_pr)
    hub = HubClient(config.hf_endpoint, token)
    if tag is not None:
        _require_free_tag(hub, rid, tag)
    sums = {f.path: _hash(f, progress) for f in plan.files}
    listing = format_checksums({path: s.sha256 for path, s in sums.items()})
    checksums_file: Path | None = plan.source_dir / CHECKSUMS_FILENAME
    try:
        atomic_write_text(plan.source_dir / CHECKSUMS_FILENAME, listing)
    except OSError:  # a read-only folder: the listing is still uploaded, from memory
        checksums_file = None
    extra = {CHECKSUMS_FILENAME: listing.encode()}
    if plan.adds_card:
        sha256 = {path: s.sha256 for path, s in sums.items()}
        extra[CARD_FILENAME] = plan.card(str(rid), sha256, tag=tag, endpoint=hub.endpoint).encode()
    plain_http = hub.endpoint != DEFAULT_HF_ENDPOINT
    head_before = None if create_pr else _head_commit(hub, rid, revision)
    with _upload_errors(hub.endpoint, str(rid), revision), ExitStack() as stack:
        hub.api.create_repo(str(rid), repo_type="model", private=True if private else None, exist_ok=True)
        operations = [_operation(f, sums[f.path], plain_http, progress, stack) for f in plan.files]
        operations += [CommitOperationAdd(path, data) for path, data in extra.items()]
        if plain_http:
            stack.enter_context(_plain_http_quietly())
        info = hub.api.create_commit(
            str(rid),
            operations,
            commit_message=commit_message or DEFAULT_COMMIT_MESSAGE,
            repo_type="model",
            revision=revision,
            create_pr=create_pr,
        )
    if tag is not None:
        _tag_commit(hub, rid, tag, tag_message, info.oid)
    return UploadResult(
        repo_id=str(rid),
        commit_url=info.commit_url,
        commit_oid=info.oid,
        pull_request_url=info.pr_url,
        files=len(operations),
        total_bytes=plan.total_bytes + sum(len(data) for data in extra.values()),
        checksums_file=checksums_file,
        tag=tag,
        card_added=plan.adds_card,
        changed=info.oid != head_before,
    )


def _head_commit(hub: HubClient, rid: RepoId, revision: str | None) -> str | None:
    """The commit the branch points at before the upload; None for a repo or branch not there yet.

    When every file is unchanged, huggingface_hub makes no commit and answers with this one.
    """
    try:
        return hub.commit_of("model", rid, revision or "main")
    except (NotFoundError, AuthenticationError):  # the upload itself says what is wrong, if anything
        return None


def check_options(*, revision: str | None, tag: str | None, create_pr: bool) -> None:
    """Refuse a bad branch or tag name, or a tag on a pull request, before anything is done."""
    if revision is not None:
        validate_revision(revision)
    if tag is not None:
        validate_ref_name(tag, "tag")
        if create_pr:
            raise InvalidInputError(
                "--tag and --create-pr do not go together: a release tag names a commit of a branch.",
                hint="Upload to a branch (main by default) with --tag, or open the pull request without it.",
            )


def _require_free_tag(hub: HubClient, rid: RepoId, tag: str) -> None:
    """Refuse, before anything is hashed or sent, a tag the repo already has."""
    try:
        with _upload_errors(hub.endpoint, str(rid), None):
            refs = hub.api.list_repo_refs(str(rid), repo_type="model")
    except RepoNotFoundError:
        return  # a repo the upload will create has no tags yet
    taken = next((t for t in refs.tags if t.name == tag), None)
    if taken is not None:
        raise InvalidInputError(
            f"'{rid}' already has a tag '{tag}' (commit {taken.target_commit[:12]}): nothing was uploaded.",
            hint="A release tag never moves: choose a new one (e.g. a higher version) with --tag.",
        )


def _tag_commit(hub: HubClient, rid: RepoId, tag: str, message: str | None, commit: str) -> None:
    try:
        with _upload_errors(hub.endpoint, str(rid), commit):
            hub.api.create_tag(str(rid), tag=tag, tag_message=message, revision=commit, repo_type="model")
    except HGLocalizationError as exc:
        endpoint = "" if hub.endpoint == DEFAULT_HF_ENDPOINT else f"HF_ENDPOINT={shlex.quote(hub.endpoint)} "
        command = shlex.join(["hf", "repos", "tag", "create", str(rid), tag, "--revision", commit])
        raise UpstreamError(
            f"The upload is done (commit {commit}), but tagging it '{tag}' failed: {exc.message}",
            hint=f"Tag the commit by hand: {endpoint}{command}",
        ) from exc


def _hash(planned: PlannedFile, progress: ProgressListener) -> FileSum:
    label = f"hashing {planned.path}"
    progress.file_started(label, planned.size)
    try:
        return sum_file(planned.disk_path, lambda n: progress.file_advanced(label, n))
    finally:
        progress.file_finished(label)


def _operation(
    planned: PlannedFile, sums: FileSum, plain_http: bool, progress: ProgressListener, stack: ExitStack
) -> CommitOperationAdd:
    """One file of the commit, with its sha256 already known.

    ``CommitOperationAdd`` given a path only reads a 512-byte sample; its ``upload_info.sha256``
    is a public setter. For plain HTTP the path is then swapped for a file object (the client
    picks LFS over HTTP for file objects) that opens lazily and reports progress.
    """
    operation = CommitOperationAdd(path_in_repo=planned.path, path_or_fileobj=str(planned.disk_path))
    operation.upload_info.sha256 = bytes.fromhex(sums.sha256)
    if plain_http:
        tracked = TrackedFile(planned.disk_path, planned.path, planned.size, progress)
        stack.callback(tracked.close)
        operation.path_or_fileobj = cast(BinaryIO, tracked)  # an io.BufferedIOBase, as the client checks
    return operation


class _ExpectedFallbackNotice(logging.Filter):
    """Drops the client's warning that file objects go over HTTP, not Xet: that is the intent."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "binary IO buffer is not supported by Xet" not in record.getMessage()


@contextmanager
def _plain_http_quietly() -> Iterator[None]:
    """huggingface_hub's own tqdm bars would fight ours, and its fallback notice is expected."""
    were_disabled = are_progress_bars_disabled()
    notice = _ExpectedFallbackNotice()
    client_logger = logging.getLogger("huggingface_hub._commit_api")
    disable_progress_bars()
    client_logger.addFilter(notice)
    try:
        yield
    finally:
        client_logger.removeFilter(notice)
        if not were_disabled:
            enable_progress_bars()


@contextmanager
def _upload_errors(endpoint: str, repo_id: str, revision: str | None) -> Iterator[None]:
    """huggingface_hub's errors as ours, with the upload's own words for a refused token."""
    try:
        yield
    except HGLocalizationError:
        raise
    except Exception as exc:
        cause: BaseException = exc
        # The client wraps a failed file upload in RuntimeError("Error while uploading …").
        while isinstance(cause, RuntimeError) and cause.__cause__ is not None:
            cause = cause.__cause__
        error = translate(cause, endpoint, repo_id, "model", revision)
        if isinstance(error, AuthenticationError):
            error = AuthenticationError(
                repo_id,
                message=f"The Hub at {endpoint} refused the upload to '{repo_id}': the token is not "
                "valid or has no write access to it.",
                hint="Set HUGGING_FACE_HUB_TOKEN to a token with the 'write' role for this namespace.",
            )
        raise error from exc
