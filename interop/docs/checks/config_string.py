"""ILP/TCP config strings (`tcp::addr=localhost:9009;username=...;token=...;`) in any block, judged by each
official client's own rules (docs/config_rules.toml, loaded by data.config_rules).

- find_config_strings: every tcp::/tcps:: string of a block (and http::, https::, ws::, wss:: to classify
  them): string literals, f-strings, template literals, `+` concatenations, fmt.Sprintf, format!,
  String.format and str.format, the names they use resolved from the snippet's own assignments; what
  cannot be resolved stays a hole (Found.unresolved), never read as literal text. Other blocks (shell,
  text, no language) are read line by line, `$NAME` and `${NAME}` being holes.
- parse_config: one string by one client's rules: its keys, what it refuses (in its own words) and warnings.
- check_config_strings: the verdict of a block: FAILS TO RUN when the clients of its language refuse a
  string, REJECTED when token, token_x and token_y are not one key pair, else PASS with notes.
- literal_keys: the keys written in the strings (kid from username, d from token, x/y derived), so that the
  runner can add their auth lines to the stub's auth file for that run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from server_stub.authdb import parse_auth_db
from server_stub.keys import auth_line

from ..data import config_rules
from .p256 import b64url, public_point, scalar
from .result import CheckResult

SCHEMES = ("tcp", "tcps", "http", "https", "ws", "wss")
TCP_SCHEMES = ("tcp", "tcps")
HOLE = "\x00"  # Found.raw: an unresolved part is HOLE + its name + HOLE
_SCHEME = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(sorted(SCHEMES, key=len, reverse=True)) + r")::")
_LANGUAGE_ALIASES = {"js": "javascript", "jsx": "javascript", "mjs": "javascript", "node": "javascript",
                     "ts": "typescript", "tsx": "typescript", "py": "python", "python3": "python",
                     "golang": "go", "rs": "rust", "kt": "kotlin"}
_HASH_COMMENTS = {"python"}
_PROGRAM_LANGUAGES = {"python", "javascript", "typescript", "go", "java", "kotlin", "scala", "rust", "c", "cpp",
                      "csharp"}


@dataclass
class Found:
    """One config string of a block."""

    raw: str  # the string, each unresolved part as HOLE + name + HOLE
    line: int  # 1-based, in the block
    how: str  # how it was obtained: "string literal", "f-string", "concatenation", "fmt.Sprintf", "plain text", ...
    unresolved: list[str] = field(default_factory=list)  # what could not be resolved (names, calls)

    @property
    def text(self) -> str:
        """The string as shown in the evidence, an unresolved part as `{?name}`."""
        return re.sub(HOLE + "(.*?)" + HOLE, lambda m: "{?" + m.group(1) + "}", self.raw)

    @property
    def scheme(self) -> str:
        return self.raw.split("::", 1)[0]


@dataclass
class Parsed:
    """One string read by one client's rules."""

    client: str
    scheme: str
    pairs: list[tuple[str, str]]  # every key=value in order, ';;' undone; unresolved parts stay holes
    keys: dict[str, str]  # what the client uses: duplicates resolved as it resolves them
    problems: list[str] = field(default_factory=list)  # why it refuses the string, in its words where known
    warnings: list[str] = field(default_factory=list)  # accepted, but worth a docs maintainer's look
    unchecked: list[str] = field(default_factory=list)  # what could not be checked (unresolved parts)

    @property
    def accepted(self) -> bool:
        return not self.problems


# --- finding the strings ----------------------------------------------------------------------------------

@dataclass
class _Token:
    kind: str  # "str", "name", "num", "op"
    text: str  # the name, the operator, or the literal's source
    pos: int
    parts: list = field(default_factory=list)  # str: text pieces and ("expr", source) interpolations
    how: str = ""  # str: "string literal", "f-string", "template literal", "raw string"


def _line_of(code: str, pos: int) -> int:
    return code.count("\n", 0, pos) + 1


