"""Bad editor files: every class of malformed Turtle is refused with file:line(:column), never a
traceback, by `kg validate`, by `kg load` (the store unchanged) and by the editor upload (422 or
413, the store unchanged).

The corpus is tests/data/malformed/: each file is the same small, valid update with one defect,
named by a comment on its first line. Files too big or too deep to commit (5,000 nested brackets,
tens of megabytes, a multi-megabyte line) are generated here at run time.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import resource
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from markupsafe import escape

from kg.cli import main
from kg.load import Loader
from kg.store import EmbeddedStore
from kg.web import create_app

from conftest import DATA, ROOT, TEST_DATA

CORPUS = TEST_DATA / "malformed"
TOKEN = "malformed-turtle-editor-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}

# name -> (exit status of `kg validate` and `kg load`, location after "file:", part of the message)
EXPECTED = {
    # IRIs
    "iri-space": (2, "18:20", "Invalid IRI code point ' '"),
    "iri-angle": (2, "18:20", "Invalid IRI code point '<'"),
    "iri-braces": (2, "18:20", "Invalid IRI code point '{'"),
    "iri-quote": (2, "18:20", "Invalid IRI code point '\"'"),
    "iri-short-uescape": (2, "18:67", "is not a valid hexadecimal string"),
    "iri-bad-escape": (2, "18:61", "Unexpected escape character '\\n'"),
    "iri-control-char": (2, "18:20", "Invalid IRI code point"),
    "iri-relative": (2, "18:20", "No scheme found in an absolute IRI"),
    "iri-unterminated": (2, "18:20", "Unexpected end of file"),
    # strings
    "string-bad-escape": (2, "14:47", "Unexpected escape character '\\q'"),
    "string-short-uescape": (2, "14:28", "is not a valid hexadecimal string"),
    "string-bad-Uescape": (2, "14:41", "is not a valid hexadecimal string"),
    "string-unterminated": (2, "14:51", "the string that starts at column 19 is not closed"),
    "string-unterminated-single": (2, "14:19", "the string that starts at column 19 is not closed"),
    "string-mismatched-quotes": (2, "14:52", "the string that starts at column 19 is not closed"),
    "long-string-unterminated": (2, "21:16", "Unexpected end of file"),
    "long-string-unterminated-single": (2, "21:16", "Unexpected end of file"),
    # lists and blank nodes
    "list-unterminated": (2, "26:43", ". is not a valid RDF object"),
    "list-unterminated-eof": (2, "28:1", "Unexpected end"),
    "list-mismatched": (2, "26:43", "] is not a valid RDF object"),
    "bnode-unterminated": (2, "18:88", "blank node property lists should end with a ']'"),
    "bnode-unterminated-eof": (2, "28:1", "Triples should be followed by a dot"),
    "bnode-extra-close": (2, "16:27", "] is not a valid subject"),
    # prefixes and directives
    "prefix-undefined": (2, "16:16", "The prefix nation: has not been declared"),
    "prefix-undeclared-kg": (2, "12:33", "The prefix kg: has not been declared"),
    "prefix-missing-dot": (2, "13:1", "A dot is expected at the end of statements"),
    "prefix-misspelt-directive": (2, "10:1", "@prefx is not a valid subject"),
    "prefix-no-colon": (2, "10:9", "should be followed by a prefix"),
    # literals
    "langtag-dashes": (2, "14:52", "The allowed base directions are --ltr and --rtl"),
    "langtag-digits": (2, "14:48", "A language code should always start with a letter"),
    "langtag-empty": (2, "14:48", "A language code should always start with a letter"),
    "datatype-missing": (2, "15:36", "Expecting a datatype IRI after ^^"),
    "datatype-string": (2, "15:34", "Expecting a datatype IRI after ^^"),
    "datatype-and-langtag": (2, "14:50", "^^ is not a valid subject"),
    "number-malformed": (2, "26:21", ".3 is not a valid subject"),
    # statements
    "final-dot-missing": (2, "27:1", "Unexpected end"),
    "final-semicolon": (2, "27:1", "Unexpected end"),
    "final-comma": (2, "27:1", "Unexpected end"),
    "dot-between-predicates": (2, "17:61", "; is not a valid RDF object"),
    "missing-object": (2, "16:16", "; is not a valid RDF object"),
    "literal-subject": (2, "20:1", "is not a valid subject"),
    "literal-predicate": (2, "16:5", "is not a valid predicate"),
    "bnode-predicate": (2, "16:5", "_:country is not a valid predicate"),
    # stray characters and other languages
    "stray-brace": (2, "27:1", "} is not a valid subject"),
    "stray-section-sign": (2, "20:1", "is not allowed at the beginning of a prefix name"),
    "stray-prose": (2, "20:1", "See is not a valid subject"),
    "stray-backslash": (2, "16:18", "allowed to be escaped"),
    "nul-byte": (2, "20:1", "is not allowed at the beginning of a prefix name"),
    "bom": (2, "1:1", "is not a valid subject"),
    "trig-graph": (2, "13:1", "GRAPH is not a valid subject"),
    "sparql-query": (2, "2:1", "SELECT is not a valid subject"),
    "json-ld": (2, "2:1", "{ is not a valid subject"),
    "rdf-xml": (2, "2:1", "Invalid IRI code point"),
    # encodings (located by line only: see test_invalid_utf8_is_located_by_line_and_column)
    "invalid-utf8": (2, "14:36", "the file is not UTF-8 text"),
    "invalid-utf8-truncated": (2, "27:3", "the file is not UTF-8 text"),
    # files that parse but break the shapes (exit 1)
    "shape-illtyped-date": (1, "26", "kg:beginDate"),
    "shape-wrong-status": (1, "24", "Give exactly one status from the status scheme"),
    "shape-blank-node": (1, "16", "a resource written as a blank node (kg:Country)"),
    "shape-nested-blank-nodes": (1, "27", "a resource written as a blank node (kg:MigrantGroup)"),
}

# Known bugs, each a strict xfail on the files it concerns (see the reasons).

CORPUS_FILES = sorted(p.stem for p in CORPUS.glob("*.ttl"))


def _params(bugs: dict[str, pytest.MarkDecorator]):
    return [pytest.param(name, marks=bugs[name]) if name in bugs else name for name in CORPUS_FILES]


def test_the_corpus_and_the_expectations_match():
    assert set(CORPUS_FILES) == set(EXPECTED), "every corpus file needs an expectation, and vice versa"
    for name in CORPUS_FILES:
        assert CORPUS.joinpath(f"{name}.ttl").read_bytes().lstrip(b"\xef\xbb\xbf").startswith(b"# "), name


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    """An embedded store with the ontology and the reference data (what any upload is checked against)."""
    path = tmp_path_factory.mktemp("malformed") / "store"
    store = EmbeddedStore(path)
    Loader(store).load([ROOT / "ontology", DATA / "reference"])
    store.close()
    return path


def export_digest(store_path: Path) -> str:
    """sha256 of `kg export --format nquads`, lines sorted (blank-node order aside, the store's content)."""
    result = CliRunner().invoke(main, ["export", "--store", str(store_path), "--format", "nquads"])
    assert result.exit_code == 0, result.output
    return hashlib.sha256(b"\n".join(sorted(result.stdout_bytes.splitlines()))).hexdigest()


@pytest.fixture(scope="module")
def baseline(store_path) -> str:
    return export_digest(store_path)


@pytest.fixture(scope="module")
def editor_app(store_path):
    app = create_app({"KG_STORE": str(store_path), "KG_EDITOR_TOKEN": TOKEN, "TESTING": True})
    yield app
    if app.extensions.get("kg_runner") is not None:
        app.extensions["kg_runner"].close()


@pytest.fixture
def staging(tmp_path, monkeypatch):
    """The editor's staging folder, private to the test (other test runs share the default one)."""
    folder = tmp_path / "staging"
    monkeypatch.setattr("kg.web.editor.STAGING", folder)
    return folder


def validate(path: Path, *extra: str):
    return CliRunner().invoke(main, ["validate", *extra, str(path)])


def load(store_path: Path, path: Path):
    return CliRunner().invoke(main, ["load", "--store", str(store_path), str(path)])


def upload(app, name: str, data: bytes):
    return app.test_client().post(
        "/editor/upload", headers=BEARER, content_type="multipart/form-data",
        data={"files": (io.BytesIO(data), name)},
    )


@contextmanager
def cli_logging():
    """Logging as in a real `kg` process: no handler on the root logger, so records of WARNING and
    above reach stderr through logging.lastResort (pytest's capture handler would swallow them)."""
    import logging

    saved = logging.root.handlers[:]
    logging.root.handlers.clear()
    try:
        yield
    finally:
        logging.root.handlers[:] = saved


@dataclass
class CorpusRun:
    """What `kg validate` (human and JSON) and `kg load` did with one corpus file."""

    validate: object
    validate_json: object
    load: object
    digest_after_load: str


@pytest.fixture(scope="module")
def corpus_run(store_path, baseline):  # the baseline is taken before the first load
    """Runs the three commands once per corpus file (several tests read each outcome), logging as in
    a real `kg` process."""
    done: dict[str, CorpusRun] = {}

    def run(name: str) -> CorpusRun:
        if name not in done:
            path = CORPUS / f"{name}.ttl"
            with cli_logging():
                done[name] = CorpusRun(validate(path), validate(path, "--format", "json"), load(store_path, path),
                                       export_digest(store_path))
        return done[name]

    return run


def problem_lines(output: str, path: Path) -> list[str]:
    """The report's problem lines (the summary line and anything else left out)."""
    return [line for line in output.splitlines() if line.startswith(str(path))]


# -- the corpus, three ways -----------------------------------------------------------------------


@pytest.mark.parametrize("name", _params({}))
def test_kg_validate_refuses_with_file_line_and_column(name, corpus_run):
    path = CORPUS / f"{name}.ttl"
    code, location, says = EXPECTED[name]
    result = corpus_run(name).validate
    assert result.exit_code == code, result.output
    lines = problem_lines(result.output, path)
    assert lines, result.output
    assert lines[0].startswith(f"{path}:{location}: "), result.output
    assert says in result.output
    # every problem is located: file:line:column for syntax errors, file:line for the rest
    pattern = r":\d+:\d+: " if code == 2 and "utf8" not in name else r":\d+(:\d+)?: "
    for line in lines:
        assert re.match(re.escape(str(path)) + pattern, line), line
    assert result.output.rstrip().endswith("Mend the lines above and run `kg validate` again.")


@pytest.mark.parametrize("name", _params({}))
def test_no_traceback_from_kg_validate_or_kg_load(name, corpus_run):
    run = corpus_run(name)
    for result in (run.validate, run.validate_json, run.load):
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output, result.output


@pytest.mark.parametrize("name", _params({}))
def test_kg_validate_json_report_locates_every_problem(name, corpus_run):
    import json

    code, location, _ = EXPECTED[name]
    result = corpus_run(name).validate_json
    assert result.exit_code == code
    report = json.loads(result.stdout)
    assert report["conforms"] is False
    [file] = report["files"]
    assert file["status"] == ("unreadable" if code == 2 else "invalid")
    first = file["problems"][0]
    assert [str(first["line"]), *([str(first["column"])] if first["column"] else [])] == location.split(":")
    assert all(p["line"] for p in file["problems"]), file["problems"]


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_kg_load_refuses_and_the_store_is_unchanged(name, corpus_run, baseline):
    path = CORPUS / f"{name}.ttl"
    code, location, says = EXPECTED[name]
    run = corpus_run(name)
    assert run.load.exit_code == code, run.load.output
    assert f"{path}:{location}: " in run.load.output and says in run.load.output
    assert "nothing was loaded" in run.load.output
    assert run.digest_after_load == baseline


EDITOR_BUGS: dict = {}


@pytest.mark.parametrize("name", _params(EDITOR_BUGS))
def test_editor_upload_answers_422_shows_the_problem_and_changes_nothing(name, editor_app, store_path, baseline, staging):
    code, location, says = EXPECTED[name]
    response = upload(editor_app, f"{name}.ttl", (CORPUS / f"{name}.ttl").read_bytes())
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:2000]
    assert "Traceback" not in page
    assert "Problems to mend" in page
    assert str(escape(says)) in page, f"the message {says!r} is not on the page"
    line = location.split(":")[0]
    if name != "shape-nested-blank-nodes":
        assert f'id="{name}.ttl-L{line}"' in page, "the problem is not shown beside its line"
    assert export_digest(store_path) == baseline


