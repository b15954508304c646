"""Pictures drawn on the server: timelines of measures and a world map, as SVG text (DESIGN D8).

Every function here is pure: it takes plain dicts (the view data of ``kg.views``) and returns
one ``<svg>`` element as a string, ready to be inlined in a page or served as
``image/svg+xml``. Nothing here runs JavaScript or loads anything over the network:

* every text and attribute value is escaped (``html.escape``) and stripped of the characters
  XML 1.0 forbids, so a label such as ``<script>&`` comes out as text;
* links are ``<a href>`` only, and only to ``http(s)://`` URLs or to site-relative paths that
  start with one ``/``; any other ``href`` is dropped (no link is drawn);
* colours are presentation attributes (``fill=``), not ``style=`` or ``<style>``, so the
  pictures render under the app's Content-Security-Policy (``style-src 'self'``);
* each mark has a ``<title>`` (read by screen readers, shown as a tooltip), and each picture
  a ``<title>`` of its own.

The world map is drawn from ``data/geo/countries-110m.json``, Natural Earth's 1:110m country
boundaries (public domain) as packaged on npm by ``world-atlas`` and shipped unchanged. The
TopoJSON is decoded here (quantised, delta-encoded arcs; see the TopoJSON specification), its
ISO 3166-1 numeric ids are mapped to alpha-2 codes with ``data/reference/countries.ttl`` at
run time, and it is projected with the Natural Earth projection. Countries too small for the
1:110m data (Malta, Singapore, Bahrain…) are drawn as dots from ``data/geo/small-countries.json``
when they have a status. Both files come from ``scripts/build_world_geometry.py``; see
``data/geo/README.md``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from pathlib import Path

from .settings import PROJECT_ROOT

SVG_NS = "http://www.w3.org/2000/svg"
GEO_DIR = PROJECT_ROOT / "data" / "geo"
WORLD_GEOMETRY = GEO_DIR / "countries-110m.json"
SMALL_COUNTRIES = GEO_DIR / "small-countries.json"
COUNTRIES_TTL = PROJECT_ROOT / "data" / "reference" / "countries.ttl"

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
NO_DATA = "#d9d9d9"

#: Fill colours by status slug (the local names of the status scheme, and the matrix's
#: categories). Colour-blind-safe hues (Okabe & Ito) for the main categories; negative
#: statuses in vermillion tones, so they never look like a measure that was taken.
STATUS_COLOURS: dict[str, str] = {
    "introduced": "#0072b2",
    "ongoing": "#00466e",
    "de-facto": "#009e73",
    "partial": "#56b4e9",
    "planned": "#cc79a7",
    "announced": "#e3a9cc",
    "ended": "#8c7b5e",
    "reported": "#e69f00",
    "disputed": "#f0e442",
    "not-introduced": "#d55e00",
    "none-occurred": "#9e3a14",
    "not-granted": "#f4a582",
    "not-reported": "#c7a99f",
}
NEGATIVE_STATUSES = frozenset({"not-introduced", "none-occurred", "not-granted", "not-reported"})
STATUS_LABELS = {"de-facto": "De facto"}
#: Colours for statuses this module does not know, handed out in order of appearance.
EXTRA_COLOURS = ("#6a3d9a", "#b15928", "#1b9e77", "#666666", "#e7298a", "#a6761d")
NEGATIVE_FALLBACK = "#d55e00"

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_SAFE_HREF = re.compile(r"(?:[hH][tT][tT][pP][sS]?://[^\s\\\x00-\x1f\x7f]+|/(?![/\\])[^\s\\\x00-\x1f\x7f]*)\Z")
_DATE = re.compile(r"\s*(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


# -- small helpers ------------------------------------------------------------------------------


def text(value) -> str:
    """VALUE as escaped XML character data (or attribute value): `& < > " '` escaped,
    characters that XML 1.0 cannot hold removed."""
    return escape(_XML_INVALID.sub("", "" if value is None else str(value)), quote=True)


def safe_href(href) -> str | None:
    """HREF if it is an http(s) URL or a site-relative path ("/..." but not "//..."), else None."""
    if not isinstance(href, str) or not _SAFE_HREF.match(href):
        return None
    return href


def status_slug(status) -> str:
    """A status as a class-safe slug: "not_introduced", "Not introduced" and the status IRI
    …/def/status/not-introduced all give "not-introduced"."""
    s = "" if status is None else str(status).strip()
    if "://" in s:
        s = re.split(r"[/#]", s.rstrip("/#"))[-1]
    return re.sub(r"[^a-z0-9]+", "-", s.lower()).strip("-")


def status_label(slug: str) -> str:
    """The default label of a status slug ("not-introduced" -> "Not introduced")."""
    return STATUS_LABELS.get(slug) or slug.replace("-", " ").capitalize() or "Unknown"


def _n(v: float) -> str:
    """A coordinate with at most one decimal, no trailing zeros."""
    r = round(v, 1)
    return str(int(r)) if r == int(r) else str(r)


def _numbers(values: list[int]) -> str:
    """Whole numbers for path data, separated by a space unless a minus sign separates them."""
    return "".join(str(v) if i == 0 or v < 0 else f" {v}" for i, v in enumerate(values))


def _link(inner: str, href) -> str:
    href = safe_href(href)
    return f'<a href="{text(href)}">{inner}</a>' if href else inner


def _svg(width: float, height: float, title: str, body: Iterable[str], css_class: str) -> str:
    return (
        f'<svg xmlns="{SVG_NS}" class="{css_class}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'width="{_n(width)}" height="{_n(height)}" role="img" font-family="{text(FONT)}" font-size="12">'
        f"<title>{text(title)}</title>{''.join(body)}</svg>"
    )


def _text_width(s: str, size: float = 12) -> float:
    """A rough width of S in a sans-serif font (no font metrics on the server)."""
    return len(s) * size * 0.56


def _truncate(s: str, width: float, size: float = 12) -> str:
    if _text_width(s, size) <= width:
        return s
    keep = max(1, int(width / (size * 0.56)) - 1)
    return s[:keep].rstrip() + "…"


class _Palette:
    """Colours by status slug: known statuses fixed, unknown ones handed out in turn."""

    def __init__(self):
        self.extra: dict[str, str] = {}

    def colour(self, slug: str, negative: bool = False) -> str:
        if slug in STATUS_COLOURS and (not negative or slug in NEGATIVE_STATUSES):
            return STATUS_COLOURS[slug]
        if negative:
            return NEGATIVE_FALLBACK
        if slug not in self.extra:
            self.extra[slug] = EXTRA_COLOURS[len(self.extra) % len(EXTRA_COLOURS)]
        return self.extra[slug]


def _legend(items: list[tuple[str, str]], x0: float, y0: float, width: float, extra: Iterable[tuple[str, float]] = ()) -> tuple[str, float]:
    """Swatches (label, colour) and ready-made EXTRA entries (a template with {x} {y} {tx} {ty},
    its width), wrapped at WIDTH; returns (svg, height used)."""
    entries = [
        (
            '<g class="legend-item"><rect x="{x}" y="{y}" width="12" height="12" rx="2" '
            f'fill="{text(colour)}" stroke="#999" stroke-width="0.5"/><text x="{{tx}}" y="{{ty}}">{text(label).replace("{", "{{").replace("}", "}}")}</text></g>',
            18 + _text_width(label) + 16,
        )
        for label, colour in items
    ]
    parts, x, y = [], x0, y0
    for template, w in [*entries, *extra]:
        if x + w > x0 + width and x > x0:
            x, y = x0, y + 18
        parts.append(template.format(x=_n(x), y=_n(y), tx=_n(x + 17), ty=_n(y + 10.5)))
        x += w
    return f'<g class="legend">{"".join(parts)}</g>', (y - y0) + 18


# -- dates and timelines ------------------------------------------------------------------------


def parse_date(value, *, last: bool = False) -> dt.date | None:
    """An ISO date (or xsd:gYearMonth / xsd:gYear / dateTime) as a date; a year or month
    stands for its first day, or its last when LAST. None when there is no readable date."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    m = _DATE.match(str(value))
    if not m:
        return None
    year, month, day = int(m[1]), m[2] and int(m[2]), m[3] and int(m[3])
    try:
        if not month:
            return dt.date(year, 12, 31) if last else dt.date(year, 1, 1)
        if not day:
            return dt.date(year, month, calendar.monthrange(year, month)[1] if last else 1)
        return dt.date(year, month, day)
    except ValueError:
        return None


