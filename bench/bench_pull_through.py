"""Pull through: ``serve --upstream`` vs ``snapshot_download`` straight from the upstream.

The upstream is ``hg-localization serve --repos`` over a generated repo (one ``--mib`` MiB random
``.safetensors`` and ``--small-files`` small files), in its own process on 127.0.0.1. The
pull-through server is ``hg-localization serve --upstream <it>``, in its own process too, started
anew with an empty store for each repetition. Each variant is one ``snapshot_download`` in a fresh
Python with a fresh cache and ``local_dir``:

- ``snapshot_download (upstream)``: straight from the upstream (the baseline);
- ``pull-through, first``: through the pull-through server while its store is empty (every file
  is fetched upstream, verified and stored while it streams to the client);
- ``pull-through, second``: the same again, with another fresh client: served from the store.

Variants are interleaved per repetition; the median is reported. Ratios are wall time relative
to the baseline (lower is faster).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import (
    HGLOC,
    HOST,
    Section,
    clean_env,
    format_section,
    free_port,
    fresh,
    hgloc_server,
    make_repo,
    median_time,
    row_from,
    run,
    scratch_dir,
    server_process,
    tree_size,
    write_json,
)

REPO_ID = "bench-org/pulled-model"
BASELINE = "snapshot_download (upstream)"
FIRST = "pull-through, first"
SECOND = "pull-through, second"
SNAPSHOT_SCRIPT = (
    "import sys\n"
    "from huggingface_hub import snapshot_download\n"
    "snapshot_download(sys.argv[1], endpoint=sys.argv[2], local_dir=sys.argv[3])\n"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=256, help="size of the large file in MiB (256)")
    parser.add_argument("--small-files", type=int, default=8, help="small files in the repo (8)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions (3)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    return parser


@contextmanager
def pull_through_server(upstream: str, run_dir: Path) -> Iterator[str]:
    """``hg-localization serve --upstream`` with an empty store in ``run_dir`` (set by its .env)."""
    fresh(run_dir)
    store = run_dir / "store"
    (run_dir / ".env").write_text(
        f"HGLOC_MODELS_STORE_PATH={store / 'models'}\nHGLOC_DATASETS_STORE_PATH={store / 'datasets'}\n"
    )
    port = free_port()
    url = f"http://{HOST}:{port}"
    cmd = [HGLOC, "-q", "serve", "--upstream", upstream, "--host", HOST, "--port", str(port)]
    with server_process(cmd, f"{url}/health", cwd=run_dir):
        yield url


def run_bench(args: argparse.Namespace) -> Section:
    times: dict[str, list[float]] = {BASELINE: [], FIRST: [], SECOND: []}
    with scratch_dir("hgloc-bench-pull-") as work:
        repos = work / "repos"
        _, total = make_repo(
            repos, REPO_ID, large_files=1, large_mib=args.mib, small_files=args.small_files, small_kib=4
        )
        client_dir = work / "client"

        def snapshot(endpoint: str) -> None:
            env = clean_env(HF_HOME=str(client_dir / "hf-home"))
            run([sys.executable, "-c", SNAPSHOT_SCRIPT, REPO_ID, endpoint, str(client_dir / "out")], env=env)

        def fresh_client() -> None:
            fresh(client_dir)

        def check(name: str) -> None:
            got = tree_size(client_dir / "out", skip_hidden=True)
            if got < total:
                raise RuntimeError(f"{name}: expected {total} bytes, found {got}")

        with hgloc_server(repos, work, REPO_ID) as upstream:
            for _ in range(args.repeats):
                times[BASELINE] += median_time(lambda: snapshot(upstream), 1, setup=fresh_client)
                check(BASELINE)
                with pull_through_server(upstream, work / "pull") as pulled:
                    for name in (FIRST, SECOND):
                        times[name] += median_time(lambda: snapshot(pulled), 1, setup=fresh_client)
                        check(name)
    notes = {
        BASELINE: "HEAD+GET per file, 8 workers, from the upstream",
        FIRST: "empty store: fetched upstream, verified, stored while streamed",
        SECOND: "the same server again, fresh client: from the store",
    }
    return Section(
        title=f"Pull through: snapshot_download of a {args.mib} MiB + {args.small_files} small files repo",
        params={"MiB": args.mib, "small_files": args.small_files, "repeats": args.repeats},
        rows=[row_from(name, runs, bytes=total, note=notes[name]) for name, runs in times.items()],
        baseline=BASELINE,
        notes=["each run is a fresh Python (start-up included); MB = 10^6 bytes"],
    ).with_ratios()


def main(argv: list[str] | None = None) -> Section:
    args = build_parser().parse_args(argv)
    section = run_bench(args)
    print(format_section(section))
    if args.json:
        write_json(args.json, section.as_dict())
    return section


if __name__ == "__main__":
    main()
