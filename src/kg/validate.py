"""Validate editors' Turtle files: strict parse, then SHACL, with reports an editor can act on.

Each file is parsed by pyoxigraph first (strict, names line and column), then by rdflib for
pyshacl. It is validated in an in-memory graph together with its context: the ontology, the
SKOS schemes, the reference data and the list of updates the knowledge graph knows (so that
``sh:class`` checks on countries, bodies and cross-reference targets work without loading the
whole store). Only the file's own subjects are focus nodes, so the reference data is not
re-validated with every file. Each SHACL result is mapped back to a line of the file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import pyoxigraph
import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SH, SKOS

from . import settings
from .errors import KGError
from .namespaces import KG, SCHEMA, bind_prefixes
from .positions import PositionIndex, index_turtle

#: Exit codes of ``kg validate`` (part of the command's contract).
EXIT_OK, EXIT_VIOLATIONS, EXIT_UNREADABLE = 0, 1, 2

MAX_FILE_BYTES = 20_000_000  # an update's file holds kilobytes; beyond this, parsing alone costs gigabytes
MAX_NESTING = 100  # rdflib's recursive parser fails at about 127 levels of [ ]
FOCUS_LIST_LIMIT = 500  # pyshacl checks focus nodes against a list: quadratic beyond a few hundred

_LABEL_PROPERTIES = (RDFS.label, SKOS.prefLabel, DCTERMS.title, SCHEMA.caption)
_PARSER_MESSAGE = re.compile(r"^Parser error (?:at|between) .*?: (?P<reason>.*)$", re.DOTALL)


@dataclass
class Problem:
    """One thing wrong with a file, located as precisely as we can."""

    file: str
    line: int | None
    message: str
    kind: str = "shape"  # "shape", "syntax", "unreadable" or "file"
    severity: str = "violation"
    column: int | None = None
    focus: str | None = None  # the resource's IRI (or blank-node id)
    label: str | None = None  # the resource's label, for people
    path: str | None = None  # the property, as a prefixed name
    value: str | None = None  # the offending value, as written in Turtle
    constraint: str | None = None  # SHACL constraint component, for machines
    shape: str | None = None  # the node shape that failed (kgsh:…), for machines

    def location(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass
class FileReport:
    """The outcome of validating one file."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    triples: int = 0
    graph: Graph | None = field(default=None, repr=False, compare=False)

    @property
    def status(self) -> str:
        if any(p.kind in ("syntax", "unreadable") for p in self.problems):
            return "unreadable"
        return "invalid" if self.problems else "conforms"

    @property
    def conforms(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "status": self.status,
            "triples": self.triples,
            "problems": [asdict(p) for p in self.problems],
        }


def exit_code(reports: Iterable[FileReport]) -> int:
    """0 when every file conforms, 1 on violations, 2 when any file cannot be read or parsed."""
    statuses = {r.status for r in reports}
    if "unreadable" in statuses:
        return EXIT_UNREADABLE
    return EXIT_VIOLATIONS if "invalid" in statuses else EXIT_OK