def test_invalid_utf8_is_located_by_line_and_column():
    path = CORPUS / "invalid-utf8.ttl"
    result = validate(path)
    assert result.exit_code == 2
    assert re.search(re.escape(str(path)) + r":14:\d+: ", result.output), result.output


# -- empty and comments-only files --------------------------------------------------------------


NO_TRIPLES = {"empty": b"", "only-comments": b"# 2020-08-01 Malformland: to be written\n#\n# nothing here yet\n"}


@pytest.mark.parametrize("kind", sorted(NO_TRIPLES))
def test_a_file_without_triples_is_refused_by_kg_validate(kind, tmp_path):
    path = tmp_path / f"{kind}.ttl"
    path.write_bytes(NO_TRIPLES[kind])
    result = validate(path)
    assert result.exit_code in (1, 2), result.output
    assert f"{path}:" in result.output


@pytest.mark.parametrize("kind", sorted(NO_TRIPLES))
def test_a_file_without_triples_is_refused_by_kg_load(kind, tmp_path, store_path):
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)  # the load may write: keep the shared store clean
    before = export_digest(copy)
    path = tmp_path / f"{kind}.ttl"
    path.write_bytes(NO_TRIPLES[kind])
    result = load(copy, path)
    after = export_digest(copy)
    assert result.exit_code in (1, 2), result.output
    assert after == before


