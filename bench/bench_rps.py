"""Requests per second of the server's small answers: ``hey -c16`` against our server and nginx.

For each source — the local store (``serve``), a folder of repos (``serve --repos``) and, when
``weed`` is installed, a bucket (``serve --source bucket`` over SeaweedFS) — two routes are loaded
with ``hey -c <concurrency>``: HEAD ``/<repo>/resolve/main/config.json`` (what every
``hf_hub_download`` asks first) and GET ``/api/models/<repo>/revision/main`` (repo info with its
file list). The comparison is nginx (2 workers) answering HEAD for the same file from the same folder.
The repo has ``--files`` small files (300), because the cost of a naive server grows with it.

Each row's time is the mean time per request (1 / req/s), so the ratio vs nginx is a time ratio;
req/s, p50 and p99 are in the note and in ``extra``. Needs ``hey`` and ``nginx`` (bench/setup.sh).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from _common import (
    HGLOC,
    HOST,
    Row,
    Section,
    clean_env,
    format_section,
    free_port,
    make_repo,
    run,
    run_full,
    scratch_dir,
    server_process,
    write_json,
)

REPO_ID = "bench-org/rps-model"
SOURCES = ("repos", "store", "bucket")
BASELINE = "nginx HEAD"
NGINX_CONF = """
worker_processes {workers};
daemon off;
user root;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    fastcgi_temp_path {work}/nginx-fcgi;
    uwsgi_temp_path {work}/nginx-uwsgi;
    scgi_temp_path {work}/nginx-scgi;
    server {{
        listen {host}:{port};
        root {root};
    }}
}}
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=300, help="small files in the repo (300)")
    parser.add_argument("--requests", type=int, default=6000, help="requests per hey run (6000)")
    parser.add_argument("--concurrency", type=int, default=16, help="hey -c (16)")
    parser.add_argument("--workers", type=int, default=2, help="serve --workers (2: one per core)")
    parser.add_argument("--no-bucket", action="store_true", help="skip --source bucket (SeaweedFS)")
    parser.add_argument(
        "--only",
        action="append",
        choices=SOURCES,
        help="load only these sources (repeatable; default: all). nginx is always measured",
    )
    parser.add_argument("--json", type=Path, help="also write the result here")
    return parser


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise SystemExit("nginx missing: run bench/setup.sh")
    return found


def hey(url: str, *, method: str, requests: int, concurrency: int) -> dict[str, float]:
    """One ``hey`` run: req/s and latency percentiles (ms); raises when a request failed."""
    out = run(["hey", "-n", str(requests), "-c", str(concurrency), "-m", method, url])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {m.group(1): float(m.group(2)) * 1000 for m in re.finditer(r"(\d+)%+ in ([\d.]+) secs", out)}
    codes = dict(re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))
    if set(codes) != {"200"}:
        raise RuntimeError(f"hey {method} {url}: status codes {codes}\n{out[-1500:]}")
    return {"rps": rps, "p50_ms": pct.get("50", 0.0), "p99_ms": pct.get("99", 0.0)}


def rps_row(name: str, result: dict[str, float], note: str) -> Row:
    seconds = 1 / result["rps"]
    text = f"{result['rps']:,.0f} req/s, p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms; {note}"
    return Row(name=name, seconds=seconds, runs=[seconds], note=text, extra=dict(result))


@contextlib.contextmanager
def nginx(root: Path, work: Path, workers: int) -> Iterator[str]:
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=workers, work=work, host=HOST, port=port, root=root))
    with server_process([nginx_binary(), "-c", str(conf)], f"http://{HOST}:{port}/", cwd=work):
        yield f"http://{HOST}:{port}"


@contextlib.contextmanager
def hgloc_serve(args: list[str], env: dict[str, str], work: Path, workers: int) -> Iterator[str]:
    port = free_port()
    url = f"http://{HOST}:{port}"
    cmd = [HGLOC, "-q", "serve", *args, "--no-access-log", "--host", HOST, "--port", str(port)]
    cmd += ["--workers", str(workers)]
    with server_process(cmd, f"{url}/api/models/{REPO_ID}", cwd=work, env=env):
        yield url