def turtle_files(paths: Iterable[str | Path]) -> list[Path]:
    """The Turtle files named by PATHS, folders searched recursively, in a stable order."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.ttl") if p.is_file()))
        elif path.exists():
            files.append(path)
        else:
            raise KGError(f"{path}: no such file or folder", "check the path; folders are searched for *.ttl files")
    return files


def declared_updates(files: Iterable[Path]) -> set[str]:
    """IRIs of the updates the given Turtle files declare (files that do not parse are skipped)."""
    found: set[str] = set()
    update_class = pyoxigraph.NamedNode(str(KG.Update))
    rdf_type = pyoxigraph.NamedNode(str(RDF.type))
    for path in files:
        try:
            for triple in pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TURTLE):
                if triple.predicate == rdf_type and triple.object == update_class:
                    found.add(triple.subject.value)
        except (OSError, SyntaxError, ValueError):
            continue
    return found


class Validator:
    """Validates Turtle files against the shapes, with the ontology and reference data as context.

    ``known_updates`` are the IRIs of updates that cross-references may point at besides those
    declared in the validated files themselves (by default: every update in the data folder).
    """

    def __init__(
        self,
        ontology_dir: str | Path | None = None,
        shapes_dir: str | Path | None = None,
        reference_dir: str | Path | None = None,
        known_updates: Iterable[str] | None = None,
    ):
        self.ontology_dir = Path(ontology_dir or settings.get("ONTOLOGY"))
        self.shapes_dir = Path(shapes_dir or settings.get("SHAPES"))
        self.reference_dir = Path(reference_dir or Path(settings.get("DATA")) / "reference")
        if known_updates is None:
            known_updates = declared_updates(turtle_files([Path(settings.get("DATA")) / "updates"]))
        self.known_updates = set(known_updates)

    @cached_property
    def shapes(self) -> Graph:
        return _load_folder(self.shapes_dir, "shapes")

    @cached_property
    def context(self) -> Graph:
        """Ontology, schemes and reference data: what every file is validated beside."""
        graph = _load_folder(self.ontology_dir, "ontology")
        graph += _load_folder(self.reference_dir, "reference data")
        return graph

    @cached_property
    def _context_iris(self) -> set[str]:
        return {str(term) for triple in self.context for term in triple if isinstance(term, URIRef)}

    def validate_paths(self, paths: Iterable[str | Path]) -> list[FileReport]:
        """Validate every Turtle file named by PATHS (folders recursively)."""
        files = turtle_files(paths)
        # Updates declared in this batch may be the targets of each other's cross-references.
        self.known_updates |= declared_updates(files)
        return [self.validate_file(path) for path in files]

    def validate_file(self, path: str | Path, text: bytes | None = None) -> FileReport:
        """Validate one file (or TEXT given under that file name, as the editor upload does)."""
        name = str(path)
        if text is None:
            try:
                text = Path(path).read_bytes()
            except OSError as error:
                reason = error.strerror or str(error)
                return FileReport(name, [Problem(name, None, f"cannot read the file: {reason}", kind="unreadable")])
        report = FileReport(name)
        graph = self._parse(name, text, report)
        if graph is None:
            return report
        report.graph = graph
        report.triples = len(graph)
        index = index_turtle(text.decode("utf-8"))
        report.problems.extend(self._file_rules(name, graph, index))
        report.problems.extend(self._shacl(name, graph, index))
        report.problems.sort(key=lambda p: (p.line or 0, p.focus or "", p.path or ""))
        return report

    # -- steps -------------------------------------------------------------------------

    @staticmethod
    def _parse(name: str, text: bytes, report: FileReport) -> Graph | None:
        """Strict parse with pyoxigraph (positions, refuses malformed input), then rdflib."""
        if len(text) > MAX_FILE_BYTES:
            report.problems.append(Problem(
                name, None,
                f"the file is {len(text) / 1e6:.0f} MB, over the {MAX_FILE_BYTES / 1e6:.0f} MB a file may hold: "
                "an update's file holds a few kilobytes; split it", kind="unreadable"))
            return None
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as error:
            line = text[: error.start].count(b"\n") + 1
            column = error.start - (text.rfind(b"\n", 0, error.start) + 1) + 1
            report.problems.append(
                Problem(name, line, "the file is not UTF-8 text: save it as UTF-8", kind="syntax", column=column)
            )
            return None
        try:
            for _ in pyoxigraph.parse(text, format=pyoxigraph.RdfFormat.TURTLE, base_iri=None):
                pass
        except SyntaxError as error:
            match = _PARSER_MESSAGE.match(str(error.args[0]) if error.args else "")
            reason = match.group("reason") if match else str(error)
            reason += _syntax_hint(text, error.lineno, error.offset)
            report.problems.append(
                Problem(name, error.lineno, f"syntax error: {reason}", kind="syntax", column=error.offset)
            )
            return None
        graph = Graph()
        try:
            with quiet_rdflib_terms():
                graph.parse(data=text, format="turtle")
        except RecursionError:
            line, column = _too_deep(text.decode("utf-8"))
            report.problems.append(Problem(
                name, line, f"[ ] or ( ) nest more than {MAX_NESTING} levels deep here: give the nested resources IRIs",
                kind="syntax", column=column))
            return None
        except Exception as error:  # rdflib's parsers raise many types; pyoxigraph accepted the text
            report.problems.append(Problem(name, None, f"syntax error: {error}", kind="syntax"))
            return None
        if not len(graph):
            report.problems.append(Problem(
                name, 1, "the file holds no statements: write the update's triples, or leave the file out",
                kind="file"))
            return None
        return graph

    def _file_rules(self, name: str, graph: Graph, index: PositionIndex) -> list[Problem]:
        """Rules about the file as a whole, which SHACL cannot state per resource."""
        problems = []
        updates = sorted(set(graph.subjects(RDF.type, KG.Update)), key=str)
        if len(updates) > 1:
            listed = ", ".join(_short(graph, u) for u in updates)
            problems.append(
                Problem(
                    name,
                    index.line_of(str(updates[1])),
                    f"a file holds one update, this one declares {len(updates)} ({listed}): "
                    "move each into its own file",
                    kind="file",
                    focus=str(updates[1]),
                )
            )
        # Every resource needs an IRI to be linked to and dereferenced; blank nodes ([ … ]
        # or ( … )) are refused here, on the line where their parent points at them.
        for blank in sorted({s for s in graph.subjects() if isinstance(s, BNode)}, key=str):
            focus, line = _locate(graph, index, blank, None, None)
            kinds = ", ".join(_short(graph, c) for c in sorted(graph.objects(blank, RDF.type), key=str))
            problems.append(
                Problem(
                    name, line,
                    f"a resource written as a blank node{f' ({kinds})' if kinds else ''} cannot be linked to: "
                    "give it an IRI (for example measure:2020-06-14-kazakhstan-short-name) and point at that",
                    kind="file",
                    focus=focus,
                    label=_label(graph, blank),
                )
            )
        return problems

    def _shacl(self, name: str, graph: Graph, index: PositionIndex) -> list[Problem]:
        data = Graph()
        data += self.context
        data += graph
        # Typing every known update would cost as much as the knowledge graph is big. Only the
        # ones the file or the context mention can matter: a class check reads the type of a
        # value node and a target the type of a subject, and both come from the file or context.
        mentioned = {str(term) for triple in graph for term in triple if isinstance(term, URIRef)}
        for update in self.known_updates & (mentioned | self._context_iris):
            data.add((URIRef(update), RDF.type, KG.Update))
        # Only the file's own IRI subjects are focus nodes (blank ones are refused in _file_rules):
        # pyshacl 0.40 fails on blank focus nodes, and skips sh:node / sh:or members on value
        # nodes outside focus_nodes, which is why the shapes use neither on values.
        focus = [s for s in set(graph.subjects()) if isinstance(s, URIRef)]
        if not focus:
            return []
        # A large file is validated whole (linear) and its results kept to its own subjects.
        few = len(focus) <= FOCUS_LIST_LIMIT
        _, report_graph, _ = pyshacl.validate(
            data,
            shacl_graph=self.shapes,
            inference="none",
            inplace=True,
            focus_nodes=focus if few else None,
            allow_infos=True,
            allow_warnings=True,
        )
        bind_prefixes(data)
        own = set(focus)
        problems = []
        for result in report_graph.subjects(RDF.type, SH.ValidationResult):
            if few or report_graph.value(result, SH.focusNode) in own:
                problems.append(self._problem(name, data, self.shapes, index, report_graph, result))
        return problems

    @staticmethod
    def _problem(name: str, data: Graph, shapes: Graph, index: PositionIndex, report: Graph, result) -> Problem:
        focus = report.value(result, SH.focusNode)
        path = report.value(result, SH.resultPath)
        value = report.value(result, SH.value)
        message = str(report.value(result, SH.resultMessage) or "does not conform to the shapes")
        severity = report.value(result, SH.resultSeverity)
        component = report.value(result, SH.sourceConstraintComponent)
        shape = report.value(result, SH.sourceShape)
        if isinstance(shape, BNode):  # a property shape: name the node shape it belongs to
            shape = next(iter(shapes.subjects(SH.property, shape)), shape)
        subject_key, line = _locate(data, index, focus, path, value)
        return Problem(
            file=name,
            line=line,
            message=message,
            severity=str(severity).rsplit("#", 1)[-1].lower() if severity else "violation",
            focus=subject_key,
            label=_label(data, focus),
            path=_short(data, path) if isinstance(path, URIRef) else None,
            value=_short(data, value) if value is not None else None,
            constraint=str(component).rsplit("#", 1)[-1] if component else None,
            shape=_short(data, shape) if isinstance(shape, URIRef) else None,
        )


def _locate(data: Graph, index: PositionIndex, focus, path, value) -> tuple[str | None, int | None]:
    """The focus node's key and the line to report: the triple, else the property, else the subject."""
    predicate = str(path) if isinstance(path, URIRef) else None
    obj = str(value) if value is not None else None
    if isinstance(focus, URIRef):
        return str(focus), index.line_of(str(focus), predicate, obj)
    # A blank node: report the line where its nearest IRI ancestor points at it.
    seen = set()
    node = focus
    while isinstance(node, BNode) and node not in seen:
        seen.add(node)
        for parent, parent_predicate in data.subject_predicates(node):
            if isinstance(parent, URIRef):
                return f"[] in {parent}", index.line_of(str(parent), str(parent_predicate))
            node = parent
            break
        else:
            break
    return None, None


