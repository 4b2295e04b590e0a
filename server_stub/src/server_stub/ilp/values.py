"""Typing a text value: what a field's text means (grammar.py has the forms).

Values are JSON-ready dicts: {"type": "integer", "value": 5}. Non-finite floats are the strings
"NaN", "Infinity" and "-Infinity" so that a row stays valid JSON; a decimal's unscaled value and its
text are strings, since they exceed 64 bits.
"""

from __future__ import annotations

import decimal
import math
import re

from . import grammar
from .errors import BadValue

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_DECIMAL_SCALE = 76  # QuestDB's Decimals.MAX_SCALE; also its largest precision
MAX_DECIMAL_DIGITS = 76

# Looked up in lower case: QuestDB takes t, f, true and false in any mix of case (tRuE too).
_BOOLEANS = {"t": True, "true": True, "f": False, "false": False}
NON_FINITE_FLOATS = ("NaN", "Infinity", "-Infinity")
# How they may be written: a sign is allowed before either (-NaN is NaN).
_NON_FINITE_SPELLINGS = {"NaN": "NaN", "+NaN": "NaN", "-NaN": "NaN",
                         "Infinity": "Infinity", "+Infinity": "Infinity", "-Infinity": "-Infinity"}
# Timestamp units by the suffix after the digits, for timestamp columns and the designated
# timestamp alike (which without a suffix is in nanoseconds).
UNIT_BY_SUFFIX = {"n": "ns", "t": "us", "m": "ms"}
SUFFIX_BY_UNIT = {"ns": "n", "us": "t", "ms": "m"}

# measured: "NaNd" and "Infinityd", with or without a sign, store NULL
_NULL_DECIMALS = {sign + word for sign in ("", "+", "-") for word in ("NaN", "Infinity")}
_LONG256_RE = re.compile(grammar.LONG256)
_UNDERSCORED_RE = re.compile(grammar.UNDERSCORED)
FLOAT_RE = re.compile(grammar.FLOAT)
_NONZERO_MANTISSA_RE = re.compile(r"[^eE]*[1-9]")


def int64(digits: str, what: str) -> int:
    """ASCII digits after an optional minus, with "_" allowed between digits as QuestDB allows
    (1_000i): int() alone would also take "+1", " 1" and non-ASCII digits such as "٣"."""
    unsigned = digits.removeprefix("-")
    if "_" in unsigned:
        if not _UNDERSCORED_RE.fullmatch(unsigned):  # one "_" at a time, with a digit on each side
            raise BadValue(f"invalid {what}")
        unsigned = unsigned.replace("_", "")
        digits = "-" + unsigned if digits[:1] == "-" else unsigned
    if not (unsigned.isascii() and unsigned.isdigit()):
        raise BadValue(f"invalid {what}")
    return int64_of_digits(digits, what)


def int64_of_digits(digits: str, what: str) -> int:
    """digits: ASCII digits after an optional minus (checked by the caller or its regex)."""
    if len(digits) < 19:  # at most 18 digits: always in range
        return int(digits)
    # Leading zeros do not count (QuestDB takes 00000000000000000000001i); anything longer than
    # "-9223372036854775808" after them is out of range, and checking the length first keeps int()
    # away from its limit on huge digit strings.
    sign, unsigned = ("-", digits[1:]) if digits[:1] == "-" else ("", digits)
    unsigned = unsigned.lstrip("0") or "0"
    value = int(sign + unsigned) if len(unsigned) <= 19 else INT64_MAX + 1
    if not INT64_MIN <= value <= INT64_MAX:
        raise BadValue(f"{what} out of 64-bit signed range")
    return value


def decimal_float(text: str) -> float:
    """A decimal float's value; one too large for a double, or too small to be anything but zero,
    is refused, as QuestDB refuses it (1e309, 1e-400)."""
    value = float(text)
    if math.isinf(value):
        raise BadValue("float out of range")
    if value == 0.0 and _NONZERO_MANTISSA_RE.match(text):
        raise BadValue("float out of range (too small)")
    return value


