"""The editor area: token, CSRF, upload cap, report beside the lines, preview, confirm or cancel."""

from __future__ import annotations

import hashlib
import io
import re

import pytest

from kg.load import Loader
from kg.store import EmbeddedStore
from kg.web import create_app

from conftest import DATA, ROOT, TEST_DATA

TOKEN = "correct horse battery staple"
GOOD = TEST_DATA / "load" / "2020-07-01-testland.ttl"
BAD = TEST_DATA / "load" / "bad-status.ttl"
GRAPH = "https://w3id.org/detention-kg/id/graph/update/2020-07-01-testland"


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "store"
    store = EmbeddedStore(path)
    Loader(store).load([ROOT / "ontology", DATA / "reference"])
    store.close()
    return path


@pytest.fixture
def editor_app(store_path):
    app = create_app({"KG_STORE": str(store_path), "KG_EDITOR_TOKEN": TOKEN, "KG_UPLOAD_LIMIT": "20000"})
    yield app
    if app.extensions.get("kg_runner") is not None:
        app.extensions["kg_runner"].close()


def fingerprint(path) -> str:
    store = EmbeddedStore(path, read_only=True)
    try:
        return hashlib.sha256(b"\n".join(sorted(store.dump("nquads").splitlines()))).hexdigest()
    finally:
        store.close()


def csrf(client) -> str:
    page = client.get("/editor/").data.decode()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def signed_in(app):
    client = app.test_client()
    page = client.get("/editor/login").data.decode()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = client.post("/editor/login", data={"token": TOKEN, "csrf": token})
    assert response.status_code == 302
    return client


def upload(client, path, **extra):
    data = {"csrf": csrf(client), "files": (io.BytesIO(path.read_bytes()), path.name), **extra}
    return client.post("/editor/upload", data=data, content_type="multipart/form-data")


def test_the_area_is_off_without_a_token(store_path):
    app = create_app({"KG_STORE": str(store_path)})
    assert app.test_client().get("/editor/").status_code == 404
    assert app.test_client().post("/editor/upload").status_code == 404


def test_a_missing_or_wrong_token_is_refused(editor_app, store_path):
    before = fingerprint(store_path)
    client = editor_app.test_client()
    assert client.get("/editor/").status_code == 302  # to the sign-in form
    page = client.get("/editor/login").data.decode()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    wrong = client.post("/editor/login", data={"token": "guess", "csrf": token})
    assert wrong.status_code == 403 and b"not the editor token" in wrong.data
    assert client.get("/editor/").status_code == 302
    bad_bearer = editor_app.test_client().post(
        "/editor/upload", headers={"Authorization": "Bearer guess"},
        data={"files": (io.BytesIO(GOOD.read_bytes()), GOOD.name)}, content_type="multipart/form-data")
    assert bad_bearer.status_code == 403
    assert fingerprint(store_path) == before


def test_every_form_needs_its_csrf_token(editor_app, store_path):
    before = fingerprint(store_path)
    client = signed_in(editor_app)
    for path, data in [("/editor/upload", {"files": (io.BytesIO(GOOD.read_bytes()), GOOD.name)}),
                       ("/editor/confirm", {}), ("/editor/unload", {"graph": GRAPH}), ("/editor/logout", {})]:
        response = client.post(path, data=data, content_type="multipart/form-data")
        assert response.status_code == 403, path
        forged = client.post(path, data={**data, "csrf": "forged"}, content_type="multipart/form-data") if path != "/editor/upload" else response
        assert forged.status_code == 403, path
    assert fingerprint(store_path) == before


def test_an_oversize_upload_is_refused_and_changes_nothing(editor_app, store_path):
    before = fingerprint(store_path)
    client = signed_in(editor_app)
    huge = io.BytesIO(GOOD.read_bytes() + b"# padding\n" * 3000)
    response = client.post("/editor/upload", data={"csrf": csrf(client), "files": (huge, "big.ttl")},
                           content_type="multipart/form-data")
    assert response.status_code == 413 and b"larger than the limit of 20,000 bytes" in response.data
    assert fingerprint(store_path) == before