def _add_month(d: dt.date) -> dt.date:
    return dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)


@dataclass
class _Mark:
    """One event's geometry in dates: a dot, a solid bar, a dashed (planned) bar, a report tick."""

    event: dict
    dot: dt.date | None = None
    solid: tuple[dt.date, dt.date] | None = None
    dashed: tuple[dt.date, dt.date] | None = None
    tick: dt.date | None = None
    lane: int = 0
    undated: bool = False
    span: tuple[float, float] = (0.0, 0.0)
    dates: dict = field(default_factory=dict)

    @property
    def extent(self) -> tuple[dt.date, dt.date] | None:
        points = [d for d in (self.dot, self.tick) if d] + [d for seg in (self.solid, self.dashed) if seg for d in seg]
        return (min(points), max(points)) if points else None


def _mark(event: dict) -> _Mark:
    """Where an event is drawn.

    * begin and end: a solid bar from begin to end;
    * begin and planned end (no end): a bar from begin to the planned end, solid up to the
      update's date and dashed after it (planned);
    * begin only: a dot at begin (and a tick at the update's date, joined by a thin line);
    * no begin: a dot at the update's date, with a solid bar to the end or a dashed bar to the
      planned end when those lie after it.
    The update's date shows as a tick on a bar when it falls inside it.
    """
    date = parse_date(event.get("date"))
    begin = parse_date(event.get("begin"))
    end = parse_date(event.get("end"), last=True)
    planned = parse_date(event.get("planned_end"), last=True)
    mark = _Mark(event, dates={"date": date, "begin": begin, "end": end, "planned_end": planned})
    anchor = begin or date or end or planned
    if anchor is None:
        mark.undated = True
        return mark
    if begin and end and end >= begin:
        mark.solid = (begin, end)
    elif begin and planned and planned >= begin and not end:
        if date and date >= planned:
            mark.solid = (begin, planned)
        elif date and date > begin:
            mark.solid, mark.dashed = (begin, date), (date, planned)
        else:
            mark.dashed = (begin, planned)
    elif begin:
        mark.dot = begin
    else:
        mark.dot = anchor
        if end and end > anchor:
            mark.solid = (anchor, end)
        elif planned and planned > anchor:
            mark.dashed = (anchor, planned)
    if date and date != anchor:
        mark.tick = date
    return mark


