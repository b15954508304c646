"""The Flask app factory: settings, the store, the blueprints and one error handler."""

from __future__ import annotations

import atexit
import hashlib
import os

from flask import Flask, current_app, render_template, request

from .. import settings
from ..errors import KGError
from ..runner import Limits, QueryRunner
from ..store import RemoteStore, open_store


def create_app(config: dict | None = None) -> Flask:
    """An app for the store the settings name; CONFIG (tests) overrides the KG_* environment."""
    app = Flask(__name__)
    app.config.update({f"KG_{k}": v for k, v in settings.as_dict().items()})
    if config:
        app.config.update(config)
    app.extensions["kg_runner"] = None
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["KG_UPLOAD_LIMIT"])
    # Sessions exist only for editors; their key comes from the token unless one is given, so
    # that every worker process signs alike without another secret to distribute.
    secret = app.config.get("KG_SECRET_KEY") or app.config.get("KG_EDITOR_TOKEN")
    app.secret_key = hashlib.sha256(f"kg-session:{secret}".encode()).hexdigest() if secret else None
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict")

    from .browse import bp as browse_bp
    from .editor import bp as editor_bp
    from .linked_data import bp as linked_data_bp
    from .research import bp as research_bp
    from .sparql import bp as sparql_bp

    app.register_blueprint(browse_bp)
    app.register_blueprint(linked_data_bp)
    app.register_blueprint(research_bp)
    app.register_blueprint(editor_bp)
    app.register_blueprint(sparql_bp)
    app.json.sort_keys = False
    app.add_template_filter(json_script_safe)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers["KG-Worker"] = str(os.getpid())  # which app process answered (many-worker setups)
        return response

    @app.errorhandler(KGError)
    def kg_error(error: KGError):
        status = getattr(error, "status", 400)
        return render_template("error.html", title="Something went wrong", error=error), status

    @app.errorhandler(413)
    def too_large(error):
        limit = int(app.config["MAX_CONTENT_LENGTH"])
        message = KGError(f"The upload is larger than the limit of {limit:,} bytes; nothing was loaded.",
                          "split it into several files, or ask the maintainers to raise KG_UPLOAD_LIMIT")
        return render_template("error.html", title="Upload too large", error=message), 413

    @app.errorhandler(404)
    def not_found(error):
        return render_template("not_found.html", title="Not found", iri=None), 404

    return app


def get_runner() -> QueryRunner:
    """The app's query runner (worker processes on the embedded store), started on first use."""
    runner = current_app.extensions.get("kg_runner")
    if runner is None:
        config = {k[3:]: v for k, v in current_app.config.items() if k.startswith("KG_")}
        limits = Limits(
            timeout=float(config["QUERY_TIMEOUT"]),
            max_rows=int(config["MAX_ROWS"]),
            workers=int(config["QUERY_WORKERS"]),
            recycle_after=float(config["QUERY_RECYCLE"]),
        )
        if config.get("SPARQL_QUERY"):
            store = open_store(config)
            assert isinstance(store, RemoteStore)
            runner = QueryRunner(store, limits)
        else:
            runner = QueryRunner(None, limits, store_path=config["STORE"])
        current_app.extensions["kg_runner"] = runner
        atexit.register(runner.close)
    return runner


def json_script_safe(text: str):
    """JSON(-LD) text made safe inside <script>: '<', '>' and '&' as JSON escapes."""
    from markupsafe import Markup

    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


_FORMAT_PARAM = {
    "ttl": "turtle", "turtle": "turtle", "jsonld": "jsonld", "json-ld": "jsonld", "nt": "ntriples",
    "ntriples": "ntriples", "rdf": "rdfxml", "rdfxml": "rdfxml", "xml": "rdfxml", "json": "json", "html": "html",
}


def negotiate(names: list[str], media: dict[str, str]) -> str:
    """The best of NAMES for ?format= or the Accept header (q-values honoured); the first by default."""
    wanted = _FORMAT_PARAM.get((request.args.get("format") or "").lower())
    if wanted in names:
        return wanted
    accept = request.accept_mimetypes
    if not accept or accept.best in (None, "*/*") and not any(m in accept.values() for m in media):
        return names[0]
    best = accept.best_match(list(media))
    if best is None:
        from werkzeug.exceptions import NotAcceptable

        raise NotAcceptable(f"available as {', '.join(media)}")
    return media[best]


def open_write_store():
    """A store handle that may write (the editor): opened for one request, then closed."""
    from ..store import EmbeddedStore

    config = {k[3:]: v for k, v in current_app.config.items() if k.startswith("KG_")}
    if config.get("SPARQL_QUERY"):
        return open_store(config)
    return EmbeddedStore(config["STORE"])


def open_dump_store():
    """A store handle for writing dumps (read-only on the embedded store; never a user query)."""
    from ..store import EmbeddedStore

    config = {k[3:]: v for k, v in current_app.config.items() if k.startswith("KG_")}
    if config.get("SPARQL_QUERY"):
        return open_store(config)
    return EmbeddedStore(config["STORE"], read_only=True)


__all__ = ["create_app", "get_runner", "negotiate", "open_dump_store", "open_write_store"]
