"""E-payment numbers: numeric, fixed length, random, with a Damm check digit.

A number is `length - 1` random digits (the first never 0, so the number keeps its length when a
spreadsheet or a bank form reads it as an integer) followed by one check digit. The digits come
from the operating system's CSPRNG, so knowing one number says nothing about the next: numbers
cannot be guessed in sequence. Uniqueness is the database's job (the number is the bill's key; a
collision, about one in 10^11 per issue at the default length, is retried with a new number).

The check digit is Damm's algorithm (H. M. Damm, 2004): one table lookup per digit in a totally
anti-symmetric quasigroup of order 10. It catches every single-digit error and every transposition
of two adjacent digits (Luhn misses 09 <-> 90), which are the two mistakes people make when they
type a number read from an SMS.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

# The quasigroup of Damm's thesis (row = interim digit, column = next digit).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

MIN_LENGTH = 8
MAX_LENGTH = 20


def _interim(digits: str) -> int:
    interim = 0
    for digit in digits:
        interim = _DAMM[interim][int(digit)]
    return interim


def check_digit(body: str) -> str:
    """The Damm check digit of a string of digits."""
    if not body.isascii() or not body.isdigit():
        raise ValueError("an e-payment number is made of the digits 0-9 only")
    return str(_interim(body))


def is_valid(number: str, length: int | None = None) -> bool:
    """True if `number` is digits only, of `length` if given, and its check digit is right."""
    if not number.isascii() or not number.isdigit() or len(number) < 2:
        return False
    if length is not None and len(number) != length:
        return False
    return _interim(number) == 0


def new_e_payment_number(length: int, randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A fresh random number of `length` digits, the last one its check digit."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"an e-payment number has {MIN_LENGTH} to {MAX_LENGTH} digits")
    first = 1 + randbelow(9)
    rest = randbelow(10 ** (length - 2))
    body = f"{first}{rest:0{length - 2}d}"
    return body + check_digit(body)
