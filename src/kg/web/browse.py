"""Pages for people: the home page."""

from __future__ import annotations

from flask import Blueprint, render_template

from .. import named_queries
from . import get_store

bp = Blueprint("browse", __name__)


@bp.get("/")
def home():
    """What this is, what the store holds, and the latest updates."""
    store = get_store()
    counts = store.query(named_queries.load("counts").sparql).rows[0]
    latest = store.query(named_queries.load("updates").sparql).rows[:10]
    return render_template("home.html", counts=counts, latest=latest, version=store.version())