def _scan_quoted(code: str, start: int, quote: str, raw: bool) -> tuple[str, int]:
    """The body of a literal whose opening quote (1 or 3 characters) ends at `start`, and the end position."""
    i, body = start, []
    while i < len(code):
        if code.startswith(quote, i):
            return "".join(body), i + len(quote)
        char = code[i]
        if char == "\\" and not raw and i + 1 < len(code):
            nxt = code[i + 1]
            body.append({"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "`": "`", "$": "\\$",
                         "{": "\\{"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        if char == "\n" and len(quote) == 1 and quote != "`":
            break  # an unterminated one-line literal: stop at the line end
        body.append(char)
        i += 1
    return "".join(body), i


def _interpolations(body: str, opener: str) -> list:
    """Pieces of a literal: text, and ("expr", source) for `{...}` (opener "{") or `${...}` (opener "${")."""
    parts: list = []
    text, i = [], 0
    while i < len(body):
        if opener == "{" and body.startswith(("{{", "}}"), i):
            text.append(body[i])
            i += 2
            continue
        if body.startswith(opener, i) and not (i and body[i - 1] == "\\"):
            depth, j = 1, i + len(opener)
            while j < len(body) and depth:
                depth += {"{": 1, "}": -1}.get(body[j], 0)
                j += 1
            parts.append("".join(text))
            text = []
            expr = body[i + len(opener):j - 1]
            parts.append(("expr", re.split(r"[!:](?![:=])", expr, maxsplit=1)[0].strip() if opener == "{" else expr))
            i = j
            continue
        text.append(body[i])
        i += 1
    parts.append("".join(text).replace("\\$", "$").replace("\\{", "{"))
    return [part for part in parts if part != ""]


def _tokens(code: str, language: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(code)
    while i < n:
        char = code[i]
        if char.isspace():
            i += 1
            continue
        if language in _HASH_COMMENTS and char == "#":
            end = code.find("\n", i)
            i = n if end < 0 else end
            continue
        if language not in _HASH_COMMENTS and code.startswith("//", i):
            end = code.find("\n", i)
            i = n if end < 0 else end
            continue
        if language not in _HASH_COMMENTS and code.startswith("/*", i):
            end = code.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        prefix = re.match(r"[rRbBfFuU]{1,2}(?=['\"])", code[i:]) if language == "python" else None
        if language == "rust":
            prefix = re.match(r"b?r(#*)\"", code[i:])
            if prefix:
                hashes = prefix.group(1)
                body, end = _scan_quoted(code, i + len(prefix.group(0)), '"' + hashes, raw=True)
                tokens.append(_Token("str", code[i:end], i, [body], "raw string"))
                i = end
                continue
            if char == "'":
                rune = re.match(r"'(\\.[^']*|[^\\'])'", code[i:])
                i += len(rune.group(0)) if rune else 1
                continue
        if prefix or char in "\"'`":
            letters = prefix.group(0).lower() if prefix else ""
            start = i + len(letters)
            quote = code[start]
            if language in ("python", "java", "kotlin", "scala") and code.startswith(quote * 3, start):
                quote *= 3
            if language == "go" and quote == "`":
                body, end = _scan_quoted(code, start + 1, "`", raw=True)
                tokens.append(_Token("str", code[i:end], i, [body], "raw string"))
            else:
                body, end = _scan_quoted(code, start + len(quote), quote, raw="r" in letters)
                if "f" in letters:
                    tokens.append(_Token("str", code[i:end], i, _interpolations(body, "{"), "f-string"))
                elif quote == "`" and language in ("javascript", "typescript"):
                    tokens.append(_Token("str", code[i:end], i, _interpolations(body, "${"), "template literal"))
                else:
                    tokens.append(_Token("str", code[i:end], i, [body], "string literal"))
            i = end
            continue
        number = re.match(r"\d[\w.]*", code[i:])
        if number:
            tokens.append(_Token("num", number.group(0), i))
            i += len(number.group(0))
            continue
        word = re.match(r"[A-Za-z_$][\w$]*", code[i:])
        if word:
            tokens.append(_Token("name", word.group(0), i))
            i += len(word.group(0))
            continue
        op = re.match(r":=|==|!=|=>|::|\+=|[^\w\s]", code[i:])
        tokens.append(_Token("op", op.group(0), i))
        i += len(op.group(0))
    return tokens


class _Value:
    """A string being built: its pieces (text, or a hole's name) and how it was obtained."""

    def __init__(self, pieces: list | None = None, how: list[str] | None = None, literal: bool = False):
        self.pieces = pieces or []  # str, or ("hole", name)
        self.how = how or []
        self.literal = literal  # True when a string literal of this expression holds the scheme

    def raw(self) -> str:
        return "".join(p if isinstance(p, str) else HOLE + p[1] + HOLE for p in self.pieces)

    def holes(self) -> list[str]:
        return [p[1] for p in self.pieces if not isinstance(p, str)]

    def extend(self, other: _Value) -> None:
        self.pieces += other.pieces
        self.how += [h for h in other.how if h not in self.how]
        self.literal = self.literal or other.literal


_TYPED = ("python", "rust", "typescript", "kotlin")  # `name: Type = value` declarations


class _Reader:
    """Evaluates the string expressions of a snippet over its tokens, with its assignments as names."""

    def __init__(self, code: str, language: str):
        self.code = code
        self.language = language
        self.tokens = _tokens(code, language)
        self.assignments: dict[str, list[tuple[int, _Value]]] = {}
        self._collect_assignments()

    def _collect_assignments(self) -> None:
        toks = self.tokens
        for i, tok in enumerate(toks):
            if tok.kind != "name" or (i and toks[i - 1].text in (".", "->")):
                continue
            if i and toks[i - 1].text == ":" and self.language in _TYPED:  # `x: string = ...`: a type, not a name
                continue
            j = i + 1
            if j < len(toks) and toks[j].text == ":" and self.language in _TYPED:
                while j < len(toks) and toks[j].text not in ("=", ";", "\n") and toks[j].pos - tok.pos < 80:
                    j += 1
            if j < len(toks) and toks[j].text in ("=", ":="):
                value, _ = self.expression(j + 1, {tok.text})
                if value is not None:
                    self.assignments.setdefault(tok.text, []).append((tok.pos, value))

    def name(self, name: str, pos: int, seen: set) -> _Value:
        earlier = [value for at, value in self.assignments.get(name, []) if at < pos]
        if earlier and name not in seen:
            value = earlier[-1]
            return _Value(list(value.pieces), ["names from the snippet's assignments"])
        return _Value([("hole", name)])

    def expression(self, i: int, seen: set) -> tuple[_Value | None, int]:
        """The string expression starting at token i (a `+` chain of terms), and the token after it."""
        value, i = self.term(i, seen)
        if value is None:
            return None, i
        while i < len(self.tokens) and (self.tokens[i].text == "+" or self.adjacent(i)):
            right, j = self.term(i if self.adjacent(i) else i + 1, seen)
            if right is None:
                break
            value.extend(right)
            if "concatenation" not in value.how:
                value.how.append("concatenation")
            i = j
        return value, i

    def adjacent(self, i: int) -> bool:
        """Python's and C's adjacent literals ("a" "b") are one string."""
        toks = self.tokens
        return (self.language in ("python", "c", "cpp") and toks[i].kind == "str" and i > 0
                and toks[i - 1].kind == "str")

    def term(self, i: int, seen: set) -> tuple[_Value | None, int]:
        toks = self.tokens
        if i >= len(toks):
            return None, i
        tok = toks[i]
        text_at = [t.text for t in toks[i:i + 4]]
        if tok.kind == "str":
            value = self.literal(tok, seen)
            if text_at[1:3] == [".", "format"] and i + 3 < len(toks) and toks[i + 3].text == "(":
                args, kwargs, end = self.arguments(i + 4, seen)
                return self.braces(value, args, kwargs, "str.format", seen, tok.pos), end
            return value, i + 1
        if tok.kind == "num":  # a number argument of a format call
            return _Value([re.sub(r"(?<=\d)[_a-zA-Z]+$", "", tok.text)]), i + 1
        if tok.kind != "name":
            return None, i
        if text_at[:3] in (["fmt", ".", "Sprintf"], ["String", ".", "format"]) and text_at[3:4] == ["("]:
            return self.printf(i + 4, "fmt.Sprintf" if tok.text == "fmt" else "String.format", seen)
        if text_at[:3] == ["concat", "!", "("]:  # Rust's concat! of literals, inside format! or alone
            args, _kwargs, end = self.arguments(i + 3, seen)
            joined = _Value(how=["concat!"], literal=True)
            for arg in args:
                joined.extend(arg if arg is not None else _Value([("hole", "concat!(...)")]))
            return joined, end
        if text_at[:3] == ["format", "!", "("]:
            args, kwargs, end = self.arguments(i + 3, seen)
            if not args or args[0] is None:
                return _Value([("hole", "format!(...)")]), end
            return self.braces(args[0], args[1:], kwargs, "format!", seen, tok.pos), end
        # a name, maybe dotted (os.environ, process.env.X): a call or an attribute is a hole
        j, dotted = i + 1, tok.text
        while j + 1 < len(toks) and toks[j].text == "." and toks[j + 1].kind == "name":
            dotted += "." + toks[j + 1].text
            j += 2
        if j < len(toks) and toks[j].text in ("(", "["):
            end = self.skip_group(j)
            return _Value([("hole", self.code[tok.pos:toks[end - 1].pos + 1])]), end
        if "." in dotted:
            return _Value([("hole", dotted)]), j
        return self.name(tok.text, tok.pos, seen), j

    def literal(self, tok: _Token, seen: set) -> _Value:
        value = _Value(how=[tok.how])
        for part in tok.parts:
            if isinstance(part, str):
                value.pieces.append(part)
            else:
                expr = part[1]
                if re.fullmatch(r"[A-Za-z_]\w*", expr):
                    value.extend(self.name(expr, tok.pos, seen))
                else:
                    value.pieces.append(("hole", expr))
        value.literal = bool(_SCHEME.search("".join(p for p in tok.parts if isinstance(p, str))))
        return value

    def skip_group(self, j: int) -> int:
        depth = 0
        while j < len(self.tokens):
            depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(self.tokens[j].text, 0)
            j += 1
            if depth == 0:
                break
        return j

    def arguments(self, i: int, seen: set) -> tuple[list, dict, int]:
        """The arguments of a call whose '(' is just before token i: positional values (None when not a
        string expression), named ones (`name = expr`), and the token after ')'."""
        args, kwargs = [], {}
        toks = self.tokens
        while i < len(toks) and toks[i].text != ")":
            name = None
            if toks[i].kind == "name" and i + 1 < len(toks) and toks[i + 1].text == "=":
                name, i = toks[i].text, i + 2
            start = i
            value, i = self.expression(i, seen)
            depth = 0
            while i < len(toks) and not (depth == 0 and toks[i].text in (",", ")")):
                depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(toks[i].text, 0)
                i += 1
                value = None  # more than a string expression: an argument we cannot evaluate
            if value is None and start < len(toks):
                end_pos = toks[i].pos if i < len(toks) else len(self.code)
                value = _Value([("hole", self.code[toks[start].pos:end_pos].strip())])
            if name:
                kwargs[name] = value
            else:
                args.append(value)
            if i < len(toks) and toks[i].text == ",":
                i += 1
        return args, kwargs, i + 1

    def printf(self, i: int, how: str, seen: set) -> tuple[_Value, int]:
        args, _, end = self.arguments(i, seen)
        if not args or args[0] is None:
            return _Value([("hole", how + "(...)")]), end
        pattern, rest = args[0], list(args[1:])
        value = _Value(how=[*pattern.how, how], literal=pattern.literal)
        for piece in pattern.pieces:
            if not isinstance(piece, str):
                value.pieces.append(piece)
                continue
            last = 0
            for match in re.finditer(r"%%|%(?:(\d+)\$)?[-+ #0]*\d*(?:\.\d+)?[svdqxfbt]", piece):
                value.pieces.append(piece[last:match.start()])
                last = match.end()
                if match.group(0) == "%%":
                    value.pieces.append("%")
                    continue
                index = int(match.group(1)) - 1 if match.group(1) else None
                arg = (rest[index] if index is not None and index < len(rest) else rest.pop(0) if rest
                       else _Value([("hole", "missing argument")]))
                value.pieces += arg.pieces
            value.pieces.append(piece[last:])
        return value, end

    def braces(self, pattern: _Value, args: list, kwargs: dict, how: str, seen: set, pos: int) -> _Value:
        value = _Value(how=[*pattern.how, how], literal=pattern.literal)
        position = 0
        for piece in pattern.pieces:
            if not isinstance(piece, str):
                value.pieces.append(piece)
                continue
            last = 0
            for match in re.finditer(r"\{\{|\}\}|\{([^{}:]*)(?::[^{}]*)?\}", piece):
                value.pieces.append(piece[last:match.start()])
                last = match.end()
                if match.group(0) in ("{{", "}}"):
                    value.pieces.append(match.group(0)[0])
                    continue
                ref = match.group(1).strip()
                if ref == "":
                    arg = args[position] if position < len(args) else None
                    position += 1
                elif ref.isdigit():
                    arg = args[int(ref)] if int(ref) < len(args) else None
                elif ref in kwargs:
                    arg = kwargs[ref]
                else:  # format!'s captured identifiers
                    arg = self.name(ref, pos, seen)
                value.pieces += (arg or _Value([("hole", ref or "missing argument")])).pieces
            value.pieces.append(piece[last:])
        return value


def _normalise(language: str | None) -> str:
    language = (language or "").strip().lower()
    return _LANGUAGE_ALIASES.get(language, language)


def _plain_text(code: str) -> list[Found]:
    found = []
    for number, line in enumerate(code.splitlines(), 1):
        for match in re.finditer(_SCHEME.pattern + r"[A-Za-z_$][^\s\"'`]*", line):
            text = match.group(0)
            holes = re.findall(r"\$\{(\w+)\}|\$(\w+)", text)
            raw = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: HOLE + "$" + (m.group(1) or m.group(2)) + HOLE, text)
            found.append(Found(raw, number, "plain text", ["$" + (a or b) for a, b in holes]))
    return found


def _config_start(raw: str) -> re.Match | None:
    """The first scheme of `raw` that starts a config string: a key (or an unresolved part) right after its
    '::'. A scheme alone ("tcp::", a prefix test) or in prose ("tcp:: (no TLS)") is not one."""
    for match in _SCHEME.finditer(raw):
        if re.match(r"[A-Za-z_]|" + HOLE, raw[match.end():]):
            return match
    return None


def _config_extent(raw: str, start: int) -> str:
    """Where the config string ends: at the line's end when the value starts with it; inside a longer
    text (a docstring, a sentence), at the first space or quote."""
    stops = "\n" if start == 0 else " \t\r\n\"'`"
    i, in_hole = start, False
    while i < len(raw):
        if raw[i] == HOLE:
            in_hole = not in_hole
        elif not in_hole and raw[i] in stops:
            break
        i += 1
    return raw[start:i]


def _ternary_branch(toks: list[_Token], start: int, end: int) -> bool:
    """True when tokens start..end are a branch of `c ? a : b` or Python's `a if c else b`: a prefix that
    the snippet completes elsewhere (`${transport}addr=...`)."""
    before = toks[start - 1].text if start else ""
    after = toks[end].text if end < len(toks) else ""
    if before in ("?", "else") or after == "if":
        return True
    if before == ":":  # `c ? a : <here>`, not an object's or a dict's `key: <here>`
        for tok in reversed(toks[max(0, start - 40):start - 1]):
            if tok.text == "?":
                return True
            if tok.text in (";", "{", "}", "=", "(", ",", ":"):
                return False
    return after == ":" and before not in ("case", "{", ",")


def find_config_strings(code: str, language: str) -> list[Found]:
    """Every tcp::, tcps::, http::, https::, ws:: and wss:: string of a block, in order."""
    language = _normalise(language)
    if language not in _PROGRAM_LANGUAGES:
        return _plain_text(code)
    reader = _Reader(code, language)
    found: list[Found] = []
    toks, i = reader.tokens, 0
    while i < len(toks):
        tok = toks[i]
        starts = tok.kind in ("str", "name") and not (i and toks[i - 1].text in ("+", ".", "%"))
        if starts:
            value, end = reader.expression(i, set())
            if value is not None and value.literal and end > i:
                raw = value.raw()
                match = _config_start(raw)
                if match:
                    first = next(t for t in toks[i:end] if t.kind == "str" and _SCHEME.search(t.text))
                    how = ", ".join(dict.fromkeys(value.how))
                    text = _config_extent(raw, match.start())
                    if _ternary_branch(toks, i, end):
                        text += HOLE + "the rest, joined elsewhere (one branch of a conditional)" + HOLE
                        how += ", a conditional's branch"
                    holes = re.findall(HOLE + "(.*?)" + HOLE, text)
                    found.append(Found(text, _line_of(code, first.pos), how, holes))
                    i = end
                    continue
        i += 1
    return found


# --- parsing by a client's rules ----------------------------------------------------------------------------

def _say(template: str, **values) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), m.group(0))), template)