def _event_title(e: dict, d: dict) -> str:
    head = " · ".join(str(x) for x in (e.get("label"), e.get("type_label"), e.get("status_label")) if x)
    details = [
        f"{name} {d[key].isoformat()}"
        for key, name in (("begin", "from"), ("end", "until"), ("planned_end", "planned until"), ("date", "reported"))
        if d.get(key)
    ]
    if e.get("negative"):
        details.append("negative fact")
    if not d.get("date") and not any(d.values()):
        details.append("date unknown")
    return head + (f" ({', '.join(details)})" if details else "") if head else ", ".join(details) or "Event"


def _timeline(groups: list[tuple[str, str | None, list[dict]]], *, start, end, title: str, kind: str) -> str:
    """Rows of events; GROUPS are (row label, row link, events) in display order."""
    width = 960.0
    if not any(events for _, _, events in groups):
        empty = f'<text class="empty" x="{_n(width / 2)}" y="28" text-anchor="middle" fill="#666">No {text(kind)} to show</text>'
        return _svg(width, 48, title, [empty], f"timeline {kind}")
    marks_by_row = [(label, href, [_mark(e) for e in events]) for label, href, events in groups]
    extents = [m.extent for _, _, marks in marks_by_row for m in marks if m.extent]
    lo = parse_date(start)
    hi = parse_date(end, last=True)
    if extents:
        lo = lo or min(x[0] for x in extents).replace(day=1)
        hi = hi or _add_month(max(x[1] for x in extents)) - dt.timedelta(days=1)
    if lo is None or hi is None:  # only undated events, and no window asked for
        lo = lo or (hi.replace(day=1) if hi else dt.date(2020, 1, 1))
        hi = hi or _add_month(lo) - dt.timedelta(days=1)
    if hi < lo:
        lo, hi = hi, lo
    t0, t1 = lo, hi + dt.timedelta(days=1)  # the axis runs from the start of lo to the end of hi
    label_width = min(240.0, max([80.0, *(_text_width(label) + 16 for label, _, _ in marks_by_row)]))
    left, right, top = label_width + 8, width - 16, 34.0
    days = max(1, (t1 - t0).days)

    def x(d: dt.date) -> float:
        return left + (right - left) * (d - t0).days / days

    def clamp(d: dt.date) -> dt.date:
        return min(max(d, t0), t1)

    lane_h, bar_h, radius, pad = 16.0, 9.0, 4.5, 5.0
    palette, used = _Palette(), {}
    uses_planned = uses_tick = False
    rows_svg, y = [], top
    for index, (label, href, marks) in enumerate(marks_by_row):
        visible = []
        for m in marks:
            ext = m.extent
            if ext and (ext[1] < t0 or ext[0] >= t1):
                continue  # wholly outside the window asked for: not shown
            if ext:
                m.span = (x(clamp(ext[0])) - radius - 1, x(clamp(ext[1])) + radius + 1)
            else:
                m.span = (left - radius - 1, left + radius + 1)
            visible.append(m)
        lanes: list[float] = []
        for m in sorted(visible, key=lambda m: m.span):
            for i, last_x in enumerate(lanes):
                if m.span[0] > last_x + 2:
                    m.lane, lanes[i] = i, m.span[1]
                    break
            else:
                m.lane = len(lanes)
                lanes.append(m.span[1])
        row_h = max(1, len(lanes)) * lane_h + 2 * pad
        row = [f'<g class="row" data-row="{index}">']
        if index % 2 == 0:
            row.append(f'<rect class="band" x="0" y="{_n(y)}" width="{_n(width)}" height="{_n(row_h)}" fill="#f5f6f7"/>')
        shown = _truncate(label, label_width - 12)
        label_svg = f'<text class="row-label" x="{_n(label_width)}" y="{_n(y + row_h / 2 + 4)}" text-anchor="end"><title>{text(label)}</title>{text(shown)}</text>'
        row.append(_link(label_svg, href))
        for m in visible:
            e = m.event
            slug = status_slug(e.get("status") or e.get("status_label"))
            negative = bool(e.get("negative")) or slug in NEGATIVE_STATUSES
            colour = palette.colour(slug, negative)
            key = (slug, negative)
            if key not in used:
                words = str(e.get("status_label") or status_label(slug)) if slug else "No status"
                if negative and slug not in NEGATIVE_STATUSES:
                    words += " (negative)"
                used[key] = (words, colour)
            cy = y + pad + m.lane * lane_h + lane_h / 2
            shapes = []
            if m.undated:
                shapes.append(f'<circle cx="{_n(left)}" cy="{_n(cy)}" r="{radius}" fill="#fff" stroke="{colour}" stroke-width="1.5" stroke-dasharray="2 2"/>')
            if m.dot and t0 <= m.dot < t1 and m.solid is None:
                if m.tick and t0 <= m.tick < t1 and m.tick > m.dot:
                    shapes.append(f'<line x1="{_n(x(m.dot))}" y1="{_n(cy)}" x2="{_n(x(m.tick))}" y2="{_n(cy)}" stroke="{colour}" stroke-width="1.5"/>')
            for seg, dashed in ((m.solid, False), (m.dashed, True)):
                if not seg or seg[1] < t0 or seg[0] >= t1:
                    continue  # none of it inside the window
                a, b = x(clamp(seg[0])), x(clamp(seg[1] + dt.timedelta(days=1)))  # to the end of its last day
                w = max(b - a, 2.0)
                if dashed:
                    uses_planned = True
                    shapes.append(
                        f'<rect class="planned" x="{_n(a)}" y="{_n(cy - bar_h / 2)}" width="{_n(w)}" height="{bar_h}" '
                        f'fill="{colour}" fill-opacity="0.25" stroke="{colour}" stroke-width="1.2" stroke-dasharray="4 2"/>'
                    )
                else:
                    shapes.append(f'<rect x="{_n(a)}" y="{_n(cy - bar_h / 2)}" width="{_n(w)}" height="{bar_h}" rx="2" fill="{colour}"/>')
            if m.dot and t0 <= m.dot < t1:
                shapes.append(f'<circle cx="{_n(x(m.dot))}" cy="{_n(cy)}" r="{radius}" fill="{colour}" stroke="#fff" stroke-width="1"/>')
            if m.tick and t0 <= m.tick < t1:
                uses_tick = True
                tx = x(m.tick)
                shapes.append(f'<line class="reported" x1="{_n(tx)}" y1="{_n(cy - 7)}" x2="{_n(tx)}" y2="{_n(cy + 7)}" stroke="#222" stroke-width="1.5"/>')
            classes = ["event", f"status-{slug}" if slug else "no-status"]
            if negative:
                classes.append("negative")
            if m.undated:
                classes.append("undated")
            iri = e.get("iri")
            attrs = f' data-iri="{text(iri)}"' if iri else ""
            group = f'<g class="{" ".join(classes)}"{attrs}><title>{text(_event_title(e, m.dates))}</title>{"".join(shapes)}</g>'
            row.append(_link(group, e.get("href")))
        row.append("</g>")
        rows_svg.append("".join(row))
        y += row_h
    bottom = y
    # the axis: a gridline and tick every month, labels as often as they fit
    axis, months = [], []
    m0 = t0.replace(day=1)
    while m0 < t1:
        if m0 >= t0:
            months.append(m0)
        m0 = _add_month(m0)
    step = next((s for s in (1, 2, 3, 6, 12, 24, 60) if len(months) / s * 64 <= right - left), 120)
    labelled = False
    for d in months:
        gx = _n(x(d))
        axis.append(f'<line x1="{gx}" y1="{_n(top - 6)}" x2="{gx}" y2="{_n(bottom)}" stroke="#ccc" stroke-width="0.6"/>')
        if (d.year * 12 + d.month - 1) % step == 0:
            name = d.strftime("%b %Y") if (not labelled or d.month == 1 or step >= 12) else d.strftime("%b")
            axis.append(f'<text x="{gx}" y="{_n(top - 10)}" text-anchor="middle" fill="#444">{text(name)}</text>')
            labelled = True
    if not months or not labelled:
        axis.append(f'<text x="{_n(left)}" y="{_n(top - 10)}" fill="#444">{text(t0.strftime("%d %b %Y"))}</text>')
    axis.append(f'<line x1="{_n(left)}" y1="{_n(top)}" x2="{_n(right)}" y2="{_n(top)}" stroke="#888" stroke-width="1"/>')
    extra = []
    if uses_planned:
        extra.append((
            '<g class="legend-item"><rect x="{x}" y="{y}" width="12" height="12" fill="#888" fill-opacity="0.25" '
            'stroke="#888" stroke-dasharray="4 2"/><text x="{tx}" y="{ty}">Planned</text></g>',
            18 + _text_width("Planned") + 16,
        ))
    if uses_tick:
        extra.append((
            '<g class="legend-item"><line x1="{tx}" y1="{y}" x2="{tx}" y2="{ty}" stroke="#222" stroke-width="1.5"/>'
            '<text x="{tx}" y="{ty}" dx="6">Date of the update</text></g>',
            18 + _text_width("Date of the update") + 16,
        ))
    legend, legend_h = _legend(list(used.values()), 8, bottom + 12, width - 16, extra)
    height = bottom + 12 + legend_h + 6
    return _svg(width, height, title, [f'<g class="axis">{"".join(axis)}</g>', *rows_svg, legend], f"timeline {kind}")


