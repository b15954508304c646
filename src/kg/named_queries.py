"""Named SPARQL queries: one `.rq` file each in `kg/queries/`, with `#+` header lines.

    #+ title: Measures
    #+ description: Every measure or development, with its country, type and status.
    #+ param: country iri optional — a country, e.g. country:KZ

Parameters are typed (iri, string, date, integer) and reach the query as bound RDF terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from .errors import KGError
from .namespaces import PREFIXES, sparql_prologue

QUERY_DIR = Path(__file__).resolve().parent / "queries"
_HEADER = re.compile(r"^#\+\s*(?P<key>[a-z]+)\s*:\s*(?P<value>.*)$")
_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s+(?P<type>iri|string|date|integer)(?P<optional>\s+optional)?"
    r"(?:\s+choices=(?P<choices>[a-z0-9-]+))?\s*(?:[—-]+\s*(?P<help>.*))?$"
)


@dataclass
class Param:
    name: str
    type: str
    optional: bool = False
    help: str = ""
    choices: str | None = None  # a query named choices-<this> lists the values a form offers

    def term(self, text: str):
        """The RDF term for a value typed by a user."""
        if self.type == "iri":
            return parse_iri(text)
        if self.type == "date":
            try:
                valid = re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) and date.fromisoformat(text)
            except ValueError:
                valid = False
            if not valid:
                raise KGError(f"{self.name}: {text!r} is not a date", "write a real day as YYYY-MM-DD")
            return Literal(text, datatype=XSD.date)
        if self.type == "integer":
            if not re.fullmatch(r"[+-]?\d+", text):
                raise KGError(f"{self.name}: {text!r} is not a whole number")
            return Literal(int(text))
        return Literal(text)


@dataclass
class NamedQuery:
    name: str
    title: str
    description: str
    text: str
    params: list[Param] = field(default_factory=list)
    kind: str = "page"  # "research" for the canned queries researchers get a page for

    def bindings(self, values: dict[str, str]) -> dict:
        """Typed RDF terms for the given parameter values; unknown or missing ones are errors."""
        known = {p.name: p for p in self.params}
        unknown = set(values) - set(known)
        if unknown:
            raise KGError(
                f"the query {self.name!r} has no parameter {', '.join(sorted(unknown))}",
                f"its parameters: {', '.join(known) or 'none'}",
            )
        missing = [p.name for p in self.params if not p.optional and not values.get(p.name)]
        if missing:
            raise KGError(f"the query {self.name!r} needs {', '.join(missing)}", "pass --param NAME=VALUE")
        return {name: known[name].term(value) for name, value in values.items() if value != ""}

    @property
    def sparql(self) -> str:
        """The query with the project's prefixes declared before it."""
        return sparql_prologue() + self.text


def parse_iri(text: str) -> URIRef:
    """An IRI from `<…>`, a full http(s) IRI, or a prefixed name with a project prefix."""
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    elif ":" in text and not re.match(r"^[a-z][a-z0-9+.-]*://", text, re.I):
        prefix, _, local = text.partition(":")
        if prefix not in PREFIXES:
            raise KGError(f"unknown prefix {prefix!r} in {text!r}", f"known prefixes: {', '.join(PREFIXES)}")
        text = str(PREFIXES[prefix]) + local
    if not re.match(r"^https?://[^\s<>\"{}|^`\\]+$", text):
        raise KGError(f"{text!r} is not an http(s) IRI", "write a full IRI or a prefixed name such as country:KZ")
    return URIRef(text)


def parse(name: str, text: str) -> NamedQuery:
    headers: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = _HEADER.match(line)
        if match:
            headers.setdefault(match["key"], []).append(match["value"].strip())
    if "title" not in headers:
        raise KGError(f"the query {name!r} has no '#+ title:' line", "add one at the top of the .rq file")
    params = []
    for spec in headers.get("param", []):
        match = _PARAM.match(spec)
        if not match:
            raise KGError(f"the query {name!r} has a malformed '#+ param:' line: {spec!r}",
                          "write '#+ param: NAME iri|string|date|integer [optional] [choices=NAME] — help'")
        params.append(Param(match["name"], match["type"], bool(match["optional"]), match["help"] or "", match["choices"]))
    kind = headers.get("kind", ["page"])[0]
    return NamedQuery(name, headers["title"][0], " ".join(headers.get("description", [])), text, params, kind)


def load(name_or_path: str) -> NamedQuery:
    """A named query by name (from kg/queries/) or from a .rq file path."""
    path = Path(name_or_path)
    if path.suffix == ".rq" and path.exists():
        return parse(path.stem, path.read_text(encoding="utf-8"))
    candidate = QUERY_DIR / f"{name_or_path}.rq"
    if not re.fullmatch(r"[a-z0-9-]+", name_or_path) or not candidate.exists():
        raise KGError(f"no query named {name_or_path!r}", f"known queries: {', '.join(names())}")
    return parse(name_or_path, candidate.read_text(encoding="utf-8"))


def names(kind: str | None = None) -> list[str]:
    """Names of the queries in kg/queries/ (only those of KIND, e.g. "research", if given)."""
    found = sorted(p.stem for p in QUERY_DIR.glob("*.rq"))
    return [n for n in found if kind is None or load(n).kind == kind]