def _segments(body: str, offset: int) -> list[tuple[str | None, str, int, str]]:
    """(key or None when there is no '=', value, position of the key, the segment's text) for each
    ';'-separated segment; ';;' in a value is one ';'."""
    def hole_end(at: int) -> int:  # an unresolved part is opaque: its ';' and '=' are not the string's
        end = body.find(HOLE, at + 1)
        return len(body) if end < 0 else end + 1

    out, i = [], 0
    while i < len(body):
        start = i
        while i < len(body) and body[i] not in "=;":
            i = hole_end(i) if body[i] == HOLE else i + 1
        key = body[start:i]
        if i == len(body) or body[i] == ";":
            out.append((None, "", offset + start, key))
            i += 1
            continue
        i += 1
        value = []
        while i < len(body):
            if body[i] == HOLE:
                value.append(body[i:hole_end(i)])
                i = hole_end(i)
            elif body.startswith(";;", i):
                value.append(";")
                i += 2
            elif body[i] == ";":
                i += 1
                break
            else:
                value.append(body[i])
                i += 1
        out.append((key, "".join(value), offset + start, body[start:i]))
    return out


def _all_keys() -> set[str]:
    keys: set[str] = set()
    for rules in config_rules().values():
        keys |= set(rules["keys"]) | set(rules["tls_keys"]) | set(rules["tcp_refused"])
    return keys


