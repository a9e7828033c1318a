"""Masking and field encryption (zhangyin.pii)."""

from __future__ import annotations

import base64
import secrets

import pytest

from zhangyin import pii
from zhangyin.errors import DomainError


def test_masks_keep_only_what_a_person_needs() -> None:
    assert pii.mask_phone("13812345678") == "138****5678"
    assert pii.mask_id_number("110101199003071234") == "110***********1234"
    assert pii.mask_name("张三") == "张*"
    assert pii.mask_name("欧阳娜娜") == "欧***"
    assert pii.mask_card("6216880000000001234") == "621688*********1234"
    assert pii.mask_phone(None) == "" and pii.mask_name("") == ""
    assert pii.mask_codes("验证码 123456，金额 1000.00") == "验证码 ******，金额 1000.00"


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def test_encryption_round_trips_and_hides_the_value() -> None:
    ring = pii.build_keyring("a-secret")
    token = ring.encrypt("110101199003071234", "customers.id_number")
    assert token.startswith(f"v{pii.derived_version('a-secret')}:") and "1990" not in token
    assert ring.decrypt(token, "customers.id_number") == "110101199003071234"
    assert ring.encrypt("x", "c") != ring.encrypt("x", "c")  # fresh nonce every time


def test_ciphertext_is_bound_to_its_field() -> None:
    ring = pii.build_keyring("a-secret")
    token = ring.encrypt("110101199003071234", "customers.id_number")
    with pytest.raises(pii.DecryptionFailed):
        ring.decrypt(token, "cards.number")


def test_tampered_or_foreign_ciphertext_is_refused() -> None:
    ring = pii.build_keyring("a-secret")
    token = ring.encrypt("secret", "ctx")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for bad in (flipped, "v9:" + token[3:], "plain", "v1:!!"):
        with pytest.raises(pii.DecryptionFailed):
            ring.decrypt(bad, "ctx")
    with pytest.raises(pii.DecryptionFailed):
        pii.build_keyring("another-secret").decrypt(token, "ctx")


def test_keys_rotate_by_version() -> None:
    old_key, new_key = _key(), _key()
    old_ring = pii.build_keyring("s", f"1:{old_key}")
    both = pii.build_keyring("s", f"1:{old_key},2:{new_key}")
    token = old_ring.encrypt("6216880000000001234", "cards.number")
    assert both.open(token, "cards.number") == ("6216880000000001234", False)
    rotated = both.rotate(token, "cards.number")
    assert rotated.startswith("v2:") and both.rotate(rotated, "cards.number") == rotated
    assert both.decrypt(rotated, "cards.number") == "6216880000000001234"
    with pytest.raises(pii.DecryptionFailed):
        old_ring.decrypt(rotated, "cards.number")


def test_blind_index_is_stable_and_keyed() -> None:
    one = pii.build_keyring("s", f"1:{_key()}")
    two = pii.build_keyring("s", f"1:{_key()},2:{_key()}")
    assert one.blind_index("x", "c") == two.blind_index("x", "c")  # survives data-key rotation
    assert one.blind_index("x", "c") != pii.build_keyring("t").blind_index("x", "c")
    assert one.blind_index("x", "c") != one.blind_index("x", "d")


@pytest.mark.parametrize("spec", ["", "1", "x:abc", f"1:{base64.b64encode(b'short').decode()}"])
def test_bad_data_key_configuration_is_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        pii.parse_data_keys(spec)


# Written by the release before derived keys had their own versions (secret "legacy-secret").
LEGACY_ID_NUMBER = "110101199003071234"
LEGACY_CIPHERTEXT = "v1:oSe-qNYWUQQWS39UHgaz0ecaoQKP5CZ5QmWOBm9azcztOZefrmF32Y63d02sUA"
LEGACY_INDEX = "c755cf86d8002c429ef92ceb223475dba1cdcc28f94623ce6ab45731864046ef"
ID_CONTEXT = "identity_customers.id_number"


