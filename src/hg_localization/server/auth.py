"""Bearer tokens for the server: who may read private repos and who may write, and to which repos.

The tokens file (``serve --tokens-file``) has one token a line::

    # KIND:TOKEN[:GLOB[,GLOB...]]   [# NAME]
    read:3f9c...e1                  # alice
    write:77ab...02:acme/*,acme-*/* # ci-acme
    read:c0de...99:acme/private

``KIND`` is ``read`` (read private repos) or ``write`` (upload, tag, delete; and read). Without
globs a token covers every repo; with globs (:func:`fnmatch.fnmatchcase` on repo ids, ``*``
matches ``/`` too) it covers only the repos matching one of them, for models and datasets alike.
A token may appear on several lines: its rights add up. A token may not contain ``:``, ``#`` or
white space. ``NAME`` (letters, digits, ``.``, ``_``, ``@``, ``+``, ``-``) is what the access and
audit logs print for the token; without one they print ``token-`` and the first 8 hex digits of
the token's sha256 (:func:`token_label`). The token's value is never printed, logged or stored.

Public repos are readable by anyone: scopes decide who reads *private* repos and who writes.
:meth:`ServerTokens.check` is the scope-blind question (may read every repo / may write every
repo: only unscoped tokens can), :meth:`ServerTokens.may_read` and :meth:`ServerTokens.may_write`
the per-repo ones. ``read``/``write`` hold the unscoped token values (what the catalog's pages
compare against: a scoped token shows them public repos only).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cached_property
from pathlib import Path
from typing import Literal

from starlette.requests import Request

from hg_localization.errors import InvalidInputError

TokenKind = Literal["read", "write"]
#: What the logs print for a request without a token, and for a token this server does not know.
NO_TOKEN = "-"  # noqa: S105 (a name for the logs, not a secret)
UNKNOWN_TOKEN = "unknown-token"  # noqa: S105
_NAME_RE = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")
_GLOB_RE = re.compile(r"^[A-Za-z0-9._*?\[\]!/-]{1,200}$")
_COMMENT_RE = re.compile(r"\s+#")
_LINE_FORMAT = "expected 'read:TOKEN' or 'write:TOKEN', then ':GLOB[,GLOB...]' and '# NAME' if wanted"


def token_label(token: str) -> str:
    """The name the logs give a token without one: ``token-`` + 8 hex digits of its sha256."""
    return "token-" + hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()[:8]


@dataclass(frozen=True)
class TokenGrant:
    """One line of the tokens file: a token, what it may do, on which repos (``()``: every repo)."""

    kind: TokenKind
    token: str = field(repr=False)
    repos: tuple[str, ...] = ()
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or token_label(self.token)

    def covers(self, repo_id: str) -> bool:
        return not self.repos or any(fnmatchcase(repo_id, glob) for glob in self.repos)


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the token's name (never its value) and the grants it matched."""

    name: str
    grants: tuple[TokenGrant, ...] = ()

    @property
    def sent_token(self) -> bool:
        return self.name != NO_TOKEN

    @property
    def may_write_somewhere(self) -> bool:
        return any(grant.kind == "write" for grant in self.grants)

    def may_read(self, repo_id: str) -> bool:
        """May read ``repo_id`` when it is private (a write grant reads what it writes)."""
        return any(grant.covers(repo_id) for grant in self.grants)

    def may_write(self, repo_id: str) -> bool:
        return any(grant.kind == "write" and grant.covers(repo_id) for grant in self.grants)

    def scope_of(self, kind: TokenKind) -> str:
        """The globs this caller's ``kind`` grants cover, for a message (``*``: every repo)."""
        grants = [grant for grant in self.grants if kind == "read" or grant.kind == "write"]
        globs = [glob for grant in grants for glob in grant.repos or ("*",)]
        return ", ".join(dict.fromkeys(globs)) or "no repo"


ANONYMOUS = Caller(NO_TOKEN)


