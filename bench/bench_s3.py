"""Bucket sync of a localized model (1 GiB + 1,000 small files): hg-localization vs ``aws s3 sync``
and ``s5cmd sync``, cold (empty bucket) and with nothing changed, against SeaweedFS on 127.0.0.1.

``seaweed(work)`` (also used by bench_rps.py for ``serve --source bucket``) starts ``weed mini``
the way tests/s3/conftest.py does, creates the bucket ``bench`` and yields the environment that
points hg-localization and the AWS tools at it. ``aws`` and ``s5cmd`` come from bench/setup.sh
(``~/.cache/hg-localization-bench-tools``). Each cold run syncs into a new bucket.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from _common import (
    HGLOC,
    VENV_BIN,
    Row,
    Section,
    clean_env,
    format_section,
    hgloc_server,
    make_repo,
    run_full,
    scratch_dir,
    write_json,
)

REPO_ID = "bench-org/sync-model"
KEY, SECRET = "benchadmin", "benchadminsecret"
TOOLS = Path(os.environ.get("BENCH_TOOLS", Path.home() / ".cache" / "hg-localization-bench-tools")) / "bin"
BASELINE = "aws s3 sync (cold)"
#: The tools compared, by their ``--tools`` name.
TOOL_NAMES = ("hgloc", "aws", "s5cmd")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--large-mib", type=int, default=1024, help="one large file, MiB (1024)")
    parser.add_argument("--small-files", type=int, default=1000, help="small files (1000)")
    parser.add_argument(
        "--unchanged-runs",
        type=int,
        default=3,
        help="runs of each 'nothing changed' sync; the median is reported, every run kept (3)",
    )
    parser.add_argument(
        "--tools",
        default=",".join(TOOL_NAMES),
        help="which tools to run, comma-separated (all: %(default)s); without aws there is no ratio",
    )
    parser.add_argument("--json", type=Path, help="also write the result here")
    return parser


def _tools(value: str) -> list[str]:
    chosen = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(TOOL_NAMES))
    if unknown or not chosen:
        raise SystemExit(f"--tools: choose among {', '.join(TOOL_NAMES)} (got {value!r})")
    return chosen


def _free_ports(count: int) -> list[int]:
    """Ports whose gRPC twin (port + 10000) is free too, as SeaweedFS needs."""
    chosen: list[int] = []
    while len(chosen) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port < 55535 and not {port, port + 10000, port - 10000} & set(chosen):
            with socket.socket() as twin, contextlib.suppress(OSError):
                twin.bind(("127.0.0.1", port + 10000))
                chosen.append(port)
    return chosen


def _weed_command(weed: str, data: Path, *ports: int) -> list[str]:
    """``weed mini``'s command line: ``ports`` are the master, volume, filer, S3 and admin ones."""
    master, volume, filer, s3, admin = ports
    return [
        weed,
        "mini",
        f"-dir={data}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-volume.port={volume}",
        f"-filer.port={filer}",
        f"-s3.port={s3}",
        f"-admin.port={admin}",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        f"-s3.config={data / 's3.json'}",
        f"-s3.localSocket={data / 's3.sock'}",
        f"-filer.localSocket={data / 'filer.sock'}",
    ]


