"""Shared helpers for the benchmarks: repos on disk, servers on 127.0.0.1, timing and tables.

Not a test module and not part of the package: the ``bench_*.py`` scripts import it as a sibling.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = Path(sys.executable).parent
HGLOC = str(VENV_BIN / "hg-localization")
MIB = 1024 * 1024
MB = 1_000_000
HOST = "127.0.0.1"


# --- results --------------------------------------------------------------------------------


@dataclass
class Row:
    """One measured variant: median wall time over ``runs`` repetitions (all runs kept)."""

    name: str
    seconds: float
    runs: list[float]
    bytes: int = 0
    note: str = ""
    ratio: float | None = None
    ratio_to: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mb_per_s(self) -> float | None:
        return self.bytes / MB / self.seconds if self.bytes and self.seconds > 0 else None


@dataclass
class Section:
    """The result of one benchmark script."""

    title: str
    params: dict[str, Any]
    rows: list[Row]
    baseline: str
    notes: list[str] = field(default_factory=list)

    def with_ratios(self) -> Section:
        base = next((r for r in self.rows if r.name == self.baseline), None)
        for row in self.rows:
            if base is not None and base.seconds > 0:
                row.ratio = row.seconds / base.seconds
                row.ratio_to = self.baseline
        return self

    def as_dict(self) -> dict[str, Any]:
        rows = []
        for row in self.rows:
            data = asdict(row)
            data["mb_per_s"] = row.mb_per_s
            rows.append(data)
        return {
            "title": self.title,
            "params": self.params,
            "baseline": self.baseline,
            "rows": rows,
            "notes": self.notes,
        }


def median_time(
    func: Callable[[], object], repeats: int, *, setup: Callable[[], object] | None = None
) -> list[float]:
    """Wall times of ``func`` (``setup`` runs before each repetition, untimed)."""
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def row_from(name: str, runs: Sequence[float], **kwargs: Any) -> Row:
    rounded = [round(t, 4) for t in runs]
    return Row(name=name, seconds=statistics.median(rounded), runs=rounded, **kwargs)


def format_section(section: Section) -> str:
    """A plain-text table: variant, median time, every run, MB/s, ratio vs the baseline, note.

    Times are in milliseconds when every value in the section is under a second, else in seconds.
    """
    in_ms = all(t < 1 for row in section.rows for t in [row.seconds, *row.runs])
    scale, unit = (1000.0, "ms") if in_ms else (1.0, "s")
    header = ("variant", f"median {unit}", f"runs {unit}", "MB/s", f"x vs {section.baseline}", "note")
    lines = [header]
    for row in section.rows:
        rate = row.mb_per_s
        lines.append(
            (
                row.name,
                f"{row.seconds * scale:.3f}",
                " ".join(f"{t * scale:.3f}" for t in row.runs),
                f"{rate:,.0f}" if rate is not None else "-",
                f"{row.ratio:.2f}" if row.ratio is not None else "-",
                row.note,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = [f"== {section.title} ==", "params: " + ", ".join(f"{k}={v}" for k, v in section.params.items())]
    for index, line in enumerate(lines):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    out.extend(f"* {note}" for note in section.notes)
    return "\n".join(out)


def machine_info() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        import huggingface_hub

        hub_version = huggingface_hub.__version__
    except ImportError:  # pragma: no cover
        hub_version = "?"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "huggingface_hub": hub_version,
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


# --- files and repos ------------------------------------------------------------------------


def write_random_file(path: Path, size: int) -> None:
    """``size`` incompressible bytes (a stand-in for safetensors weights)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        remaining = size
        while remaining:
            chunk = min(remaining, 4 * MIB)
            handle.write(os.urandom(chunk))
            remaining -= chunk


