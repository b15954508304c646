"""A query worker process: runs SPARQL on a read-only handle of the embedded store.

Oxigraph has no query timeout, so the runner (kg.runner) sends each query to one of these
processes and kills it if it overruns. Imports stay minimal so a replacement starts quickly.
The handle is a snapshot: it is reopened whenever the store's version marker changes.

A request either asks for the answer as terms (pages, CONSTRUCT/DESCRIBE: the runner rebuilds
rdflib terms from tuples) or, for the /sparql endpoint, as a finished SPARQL JSON, XML, CSV or
TSV body ("serialize"), which is far cheaper for large answers: no term objects on either side
and one bytes object through the pipe.
"""

from __future__ import annotations

import os
import re

MARKER = "kg-version"  # a file in the store folder, rewritten after every write


def marker_state(store_path: str) -> tuple:
    """What identifies the store's current version from outside (cheap: one stat)."""
    try:
        info = os.stat(os.path.join(store_path, MARKER))
        return (info.st_mtime_ns, info.st_size, info.st_ino)
    except FileNotFoundError:
        return ()


def _term(term):
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return ("u", term.value)
    if isinstance(term, ox.BlankNode):
        return ("b", term.value)
    if isinstance(term, ox.Literal):
        return ("l", term.value, term.language, None if term.language else term.datatype.value)
    return None


def _run(store, request: dict):
    import pyoxigraph as ox

    kwargs = {"use_default_graph_as_union": not request.get("default_graphs")}
    if request.get("default_graphs"):
        kwargs["default_graph"] = [ox.NamedNode(g) for g in request["default_graphs"]]
    if request.get("named_graphs"):
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in request["named_graphs"]]
    results = store.query(request["query"], **kwargs)
    cap = request["max_rows"]
    fmt = request.get("serialize")
    if fmt and isinstance(results, (ox.QueryBoolean, ox.QuerySolutions)):
        return _serialized(store, request, kwargs, results, fmt, cap)
    if isinstance(results, ox.QueryBoolean):
        return {"kind": "ask", "boolean": bool(results)}
    if isinstance(results, ox.QuerySolutions):
        names = [v.value for v in results.variables]
        rows, truncated = [], False
        for solution in results:
            if len(rows) == cap:
                truncated = True
                break
            rows.append([_term(solution[name]) for name in names])
        return {"kind": "select", "variables": names, "rows": rows, "truncated": truncated}
    triples, truncated = [], False
    for triple in results:
        if len(triples) == cap:
            truncated = True
            break
        triples.append((_term(triple.subject), _term(triple.predicate), _term(triple.object)))
    return {"kind": "graph", "triples": triples, "truncated": truncated}


# -- finished result bodies for the endpoint -----------------------------------------------------
#
# The common case, an answer within the row cap, is written by pyoxigraph's own serializer, which
# costs next to nothing beyond evaluating the query. The cap is applied while it writes: every
# chunk is counted for what marks a row in that format, and past the cap the writer stops the
# serializer (the engine evaluates lazily, so a huge answer is never produced in full). The marks
# are exact for TSV (one line per row: newlines in literals are escaped) and XML ("<result>" cannot
# occur in escaped text) and an upper bound for JSON ("},{" separates rows but may also occur in a
# string) and CSV (a quoted value may hold a line break). So a body that stayed within the cap is
# complete and right; when the count passes the cap, the query is evaluated again and written by
# the Python writers below, which stop after exactly the cap. Only answers at or near the cap pay
# for that second evaluation, and it runs within the same time limit (the runner's clock).

_MARKS = {"json": b"},{", "xml": b"<result>", "csv": b"\r\n", "tsv": b"\n"}
_OFFSET = {"json": 1, "xml": 0, "csv": -1, "tsv": -1}  # rows = marks + offset (header lines, separators)


class _CapReached(Exception):
    pass


class _CountingSink:
    """A binary output for pyoxigraph's serializer that counts row marks and stops past the cap."""

    def __init__(self, fmt: str, cap: int):
        self.mark, self.offset, self.cap = _MARKS[fmt], _OFFSET[fmt], cap
        self.chunks: list[bytes] = []
        self.marks = 0
        self.tail = b""  # the end of the last chunk, for a mark split across two chunks

    def write(self, chunk) -> int:
        chunk = bytes(chunk)
        self.marks += (self.tail + chunk).count(self.mark)
        self.tail = chunk[-(len(self.mark) - 1):] if len(self.mark) > 1 else b""
        self.chunks.append(chunk)
        if self.marks + self.offset > self.cap:
            raise _CapReached()
        return len(chunk)

    def flush(self) -> None:
        pass


def _serialized(store, request: dict, kwargs: dict, results, fmt: str, cap: int) -> dict:
    import pyoxigraph as ox

    if isinstance(results, ox.QueryBoolean):  # tiny: written as before, with a header row in CSV/TSV
        return {"kind": "ask", "body": write_boolean(bool(results), fmt), "truncated": False}
    sink = _CountingSink(fmt, cap)
    try:
        results.serialize(sink, format=getattr(ox.QueryResultsFormat, fmt.upper()))
    except _CapReached:  # pyoxigraph passes on what the sink raised, and stops evaluating
        pass
    else:
        return {"kind": "select", "body": b"".join(sink.chunks), "truncated": False}
    again = store.query(request["query"], **kwargs)
    body, truncated = write_solutions(again, fmt, cap)
    return {"kind": "select", "body": body, "truncated": truncated}