def test_values_written_before_derived_versions_still_decrypt_and_match() -> None:
    for ring in (
        pii.build_keyring("legacy-secret"),
        pii.build_keyring("new-secret", None, ["legacy-secret"]),
        pii.build_keyring("new-secret", f"1:{_key()}", ["legacy-secret"]),  # v1 is also configured
    ):
        assert ring.open(LEGACY_CIPHERTEXT, ID_CONTEXT) == (LEGACY_ID_NUMBER, False)
        fresh = ring.rotate(LEGACY_CIPHERTEXT, ID_CONTEXT)
        assert fresh.startswith(f"v{ring.current_version}:")
        assert ring.open(fresh, ID_CONTEXT) == (LEGACY_ID_NUMBER, True)
        assert LEGACY_INDEX in ring.blind_indexes(LEGACY_ID_NUMBER, ID_CONTEXT)
    assert pii.build_keyring("legacy-secret").blind_index(LEGACY_ID_NUMBER, ID_CONTEXT) == (
        LEGACY_INDEX
    )
    with pytest.raises(pii.DecryptionFailed):
        pii.build_keyring("new-secret").decrypt(LEGACY_CIPHERTEXT, ID_CONTEXT)


def test_previous_secret_keys_only_decrypt() -> None:
    old = pii.build_keyring("old-secret")
    token = old.encrypt("6216880000000001234", "cards.number")
    rotated = pii.build_keyring("new-secret", None, ["older-secret", "old-secret"])
    assert rotated.current_version == pii.derived_version("new-secret") != old.current_version
    assert rotated.open(token, "cards.number") == ("6216880000000001234", False)
    fresh = rotated.rotate(token, "cards.number")
    assert fresh.startswith(f"v{pii.derived_version('new-secret')}:")
    assert rotated.decrypt(fresh, "cards.number") == "6216880000000001234"
    with pytest.raises(pii.DecryptionFailed):
        old.decrypt(fresh, "cards.number")
    # Once the old secret is gone, its values are refused by version, not guessed at.
    with pytest.raises(pii.DecryptionFailed, match="not configured"):
        pii.build_keyring("new-secret").decrypt(token, "cards.number")


def test_configured_data_keys_encrypt_and_secret_derived_keys_still_decrypt() -> None:
    derived = pii.build_keyring("a-secret").encrypt("x", "c")
    ring = pii.build_keyring("a-secret", f"3:{_key()}", ["b-secret"])
    assert ring.current_version == 3 and ring.encrypt("x", "c").startswith("v3:")
    assert ring.decrypt(derived, "c") == "x"
    assert ring.decrypt(pii.build_keyring("b-secret").encrypt("y", "c"), "c") == "y"


def test_derived_key_versions_cannot_meet_configured_ones() -> None:
    versions = {pii.derived_version(f"secret-{n}") for n in range(50)}
    assert len(versions) == 50 and min(versions) >= pii.DERIVED_VERSION_BASE
    with pytest.raises(ValueError, match="versions must be below"):
        pii.parse_data_keys(f"{pii.DERIVED_VERSION_BASE}:{_key()}")
    assert list(pii.parse_data_keys(f"{pii.DERIVED_VERSION_BASE - 1}:{_key()}")) == [999_999]


def test_blind_indexes_match_under_previous_secrets_and_store_under_the_current() -> None:
    rotated = pii.build_keyring("new", None, ["old", "new"])
    indexes = rotated.blind_indexes("x", "c")
    assert indexes == (
        pii.build_keyring("new").blind_index("x", "c"),
        pii.build_keyring("old").blind_index("x", "c"),
    )  # the current secret first, each secret once
    assert rotated.blind_index("x", "c") == indexes[0]


def test_an_unreadable_value_is_a_503_problem_that_does_not_say_why() -> None:
    error = pii.DecryptionFailed("key version 7 is not configured")
    assert isinstance(error, DomainError)
    assert (error.status, error.code) == (503, "personal_data_unavailable")
    assert str(error) == "key version 7 is not configured"  # for the log
    assert error.extensions() == {} and "version" not in error.detail("en-US")
