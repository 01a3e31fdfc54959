"""Upload a folder of weights to a Hub repo: a fresh checksums.txt, then everything in ONE commit.

1. :func:`plan_upload` lists what would go (hidden files and folders are skipped and named) and
   refuses Git LFS pointer files, which mean the weights were never pulled.
2. :func:`upload_weights` hashes every file, writes ``checksums.txt`` beside them, creates the
   repo when it is missing, and sends one ``create_commit`` with every file in it.

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

import io
import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from huggingface_hub import CommitOperationAdd, get_token
from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

from hg_localization.config import DEFAULT_HF_ENDPOINT, HGLocalizationConfig
from hg_localization.errors import AuthenticationError, HGLocalizationError, InvalidInputError
from hg_localization.hub.client import HubClient
from hg_localization.hub.errors import translate
from hg_localization.ids import parse_repo_id, validate_repo_path, validate_revision
from hg_localization.integrity.checksums import CHECKSUMS_FILENAME, FileSum, format_checksums, sum_file
from hg_localization.store.atomic import atomic_write_text
from hg_localization.usecases.progress import SILENT, ProgressListener

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

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class UploadResult:
    repo_id: str
    commit_url: str
    commit_oid: str
    pull_request_url: str | None
    files: int
    total_bytes: int
    checksums_file: Path | None


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


def plan_upload(source_dir: Path) -> UploadPlan:
    """Every non-hidden file under ``source_dir`` (recursive), sorted; its checksums.txt is regenerated."""
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
    )


def _refuse_lfs_pointer(planned: PlannedFile) -> None:
    if planned.size > _LFS_POINTER_MAX_SIZE:
        return
    with planned.disk_path.open("rb") as handle:
        if handle.read(len(_LFS_POINTER_PREFIX)) == _LFS_POINTER_PREFIX:
            raise InvalidInputError(
                f"'{planned.path}' is a Git LFS pointer, not the file it points to.",
                hint="Fetch the real files first: `git lfs pull` (GitHub Actions: checkout with lfs: true).",
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
    progress: ProgressListener = SILENT,
) -> UploadResult:
    """Hash, write checksums.txt, create the repo if needed, and upload everything in one commit."""
    token = upload_token(config)
    rid = str(parse_repo_id(repo_id))
    if revision is not None:
        validate_revision(revision)
    sums = {f.path: _hash(f, progress) for f in plan.files}
    listing = format_checksums({path: s.sha256 for path, s in sums.items()})
    checksums_file: Path | None = plan.source_dir / CHECKSUMS_FILENAME
    try:
        atomic_write_text(plan.source_dir / CHECKSUMS_FILENAME, listing)
    except OSError:  # a read-only folder: the listing is still uploaded, from memory
        checksums_file = None
    hub = HubClient(config.hf_endpoint, token)
    plain_http = hub.endpoint != DEFAULT_HF_ENDPOINT
    with _upload_errors(hub.endpoint, rid, revision), ExitStack() as stack:
        hub.api.create_repo(rid, repo_type="model", private=True if private else None, exist_ok=True)
        operations = [_operation(f, sums[f.path], plain_http, progress, stack) for f in plan.files]
        operations.append(CommitOperationAdd(CHECKSUMS_FILENAME, listing.encode()))
        if plain_http:
            stack.enter_context(_plain_http_quietly())
        info = hub.api.create_commit(
            rid,
            operations,
            commit_message=commit_message or DEFAULT_COMMIT_MESSAGE,
            repo_type="model",
            revision=revision,
            create_pr=create_pr,
        )
    return UploadResult(
        repo_id=rid,
        commit_url=info.commit_url,
        commit_oid=info.oid,
        pull_request_url=info.pr_url,
        files=len(operations),
        total_bytes=plan.total_bytes + len(listing.encode()),
        checksums_file=checksums_file,
    )


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


class TrackedFile(io.BufferedIOBase):
    """A read-only file that is open only while being read, and reports how far reading got.

    Many files can be part of one commit; each holds a descriptor only between its first read
    and its end. Progress counts the furthest byte read, so a retried or repeated read (the
    client reads small files twice) is not counted twice.
    """

    def __init__(self, disk_path: Path, label: str, size: int, progress: ProgressListener) -> None:
        super().__init__()
        self._disk_path = disk_path
        self._label = label
        self._size = size
        self._progress = progress
        self._handle: io.BufferedReader | None = None
        self._position = 0
        self._reported = 0
        self._state = "new"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self._handle is None:
            self._handle = self._disk_path.open("rb")
            self._handle.seek(self._position)
        data = self._handle.read(-1 if size is None or size < 0 else size)
        self._position += len(data)
        self._report()
        if not data or self._position >= self._size:
            self._release()
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._disk_path.stat().st_size + offset
        else:
            raise ValueError(f"invalid whence: {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        if self._handle is not None:
            self._handle.seek(position)
        return position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._release()
        if self._state == "started":
            self._progress.file_finished(self._label)
            self._state = "finished"
        super().close()

    def _release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def _report(self) -> None:
        if self._state == "new":
            self._progress.file_started(self._label, self._size)
            self._state = "started"
        if self._position > self._reported:
            self._progress.file_advanced(self._label, self._position - self._reported)
            self._reported = self._position
        if self._state == "started" and self._reported >= self._size:
            self._progress.file_finished(self._label)
            self._state = "finished"


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
