"""/editor: upload Turtle files, see the validation report beside the file's lines, preview the
change, then load it (atomically, as `kg load`) or cancel; unload graphs; read the load history.

The area exists only when KG_EDITOR_TOKEN is set. People sign in with the token (a signed
session cookie follows, and every form carries a CSRF token); scripts may send
`Authorization: Bearer <token>` instead. Nothing is written before the editor confirms, and a
file that fails changes nothing.
"""

from __future__ import annotations

import hmac
import secrets
import shutil
import tempfile
from functools import wraps
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from rdflib import URIRef
from werkzeug.utils import secure_filename

from ..errors import KGError
from ..load import Loader, LoadRefused
from ..results import compact
from ..store.base import GRAPH_BASE
from . import open_dump_store, open_write_store

bp = Blueprint("editor", __name__, url_prefix="/editor")

STAGING = Path(tempfile.gettempdir()) / "kg-editor"
MAX_PREVIEW_TRIPLES = 200


def _token() -> str:
    return current_app.config.get("KG_EDITOR_TOKEN") or ""


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison of secrets, any text (compare_digest refuses non-ASCII str)."""
    return bool(expected) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _bearer_ok() -> bool:
    header = request.headers.get("Authorization", "")
    return header.startswith("Bearer ") and _same(header[7:].strip(), _token())


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.before_request
def guard():
    """Off without a token; otherwise signed in (or a bearer token), and CSRF-checked on every POST."""
    if not _token():
        abort(404)
    if request.method == "POST":
        if _bearer_ok():
            return None
        sent = request.form.get("csrf", "")
        if not sent or not _same(sent, session.get("csrf", "")):
            return render_template("editor_login.html", title="Editor", csrf=_csrf_token(),
                                   error="The form had expired or did not come from this site: please try again."), 403
    if request.endpoint in ("editor.login", "editor.logout"):
        return None
    if not (session.get("editor") or _bearer_ok()):
        return redirect(url_for("editor.login"))
    return None


@bp.app_context_processor
def csrf_field():
    return {"csrf_token": _csrf_token} if _token() else {}


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with the editor token."""
    if request.method == "POST":
        if _same(request.form.get("token", ""), _token()):
            session.clear()
            session["editor"] = True
            _csrf_token()
            return redirect(url_for("editor.index"))
        return render_template("editor_login.html", title="Editor", csrf=_csrf_token(),
                               error="That is not the editor token."), 403
    return render_template("editor_login.html", title="Editor", csrf=_csrf_token(), error=None)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("browse.home"))


@bp.get("/")
def index():
    """Upload files, draft from text, and the graphs the store holds (with unload)."""
    return render_template("editor.html", title="Editor", graphs=_graphs(), draft=None,
                           message=request.args.get("message"))


@bp.post("/upload")
def upload():
    """Stage the uploaded (or pasted) Turtle, validate it, and show the report and the preview."""
    uploads = request.files.getlist("files")  # read first: an oversize body stops here (413), before any staging
    _discard(_staged(required=False))  # one staged upload per editor at a time
    folder = _new_staging()
    for upload in uploads:
        if not upload.filename:
            continue
        name = secure_filename(upload.filename) or "upload.ttl"
        if not name.endswith(".ttl"):
            shutil.rmtree(folder)
            raise KGError(f"{upload.filename}: only Turtle files (.ttl) are accepted", "save the file as .ttl")
        upload.save(folder / name)
    pasted = request.form.get("turtle", "").strip()
    if pasted:
        name = secure_filename(request.form.get("name") or "") or "draft.ttl"
        (folder / (name if name.endswith(".ttl") else name + ".ttl")).write_text(pasted + "\n", encoding="utf-8")
    if not any(folder.iterdir()):
        shutil.rmtree(folder)
        return redirect(url_for("editor.index", message="Choose at least one .ttl file, or paste Turtle."))
    session["staged"] = folder.name
    return _preview(folder)


@bp.post("/confirm")
def confirm():
    """Load what was staged (all-or-nothing, as `kg load`), then forget it."""
    folder = _staged()
    store = open_write_store()
    try:
        summary = Loader(store).load(
            [folder], labels={str(p): f"editor upload: {p.name}" for p in folder.glob("*.ttl")}
        )
    except LoadRefused:
        return _preview(folder, note="The store changed since the preview and a file no longer passes; nothing was loaded.")
    finally:
        store.close()
    _discard(folder)
    return redirect(url_for("editor.index", message=summary.totals()))


