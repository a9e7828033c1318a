"""Password hashing: argon2id with parameters measured on the development machine.

m=19 MiB, t=2, p=1 (the OWASP baseline) costs about 28 ms of CPU per verify
there (bench/login.py measures it), well under the 100 ms budget of a login.
Hashes made with older parameters are re-hashed on the next successful login.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from zhangyin.identity.errors import WeakPassword

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)
#: Verified when the phone is unknown, so a miss costs as long as a hit.
_DUMMY_HASH = HASHER.hash("zhangyin-timing-equaliser")

_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"[0-9]")
_ALLOWED = re.compile(r"^[\x21-\x7e]{8,64}$")


def check_strength(
    password: str, *, phone: str | None = None, id_number: str | None = None
) -> None:
    if not _ALLOWED.match(password) or not _LETTER.search(password) or not _DIGIT.search(password):
        raise WeakPassword()
    lowered = password.lower()
    if (phone and phone[-8:] in lowered) or (id_number and id_number[-6:].lower() in lowered):
        raise WeakPassword()


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)
