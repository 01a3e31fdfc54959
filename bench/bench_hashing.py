"""Hash one large file: hg-localization's one-pass sha256 + git sha1 vs the usual tools.

Variants (the file is in the page cache for all of them: this measures hashing, not the disk):

- ``sha256sum`` (coreutils, a subprocess): the baseline a user would reach for;
- ``hgloc hash_file``: ``hg_localization.integrity.hashing.hash_file``, sha256 and git blob sha1
  in one read, 1 MiB chunks (what the store uses to re-verify, and what ``serve --repos`` runs);
- ``hashlib.file_digest sha256``: the standard library's own loop, sha256 only;
- ``hashlib.file_digest sha1``: the other half of ``hash_file``'s work, for the breakdown.

Ratios are wall time relative to ``sha256sum`` (lower is faster).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
from pathlib import Path

from _common import (
    MIB,
    Section,
    format_section,
    median_time,
    require_tools,
    row_from,
    run,
    scratch_dir,
    write_json,
    write_random_file,
)

from hg_localization.integrity.hashing import hash_file

BASELINE = "sha256sum"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mib", type=int, default=512, help="file size in MiB (512)")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions per variant (3)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    return parser


def _file_digest(path: Path, algorithm: str) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def _sha256sum_build() -> str:
    """The coreutils version, and whether it uses OpenSSL's sha256 (coreutils' own has no SHA-NI)."""
    version = run(["sha256sum", "--version"]).splitlines()[0]
    ldd = shutil.which("ldd")
    linked = ldd is not None and "libcrypto" in run([ldd, shutil.which("sha256sum") or "sha256sum"])
    return f"{version}, {'linked to libcrypto' if linked else 'its own sha256 code'}"


def _cpu_has(flag: str) -> bool:
    try:
        return any(flag in line.split() for line in Path("/proc/cpuinfo").read_text().splitlines())
    except OSError:
        return False


def run_bench(args: argparse.Namespace) -> Section:
    require_tools("sha256sum")
    size = args.mib * MIB
    with scratch_dir("hgloc-bench-hash-") as work:
        path = work / "blob.safetensors"
        write_random_file(path, size)
        expected = _file_digest(path, "sha256")  # also warms the page cache
        actions = {
            BASELINE: lambda: run(["sha256sum", str(path)]).split()[0],
            "hgloc hash_file (sha256+sha1)": lambda: hash_file(path).sha256,
            "hashlib.file_digest sha256": lambda: _file_digest(path, "sha256"),
            "hashlib.file_digest sha1": lambda: _file_digest(path, "sha1"),
        }
        # Untimed agreement check: everyone computes the same sha256.
        for name in (BASELINE, "hgloc hash_file (sha256+sha1)"):
            if actions[name]() != expected:
                raise RuntimeError(f"{name} disagrees with hashlib on the sha256")
        times: dict[str, list[float]] = {name: [] for name in actions}
        for _ in range(args.repeats):
            for name, action in actions.items():
                times[name] += median_time(action, 1)
    notes = {
        BASELINE: "coreutils, subprocess",
        "hgloc hash_file (sha256+sha1)": "both digests, one read, 1 MiB chunks",
        "hashlib.file_digest sha256": "sha256 only",
        "hashlib.file_digest sha1": "sha1 only (breakdown)",
    }
    rows = [row_from(name, runs, bytes=size, note=notes[name]) for name, runs in times.items()]
    section = Section(
        title=f"Hash a {args.mib} MiB file (page cache warm)",
        params={"MiB": args.mib, "repeats": args.repeats},
        rows=rows,
        baseline=BASELINE,
        notes=[
            "MB = 10^6 bytes; hashlib uses OpenSSL (SHA-NI when the CPU has it)",
            f"{_sha256sum_build()}; CPU sha_ni: {'yes' if _cpu_has('sha_ni') else 'no'}",
        ],
    )
    return section.with_ratios()


def main(argv: list[str] | None = None) -> Section:
    args = build_parser().parse_args(argv)
    section = run_bench(args)
    print(format_section(section))
    if args.json:
        write_json(args.json, section.as_dict())
    return section


if __name__ == "__main__":
    main()
