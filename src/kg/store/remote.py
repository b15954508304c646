"""A store on any SPARQL 1.1 server: queries and writes over the SPARQL 1.1 Protocol.

Only standards are spoken, so the same code runs on `oxigraph serve`, Fuseki, Virtuoso or
GraphDB. The server's default graph must be the union of its named graphs (`oxigraph serve
--union-default-graph`; Virtuoso does this by default, but its own system graphs must be made
private to the query account, see docs/deploy.md; Fuseki with `tdb2:unionDefaultGraph true`).
A response that does not parse is a failure, never a partial answer: `oxigraph serve
--timeout-s` cuts a slow answer short with status 200.

Requests are built by SPARQLWrapper and sent through this store's own urllib opener, which
answers the server's challenge with HTTP Basic or Digest (Virtuoso's `/sparql-auth` speaks only
Digest). SPARQLWrapper's own Digest support installs a process-wide urllib opener, which a web
app with several threads and stores cannot have.

What differs on Virtuoso (7.2, the Debian package) is handled here, and only when the server
says it is Virtuoso (its `Server` header); every other server gets exactly the standard text:

- **Row cap.** Virtuoso cuts every SELECT answer at `ResultSetMaxRows` rows (10,000 by default)
  and says so only in an `X-SPARQL-MaxRows` header; a CONSTRUCT or DESCRIBE answer is cut at the
  same size without any sign. A cut SELECT answer is never returned as it is: the query is run
  again in pages of that size (LIMIT/OFFSET rewritten at its top level), and the store's version
  is read before and after so that a write in between cannot mix two states. A cut CONSTRUCT or
  DESCRIBE answer raises a StoreError (its solutions cannot be counted from its triples).
- **Writes.** Every update starts with `DEFINE sql:big-data-const 1` and big INSERT DATA blocks
  go in parts of 500 triples, within the one request (see `virtuoso_update_text`). The version bump's OPTIONAL gives no solution in an update on Virtuoso when
  nothing matches, so the first version would never be written: it is sent as an aggregate
  instead. Virtuoso refuses blank nodes in `INSERT DATA` (such blocks are sent as
  `INSERT { … } WHERE {}`, the same fresh blank nodes); stores an integral `xsd:decimal` as an
  `xsd:integer` (written with a ".0"); keeps `"x"^^xsd:string` apart from `"x"` (written plain,
  as RDF 1.1 says they are one term); cannot hold `xsd:time` literals, integers of 2^60 and
  beyond, or dates before year 1 (refused with a StoreError naming the literal, never stored
  altered). Literals are written in the canonical form Virtuoso gives back, so a reload's diff
  compares like with like.
- **Durations.** Virtuoso turns an `xsd:duration` it can parse into a bare number ("P14D" into
  "1.2096e+06" seconds, "P2M" into "2" months, "P1MT1H" into "1": the hours lost), or fails to
  compile the update ("SQ200: No column P14DD"); see openlink/virtuoso-opensource issues 224,
  936 and 1147. A form its parser does not take is kept exactly as written, and for durations
  in years, months and days one such form is the canonical one with a zero seconds part:
  "P14D" is sent as "P14DT0S", "P2M" as "P2MT0S" (measured on 7.2.5, see tests/test_virtuoso.py).
  So durations are written, and matched in query text, in that form, and read back in the
  canonical XSD form (the one Oxigraph gives): "P14DT0S" comes back as "P14D", the same value
  and the same term the embedded store holds. A duration with hours, minutes or seconds has no
  such form and is refused, as are `xsd:dayTimeDuration` and `xsd:yearMonthDuration` literals.
- **Reads.** `GRAPH ?g {}` (which graphs exist) gives one row with ?g unbound: it is sent as
  `GRAPH ?g { [] ?p [] }`. Blank nodes come back as `nodeID://b123` (read as `b123`), booleans as "1"/"0"
  (read as "true"/"false"). DESCRIBE of the default graph answers nothing unless asked for a
  concise bounded description (`DEFINE sql:describe-mode "CBD"`, sent to Virtuoso only).
- **Errors.** Updates without the right come back as 500 with Virtuoso's SR186/SR619 codes; they
  become a StoreError that says which endpoint and account to use. Virtuoso keeps the operations
  of a request that ran before a failing one (it commits after an error), so a failed write may
  be partly applied: the message says so, and loading the file again repairs it. A sorted row
  holding a value of more than about 4 kB (a long GROUP_CONCAT: SR478, SR319) fails on Virtuoso;
  the message says to narrow the query.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from xml.sax import SAXParseException

import pyoxigraph
from rdflib import BNode, Literal, URIRef
from SPARQLWrapper import JSON, POST, SPARQLWrapper

from ..sparql import _tokens, bind, query_form
from ..namespaces import KG
from .base import META_GRAPH, STORE_NODE, QueryResult, Store, StoreError, Triple, WriteOutcome, _bump_version
from .embedded import EmbeddedStore

_USER_AGENT = "detention-kg (SPARQLWrapper)"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_XSD_STRING = _XSD + "string"
_XSD_DURATION = _XSD + "duration"


class RemoteStore(Store):
    """A SPARQL 1.1 Query + Update server, addressed by its endpoint URLs."""

    def __init__(
        self,
        query_url: str,
        update_url: str | None = None,
        *,
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
    ):
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.user, self.password, self.timeout = user, password, timeout
        self.description = f"SPARQL server at {query_url}"
        self._opener = _opener(user, password, (self.query_url, self.update_url))
        self._server: str | None = None  # the Server header of the first answer
        self._row_cap: int | None = None  # Virtuoso's ResultSetMaxRows, once known

    # -- HTTP ----------------------------------------------------------------------------------

    def _client(self, url: str) -> SPARQLWrapper:
        client = SPARQLWrapper(url, agent=_USER_AGENT)
        client.setTimeout(int(self.timeout))
        client.setMethod(POST)
        client.setOnlyConneg(True)  # the Accept header only: no format=/output= parameters (Virtuoso obeys them)
        return client

    def _send(self, client: SPARQLWrapper, *, update: bool = False) -> tuple[bytes, dict]:
        """Send the client's request; the body and headers of a 2xx answer, else a StoreError."""
        request = client._createRequest()
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body = response.read()
                headers = {k.lower(): v for k, v in response.headers.items()}
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace").strip()[:300] if error.fp else ""
            if self._server is None and error.headers is not None:
                self._server = error.headers.get("Server", "")
            raise self._http_error(error.code, error.reason, detail, update) from error
        except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError, http.client.HTTPException) as error:
            raise self._connection_error(error, update) from error
        except ValueError as error:  # urllib: an authentication scheme it does not speak
            raise StoreError(f"the {self.description} asked for a sign-in this store cannot give: {error}") from error
        if self._server is None:
            self._server = headers.get("server", "")
        return body, headers

    def _connection_error(self, error: Exception, update: bool) -> StoreError:
        """The StoreError for a connection that failed, saying whether the request can have had effect.

        urllib wraps in URLError what fails before the request is sent (refused, no such host, a
        connect timeout); a reset, a dropped connection, a read timeout or a cut answer come after
        it was sent: the server may have run it (an update may be applied) before it went away.
        """
        reason = getattr(error, "reason", error) or type(error).__name__
        sent = not isinstance(error, urllib.error.URLError) or isinstance(reason, (ConnectionResetError, BrokenPipeError))
        if not sent:
            return StoreError(
                f"cannot reach the {self.description}: {reason}",
                "check that the server is running and the URL is right (KG_SPARQL_QUERY); nothing was changed",
            )
        what = f"{reason}" if str(reason) else type(reason).__name__
        if isinstance(reason, TimeoutError):  # socket.timeout too; "timed out" is what kg.runner looks for
            return StoreError(
                f"the {self.description} did not answer within {self.timeout:g} s (timed out)"
                + (": the update may or may not have been applied" if update else ""),
                "check the server's load, or raise KG_SPARQL_TIMEOUT"
                + ("; then load the files again (a load replaces each graph as a whole)" if update else
                   "; a narrower query may answer in time"),
            )
        if not update:
            return StoreError(
                f"the {self.description} stopped answering mid-request ({what})",
                "check that the server is running; try again",
            )
        return StoreError(
            f"the {self.description} stopped answering after the update was sent ({what}): it may or may not "
            "have been applied",
            "check that the server is running, then load the files again: a load replaces each graph and its "
            "provenance as a whole, so loading again gives the same result either way",
        )

    def _http_error(self, code: int, reason: str, detail: str, update: bool) -> StoreError:
        if self.is_virtuoso:
            if re.search(r"\bSR186\b|\bSR619\b|access denied|No permission", detail):
                account = f"the account {self.user!r}" if self.user else "the anonymous account"
                return StoreError(
                    f"the {self.description} refused the update: {account} may not write there "
                    f"({self.update_url}): {detail}",
                    "send updates to Virtuoso's /sparql-auth (KG_SPARQL_UPDATE) as a user granted SPARQL_UPDATE "
                    "and write permission on the graphs (KG_SPARQL_USER, KG_SPARQL_PASSWORD); see docs/deploy.md",
                )
            if "SR353" in detail:
                return StoreError(
                    f"the {self.description} refused to sort that many rows: {detail}",
                    "raise MaxSortedTopRows in [Parameters] of virtuoso.ini above the largest answer read in pages, "
                    "or narrow the query",
                )
            if re.search(r"\bSR478\b|\bSR319\b", detail):  # measured on 7.2.5: between 3.3 and 6.7 kB
                return StoreError(
                    f"the {self.description} cannot sort or group a value of more than about 4 kB (a GROUP_CONCAT "
                    f"over many values, such as a matrix cell with a hundred statements): {detail}",
                    "narrow the query (a region, a day, a measure type, a country) so that fewer values are "
                    "joined, or use another store for it",
                )
            if "not translated to an accurate SQL text" in detail:  # a big update failed; Virtuoso hides why
                return StoreError(
                    f"the {self.description} refused the update without saying why (Virtuoso cannot report the "
                    "error of an update sent with sql:big-data-const 1, as big ones are)",
                    "check that the account may write there (SPARQL_UPDATE, graph permissions) and the server's "
                    "log; the write may be partly applied: load the file again once the cause is fixed",
                )
            if update and code >= 500:
                return StoreError(
                    f"the {self.description} answered {code} ({reason}): {detail}",
                    "Virtuoso keeps the operations of a request that ran before the failing one, so the write may "
                    "be partly applied: check the server's log, then load the file again (a load replaces the "
                    "whole graph and its provenance)",
                )
        if code in _STATUS:
            status, hint = _STATUS[code]
        else:
            status = f"answered {code} {reason}"
            hint = "check the server's log; nothing was changed" if code >= 500 else "check the request"
        return StoreError(f"the {self.description} {status}: {detail}".rstrip(": "), hint)

    @property
    def is_virtuoso(self) -> bool:
        """Whether the server said it is Virtuoso (known after its first answer)."""
        return (self._server or "").lower().startswith("virtuoso")

    def _know_server(self) -> None:
        """Ask the server once who it is, before text that depends on it is sent."""
        if self._server is None:
            self._select_once("ASK {}")

    # -- reading ---------------------------------------------------------------------------

    def query(self, sparql: str, bindings: Mapping[str, object] | None = None, *, union: bool = True) -> QueryResult:
        # union: the server's default graph is configured as the union (see the module's note).
        text = bind(sparql, bindings)
        form = query_form(text)
        self._know_server()
        if self.is_virtuoso:  # GRAPH ?g {} gives one row with ?g unbound on Virtuoso: ask for a triple
            text = _EMPTY_GRAPH_PATTERN.sub(r"GRAPH \1 { [] ?kg_any_p [] }", text)
            text = virtuoso_query_text(text)  # durations as they are stored there
        if form in ("CONSTRUCT", "DESCRIBE"):
            return self._graph_query(text, form)
        result, headers = self._select_once(text)
        if self.is_virtuoso and result.kind == "select" and self._was_cut(text, result, headers):
            return self._select_in_pages(text, result.variables)
        return result

    def _select_once(self, text: str) -> tuple[QueryResult, dict]:
        client = self._client(self.query_url)
        client.setQuery(text)
        client.setReturnFormat(JSON)
        body, headers = self._send(client)
        try:
            payload = json.loads(body)
        except (ValueError, SAXParseException) as error:
            raise StoreError(
                f"the {self.description} sent an incomplete or malformed answer ({len(body)} bytes)",
                "the server may have cut a slow query short; try a narrower query",
            ) from error
        if "boolean" in payload:
            return QueryResult("ask", boolean=bool(payload["boolean"])), headers
        virtuoso = self.is_virtuoso
        names = payload.get("head", {}).get("vars", [])
        rows = [
            {name: _json_term(value, virtuoso) for name, value in binding.items()}
            for binding in payload.get("results", {}).get("bindings", [])
        ]
        return QueryResult("select", variables=names, rows=rows), headers

    def _graph_query(self, text: str, form: str) -> QueryResult:
        if form == "DESCRIBE":
            if self.is_virtuoso:  # its default DESCRIBE of the union default graph answers nothing
                text = 'DEFINE sql:describe-mode "CBD"\n' + text
        client = self._client(self.query_url)
        client.setQuery(text)
        client.setReturnFormat("n3")
        client.addCustomHttpHeader("Accept", "application/n-triples")
        body, _ = self._send(client)
        try:
            parsed = pyoxigraph.parse(body, format=pyoxigraph.RdfFormat.N_TRIPLES)
            triples = [(_term(t.subject), _term(t.predicate), _term(t.object)) for t in parsed]
            if self.is_virtuoso:
                triples = [(s, p, _virtuoso_read_duration(o)) for s, p, o in triples]
        except SyntaxError as error:
            raise StoreError(f"the {self.description} sent an answer that does not parse: {error}") from error
        if self.is_virtuoso:
            cap = self.row_cap()
            if len(triples) > cap:  # a cut answer holds cap + 1 triples (measured on 7.2.5)
                raise StoreError(
                    f"the {self.description} cut the answer at about {cap} triples (Virtuoso's ResultSetMaxRows); "
                    "the rest is missing",
                    f"narrow the {form} (LIMIT, a more specific pattern), or raise ResultSetMaxRows in [SPARQL] "
                    "of virtuoso.ini",
                )
        return QueryResult("graph", triples=triples)

    # -- Virtuoso's row cap ----------------------------------------------------------------

    def row_cap(self) -> int:
        """Virtuoso's ResultSetMaxRows: read once from `/sparql?ini` (or a cut answer's header)."""
        if self._row_cap is None:
            cap = None
            try:
                with self._opener.open(
                    urllib.request.Request(
                        self.query_url + ("&" if "?" in self.query_url else "?") + "ini=1",
                        headers={"Accept": "application/sparql-results+json", "User-Agent": _USER_AGENT},
                    ),
                    timeout=self.timeout,
                ) as response:
                    for row in json.loads(response.read()).get("results", {}).get("bindings", []):
                        if row.get("p", {}).get("value", "").endswith("#ResultSetMaxRows"):
                            cap = int(row["o"]["value"])
            except (OSError, ValueError, KeyError):
                cap = None
            self._row_cap = cap if cap and cap > 0 else 10000  # Virtuoso's default
        return self._row_cap

    def _was_cut(self, text: str, result: QueryResult, headers: dict) -> bool:
        header = headers.get("x-sparql-maxrows")
        if header and header.strip().isdigit():
            self._row_cap = int(header)
        elif len(result.rows) < self.row_cap():
            return False
        _, limit = _window(text)
        return limit is None or limit > self.row_cap()

    def _select_in_pages(self, text: str, variables: list[str]) -> QueryResult:
        """All rows of a SELECT that Virtuoso cut at its cap, read in pages of the cap's size."""
        cap = self.row_cap()
        start, limit = _window(text)
        for _ in range(3):
            before = self.version()
            rows: list[dict] = []
            offset, remaining = start, limit
            while remaining is None or remaining > 0:
                size = cap if remaining is None else min(cap, remaining)
                page, _ = self._select_once(_with_window(text, offset, size))
                rows += page.rows
                if len(page.rows) < size:
                    break
                offset += size
                remaining = None if remaining is None else remaining - size
            if self.version() == before:
                return QueryResult("select", variables=variables, rows=rows)
        raise StoreError(
            f"the {self.description} was written to while a large answer was read from it in pages",
            "run the query again",
        )

    # -- the rest of the interface -----------------------------------------------------------

    def graph_triples(self, graph: str) -> set[Triple]:
        result = self.query("SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }", {"g": URIRef(graph)}, union=False)
        return {(r["s"], r["p"], r["o"]) for r in result.rows}

    def dump(self, fmt: str, graph: str | None = None) -> bytes:
        # Gather the quads over the standard protocol, then write them with the embedded serialisers.
        bindings = {"g": URIRef(graph)} if graph else None
        result = self.query("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }", bindings, union=False)
        scratch = EmbeddedStore()
        scratch.oxigraph.extend(
            pyoxigraph.Quad(_ox(r["s"]), _ox(r["p"]), _ox(r["o"]), _ox(r["g"])) for r in result.rows
        )
        return scratch.dump(fmt, graph)

    def replace_graph(self, graph: str, triples: Iterable[Triple], *, file: str, sha256: str) -> WriteOutcome:
        self._know_server()
        if self.is_virtuoso:  # write what Virtuoso gives back, so that diffs compare like with like
            triples = {tuple(_virtuoso_canonical(term) for term in triple) for triple in triples}
        return super().replace_graph(graph, triples, file=file, sha256=sha256)

    def _update(self, sparql: str) -> None:
        self._know_server()
        if self.is_virtuoso:
            sparql = virtuoso_update_text(sparql)
        client = self._client(self.update_url)
        client.setQuery(sparql)
        self._send(client, update=True)


