"""For researchers: the canned research queries, each with its own page, and the comparison matrix.

Every page is citable by URL (its filters are GET parameters) and downloadable as CSV and JSON.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, render_template, request

from .. import named_queries, views
from ..errors import KGError
from ..results import to_csv
from ..namespaces import MT
from . import get_runner, pictures
from .cache import cached_page
from .linked_data import page

bp = Blueprint("research", __name__)


@bp.get("/queries")
@bp.get("/queries.json", endpoint="index_json")
@cached_page(negotiates=False)
def index():
    """The list of research queries, each with the question it answers and its parameters."""
    return page("queries.html", views.research_index(), _chosen())


@bp.get("/queries/<name>")
@bp.get("/queries/<name>.<fmt>", endpoint="query_download")
@cached_page(negotiates=False)
def query(name: str, fmt: str = "html"):
    """One research query: a form, a results table, downloads (CSV, TSV, JSON) and a permalink."""
    if name not in named_queries.names("research") or fmt not in ("html", "json", "csv", "tsv"):
        abort(404)
    view, result = views.research_query(get_runner(), name, request.args.to_dict())
    if fmt in ("csv", "tsv"):
        if result is None:
            raise KGError("give the query's required parameters", "see the form on the query's page")
        return _download(to_csv(result, "," if fmt == "csv" else "\t"), fmt, name)
    return page("query.html", view, "json" if fmt == "json" else "html")


@bp.get("/matrix")
@bp.get("/matrix.<fmt>", endpoint="matrix_download")
@cached_page(negotiates=False)
def matrix(fmt: str = "html"):
    """Countries × measure types, filtered by region, a day, measure types; sortable."""
    if fmt not in ("html", "json", "csv"):
        abort(404)
    sort = request.args.get("sort", "country")
    if sort not in views.MATRIX_SORTS:
        sort = "country"
    view, _ = views.matrix(
        get_runner(),
        region=request.args.get("region") or None,
        day=request.args.get("day") or None,
        types=[t for t in request.args.getlist("type") if t],
        sort=sort,
    )
    if fmt == "csv":
        return _download(matrix_csv(view), "csv", "matrix")
    return page("matrix.html", view, "json" if fmt == "json" else "html")


@bp.get("/map")
@bp.get("/map.svg", endpoint="map_svg")
@cached_page(negotiates=False)
def world_map():
    """A world map coloured by each country's status for one measure type (?type=mt:…)."""
    runner = get_runner()
    types = [{"value": str(r["value"]), "label": str(r["label"])} for r in views.run(runner, "choices-measure-types")]
    chosen = request.args.get("type") or str(MT["release-of-detainees"])
    label = next((t["label"] for t in types if t["value"] == chosen), None)
    if label is None:
        abort(404)
    view, _ = views.matrix(runner, region=None, day=request.args.get("day") or None, types=[chosen])
    picture = pictures.world_map(view, f"{label}: status by country")
    if request.path.endswith(".svg"):
        return Response(str(picture), mimetype="image/svg+xml")
    page_view = {"title": f"Map: {label}", "types": types, "type": chosen, "label": label,
                 "day": request.args.get("day", ""), "countries": len(view["rows"])}
    return Response(render_template("map.html", view=page_view, picture=picture), mimetype="text/html")


def matrix_csv(view: dict) -> str:
    """The matrix as CSV: one row per country, one column per measure type;
    each cell 'status earliest-date (n statements[, conflicting])'."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["country", "country_iri", *(c["label"] for c in view["columns"])])
    for row in view["rows"]:
        cells = []
        for column in view["columns"]:
            cell = row["cells"].get(column["type"]["iri"])
            cells.append(matrix_cell_text(cell) if cell else "")
        writer.writerow([row["name"], row["country"]["iri"], *cells])
    return buffer.getvalue()


def matrix_cell_text(cell: dict) -> str:
    n = len(cell["statements"])
    text = f"{cell['status']} {cell['earliest']} ({n} statement{'s' if n != 1 else ''}"
    return text + (", conflicting)" if cell["conflicting"] else ")")


def _download(body: str, fmt: str, name: str) -> Response:
    media = {"csv": "text/csv", "tsv": "text/tab-separated-values"}[fmt]
    response = Response(body, mimetype=media)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _chosen() -> str:
    return "json" if request.path.endswith(".json") else "html"
