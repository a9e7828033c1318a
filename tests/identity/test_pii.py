"""Masking and field encryption (zhangyin.pii)."""

from __future__ import annotations

import base64
import secrets

import pytest

from zhangyin import pii


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
    assert token.startswith("v1:") and "1990" not in token
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
    assert both.decrypt(token, "cards.number") == "6216880000000001234"
    assert both.needs_rotation(token)
    rotated = both.rotate(token, "cards.number")
    assert rotated.startswith("v2:") and not both.needs_rotation(rotated)
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