def make_repo(
    repos_dir: Path, repo_id: str, *, large_files: int, large_mib: int, small_files: int, small_kib: int
) -> tuple[list[str], int]:
    """A repo in the ``serve --repos`` layout: ``models/<ns>/<name>/main/…``; returns (paths, bytes)."""
    main = repos_dir / "models" / repo_id / "main"
    main.mkdir(parents=True, exist_ok=True)
    paths: list[str] = []
    total = 0
    for index in range(large_files):
        path = f"model-{index + 1:05d}-of-{large_files:05d}.safetensors"
        write_random_file(main / path, large_mib * MIB)
        paths.append(path)
        total += large_mib * MIB
    (main / "config.json").write_text(json.dumps({"model_type": "bench", "hidden_size": 64}) + "\n")
    (main / "README.md").write_text("---\nlicense: apache-2.0\n---\n# bench\n")
    paths += ["config.json", "README.md"]
    for index in range(small_files):
        path = f"extras/file_{index:03d}.txt"
        (main / path).parent.mkdir(parents=True, exist_ok=True)
        (main / path).write_bytes(os.urandom(small_kib * 1024))
        paths.append(path)
    total += sum((main / p).stat().st_size for p in paths[large_files:])
    return paths, total


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def tree_size(path: Path, *, skip_hidden: bool = False) -> int:
    """Bytes of the regular files under ``path`` (optionally not those under a dot-folder or dot-file)."""
    total = 0
    for file in path.rglob("*"):
        hidden = any(part.startswith(".") for part in file.relative_to(path).parts)
        if file.is_file() and not file.is_symlink() and not (skip_hidden and hidden):
            total += file.stat().st_size
    return total


# --- processes and servers -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment minus anything that would point a client at a real Hub, bucket or login."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HGLOC_", "HF_", "HUGGING_FACE", "AWS_", "S3_")) or k == "AWS_CA_BUNDLE"
    }
    # A user's installed package has its bytecode; a command timed here must not compile its modules
    # on every run (this machine sets PYTHONDONTWRITEBYTECODE=1): see ``compile_sources``.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_XET": "1", "NO_PROXY": HOST})
    env.update(overrides)
    return env


def compile_sources() -> None:
    """Write the bytecode of hg_localization's modules (and of what they import, on first use), as
    ``pip install`` does: timings are then of a command, not of compiling it."""
    import compileall

    import hg_localization

    compileall.compile_dir(str(Path(hg_localization.__file__).parent), quiet=1)


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command and return its stdout; on failure raise with its output (never time a failure)."""
    return run_full(cmd, env=env, cwd=cwd).stdout


def run_full(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(cmd), env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@contextlib.contextmanager
def server_process(
    cmd: Sequence[str],
    ready_url: str,
    *,
    cwd: Path,
    timeout: float = 60.0,
    env: dict[str, str] | None = None,
) -> Iterator[int]:
    """Start a server in its own process (own GIL), wait until ``ready_url`` answers; yields its pid."""
    log_path = cwd / f"server-{time.monotonic_ns()}.log"
    log = log_path.open("w")
    proc_env = env if env is not None else clean_env()
    proc = subprocess.Popen(list(cmd), cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=proc_env)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"server exited early ({proc.returncode}): {' '.join(cmd)}\n{tail}")
            try:
                if httpx.get(ready_url, timeout=30).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready after {timeout}s: {ready_url}")
            time.sleep(0.1)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextlib.contextmanager
def hgloc_server(repos_dir: Path, work: Path, probe_repo: str) -> Iterator[str]:
    """``hg-localization serve --repos DIR`` on a free port; yields its endpoint URL.

    The probe (``/api/models/<repo>``) makes the server hash every file once (it caches the
    checksums), so timed runs see a warm server.
    """
    port = free_port()
    url = f"http://{HOST}:{port}"
    cmd = [HGLOC, "-q", "serve", "--repos", str(repos_dir), "--host", HOST, "--port", str(port)]
    with server_process(cmd, f"{url}/api/models/{probe_repo}", cwd=work):
        yield url


@contextlib.contextmanager
def static_server(directory: Path, work: Path) -> Iterator[str]:
    """``python -m http.server`` over ``directory``; yields its base URL."""
    port = free_port()
    url = f"http://{HOST}:{port}"
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", HOST, "--directory", str(directory)]
    with server_process(cmd, f"{url}/", cwd=work):
        yield url


def require_tools(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        raise SystemExit(f"missing tools: {', '.join(missing)}")
