"""The issue's goal rows, each beside its comparison, from the sections of one ``run_all.py`` run."""

from __future__ import annotations

from typing import Any

from _common import Row, Section

GoalRow = dict[str, Any]


def _row(sections: list[Section], name: str, title_part: str = "") -> Row | None:
    for section in sections:
        if title_part in section.title:
            for row in section.rows:
                if row.name == name:
                    return row
    return None


def _goal(goal: str, measured: str, comparison: str, ratio: float | None, met: bool | None) -> GoalRow:
    return {
        "goal": goal,
        "measured": measured,
        "comparison": comparison,
        "ratio": None if ratio is None else round(ratio, 3),
        "met": met,
    }


def _rps_rows(sections: list[Section]) -> list[GoalRow]:
    nginx = _row(sections, "nginx HEAD")
    rows = []
    for label in ("store", "--repos", "bucket"):
        for what in ("HEAD resolve", "GET info"):
            row = _row(sections, f"hgloc {label} {what}")
            if row is None:
                continue
            rps, p99 = row.extra["rps"], row.extra["p99_ms"]
            base = f"nginx {nginx.extra['rps']:,.0f} req/s" if nginx else "-"
            rows.append(
                _goal(
                    f"{what} over {label}: >= 3,000 req/s, p99 < 20 ms",
                    f"{rps:,.0f} req/s, p99 {p99:.0f} ms",
                    base,
                    rps / nginx.extra["rps"] if nginx else None,
                    rps >= 3000 and p99 < 20,
                )
            )
    return rows


def _time_goal(
    sections: list[Section],
    goal: str,
    ours: str,
    theirs: str,
    title: str,
    limit: float,
    *,
    inverse: bool = False,
) -> GoalRow | None:
    """A time ratio ours/theirs <= limit (or, ``inverse``, a throughput ratio theirs/ours >= limit)."""
    mine, other = _row(sections, ours, title), _row(sections, theirs, title)
    if mine is None or other is None:
        return None
    ratio = other.seconds / mine.seconds if inverse else mine.seconds / other.seconds
    met = ratio >= limit if inverse else ratio <= limit
    return _goal(goal, f"{ours} {mine.seconds:.3f} s", f"{theirs} {other.seconds:.3f} s", ratio, met)


def _below(sections: list[Section], goal: str, name: str, limit: float, title: str = "") -> GoalRow | None:
    row = _row(sections, name, title)
    if row is None:
        return None
    return _goal(goal, f"{row.seconds:.3f} s", f"goal {limit} s", row.seconds / limit, row.seconds < limit)


def goal_rows(sections: list[Section]) -> list[GoalRow]:
    rows: list[GoalRow | None] = [*_rps_rows(sections)]
    rows.append(
        _time_goal(
            sections,
            "big-file GET >= 0.9x nginx",
            "hgloc serve GET (1 stream)",
            "nginx GET (1 stream)",
            "Big-file",
            0.9,
            inverse=True,
        )
    )
    many = next(
        (r for s in sections if "Big-file" in s.title for r in s.rows if r.extra.get("peak_rss_mb")), None
    )
    if many is not None:
        rss = many.extra["peak_rss_mb"]
        rows.append(
            _goal("server RSS < 150 MB, 8 x 1 GiB at once", f"{rss:.0f} MB", "-", rss / 150, rss < 150)
        )
    rows.append(
        _time_goal(
            sections,
            "cold 300 small files <= 0.7x snapshot_download",
            "hgloc download-model",
            "snapshot_download",
            "300 small",
            0.7,
        )
    )
    rows.append(
        _time_goal(
            sections,
            "1 GiB localize >= 0.8x curl's throughput",
            "hgloc download-model",
            "curl sequential",
            "1 GiB",
            0.8,
            inverse=True,
        )
    )
    warm = _row(sections, "hgloc re-run (warm)")
    if warm is not None:
        seen = warm.extra.get("requests_per_run", 0)
        rows.append(
            _goal(
                "warm re-run at 1,000 files < 0.3 s, <= 1 request",
                f"{warm.seconds:.3f} s, {seen:.0f} request(s)",
                "goal 0.3 s",
                warm.seconds / 0.3,
                warm.seconds < 0.3 and seen <= 1,
            )
        )
    for name in ("hgloc --version", "hgloc --help", "hgloc list-local-models (1,000 models)"):
        rows.append(_below(sections, f"{name} < 0.25 s", name, 0.25, "CLI start-up"))
    rows.append(
        _below(
            sections,
            "list-local-models at 10,000 models < 1 s",
            "hgloc list-local-models (10,000 models)",
            1.0,
        )
    )
    rows += _sync_rows(sections)
    rows.append(
        _time_goal(
            sections,
            "pull-through first 1 GiB >= 0.8x upstream direct",
            "pull-through, first",
            "snapshot_download (upstream)",
            "Pull through",
            0.8,
            inverse=True,
        )
    )
    verify = _row(sections, "verify_folder (thread pool)")
    if verify is not None:
        per_core, cores = verify.extra["gb_per_s_per_core"], verify.extra["cores_busy"]
        rows.append(
            _goal(
                "sha256 verify 2 GiB >= 1.3 GB/s per core, both cores",
                f"{per_core:.2f} GB/s/core, {cores:.2f} cores",
                "sha256sum row",
                per_core / 1.3,
                per_core >= 1.3 and cores >= 1.8,
            )
        )
    return [row for row in rows if row is not None]


def _sync_rows(sections: list[Section]) -> list[GoalRow | None]:
    title = "Bucket sync"
    return [
        _time_goal(
            sections, "bucket sync cold <= 1.0x aws", "hgloc sync (cold)", "aws s3 sync (cold)", title, 1.0
        ),
        _time_goal(
            sections, "bucket sync cold <= 1.5x s5cmd", "hgloc sync (cold)", "s5cmd sync (cold)", title, 1.5
        ),
        _time_goal(
            sections,
            "bucket sync unchanged <= 0.5x aws",
            "hgloc sync (unchanged)",
            "aws s3 sync (unchanged)",
            title,
            0.5,
        ),
    ]


def format_goals(rows: list[GoalRow]) -> str:
    lines = ["| goal | measured | comparison | ratio | met |", "|---|---|---|---|---|"]
    for row in rows:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        met = {True: "yes", False: "**no**", None: "-"}[row["met"]]
        lines.append(f"| {row['goal']} | {row['measured']} | {row['comparison']} | {ratio} | {met} |")
    return "\n".join(lines)
