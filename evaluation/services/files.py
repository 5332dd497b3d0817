"""A submission's files for the worker: a config written out, an upload from the data store, or
a pull request's folder fetched from GitHub at its SHA, extracted safely."""

import json
from pathlib import Path

from django.conf import settings

from contrib.github.client import GitHubNotConfigured, archive_download, is_transient
from evaluation.archive import Limits, UnsafeArchive, extract_folder
from evaluation.datastore import data_dir
from evaluation.engine.folders import BenchmarkFolderError, stored_path
from evaluation.models import Submission
from evaluation.uploads import LIMITS as UPLOAD_LIMITS


class FetchError(Exception):
    """The submission's files could not be fetched or were refused; the message says why.
    `platform_fault`: GitHub or the network failed, not the contributor."""

    def __init__(self, message: str, *, platform_fault: bool = False) -> None:
        super().__init__(message)
        self.platform_fault = platform_fault


def submission_materialize(*, submission: Submission, folder: Path) -> None:
    """Write the submission's files into `folder`.

    A config is written as `config.json` for the platform's own reference model. A pull
    request or commit is fetched at its exact SHA as GitHub's tarball and only its submission
    folder is extracted, safely (see `evaluation.archive`). Either way the engine decides by
    content whether it is the reference code; anything else runs only in its sandbox.
    """
    if submission.source == Submission.Source.CONFIG:
        (folder / "config.json").write_text(json.dumps(submission.config))
        return
    if submission.source == Submission.Source.UPLOAD:  # checked when uploaded, kept in the store
        try:
            stored = stored_path(data_dir(), submission.archive_sha256).read_bytes()
            extract_folder(stored, folder="", dest=folder, limits=UPLOAD_LIMITS)
        except (OSError, UnsafeArchive, BenchmarkFolderError) as exc:
            raise FetchError(f"the uploaded folder is lost: {exc}", platform_fault=True) from exc
        return
    if submission.repository is None or not submission.head_sha or not submission.folder:
        raise FetchError("the submission names no repository, commit or folder")
    data = _archive_fetch(submission=submission)
    try:
        extract_folder(
            data,
            folder=submission.folder,
            dest=folder,
            limits=Limits(
                max_bytes=settings.EVALUATION_SUBMISSION_MAX_BYTES,
                max_files=settings.EVALUATION_SUBMISSION_MAX_FILES,
            ),
        )
    except UnsafeArchive as exc:
        raise FetchError(f"the archive of {submission.head_sha[:7]} was refused: {exc}") from exc
    if not any(path.is_file() for path in folder.rglob("*")):
        raise FetchError(f"{submission.folder}/ has no files at {submission.head_sha[:7]}")


def _archive_fetch(*, submission: Submission) -> bytes:
    from github import GithubException

    assert submission.repository is not None
    name = f"{submission.repository.full_name}@{submission.head_sha[:7]}"
    try:
        data = archive_download(repository=submission.repository, ref=submission.head_sha)
    except GithubException as exc:
        raise FetchError(
            f"GitHub refused the archive of {name} ({exc.status})",
            platform_fault=is_transient(exc),
        ) from exc
    except GitHubNotConfigured as exc:
        raise FetchError(str(exc), platform_fault=True) from exc
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise FetchError(f"could not download {name}: {exc}", platform_fault=True) from exc
    if len(data) > settings.EVALUATION_ARCHIVE_MAX_BYTES:
        raise FetchError(
            f"the archive of {name} is larger than "
            f"{settings.EVALUATION_ARCHIVE_MAX_BYTES:,} bytes (EVALUATION_ARCHIVE_MAX_BYTES)"
        )
    return data
