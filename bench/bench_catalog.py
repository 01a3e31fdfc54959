"""The web catalog with 1,000 models: server time per page, read from each answer's ``Server-Timing``.

``hg-localization serve --repos DIR`` runs in its own process over ``--models`` generated repos
(a card with front matter, a ``config.json``, a small weights file; every tenth has a ``v1.0``
tag too) and ``--datasets`` datasets. Each page is asked for ``--requests`` times with one
``httpx.Client``; the row shows p50 and p95 of the server's own time for the page (the handler:
the catalog, the files it reads, the template), and the note the p50 wall time the client saw.

The list pages read an index of every repo, rebuilt at most once per ``ttl`` (10 s) in a
background thread: the row **/models, index just expired** is a list page asked for just after
the index expired, and **index rebuild** the time that rebuild takes (measured in-process).

Baseline: ``/health`` (the cheapest answer the server has).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import httpx
from _common import Row, Section, format_section, hgloc_server, scratch_dir, write_json

from hg_localization.catalog import Catalog, SourceCatalog
from hg_localization.catalog.index import DEFAULT_TTL as INDEX_TTL
from hg_localization.server.folder_source import FolderSource

BASELINE = "/health"
PAGES = (
    "/",
    "/models",
    "/models?search=model-12",
    "/models?tag=tag-3&kind=full&sort=recent",
    "/datasets",
    "/org-0/model-0",
    "/org-0/model-0/tree/main",
    "/compare?a=org-0/model-0&b=org-1/model-1",
    "/api/catalog/models?limit=50",
    "/api/catalog/models/org-0/model-0",
    BASELINE,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=1000, help="generated models (1000)")
    parser.add_argument("--datasets", type=int, default=100, help="generated datasets (100)")
    parser.add_argument("--requests", type=int, default=30, help="requests per page (30)")
    parser.add_argument("--rebuilds", type=int, default=3, help="index rebuilds measured (3; 0: skip)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    return parser


def make_repos(root: Path, models: int, datasets: int) -> None:
    for index in range(models):
        main = root / "models" / f"org-{index % 20}" / f"model-{index}" / "main"
        main.mkdir(parents=True)
        tags = f"[tag-{index % 7}, bench]"
        (main / "README.md").write_text(
            f"---\nlicense: apache-2.0\npipeline_tag: fill-mask\ntags: {tags}\n---\n"
            f"# model-{index}\n\nA generated model for the catalog benchmark.\n\n"
            "| a | b |\n|---|---|\n| 1 | 2 |\n"
        )
        config = {
            "model_type": "bert",
            "hidden_size": 32 + index % 4,
            "num_hidden_layers": 2,
            "vocab_size": 1000,
        }
        (main / "config.json").write_text(json.dumps(config))
        (main / "model.safetensors").write_bytes(index.to_bytes(4, "big") * 256)
        if index % 10 == 0:
            tag = main.parent / "v1.0"
            tag.mkdir()
            (tag / "config.json").write_text(json.dumps({**config, "hidden_size": 64}))
    for index in range(datasets):
        main = root / "datasets" / f"org-{index % 20}" / f"data-{index}" / "main"
        (main / "data").mkdir(parents=True)
        (main / "README.md").write_text(f"---\npretty_name: data {index}\n---\n# data-{index}\n")
        (main / "data" / "train.csv").write_text("text,label\nhello,1\n")


def measure(client: httpx.Client, url: str, count: int) -> tuple[list[float], list[float]]:
    """(server seconds, wall seconds) of ``count`` GETs of ``url``."""
    server, wall = [], []
    for _ in range(count):
        start = time.perf_counter()
        answer = client.get(url)
        wall.append(time.perf_counter() - start)
        if answer.status_code != 200:
            raise RuntimeError(f"GET {url}: {answer.status_code}")
        timing = answer.headers.get("server-timing", "")
        server.append(float(timing.split("dur=")[1]) / 1000 if "dur=" in timing else wall[-1])
    return server, wall


def percentile_row(name: str, server: list[float], wall: list[float], note: str = "") -> Row:
    ordered = sorted(server)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    p50 = statistics.median(ordered)
    wall_note = f"wall p50 {statistics.median(wall) * 1000:.1f} ms"
    return Row(
        name=name, seconds=round(p50, 5), runs=[round(p50, 5), round(p95, 5)], note=f"{wall_note}{note}"
    )


def _index_rebuild(repos: Path, count: int) -> list[float]:
    """Seconds the catalog takes to rebuild its index of ``repos`` (caches warm, as in the server)."""
    catalog = Catalog([SourceCatalog(FolderSource.for_repos_dir(repos))], ttl=0, background=False)
    catalog.visible("model", may_read=False)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        catalog.visible("model", may_read=False)
        times.append(time.perf_counter() - start)
    return times


def run_bench(args: argparse.Namespace) -> list[Section]:
    rows = []
    with scratch_dir("hgloc-bench-catalog-") as work:
        repos = work / "repos"
        make_repos(repos, args.models, args.datasets)
        with (
            hgloc_server(repos, work, "org-0/model-0") as url,
            httpx.Client(base_url=url, timeout=60) as client,
        ):
            first_server, _ = measure(client, "/models", 1)  # builds the index
            rows.append(
                Row(
                    name="first list page (cold)",
                    seconds=first_server[0],
                    runs=first_server,
                    note="index built, every file hashed once",
                )
            )
            for page in PAGES:
                client.get(page)  # warm: the repo's files hashed, its card rendered once
                server, wall = measure(client, page, args.requests)
                if page == BASELINE:
                    server = wall  # /health has no Server-Timing: its wall time is the floor
                rows.append(percentile_row(page, server, wall))
            expired: list[float] = []
            for _ in range(args.rebuilds):
                time.sleep(INDEX_TTL + 0.2)
                expired.extend(measure(client, "/models", 1)[0])
            if expired:
                note = "served from the previous index while it is rebuilt"
                rows.append(
                    Row(
                        name="/models, index just expired",
                        seconds=statistics.median(expired),
                        runs=expired,
                        note=note,
                    )
                )
        rebuild = _index_rebuild(repos, max(args.rebuilds, 1))
        rows.append(
            Row(
                name="index rebuild (background)",
                seconds=statistics.median(rebuild),
                runs=rebuild,
                note="in-process, warm caches; once per ttl at most",
            )
        )
    section = Section(
        title=f"Web catalog: server time per page, {args.models} models and {args.datasets} datasets",
        params={"models": args.models, "datasets": args.datasets, "requests": args.requests},
        rows=rows,
        baseline=BASELINE,
        notes=[
            "'median' is the p50 of Server-Timing; 'runs' shows p50 and p95 "
            "(the cold and rebuild rows: each run)"
        ],
    ).with_ratios()
    return [section]


def main(argv: list[str] | None = None) -> list[Section]:
    args = build_parser().parse_args(argv)
    sections = run_bench(args)
    print("\n\n".join(format_section(s) for s in sections))
    if args.json:
        write_json(args.json, {"sections": [s.as_dict() for s in sections]})
    return sections


if __name__ == "__main__":
    main()
