"""Pages for people: the home page."""

from __future__ import annotations

from flask import Blueprint, render_template

from .. import named_queries
from . import get_runner

bp = Blueprint("browse", __name__)


@bp.get("/")
def home():
    """What this is, what the store holds, and the latest updates."""
    runner = get_runner()
    counts = runner.run(named_queries.load("counts").sparql).rows[0]
    latest = runner.run(named_queries.load("updates").sparql + "\nLIMIT 10").rows
    return render_template("home.html", counts=counts, latest=latest)
