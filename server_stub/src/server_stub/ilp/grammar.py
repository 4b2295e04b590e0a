'''ILP's grammar, written once: every reader of ILP (the fast path and the scanner of parse.py, the
line splitter of stream.py) compiles its patterns from the pieces below.

One row per line; the rules are QuestDB 9.3.4's as the differential run measured them (`nox -s diff`,
server_stub/PROTOCOL.md section 6)::

    row        = table {"," tag} [","] [" " field {"," field} [","] [" " timestamp]] {" "}
                 (trailing spaces only when there is no timestamp)
    tag        = name "=" name                  (tag value may be empty)
    field      = name "=" (value | "=" binary)  ("==": a binary value, fields only)

    name       = run of characters up to the first unescaped " ", "," or "=";
                 a backslash makes the next character literal ("\\ ", "\\,",
                 "\\=", "\\\\"); a name can never hold a line end character

    value      = integer | long256 | float | decimal | string | boolean | timestamp column
                 (a backslash escapes a character of an unquoted value too)
    integer    = ["-"] digits "i"                      64-bit signed; "_" between digits
    long256    = "0x" 1-64 hex digits "i"
    float      = ["+"|"-"] (digits ["." [digits]] | "." digits) [("e"|"E") ["+"|"-"] digits]
               | ["+"|"-"] ("NaN" | "Infinity")        (a bare "123" is a float; one that
                                                       overflows or underflows to zero
                                                       is an error)
    decimal    = (float form without the signs of NaN and Infinity) "d"     "NaNd" is NULL
    string     = '"' {character | "\\" character} '"' backslash makes the next
                                                       character literal, even a
                                                       line end; a raw CR belongs to
                                                       the string, a raw LF is an error
    boolean    = t | f | true | false                   in any mix of case
    column ts  = ["-"] digits ("t" | "n" | "m")         microseconds | nanoseconds | milliseconds
    timestamp  = ["-"] digits ["n" | "t" | "m"]         designated timestamp; bare means nanoseconds
    binary     = type byte, then its payload, laid out as binary.py says; it may hold any byte,
                 a line end too, and is followed by ",", " " or the line end

Lines end at LF or CR (outside strings and binary values), so CR LF gives an empty line in
between; empty lines are skipped.  A double quote opens a string, and a second "=" a binary value,
only right after the "=" of a field.
'''

from __future__ import annotations

import re

# The characters that matter, by the job they do.
LINE_END = "\n\r"
ESCAPE = "\\"
QUOTE = '"'
NAME_STOP = " ,="  # end a name: a table, a tag key or value, a field key
VALUE_STOP = " ,"  # end an unquoted field value
BINARY_MARK = "="  # a field value that starts with it is binary


def _escaped(chars: str) -> str:
    return "".join("\\" + c if c in "\\]^-[" else c for c in chars).replace("\n", "\\n").replace("\r", "\\r")


def none_of(*groups: str) -> str:
    return f"[^{_escaped(''.join(groups))}]"


def one_of(*groups: str) -> str:
    return f"[{_escaped(''.join(groups))}]"


# The productions, as regular-expression text. Written as "unrolled loops" (a run of plain
# characters, then any number of escape + run) so that the regex engine does not backtrack per
# character. Every piece is ASCII, so each compiles for text (parse.py) and for bytes (stream.py).
ESCAPED = re.escape(ESCAPE) + none_of(LINE_END)  # a backslash and the character it makes literal
NAME_RUN = none_of(NAME_STOP, ESCAPE, LINE_END) + "*"
NAME = f"(?={none_of(NAME_STOP, LINE_END)}){NAME_RUN}(?:{ESCAPED}{NAME_RUN})*"
TAG_VALUE = f"{NAME_RUN}(?:{ESCAPED}{NAME_RUN})*"
STRING_RUN = none_of(QUOTE, ESCAPE, "\n") + "*"  # a raw CR belongs to the string
STRING_BODY = f"{STRING_RUN}(?:{re.escape(ESCAPE)}.{STRING_RUN})*"  # DOTALL: an escaped line end too
RAW = none_of(VALUE_STOP, QUOTE, ESCAPE, LINE_END) + "+"
RAW_VALUE_RUN = none_of(VALUE_STOP, LINE_END) + "*"  # the scanner's unquoted value, escapes still in it

# The value forms. [0-9] rather than \d: \d would also accept non-ASCII digits such as "٣".
DIGITS = "[0-9]+"
FLOAT = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
UNDERSCORED = "[0-9]+(?:_[0-9]+)*"  # "_" between digits (1_000i)
LONG256 = "0x[0-9a-fA-F]{1,64}"
UNIT_SUFFIXES = "ntm"

FIELD = f'{NAME}=(?:"{STRING_BODY}"|{RAW})'
# A whole text line, its groups the sections: table, tags, fields, designated timestamp digits and unit.
LINE = rf"({NAME})((?:,{NAME}={TAG_VALUE})*) ({FIELD}(?:,{FIELD})*)(?: (-?{DIGITS})([{UNIT_SUFFIXES}]?)| *)"
TAG = rf",({NAME})=({TAG_VALUE})"
# One field, its value typed by which group matched: a string (with its opening quote, so that ""
# is told from no match), an integer, a timestamp column, a float; anything else (booleans, NaN,
# decimals, errors) is typed by values.py. (?![^, ]): a typed form must fill the whole value.
_TYPED_END = "(?![^, ])"
TYPED_FIELD = (f'({NAME})=(?:("{STRING_BODY})"|(-?{DIGITS})i{_TYPED_END}|(-?{DIGITS})([{UNIT_SUFFIXES}]){_TYPED_END}'
               f"|({FLOAT}){_TYPED_END}|({RAW}))")

# How far a line goes, for the line splitter (stream.py): in the table and tags only escapes matter,
# and the space that starts the fields; in the fields, escapes, a string (opened by '="') and a binary
# value (opened by "=="); in a string, escapes and the closing quote. (In a valid line a quote or "="
# right after "=" comes only after a field's name; elsewhere the line is malformed, which the parser
# says, wherever the splitter ended it.) LINE_EXTENT follows a line without binary values in one
# regex pass in C, with possessive runs that never backtrack: where it stops at an LF or CR (or a
# backslash and one), the line ends; where it stops before "==" or an unterminated string, the
# splitter's walker takes over, with these stops:
_HEAD_RUN = none_of(ESCAPE, " ", LINE_END) + "*+"
_FIELDS_RUN = none_of(ESCAPE, "=", LINE_END) + "*+"
_STRING = f'"{STRING_RUN}+(?:{re.escape(ESCAPE)}.{STRING_RUN}+)*+"'  # STRING_BODY, its runs possessive
LINE_EXTENT = (f"{_HEAD_RUN}(?:{ESCAPED}{_HEAD_RUN})*+"
               f"(?: {_FIELDS_RUN}(?:(?:{ESCAPED}|={_STRING}|=(?!{one_of(QUOTE, BINARY_MARK)})){_FIELDS_RUN})*+)?")
STOPS_IN_HEAD = one_of(ESCAPE, " ", LINE_END)
STOPS_IN_FIELDS = f"{one_of(ESCAPE, LINE_END)}|={one_of(QUOTE, BINARY_MARK)}"
STOPS_IN_STRING = one_of(ESCAPE, QUOTE, "\n")


def text_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


def bytes_pattern(pattern: str) -> re.Pattern[bytes]:
    return re.compile(pattern.encode("ascii"), re.DOTALL)