@contextlib.contextmanager
def seaweed(work: Path) -> Iterator[dict[str, str]]:
    """``weed mini`` on 127.0.0.1 with one admin identity and the bucket ``bench``; yields the env."""
    weed = shutil.which("weed") or str(VENV_BIN / "weed")
    data = work / "seaweed"
    data.mkdir(parents=True, exist_ok=True)
    identities = {
        "identities": [
            {
                "name": "admin",
                "credentials": [{"accessKey": KEY, "secretKey": SECRET}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    (data / "s3.json").write_text(json.dumps(identities))
    master, volume, filer, s3, admin = _free_ports(5)
    cmd = _weed_command(weed, data, master, volume, filer, s3, admin)
    endpoint = f"http://127.0.0.1:{s3}"
    env = {
        "HGLOC_S3_BUCKET_NAME": "bench",
        "HGLOC_S3_ENDPOINT_URL": endpoint,
        "HGLOC_S3_REGION": "us-east-1",
        "HGLOC_AWS_ACCESS_KEY_ID": KEY,
        "HGLOC_AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "S3_ENDPOINT_URL": endpoint,
    }
    with (data / "weed.log").open("ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "GOMEMLIMIT": "512MiB"}
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"weed exited {proc.returncode}: {(data / 'weed.log').read_text()[-1500:]}"
                )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{filer}/", timeout=2).status_code < 500:
                    try:
                        make_bucket(env, "bench")
                        break
                    except RuntimeError:
                        pass
            if time.monotonic() > deadline:
                raise RuntimeError("SeaweedFS not ready after 60 s")
            time.sleep(0.3)
        yield env
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def aws(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_full(
        [str(TOOLS / "aws"), "--endpoint-url", env["S3_ENDPOINT_URL"], *args], env=clean_env(**env)
    )


def make_bucket(env: dict[str, str], name: str) -> None:
    aws(env, "s3", "mb", f"s3://{name}")


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``cmd``: on a shared machine the
    wall time of a sub-second row says more about the neighbours than about the tool."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run_full(cmd, env=env, cwd=cwd)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _row(name: str, runs: list[tuple[float, float]], total: int) -> Row:
    """The median run (by wall time) of ``runs``, every run kept; its CPU time in the note."""
    ordered = sorted(runs)
    seconds, cpu = ordered[(len(ordered) - 1) // 2]
    mbps = f"{total / seconds / 1e6:,.0f} MB/s" if "cold" in name else "nothing to send"
    return Row(
        name=name,
        seconds=seconds,
        runs=[wall for wall, _ in runs],
        note=f"{mbps}, CPU {cpu:.2f} s",
        extra={"cpu_s": cpu, "cpu_runs": [c for _, c in runs]},
    )


def run_bench(args: argparse.Namespace) -> Section:
    tools = _tools(args.tools)
    for tool in set(tools) & {"aws", "s5cmd"}:
        if not (TOOLS / tool).exists():
            raise SystemExit(f"{tool} missing: run bench/setup.sh")
    rows: list[Row] = []
    with scratch_dir("hgloc-bench-s3-") as work:
        repos = work / "repos"
        _, total = make_repo(
            repos, REPO_ID, large_files=1, large_mib=args.large_mib, small_files=args.small_files, small_kib=1
        )
        store = work / "store"
        base = clean_env(
            HGLOC_MODELS_STORE_PATH=str(store / "models"), HGLOC_DATASETS_STORE_PATH=str(store / "datasets")
        )
        with hgloc_server(repos, work, REPO_ID) as url:
            cmd = [HGLOC, "download-model", REPO_ID, "--full-model", "--no-s3-upload"]
            run_full(cmd, env={**base, "HGLOC_HF_ENDPOINT": url}, cwd=work)
        folder = next(p for p in (store / "models").rglob("config.json")).parent
        with seaweed(work) as s3env:
            times = _sync_runs(work, folder, {**base, **s3env}, s3env, args.unchanged_runs, tools)
    rows.extend(_row(name, runs, total) for name, runs in times.items())
    params = {"large_MiB": args.large_mib, "small_files": args.small_files, "total_MiB": round(total / 2**20)}
    return Section("Bucket sync (SeaweedFS on 127.0.0.1)", params, rows, BASELINE).with_ratios()


def _sync_runs(
    work: Path,
    folder: Path,
    hg_env: dict[str, str],
    s3env: dict[str, str],
    unchanged_runs: int,
    tools: list[str],
) -> dict[str, list[tuple[float, float]]]:
    """Cold then unchanged (``unchanged_runs`` times), for each of ``tools``; each tool syncs into
    its own new bucket."""
    env = clean_env(**s3env)
    endpoint = s3env["S3_ENDPOINT_URL"]
    aws_sync = [str(TOOLS / "aws"), "--endpoint-url", endpoint, "s3", "sync", "--only-show-errors"]
    commands: dict[str, tuple[list[str], dict[str, str], str | None]] = {
        "hgloc sync": ([HGLOC, "sync-local-model-to-s3", REPO_ID], hg_env, None),
        "aws s3 sync": (
            [*aws_sync, str(folder), "s3://bench-aws/model/"],
            env,
            "bench-aws",
        ),
        "s5cmd sync": (
            [
                str(TOOLS / "s5cmd"),
                "--endpoint-url",
                endpoint,
                "sync",
                f"{folder}/",
                "s3://bench-s5cmd/model/",
            ],
            env,
            "bench-s5cmd",
        ),
    }
    times: dict[str, list[tuple[float, float]]] = {}
    for name, (cmd, cmd_env, bucket) in commands.items():
        if name.split()[0] not in tools:
            continue
        if bucket:
            make_bucket(s3env, bucket)
        times[f"{name} (cold)"] = [_timed(cmd, cmd_env, work)]
        times[f"{name} (unchanged)"] = [_timed(cmd, cmd_env, work) for _ in range(max(1, unchanged_runs))]
    return times


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    section = run_bench(args)
    print(format_section(section))
    if args.json:
        write_json(args.json, section.as_dict())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
