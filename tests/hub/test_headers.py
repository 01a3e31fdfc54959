"""The headers of a Hub request are huggingface_hub's ``build_hf_headers``, whichever way they are made.

huggingface_hub reads its settings (telemetry, the token path, the user-agent origin) once, at
import: each case runs in a fresh Python with its environment (``helpers.clients.run_python``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from huggingface_hub.utils import build_hf_headers

from hg_localization._version import __version__
from hg_localization.hub.headers import hub_headers

from helpers.clients import run_python
from helpers.servers import DEAD_ENDPOINT

TOKEN = "hf_NotARealTokenButLongEnough"
#: huggingface_hub's cached list of AI agent harnesses (fresh: it is not fetched again).
REGISTRY = {"standardEnvVars": ["AI_AGENT"], "harnesses": {"some-agent": {"envVars": {"SOME_AGENT": "*"}}}}

COMPARE = """
import json, sys
from huggingface_hub.utils import build_hf_headers
from hg_localization._version import __version__
from hg_localization.hub.headers import hub_headers
token = sys.argv[-1] or None
ours = hub_headers(token)
theirs = build_hf_headers(token=token, library_name="hg-localization", library_version=__version__)
print(json.dumps({"ours": ours, "theirs": dict(theirs)}))
"""


@pytest.mark.parametrize("token", [None, TOKEN])
def test_the_same_headers_as_build_hf_headers(token: str | None) -> None:
    expected = build_hf_headers(token=token, library_name="hg-localization", library_version=__version__)
    assert hub_headers(token) == expected
    assert ("authorization" in expected) is (token is not None)


@pytest.mark.parametrize(
    ("env", "token", "expected"),
    [
        ({"SOME_AGENT": "1", "HF_HUB_USER_AGENT_ORIGIN": "ci"}, TOKEN, "agent/some-agent; origin/ci"),
        ({"NO_REGISTRY": "1"}, TOKEN, "python/"),  # huggingface_hub fetches the registry (and fails)
        ({"HF_HUB_DISABLE_TELEMETRY": "1", "STORED_TOKEN": "1"}, "", "Bearer hf_StoredLogin"),
        ({"HF_HUB_DISABLE_IMPLICIT_TOKEN": "1", "STORED_TOKEN": "1"}, "", "python/"),
    ],
    ids=["agent-and-origin", "no-agent-registry", "stored-login", "implicit-token-disabled"],
)
def test_the_same_headers_in_other_environments(env: dict[str, str], token: str, expected: str) -> None:
    env = dict(env)
    hf_home = Path(os.environ["HF_HOME"])
    hf_home.mkdir(parents=True, exist_ok=True)
    if not env.pop("NO_REGISTRY", ""):
        (hf_home / ".agent_harnesses.json").write_text(json.dumps(REGISTRY))
    if env.pop("STORED_TOKEN", ""):
        (hf_home / "token").write_text("hf_StoredLoginTokenForTests")
    env.setdefault("HF_HUB_DISABLE_TELEMETRY", "")
    output = run_python(COMPARE, endpoint=DEAD_ENDPOINT, env=env, args=[token])
    found = json.loads(output.strip().splitlines()[-1])
    assert found["ours"] == found["theirs"]
    assert expected in json.dumps(found["ours"])