def parse_config(text: str, client: str) -> Parsed:
    """`text` as `client` (a name of config_rules.toml: python, rust, node, go, java) reads it. Parts written
    HOLE + name + HOLE (Found.raw) are unresolved: a value holding one is not checked, a key holding one
    leaves its segment unchecked."""
    rules = config_rules()[client]
    words = rules["messages"]
    scheme, sep, body = text.partition("::")
    parsed = Parsed(client, scheme, [], {})
    if not sep:
        parsed.problems.append(f"no '::' after the scheme: {_say(words['scheme'], scheme=text)}")
        return parsed
    if rules["scheme_case"] == "insensitive" and scheme.lower() in rules["schemes"]:
        scheme = parsed.scheme = scheme.lower()
    if scheme not in rules["schemes"]:
        parsed.problems.append(f"scheme {scheme!r}: {_say(words['scheme'], scheme=scheme)}")
        return parsed
    known_elsewhere = _all_keys()
    seen: dict[str, int] = {}
    for key, value, position, segment in _segments(body, len(scheme) + 2):
        if key is None:
            if HOLE in segment:
                parsed.unchecked.append(f"a segment made of an unresolved part ({segment!r})")
            elif segment:
                parsed.problems.append(f"{segment!r} has no '=': {_say(words['missing_equals'], segment=segment, position=position + len(segment))}")
            continue
        if HOLE in key:
            parsed.unchecked.append(f"a key made of an unresolved part ({key!r})")
            continue
        parsed.pairs.append((key, value))
        resolved = HOLE not in value
        if rules["key_syntax"] == "word" and not re.fullmatch(r"[A-Za-z0-9_]+", key):
            parsed.problems.append(f"key {key!r} is not [A-Za-z0-9_]+: {_say(words['key_syntax'], key=key, position=position)}")
            continue
        if key in seen and key not in rules["duplicate_allowed"]:
            if rules["duplicate_key"] == "refused" or key in rules["duplicate_refused"]:
                message = words["duplicate_key"] or "{key} was already configured"
                parsed.problems.append(f"{key} given twice: {_say(message, key=key, position=position)}")
            else:
                parsed.warnings.append(f"{key} given twice: {rules['label']} uses the later value")
        seen[key] = position
        parsed.keys[key] = value
        if resolved and value == "" and rules["empty_value"] == "refused":
            parsed.problems.append(f"{key} is empty: {_say(words['empty_value'], key=key)}")
        if resolved and rules["control_chars"] == "refused" and re.search(r"[\x00-\x1f\x7f-\x9f]", value):
            parsed.problems.append(f"{key} holds a control character: {_say(words['control_char'], key=key, value=value, position=position)}")
        if resolved and value != "" and key in rules["value_choices"] and value not in rules["value_choices"][key]["values"]:
            choice = rules["value_choices"][key]
            parsed.problems.append(f"{key}={value} is not one of {', '.join(choice['values'])}: "
                                   + _say(choice["message"], key=key, value=value))
        if resolved and value != "" and key in rules["integer_keys"]:
            integer = rules["integer_keys"][key]
            number = value.strip() if rules["integer_spaces"] == "allowed" else value
            if not re.fullmatch(r"[+-]?\d+", number) and value not in integer["words"]:
                parsed.problems.append(f"{key}={value} is not an integer: " + _say(integer["message"], key=key, value=value))
        refused_value = rules["tcp_refused_values"].get(f"{key}={value}",
                                                        rules["tcp_refused_values"].get(f"{scheme}::{key}={value}"))
        if refused_value and scheme in TCP_SCHEMES:
            parsed.problems.append(f"{key}={value} over {scheme}::: {refused_value}")
        if key in rules["tls_keys"]:
            if scheme == "tcp":
                parsed.problems.append(f"{key} over tcp:: (no TLS): {_say(words['tls_on_tcp'], key=key)}")
        elif key in rules["tcp_refused"] and scheme in TCP_SCHEMES and f"{key}={value}" not in rules["tcp_allowed_values"]:
            parsed.problems.append(f"{key} is not for ILP/TCP: {rules['tcp_refused'][key]}")
        elif key not in rules["keys"] and key not in rules["tcp_refused"]:
            if rules["unknown_key"] == "refused":
                parsed.problems.append(f"unknown key {key!r}: {_say(words['unknown_key'], key=key)}")
            else:
                parsed.warnings.append(f"unknown key {key!r}: {rules['label']} ignores it")
        elif key in rules["ignored_keys"]:
            parsed.warnings.append(f"{key} is accepted but not used by {rules['label']}")
        inner = re.match(r"([A-Za-z_]\w*)=", value) if resolved else None
        if inner and inner.group(1) in known_elsewhere | {key}:
            again = "its own key" if inner.group(1) == key else f"the key {inner.group(1)!r}"
            parsed.warnings.append(f"the value of {key} starts with {inner.group(0)!r}: {again} repeated inside the value")
        if resolved and value != value.strip():
            parsed.warnings.append(f"the value of {key} has leading or trailing spaces, kept as part of it")
    if parsed.unchecked:  # an unresolved part in a key's place may hold any key: no key is missing for sure
        parsed.unchecked.append("which keys are missing (an unresolved part may hold them)")
        return parsed
    if (rules["addr_required"] and "addr" not in parsed.keys) or body == "":  # every client refuses "tcp::"
        parsed.problems.append(f"no addr: {words['missing_addr']}")
    for key, needed in rules["requires"].items():
        if key in parsed.keys and needed not in parsed.keys:
            parsed.problems.append(f"{key} without {needed}: {_say(words['requires'], key=key, other=needed)}")
    if scheme in TCP_SCHEMES:
        present = set(parsed.keys)
        if present & set(rules["auth_trigger"]):
            missing = [k for k in rules["auth_required"] if k not in present]
            if missing:
                parsed.problems.append(f"authentication without {', '.join(missing)}: {words['auth']}")
    return parsed


