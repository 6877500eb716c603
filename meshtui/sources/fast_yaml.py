"""rapidyaml for the documents whose meaning it shares with PyYAML, which reads the rest.

rapidyaml (ryml, C++, YAML 1.2) parses a document and writes it out as JSON, which orjson
reads: with the checks below, about a quarter of the time PyYAML's C loader takes to build
the same values (benchmarks/stages.py). Kubernetes
reads YAML 1.1, as PyYAML's SafeLoader does (yaml_loader.py), and the two schemas part only on
plain scalars (`on`, `0755`, `~`, `1:30`, `1e3`), anchors, tags, merge keys, directives, some
escapes and characters, duplicate keys and limits. `unsupported` finds any of these in a
document's bytes (erring towards finding one where there is none: that costs only time), and
such a document goes to PyYAML, which gives its meaning or its error with a line.
"""

from __future__ import annotations

import ctypes
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

try:
    import orjson
    import ryml
except ImportError:  # pragma: no cover - both are dependencies; PyYAML reads everything then
    ryml = None

# Where the two readings can part, found in the document's bytes: what starts after white
# space or a flow indicator (the document is searched with a newline before it), or anywhere.
# Each is looked for only when a byte it needs is present: most documents have none.
_AT = rb"[\s,\[{]"
_RESERVED = re.compile(rb"(?:\n[ \t]*|:[ \t]+|\s[-?][ \t]+|[\[{,][ \t]*)[%@`]")
_NEVER = re.compile(rb"")  # the bytes alone are the reason
_BYTES: tuple[tuple[bytes, re.Pattern[bytes], str], ...] = (
    (b"&", re.compile(_AT + rb"&"), "an anchor"),
    (b"*", re.compile(_AT + rb"\*"), "an alias"),
    (b"!", re.compile(_AT + rb"!"), "an explicit tag"),
    (b"...", re.compile(rb"\s\.\.\."), "a document end marker (or three dots after a space)"),
    (b"---", re.compile(rb"\n[ \t]+---"), "an indented document marker"),
    # `%`, `@` and a backquote cannot start a plain scalar (`%` starts a directive).
    (b"%", _RESERVED, "a directive or reserved indicator"),
    (b"@", _RESERVED, "a reserved indicator"),
    (b"`", _RESERVED, "a reserved indicator"),
    # Block scalars: their headers and indentation are where the two parsers' edge cases lie.
    (b"|", re.compile(_AT + rb"\|"), "a block scalar"),
    (b">", re.compile(_AT + rb">"), "a block scalar"),
    (b"?", re.compile(_AT + rb"\?"), "an explicit key"),
    (b" :", re.compile(_AT + rb":"), "an empty key or a scalar starting with a colon"),
    (b"\n:", re.compile(_AT + rb":"), "an empty key or a scalar starting with a colon"),
    (b'":', re.compile(rb"[\"']:[^\s]"), "a value right after a quoted key's colon"),
    (b"':", re.compile(rb"[\"']:[^\s]"), "a value right after a quoted key's colon"),
    # A flow indicator that starts a scalar (PyYAML refuses it outside a flow collection).
    (b" ]", re.compile(rb"\s[\]},]"), "a flow indicator after a space"),
    (b" }", re.compile(rb"\s[\]},]"), "a flow indicator after a space"),
    (b" ,", re.compile(rb"\s[\]},]"), "a flow indicator after a space"),
    (b"\n]", re.compile(rb"\s[\]},]"), "a flow indicator after a space"),
    (b"\n}", re.compile(rb"\s[\]},]"), "a flow indicator after a space"),
    (b"\n,", re.compile(rb"\s[\]},]"), "a flow indicator after a space"),
    # libyaml refuses a colon beside a flow indicator (`[a:, b]`, `{:: 1}`); ryml reads it.
    (b":,", _NEVER, "a colon beside a flow indicator"),
    (b":[", _NEVER, "a colon beside a flow indicator"),
    (b":]", _NEVER, "a colon beside a flow indicator"),
    (b":{", _NEVER, "a colon beside a flow indicator"),
    (b":}", _NEVER, "a colon beside a flow indicator"),
    (b":?", _NEVER, "a colon beside a flow indicator"),
    (b"[:", _NEVER, "a colon beside a flow indicator"),
    (b"{:", _NEVER, "a colon beside a flow indicator"),
    (b",:", _NEVER, "a colon beside a flow indicator"),
    (b"\\", re.compile(rb"\\(?![nt\"\\/]|u(?![dD][89abAB])[0-9a-fA-F]{4})"), "an escape"),
)
_COMMENT = re.compile(rb"[ \t]#")
# PyYAML ends an implicit key within 1,024 characters. Searched from delimiters only, and
# over runs without one, so a 50 MB scalar costs one pass, not one per byte.
_LONG_KEY = re.compile(rb"[\n,{\[][^:\n,{\[\]}]{1000,}:")
# Tabs and control characters: errors or white space in one reading, text in the other.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\t]")
# YAML 1.1 line breaks (NEL, LS, PS), a byte order mark, C1 controls and non-characters.
_OTHER_CHARACTERS = re.compile("[\x80-\x9f\u2028\u2029\ufeff\ufffe\uffff]")