@contextmanager
def quiet_rdflib_terms():
    """rdflib logs ill-typed literals ("2020-04-31"^^xsd:date) with a traceback; the shapes
    report them with file and line, so its log is silenced while terms are made."""
    log = logging.getLogger("rdflib.term")
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def _too_deep(text: str) -> tuple[int | None, int | None]:
    """Line and column where [ ] or ( ) first nest deeper than MAX_NESTING (strings and comments skipped)."""
    depth, line, column, quote, i = 0, 1, 0, None, 0
    while i < len(text):
        char = text[i]
        column += 1
        if char == "\n":
            line, column = line + 1, 0
            if quote in ('"', "'"):
                quote = None
        elif quote:
            if char == "\\":
                i += 1
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = None
        elif char == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end - 1
        elif char == "<":
            end = text.find(">", i)
            i = len(text) if end < 0 else end
        elif char in "\"'":
            quote = char * 3 if text.startswith(char * 3, i) else char
            i += len(quote) - 1
        elif char in "[(":
            depth += 1
            if depth > MAX_NESTING:
                return line, column
        elif char in "])":
            depth -= 1
        i += 1
    return None, None


def _syntax_hint(text: bytes, line: int | None, column: int | None) -> str:
    """What an editor most likely has to fix, from the line where the parser stopped."""
    if not line or not column:
        return ""
    lines = text.decode("utf-8", errors="replace").splitlines()
    if line > len(lines):
        return ""
    current = lines[line - 1]
    opening = _unclosed_quote(current)
    if opening is not None:
        return f" (the string that starts at column {opening + 1} is not closed: add the closing quote)"
    if current[column - 1 : column] == "<":
        return " (an IRI starts here: it must end with > and hold no spaces, quotes or braces)"
    if line == len(lines) and current.rstrip().endswith((";", ",")):
        return " (the last statement must end with a full stop)"
    return ""


