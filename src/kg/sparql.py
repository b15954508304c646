"""SPARQL text helpers: binding parameters as RDF terms, and reading a query's shape.

Parameters reach a query as a ``VALUES`` block placed first in its outermost ``WHERE`` group,
written from RDF terms (never from raw user text). The same mechanism serves the embedded
store and any SPARQL 1.1 server, so a named query means the same thing on both. (Oxigraph's
own ``substitutions`` would also work embedded, but it requires every bound variable to be
projected — SEP-0007 — and a remote server has no equivalent.)

The one difference from substitution: SPARQL evaluates groups bottom-up, so a parameter is
joined at the top of the WHERE group and is not yet bound inside a nested group's FILTER or
BIND. Named queries use parameters in triple patterns (or in FILTERs of the top group).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import NamedTuple

from rdflib import BNode, Literal, URIRef

from .errors import KGError

# Characters an IRI may not hold (RFC 3987 / SPARQL IRIREF); refusing them keeps a bound IRI
# from closing the <…> it is written in.
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][A-Za-z0-9_\u00B7\u00C0-\uFFFF]+)
  | (?P<pname>(?:[A-Za-z][\w.-]*)?:(?:[\w\u00C0-\uFFFF%:]|\\.)(?:(?:[\w\u00B7\u00C0-\uFFFF.:%-]|\\.)*(?:[\w\u00B7\u00C0-\uFFFF:%-]|\\.))?|(?:[A-Za-z][\w.-]*)?:)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<open>\{)
  | (?P<close>\})
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_FORM = re.compile(r"\b(SELECT|CONSTRUCT|ASK|DESCRIBE|INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.I)


class QueryTextError(KGError):
    """A query or parameter that cannot be used as given."""


# The text functions below are pure (text in, answer out) and every request runs several of
# them over the same texts: pages send the same named queries again and again, and each carries
# the whole prefix prologue, so tokenizing it anew cost a few ms per query. They are memoized on
# the text. Only texts up to MEMO_MAX_CHARS are kept, so that a client sending many long distinct
# queries holds at most MEMO_SIZE of them (a few MB); longer texts are worked out each time.
# Exceptions are never cached (lru_cache re-raises them on every call).
MEMO_SIZE = 256
MEMO_MAX_CHARS = 32_768


def _memoized(function):
    cached = functools.lru_cache(maxsize=MEMO_SIZE)(function)

    @functools.wraps(function)
    def wrapper(query: str):
        return cached(query) if len(query) <= MEMO_MAX_CHARS else function(query)

    wrapper.cache_clear = cached.cache_clear
    wrapper.cache_info = cached.cache_info
    return wrapper


def is_safe_iri(text: str) -> bool:
    """Whether TEXT can be written between < > as it is."""
    return not _BAD_IRI.search(text)


def term_to_sparql(term) -> str:
    """An rdflib term written as SPARQL, refusing IRIs that could break out of their brackets."""
    if isinstance(term, URIRef):
        if _BAD_IRI.search(str(term)):
            raise QueryTextError(
                f"{str(term)!r} is not a valid IRI", "IRIs may not contain spaces, quotes, <, >, {, }, |, ^, ` or \\"
            )
        return f"<{term}>"
    if isinstance(term, Literal):
        if term.datatype is not None:
            term_to_sparql(URIRef(term.datatype))
        return term.n3()
    if isinstance(term, BNode):
        raise QueryTextError("a blank node cannot be a query parameter", "pass an IRI or a literal")
    raise QueryTextError(f"cannot use {term!r} as a query parameter", "pass an rdflib URIRef or Literal")


def _tokens(query: str):
    for match in _TOKEN.finditer(query):
        yield match.lastgroup, match.group(), match.start()


@_memoized
def where_group_start(query: str) -> int:
    """Index just after the '{' that opens the query's outermost WHERE group."""
    depth, saw_where, first_open = 0, False, None
    for kind, text, start in _tokens(query):
        if kind == "word" and depth == 0 and text.upper() == "WHERE":
            saw_where = True
        elif kind == "open":
            if depth == 0 and (saw_where or first_open is None):
                if saw_where:
                    return start + 1
                first_open = start + 1
            depth += 1
        elif kind == "close":
            depth -= 1
    if first_open is None:
        raise QueryTextError("the query has no WHERE group { … }", "write the pattern inside WHERE { … }")
    return first_open


def bind(query: str, bindings: Mapping[str, object] | None) -> str:
    """QUERY with BINDINGS (variable name -> rdflib term) as a VALUES block in its WHERE group."""
    if not bindings:
        return query
    return bind_rows(query, list(bindings), [list(bindings.values())])