_STATUS = {
    500: ("answered 500 (internal error)", "check the server's log; nothing was changed"),
    404: ("answered 404 (no such endpoint)", "check the endpoint URL (KG_SPARQL_QUERY, KG_SPARQL_UPDATE)"),
    401: ("answered 401 (unauthorised)", "set KG_SPARQL_USER and KG_SPARQL_PASSWORD"),
    400: ("answered 400 (bad request)", "the server did not accept the query or update"),
    414: ("answered 414 (request too long)", None),
}


def _opener(user: str | None, password: str | None, urls: Iterable[str]) -> urllib.request.OpenerDirector:
    """An opener of this store's own that answers a Basic or Digest challenge with the credentials.

    Nothing is sent before the server asks: Virtuoso's /sparql-auth answers an unasked-for Basic
    header with a bare 401, and a password should not travel in clear to a server that wants Digest.
    """
    handlers = []
    if user:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        for url in urls:
            passwords.add_password(None, url, user, password or "")
        handlers = [_DigestAuthHandler(passwords), urllib.request.HTTPBasicAuthHandler(passwords)]
    return urllib.request.build_opener(*handlers)


class _DigestAuthHandler(urllib.request.HTTPDigestAuthHandler):
    """urllib's Digest handler, which counts a signed request that then failed (Virtuoso's 500 for
    a refused update) as a failed sign-in and never resets the count: after six such failures every
    later request of the store got "401 digest auth failed". The count is reset once each request
    is over; nested retries within one request still stop at six."""

    def http_error_401(self, req, fp, code, msg, headers):
        try:
            return super().http_error_401(req, fp, code, msg, headers)
        finally:
            self.reset_retry_count()


