"""Bearer tokens for the server: who may read private repos, and who may write."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from hg_localization.errors import InvalidInputError


@dataclass(frozen=True)
class ServerTokens:
    read: frozenset[str] = field(default_factory=frozenset)
    write: frozenset[str] = field(default_factory=frozenset)

    @property
    def writable(self) -> bool:
        return bool(self.write)

    def check(self, request: Request) -> tuple[bool, bool, bool]:
        """(sent a token, may read private repos, may write) for this request."""
        token = bearer_token(request)
        if token is None:
            return False, False, False
        may_write = _contains(self.write, token)
        may_read = may_write or _contains(self.read, token)
        return True, may_read, may_write

    @classmethod
    def from_file(cls, path: Path) -> ServerTokens:
        """Read ``read:TOKEN`` / ``write:TOKEN`` lines (``#`` comments allowed)."""
        read: set[str] = set()
        write: set[str] = set()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InvalidInputError(f"Cannot read the tokens file {path}: {exc.strerror}") from exc
        for number, line in enumerate(lines, start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kind, _, token = line.partition(":")
            if kind not in ("read", "write") or not token.strip():
                raise InvalidInputError(f"{path}, line {number}: expected 'read:TOKEN' or 'write:TOKEN'.")
            (write if kind == "write" else read).add(token.strip())
        return cls(read=frozenset(read), write=frozenset(write))

    def merged(self, other: ServerTokens) -> ServerTokens:
        return ServerTokens(read=self.read | other.read, write=self.write | other.write)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _contains(tokens: frozenset[str], candidate: str) -> bool:
    found = False
    for token in tokens:  # compare with every token, in constant time each
        found |= hmac.compare_digest(token.encode(), candidate.encode())
    return found
