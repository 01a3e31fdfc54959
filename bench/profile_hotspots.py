"""Reproduce the per-file costs that grow with a repo's file count (see README, "Findings").

    .venv/bin/python bench/profile_hotspots.py              # 300 files, about 15 s
    .venv/bin/python bench/profile_hotspots.py --files 1000 --profile

Prints, for a repo of ``--files`` small files:

1. ``FolderSource.resolve`` per call, for ``serve --repos`` (the server runs it on every request,
   HEAD and GET included) and for the store (``serve`` without ``--repos``);
2. ``LocalStore.find_identical`` per call (``download-model`` runs it once per file when the store
   already holds another revision of the repo), and the wall time of a fresh download vs an
   update where a single file changed.

Diagnostic only: not part of ``run_all.py``, and nothing is asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Callable
from functools import partial

from _common import HGLOC, clean_env, hgloc_server, make_repo, run, scratch_dir

from hg_localization.ids import parse_repo_id
from hg_localization.server.folder_source import FolderSource
from hg_localization.server.store_source import StoreSource
from hg_localization.store.local_store import LocalStore

REPO_ID = "bench-org/many-files"


def per_call_ms(func: Callable[[], object], calls: int) -> float:
    func()  # warm (the server's checksum cache, the OS caches)
    start = time.perf_counter()
    for _ in range(calls):
        func()
    return (time.perf_counter() - start) / calls * 1000


def report_resolve(mode: str, ms: float, n_files: int) -> None:
    per_file_us = ms / n_files * 1000
    print(f"FolderSource.resolve, {mode}, {n_files} files: {ms:.2f} ms/call ({per_file_us:.1f} µs/file)")


def show_profile(func: Callable[[], object], calls: int, title: str) -> None:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        func()
    profile.disable()
    print(f"\n-- cProfile: {title} ({calls} calls), top by own time")
    pstats.Stats(profile).sort_stats("tottime").print_stats(8)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=300, help="small files in the repo (300)")
    parser.add_argument("--calls", type=int, default=20, help="calls per timing (20)")
    parser.add_argument("--profile", action="store_true", help="also print cProfile tables")
    args = parser.parse_args(argv)
    repo_id = parse_repo_id(REPO_ID)
    with scratch_dir("hgloc-bench-hotspots-") as work:
        repos = work / "repos"
        make_repo(repos, REPO_ID, large_files=0, large_mib=0, small_files=args.files, small_kib=1)
        n_files = args.files + 2

        folder_source = FolderSource.for_repos_dir(repos)
        resolve_folder = partial(folder_source.resolve, "model", REPO_ID, "main")
        ms = per_call_ms(resolve_folder, args.calls)
        report_resolve("serve --repos", ms, n_files)

        store_root = work / "store"
        env = clean_env(HGLOC_MODELS_STORE_PATH=str(store_root), HF_HOME=str(work / "hf-home"))
        cmd = [HGLOC, "-q", "download-model", REPO_ID, "--full-model", "--no-s3-upload"]
        with hgloc_server(repos, work, REPO_ID) as url:
            env["HGLOC_HF_ENDPOINT"] = url
            start = time.perf_counter()
            run(cmd, env=env, cwd=work)
            fresh_s = time.perf_counter() - start
            changed = repos / "models" / REPO_ID / "main" / "config.json"
            changed.write_text(changed.read_text() + " \n")
            start = time.perf_counter()
            run(cmd, env=env, cwd=work)
            update_s = time.perf_counter() - start

        store_source = StoreSource.for_store(store_root, work / "no-datasets")
        resolve_store = partial(store_source.resolve, "model", REPO_ID, "main")
        ms = per_call_ms(resolve_store, args.calls)
        report_resolve("serve (store)", ms, n_files)

        store = LocalStore(store_root, "model")
        stored = store.get(repo_id, "main")
        if stored is None:
            raise RuntimeError("the download did not produce a complete revision")
        record = stored.manifest.files[-1]
        find = partial(store.find_identical, repo_id, size=record.size, git_sha1=record.git_sha1)
        ms = per_call_ms(find, args.calls)
        print(
            f"LocalStore.find_identical, 1 stored revision of {n_files} files: {ms:.2f} ms/call "
            f"(x {n_files} files = {ms * n_files / 1000:.2f} s per update)"
        )
        print(
            f"download-model: fresh {fresh_s:.2f} s; update with 1 changed file {update_s:.2f} s "
            "(both include the server's per-request resolve above: one per HEAD/GET)"
        )
        if args.profile:
            show_profile(resolve_folder, args.calls, "FolderSource.resolve, serve --repos")
            show_profile(find, args.calls, "LocalStore.find_identical")


if __name__ == "__main__":
    main()