def load_routes(url: str, label: str, args: argparse.Namespace) -> list[Row]:
    """HEAD resolve, then GET info, each warmed up first (the first answer reads the revision)."""
    rows = []
    for method, path, what in (
        ("HEAD", f"/{REPO_ID}/resolve/main/config.json", "HEAD resolve"),
        ("GET", f"/api/models/{REPO_ID}/revision/main", "GET info"),
    ):
        hey(url + path, method=method, requests=200, concurrency=args.concurrency)
        result = hey(url + path, method=method, requests=args.requests, concurrency=args.concurrency)
        rows.append(rps_row(f"hgloc {label} {what}", result, f"--workers {args.workers}"))
    return rows


def localize_into_store(repos_url: str, store: Path, work: Path) -> dict[str, str]:
    env = clean_env(
        HGLOC_MODELS_STORE_PATH=str(store / "models"),
        HGLOC_DATASETS_STORE_PATH=str(store / "datasets"),
        HGLOC_HF_ENDPOINT=repos_url,
    )
    run_full([HGLOC, "download-model", REPO_ID, "--full-model", "--no-s3-upload"], env=env, cwd=work)
    return env


def bucket_rows(store_env: dict[str, str], work: Path, args: argparse.Namespace) -> list[Row]:
    """Push the store's revision to a SeaweedFS bucket, then serve --source bucket from it."""
    try:
        from bench_s3 import seaweed  # the bucket helpers live with the sync bench
    except ImportError:  # pragma: no cover
        return []
    with seaweed(work) as s3env:
        env = {**store_env, **s3env}
        run_full([HGLOC, "sync-local-model-to-s3", REPO_ID], env=env, cwd=work)
        with hgloc_serve(["--source", "bucket"], env, work, args.workers) as url:
            return load_routes(url, "bucket", args)


def measure(args: argparse.Namespace) -> Section:
    if shutil.which("hey") is None:
        raise SystemExit("hey missing: run bench/setup.sh")
    rows: list[Row] = []
    wanted = set(args.only or SOURCES) - ({"bucket"} if args.no_bucket else set())
    load_before = _load_average()
    with scratch_dir("hgloc-bench-rps-") as work:
        repos = work / "repos"
        make_repo(repos, REPO_ID, large_files=0, large_mib=0, small_files=args.files, small_kib=1)
        main = repos / "models" / REPO_ID / "main"
        with nginx(main, work, 2) as url:
            hey(f"{url}/config.json", method="HEAD", requests=200, concurrency=args.concurrency)
            result = hey(f"{url}/config.json", method="HEAD", requests=args.requests, concurrency=16)
            rows.append(rps_row(BASELINE, result, "2 workers, same file"))
        with hgloc_serve(["--repos", str(repos)], clean_env(), work, args.workers) as url:
            if "repos" in wanted:
                rows += load_routes(url, "--repos", args)
            store_env = localize_into_store(url, work / "store", work)  # the store and bucket rows' repo
        if "store" in wanted:
            with hgloc_serve([], store_env, work, args.workers) as url:
                rows += load_routes(url, "store", args)
        if "bucket" in wanted:
            rows += bucket_rows(store_env, work, args)
    params: dict[str, object] = {"files": args.files, "requests": args.requests}
    params.update(concurrency=args.concurrency, workers=args.workers)
    params["load_average"] = f"{load_before} -> {_load_average()}"
    return Section("Server small answers: hey -c16, req/s", params, rows, BASELINE).with_ratios()


def _load_average() -> str:
    """The machine's 1/5/15-minute load average: the figures depend on it (read the nginx ratio)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "-"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    section = measure(args)
    print(format_section(section))
    if args.json:
        write_json(args.json, section.as_dict())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