# Where the values can part, found in what orjson read. A plain scalar that YAML 1.1 (PyYAML's
# implicit resolvers) reads as a bool, null, int or float, but YAML 1.2 as a string, comes out
# of ryml as a string: such a string may be plain (so it is for PyYAML) or quoted (a string in
# both). Plain numbers ryml writes as JSON numbers, so a string that looks like one was quoted.
_WORDS = frozenset((
    "yes", "Yes", "YES", "no", "No", "NO", "True", "TRUE", "False", "FALSE",
    "on", "On", "ON", "off", "Off", "OFF", "~", "Null", "NULL", "=", "<<",
))  # fmt: skip
_KEY_WORDS = _WORDS | {"true", "false", "null", ""}
_NUMBER_START = frozenset("0123456789+-.")
_YAML11_NUMBER = re.compile(
    r"[-+]?0b[01_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"
    r"|[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
# Floats: ryml writes `.5`, `-.5`, `1.` and `1e3` as JSON numbers (YAML 1.1 reads `-.5` and
# `1e3` as strings), and orjson makes an integer too long for 64 bits a float. A document
# holding a float is read fast only if every number in it is written plainly: -?digits.digits,
# or an integer of at most 15 digits.
_END = rb"(?=[\s,\]}]|:[\s,\[\]{}]|:\Z|\Z)"
_PLAIN_NUMBER = rb"-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]+)?" + _END
_OTHER_NUMBER = re.compile(
    _AT
    + rb"(?!"
    + _PLAIN_NUMBER
    + rb")[-+]?(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?"
    + _END
)


# A first look, for all of _BYTES and _CONTROL at once: the bytes they need (found by one
# translate), and the pairs (by `in`, which beats one regular expression with alternatives).
_NEEDED = b"&*!%@`|>?\\#\t" + bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_OTHER_BYTES = bytes(b for b in range(256) if b not in _NEEDED)
_COLON_FLOW = re.compile(rb":[,\[\]{}?]")
# The pairs _BYTES looks for: `[:` `{:` `,:`, a space or line break before `]` `}` `,` `:`,
# `":` `':`, `...` and ` ---`. Most are found in one text where the bytes each pair may start
# or end with are made one (a line break a space, closing brackets and a comma `]`, opening
# brackets `[`, quotes `"`): five searches instead of thirteen, erring towards a pair (`]:`
# for `}:` too), which costs only the closer look.
_PAIRED = bytes.maketrans(b"\n}],{'", b' ]]]["')
_PAIRS = (b" ]", b" :", b"[:", b"]:", b'":')


def unsupported(chunk: bytes) -> str | None:
    """Why the document's bytes could mean another thing to ryml than to PyYAML; None when
    they cannot (the values are checked after parsing, in `FastParser.parse`)."""
    text = b"\n" + chunk
    if chunk.translate(None, _OTHER_BYTES) or _COLON_FLOW.search(chunk) or _paired(text):
        for needle, pattern, reason in _BYTES:
            if needle in text and pattern.search(text):
                return reason
        if _CONTROL.search(chunk):
            return "a tab or control character"
    if b"[" in chunk or b"{" in chunk:
        if _multiline_flow(chunk):
            # libyaml refuses an implicit key over several lines there; ryml reads it.
            return "a flow collection over several lines"
        if b"#" in chunk and _flow_comment(chunk):
            # ryml reads ` #` inside a flow collection as text, libyaml as a comment.
            return "a comment beside a flow collection"
    if len(chunk) > 1000 and _LONG_KEY.search(text):
        return "a long key"
    if not chunk.isascii() and _OTHER_CHARACTERS.search(chunk.decode("utf-8", "replace")):
        return "a YAML 1.1 line break, byte order mark or control character"
    return None


def _paired(text: bytes) -> bool:
    """Whether the text may hold one of the pairs _BYTES looks for (see _PAIRED)."""
    if b"..." in text or b" ---" in text:
        return True
    paired = text.translate(_PAIRED)
    return any(pair in paired for pair in _PAIRS)


def screen(data: bytes) -> bool:
    """Whether a whole file's bytes pass `unsupported`, so that each of its documents does and
    need not be looked at again: every search there finds in a document what it finds in the
    file around it (a byte, a pair, a pattern after white space, which the newline before each
    document provides; the flow checks go line by line), so a file without any holds
    documents without any. One search per file instead of one per document."""
    return unsupported(data) is None


def _multiline_flow(chunk: bytes) -> bool:
    """Whether a flow collection may go on past the end of a line: some line opens more
    brackets than it closes, or closes more (a quoted bracket only costs a fallback)."""
    first = min(i for i in (chunk.find(b"["), chunk.find(b"{")) if i >= 0)
    if chunk.find(b"\n", first) in (-1, len(chunk.rstrip())):
        return False  # one line from the first bracket on: a flow-style document
    for line in chunk.split(b"\n"):
        if line.count(b"[") + line.count(b"{") != line.count(b"]") + line.count(b"}"):
            return True
    return False


def _flow_comment(chunk: bytes) -> bool:
    """Whether a comment (` #`) follows a bracket on its line; past a few comments, say yes
    rather than look further (each look goes back to the start of its line)."""
    for n, found in enumerate(_COMMENT.finditer(chunk)):
        if n == 20:
            return True
        at = found.start()
        start = chunk.rfind(b"\n", 0, at) + 1
        if chunk.find(b"[", start, at) >= 0 or chunk.find(b"{", start, at) >= 0:
            return True
    return False


class Fallback(Exception):
    """This document is for PyYAML: `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# A tree is reused for documents of up to this many nodes (most are a few dozen): a new one
# costs more than clearing a small one, less than clearing one a `kind: List` made large.
_REUSED_NODES = 128


class FastParser:
    """One document at a time through ryml and orjson, with one reused tree."""

    def __init__(self) -> None:
        if ryml is None:  # pragma: no cover
            raise RuntimeError("rapidyaml is not installed")
        self.tree = ryml.Tree()
        self.buffer = bytearray(1 << 16)

    def _json(self, tree: Any, node: int) -> memoryview:
        """The node as JSON, written into a buffer kept for the next document (ryml's
        emit_json_malloc never frees what it returns: 78 MB kept on a 71 MB mesh)."""
        failed, size = ryml.emit_json_to_substr(tree, node, self.buffer)
        if failed:
            self.buffer = bytearray(max(size, 2 * len(self.buffer)))
            failed, size = ryml.emit_json_to_substr(tree, node, self.buffer)
        return memoryview(self.buffer)[:size]

    def parse(self, chunk: bytes, screened: bool = False) -> Any:
        """The document's value as PyYAML's SafeLoader gives it, or Fallback. `screened`: the
        bytes of the whole file it is part of passed `unsupported` (see `screen`)."""
        if not screened:
            reason = unsupported(chunk)
            if reason is not None:
                raise Fallback(reason)
        tree = self.tree
        if tree.capacity() > _REUSED_NODES:  # clearing touches every node the tree ever had
            tree = self.tree = ryml.Tree()
        else:
            tree.clear()
            tree.clear_arena()
        try:
            ryml.parse_csubstr(chunk, tree)
        except Exception as err:  # ryml.ExceptionParse and kin: PyYAML reports the error
            raise Fallback("rapidyaml could not parse it") from err
        root = tree.root_id()
        nodes = tree.size()
        if tree.is_stream(root):
            if tree.num_children(root) != 1:
                raise Fallback("not one document")
            root = tree.first_child(root)
            nodes -= 1
        elif not (tree.is_container(root) or tree.has_val(root)):
            return None  # comments or blanks only: no document
        if not tree.is_container(root):
            raise Fallback("a document that is a scalar")  # not an object: PyYAML judges it
        try:
            value = orjson.loads(self._json(tree, root))
        except orjson.JSONDecodeError as err:
            raise Fallback("a number or text JSON cannot hold") from err
        try:
            counted = _check(value)
        except _Float:
            if _OTHER_NUMBER.search(b"\n" + chunk):
                raise Fallback("a float beside a number not written plainly") from None
            counted = _check(value, floats=True)
        if counted != nodes:
            raise Fallback("a key written twice")  # JSON keeps the last; PyYAML refuses it
        return value


def _check(value: Any, floats: bool = False) -> int:
    """Nodes in a value (1 for itself and each key-value pair or item, nested); Fallback at a
    key or string that YAML 1.1 may read as another type (see _WORDS); _Float at a float
    unless `floats`."""
    if type(value) is dict:
        for key in value:
            if key in _KEY_WORDS or (key[0] in _NUMBER_START and _YAML11_NUMBER.fullmatch(key)):
                raise Fallback("a key that YAML 1.1 reads as other than a string")
        items: Any = value.values()
    elif type(value) is list:
        items = value
    else:
        items = (value,)
    n = 1 + len(value) if type(value) in (dict, list) else 0
    for item in items:
        t = type(item)
        if t is str:
            if item in _WORDS or (
                item[:1] in _NUMBER_START
                and _YAML11_NUMBER.fullmatch(item)
                and not _JSON_NUMBER.fullmatch(item)
            ):
                raise Fallback(f"{item!r}, which YAML 1.1 may read as other than a string")
        elif t is dict or t is list:
            n += _check(item, floats) - 1
        elif t is float and not floats:
            raise _Float
    return n or 1


class _Float(Exception):
    """A float in the value: the document is searched for numbers (see _OTHER_NUMBER)."""


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """ryml prints each parse error to C's `stderr` before it raises (PyYAML then reports the
    same error with its line): meanwhile that stream is /dev/null. Only the C library's
    FILE pointer is swapped, not file descriptor 2, which the inspector draws on."""
    global _depth
    with _lock:
        if _depth == 0 and _C_STDERR is not None:
            _C_STDERR[0].value, _C_STDERR[1] = _C_STDERR[1], _C_STDERR[0].value
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _C_STDERR is not None:
                _C_STDERR[0].value, _C_STDERR[1] = _C_STDERR[1], _C_STDERR[0].value


def _c_stderr() -> list[Any] | None:
    """[the C library's `stderr` variable, a FILE pointer to /dev/null to swap in], if found."""
    try:
        libc = ctypes.CDLL(None)
        libc.fopen.restype = ctypes.c_void_p
        libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        for name in ("stderr", "__stderrp"):  # glibc and musl; macOS and the BSDs
            try:
                variable = ctypes.c_void_p.in_dll(libc, name)
            except ValueError:
                continue
            null = libc.fopen(os.devnull.encode(), b"w")
            return [variable, null] if null else None
    except (OSError, AttributeError):
        pass
    return None


_C_STDERR = _c_stderr() if ryml is not None else None
_lock = threading.Lock()
_depth = 0


def available() -> bool:
    """Whether rapidyaml and orjson are installed, and ryml's error messages can be kept
    off the terminal."""
    return ryml is not None and _C_STDERR is not None
