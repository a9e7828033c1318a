"""Personal data (PIPL, JR/T 0171-2020): masking for display, encryption at rest.

Masking keeps only what a person needs to recognise their own data
(138****5678, 110***********1234, 张*). Encryption is AES-256-GCM with a key
version prefix (`v1:...`) so keys rotate without a flag day: new writes use the
newest key, old ciphertexts stay readable until re-encrypted. Each ciphertext
is bound to its field (`context` as associated data), so a value copied into
another column does not decrypt. `blind_index` gives an equality lookup
(uniqueness of ID numbers) without storing the value.

Keys: `ZHANGYIN_DATA_KEYS="1:<base64 32 bytes>,2:<base64 32 bytes>"` (the
highest version encrypts), or one key derived from the secret key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zhangyin.config import get_settings

_VERSIONED = re.compile(r"^v(\d{1,6}):([A-Za-z0-9_-]+)$")


class DecryptionFailed(Exception):
    """The ciphertext is damaged, for another field, or under a key we no longer hold."""


# --------------------------------------------------------------------------- masking


def mask_phone(phone: str | None) -> str:
    """13812345678 -> 138****5678."""
    if not phone:
        return ""
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}{'*' * (len(phone) - 7)}{phone[-4:]}"


def mask_id_number(id_number: str | None) -> str:
    """110101199003071234 -> 110***********1234 (first 3 and last 4 kept)."""
    if not id_number:
        return ""
    if len(id_number) <= 7:
        return "*" * len(id_number)
    return f"{id_number[:3]}{'*' * (len(id_number) - 7)}{id_number[-4:]}"


def mask_name(name: str | None) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***; a Latin name keeps its first letter."""
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_card(card_number: str | None) -> str:
    """6216880000000001234 -> 621688*********1234 (BIN and last 4 kept)."""
    if not card_number:
        return ""
    if len(card_number) <= 10:
        return "*" * (len(card_number) - 4) + card_number[-4:]
    return f"{card_number[:6]}{'*' * (len(card_number) - 10)}{card_number[-4:]}"


_CODE_IN_TEXT = re.compile(r"(?<!\d)\d{6}(?!\d)")


def mask_codes(text: str) -> str:
    """Hide six-digit one-time codes in a message shown to staff."""
    return _CODE_IN_TEXT.sub("******", text)


# --------------------------------------------------------------------------- encryption


@dataclass(frozen=True)
class Keyring:
    """Data keys by version; the highest version encrypts new values."""

    keys: dict[int, bytes]
    index_key: bytes

    @property
    def current_version(self) -> int:
        return max(self.keys)

    def encrypt(self, plaintext: str, context: str) -> str:
        version = self.current_version
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.keys[version]).encrypt(nonce, plaintext.encode(), context.encode())
        return f"v{version}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def decrypt(self, token: str, context: str) -> str:
        match = _VERSIONED.match(token)
        if match is None:
            raise DecryptionFailed("not a versioned ciphertext")
        key = self.keys.get(int(match.group(1)))
        if key is None:
            raise DecryptionFailed(f"key version {match.group(1)} is not configured")
        raw = match.group(2)
        try:
            blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except (binascii.Error, ValueError) as exc:
            raise DecryptionFailed("bad encoding") from exc
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], context.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise DecryptionFailed("authentication failed") from exc

    def needs_rotation(self, token: str) -> bool:
        match = _VERSIONED.match(token)
        return match is None or int(match.group(1)) != self.current_version

    def rotate(self, token: str, context: str) -> str:
        """Re-encrypt under the current key (unchanged if already current)."""
        if not self.needs_rotation(token):
            return token
        return self.encrypt(self.decrypt(token, context), context)

    def blind_index(self, value: str, context: str) -> str:
        """A keyed hash for equality lookups; not reversible, stable across data-key rotation."""
        return hmac.new(
            self.index_key, f"{context}\x00{value}".encode(), hashlib.sha256
        ).hexdigest()


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def parse_data_keys(spec: str) -> dict[int, bytes]:
    """`1:<base64>,2:<base64>` -> {1: key, 2: key}; every key must be 32 bytes."""
    keys: dict[int, bytes] = {}
    for part in spec.split(","):
        version, _, encoded = part.strip().partition(":")
        if not version.isdigit() or not encoded:
            raise ValueError("ZHANGYIN_DATA_KEYS entries look like 1:<base64 of 32 bytes>")
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
        if len(key) != 32:
            raise ValueError(f"data key version {version} is not 32 bytes")
        keys[int(version)] = key
    if not keys:
        raise ValueError("ZHANGYIN_DATA_KEYS is empty")
    return keys


def build_keyring(secret_key: str, data_keys: str | None = None) -> Keyring:
    keys = (
        parse_data_keys(data_keys) if data_keys else {1: _derive(secret_key, b"zhangyin-data-v1")}
    )
    return Keyring(keys=keys, index_key=_derive(secret_key, b"zhangyin-blind-index-v1"))


@lru_cache(maxsize=1)
def keyring() -> Keyring:
    """The process's keyring, from settings (secret key) and ZHANGYIN_DATA_KEYS."""
    return build_keyring(get_settings().resolved_secret_key(), os.environ.get("ZHANGYIN_DATA_KEYS"))


def encrypt(plaintext: str, context: str) -> str:
    return keyring().encrypt(plaintext, context)


def decrypt(token: str, context: str) -> str:
    return keyring().decrypt(token, context)


def blind_index(value: str, context: str) -> str:
    return keyring().blind_index(value, context)
