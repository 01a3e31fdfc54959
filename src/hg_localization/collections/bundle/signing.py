"""ed25519 signatures of a bundle's manifest (which names every file's sha256), via ``cryptography``.

Keys are PEM files, as ``openssl genpkey -algorithm ed25519`` writes them (or
``hg-localization bundle keygen``): the private key (PKCS#8, not encrypted) signs, the public key
(SubjectPublicKeyInfo) verifies. ``cryptography`` is an optional dependency: install
``hg-localization[bundles]``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from hg_localization.errors import AuthenticationError, InvalidInputError, LocalFileError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_MAX_KEY_BYTES = 64 * 1024
_INSTALL = "Install the optional extra: pip install 'hg-localization[bundles]'"


def sign(data: bytes, private_key: Path) -> bytes:
    """The ed25519 signature of ``data`` with the private key in ``private_key``."""
    return _private_key(private_key).sign(data)


def verify(data: bytes, signature: bytes | None, public_key: Path, *, where: str) -> None:
    """Refuse (AuthenticationError) unless ``signature`` is the key's signature of ``data``."""
    key = _public_key(public_key)
    from cryptography.exceptions import InvalidSignature

    if signature is None:
        raise AuthenticationError(
            message=f"{where} is not signed, and --verify-key asks for a signature by {public_key}.",
            hint="Nothing was imported. Ask for a bundle exported with --sign-key.",
        )
    try:
        key.verify(signature, data)
    except InvalidSignature:
        raise AuthenticationError(
            message=f"{where} is not signed by the key {public_key}: "
            "it was changed, or made by someone else.",
            hint="Nothing was imported. Check that you have the right public key and the right bundle.",
        ) from None


def generate(private_path: Path) -> Path:
    """Write a new private key to ``private_path`` (mode 0600) and its public key beside it (``.pub``)."""
    _require()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_path = private_path.with_name(private_path.name + ".pub")
    for path in (private_path, public_path):
        if path.exists():
            raise InvalidInputError(
                f"{path} already exists; it was not overwritten.", hint="Choose another path."
            )
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_pem)
        public_path.write_bytes(public_pem)
    except OSError as exc:
        raise LocalFileError.from_os_error(exc) from None
    return public_path


def _require() -> None:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise InvalidInputError(
            "Signing and verifying bundles needs the 'cryptography' package.", hint=_INSTALL
        ) from None


def _read_key(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(_MAX_KEY_BYTES)
    except OSError as exc:
        raise InvalidInputError(f"The key file {path} cannot be read: {exc.strerror or exc}.") from None


def _private_key(path: Path) -> Ed25519PrivateKey:
    _require()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    data = _read_key(path)
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"{path} is not an unencrypted PEM private key ({exc}).",
            hint="Make one with: hg-localization bundle keygen KEYFILE",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInputError(
            f"{path} is not an ed25519 key.", hint="Make one with: hg-localization bundle keygen KEYFILE"
        )
    return key


def _public_key(path: Path) -> Ed25519PublicKey:
    _require()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    data = _read_key(path)
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"{path} is not a PEM public key ({exc}).", hint="Use the KEYFILE.pub keygen wrote."
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInputError(
            f"{path} is not an ed25519 public key.", hint="Use the KEYFILE.pub keygen wrote."
        )
    return key
