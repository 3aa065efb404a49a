"""Turning FITS header and table values into the plain Python values a row holds."""

import datetime
import math
import re

import numpy as np


def shown(value):
    """A value read from a file as a message shows it: repr() of Python values, numbers as numpy 1
    printed them (numpy 2's repr of a scalar is np.float32(nan), not nan)."""
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def plain(value):
    """A FITS value as int, float, str, bool or None: no numpy scalars, no padding, no NaN.

    float32 values (obs-index columns are often 'E') become the float of their shortest decimal
    representation, so that 48.61021 is published as 48.61021 and not as 48.610210418701172.
    Empty strings and NaN are "no value" and become None. Binary-table text arrives as bytes: it is
    read as UTF-8 (which FITS tables can hold, unlike headers), else byte for byte as Latin-1, so that
    no character is lost or replaced.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = decode_text(value)
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, np.float32):
        value = float(str(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) else value
    # astropy's Undefined (a keyword without value) and anything else unknown: no value
    return None


def decode_text(data):
    """Bytes of a table cell as text: UTF-8 if they are valid UTF-8, else Latin-1 (one character a byte)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def control_character(text):
    """The first control character (Unicode category Cc: C0, DEL, C1) in a text, or None.

    None of them can be published: FITS forbids them in header strings, XML 1.0 (VOTable) cannot carry
    most of them and PostgreSQL text cannot hold NUL. Tabs and newlines are no exception: a one-line
    value with a newline in it is damaged, not formatted.
    """
    match = CONTROL_CHARACTER.search(text)
    return match.group() if match else None


# Unicode's category Cc is exactly these: C0 (U+0000-U+001F), DEL (U+007F), C1 (U+0080-U+009F).
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f]")


def control_character_problem(code):
    """(name, reason) of a control character given by its code point: why it cannot be published."""
    if code == 0:
        return "NUL (U+0000)", "PostgreSQL text cannot hold it"
    return f"control character U+{code:04X}", "XML 1.0 (VOTable) cannot carry it"


def as_float(value):
    """A header value as float, accepting numbers written as strings ('1835.')."""
    value = plain(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
        return None if math.isnan(value) else value
    return float(value)


def as_int(value):
    """A header value as int; floats and strings holding whole numbers are accepted (OBS_ID 23523.0)."""
    number = as_float(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


def as_str(value):
    """A header value as a stripped string (numbers are written as Python writes them)."""
    value = plain(value)
    return None if value is None else str(value)


def parse_datetime(value):
    """A FITS date ('2018-05-06T09:14:31', '2018-05-06', old 'dd/mm/yy') as a naive datetime, else None."""
    text = as_str(value)
    if text is None:
        return None
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.datetime.strptime(text, "%d/%m/%y")
    except ValueError:
        return None