@pytest.mark.parametrize("kind", sorted(NO_TRIPLES))
def test_a_file_without_triples_is_refused_by_the_editor(kind, editor_app, store_path, baseline, staging):
    response = upload(editor_app, f"{kind}.ttl", NO_TRIPLES[kind])
    assert export_digest(store_path) == baseline
    assert response.status_code == 422


# -- deep nesting (generated) ---------------------------------------------------------------------

DEPTH = 5000
PROLOGUE = (CORPUS / "final-dot-missing.ttl").read_text(encoding="utf-8").split("\nupdate:")[0] + "\n"
PROLOGUE_LINES = PROLOGUE.count("\n")
SUBJECT = "update:2020-08-01-malformland rdfs:seeAlso "


def nested(kind: str, closed: bool) -> str:
    opening, closing = ("[ rdfs:seeAlso ", " ]") if kind == "[" else ("( ", " )")
    body = SUBJECT + opening * DEPTH + '"deep"' + (closing * DEPTH + " .\n" if closed else "\n")
    return PROLOGUE + body


@pytest.mark.parametrize("kind", ["[", "("])
def test_deeply_nested_unterminated_brackets_are_refused_quickly_with_a_location(kind, tmp_path, editor_app, store_path, baseline, staging):
    path = tmp_path / "deep-open.ttl"
    path.write_text(nested(kind, closed=False), encoding="utf-8")
    result = validate(path)
    assert result.exit_code == 2, result.output
    assert re.search(re.escape(str(path)) + r":\d+:\d+: syntax error: ", result.output), result.output
    assert "Traceback" not in result.output
    assert load(store_path, path).exit_code == 2
    response = upload(editor_app, "deep-open.ttl", path.read_bytes())
    assert response.status_code == 422 and b"Traceback" not in response.data
    assert export_digest(store_path) == baseline




