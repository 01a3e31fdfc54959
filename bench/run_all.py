"""Run every benchmark with its defaults, print one summary, write ``bench/results/latest.json``.

    .venv/bin/python bench/run_all.py            # about a minute on 2 cores
    .venv/bin/python bench/run_all.py --quick    # smaller sizes, one repetition: a smoke run

Benchmarks, not tests: nothing here asserts a time. Numbers are wall clock on a shared machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import bench_download
import bench_goals
import bench_hashing
import bench_pull_through
import bench_rps
import bench_s3
import bench_server
from _common import RESULTS_DIR, Section, compile_sources, format_section, machine_info, write_json
from goal_table import format_goals, goal_rows

ALL = ["download", "many", "onegig", "hashing", "server", "pull", "rps", "goals", "s3"]
#: Arguments of the default (full) run, where a script's own defaults are not the goal's sizes.
FULL_ARGS = {
    "many": [
        "--large-files",
        "0",
        "--small-files",
        "298",
        "--small-kib",
        "4",
        "--label",
        "300 small files",
        "--variants",
        "hgloc download-model,snapshot_download",
    ],
    "onegig": [
        "--large-files",
        "1",
        "--large-mib",
        "1024",
        "--small-files",
        "0",
        "--label",
        "1 GiB",
        "--variants",
        "hgloc download-model,curl sequential",
    ],
    "pull": ["--mib", "1024"],
}

QUICK_ARGS = {
    "download": ["--large-mib", "16", "--small-files", "10", "--repeats", "1"],
    "hashing": ["--mib", "128", "--repeats", "1"],
    "server": ["--mib", "64", "--many-files", "200", "--repeats", "1", "--heads", "50"],
    "pull": ["--mib", "32", "--repeats", "1"],
    "rps": ["--files", "50", "--requests", "500"],
    "many": [
        "--large-files",
        "0",
        "--small-files",
        "48",
        "--small-kib",
        "4",
        "--label",
        "300 small files",
        "--variants",
        "hgloc download-model,snapshot_download",
        "--repeats",
        "1",
    ],
    "onegig": [
        "--large-files",
        "1",
        "--large-mib",
        "64",
        "--small-files",
        "0",
        "--label",
        "1 GiB",
        "--variants",
        "hgloc download-model,curl sequential",
        "--repeats",
        "1",
    ],
    "goals": [
        "--models",
        "100",
        "1000",
        "--big-mib",
        "64",
        "--concurrent",
        "8",
        "--warm-files",
        "200",
        "--verify-mib",
        "256",
        "--repeats",
        "1",
    ],
    "s3": ["--large-mib", "32", "--small-files", "50"],
}


def _seconds(sections: list[Section], name: str) -> float | None:
    for section in sections:
        for row in section.rows:
            if row.name == name:
                return row.seconds
    return None


def _ratio(sections: list[Section], numerator: str, denominator: str) -> float | None:
    top, bottom = _seconds(sections, numerator), _seconds(sections, denominator)
    return top / bottom if top is not None and bottom else None


def key_ratios(sections: list[Section]) -> dict[str, float | None]:
    """The few numbers worth a glance (time ratios: below 1 means the first is faster)."""
    head_rows = [r.name for s in sections for r in s.rows if r.name.startswith("hgloc serve HEAD")]
    ratios = {
        "hgloc download-model / snapshot_download": _ratio(
            sections, "hgloc download-model", "snapshot_download"
        ),
        "hgloc download-model / (snapshot_download + sha256sum)": _ratio(
            sections, "hgloc download-model", "snapshot_download + sha256sum"
        ),
        "hgloc download-model / curl sequential": _ratio(sections, "hgloc download-model", "curl sequential"),
        "hgloc re-run (no-op) / hgloc --version": _ratio(sections, "hgloc re-run (no-op)", "hgloc --version"),
        "hgloc --version / python import huggingface_hub": _ratio(
            sections, "hgloc --version", "python import huggingface_hub"
        ),
        "hash_file (sha256+sha1) / sha256sum": _ratio(sections, "hgloc hash_file (sha256+sha1)", "sha256sum"),
        "hash_file (sha256+sha1) / hashlib sha256": _ratio(
            sections, "hgloc hash_file (sha256+sha1)", "hashlib.file_digest sha256"
        ),
        "hgloc serve GET / http.server GET": _ratio(sections, "hgloc serve GET", "http.server GET"),
        "pull-through first / snapshot_download (upstream)": _ratio(
            sections, bench_pull_through.FIRST, bench_pull_through.BASELINE
        ),
        "pull-through second / snapshot_download (upstream)": _ratio(
            sections, bench_pull_through.SECOND, bench_pull_through.BASELINE
        ),
    }
    for name in head_rows:
        ratios[f"{name} p50 / http.server HEAD p50"] = _ratio(sections, name, "http.server HEAD")
    for section in sections:  # req/s rows: time per request vs nginx's (nginx req/s / ours)
        if section.baseline == bench_rps.BASELINE:
            for row in section.rows[1:]:
                ratios[f"{row.name} / nginx HEAD (time per request)"] = row.ratio
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    parser.add_argument(
        "--only",
        choices=ALL,
        action="append",
        help="run only these (repeatable)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "latest.json", help="JSON results file")
    args = parser.parse_args(argv)
    selected = args.only or ALL
    compile_sources()
    started = time.perf_counter()
    sections: list[Section] = []
    machine = machine_info()
    for name in selected:
        extra = QUICK_ARGS[name] if args.quick else FULL_ARGS.get(name, [])
        print(f"-- running {name} {' '.join(extra)}".rstrip(), file=sys.stderr, flush=True)
        if name in ("download", "many", "onegig"):
            sections.append(bench_download.run_bench(bench_download.build_parser().parse_args(extra)))
        elif name == "hashing":
            sections.append(bench_hashing.run_bench(bench_hashing.build_parser().parse_args(extra)))
        elif name == "pull":
            sections.append(bench_pull_through.run_bench(bench_pull_through.build_parser().parse_args(extra)))
        elif name == "rps":
            sections.append(bench_rps.measure(bench_rps.build_parser().parse_args(extra)))
        elif name == "goals":
            sections += bench_goals.run_bench(bench_goals.build_parser().parse_args(extra))
        elif name == "s3":
            sections.append(bench_s3.run_bench(bench_s3.build_parser().parse_args(extra)))
        else:
            sections += bench_server.run_bench(bench_server.build_parser().parse_args(extra))
    elapsed = time.perf_counter() - started
    ratios = key_ratios(sections)
    print(
        f"\nhg-localization benchmarks — {machine['date']} — {machine['cores']} cores ({machine['cpu']}), "
        f"load {machine['load_avg_1m']} at start, huggingface_hub {machine['huggingface_hub']}"
    )
    for section in sections:
        print()
        print(format_section(section))
    print("\n== Key ratios (wall time; < 1 means the first is faster) ==")
    width = max(len(k) for k in ratios)
    for key, value in ratios.items():
        print(f"{key.ljust(width)}  {'-' if value is None else f'{value:.2f}'}")
    goals = goal_rows(sections)
    print("\n== Goals (issue 'Speed') ==")
    print(format_goals(goals))
    print(f"\n(total {elapsed:.0f}s)")
    payload: dict[str, Any] = {
        "machine": machine,
        "quick": args.quick,
        "elapsed_s": round(elapsed, 1),
        "sections": [s.as_dict() for s in sections],
        "key_ratios": {k: None if v is None else round(v, 3) for k, v in ratios.items()},
        "goals": goals,
    }
    write_json(args.out, payload)
    print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