def write_boolean(value: bool, fmt: str) -> bytes:
    """An ASK answer in FMT (json, xml, csv, tsv), as kg.results writes it."""
    word = "true" if value else "false"
    if fmt == "json":
        return ('{"head": {}, "boolean": %s}' % word).encode()
    if fmt == "xml":
        return ('<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>\n</head>\n'
                f"<boolean>{word}</boolean>\n</sparql>").encode()
    return f"boolean\r\n{word}\r\n".encode()


_XSD = "http://www.w3.org/2001/XMLSchema#"
_TSV_BARE = {  # literals TSV may write as bare Turtle tokens (as pyoxigraph's writer does)
    _XSD + "boolean": re.compile(r"true|false"),
    _XSD + "integer": re.compile(r"[+-]?[0-9]+"),
    _XSD + "decimal": re.compile(r"[+-]?[0-9]*\.[0-9]+"),
    _XSD + "double": re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)[eE][+-]?[0-9]+"),
}


def write_solutions(results, fmt: str, cap: int) -> tuple[bytes, bool]:
    """The first CAP solutions of RESULTS (pyoxigraph QuerySolutions) as a SPARQL results body in
    FMT, and whether there were more. The same meaning as pyoxigraph's serializer; in JSON a cut
    answer also says so in its head ("link": ["#truncated"])."""
    import csv
    import io
    import json
    from xml.sax.saxutils import escape, quoteattr

    import pyoxigraph as ox

    names = [v.value for v in results.variables]
    rows, truncated = [], False
    for solution in results:
        if len(rows) == cap:
            truncated = True
            break
        rows.append([solution[name] for name in names])

    if fmt == "json":
        def term(t):
            if isinstance(t, ox.NamedNode):
                return {"type": "uri", "value": t.value}
            if isinstance(t, ox.BlankNode):
                return {"type": "bnode", "value": t.value}
            if isinstance(t, ox.Literal):
                out = {"type": "literal", "value": t.value}
                if t.language:
                    out["xml:lang"] = t.language
                elif t.datatype.value != _XSD + "string":
                    out["datatype"] = t.datatype.value
                return out
            return {"type": "triple", "value": {"subject": term(t.subject), "predicate": term(t.predicate),
                                                "object": term(t.object)}}

        head = {"vars": names, **({"link": ["#truncated"]} if truncated else {})}
        bindings = [{n: term(t) for n, t in zip(names, row) if t is not None} for row in rows]
        body = json.dumps({"head": head, "results": {"bindings": bindings}}, ensure_ascii=False)
        return body.encode("utf-8"), truncated

    if fmt == "xml":
        def term(t):
            if isinstance(t, ox.NamedNode):
                return f"<uri>{escape(t.value)}</uri>"
            if isinstance(t, ox.BlankNode):
                return f"<bnode>{escape(t.value)}</bnode>"
            if isinstance(t, ox.Literal):
                if t.language:
                    return f"<literal xml:lang={quoteattr(t.language)}>{escape(t.value)}</literal>"
                if t.datatype.value != _XSD + "string":
                    return f"<literal datatype={quoteattr(t.datatype.value)}>{escape(t.value)}</literal>"
                return f"<literal>{escape(t.value)}</literal>"
            return (f"<triple><subject>{term(t.subject)}</subject><predicate>{term(t.predicate)}</predicate>"
                    f"<object>{term(t.object)}</object></triple>")

        out = ['<?xml version="1.0"?><sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
        out += [f"<variable name={quoteattr(n)}/>" for n in names]
        out.append("</head><results>")
        for row in rows:
            out.append("<result>")
            out += [f"<binding name={quoteattr(n)}>{term(t)}</binding>" for n, t in zip(names, row) if t is not None]
            out.append("</result>")
        out.append("</results></sparql>")
        return "".join(out).encode("utf-8"), truncated

    if fmt == "csv":
        def term(t):
            if t is None:
                return ""
            if isinstance(t, ox.BlankNode):
                return str(t)  # _:label, as the CSV format asks
            if isinstance(t, (ox.NamedNode, ox.Literal)):
                return t.value
            return str(t)

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(names)
        writer.writerows([term(t) for t in row] for row in rows)
        return buffer.getvalue().encode("utf-8"), truncated

    def tsv(t):
        if t is None:
            return ""
        if isinstance(t, ox.Literal) and not t.language:
            bare = _TSV_BARE.get(t.datatype.value)
            if bare is not None and bare.fullmatch(t.value):
                return t.value
        return str(t)  # N-Triples syntax: newlines and tabs in literals escaped

    lines = ["\t".join("?" + n for n in names)]
    lines += ["\t".join(tsv(t) for t in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8"), truncated


def serve(requests, replies, store_path: str) -> None:
    """Answer query requests from REQUESTS on REPLIES until None arrives or the pipe closes."""
    import pyoxigraph as ox

    store, seen = None, None
    connection = replies
    while True:
        try:
            request = requests.recv()
        except EOFError:
            return
        if request is None:
            return
        try:
            state = marker_state(store_path)
            if store is None or state != seen:
                store = None
                store = ox.Store.read_only(store_path)
                seen = state
            connection.send(("ok", _run(store, request)))
        except SyntaxError as error:
            connection.send(("syntax", str(error)))
        except OSError as error:
            connection.send(("store", str(error)))
        except Exception as error:  # anything else the engine raises: report it, keep serving
            connection.send(("error", f"{type(error).__name__}: {error}"))


def main(argv: list[str]) -> None:
    """python -m kg.query_worker STORE_PATH READ_FD WRITE_FD (started by kg.runner)."""
    from multiprocessing.connection import Connection

    store_path, read_fd, write_fd = argv[0], int(argv[1]), int(argv[2])
    serve(Connection(read_fd, writable=False), Connection(write_fd, readable=False), store_path)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
