"""A store on any SPARQL 1.1 server: queries through SPARQLWrapper, writes through SPARQL Update.

Only standards are spoken, so the same code runs on `oxigraph serve`, Fuseki, Virtuoso or
GraphDB. The server's default graph must be the union of its named graphs (`oxigraph serve
--union-default-graph`; Virtuoso and GraphDB do this by default; Fuseki with
`tdb2:unionDefaultGraph true`). A response that does not parse is a failure, never a partial
answer: `oxigraph serve --timeout-s` cuts a slow answer short with status 200.
"""

from __future__ import annotations

import json
import socket
import urllib.error
from collections.abc import Mapping
from xml.sax import SAXParseException

import pyoxigraph
from rdflib import BNode, Literal, URIRef
from SPARQLWrapper import JSON, POST, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import (
    EndPointInternalError,
    EndPointNotFound,
    QueryBadFormed,
    SPARQLWrapperException,
    Unauthorized,
    URITooLong,
)

from ..sparql import bind
from .base import QueryResult, Store, StoreError, Triple
from .embedded import EmbeddedStore

_USER_AGENT = "detention-kg (SPARQLWrapper)"


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

    def _client(self, url: str) -> SPARQLWrapper:
        client = SPARQLWrapper(url, agent=_USER_AGENT)
        client.setTimeout(int(self.timeout))
        client.setMethod(POST)
        if self.user:
            client.setCredentials(self.user, self.password or "")
        return client

    def _send(self, client: SPARQLWrapper):
        try:
            return client.query()
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300] if error.fp else ""
            raise StoreError(
                f"the {self.description} answered {error.code} {error.reason}: {detail}".rstrip(": "),
                "check the server's log; nothing was changed" if error.code >= 500 else "check the request",
            ) from error
        except SPARQLWrapperException as error:
            status, hint = _STATUS.get(type(error), ("refused the request", None))
            detail = str(error).split("Response:", 1)[-1].strip().removeprefix("b'").removesuffix("'")[:300]
            raise StoreError(f"the {self.description} {status}: {detail}", hint) from error
        except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as error:
            reason = getattr(error, "reason", error)
            raise StoreError(
                f"cannot reach the {self.description}: {reason}",
                "check that the server is running and the URL is right (KG_SPARQL_QUERY); nothing was changed",
            ) from error

    def query(self, sparql: str, bindings: Mapping[str, object] | None = None, *, union: bool = True) -> QueryResult:
        # union: the server's default graph is configured as the union (see the module's note).
        text = bind(sparql, bindings)
        client = self._client(self.query_url)
        client.setQuery(text)
        if client.queryType in ("CONSTRUCT", "DESCRIBE"):
            client.setReturnFormat("n3")
            client.addCustomHttpHeader("Accept", "application/n-triples")
            body = self._send(client).response.read()
            try:
                parsed = pyoxigraph.parse(body, format=pyoxigraph.RdfFormat.N_TRIPLES)
                return QueryResult("graph", triples=[(_term(t.subject), _term(t.predicate), _term(t.object)) for t in parsed])
            except SyntaxError as error:
                raise StoreError(f"the {self.description} sent an answer that does not parse: {error}") from error
        client.setReturnFormat(JSON)
        body = self._send(client).response.read()
        try:
            payload = json.loads(body)
        except (ValueError, SAXParseException) as error:
            raise StoreError(
                f"the {self.description} sent an incomplete or malformed answer ({len(body)} bytes)",
                "the server may have cut a slow query short; try a narrower query",
            ) from error
        if "boolean" in payload:
            return QueryResult("ask", boolean=bool(payload["boolean"]))
        names = payload.get("head", {}).get("vars", [])
        rows = [
            {name: _json_term(value) for name, value in binding.items()}
            for binding in payload.get("results", {}).get("bindings", [])
        ]
        return QueryResult("select", variables=names, rows=rows)

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

    def _update(self, sparql: str) -> None:
        client = self._client(self.update_url)
        client.setQuery(sparql)
        self._send(client)


_STATUS = {
    EndPointInternalError: ("answered 500 (internal error)", "check the server's log; nothing was changed"),
    EndPointNotFound: ("answered 404 (no such endpoint)", "check the endpoint URL (KG_SPARQL_QUERY, KG_SPARQL_UPDATE)"),
    Unauthorized: ("answered 401 (unauthorised)", "set KG_SPARQL_USER and KG_SPARQL_PASSWORD"),
    QueryBadFormed: ("answered 400 (bad request)", "the server did not accept the query or update"),
    URITooLong: ("answered 414 (request too long)", None),
}


def _json_term(value: dict):
    kind = value["type"]
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    if "xml:lang" in value:
        return Literal(value["value"], lang=value["xml:lang"])
    datatype = value.get("datatype")
    if datatype and datatype != "http://www.w3.org/2001/XMLSchema#string":
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
