"""The one boundary of huggingface_hub: every use of the client library is in this package.

huggingface_hub's telemetry is off unless the user turns it on (``HF_HUB_DISABLE_TELEMETRY=0``).
With it on, huggingface_hub 2.x builds each User-Agent with ``detect_agent()``, which fetches a
registry from ``{HF_ENDPOINT or https://huggingface.co}/api/agent-harnesses`` whenever its cached
copy is missing or a day old: a team that sets only ``HGLOC_HF_ENDPOINT`` would have every command
try huggingface.co from inside its walls. Set here, before any module of this package imports
huggingface_hub (its constants are read once, at its import).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