# -- query text: the top-level LIMIT / OFFSET --------------------------------------------------


def _modifiers(text: str) -> tuple[list[tuple[int, int, str, int]], int]:
    """Top-level LIMIT/OFFSET clauses (start, end, keyword, number) and where a new one may go."""
    clauses, depth, insert_at = [], 0, len(text)
    for kind, token, start in _tokens(text):
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
        elif kind == "word" and depth == 0:
            upper = token.upper()
            if upper in ("LIMIT", "OFFSET"):
                number = re.compile(r"\s*(\d+)").match(text, start + len(token))
                if number:
                    clauses.append((start, number.end(), upper, int(number.group(1))))
            elif upper == "VALUES":  # the trailing VALUES clause follows the solution modifiers
                insert_at = min(insert_at, start)
    return clauses, insert_at


def _window(text: str) -> tuple[int, int | None]:
    """The query's own OFFSET (0 if none) and LIMIT (None if none)."""
    clauses, _ = _modifiers(text)
    found = {keyword: number for _, _, keyword, number in clauses}
    return found.get("OFFSET", 0), found.get("LIMIT")


def _with_window(text: str, offset: int, limit: int) -> str:
    """TEXT with its top-level LIMIT/OFFSET replaced by LIMIT LIMIT OFFSET OFFSET."""
    clauses, insert_at = _modifiers(text)
    for start, end, _, _ in sorted(clauses, reverse=True):
        text = text[:start] + text[end:]
        if start < insert_at:
            insert_at -= end - start
    return text[:insert_at].rstrip() + f"\nLIMIT {limit} OFFSET {offset}\n" + text[insert_at:]


