"""Pages for people: home, countries, search. Each has a .json twin built from the same view data."""

from __future__ import annotations

from flask import Blueprint, Response, request

from .. import views
from . import get_runner
from .cache import cached_page
from .linked_data import page

bp = Blueprint("browse", __name__)


def _with_twin(rule: str, twin_rule: str):
    """Route a page at RULE and its .json twin at TWIN_RULE (a separate endpoint, so url_for
    keeps naming the HTML page)."""

    def register(view):
        view = cached_page(view, negotiates=False)  # the path alone chooses the format
        bp.add_url_rule(rule, view.__name__, view, methods=["GET"])
        bp.add_url_rule(twin_rule, f"{view.__name__}_json", view, methods=["GET"])
        return view

    return register


@_with_twin("/", "/index.json")
def home():
    """What this is, what the store holds, the latest updates and a search box."""
    return page("home.html", views.home(get_runner()), _chosen())


@_with_twin("/countries", "/countries.json")
def countries():
    """Every country with updates: counts, latest date; filter by UN region (?region=region:142)."""
    region = request.args.get("region") or None
    return page("countries.html", views.countries(get_runner(), region), _chosen())


@_with_twin("/search", "/search.json")
def search():
    """Resources whose labels or text contain the words of ?q."""
    text = (request.args.get("q") or "").strip()[:200]
    return page("search.html", views.search(get_runner(), text), _chosen())


@bp.get("/favicon.ico")
def favicon():
    """No icon: answer 204 so browsers do not log a missing file."""
    return Response(status=204)


def _chosen() -> str:
    return "json" if request.path.endswith(".json") else "html"