# --- the key pair -----------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"<[^>]*>|\{[^}]*\}|\.\.\.|^[A-Z][A-Z0-9_]*$|^[xX]+$")


def is_placeholder(value: str) -> bool:
    """True for a value a reader must replace: `<token>`, `{token}`, `...`, `YOUR_TOKEN`, `xxx`."""
    return bool(_PLACEHOLDER.search(value)) and not (len(value) == 43 and re.fullmatch(r"[\w-]+", value))


def _last_values(found: Found) -> dict[str, str]:
    """The string's resolved values, the later one winning (the clients that allow duplicates keep it)."""
    scheme, _, body = found.raw.partition("::")
    values = {}
    for key, value, _, _ in _segments(body, len(scheme) + 2):
        if key is not None and HOLE not in key:
            values[key] = value
    return {key: value for key, value in values.items() if HOLE not in value}


def _key_pair_problem(values: dict[str, str]) -> tuple[str | None, str | None]:
    """(why the key pair is inconsistent, or None; why the token cannot be a key, or None)."""
    if "token" not in values or is_placeholder(values["token"]):
        return None, None
    d = scalar(values["token"])
    if d is None:
        return None, ("token is not the base64url of a P-256 private scalar (32 bytes, 0 < d < n): "
                      "no client can sign with it")
    x, y = public_point(d)
    wrong, unreadable = [], []
    for name, expected in (("token_x", x), ("token_y", y)):
        if name in values and not is_placeholder(values[name]):
            given = scalar(values[name]) if values[name] else None
            if given is None:
                unreadable.append(f"{name} {values[name]!r} is not the base64url of a 32-byte coordinate")
            elif given != expected:
                wrong.append(f"{name} is {values[name]!r}, the public key of token has {name[-1]}={b64url(expected)}")
    if unreadable:  # measured: questdb (Python) 6.0.0 and questdb-rs 7.2.1 stop at connect, "Could not decode public key"
        return None, ("; ".join(unreadable) + ": the clients that read token_x/token_y refuse to connect with it "
                      "(Python and Rust: 'Misconfigured ILP authentication keys. Could not decode public key')")
    if wrong:
        return ("token_x/token_y are not the public key of token: " + "; ".join(wrong)
                + " (a server given the auth line of token_x/token_y rejects every signature made with token)"), None
    return None, None


