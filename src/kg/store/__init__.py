"""Stores: the embedded Oxigraph store (default) or any SPARQL 1.1 server, behind one interface."""

from __future__ import annotations

from .base import META_GRAPH, GraphInfo, LoadRecord, QueryResult, Store, StoreError, WriteOutcome
from .embedded import EmbeddedStore
from .remote import RemoteStore

__all__ = [
    "META_GRAPH", "EmbeddedStore", "GraphInfo", "LoadRecord", "QueryResult", "RemoteStore", "Store",
    "StoreError", "WriteOutcome", "open_store",
]


def open_store(config: dict, *, read_only: bool = False) -> Store:
    """The store the settings name: remote when KG_SPARQL_QUERY is set, else embedded at KG_STORE."""
    if config.get("SPARQL_QUERY"):
        return RemoteStore(
            config["SPARQL_QUERY"],
            config.get("SPARQL_UPDATE") or None,
            user=config.get("SPARQL_USER") or None,
            password=config.get("SPARQL_PASSWORD") or None,
            timeout=float(config.get("SPARQL_TIMEOUT") or 30),
        )
    return EmbeddedStore(config["STORE"], read_only=read_only)