@bp.post("/cancel")
def cancel():
    _discard(_staged(required=False))
    return redirect(url_for("editor.index", message="Cancelled: nothing was loaded."))


@bp.post("/unload")
def unload():
    """Drop one graph (recorded in the history)."""
    graph = request.form.get("graph", "")
    if not graph.startswith(GRAPH_BASE):
        raise KGError("choose a graph of the store to unload")
    store = open_write_store()
    try:
        outcome = store.drop_graph(graph)
    finally:
        store.close()
    return redirect(url_for("editor.index", message=f"Unloaded {compact_graph(graph)}: -{outcome.removed} triples."))


@bp.get("/history")
def history():
    """Every load and unload, newest first, with what it added and removed."""
    store = open_dump_store()
    try:
        records = list(reversed(store.history()))
    finally:
        store.close()
    return render_template("editor_history.html", title="Load history", records=records)


@bp.post("/draft")
def draft():
    """Turn pasted prose into a draft Turtle file to edit, validate and load."""
    from ..draft import draft_update

    text = request.form.get("text", "")
    if not text.strip():
        return redirect(url_for("editor.index", message="Paste the update's text first."))
    result = draft_update(
        text,
        date=request.form.get("date") or None,
        country=request.form.get("country") or None,
        source_url=request.form.get("source") or None,
    )
    return render_template("editor.html", title="Editor", graphs=_graphs(), draft=result,
                           message="A draft: check every line marked REVIEW, then validate.")


# -- helpers ------------------------------------------------------------------------------------


def _graphs():
    store = open_dump_store()
    try:
        return store.graphs()
    finally:
        store.close()


def _preview(folder: Path, note: str | None = None):
    store = open_dump_store()
    try:
        summary, diffs = Loader(store).preview([folder])
    finally:
        store.close()
    files = []
    for item in summary.loads:
        path = Path(item.file)
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        if any(p.line and p.line > len(lines) for p in item.report.problems):
            lines.append("")  # the parser stopped at the end of the file (a missing final full stop…)
        by_line: dict[int, list] = {}
        unplaced = []  # problems of the whole file
        for problem in item.report.problems:
            if problem.line:
                by_line.setdefault(min(problem.line, len(lines)), []).append(problem)
            else:
                unplaced.append(problem)
        diff = diffs.get(item.file)
        files.append({
            "name": path.name,
            "conforms": item.report.conforms,
            "lines": lines,
            "problems": by_line,
            "unplaced": unplaced,
            "count": len(item.report.problems),
            "graph": item.graph,
            "added": _triples_text(diff.added) if diff else [],
            "removed": _triples_text(diff.removed) if diff else [],
            "n_added": len(diff.added) if diff else 0,
            "n_removed": len(diff.removed) if diff else 0,
            "existed": diff.existed if diff else False,
        })
    ok = not summary.failed
    if not ok:  # nothing can be loaded from it: keep nothing on disk
        _discard(folder)
    return render_template("editor_preview.html", title="Check and confirm", files=files, ok=ok, note=note,
                           limit=MAX_PREVIEW_TRIPLES), (200 if ok else 422)


def _triples_text(triples) -> list[str]:
    lines = sorted(" ".join(compact(t) if isinstance(t, URIRef) else t.n3() for t in triple) for triple in triples)
    return lines[:MAX_PREVIEW_TRIPLES]


def compact_graph(graph: str) -> str:
    return graph[len(GRAPH_BASE):] if graph.startswith(GRAPH_BASE) else graph


def _new_staging() -> Path:
    STAGING.mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(dir=STAGING))


def _staged(required: bool = True) -> Path | None:
    name = session.get("staged", "")
    folder = STAGING / name if name and "/" not in name and name not in (".", "..") else None
    if folder is None or not folder.is_dir():
        if required:
            raise KGError("nothing is waiting to be loaded", "upload the files again")
        return None
    return folder


def _discard(folder: Path | None) -> None:
    session.pop("staged", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)