@dataclass(frozen=True)
class ServerTokens:
    #: Unscoped read tokens (values): they read every private repo.
    read: frozenset[str] = field(default_factory=frozenset, repr=False)
    #: Unscoped write tokens (values): they write (and read) every repo.
    write: frozenset[str] = field(default_factory=frozenset, repr=False)
    #: Every line of a tokens file, scoped or not, named or not.
    grants: tuple[TokenGrant, ...] = ()

    @cached_property
    def all_grants(self) -> tuple[TokenGrant, ...]:
        """``grants``, and an unnamed unscoped grant for each ``read``/``write`` value not among them."""
        listed = {(g.kind, g.token) for g in self.grants if not g.repos}
        unscoped: tuple[tuple[TokenKind, frozenset[str]], ...] = (("read", self.read), ("write", self.write))
        extra = [
            TokenGrant(kind, token)
            for kind, values in unscoped
            for token in sorted(values)
            if (kind, token) not in listed
        ]
        return (*self.grants, *extra)

    @property
    def writable(self) -> bool:
        return any(grant.kind == "write" for grant in self.all_grants)

    def identify(self, request: Request) -> Caller:
        """Who sent ``request``: :data:`ANONYMOUS`, an unknown token, or the grants its token has."""
        token = bearer_token(request)
        if token is None:
            return ANONYMOUS
        candidate = token.encode("utf-8", "surrogateescape")
        matched = []
        for grant in self.all_grants:  # compare with every token, in constant time each
            if hmac.compare_digest(grant.token.encode("utf-8", "surrogateescape"), candidate):
                matched.append(grant)
        if not matched:
            return Caller(UNKNOWN_TOKEN)
        name = next((g.name for g in matched if g.name), "") or matched[0].label
        return Caller(name, tuple(matched))

    def check(self, request: Request) -> tuple[bool, bool, bool]:
        """(sent a token, may read every private repo, may write every repo) for this request."""
        caller = self.identify(request)
        unscoped = [grant for grant in caller.grants if not grant.repos]
        may_write = any(grant.kind == "write" for grant in unscoped)
        return caller.sent_token, may_write or bool(unscoped), may_write

    def may_read(self, request: Request, repo_id: str) -> bool:
        """May this request read ``repo_id`` if it is private (public repos: everyone may)."""
        return self.identify(request).may_read(repo_id)

    def may_write(self, request: Request, repo_id: str) -> bool:
        return self.identify(request).may_write(repo_id)

    @classmethod
    def from_file(cls, path: Path) -> ServerTokens:
        """Read a tokens file (see the module's docstring; ``#`` starts a comment line)."""
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InvalidInputError(f"Cannot read the tokens file {path}: {exc.strerror}") from exc
        except UnicodeDecodeError:
            raise InvalidInputError(f"The tokens file {path} is not UTF-8 text.") from None
        grants = []
        for number, line in enumerate(lines, start=1):
            line = line.strip()
            if line and not line.startswith("#"):
                grants.append(_parse_line(line, f"{path}, line {number}"))
        return cls(
            read=frozenset(g.token for g in grants if g.kind == "read" and not g.repos),
            write=frozenset(g.token for g in grants if g.kind == "write" and not g.repos),
            grants=tuple(grants),
        )

    def merged(self, other: ServerTokens) -> ServerTokens:
        return ServerTokens(
            read=self.read | other.read, write=self.write | other.write, grants=self.grants + other.grants
        )


def _parse_line(line: str, where: str) -> TokenGrant:
    """One ``KIND:TOKEN[:GLOB[,GLOB...]] [# NAME]`` line; the message never repeats the token."""
    body, _, name = (part.strip() for part in _split_comment(line))
    kind, _, rest = body.partition(":")
    token, _, globs = rest.partition(":")
    if kind not in ("read", "write") or not token or any(c.isspace() or c == "#" for c in token):
        raise InvalidInputError(f"{where}: {_LINE_FORMAT}.", hint="See 'Serving' in README.md.")
    repos = tuple(glob.strip() for glob in globs.split(",")) if globs else ()
    for glob in repos:
        if not _GLOB_RE.match(glob):
            raise InvalidInputError(
                f"{where}: after the token come globs on repo ids (like acme/* or acme/model-?), "
                "separated by commas.",
                hint="A token may not contain ':'; a glob has letters, digits and . _ - / * ? [ ] !",
            )
    if name and not _NAME_RE.match(name):
        raise InvalidInputError(
            f"{where}: the token's name must be 1 to 64 letters, digits, '.', '_', '@', '+' or '-'.",
            hint="The name is what the access log prints for the token: write it after '# '.",
        )
    return TokenGrant("write" if kind == "write" else "read", token, repos, name)


def _split_comment(line: str) -> tuple[str, str, str]:
    match = _COMMENT_RE.search(line)
    if match is None:
        return line, "", ""
    return line[: match.start()], "#", line[match.end() :]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