def assigned_string(code: str, language: str, name: str, before: int) -> str | None:
    """The string the snippet last assigns to ``name`` before offset ``before``, as its expressions read
    (typed declarations, concatenations, format calls included); None when it is not wholly known."""
    value = _Reader(code, language).name(name, before, set())
    return None if value.holes() else value.raw()


# --- the verdict ------------------------------------------------------------------------------------------

def clients_for(language: str) -> list[str]:
    """The clients of config_rules.toml whose snippets are written in `language`; every client when none is."""
    language = _normalise(language)
    rules = config_rules()
    named = [name for name, client in rules.items() if language in client["languages"]]
    return named or list(rules)


def check_config_strings(code: str, language: str, test_key: dict) -> CheckResult | None:
    """The verdict on the block's tcp::/tcps:: strings (None when it has none): FAILS TO RUN when the
    clients of its language refuse one (a block without a client language: when every client does),
    REJECTED when token, token_x and token_y are not one key pair, else PASS; notes for the warnings."""
    all_found = find_config_strings(code, language)
    found = [f for f in all_found if f.scheme in TCP_SCHEMES]
    if not found:
        return None
    clients = clients_for(language)
    bound = any(_normalise(language) in c["languages"] for c in config_rules().values())
    worst, lines, notes = "PASS", [], []
    rank = {"PASS": 0, "REJECTED": 1, "FAILS TO RUN": 2}
    summaries = []
    for item in found:
        parsed = {name: parse_config(item.raw, name) for name in clients}
        refusing = [name for name in clients if not parsed[name].accepted]
        accepting = [name for name in clients if parsed[name].accepted]
        pair, bad_token = _key_pair_problem(_last_values(item))
        if not accepting:
            verdict = "FAILS TO RUN"
            summary = f"line {item.line}: refused by {', '.join(refusing)}: {parsed[refusing[0]].problems[0]}"
        elif bad_token:
            verdict, summary = "FAILS TO RUN", f"line {item.line}: {bad_token}"
        elif pair:
            verdict, summary = "REJECTED", f"line {item.line}: {pair}"
        else:
            verdict = "PASS"
            summary = f"line {item.line}: accepted by {', '.join(accepting)}"
            if refusing:
                summary += f"; refused by {', '.join(refusing)}"
        worst = max(worst, verdict, key=rank.get)
        summaries.append(summary)
        lines.append(f"line {item.line} ({item.how}): {item.text}")
        if item.unresolved:
            lines.append(f"  unresolved (not checked as text): {', '.join(item.unresolved)}")
            notes.append(f"line {item.line}: {', '.join(item.unresolved)} could not be resolved from the snippet")
        for name in clients:
            result = parsed[name]
            label = config_rules()[name]["label"]
            lines.append(f"  {name} ({label}): {'accepts' if result.accepted else 'refuses'}")
            lines += [f"    refused: {p}" for p in result.problems]
            lines += [f"    warning: {w}" for w in result.warnings]
            lines += [f"    not checked: {u}" for u in result.unchecked]
            if result.accepted or bound:
                notes += [f"line {item.line}: {name}: {w}" for w in result.warnings]
        if not bound and refusing and accepting:
            notes.append(f"line {item.line}: refused by {', '.join(refusing)} (accepted by {', '.join(accepting)})")
        if "token" in _last_values(item) and is_placeholder(_last_values(item)["token"]):
            notes.append(f"line {item.line}: token is a placeholder ({_last_values(item)['token']!r}): no key to check")
        if pair:
            lines.append(f"  key pair: {pair}")
        elif "token" in _last_values(item) and not bad_token:
            lines.append("  key pair: token_x/token_y match token" if "token_x" in _last_values(item)
                         else "  key pair: token is a P-256 key (no token_x/token_y to compare)")
        values = _last_values(item)
        if pair is None and bad_token is None and "token" in values and values.get("username") == test_key.get("kid") \
                and scalar(values["token"]) not in (None, scalar(test_key.get("d", ""))):
            notes.append(f"line {item.line}: username {values['username']!r} is the test key's kid, but token is "
                         "another key: a server with the test auth file rejects it")
    ignored = [f for f in all_found if f.scheme not in TCP_SCHEMES]
    if ignored:
        lines.append(f"not ILP/TCP (not checked): {', '.join(f'line {f.line} {f.scheme}::' for f in ignored)}")
    head = f"{len(found)} ILP/TCP config string(s), read by the rules of {', '.join(clients)}: " + "; ".join(summaries)
    return CheckResult(worst, "\n".join([head, *lines]), list(dict.fromkeys(notes)))


