"""E-payment numbers (Damm check digit) and the provider's HMAC signature."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.payments import numbers, signatures
from services.payments.numbers import check_digit, is_valid, new_e_payment_number

SECRET = b"a-provider-secret-of-some-length-000"
NOW = 1_790_000_000


# ---- numbers -----------------------------------------------------------------------------------


def test_the_check_digit_matches_damms_worked_example() -> None:
    # Damm's worked example: 572 -> check digit 4.
    assert check_digit("572") == "4"
    assert is_valid("5724") and not is_valid("5723")


def test_a_new_number_has_the_length_a_leading_non_zero_digit_and_a_valid_check_digit() -> None:
    for length in (8, 13, 20):
        number = new_e_payment_number(length)
        assert len(number) == length and number[0] != "0"
        assert is_valid(number, length)


def test_numbers_are_random_not_sequential() -> None:
    drawn = [new_e_payment_number(13) for _ in range(200)]
    assert len(set(drawn)) == 200
    bodies = sorted(int(number[:-1]) for number in drawn)
    gaps = {b - a for a, b in itertools.pairwise(bodies)}
    assert len(gaps) > 150, "no common stride to guess the next number by"


def test_a_number_from_a_seeded_source_is_reproducible() -> None:
    source = random.Random(7)
    assert new_e_payment_number(13, source.randrange) == new_e_payment_number(
        13, random.Random(7).randrange
    )


@pytest.mark.parametrize("length", [7, 21])
def test_a_length_outside_the_range_is_refused(length: int) -> None:
    with pytest.raises(ValueError):
        new_e_payment_number(length)


@pytest.mark.parametrize("bad", ["", "1", "12a4", "١٢٣٤", "12 34", "-1234"])
def test_anything_but_ascii_digits_is_not_a_number(bad: str) -> None:
    assert not is_valid(bad)


def test_a_valid_number_of_another_length_is_refused() -> None:
    assert is_valid("5724") and not is_valid("5724", length=13)


@given(st.text(alphabet="0123456789", min_size=7, max_size=19), st.data())
def test_every_single_digit_error_is_caught(body: str, data: st.DataObject) -> None:
    number = body + check_digit(body)
    position = data.draw(st.integers(0, len(number) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    assert not is_valid(number[:position] + wrong + number[position + 1 :])


@given(st.text(alphabet="0123456789", min_size=7, max_size=19), st.data())
def test_every_adjacent_transposition_is_caught(body: str, data: st.DataObject) -> None:
    number = body + check_digit(body)
    position = data.draw(st.integers(0, len(number) - 2))
    a, b = number[position], number[position + 1]
    if a == b:
        return
    swapped = number[:position] + b + a + number[position + 2 :]
    assert not is_valid(swapped)


def test_the_range_of_lengths_is_what_settings_allow() -> None:
    assert (numbers.MIN_LENGTH, numbers.MAX_LENGTH) == (8, 20)


# ---- signatures --------------------------------------------------------------------------------


def verify(header: str | None, body: bytes = b'{"a":1}', **changes: object) -> int:
    options: dict[str, object] = {"secrets": [SECRET], "now": NOW, "window_seconds": 300}
    options.update(changes)
    return signatures.verify(header, body, **options)  # type: ignore[arg-type]


def test_a_correct_signature_is_accepted_and_gives_its_timestamp() -> None:
    header = signatures.sign(SECRET, NOW - 10, b'{"a":1}')
    assert header.startswith(f"t={NOW - 10},v1=")
    assert verify(header) == NOW - 10


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("v1=abc", "no timestamp"),
        ("t=abc,v1=abc", "no valid timestamp"),
        (f"t={NOW},t={NOW},v1=abc", "no valid timestamp"),
        (f"t={NOW}", "no v1"),
        ("garbage", "malformed"),
        (f"t={NOW},v1=00", "does not match"),
    ],
)
def test_a_missing_or_malformed_signature_is_refused(header: str | None, reason: str) -> None:
    with pytest.raises(signatures.SignatureRefused, match=reason):
        verify(header)


def test_a_signature_by_another_secret_or_over_another_body_is_refused() -> None:
    with pytest.raises(signatures.SignatureRefused, match="does not match"):
        verify(signatures.sign(b"another-secret", NOW, b'{"a":1}'))
    with pytest.raises(signatures.SignatureRefused, match="does not match"):
        verify(signatures.sign(SECRET, NOW, b'{"a":2}'))


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_a_stale_or_future_timestamp_is_refused(offset: int) -> None:
    with pytest.raises(signatures.SignatureRefused, match="window"):
        verify(signatures.sign(SECRET, NOW + offset, b'{"a":1}'))


def test_a_re_dated_signature_is_refused() -> None:
    old = signatures.sign(SECRET, NOW - 1000, b'{"a":1}')
    redated = old.replace(f"t={NOW - 1000}", f"t={NOW}")
    with pytest.raises(signatures.SignatureRefused, match="does not match"):
        verify(redated)


def test_during_a_rotation_the_previous_secret_and_several_signatures_are_accepted() -> None:
    previous = b"the-previous-secret"
    old_signed = signatures.sign(previous, NOW, b'{"a":1}')
    assert verify(old_signed, secrets=[SECRET, previous]) == NOW
    both = f"{old_signed},v1={signatures.signature(b'x', NOW, b'{}')}"
    assert verify(both, secrets=[SECRET, previous]) == NOW