def bind_rows(query: str, names: list[str], rows: list[list]) -> str:
    """QUERY with a VALUES block of several ROWS of terms for NAMES, first in its WHERE group.

    A None in a row is written UNDEF: that variable is left free in that row.
    """
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise QueryTextError(f"{name!r} is not a SPARQL variable name", "use letters, digits and _")
    body = " ".join(
        "(" + " ".join("UNDEF" if term is None else term_to_sparql(term) for term in row) + ")" for row in rows
    )
    values = f" VALUES ({' '.join('?' + n for n in names)}) {{ {body} }} "
    at = where_group_start(query)
    return query[:at] + values + query[at:]


_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
MAX_NESTING = 100


@_memoized
def unescape_codepoints(query: str) -> str:
    """The query with its \\uXXXX / \\UXXXXXXXX escapes replaced, as SPARQL 1.1 (section 19.2)
    requires before any parsing. Checks must see the same text the engine runs, or an escape
    could hide a keyword or end an IRI early (<http://x/\\u0041#> once hid a SERVICE from view)."""

    def replace(match):
        code = int(match.group(1) or match.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise QueryTextError(f"{match.group(0)} is not a Unicode character", "remove or correct the escape")
        return chr(code)

    return _CODEPOINT.sub(replace, query)


class QueryShape(NamedTuple):
    """What the runner's checks need to know about a query text, read in one tokenizing pass."""

    nesting: int  # deepest nesting of { } and ( ) outside strings, IRIs and comments
    form: str  # the first keyword that decides what the request is: SELECT, ASK, INSERT, LOAD…
    service: bool  # whether a SERVICE keyword appears (outside strings, IRIs and comments)
    graphs: tuple[str, ...]  # IRIs named by FROM and FROM NAMED (prefixed names expanded)


@_memoized
def query_shape(query: str) -> QueryShape:
    """The nesting depth, form, SERVICE use and FROM graphs of QUERY, from one pass over its tokens.

    QUERY must already have its codepoint escapes processed (unescape_codepoints), as the engine
    will read it."""
    depth = deepest = 0
    form = ""
    service = False
    tokens = []  # (kind, text) without comments and whitespace, for the FROM look-ahead
    for match in _TOKEN.finditer(query):
        kind, text = match.lastgroup, match.group()
        if kind == "open" or text == "(":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif kind == "close" or text == ")":
            depth -= 1
        elif kind == "word":
            upper = text.upper()
            if not form and _FORM.fullmatch(text):
                form = upper
            if upper == "SERVICE":
                service = True
        if kind != "comment" and not text.isspace():
            tokens.append((kind, text))
    return QueryShape(deepest, form, service, tuple(_from_graphs(tokens)))


def _from_graphs(tokens: list[tuple[str, str]]) -> list[str]:
    prefixes: dict[str, str] = {}
    graphs = []
    for i, (kind, text) in enumerate(tokens):
        upper = text.upper() if kind == "word" else ""
        if upper == "PREFIX" and i + 2 < len(tokens):
            prefixes[tokens[i + 1][1].rstrip(":")] = tokens[i + 2][1][1:-1]
        elif upper == "FROM":
            j = i + 1
            if j < len(tokens) and tokens[j][0] == "word" and tokens[j][1].upper() == "NAMED":
                j += 1
            if j < len(tokens):
                target_kind, target = tokens[j]
                if target_kind == "iri":
                    graphs.append(target[1:-1])
                elif target_kind == "pname":
                    prefix, _, local = target.partition(":")
                    graphs.append(prefixes.get(prefix, prefix + ":") + local)
                else:
                    graphs.append(target)  # not a graph name: refused as unknown
    return graphs


def nesting_depth(query: str) -> int:
    """The deepest nesting of { } and ( ) outside strings, IRIs and comments."""
    return query_shape(query).nesting


@_memoized
def where_keyword_start(query: str) -> int:
    """Index of the top-level WHERE keyword (or of the first top-level '{' when WHERE is left out)."""
    depth = 0
    for kind, text, start in _tokens(query):
        if kind == "word" and depth == 0 and text.upper() == "WHERE":
            return start
        if kind == "open":
            if depth == 0:
                return start
            depth += 1
        elif kind == "close":
            depth -= 1
    raise QueryTextError("the query has no WHERE group { … }", "write the pattern inside WHERE { … }")


def uses_service(query: str) -> bool:
    """Whether the query holds a SERVICE clause (outside strings, IRIs and comments)."""
    return query_shape(query).service


def referenced_graphs(query: str) -> list[str]:
    """IRIs named by FROM and FROM NAMED clauses (prefixed names expanded with the query's PREFIXes)."""
    return list(query_shape(query).graphs)


def query_form(query: str) -> str:
    """The first keyword that decides what the request is: SELECT, ASK, INSERT, LOAD…"""
    return query_shape(query).form
