"""The headers of a request to the Hub: huggingface_hub's ``build_hf_headers``, made cheaply when possible.

Why not always call it: ``huggingface_hub.utils._headers`` imports ``huggingface_hub.errors`` and
the token helpers, which import httpx2 and huggingface_hub's whole HTTP module, more than a warm
re-run's one request costs. :func:`hub_headers` gives the same dict for the common cases from
the small modules that make it (the version, runtime and agent helpers, the constants):

- ``user-agent``: ``hg-localization/<version>; hf_hub/<version>; python/<version>``, then (unless
  telemetry is off) ``torch/<version>`` when torch is installed and ``agent/<id>`` when an AI
  agent is detected, then ``origin/<HF_HUB_USER_AGENT_ORIGIN>``, deduplicated as huggingface_hub does;
- ``authorization: Bearer <token>`` for a given token; without one, huggingface_hub's implicit token
  (OIDC exchange, the stored login, Colab's secrets) is looked for by huggingface_hub itself.

Anything it cannot decide from those (a stored login, OIDC, Colab, an agent registry that would
have to be fetched) goes to ``build_hf_headers`` itself, which then does what it always did.
``tests/hub/test_headers.py`` compares the two.
"""

from __future__ import annotations

import os
import sys
import time

from hg_localization._version import __version__

LIBRARY_NAME = "hg-localization"
#: How old huggingface_hub lets its cached agent-harness registry be before fetching it again.
_REGISTRY_TTL_SECONDS = 24 * 3600


def hub_headers(token: str | None) -> dict[str, str]:
    """Exactly ``build_hf_headers(token=token, library_name=..., library_version=...)``."""
    headers = _light_headers(token)
    if headers is None:
        from huggingface_hub.utils import build_hf_headers

        headers = build_hf_headers(token=token, library_name=LIBRARY_NAME, library_version=__version__)
    return dict(headers)


def _light_headers(token: str | None) -> dict[str, str] | None:
    from huggingface_hub import constants

    if token is None and not constants.HF_HUB_DISABLE_IMPLICIT_TOKEN and _may_find_a_token():
        return None
    agent: str | None = None
    if not constants.HF_HUB_DISABLE_TELEMETRY:
        if not _registry_is_fresh(constants.AGENT_HARNESSES_PATH):
            return None  # huggingface_hub would fetch it (from its own endpoint) first
        from huggingface_hub.utils._detect_agent import detect_agent

        agent = detect_agent()
    headers = {"user-agent": _user_agent(agent)}
    if isinstance(token, str):
        headers["authorization"] = f"Bearer {token}"
    return headers


def _may_find_a_token() -> bool:
    """Whether huggingface_hub's implicit token lookup (``get_token``) could find one."""
    from huggingface_hub import constants

    # Read as huggingface_hub reads them: an OIDC exchange first, then HF_TOKEN (which the
    # configuration has already made ``token`` when it is set), then the stored login, then Colab.
    names = ("HF_OIDC_RESOURCE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
    if any(os.environ.get(name) for name in names) or os.path.exists(constants.HF_TOKEN_PATH):
        return True
    return _in_colab()


def _in_colab() -> bool:
    """huggingface_hub's ``is_google_colab()``, which asks IPython: outside IPython, False without
    importing ``huggingface_hub.utils._runtime`` (and importlib.metadata with it)."""
    import builtins

    if not hasattr(builtins, "get_ipython"):
        return False
    from huggingface_hub.utils._runtime import is_google_colab

    return is_google_colab()


def _registry_is_fresh(path: str) -> bool:
    try:
        return time.time() - os.path.getmtime(path) < _REGISTRY_TTL_SECONDS
    except OSError:
        return False


def _user_agent(agent: str | None) -> str:
    """huggingface_hub's ``_http_user_agent`` for this library (same parts, same order, deduplicated)."""
    import huggingface_hub
    from huggingface_hub import constants

    # The versions as huggingface_hub.utils._runtime gives them, without importing it (it imports
    # importlib.metadata: a fifth of a warm re-run's imports); torch only with telemetry on.
    python = sys.version.split()[0].rstrip("+")
    ua = f"{LIBRARY_NAME}/{__version__}; hf_hub/{huggingface_hub.__version__}; python/{python}"
    if not constants.HF_HUB_DISABLE_TELEMETRY:
        from huggingface_hub.utils._runtime import get_torch_version, is_torch_available

        if is_torch_available():
            ua += f"; torch/{get_torch_version()}"
        if agent:
            ua += f"; agent/{agent}"
    if constants.HF_HUB_USER_AGENT_ORIGIN is not None:
        ua += "; origin/" + constants.HF_HUB_USER_AGENT_ORIGIN
    return "; ".join({key.strip(): None for key in ua.split(";")})
