"""Query results written out: SPARQL 1.1 JSON and CSV/TSV result formats, and a text table."""

from __future__ import annotations

import csv
import io
import json

from rdflib import BNode, Literal, URIRef

from .namespaces import PREFIXES
from .store.base import QueryResult


def term_json(term) -> dict:
    """One term in the SPARQL 1.1 Query Results JSON Format."""
    if isinstance(term, URIRef):
        return {"type": "uri", "value": str(term)}
    if isinstance(term, BNode):
        return {"type": "bnode", "value": str(term)}
    out = {"type": "literal", "value": str(term)}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype is not None:
        out["datatype"] = str(term.datatype)
    return out


def to_json(result: QueryResult) -> str:
    if result.kind == "ask":
        return json.dumps({"head": {}, "boolean": result.boolean})
    payload = {
        "head": {"vars": result.variables},
        "results": {"bindings": [{k: term_json(v) for k, v in row.items()} for row in result.rows]},
    }
    if result.truncated:
        payload["head"]["link"] = ["#truncated"]
    return json.dumps(payload, ensure_ascii=False)


def to_csv(result: QueryResult, delimiter: str = ",") -> str:
    """SPARQL 1.1 CSV (plain values) or, with a tab delimiter, TSV (terms in Turtle syntax)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    if result.kind == "ask":
        writer.writerow(["boolean"])
        writer.writerow(["true" if result.boolean else "false"])
        return buffer.getvalue()
    if delimiter == "\t":
        buffer.write("\t".join("?" + v for v in result.variables) + "\n")
        for row in result.rows:
            buffer.write("\t".join(row[v].n3() if v in row else "" for v in result.variables) + "\n")
        return buffer.getvalue()
    writer.writerow(result.variables)
    for row in result.rows:
        writer.writerow([str(row[v]) if v in row else "" for v in result.variables])
    return buffer.getvalue()


def to_xml(result: QueryResult) -> str:
    """SPARQL 1.1 Query Results XML Format."""
    from xml.sax.saxutils import escape, quoteattr

    out = ['<?xml version="1.0"?>', '<sparql xmlns="http://www.w3.org/2005/sparql-results#">', "<head>"]
    out += [f"<variable name={quoteattr(v)}/>" for v in result.variables]
    out.append("</head>")
    if result.kind == "ask":
        out.append(f"<boolean>{'true' if result.boolean else 'false'}</boolean>")
    else:
        out.append("<results>")
        for row in result.rows:
            out.append("<result>")
            for name, term in row.items():
                if isinstance(term, URIRef):
                    value = f"<uri>{escape(str(term))}</uri>"
                elif isinstance(term, BNode):
                    value = f"<bnode>{escape(str(term))}</bnode>"
                elif term.language:
                    value = f"<literal xml:lang={quoteattr(term.language)}>{escape(str(term))}</literal>"
                elif term.datatype is not None:
                    value = f"<literal datatype={quoteattr(str(term.datatype))}>{escape(str(term))}</literal>"
                else:
                    value = f"<literal>{escape(str(term))}</literal>"
                out.append(f"<binding name={quoteattr(name)}>{value}</binding>")
            out.append("</result>")
        out.append("</results>")
    out.append("</sparql>")
    return "\n".join(out)


def to_rdf(result: QueryResult, rdflib_format: str) -> bytes:
    """A CONSTRUCT/DESCRIBE result as Turtle, N-Triples, JSON-LD or RDF/XML."""
    from rdflib import Graph

    from .namespaces import bind_prefixes

    graph = bind_prefixes(Graph())
    for triple in result.triples:
        graph.add(triple)
    return graph.serialize(format=rdflib_format, encoding="utf-8")


def compact(term) -> str:
    """A term for people: prefixed names for IRIs, the plain value for literals."""
    if isinstance(term, URIRef):
        text = str(term)
        best = max(
            ((p, str(ns)) for p, ns in PREFIXES.items() if text.startswith(str(ns))),
            key=lambda item: len(item[1]),
            default=None,
        )
        return f"{best[0]}:{text[len(best[1]):]}" if best else f"<{text}>"
    if isinstance(term, Literal):
        return str(term)
    return "" if term is None else str(term)


def to_table(result: QueryResult) -> str:
    if result.kind == "ask":
        return "yes" if result.boolean else "no"
    if result.kind == "graph":
        return "\n".join(" ".join(compact(t) for t in triple) for triple in result.triples)
    cells = [[compact(row.get(v)) for v in result.variables] for row in result.rows]
    widths = [max([len(v)] + [len(c[i]) for c in cells]) for i, v in enumerate(result.variables)]
    widths = [min(w, 60) for w in widths]
    lines = ["  ".join(v.ljust(w) for v, w in zip(result.variables, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join((c if len(c) <= w else c[: w - 1] + "…").ljust(w) for c, w in zip(row, widths)))
    lines.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''}{', truncated' if result.truncated else ''})")
    return "\n".join(lines)
