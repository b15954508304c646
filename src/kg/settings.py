"""Every setting of the project, declared once: name, default and help.

The CLI, the Flask app and the README all draw from ``SETTINGS``; a test checks that the
README lists each one. Values come from ``KG_*`` environment variables, read when asked
for (never at import time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The project's root folder (where ontology/, shapes/ and data/ live).
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str

    @property
    def env(self) -> str:
        return "KG_" + self.name

    def value(self, environ=None) -> str:
        environ = os.environ if environ is None else environ
        return environ.get(self.env, self.default)


SETTINGS: tuple[Setting, ...] = (
    Setting("STORE", "./var/store", "Folder of the embedded Oxigraph store."),
    Setting("SPARQL_QUERY", "", "Query endpoint of a SPARQL 1.1 server to use instead of the embedded store."),
    Setting("SPARQL_UPDATE", "", "Update endpoint of that server (default: the query endpoint)."),
    Setting("SPARQL_USER", "", "User name for the SPARQL server, if it asks for one."),
    Setting("SPARQL_PASSWORD", "", "Password for the SPARQL server."),
    Setting("SPARQL_TIMEOUT", "30", "Seconds to wait for the SPARQL server before giving up."),
    Setting("QUERY_TIMEOUT", "10", "Seconds a query may run before it is stopped (HTTP 503)."),
    Setting("MAX_ROWS", "10000", "Rows (or triples) a query returns at most; responses say when the cap was hit."),
    Setting("QUERY_WORKERS", "2", "Worker processes that run queries on the embedded store."),
    Setting("QUERY_RECYCLE", "0.2", "Seconds: a query worker that ran a query this long is replaced by a fresh one "
            "(later queries in a worn worker run slower); 0 never replaces."),
    Setting("EDITOR_TOKEN", "", "Token that opens the editor area /editor; with none set the area is off."),
    Setting("UPLOAD_LIMIT", "5000000", "Largest editor upload accepted, in bytes (HTTP 413 beyond)."),
    Setting("SECRET_KEY", "", "Key that signs editor sessions; default: derived from KG_EDITOR_TOKEN."),
    Setting("HOST", "127.0.0.1", "Address `kg serve` listens on."),
    Setting("PORT", "8080", "Port `kg serve` listens on."),
    Setting("DATA", str(PROJECT_ROOT / "data"), "Folder of the curated Turtle files (reference/ and updates/)."),
    Setting("ONTOLOGY", str(PROJECT_ROOT / "ontology"), "Folder of the ontology and SKOS schemes."),
    Setting("SHAPES", str(PROJECT_ROOT / "shapes"), "Folder of the SHACL shapes every file is validated against."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str, environ=None) -> str:
    """The value of setting NAME (without the KG_ prefix), from the environment or its default."""
    return _BY_NAME[name].value(environ)


def as_dict(environ=None) -> dict[str, str]:
    """All settings as {NAME: value}, for the app factory."""
    return {s.name: s.value(environ) for s in SETTINGS}