def country_timeline(events: list[dict], *, start: str | None = None, end: str | None = None, title: str | None = None) -> str:
    """One country's measures over time: one row per measure type, one mark per event.

    EVENTS are dicts with ``date`` (the update's date, ISO), and optionally ``begin``,
    ``end``, ``planned_end`` (ISO dates), ``label``, ``type_label`` (the row), ``status_label``,
    ``status`` (a slug, notation or IRI of the status; else the slug of ``status_label``
    decides the colour), ``negative`` (bool), ``href`` (link of the mark), ``iri``
    (``data-iri``) and ``type_href`` (link of the row label). Rows come in the order their
    type first appears. START and END (ISO dates) narrow the axis; events wholly outside are
    left out, the others clipped. Each event shown is one ``<g class="event ...">``.
    """
    rows: dict[str, tuple[str, str | None, list[dict]]] = {}
    for e in events:
        label = str(e.get("type_label") or "Other")
        rows.setdefault(label, (label, e.get("type_href"), []))[2].append(e)
    return _timeline(list(rows.values()), start=start, end=end, title=title or "Measures over time", kind="measures")


def measure_timeline(rows: list[dict], *, start: str | None = None, end: str | None = None, title: str | None = None) -> str:
    """One measure type across countries: one row per country, one mark per event.

    ROWS are event dicts as for :func:`country_timeline` plus ``country_label`` and
    ``country_href`` (link of the row label); rows are grouped by country (its href, else its
    label) in the order each country first appears.
    """
    groups: dict[str, tuple[str, str | None, list[dict]]] = {}
    for e in rows:
        label = str(e.get("country_label") or "Unknown country")
        key = e.get("country_href") or label
        groups.setdefault(key, (label, e.get("country_href"), []))[2].append(e)
    return _timeline(list(groups.values()), start=start, end=end, title=title or "Measure across countries", kind="countries")


