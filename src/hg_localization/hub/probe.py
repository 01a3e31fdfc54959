"""One request to see whether the Hub answers (``hg-localization doctor``), with the token when set.

Any HTTP answer below 500 means the Hub is reachable. With a token, ``/api/whoami-v2`` also says
whether the token is accepted (a 401 there is a refused token; a server without that route
answers 404, and the token is then simply not checked).
"""

from __future__ import annotations

import httpx2
from huggingface_hub.utils import get_session

from hg_localization.errors import AuthenticationError, UpstreamError
from hg_localization.redact import url_without_userinfo


def probe_hub(endpoint: str, token: str | None, *, timeout: float = 10.0) -> str:
    """What the Hub at ``endpoint`` said, in words; UpstreamError or AuthenticationError when it fails."""
    shown = url_without_userinfo(endpoint)
    url = f"{endpoint}/api/whoami-v2" if token else f"{endpoint}/api/models"
    headers = {"authorization": f"Bearer {token}"} if token else {}
    try:
        response = get_session().get(
            url, headers=headers, params=None if token else {"limit": "1"}, timeout=timeout
        )
    except httpx2.TransportError as exc:
        raise UpstreamError(
            f"Could not reach the Hub at {shown}: {type(exc).__name__}.",
            hint="Check HF_ENDPOINT (or HGLOC_HF_ENDPOINT), the network and any proxy (HTTPS_PROXY).",
        ) from None
    if response.status_code >= 500:
        raise UpstreamError(
            f"The Hub at {shown} answered {response.status_code}.",
            hint="The server has a problem; try again later, or check HF_ENDPOINT.",
        )
    if token and response.status_code == 401:
        raise AuthenticationError(
            f"The Hub at {shown} refused the token.",
            hint="Set a valid HF_TOKEN (or HUGGING_FACE_HUB_TOKEN), or log in again with `hf auth login`.",
        )
    checked = " (the token is accepted)" if token and response.status_code == 200 else ""
    return f"{shown} answers{checked}"