def literal_keys(code: str, language: str, test_key: dict) -> list[dict]:
    """The P-256 keys written in the block's tcp::/tcps:: strings, as JWKs (kid from username, d from token,
    x and y derived from d), other than the test key: the runner adds their auth lines
    (server_stub.keys.auth_line) to the stub's auth file for the run. A string whose username or token is
    unresolved, or whose token is not a key, gives none; a key whose kid is the test key's kid is left out
    (one kid has one line; check_config_strings notes it); each kid once."""
    keys: dict[str, dict] = {}
    for item in find_config_strings(code, language):
        if item.scheme not in TCP_SCHEMES:
            continue
        values = _last_values(item)
        kid, token = values.get("username"), values.get("token")
        d = scalar(token) if token else None
        if not kid or d is None or kid == test_key.get("kid") or re.search(r"\s", kid) or kid.startswith("#"):
            continue
        x, y = public_point(d)
        keys.setdefault(kid, {"kty": "EC", "crv": "P-256", "kid": kid, "d": b64url(d), "x": b64url(x),
                              "y": b64url(y)})
    return list(keys.values())


def literal_auth_db(code: str, language: str, test_key: dict) -> dict:
    """literal_keys as the stub's key table ({kid: authdb key}, what server_stub's parse_auth_db gives for
    their auth lines): what RunningStub.extra_keys takes for the run of the block."""
    lines = [auth_line(jwk) for jwk in literal_keys(code, language, test_key)]
    return parse_auth_db("\n".join(lines) + "\n", "<the block's config strings>") if lines else {}
