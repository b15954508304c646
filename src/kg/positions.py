"""Where each subject, predicate and object stands in a Turtle file.

rdflib's and pyoxigraph's parsers keep no source positions (RDFLib/pySHACL#321), yet an
editor needs ``file:line`` for every problem. This module re-reads a Turtle text that has
already parsed cleanly and records, for every IRI subject, the line of its first statement,
and for every (subject, predicate) and (subject, predicate, object) the line where they are
written. It follows Turtle 1.1's grammar closely enough for that purpose: it is an index,
not a parser, and it never decides whether a file is valid (pyoxigraph does that first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<long_string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*''')
  | (?P<string>"(?:[^"\\\r\n]|\\.)*"|'(?:[^'\\\r\n]|\\.)*')
  | (?P<directive>@prefix|@base)
  | (?P<langtag>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)
  | (?P<datatype_mark>\^\^)
  | (?P<number>[+-]?(?:\d+\.\d*[eE][+-]?\d+|\.\d+[eE][+-]?\d+|\d+[eE][+-]?\d+|\d*\.\d+|\d+))
  | (?P<sparql_directive>(?i:PREFIX|BASE)(?=[ \t\r\n]))
  | (?P<pname>(?:[A-Za-z\u00C0-\uFFFF][\w\u00B7\u00C0-\uFFFF.-]*)?:(?:(?:[\w\u00C0-\uFFFF:]|%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])(?:(?:[\w\u00B7\u00C0-\uFFFF.:-]|%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])*(?:[\w\u00B7\u00C0-\uFFFF:-]|%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]))?)?)
  | (?P<bnode>_:[\w\u00C0-\uFFFF](?:[\w\u00B7\u00C0-\uFFFF.-]*[\w\u00B7\u00C0-\uFFFF-])?)
  | (?P<keyword>a(?=[ \t\r\n<\["'(_:])|true|false)
  | (?P<punct>[.;,\[\]()])
    """,
    re.VERBOSE,
)

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})|\\(.)", re.DOTALL)
_CHAR_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _unescape(text: str) -> str:
    def replace(match):
        if match.group(1) or match.group(2):
            return chr(int(match.group(1) or match.group(2), 16))
        return _CHAR_ESCAPES.get(match.group(3), match.group(3))

    return _ESCAPE.sub(replace, text)


@dataclass
class Token:
    kind: str
    text: str
    line: int


@dataclass
class PositionIndex:
    """Lines (1-based) of subjects, (subject, predicate) and (subject, predicate, object) keys.

    Terms are plain strings: an IRI's text, or a literal's lexical form. Blank nodes written
    as ``[ ... ]`` get the key ``("[", line, column)``; they are looked up through their parent.
    """

    subjects: dict[str, int] = field(default_factory=dict)
    predicates: dict[tuple[str, str], int] = field(default_factory=dict)
    objects: dict[tuple[str, str, str], int] = field(default_factory=dict)
    mentions: dict[str, int] = field(default_factory=dict)

    def line_of(self, subject: str, predicate: str | None = None, obj: str | None = None) -> int | None:
        """The most precise line known for a subject, optionally with predicate and object."""
        if predicate is not None and obj is not None and (subject, predicate, obj) in self.objects:
            return self.objects[(subject, predicate, obj)]
        if predicate is not None and (subject, predicate) in self.predicates:
            return self.predicates[(subject, predicate)]
        if subject in self.subjects:
            return self.subjects[subject]
        return self.mentions.get(subject)


def _tokens(text: str):
    position, line = 0, 1
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:  # not Turtle we can follow; the index stops here
            return
        kind = match.lastgroup
        value = match.group()
        if kind not in ("ws", "comment"):
            yield Token(kind, value, line)
        line += value.count("\n")
        position = match.end()


def index_turtle(text: str, base: str | None = None) -> PositionIndex:
    """Index a Turtle document that has already parsed without error."""
    index = PositionIndex()
    prefixes: dict[str, str] = {}
    tokens = list(_tokens(text))
    i = 0

    def resolve(token: Token) -> str | None:
        if token.kind == "iri":
            iri = _unescape(token.text[1:-1])
            return urljoin(base, iri) if base else iri
        if token.kind == "pname":
            prefix, _, local = token.text.partition(":")
            namespace = prefixes.get(prefix)
            return None if namespace is None else namespace + re.sub(r"\\(.)", r"\1", local)
        if token.kind == "keyword" and token.text == "a":
            return RDF_TYPE
        return None

    def note_mention(term: str | None, line: int):
        if term is not None:
            index.mentions.setdefault(term, line)

    def read_object(j: int) -> tuple[str | None, int]:
        """The object's key and the index after it; nested blank nodes are walked."""
        token = tokens[j]
        if token.kind in ("string", "long_string"):
            quote = 3 if token.kind == "long_string" else 1
            lexical = _unescape(token.text[quote:-quote])
            j += 1
            if j < len(tokens) and tokens[j].kind == "langtag":
                j += 1
            elif j < len(tokens) and tokens[j].kind == "datatype_mark":
                j += 2
            return lexical, j
        if token.kind in ("number", "keyword") and token.text != "a":
            return token.text, j + 1
        if token.kind == "punct" and token.text == "[":
            key = f"[{token.line}:{j}"
            return key, read_predicate_object_list(j + 1, key, closing="]")
        if token.kind == "punct" and token.text == "(":
            j += 1
            while j < len(tokens) and tokens[j].text != ")":
                _, j = read_object(j)
            return None, j + 1
        term = resolve(token)
        note_mention(term, token.line)
        return term, j + 1

    def read_predicate_object_list(j: int, subject: str, closing: str) -> int:
        while j < len(tokens) and tokens[j].text != closing:
            if tokens[j].text == ";":
                j += 1
                continue
            predicate_token = tokens[j]
            predicate = resolve(predicate_token)
            if predicate is not None:
                index.predicates.setdefault((subject, predicate), predicate_token.line)
            j += 1
            while j < len(tokens):
                object_line = tokens[j].line
                obj, j = read_object(j)
                if predicate is not None and obj is not None:
                    index.objects.setdefault((subject, predicate, obj), object_line)
                if j < len(tokens) and tokens[j].text == ",":
                    j += 1
                    continue
                break
        return j + 1 if closing == "]" else j

    while i < len(tokens):
        token = tokens[i]
        if token.kind in ("directive", "sparql_directive"):
            name = token.text.lower().lstrip("@")
            if name == "prefix" and i + 2 < len(tokens):
                prefixes[tokens[i + 1].text[:-1]] = resolve(tokens[i + 2]) or ""
                i += 3
            elif name == "base" and i + 1 < len(tokens):
                base = resolve(tokens[i + 1])
                i += 2
            else:
                i += 1
            if i < len(tokens) and tokens[i].text == "." and token.kind == "directive":
                i += 1
            continue
        # a triples statement: subject then predicate-object list, ended by "."
        if token.text == "[":
            subject = f"[{token.line}:{i}"
            i = read_predicate_object_list(i + 1, subject, closing="]")
        elif token.text == "(":
            _, i = read_object(i)
            subject = None
        else:
            subject = resolve(token)
            if subject is not None:
                index.subjects.setdefault(subject, token.line)
                note_mention(subject, token.line)
            i += 1
        if subject is not None:
            i = read_predicate_object_list(i, subject, closing=".")
        while i < len(tokens) and tokens[i].text != ".":  # resynchronise on anything unexpected
            i += 1
        i += 1
    return index
