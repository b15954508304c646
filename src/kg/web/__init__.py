"""The Flask app factory: settings, the store, the blueprints and one error handler."""

from __future__ import annotations

from flask import Flask, g, render_template, request

from .. import settings
from ..errors import KGError
from ..store import Store, StoreError, open_store


def create_app(config: dict | None = None) -> Flask:
    """An app for the store the settings name; CONFIG (tests) overrides the KG_* environment."""
    app = Flask(__name__)
    app.config.update({f"KG_{k}": v for k, v in settings.as_dict().items()})
    if config:
        app.config.update(config)
    app.extensions["kg_store"] = None

    from .browse import bp as browse_bp

    app.register_blueprint(browse_bp)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    @app.errorhandler(KGError)
    def kg_error(error: KGError):
        status = 503 if isinstance(error, StoreError) else 400
        return render_template("error.html", title="Something went wrong", error=error), status

    @app.errorhandler(404)
    def not_found(error):
        return render_template(
            "error.html", title="Not found", error=KGError(f"Nothing is published at {request.path}.")
        ), 404

    return app


def get_store() -> Store:
    """The app's store, opened on first use in this process."""
    from flask import current_app

    store = current_app.extensions.get("kg_store")
    if store is None:
        config = {k[3:]: v for k, v in current_app.config.items() if k.startswith("KG_")}
        store = open_store(config)
        current_app.extensions["kg_store"] = store
    return store


__all__ = ["create_app", "get_store", "g"]