# -- Virtuoso: writing ---------------------------------------------------------------------

_INTEGERS = {
    _XSD + name
    for name in (
        "integer", "long", "nonNegativeInteger", "positiveInteger", "nonPositiveInteger", "negativeInteger",
        "unsignedLong",
    )
}
_UNSTORABLE = {  # what Virtuoso 7.2 changes or refuses on the way in (see the module's note)
    _XSD + "dayTimeDuration": "cannot store xsd:dayTimeDuration literals",
    _XSD + "yearMonthDuration": "cannot store xsd:yearMonthDuration literals",
    _XSD + "time": "cannot read an xsd:time literal written in an update",
}
_VIRTUOSO_INTEGER_LIMIT = 2**60  # from 2^60 Virtuoso returns xsd:decimal; from 2^63 a wrong number
_LITERAL = re.compile(
    r"""(?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
    r"""(?:\^\^(?P<datatype><[^<>"{}|^`\\\x00-\x20]*>|(?P<pname>[A-Za-z][\w.-]*)?:(?P<local>[\w.-]*)))?""",
    re.DOTALL,
)
_EMPTY_GRAPH_PATTERN = re.compile(r"\bGRAPH\s+([?$]\w+)\s*\{\s*\}", re.IGNORECASE)
_BLANK = re.compile(r"_:[A-Za-z0-9_][\w.-]*|\[\s*\]")


def _virtuoso_bump_version() -> str:
    """The version bump in a form Virtuoso runs right.

    In an update's WHERE, Virtuoso 7.2 gives no solution for an OPTIONAL that matches nothing
    when nothing comes before it, so the standard bump never writes the first version. An
    aggregate over the (maybe empty) version gives exactly one solution on every server.
    """
    return (
        f"DELETE {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> <{KG.storeVersion}> ?v }} }}\n"
        f"INSERT {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> a <{KG.StoreState}> ; <{KG.storeVersion}> ?next }} }}\n"
        f"WHERE {{ {{ SELECT (MAX(?current) AS ?v) WHERE {{ GRAPH <{META_GRAPH}> {{ <{STORE_NODE}> <{KG.storeVersion}> ?current }} }} }}"
        f" BIND(COALESCE(?v + 1, 1) AS ?next) }}"
    )


#: Triples per INSERT DATA operation sent to Virtuoso: its SPARQL parser runs out of memory
#: between 2,000 and 5,000 triples in one operation (7.2.5), whatever the request's size.
VIRTUOSO_TRIPLES_PER_OPERATION = 500
#: Above this many triples of INSERT DATA, an update is sent with ``sql:big-data-const 1``.
VIRTUOSO_BIG_DATA = 200


def virtuoso_update_text(text: str) -> str:
    """A SPARQL Update request rewritten for what Virtuoso accepts and keeps (module's note).

    A big request starts with ``DEFINE sql:big-data-const 1``: the endpoint itself prepends ``… 0``
    whenever MaxQueryCostEstimationTime is set (the default), which makes it compile constant data
    into SQL text: 2,000 triples then exceed its 10,000-line limit and 5,000 took 30 s; with ``1``,
    0.3 s. Small requests go without it, because with it Virtuoso's error report cannot show why a
    failed update failed (it answers 400 "…not translated to an accurate SQL text…" instead).
    """
    text = _rewrite_literals(text.replace(_bump_version(), _virtuoso_bump_version()), _virtuoso_literal)
    text, triples = _virtuoso_insert_data(text)
    return ("DEFINE sql:big-data-const 1\n" + text) if triples > VIRTUOSO_BIG_DATA else text


def _virtuoso_insert_data(text: str) -> tuple[str, int]:
    """INSERT DATA blocks as Virtuoso takes them: with blank nodes as INSERT … WHERE {}, big ones in parts."""
    out, last, total = [], 0, 0
    tokens = [(kind, token, start) for kind, token, start in _tokens(text) if kind != "comment" and token.strip()]
    i = 0
    while i < len(tokens):
        kind, token, start = tokens[i]
        if not (kind == "word" and token.upper() == "INSERT" and i + 2 < len(tokens)
                and tokens[i + 1][0] == "word" and tokens[i + 1][1].upper() == "DATA" and tokens[i + 2][0] == "open"):
            if kind == "open":  # skip nested groups: INSERT DATA is an operation of its own
                depth, i = 1, i + 1
                while i < len(tokens) and depth:
                    depth += {"open": 1, "close": -1}.get(tokens[i][0], 0)
                    i += 1
                continue
            i += 1
            continue
        # INSERT DATA { … }: find its end, its GRAPH <g> { … } groups, triple ends and blank nodes
        depth, j, blank = 0, i + 2, False
        groups = []  # (graph iri text, body start, body end, [triple end offsets])
        current = None
        while j < len(tokens):
            k, t, at = tokens[j]
            if k == "open":
                depth += 1
                if depth == 2 and j >= 2 and tokens[j - 2][0] == "word" and tokens[j - 2][1].upper() == "GRAPH":
                    current = (tokens[j - 1][1], at + 1, [])
            elif k == "close":
                depth -= 1
                if depth == 1 and current is not None:
                    groups.append((current[0], current[1], at, current[2]))
                    current = None
                if depth == 0:
                    break
            elif _BLANK.match(text, at):
                blank = True
            elif current is not None and depth == 2 and t == "." and re.match(r"\.(\s|$)", text[at:at + 2]):
                current[2].append(at + 1)
            j += 1
        block_end = tokens[j][2] + 1 if j < len(tokens) else len(text)
        total += sum(len(ends) for _, _, _, ends in groups)
        out.append(text[last:start])
        if blank:  # Virtuoso: "Blank node is not allowed in a constant clause"; one operation keeps their labels
            out.append("INSERT " + text[tokens[i + 2][2]:block_end] + " WHERE {}")
        elif groups and any(len(ends) > VIRTUOSO_TRIPLES_PER_OPERATION for _, _, _, ends in groups):
            parts = []
            for graph, body_start, body_end, ends in groups:
                cut = [body_start] + ends[VIRTUOSO_TRIPLES_PER_OPERATION - 1::VIRTUOSO_TRIPLES_PER_OPERATION]
                if cut[-1] < body_end and text[cut[-1]:body_end].strip():
                    cut.append(body_end)
                for a, b in zip(cut, cut[1:]):
                    parts.append(f"INSERT DATA {{ GRAPH {graph} {{{text[a:b]}\n}} }}")
            out.append(" ;\n".join(parts))
        else:
            out.append(text[start:block_end])
        last, i = block_end, j + 1
    return "".join(out) + text[last:], total


def _virtuoso_literal(match: re.Match, prefixes: dict[str, str]) -> str:
    string, datatype = match.group("string"), match.group("datatype")
    if datatype and datatype.startswith("<"):
        datatype = datatype[1:-1]
    elif match.group("local") is not None:  # a prefixed name (the datatype group holds it too)
        namespace = prefixes.get(match.group("pname") or "")
        if namespace is None:
            return match.group(0)
        datatype = namespace + match.group("local")
    if not datatype:
        return match.group(0)
    quote = 3 if string[:3] in ('"""', "'''") else 1
    lexical = string[quote:-quote]
    if datatype == _XSD_STRING:
        return string
    if datatype == _XSD_DURATION:
        return f'"{virtuoso_duration(lexical, match.group(0))}"^^<{datatype}>'
    if datatype in _UNSTORABLE:
        raise StoreError(
            f"Virtuoso {_UNSTORABLE[datatype]}: {match.group(0)[:80]} would not be kept as written",
            "keep this file on another store (embedded, oxigraph serve), or change the literal",
        )
    if datatype == _XSD + "decimal" and re.fullmatch(r"\s*[+-]?\d+\s*", lexical):
        return f"{string[:quote]}{lexical.strip()}.0{string[-quote:]}^^<{datatype}>"
    if datatype in _INTEGERS and re.fullmatch(r"\s*[+-]?\d+\s*", lexical):
        if abs(int(lexical)) >= _VIRTUOSO_INTEGER_LIMIT:
            raise StoreError(
                f"Virtuoso cannot keep the integer {lexical.strip()[:40]}: from 2^60 it turns integers into "
                "decimals, from 2^63 into other numbers",
                "keep this file on another store (embedded, oxigraph serve), or write the number as an xsd:decimal",
            )
    if datatype in (_XSD + "date", _XSD + "dateTime") and lexical.lstrip().startswith("-"):
        raise StoreError(
            f"Virtuoso cannot keep the date {lexical[:40]}: it rewrites years before 1 ('-0044' becomes '-044')",
            "keep this file on another store (embedded, oxigraph serve)",
        )
    return match.group(0)


def _virtuoso_canonical(term):
    """TERM in the lexical form Virtuoso gives back for it (its value unchanged)."""
    if not isinstance(term, Literal) or term.datatype is None:
        return term
    datatype, lexical = str(term.datatype), str(term)
    try:
        if datatype == _XSD_STRING:
            return Literal(lexical)
        if datatype == _XSD_DURATION:
            canonical = canonical_duration(lexical)
            return term if canonical is None else Literal(canonical, datatype=term.datatype)
        if datatype == _XSD + "decimal":
            value = Decimal(lexical.strip())
            text = format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return Literal(text if text not in ("-0", "") else "0", datatype=term.datatype)
        if datatype in _INTEGERS and re.fullmatch(r"\s*[+-]?\d+\s*", lexical):
            return Literal(str(int(lexical)), datatype=term.datatype)
        if datatype == _XSD + "boolean" and lexical.strip() in ("1", "0", "true", "false"):
            return Literal("true" if lexical.strip() in ("1", "true") else "false", datatype=term.datatype)
    except (InvalidOperation, ValueError):
        return term
    return term


# -- Virtuoso: durations (see the module's note) ------------------------------------------------

_DURATION = re.compile(
    r"(-)?P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?!$)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d*)?|\.\d+)S)?)?"
)


def _duration_value(lexical: str) -> tuple[int, Decimal] | None:
    """An xsd:duration's value as (months, seconds), both signed; None if LEXICAL is not one."""
    match = _DURATION.fullmatch(lexical.strip())
    if match is None:
        return None
    sign, years, months, days, hours, minutes, seconds = match.groups()
    total_months = int(years or 0) * 12 + int(months or 0)
    total_seconds = int(days or 0) * 86400 + int(hours or 0) * 3600 + int(minutes or 0) * 60 + Decimal(seconds or 0)
    return (-total_months, -total_seconds) if sign else (total_months, total_seconds)


def canonical_duration(lexical: str) -> str | None:
    """The canonical form of an xsd:duration (XSD 1.1, as Oxigraph writes it): "P12M" -> "P1Y",
    "PT36H" -> "P1DT12H", "P14DT0S" -> "P14D", zero -> "PT0S"; None if LEXICAL is not a duration."""
    value = _duration_value(lexical)
    if value is None:
        return None
    months, seconds = value
    if months == 0 and seconds == 0:
        return "PT0S"
    sign = "-" if months < 0 or seconds < 0 else ""
    months, seconds = abs(months), abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    text = sign + "P" + (f"{months // 12}Y" if months // 12 else "") + (f"{months % 12}M" if months % 12 else "")
    text += f"{int(days)}D" if days else ""
    if hours or minutes or rest:
        text += "T" + (f"{int(hours)}H" if hours else "") + (f"{int(minutes)}M" if minutes else "")
        if rest:
            second = format(rest.normalize(), "f")
            text += (second.rstrip("0").rstrip(".") if "." in second else second) + "S"
    return text


def virtuoso_duration(lexical: str, literal: str = "") -> str:
    """The lexical form in which Virtuoso 7.2 keeps the xsd:duration LEXICAL as it is: the canonical
    form with a zero seconds part ("P14D" -> "P14DT0S"). Refused (StoreError) when there is none."""
    canonical = canonical_duration(lexical)
    literal = literal or f'"{lexical}"^^xsd:duration'
    if canonical is None:
        raise StoreError(
            f"{literal[:80]} is not an xsd:duration, and Virtuoso would not keep it as written",
            'write it as an ISO 8601 duration, for example "P14D"^^xsd:duration',
        )
    if canonical == "PT0S":
        return canonical
    if "T" in canonical:  # hours, minutes or seconds: every form is turned into a number, some lossily
        raise StoreError(
            f"Virtuoso cannot keep a duration with hours, minutes or seconds: {literal[:80]} would be stored as "
            "a bare number (or refused)",
            "give the duration in days, months or years (\"P2D\"), or keep this file on another store "
            "(embedded, oxigraph serve)",
        )
    return canonical + "T0S"


def _virtuoso_read_duration(term):
    if isinstance(term, Literal) and term.datatype is not None and str(term.datatype) == _XSD_DURATION:
        canonical = canonical_duration(str(term))
        return term if canonical is None else Literal(canonical, datatype=term.datatype)
    return term


def virtuoso_query_text(text: str) -> str:
    """Query TEXT with its xsd:duration literals in the form Virtuoso stores them (so they match)."""
    if "duration" not in text:
        return text
    return _rewrite_literals(text, _duration_as_stored)


def _duration_as_stored(match: re.Match, prefixes: dict[str, str]) -> str:
    datatype = match.group("datatype")
    if datatype and datatype.startswith("<"):
        datatype = datatype[1:-1]
    elif match.group("local") is not None:
        datatype = (prefixes.get(match.group("pname") or "") or "\0") + match.group("local")
    if datatype != _XSD_DURATION:
        return match.group(0)
    string = match.group("string")
    quote = 3 if string[:3] in ('"""', "'''") else 1
    try:
        stored = virtuoso_duration(string[quote:-quote], match.group(0))
    except StoreError:
        return match.group(0)  # a duration no store of Virtuoso holds: it matches nothing either way
    return f'"{stored}"^^<{_XSD_DURATION}>'


def _rewrite_literals(text: str, rewrite) -> str:
    """TEXT with every literal replaced by REWRITE(match of _LITERAL, the text's prefixes)."""
    prefixes = {m.group(1): m.group(2) for m in re.finditer(r"(?i)PREFIX\s+([\w.-]*):\s*<([^>]*)>", text)}
    out, last = [], 0
    for kind, _, start in _tokens(text):
        if kind != "string" or start < last:
            continue
        match = _LITERAL.match(text, start)
        out += [text[last:start], rewrite(match, prefixes)]
        last = match.end()
    return "".join(out) + text[last:]


# -- reading terms ---------------------------------------------------------------------------


def _json_term(value: dict, virtuoso: bool = False):
    kind = value["type"]
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        label = value["value"]
        if virtuoso and label.startswith("nodeID://"):
            label = label[len("nodeID://"):]  # what Virtuoso writes as _:b123 in N-Triples
        return BNode(label)
    if "xml:lang" in value:
        return Literal(value["value"], lang=value["xml:lang"])
    datatype = value.get("datatype")
    if datatype and datatype != _XSD_STRING:
        if virtuoso and datatype == _XSD + "boolean" and value["value"] in ("1", "0"):
            return Literal("true" if value["value"] == "1" else "false", datatype=URIRef(datatype))
        if virtuoso and datatype == _XSD_DURATION:
            return Literal(canonical_duration(value["value"]) or value["value"], datatype=URIRef(datatype))
        return Literal(value["value"], datatype=URIRef(datatype))
    return Literal(value["value"])


def _term(term):
    from .embedded import to_rdflib

    return to_rdflib(term)


def _ox(term):
    """An rdflib term as a pyoxigraph term."""
    if isinstance(term, URIRef):
        return pyoxigraph.NamedNode(str(term))
    if isinstance(term, BNode):
        return pyoxigraph.BlankNode(str(term))
    if term.language:
        return pyoxigraph.Literal(str(term), language=term.language)
    if term.datatype:
        return pyoxigraph.Literal(str(term), datatype=pyoxigraph.NamedNode(str(term.datatype)))
    return pyoxigraph.Literal(str(term))


__all__ = ["RemoteStore", "canonical_duration", "virtuoso_query_text", "virtuoso_update_text"]