def _unclosed_quote(line: str) -> int | None:
    """Index of the quote that opens a string left unclosed on this line, if any."""
    quote, start, i = None, None, 0
    while i < len(line):
        char = line[i]
        if quote is None:
            if char == "#":
                return None
            if char in "\"'":
                if line.startswith(char * 3, i):  # a long string may span lines: not our case
                    return None
                quote, start = char, i
            elif char == "<":
                end = line.find(">", i)
                i = len(line) if end < 0 else end
        elif char == "\\":
            i += 1
        elif char == quote:
            quote = None
        i += 1
    return start if quote is not None else None


def _label(graph: Graph, node) -> str | None:
    if node is None:
        return None
    for prop in _LABEL_PROPERTIES:
        label = graph.value(node, prop)
        if isinstance(label, Literal):
            return str(label)
    return None


def _short(graph: Graph, term) -> str:
    """A term as an editor would write it in Turtle (prefixed name where possible)."""
    if isinstance(term, URIRef):
        try:
            return graph.namespace_manager.normalizeUri(term)
        except ValueError:
            return term.n3()
    if isinstance(term, Literal):
        return term.n3(graph.namespace_manager)
    return str(term)


def _load_folder(folder: Path, what: str) -> Graph:
    """Every Turtle file of a folder, in one rdflib graph; a broken file is the maintainers' error."""
    graph = Graph()
    files = sorted(folder.glob("*.ttl")) if folder.is_dir() else []
    if not files:
        raise KGError(f"no {what} found in {folder}", f"set KG_{what.split()[0].upper()} or run from the project folder")
    for path in files:
        try:
            graph.parse(path, format="turtle")
        except Exception as error:  # rdflib raises many types; say which file broke
            raise KGError(f"the {what} file {path} does not parse: {error}", "run `kg validate` on it") from error
    return graph


def format_human(reports: Sequence[FileReport]) -> str:
    """One line per problem (file:line: resource property: message [value]), then a summary."""
    lines = []
    for report in reports:
        for p in report.problems:
            if p.kind in ("syntax", "unreadable", "file"):
                lines.append(f"{p.location()}: {p.message}")
                continue
            who = f'"{p.label}"' if p.label else None
            where = " ".join(x for x in (who, f"({_compact(p.focus)})" if p.focus else None) if x)
            prop = f" {p.path}" if p.path else ""
            got = f" [found: {p.value}]" if p.value is not None else ""
            lines.append(f"{p.location()}: {where}{prop}: {p.message}{got}")
    bad = [r for r in reports if not r.conforms]
    count = sum(len(r.problems) for r in reports)
    if bad:
        lines.append(
            f"{len(bad)} of {len(reports)} file(s) failed with {count} problem(s). "
            "Mend the lines above and run `kg validate` again."
        )
    else:
        lines.append(f"{len(reports)} file(s) conform.")
    return "\n".join(lines)


def _compact(iri: str) -> str:
    from .namespaces import BASE

    return iri.replace(BASE + "id/", "", 1).replace("/", ":", 1) if iri.startswith(BASE + "id/") else iri