# -- the world map ------------------------------------------------------------------------------


def topology_polygons(topology: dict, geometry: dict, arcs: list | None = None) -> list[list[list[tuple[float, float]]]]:
    """The polygons (lists of rings of (lon, lat)) of one geometry object of a TopoJSON topology
    (ARCS: the topology's arcs, decoded, when the caller has them already)."""
    arcs = arcs if arcs is not None else decode_arcs(topology)

    def ring(indexes: list[int]) -> list[tuple[float, float]]:
        points: list[tuple[float, float]] = []
        for i in indexes:
            arc = arcs[i] if i >= 0 else arcs[~i][::-1]
            points.extend(arc if not points else arc[1:])
        return points

    kind = geometry.get("type")
    if kind == "Polygon":
        return [[ring(r) for r in geometry["arcs"]]]
    if kind == "MultiPolygon":
        return [[ring(r) for r in polygon] for polygon in geometry["arcs"]]
    return []


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """A topology's arcs as lists of (x, y): quantised delta-encoded positions decoded with its transform."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            points = []
            for p in arc:
                x += p[0]
                y += p[1]
                points.append((x * sx + tx, y * sy + ty))
        else:
            points = [(p[0], p[1]) for p in arc]
        arcs.append(points)
    return arcs


def simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas–Peucker: drop the points closer than TOLERANCE to the line of their neighbours
    (end points kept, so arcs shared by two countries stay shared and borders stay closed)."""
    if len(points) < 3 or tolerance <= 0:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (ax, ay), (bx, by) = points[first], points[last]
        dx, dy = bx - ax, by - ay
        norm = math.hypot(dx, dy)
        worst, index = -1.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            dist = abs(dy * (px - ax) - dx * (py - ay)) / norm if norm else math.hypot(px - ax, py - ay)
            if dist > worst:
                worst, index = dist, i
        if worst > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def natural_earth(lon: float, lat: float) -> tuple[float, float]:
    """The Natural Earth projection (Šavrič, Jenny, Patterson & Jenny 2011), in radians' units;
    y grows northwards."""
    lam, phi = math.radians(lon), math.radians(lat)
    phi2 = phi * phi
    phi4 = phi2 * phi2
    x = lam * (0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4)))
    y = phi * (1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4)))
    return x, y


