"""Serve files: hg-localization's Hub-compatible server vs ``python -m http.server``.

Two sections, each server in its own process on 127.0.0.1:

- **GET throughput**: ``curl -o /dev/null`` of one large file, from our ``/resolve/main/<file>``
  route and from ``http.server`` serving the same folder (curl's own ``time_total``; median).
- **HEAD latency**: p50/p95 of HEAD ``/resolve/main/config.json`` over ``--heads`` requests with one
  ``httpx.Client`` (keep-alive where the server allows it; ``http.server`` speaks HTTP/1.0, so it
  reconnects each time), vs HEAD of the same file from ``http.server``. Our server is measured on
  the repo as generated (``--small-files``) and on a copy with ``--many-files`` files, because it
  re-reads the revision folder on every request (see README: the cost grows with the file count).

Ratios are relative to ``http.server`` (lower is faster).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import httpx
from _common import (
    HOST,
    MIB,
    Row,
    Section,
    format_section,
    hgloc_server,
    make_repo,
    require_tools,
    row_from,
    run,
    scratch_dir,
    static_server,
    write_json,
)

REPO_ID = "bench-org/served-model"
MANY_REPO_ID = "bench-org/many-files"
GET_BASELINE = "http.server GET"
HEAD_BASELINE = "http.server HEAD"
HEAD_PATH = "config.json"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=256, help="size of the large file in MiB (256)")
    parser.add_argument("--small-files", type=int, default=50, help="small files in the repo (50)")
    parser.add_argument("--many-files", type=int, default=500, help="files in the second repo (500; 0: skip)")
    parser.add_argument("--repeats", type=int, default=3, help="GETs per server (3)")
    parser.add_argument("--heads", type=int, default=200, help="HEAD requests per measurement (200)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    return parser


def _curl_get(url: str) -> float:
    """Seconds curl spent on one GET to /dev/null (its own clock: no process start-up)."""
    out = run(["curl", "-sS", "-f", "--noproxy", HOST, "-o", "/dev/null", "-w", "%{time_total}", url])
    return float(out.strip())


def _head_latencies(url: str, count: int, warmup: int = 10) -> list[float]:
    latencies = []
    with httpx.Client(timeout=30) as client:
        for index in range(warmup + count):
            start = time.perf_counter()
            response = client.head(url)
            elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise RuntimeError(f"HEAD {url}: {response.status_code}")
            if index >= warmup:
                latencies.append(elapsed)
    return latencies


def _latency_row(name: str, latencies: list[float], note: str) -> Row:
    p50 = statistics.median(latencies)
    p95 = statistics.quantiles(latencies, n=20)[18]
    return Row(
        name=name,
        seconds=p50,
        runs=[round(p50, 6), round(p95, 6)],
        note=f"p50 p95 over {len(latencies)}; {note}",
        extra={"p50_ms": round(p50 * 1000, 3), "p95_ms": round(p95 * 1000, 3)},
    )


def run_bench(args: argparse.Namespace) -> list[Section]:
    require_tools("curl")
    size = args.mib * MIB
    with scratch_dir("hgloc-bench-server-") as work:
        repos = work / "repos"
        make_repo(
            repos, REPO_ID, large_files=1, large_mib=args.mib, small_files=args.small_files, small_kib=4
        )
        if args.many_files:
            make_repo(
                repos, MANY_REPO_ID, large_files=0, large_mib=0, small_files=args.many_files, small_kib=1
            )
        large = "model-00001-of-00001.safetensors"
        folder = repos / "models" / REPO_ID / "main"
        n_files = args.small_files + 2 + 1
        with hgloc_server(repos, work, REPO_ID) as ours, static_server(folder, work) as plain:
            if args.many_files:  # warm the checksum cache of the second repo too
                httpx.get(f"{ours}/api/models/{MANY_REPO_ID}", timeout=120).raise_for_status()
            get_urls = {
                "hgloc serve GET": f"{ours}/{REPO_ID}/resolve/main/{large}",
                GET_BASELINE: f"{plain}/{large}",
            }
            get_times: dict[str, list[float]] = {name: [] for name in get_urls}
            for _ in range(args.repeats):
                for name, url in get_urls.items():
                    get_times[name].append(_curl_get(url))
            head_rows = [
                _latency_row(
                    f"hgloc serve HEAD ({n_files} files)",
                    _head_latencies(f"{ours}/{REPO_ID}/resolve/main/{HEAD_PATH}", args.heads),
                    "resolve route, keep-alive",
                ),
            ]
            if args.many_files:
                head_rows.append(
                    _latency_row(
                        f"hgloc serve HEAD ({args.many_files + 2} files)",
                        _head_latencies(f"{ours}/{MANY_REPO_ID}/resolve/main/{HEAD_PATH}", args.heads),
                        "same route, bigger repo",
                    )
                )
            head_rows.append(
                _latency_row(HEAD_BASELINE, _head_latencies(f"{plain}/{HEAD_PATH}", args.heads), "HTTP/1.0")
            )
    get_notes = {
        "hgloc serve GET": "uvicorn + Starlette FileResponse",
        GET_BASELINE: "python -m http.server",
    }
    get_section = Section(
        title=f"Server GET throughput: one {args.mib} MiB file, curl -o /dev/null",
        params={"MiB": args.mib, "repeats": args.repeats},
        rows=[row_from(name, runs, bytes=size, note=get_notes[name]) for name, runs in get_times.items()],
        baseline=GET_BASELINE,
        notes=["curl's time_total (no process start-up); MB = 10^6 bytes"],
    ).with_ratios()
    head_section = Section(
        title="Server HEAD latency: /resolve/main/config.json, one httpx client",
        params={"requests": args.heads, "repo_files": n_files, "many_files": args.many_files},
        rows=head_rows,
        baseline=HEAD_BASELINE,
        notes=["'median' is p50; 'runs' shows p50 and p95"],
    ).with_ratios()
    return [get_section, head_section]


def main(argv: list[str] | None = None) -> list[Section]:
    args = build_parser().parse_args(argv)
    sections = run_bench(args)
    print("\n\n".join(format_section(s) for s in sections))
    if args.json:
        write_json(args.json, {"sections": [s.as_dict() for s in sections]})
    return sections


if __name__ == "__main__":
    main()
