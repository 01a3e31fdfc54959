"""Download a whole repo from our Hub-compatible server: hg-localization vs what a user would run.

Variants (each a fresh process, so everyone pays interpreter start-up and imports):

- ``hgloc download-model``: ``hg-localization download-model ID --full-model`` into a fresh store
  (streams, hashes sha256 + git sha1, verifies every file, fsyncs, publishes atomically);
- ``hgloc re-run (no-op)``: the same command again on the filled store (one request: did main move?);
- ``hgloc update (1 file changed)``: one small file of the repo changes (``main`` moves to a new
  commit), then the same command: 1 file fetched, the others hard-linked from the previous copy;
- ``snapshot_download``: ``huggingface_hub.snapshot_download(ID, endpoint=URL, local_dir=…)``,
  Xet disabled, fresh ``HF_HOME`` and ``local_dir`` (no checksum verification);
- ``snapshot_download + sha256sum``: the same, then ``sha256sum`` over every file (a careful user);
- ``curl sequential``: one ``curl`` process fetching every ``resolve`` URL in turn (raw transfer floor);
- ``hgloc --version``: interpreter + CLI start-up, the floor under any ``hg-localization`` command;
- ``python import huggingface_hub``: the same floor for the ``snapshot_download`` variants.

The server (``hg-localization serve --repos``) runs in its own process. Variants are interleaved
round-robin across repetitions so that background noise spreads over all of them; the median is
reported. Ratios are wall time relative to ``snapshot_download`` (lower is faster).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import quote

from _common import (
    HGLOC,
    HOST,
    Section,
    clean_env,
    format_section,
    fresh,
    hgloc_server,
    make_repo,
    median_time,
    require_tools,
    row_from,
    run,
    run_full,
    scratch_dir,
    tree_size,
    write_json,
)

REPO_ID = "bench-org/bench-model"
BASELINE = "snapshot_download"

SNAPSHOT_SCRIPT = (
    "import sys\n"
    "from huggingface_hub import snapshot_download\n"
    "snapshot_download(sys.argv[1], endpoint=sys.argv[2], local_dir=sys.argv[3])\n"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--large-files", type=int, default=4, help="safetensors-like random files (4)")
    parser.add_argument("--large-mib", type=int, default=64, help="size of each large file in MiB (64)")
    parser.add_argument("--small-files", type=int, default=50, help="small files under extras/ (50)")
    parser.add_argument("--small-kib", type=int, default=16, help="size of each small file in KiB (16)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions per variant (3)")
    parser.add_argument("--workers", type=int, default=8, help="HGLOC_MAX_WORKERS (8, the default)")
    parser.add_argument(
        "--variants",
        help="comma-separated variants to run (default: all), e.g. 'hgloc download-model,curl sequential'",
    )
    parser.add_argument(
        "--label", default="", help="added to the section title (run_all runs this script twice)"
    )
    parser.add_argument("--json", type=Path, help="also write the result here")
    return parser


def run_bench(args: argparse.Namespace) -> Section:
    require_tools("curl", "sha256sum")
    with scratch_dir("hgloc-bench-download-") as work:
        repos = work / "repos"
        paths, total = make_repo(
            repos,
            REPO_ID,
            large_files=args.large_files,
            large_mib=args.large_mib,
            small_files=args.small_files,
            small_kib=args.small_kib,
        )
        with hgloc_server(repos, work, REPO_ID) as url:
            variants = _Variants(work, url, paths, total, args.workers, repos / "models" / REPO_ID / "main")
            if args.variants:
                wanted = [v.strip() for v in args.variants.split(",")]
                unknown = set(wanted) - set(variants.order)
                if unknown:
                    raise SystemExit(f"unknown variants: {sorted(unknown)}")
                variants.order = [name for name in variants.order if name in wanted]
            times: dict[str, list[float]] = {name: [] for name in variants.order}
            for _ in range(args.repeats):
                for name in variants.order:
                    setup, action = variants.steps[name]
                    times[name] += median_time(action, 1, setup=setup)
                    variants.check(name)
    rows = [
        row_from(name, runs, bytes=0 if name in variants.no_transfer else total, note=variants.notes[name])
        for name, runs in times.items()
    ]
    section = Section(
        title=f"Download a whole repo from 127.0.0.1{' (' + args.label + ')' if args.label else ''}",
        params={
            "files": len(paths),
            "large": f"{args.large_files}x{args.large_mib}MiB",
            "small": f"{len(paths) - args.large_files}x~{args.small_kib}KiB",
            "total_MiB": round(total / 2**20, 1),
            "repeats": args.repeats,
            "workers": args.workers,
        },
        rows=rows,
        baseline=BASELINE,
        notes=[
            "wall time of a fresh process each run (start-up and imports included); MB = 10^6 bytes",
            "hgloc verifies sha256/git sha1 of every file and fsyncs it; snapshot_download does neither",
        ],
    )
    return section.with_ratios()


class _Variants:
    """The commands to time, each with an untimed setup that gives it a clean slate."""

    def __init__(
        self, work: Path, url: str, paths: list[str], total: int, workers: int, served: Path
    ) -> None:
        self.work = work
        self.changing_file = served / "config.json"
        self.original = self.changing_file.read_bytes()
        self.url = url
        self.paths = paths
        self.total = total
        self.store = work / "store"
        self.hf_home = work / "hf-home"
        self.snapshot_dir = work / "snapshot"
        self.curl_dir = work / "curl"
        self.hgloc_env = clean_env(
            HGLOC_MODELS_STORE_PATH=str(self.store / "models"),
            HGLOC_DATASETS_STORE_PATH=str(self.store / "datasets"),
            HGLOC_HF_ENDPOINT=url,
            HGLOC_MAX_WORKERS=str(workers),
            HF_HOME=str(self.hf_home),
        )
        self.hf_env = clean_env(HF_HOME=str(self.hf_home))
        curl_config = work / "curl.cfg"
        curl_config.write_text(
            "".join(
                f'url = "{url}/{REPO_ID}/resolve/main/{quote(p)}"\noutput = "{self.curl_dir / p}"\n'
                for p in paths
            )
        )
        self.curl_cmd = ["curl", "-sS", "-f", "--create-dirs", "--noproxy", HOST, "-K", str(curl_config)]
        self.download_cmd = [HGLOC, "download-model", REPO_ID, "--full-model", "--no-s3-upload"]
        self.last_message = ""
        self.steps = {
            "hgloc download-model": (self._fresh_store, self._hgloc),
            "hgloc re-run (no-op)": (None, self._hgloc),
            "hgloc update (1 file changed)": (self._change_one_file, self._hgloc),
            "snapshot_download": (self._fresh_snapshot, self._snapshot),
            "snapshot_download + sha256sum": (self._fresh_snapshot, self._snapshot_and_sha256sum),
            "curl sequential": (self._fresh_curl, self._curl),
            "hgloc --version": (None, self._startup),
            "python import huggingface_hub": (None, self._hub_startup),
        }
        self.order = list(self.steps)  # the no-op runs right after a fresh download filled the store
        self.no_transfer = {
            "hgloc re-run (no-op)",
            "hgloc update (1 file changed)",
            "hgloc --version",
            "python import huggingface_hub",
        }
        self.notes = {
            "hgloc download-model": "stream+sha256 (+git sha1 if not LFS)+verify+fsync, 8 workers",
            "hgloc re-run (no-op)": "already localized: 1 request",
            "hgloc update (1 file changed)": "new commit: 1 fetched, rest hard-linked",
            "snapshot_download": "HEAD+GET per file, 8 workers",
            "snapshot_download + sha256sum": "then sha256sum every file",
            "curl sequential": "1 process, 1 connection, no hashing",
            "hgloc --version": "start-up floor (hgloc)",
            "python import huggingface_hub": "start-up floor (snapshot_download)",
        }

    def _fresh_store(self) -> None:
        fresh(self.store)
        fresh(self.hf_home)

    def _change_one_file(self) -> None:
        """Move ``main`` to a new commit (same size ± 1 byte): the server rehashes on the next request.

        The file is replaced (a new file renamed over it, as a git checkout does), which the server
        sees on the next request; a rewrite in place would be seen within a second only
        (``server/folder_signature.py``), and the timed run may start sooner than that.
        """
        current = self.changing_file.read_bytes()
        replacement = self.changing_file.with_name(self.changing_file.name + ".new")
        replacement.write_bytes(self.original + b" " if current == self.original else self.original)
        os.replace(replacement, self.changing_file)

    def _fresh_snapshot(self) -> None:
        fresh(self.snapshot_dir)
        fresh(self.hf_home)

    def _fresh_curl(self) -> None:
        fresh(self.curl_dir)

    def _hgloc(self) -> None:
        self.last_message = run_full(self.download_cmd, env=self.hgloc_env, cwd=self.work).stderr

    def _snapshot(self) -> None:
        cmd = [sys.executable, "-c", SNAPSHOT_SCRIPT, REPO_ID, self.url, str(self.snapshot_dir)]
        run(cmd, env=self.hf_env, cwd=self.work)

    def _snapshot_and_sha256sum(self) -> None:
        self._snapshot()
        run(["sha256sum", *self.paths], cwd=self.snapshot_dir)

    def _curl(self) -> None:
        run(self.curl_cmd, cwd=self.work)

    def _startup(self) -> None:
        run([HGLOC, "--version"], env=self.hgloc_env, cwd=self.work)

    def _hub_startup(self) -> None:
        run([sys.executable, "-c", "import huggingface_hub.hf_api"], env=self.hf_env, cwd=self.work)

    def check(self, name: str) -> None:
        """Untimed sanity check that the variant did what its name says."""
        expected_message = {
            "hgloc download-model": "Localized model",
            "hgloc re-run (no-op)": "is already localized",
            "hgloc update (1 file changed)": ": 1 file",
        }.get(name)
        if expected_message is not None and expected_message not in self.last_message:
            raise RuntimeError(f"{name}: expected '{expected_message}' in: {self.last_message}")
        where = {
            "hgloc download-model": self.store / "models",
            "snapshot_download": self.snapshot_dir,
            "curl sequential": self.curl_dir,
        }.get(name)
        if where is None:
            return
        got = tree_size(where, skip_hidden=True)
        if got < self.total:
            raise RuntimeError(f"{name}: expected at least {self.total} bytes under {where}, found {got}")


def main(argv: list[str] | None = None) -> Section:
    args = build_parser().parse_args(argv)
    section = run_bench(args)
    print(format_section(section))
    if args.json:
        write_json(args.json, section.as_dict())
    return section


if __name__ == "__main__":
    main()