def antimeridian_copies(ring: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """A ring that crosses the antimeridian (Fiji, Russia, Antarctica: the TopoJSON is meant for
    spherical clipping) made continuous in longitude, plus a copy shifted by 360° for the part
    beyond ±180°; the map clips them to the sphere's outline, where the Natural Earth
    projection puts longitude ±180° (x is proportional to longitude on each parallel).
    A ring around a pole is closed along the pole. Other rings come back as they are."""
    if not any(abs(b[0] - a[0]) > 180 for a, b in zip(ring, ring[1:], strict=False)):
        return [ring]
    out, offset, prev = [], 0.0, ring[0][0]
    for lon, lat in ring:
        if lon - prev > 180:
            offset -= 360
        elif lon - prev < -180:
            offset += 360
        prev = lon
        out.append((lon + offset, lat))
    if abs(out[-1][0] - out[0][0]) > 180:  # goes once around the pole: close it along the pole
        pole = -90.0 if sum(lat for _, lat in out) < 0 else 90.0
        (l1, p1), (l0, p0) = out[-1], out[0]
        out += [(l1, p1 + (pole - p1) * i / 8) for i in range(1, 9)]
        out += [(l1 + (l0 - l1) * i / 8, pole) for i in range(1, 8)]
        out += [(l0, pole + (p0 - pole) * i / 8) for i in range(0, 9)]
    lons = [lon for lon, _ in out]
    copies = [out]
    if min(lons) < -180:
        copies.append([(lon + 360, lat) for lon, lat in out])
    if max(lons) > 180:
        copies.append([(lon - 360, lat) for lon, lat in out])
    return copies


@dataclass(frozen=True)
class MapCountry:
    """One country of the map's geometry: its codes, its name, and its outline as SVG path data."""

    numeric: str | None
    code: str | None  # ISO 3166-1 alpha-2, None for the areas Natural Earth draws without one
    name: str
    d: str


@dataclass(frozen=True)
class WorldGeometry:
    width: float
    height: float
    sphere: str  # path data of the world's outline
    countries: tuple[MapCountry, ...]
    points: dict[str, tuple[float, float, str]]  # alpha-2 -> (x, y, name) for countries too small to draw


@lru_cache(maxsize=1)
def reference_countries(path: str = str(COUNTRIES_TTL)) -> dict[str, tuple[str, str]]:
    """ISO 3166-1 numeric code -> (alpha-2 code, English label), from the reference Turtle file."""
    from rdflib import Graph
    from rdflib.namespace import RDFS

    from .namespaces import KG

    graph = Graph().parse(path, format="turtle")
    out = {}
    for country, numeric in graph.subject_objects(KG.iso3166Numeric):
        alpha2 = graph.value(country, KG.iso3166Alpha2)
        if alpha2 is None:
            continue
        labels = list(graph.objects(country, RDFS.label))
        label = next((lab for lab in labels if getattr(lab, "language", None) == "en"), labels[0] if labels else alpha2)
        out[str(numeric).zfill(3)] = (str(alpha2), str(label))
    return out


#: Width of the map's coordinate system; coordinates are whole numbers in it (half a pixel of
#: the 960-pixel picture), which keeps the SVG small without visible loss at 1:110m.
_GRID = 1920
_MAP_WIDTH = 960.0
#: Douglas–Peucker tolerance on the arcs, in degrees (0.2° is under a pixel of the 960-pixel map).
_SIMPLIFY_DEGREES = 0.2


@lru_cache(maxsize=1)
def world_geometry() -> WorldGeometry:
    """The world's countries, decoded, projected and reduced to SVG path data (cached)."""
    topology = json.loads(Path(WORLD_GEOMETRY).read_text(encoding="utf-8"))
    arcs = [simplify(arc, _SIMPLIFY_DEGREES) for arc in decode_arcs(topology)]
    codes = reference_countries()
    # fit the whole sphere's outline (Natural Earth: a rounded rectangle) into the grid
    outline = [(-180.0, lat) for lat in range(-90, 91)] + [(180.0, lat) for lat in range(90, -91, -1)]
    projected = [natural_earth(lon, lat) for lon, lat in outline]
    max_x = max(abs(px) for px, _ in projected)
    max_y = max(abs(py) for _, py in projected)
    pad = 2.0
    scale = (_GRID - 2 * pad) / (2 * max_x)
    grid_h = math.ceil(2 * max_y * scale + 2 * pad)

    def to_grid(lon: float, lat: float) -> tuple[int, int]:
        px, py = natural_earth(lon, lat)
        return round(_GRID / 2 + px * scale), round(grid_h / 2 - py * scale)

    def path(rings: Iterable[list[tuple[float, float]]]) -> str:
        parts = []
        for ring in rings:
            points: list[tuple[int, int]] = []
            for lon, lat in ring:
                p = to_grid(lon, lat)
                if not points or p != points[-1]:
                    points.append(p)
            if len(points) > 1 and points[0] == points[-1]:
                points.pop()
            if len(points) < 3:
                continue
            deltas = [v for (ax, ay), (bx, by) in zip(points, points[1:], strict=False) for v in (bx - ax, by - ay)]
            out = [f"M{points[0][0]} {points[0][1]}l", _numbers(deltas)]
            out.append("z")
            parts.append("".join(out))
        return "".join(parts)

    countries = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        numeric = geometry.get("id")
        numeric = str(numeric).zfill(3) if numeric is not None else None
        code, label = codes.get(numeric, (None, None)) if numeric else (None, None)
        name = label or (geometry.get("properties") or {}).get("name") or "Unnamed area"
        polygons = topology_polygons(topology, geometry, arcs)
        d = path(copy for polygon in polygons for r in polygon for copy in antimeridian_copies(r))
        if not d:  # too small for the grid: keep a speck so that every country has its path
            lon, lat = polygons[0][0][0]
            gx, gy = to_grid(lon, lat)
            d = f"M{gx} {gy}h1v1h-1z"
        countries.append(MapCountry(numeric, code, str(name), d))
    points = {}
    if Path(SMALL_COUNTRIES).exists():
        drawn = {c.code for c in countries if c.code}
        for entry in json.loads(Path(SMALL_COUNTRIES).read_text(encoding="utf-8"))["countries"]:
            code, label = codes.get(str(entry["id"]).zfill(3), (None, None))
            if code and code not in drawn:
                gx, gy = to_grid(entry["lon"], entry["lat"])
                points[code] = (gx, gy, label or entry.get("name") or code)
    sphere = path([[(lon, lat) for lon, lat in outline]])
    return WorldGeometry(_GRID, grid_h, sphere, tuple(countries), points)


def map_countries() -> list[dict]:
    """The countries the world map draws: {"code" (alpha-2 or None), "numeric", "name"}."""
    return [{"code": c.code, "numeric": c.numeric, "name": c.name} for c in world_geometry().countries]


def world_map(statuses: dict[str, dict], *, title: str | None = None) -> str:
    """A world map, each country filled by its status.

    STATUSES maps ISO 3166-1 alpha-2 codes (any case) to dicts with ``status`` (a slug such as
    "introduced", "partial", "not_introduced", "reported", a status notation or IRI; any other
    value gets a colour of its own), and optionally ``label`` (the country's name in the
    tooltip; default: its label in countries.ttl), ``status_label`` (the status's words in the
    tooltip and legend), ``note`` (more tooltip text, e.g. "since 2020-03-20") and ``href``
    (where the country links to). Codes the map does not know are ignored; countries without
    a status are grey ("No data"). Every country of the geometry is one
    ``<path class="country status-..." data-code="XX">``; countries too small for 1:110m that
    have a status are dots (``<circle class="country-point" data-code="XX">``).
    """
    geo = world_geometry()
    given = {str(k).strip().upper(): v for k, v in (statuses or {}).items() if isinstance(v, dict)}
    palette, used = _Palette(), {}
    k = _MAP_WIDTH / geo.width

    def describe(code: str | None, name: str) -> tuple[str, str, str, str | None]:
        """(class, fill, title, href) of one country."""
        info = given.get(code) if code else None
        slug = status_slug(info.get("status")) if info else ""
        shown = str((info or {}).get("label") or name)
        if not slug:
            words = "no data" if code else "no data (no ISO 3166-1 code)"
            note = f" ({info['note']})" if info and info.get("note") else ""
            return "no-data", NO_DATA, f"{shown}: {words}{note}", (info or {}).get("href")
        words = str(info.get("status_label") or status_label(slug))
        colour = palette.colour(slug, slug in NEGATIVE_STATUSES)
        used.setdefault(slug, (words, colour))
        note = f" ({info['note']})" if info.get("note") else ""
        return f"status-{slug}", colour, f"{shown}: {words}{note}", info.get("href")

    shapes = []
    for c in geo.countries:
        cls, fill, tip, href = describe(c.code, c.name)
        code_attr = f' data-code="{text(c.code)}"' if c.code else ""
        shapes.append(_link(f'<path class="country {cls}"{code_attr} fill="{fill}" d="{c.d}"><title>{text(tip)}</title></path>', href))
    dots = []
    for code, (gx, gy, name) in geo.points.items():
        if code in given and status_slug(given[code].get("status")):
            cls, fill, tip, href = describe(code, name)
            dots.append(_link(
                f'<circle class="country-point {cls}" data-code="{text(code)}" cx="{gx}" cy="{gy}" r="7" fill="{fill}" '
                f'stroke="#fff" stroke-width="2"><title>{text(tip)}</title></circle>',
                href,
            ))
    order = {s: i for i, s in enumerate(STATUS_COLOURS)}
    items = [used[s] for s in sorted(used, key=lambda s: (order.get(s, len(order)), list(used).index(s)))]
    items.append(("No data", NO_DATA))
    map_h = geo.height * k
    legend, legend_h = _legend(items, 8, map_h + 8, _MAP_WIDTH - 16)
    body = [
        f'<g transform="scale({k:g})">',
        f'<path class="sphere" d="{geo.sphere}" fill="#eef3f7" stroke="#c8d3dc" stroke-width="2"/>',
        f'<clipPath id="world-map-clip"><path d="{geo.sphere}"/></clipPath>',
        '<g class="countries" clip-path="url(#world-map-clip)" stroke="#fff" stroke-width="1" stroke-linejoin="round" '
        f'fill-rule="evenodd">{"".join(shapes)}</g>',
        f'<g class="country-points">{"".join(dots)}</g>' if dots else "",
        "</g>",
        legend,
    ]
    return _svg(_MAP_WIDTH, map_h + 8 + legend_h + 6, title or "World map by status", body, "world-map")


__all__ = [
    "country_timeline",
    "map_countries",
    "measure_timeline",
    "parse_date",
    "safe_href",
    "status_slug",
    "world_geometry",
    "world_map",
]
