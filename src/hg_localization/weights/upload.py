"""Upload a folder of weights to a Hub repo: a fresh checksums.txt, then everything in ONE commit.

1. :func:`plan_upload` lists what would go (hidden files and folders are skipped and named) and
   refuses Git LFS pointer files, which mean the weights were never pulled. A folder without a
   README.md gets a minimal model card (:mod:`.card`), unless told not to.
2. :func:`upload_weights` hashes every file, writes ``checksums.txt`` beside them, creates the
   repo when it is missing, and sends one commit with every file in it (and the card, from
   memory: it is never written into the folder). With a tag, it first checks that the tag is
   free (nothing is sent otherwise), then tags the new commit.

The client's side of it (one commit, Xet or plain-HTTP LFS, its errors) is
:mod:`hg_localization.hub.upload`; the sha256 computed for ``checksums.txt`` is handed to it, so
no file is hashed twice.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

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
from hg_localization.hub.upload import (
    FileToCommit,
    commit_files,
    create_repo,
    create_tag,
    stored_token,
    tags_of,
)
from hg_localization.ids import (
    RepoId,
    parse_repo_id,
    validate_ref_name,
    validate_repo_path,
    validate_revision,
)
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.store.atomic import atomic_write_text
from hg_localization.weights.card import CARD_FILENAME, model_card
from hg_localization.weights.checksums import CHECKSUMS_FILENAME, FileSum, format_checksums, sum_file
from hg_localization.weights.tracked_file import TrackedFile

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
    token = config.token or stored_token()
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
    checksums_file, extra = _listing_and_card(plan, rid, sums, tag=tag, endpoint=hub.endpoint)
    head_before = None if create_pr else _head_commit(hub, rid, revision)
    create_repo(hub, rid, private=private)
    made = commit_files(
        hub,
        rid,
        [FileToCommit(f.path, f.disk_path, sums[f.path].sha256) for f in plan.files],
        extra,
        message=commit_message or DEFAULT_COMMIT_MESSAGE,
        revision=revision,
        create_pr=create_pr,
        open_file=lambda file: _tracked(file, sums[file.path_in_repo], progress),
    )
    if tag is not None:
        _tag_commit(hub, rid, tag, tag_message, made.oid)
    return UploadResult(
        repo_id=str(rid),
        commit_url=made.commit_url,
        commit_oid=made.oid,
        pull_request_url=made.pull_request_url,
        files=len(plan.files) + len(extra),
        total_bytes=plan.total_bytes + sum(len(data) for data in extra.values()),
        checksums_file=checksums_file,
        tag=tag,
        card_added=plan.adds_card,
        changed=made.oid != head_before,
    )


def _listing_and_card(
    plan: UploadPlan, rid: RepoId, sums: dict[str, FileSum], *, tag: str | None, endpoint: str
) -> tuple[Path | None, dict[str, bytes]]:
    """Write checksums.txt into the folder (None when it is read-only); the files sent from memory.

    Those are checksums.txt (uploaded from memory either way) and the model card, if the plan adds one.
    """
    listing = format_checksums({path: s.sha256 for path, s in sums.items()})
    checksums_file: Path | None = plan.source_dir / CHECKSUMS_FILENAME
    try:
        atomic_write_text(plan.source_dir / CHECKSUMS_FILENAME, listing)
    except OSError:  # a read-only folder: the listing is still uploaded, from memory
        checksums_file = None
    extra = {CHECKSUMS_FILENAME: listing.encode()}
    if plan.adds_card:
        sha256 = {path: s.sha256 for path, s in sums.items()}
        extra[CARD_FILENAME] = plan.card(str(rid), sha256, tag=tag, endpoint=endpoint).encode()
    return checksums_file, extra


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
        tags = tags_of(hub, rid)
    except RepoNotFoundError:
        return  # a repo the upload will create has no tags yet
    taken = tags.get(tag)
    if taken is not None:
        raise InvalidInputError(
            f"'{rid}' already has a tag '{tag}' (commit {taken[:12]}): nothing was uploaded.",
            hint="A release tag never moves: choose a new one (e.g. a higher version) with --tag.",
        )


def _tag_commit(hub: HubClient, rid: RepoId, tag: str, message: str | None, commit: str) -> None:
    try:
        create_tag(hub, rid, tag, message=message, commit=commit)
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


def _tracked(file: FileToCommit, sums: FileSum, progress: ProgressListener) -> BinaryIO:
    """The file as the client reads it over plain HTTP: opened lazily, reporting progress."""
    tracked = TrackedFile(file.disk_path, file.path_in_repo, sums.size, progress)
    return cast(BinaryIO, tracked)  # an io.BufferedIOBase, as the client checks