@pytest.mark.parametrize("kind", ["[", "("])
def test_deeply_nested_closed_brackets_are_refused_and_change_nothing(kind, tmp_path, editor_app, store_path, baseline, staging):
    path = tmp_path / "deep-closed.ttl"
    path.write_text(nested(kind, closed=True), encoding="utf-8")
    result = validate(path)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert load(store_path, path).exit_code == 2
    response = upload(editor_app, "deep-closed.ttl", path.read_bytes())
    assert response.status_code == 422 and b"Traceback" not in response.data
    assert export_digest(store_path) == baseline


@pytest.mark.parametrize("kind", ["[", "("])
def test_deeply_nested_closed_brackets_are_reported_with_a_location(kind, tmp_path):
    path = tmp_path / "deep-closed.ttl"
    path.write_text(nested(kind, closed=True), encoding="utf-8")
    result = validate(path)
    assert re.search(re.escape(str(path)) + r":\d+:\d+: ", result.output), result.output
    assert "recursion" not in result.output


# -- huge files (generated) -----------------------------------------------------------------------

MEASURE = (
    "measure:2020-08-01-malformland-m{i} a kg:Measure ;\n"
    '    rdfs:label "Measure number {i} of a very long file"@en ;\n'
    "    kg:reportedIn update:2020-08-01-malformland ; kg:measureType mt:moratorium-on-detention-orders ;\n"
    "    kg:status st:introduced ; kg:accordingTo organisation:international-legal-initiative ;\n"
    '    kg:beginDate "2020-04-01"^^xsd:date .\n'
)


def huge_text(megabytes: float) -> bytes:
    """A valid-looking update followed by enough measures to weigh MEGABYTES."""
    head = (CORPUS / "shape-wrong-status.ttl").read_text(encoding="utf-8").replace("mt:border-closure", "st:introduced")
    size, parts, i = len(head), [head], 0
    while size < megabytes * 1_000_000:
        parts.append(MEASURE.format(i=i))
        size += len(parts[-1])
        i += 1
    return "".join(parts).encode("utf-8")


