"""Reading what was made public, over plain HTTPS, with no credentials at all.

The public URL is the URL of the bucket's public folder (``<endpoint>/<bucket>/<prefix>/public``
on an S3-compatible server, ``https://<bucket>.s3.<region>.amazonaws.com/<prefix>/public`` on
AWS, or a CDN in front of either). Plain GETs work with all of them; no S3 client, no signing,
no credential lookup. A 403 and a 404 mean the same to an anonymous reader: not public here (S3
answers 403 for a missing key when the caller may not list the bucket).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2

from hg_localization.errors import StorageError
from hg_localization.integrity.hashing import CHUNK_SIZE
from hg_localization.progress import SILENT, ProgressListener
from hg_localization.s3.bucket import DownloadItem
from hg_localization.s3.keys import relative_url

TIMEOUT = httpx2.Timeout(30.0, connect=10.0)


class PublicReader:
    """GETs relative to one public URL."""

    def __init__(self, base_url: str, *, max_workers: int = 4) -> None:
        self.base_url = base_url.rstrip("/")
        self._max_workers = max_workers

    def describe(self) -> str:
        return self.base_url

    def url_of(self, relative_key: str) -> str:
        return f"{self.base_url}/{relative_url(relative_key)}"

    def get_bytes(self, relative_key: str) -> bytes | None:
        """The object's content, or None when it is not public (or not there)."""
        url = self.url_of(relative_key)
        try:
            response = httpx2.get(url, timeout=TIMEOUT, follow_redirects=True)
        except httpx2.HTTPError as exc:
            raise _unreachable(url, exc) from exc
        if response.status_code in (403, 404):
            return None
        if response.status_code != 200:
            raise StorageError(f"Could not read {url}: the server answered {response.status_code}.")
        return response.content

    def download_files(self, items: Sequence[DownloadItem], progress: ProgressListener = SILENT) -> None:
        if not items:
            return
        with ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="hgloc-public") as pool:
            for future in [pool.submit(self._download, item, progress) for item in items]:
                future.result()

    def _download(self, item: DownloadItem, progress: ProgressListener) -> None:
        url = self.url_of(item.key)
        item.target.parent.mkdir(parents=True, exist_ok=True)
        progress.file_started(item.label, item.size)
        try:
            with httpx2.stream("GET", url, timeout=TIMEOUT, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise StorageError(
                        f"Could not download {url}: the server answered {response.status_code}.",
                        hint="The public copy may be incomplete or have been withdrawn.",
                    )
                _write_stream(response, item.target, lambda n: progress.file_advanced(item.label, n))
        except httpx2.HTTPError as exc:
            raise _unreachable(url, exc) from exc
        finally:
            progress.file_finished(item.label)


def _write_stream(response: httpx2.Response, target: Path, advanced: Callable[[int], None]) -> None:
    with target.open("wb") as handle:
        for chunk in response.iter_bytes(CHUNK_SIZE):
            handle.write(chunk)
            advanced(len(chunk))


def _unreachable(url: str, exc: Exception) -> StorageError:
    return StorageError(
        f"Could not reach {url}: {type(exc).__name__}: {exc}",
        hint="Check the public URL (HGLOC_PUBLIC_URL or --public-url) and the network.",
    )
