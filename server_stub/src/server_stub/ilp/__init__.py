"""InfluxDB Line Protocol (ILP) rows, as QuestDB's ILP-over-TCP server reads them, text and binary.

One module per job: grammar.py (the grammar, written once, and the patterns compiled from it),
values.py (typing a text value), binary.py (binary values: layouts, reading, writing), parse.py (a
line into a row), format.py (a row into a line), stream.py (a connection's bytes into lines and rows).
"""

from .errors import IlpLineError
from .format import encode_row, format_row
from .parse import field_texts, parse_line
from .stream import IlpStream

__all__ = ["IlpLineError", "IlpStream", "encode_row", "field_texts", "format_row", "parse_line"]