@pytest.fixture(scope="module")
def huge_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("huge") / "huge.ttl"
    path.write_bytes(huge_text(30))
    return path


def test_a_huge_upload_is_refused_with_413_and_changes_nothing(huge_file, editor_app, store_path, baseline, staging):
    assert huge_file.stat().st_size > int(editor_app.config["KG_UPLOAD_LIMIT"])
    response = upload(editor_app, "huge.ttl", huge_file.read_bytes())
    assert response.status_code == 413
    assert b"larger than the limit" in response.data and b"Traceback" not in response.data
    assert export_digest(store_path) == baseline


HUGE_SECONDS = 15


def _limit_memory():  # the child may not take the machine down with it
    resource.setrlimit(resource.RLIMIT_AS, (6 * 2**30, 6 * 2**30))


def test_kg_validate_on_a_huge_file_answers_in_bounded_time(huge_file):
    command = [sys.executable, "-m", "kg.cli", "validate", str(huge_file)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=HUGE_SECONDS,
                              preexec_fn=_limit_memory, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    except subprocess.TimeoutExpired:
        pytest.fail(f"`kg validate` on a {huge_file.stat().st_size / 1e6:.0f} MB file ran past {HUGE_SECONDS} s")
    assert done.returncode in (0, 1, 2)
    assert "Traceback" not in done.stdout + done.stderr
    assert str(huge_file) in done.stdout + done.stderr


def test_a_huge_single_line_is_handled(tmp_path, editor_app, store_path, baseline, staging):
    """4 MB on one line (under the upload cap): an unterminated string, and a valid long literal."""
    text = (CORPUS / "shape-wrong-status.ttl").read_text(encoding="utf-8").replace("mt:border-closure", "st:introduced")
    label = '"Moratorium on new detention orders"@en'
    open_string = text.replace(label, '"' + "x" * 4_000_000)
    path = tmp_path / "long-line-open.ttl"
    path.write_text(open_string, encoding="utf-8")
    result = validate(path)
    assert result.exit_code == 2
    assert f"{path}:21:" in result.output and "the string that starts at column 16 is not closed" in result.output
    assert load(store_path, path).exit_code == 2
    response = upload(editor_app, "long-line-open.ttl", path.read_bytes())
    assert response.status_code == 422 and b"Traceback" not in response.data
    assert export_digest(store_path) == baseline

    valid = tmp_path / "long-line-valid.ttl"
    valid.write_text(text.replace(label, '"' + "x" * 4_000_000 + '"@en'), encoding="utf-8")
    result = validate(valid)
    assert result.exit_code == 0, result.output[:2000]


# -- the editor's staging folder ------------------------------------------------------------------


def test_a_refused_upload_leaves_nothing_in_the_staging_folder(editor_app, staging):
    response = upload(editor_app, "iri-space.ttl", (CORPUS / "iri-space.ttl").read_bytes())
    assert response.status_code == 422
    too_big = upload(editor_app, "big.ttl", b"# padding\n" * 600_000)
    assert too_big.status_code == 413
    left = sorted(p.relative_to(staging) for p in staging.rglob("*")) if staging.exists() else []
    assert left == []


def test_a_reference_file_uploaded_twice_through_the_editor_lands_in_one_graph(store_path, tmp_path, staging):
    copy = tmp_path / "store"
    shutil.copytree(store_path, copy)
    app = create_app({"KG_STORE": str(copy), "KG_EDITOR_TOKEN": TOKEN, "TESTING": True})
    try:
        client = app.test_client()
        text = (DATA / "reference" / "agents.ttl").read_bytes()
        for _ in range(2):
            preview = client.post("/editor/upload", headers=BEARER, content_type="multipart/form-data",
                                  data={"files": (io.BytesIO(text), "agents.ttl")})
            assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
            assert client.post("/editor/confirm", headers=BEARER).status_code == 302
    finally:
        if app.extensions.get("kg_runner") is not None:
            app.extensions["kg_runner"].close()
    store = EmbeddedStore(copy, read_only=True)
    try:
        graphs = sorted(g.iri for g in store.graphs() if g.iri.endswith("/agents"))
    finally:
        store.close()
    assert graphs == ["https://w3id.org/detention-kg/id/graph/reference/agents"]