def json_float(value: float) -> float | str:
    """A float as JSON can carry it: non-finite values become strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def decimal_value(unscaled: int | None, scale: int) -> dict:
    """A decimal's value dict; unscaled None is NULL."""
    if unscaled is None:
        return {"type": "decimal", "scale": scale, "unscaled": None, "value": None}
    return {"type": "decimal", "scale": scale, "unscaled": str(unscaled), "value": decimal_text(unscaled, scale)}


def decimal_text(unscaled: int, scale: int) -> str:
    """The exact text of unscaled * 10^-scale, with `scale` digits after the point: (-1234500, 4) -> '-123.4500'."""
    digits = str(abs(unscaled)).rjust(scale + 1, "0")
    whole, fraction = digits[:len(digits) - scale], digits[len(digits) - scale:]
    return ("-" if unscaled < 0 else "") + whole + ("." + fraction if scale else "")


def rescale(unscaled: int, scale: int, to: int) -> int | None:
    """unscaled * 10^-scale as an unscaled value at scale `to`; None when that would lose digits."""
    if to >= scale:
        return unscaled * 10 ** (to - scale)
    quotient, rest = divmod(abs(unscaled), 10 ** (scale - to))
    return None if rest else (-quotient if unscaled < 0 else quotient)


def text_decimal(text: str) -> dict:
    """A decimal written as text before its "d": the float form (no sign before NaN), NaN or Infinity (signed or not) for NULL.
    Its scale is the digits after the point, less the exponent; more than 76 digits is refused."""
    if text in _NULL_DECIMALS:
        return decimal_value(None, 0)
    if not FLOAT_RE.fullmatch(text):
        raise BadValue("invalid decimal")
    _sign, digits, exponent = decimal.Decimal(text).as_tuple()
    scale = max(0, -exponent)
    unscaled = int("".join(map(str, digits)) or "0") * 10 ** max(0, exponent)
    unscaled = -unscaled if text.startswith("-") else unscaled
    if scale > MAX_DECIMAL_SCALE or len(str(abs(unscaled))) > MAX_DECIMAL_DIGITS:
        raise BadValue("decimal out of range")
    return decimal_value(unscaled, scale)


def field_value(text: str) -> dict:
    """Type a field value (anything but a quoted string or a binary value) by its form."""
    # Booleans first: "t" and "f" would otherwise look like unit suffixes.
    boolean = _BOOLEANS.get(text.lower())
    if boolean is not None:
        return {"type": "boolean", "value": boolean}
    suffix = text[-1:]
    if suffix == "i":
        if _LONG256_RE.fullmatch(text, 0, len(text) - 1):  # 0x10i: a LONG256 column
            return {"type": "long256", "value": text[:-1]}
        return {"type": "integer", "value": int64(text[:-1], "integer")}
    if suffix in UNIT_BY_SUFFIX:
        value = int64(text[:-1], "timestamp")
        return {"type": "timestamp", "value": value, "unit": UNIT_BY_SUFFIX[suffix]}
    if suffix == "d":
        return text_decimal(text[:-1])
    if FLOAT_RE.fullmatch(text):
        return {"type": "float", "value": decimal_float(text)}
    if text in _NON_FINITE_SPELLINGS:
        return {"type": "float", "value": _NON_FINITE_SPELLINGS[text]}
    raise BadValue("unknown value form")


def designated_timestamp(text: str) -> dict:
    """The designated timestamp: digits with an optional n/t/m unit. A bare one is nanoseconds too,
    but only the written `n` makes QuestDB keep nanoseconds (a TIMESTAMP_NS column): "suffix" says so."""
    unit = UNIT_BY_SUFFIX.get(text[-1:])
    if unit is None:
        return {"value": int64(text, "timestamp"), "unit": "ns"}
    stamp = {"value": int64(text[:-1], "timestamp"), "unit": unit}
    if unit == "ns":
        stamp["suffix"] = "n"
    return stamp
