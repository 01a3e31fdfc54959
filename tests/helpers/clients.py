"""Run the unmodified Hub clients the way a user does: a fresh Python with HF_ENDPOINT set.

huggingface_hub reads ``HF_ENDPOINT`` (and the cache paths, and ``HF_HUB_DISABLE_XET``) once, at
import; a subprocess is the only honest way to test ``HF_ENDPOINT=… python -c …``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

CLIENT_TIMEOUT = 180


def run_python(
    code: str,
    *,
    endpoint: str,
    token: str | None = None,
    env: dict[str, str] | None = None,
    python: str = sys.executable,
    args: list[str] | None = None,
) -> str:
    """Run ``code`` in a new interpreter with ``HF_ENDPOINT=endpoint``; return its stdout.

    The environment is the test's (already cleaned by the autouse fixture) plus ``env``; fails
    the test with the child's output when it exits non-zero.
    """
    child_env = {**os.environ, "HF_ENDPOINT": endpoint, **(env or {})}
    child_env.pop("HF_HUB_OFFLINE", None)
    if token is not None:
        child_env["HF_TOKEN"] = token
    completed = subprocess.run(
        [python, "-c", textwrap.dedent(code), *(args or [])],
        env=child_env,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(
            f"The client exited with {completed.returncode}.\n"
            f"--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}"
        )
    return completed.stdout


def run_python_json(
    code: str, *, endpoint: str, token: str | None = None, env: dict[str, str] | None = None
) -> Any:
    """Like :func:`run_python` for code whose last line of output is one JSON document."""
    output = run_python(code, endpoint=endpoint, token=token, env=env)
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines, "The client printed nothing."
    return json.loads(lines[-1])


def run_python_json_with(
    python: str, code: str, args: list[str], *, endpoint: str, env: dict[str, str] | None = None
) -> Any:
    """Like :func:`run_python_json`, with another interpreter (another client version) and arguments."""
    output = run_python(code, endpoint=endpoint, env=env, python=python, args=args)
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines, "The client printed nothing."
    return json.loads(lines[-1])
