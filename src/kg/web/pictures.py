"""The pictures of the pages: kg.svg drawings made from the pages' view data.

kg.svg escapes every text and allows only http(s) or site-relative links, so its output is
inlined as markup; these functions only turn view data into its inputs.
"""

from __future__ import annotations

from markupsafe import Markup

from .. import svg


def _event(d: dict) -> dict:
    return {
        "date": d.get("date"),
        "begin": d.get("begin"),
        "end": d.get("end"),
        "planned_end": d.get("planned_end"),
        "label": d.get("label"),
        "type_label": (d.get("type") or {}).get("label"),
        "type_href": (d.get("type") or {}).get("href"),
        "status_label": (d.get("status") or {}).get("label"),
        "status": (d.get("status") or {}).get("iri"),
        "negative": bool(d.get("negative")),
        "href": (d.get("development") or {}).get("href"),
        "iri": (d.get("development") or {}).get("iri"),
    }


def country_timeline(view: dict) -> Markup | None:
    events = [_event(d) for d in view["sections"].get("timeline", [])]
    if not events:
        return None
    return Markup(svg.country_timeline(events, title=f"Measures and developments in {view['resource']['label']}"))


def measure_timeline(view: dict) -> Markup | None:
    rows = []
    for d in view["sections"].get("reports", []):
        row = _event(d)
        row.update(country_label=(d.get("country") or {}).get("label"), country_href=(d.get("country") or {}).get("href"))
        rows.append(row)
    if not rows:
        return None
    return Markup(svg.measure_timeline(rows, title=f"{view['resource']['label']}, by country"))


def world_map(matrix_view: dict, title: str) -> Markup:
    """A world map coloured by each country's cell in a one-measure-type matrix view."""
    statuses = {}
    for row in matrix_view["rows"]:
        code = row["country"]["iri"].rsplit("/", 1)[-1]
        for cell in row["cells"].values():
            statuses[code] = {
                "status": cell["status"],
                "label": row["name"],
                "href": row["country"]["href"],
                "note": f"since {cell['earliest']}" + (", sources disagree" if cell["conflicting"] else ""),
            }
    return Markup(svg.world_map(statuses, title=title))