def test_upload_preview_confirm_history_and_unload(editor_app, store_path):
    client = signed_in(editor_app)
    before = fingerprint(store_path)
    preview = upload(client, GOOD)
    page = preview.data.decode()
    assert preview.status_code == 200 and "Ready to load" in page
    assert "+13</strong> added" in page and "(a new graph)" in page
    assert fingerprint(store_path) == before  # a preview writes nothing

    done = client.post("/editor/confirm", data={"csrf": csrf(client)})
    assert done.status_code == 302 and "1+loaded" in done.headers["Location"].replace("%20", "+")
    store = EmbeddedStore(store_path, read_only=True)
    assert len(store.graph_triples(GRAPH)) == 13
    assert store.graph_info(GRAPH).file == "editor upload: 2020-07-01-testland.ttl"
    store.close()

    history = client.get("/editor/history").data.decode()
    assert "editor upload: 2020-07-01-testland.ttl" in history and "+13" in history

    again = upload(client, GOOD).data.decode()
    assert "+0</strong> added" in again and "replacing its current content" in again
    client.post("/editor/cancel", data={"csrf": csrf(client)})

    gone = client.post("/editor/unload", data={"csrf": csrf(client), "graph": GRAPH})
    assert gone.status_code == 302
    store = EmbeddedStore(store_path, read_only=True)
    assert store.graph_triples(GRAPH) == set()
    store.close()


def test_a_failing_file_is_reported_beside_its_line_and_cannot_be_loaded(editor_app, store_path):
    client = signed_in(editor_app)
    before = fingerprint(store_path)
    response = upload(client, BAD)
    page = response.data.decode()
    assert response.status_code == 422 and "Problems to mend" in page
    row = re.search(r'<tr class="bad" id="bad-status.ttl-L22">(.*?)</tr>', page, re.S).group(1)
    assert "kg:status st:" not in row and "kg:status mt:border-closure" in row
    assert "Give exactly one status from the status scheme" in row
    assert re.search(r"<button type=\"submit\" disabled>Load</button>", page)
    refused = client.post("/editor/confirm", data={"csrf": csrf(client)})  # the refused upload was not kept
    assert refused.status_code == 400 and "nothing is waiting to be loaded" in refused.data.decode()
    assert fingerprint(store_path) == before


def test_a_script_may_use_a_bearer_token(editor_app, store_path):
    client = editor_app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = client.post("/editor/upload", headers=headers,
                           data={"turtle": GOOD.read_text(), "name": "pasted.ttl"}, content_type="multipart/form-data")
    assert response.status_code == 200 and "Ready to load" in response.data.decode()


def test_only_turtle_files_are_accepted(editor_app):
    client = signed_in(editor_app)
    response = client.post("/editor/upload", data={"csrf": csrf(client), "files": (io.BytesIO(b"{}"), "data.jsonld")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and b"only Turtle files" in response.data


def test_paste_text_draft_edit_validate_load(editor_app, store_path):
    client = signed_in(editor_app)
    text = ("14 June 2020 – Kazakhstan\n\nKazakhstan has introduced a moratorium on new detention orders. "
            "No persons have been released.\n")  # short: this app's upload cap is 20 kB
    drafted = client.post("/editor/draft", data={"csrf": csrf(client), "text": text, "country": "KZ"})
    page = drafted.data.decode()
    assert drafted.status_code == 200 and "# REVIEW:" in page
    turtle = re.search(r'<textarea id="turtle" name="turtle"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    import html

    turtle = html.unescape(turtle)
    assert "mt:moratorium-on-detention-orders" in turtle and "st:none-occurred" in turtle
    edited = turtle.replace('"No release of detainees"@en', '"No one released"@en')
    preview = client.post("/editor/upload", data={"csrf": csrf(client), "turtle": edited, "name": "2020-06-14-kazakhstan.ttl"},
                          content_type="multipart/form-data")
    assert preview.status_code == 200, preview.data.decode()[:2000]
    done = client.post("/editor/confirm", data={"csrf": csrf(client)})
    assert done.status_code == 302
    store = EmbeddedStore(store_path, read_only=True)
    assert store.graph_triples("https://w3id.org/detention-kg/id/graph/update/2020-06-14-kazakhstan")
    store.close()
