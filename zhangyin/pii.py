"""Personal data (PIPL, JR/T 0171-2020): masking for display, encryption at rest.

Masking keeps only what a person needs to recognise their own data
(138****5678, 110***********1234, 张*). Encryption is AES-256-GCM with a key
version prefix (`v1:...`) so keys rotate without a flag day: new writes use the
newest key, old ciphertexts stay readable until re-encrypted. Each ciphertext
is bound to its field (`context` as associated data), so a value copied into
another column does not decrypt. `blind_index` gives an equality lookup
(uniqueness of ID numbers) without storing the value.

Keys: `ZHANGYIN_DATA_KEYS="1:<base64 32 bytes>,2:<base64 32 bytes>"` (the
highest version encrypts), or one key derived from the secret key. Keys derived
from `ZHANGYIN_PREVIOUS_SECRET_KEYS` only decrypt, and their blind indexes still
match, so rotating the secret key loses nothing; `python -m zhangyin identity
rekey` then moves every value to the current keys (docs/security.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zhangyin.config import get_settings
from zhangyin.errors import DomainError

log = logging.getLogger(__name__)

_VERSIONED = re.compile(r"^v(\d{1,10}):([A-Za-z0-9_-]+)$")


class DecryptionFailed(DomainError):
    """The ciphertext is damaged, for another field, or under a key we no longer hold.

    A fault of the server's configuration, not of the request: answered 503 with its own
    code, so a secret key removed before `rekey` shows as itself (docs/security.md).
    """

    code = "personal_data_unavailable"
    status = 503
    title = "Personal data unavailable"
    message_zh = "暂时无法读取个人信息，请稍后重试或联系客服"
    message_en = "Personal data cannot be read at the moment; try again later or contact us"

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.args = (reason,)  # for logs; never sent to the client (no params)


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


#: ZHANGYIN_DATA_KEYS versions are below this; a key derived from a secret key is numbered
#: from it by a digest of the secret, so derived and configured versions never meet.
DERIVED_VERSION_BASE = 1_000_000
#: Before derived keys were numbered per secret, the one derived key wrote `v1:`. Such a
#: value is under the derived key of the current or of a previous secret, or under
#: configured version 1: each is tried (AES-GCM authenticates, so a wrong key never opens it).
LEGACY_DERIVED_VERSION = 1


@dataclass(frozen=True)
class Keyring:
    """Data keys by version, and blind-index keys.

    `keys` encrypt (the highest version) and decrypt; `retired_keys` only decrypt (keys
    derived from previous secret keys, or from the secret keys while ZHANGYIN_DATA_KEYS is
    set); `legacy_keys` are tried on `v1:` values written before derived keys had their own
    versions. `index_keys[0]` computes new blind indexes; the others (previous secret keys)
    still match in lookups.
    """

    keys: Mapping[int, bytes]
    index_keys: tuple[bytes, ...]
    retired_keys: Mapping[int, bytes] = field(default_factory=dict)
    legacy_keys: tuple[bytes, ...] = ()

    @property
    def current_version(self) -> int:
        return max(self.keys)

    def encrypt(self, plaintext: str, context: str) -> str:
        version = self.current_version
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self.keys[version]).encrypt(nonce, plaintext.encode(), context.encode())
        return f"v{version}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def _candidates(self, version: int) -> list[bytes]:
        found = self.keys.get(version) or self.retired_keys.get(version)
        candidates = [found] if found else []
        if version == LEGACY_DERIVED_VERSION:
            candidates += [key for key in self.legacy_keys if key not in candidates]
        return candidates

    def decrypt(self, token: str, context: str) -> str:
        return self.open(token, context)[0]

    def open(self, token: str, context: str) -> tuple[str, bool]:
        """The plaintext, and whether `token` is under the current key (nothing to rotate).

        A `v1:` value can be under configured version 1 or a legacy derived key: which one
        opened it tells, where the version alone cannot.
        """
        match = _VERSIONED.match(token)
        if match is None:
            raise DecryptionFailed("not a versioned ciphertext")
        version = int(match.group(1))
        candidates = self._candidates(version)
        if not candidates:
            raise DecryptionFailed(f"key version {version} is not configured")
        raw = match.group(2)
        try:
            blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except (binascii.Error, ValueError) as exc:
            raise DecryptionFailed("bad encoding") from exc
        for key in candidates:
            try:
                plaintext = AESGCM(key).decrypt(blob[:12], blob[12:], context.encode()).decode()
            except (InvalidTag, ValueError):
                continue
            return plaintext, version == self.current_version and key == self.keys[version]
        raise DecryptionFailed(f"authentication failed under key version {version}")

    def rotate(self, token: str, context: str) -> str:
        """Re-encrypt under the current key (unchanged if already current)."""
        plaintext, current = self.open(token, context)
        return token if current else self.encrypt(plaintext, context)

    def blind_index(self, value: str, context: str) -> str:
        """A keyed hash for equality lookups, under the current secret's index key.

        Not reversible; stable across data-key rotation (not across secret-key rotation:
        see `blind_indexes`).
        """
        return _keyed_hash(self.index_keys[0], value, context)

    def blind_indexes(self, value: str, context: str) -> tuple[str, ...]:
        """The value's blind index under every index key, the current one first.

        A lookup or uniqueness check matches any of them, so rows indexed under a previous
        secret key are still found until `rekey` recomputes them.
        """
        return tuple(_keyed_hash(key, value, context) for key in self.index_keys)


def _keyed_hash(key: bytes, value: str, context: str) -> str:
    return hmac.new(key, f"{context}\x00{value}".encode(), hashlib.sha256).hexdigest()


def _derive(secret: str, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret.encode())


def derived_version(secret: str) -> int:
    """The key version of the data key derived from `secret` (reveals nothing useful of it)."""
    digest = _derive(secret, b"zhangyin-data-key-version")
    return DERIVED_VERSION_BASE + int.from_bytes(digest[:4], "big")


def parse_data_keys(spec: str) -> dict[int, bytes]:
    """`1:<base64>,2:<base64>` -> {1: key, 2: key}; every key must be 32 bytes."""
    keys: dict[int, bytes] = {}
    for part in spec.split(","):
        version, _, encoded = part.strip().partition(":")
        if not version.isdigit() or not encoded:
            raise ValueError("ZHANGYIN_DATA_KEYS entries look like 1:<base64 of 32 bytes>")
        if int(version) >= DERIVED_VERSION_BASE:
            raise ValueError(
                f"data key versions must be below {DERIVED_VERSION_BASE} "
                "(larger ones are kept for keys derived from secret keys)"
            )
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
        if len(key) != 32:
            raise ValueError(f"data key version {version} is not 32 bytes")
        keys[int(version)] = key
    if not keys:
        raise ValueError("ZHANGYIN_DATA_KEYS is empty")
    return keys


def build_keyring(
    secret_key: str, data_keys: str | None = None, previous_secret_keys: Sequence[str] = ()
) -> Keyring:
    """The keyring of a secret key, the secret keys rotated out and ZHANGYIN_DATA_KEYS.

    Without ZHANGYIN_DATA_KEYS the current secret's derived key encrypts; with them, the
    configured keys encrypt and every derived key only decrypts (so values written before
    the data keys were configured stay readable until `rekey`).
    """
    secrets_in_use = list(dict.fromkeys([secret_key, *previous_secret_keys]))
    derived: dict[int, bytes] = {}
    for secret in secrets_in_use:
        version = derived_version(secret)
        if version in derived:  # two secrets with one 32-bit digest: about 1 in 4 billion
            raise ValueError("two secret keys share a data key version; choose another secret")
        derived[version] = _derive(secret, b"zhangyin-data-v1")
    current = derived_version(secret_key)
    if data_keys:
        keys, retired = parse_data_keys(data_keys), derived
    else:
        keys = {current: derived[current]}
        retired = {version: key for version, key in derived.items() if version != current}
    return Keyring(
        keys=keys,
        index_keys=tuple(_derive(s, b"zhangyin-blind-index-v1") for s in secrets_in_use),
        retired_keys=retired,
        legacy_keys=tuple(derived.values()),
    )


@lru_cache(maxsize=1)
def keyring() -> Keyring:
    """The process's keyring, from settings (secret keys) and ZHANGYIN_DATA_KEYS."""
    settings = get_settings()
    return build_keyring(
        settings.resolved_secret_key(),
        os.environ.get("ZHANGYIN_DATA_KEYS"),
        settings.previous_secret_key_list(),
    )


def encrypt(plaintext: str, context: str) -> str:
    return keyring().encrypt(plaintext, context)


def decrypt(token: str, context: str) -> str:
    try:
        return keyring().decrypt(token, context)
    except DecryptionFailed as error:
        # The operator's signal: a key was removed before `rekey`, or the data is damaged.
        log.error("personal data unreadable", extra={"field": context, "reason": str(error)})
        raise


def blind_index(value: str, context: str) -> str:
    """The index to store for `value` (current secret key)."""
    return keyring().blind_index(value, context)


def blind_indexes(value: str, context: str) -> tuple[str, ...]:
    """Every index `value` may be stored under (current and previous secret keys)."""
    return keyring().blind_indexes(value, context)
