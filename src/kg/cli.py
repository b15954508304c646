"""The `kg` command: thin click commands over the library. Each docstring is the help text."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from . import settings
from .errors import KGError


class KGGroup(click.Group):
    """Turns a KGError into its message and exit code 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KGError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)


def _settings_epilog() -> str:
    # "\b" keeps click from re-wrapping the table.
    lines = ["\b", "Settings (environment variables):"]
    lines += [f"  {s.env:<13} {s.help}\n  {'':<13} default: {s.default}" for s in settings.SETTINGS]
    return "\n".join(lines)


@click.group(cls=KGGroup, epilog=_settings_epilog(), context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="detention-kg")
def main():
    """A knowledge graph of immigration detention: validate, load, query and serve GDP updates."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format", "output_format", type=click.Choice(["human", "json"]), default="human", show_default=True,
    help="human: one line per problem; json: a machine report.",
)
def validate(paths, output_format):
    """Check Turtle files (or folders of them) against the shapes.

    Each file is parsed strictly and validated with the ontology and the reference data.
    Every problem is reported as file:line with the resource, the property, what to fix
    and the value found; a syntax error as file:line:column with the reason.

    Exit status: 0 when all files conform, 1 when any has violations, 2 when a file cannot
    be read or parsed.
    """
    from .validate import Validator, exit_code, format_human

    reports = Validator().validate_paths(paths)
    if output_format == "json":
        payload = {"conforms": all(r.conforms for r in reports), "files": [r.to_dict() for r in reports]}
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        click.echo(format_human(reports))
    sys.exit(exit_code(reports))


@main.command()
@click.option(
    "--output", type=click.Path(path_type=Path), default=None,
    help="Where to write the file. Default: $KG_DATA/reference/countries.ttl.",
)
def reference(output):
    """Regenerate the countries reference file from pycountry, hdx-python-country and rigour.

    Needs the `reference` extra (pip install -e '.[reference]'). The output is the same byte
    for byte on every run with the same package versions; commit it after regenerating.
    """
    from .reference import write_countries

    target = output or Path(settings.get("DATA")) / "reference" / "countries.ttl"
    count = write_countries(target)
    click.echo(f"wrote {count} triples to {target}")


def store_options(command):
    """--store and --sparql-query/--sparql-update, shared by every command that uses a store."""

    @click.option("--store", "store_path", type=click.Path(path_type=Path), default=None,
                  help="Folder of the embedded store (default: $KG_STORE).")
    @click.option("--sparql-query", default=None, metavar="URL",
                  help="Use the SPARQL 1.1 server with this query endpoint instead (default: $KG_SPARQL_QUERY).")
    @click.option("--sparql-update", default=None, metavar="URL",
                  help="That server's update endpoint (default: $KG_SPARQL_UPDATE, else the query endpoint).")
    @functools.wraps(command)
    def wrapper(*args, store_path, sparql_query, sparql_update, **kwargs):
        from .store import open_store

        config = settings.as_dict()
        if store_path is not None:
            config["STORE"], config["SPARQL_QUERY"] = str(store_path), ""
        if sparql_query:
            config["SPARQL_QUERY"] = sparql_query
        if sparql_update:
            config["SPARQL_UPDATE"] = sparql_update
        store = open_store(config)
        try:
            return command(*args, store=store, **kwargs)
        finally:
            store.close()

    return wrapper


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--keep-going", is_flag=True, help="Load the files that conform even if others fail.")
@store_options
def load(paths, keep_going, store):
    """Validate Turtle files (or folders) and load each into its own named graph.

    Every file is validated first, exactly as `kg validate` does. By default the batch is
    all-or-nothing: if any file fails, none is loaded. Each file then replaces its graph in
    one atomic write, recorded with its provenance (file, sha256, time, triples added and
    removed). Reloading an unchanged file changes nothing.

    The checks run as SPARQL on Oxigraph over all files at once (kept in agreement with
    pyshacl by the test suite), so a folder of thousands of files loads in seconds, and one
    file costs the same in a big store as in an empty one.

    Exit status: 0 when every file was loaded (or unchanged), 1 when files failed validation,
    2 when a file or the store cannot be read or written.
    """
    from .bulk import BulkLoader
    from .load import LoadRefused
    from .validate import exit_code, format_human

    loader = BulkLoader(store)
    lines: list[str] = []
    bar = None

    def report(item):
        lines.append(item.summary())
        if bar is not None:
            bar.update(1)

    try:
        many = sum(1 for _ in _iter_files(paths)) > 20 and sys.stderr.isatty()
        if many:
            with click.progressbar(length=sum(1 for _ in _iter_files(paths)), label="loading", file=sys.stderr) as bar:
                summary = loader.load(paths, keep_going=keep_going, progress=report)
        else:
            summary = loader.load(paths, keep_going=keep_going, progress=report)
    except LoadRefused as refused:
        click.echo(refused.message, err=True)
        click.echo(f"  hint: {refused.hint}", err=True)
        sys.exit(exit_code(refused.reports))
    click.echo("\n".join(lines))
    if summary.failed:
        click.echo(format_human([f.report for f in summary.failed]), err=True)
    click.echo(summary.totals())
    sys.exit(exit_code([f.report for f in summary.loads]))


def _iter_files(paths):
    from .validate import turtle_files

    return turtle_files(paths)


@main.command()
@click.argument("name")
@store_options
def unload(name, store):
    """Drop one graph: give an update (update:2020-06-14-kazakhstan), its file or the graph's IRI."""
    from .load import resolve_graph

    outcome = store.drop_graph(resolve_graph(store, name))
    click.echo(f"unloaded <{outcome.graph}>: -{outcome.removed} triples")


@main.command()
@store_options
def graphs(store):
    """List the store's named graphs with their size and the provenance of their last load."""
    from .store import META_GRAPH

    infos = store.graphs()
    rows = [("GRAPH", "TRIPLES", "FILE", "LOADED", "SHA256")]
    rows += [(i.iri, str(i.triples), i.file or "", (i.loaded or "")[:19], (i.sha256 or "")[:12]) for i in infos]
    widths = [max(len(r[c]) for r in rows) for c in range(5)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    click.echo(f"{len(infos)} graph(s), store version {store.version()}; provenance in <{META_GRAPH}>")


@main.command()
@click.argument("name", required=False)
@store_options
def history(name, store):
    """The loads and unloads of one update (or of every graph), oldest first, with their diffs."""
    from .load import resolve_graph

    graph = None
    if name:
        try:
            graph = resolve_graph(store, name)
        except KGError:  # an unloaded graph still has a history
            from .store.base import GRAPH_BASE

            graph = name if name.startswith(GRAPH_BASE) else f"{GRAPH_BASE}update/{name.removeprefix('update:')}"
    records = store.history(graph)
    if not records:
        raise KGError(f"no loads recorded for {name or 'this store'}", "`kg graphs` lists what is loaded")
    for r in records:
        click.echo(f"{r.time[:19]}  {r.action:<6}  +{r.added} -{r.removed} ({r.triples} triples)  {r.file or ''}  <{r.graph}>")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["trig", "nquads", "turtle", "jsonld"]), default="trig",
              show_default=True, help="trig and nquads keep the graphs; turtle and jsonld merge them (jsonld keeps them as @graph).")
@click.option("--graph", default=None, help="Export only this graph (an update, file or graph IRI).")
@click.option("--output", "-o", type=click.File("wb"), default="-", help="Where to write (default: standard output).")
@store_options
def export(fmt, graph, output, store):
    """Write the whole store, or one graph, as TriG, N-Quads, Turtle or JSON-LD."""
    from .load import resolve_graph

    output.write(store.dump(fmt, resolve_graph(store, graph) if graph else None))


@main.command()
@click.argument("query")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter of the query; IRIs as country:KZ or <https://…>. Repeat for several.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@store_options
def query(query, params, fmt, store):
    """Run a named query or a .rq file over the store.

    QUERY is the name of a query in kg/queries/ (`kg queries` lists them) or the path of a
    .rq file. Parameters are bound as RDF terms, never pasted into the query text.
    """
    from . import named_queries
    from .results import to_csv, to_json, to_table

    named = named_queries.load(query)
    values = {}
    for item in params:
        name, sep, value = item.partition("=")
        if not sep:
            raise KGError(f"--param {item!r} has no '='", "write --param NAME=VALUE")
        values[name.strip()] = value.strip()
    result = store.query(named.sparql, named.bindings(values))
    click.echo({"table": to_table, "csv": to_csv, "json": to_json}[fmt](result))


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: $KG_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: $KG_PORT).")
@store_options
def serve(host, port, store):
    """Serve the web front end and SPARQL endpoint.

    On first start the embedded store is built from the ontology and data folders
    ($KG_ONTOLOGY, $KG_DATA), all-or-nothing; later starts reuse it.
    """
    from .load import build_if_empty
    from .store import EmbeddedStore
    from .web import create_app

    built = build_if_empty(store, [settings.get("ONTOLOGY"), settings.get("DATA")])
    if built is not None:
        click.echo(f"built the store: {built.totals()}")
    description = store.description
    config = {}
    if isinstance(store, EmbeddedStore):
        # The query workers read through read-only handles; this process keeps no write handle.
        config["KG_STORE"] = str(store.path)
        store.close()
    else:
        config.update(KG_SPARQL_QUERY=store.query_url, KG_SPARQL_UPDATE=store.update_url)
    app = create_app(config)
    host = host or settings.get("HOST")
    port = port or int(settings.get("PORT"))
    click.echo(f"serving {description} on http://{host}:{port}/", err=False)
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.command("new")
@click.option("--date", required=True, help="The update's date, YYYY-MM-DD (or '14 June 2020').")
@click.option("--country", required=True, help="The country: ISO alpha-2, alpha-3 or English name.")
@click.option("--source", default=None, metavar="URL", help="The update's web page.")
@click.option("--title", default=None, help="Title (default: 'Country, D Month YYYY').")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Where to write; '-' for standard output. Default: $KG_DATA/updates/<date>-<country>.ttl.")
def new(date, country, source, title, output):
    """Write a new update file from the template, its required fields filled in.

    The rest of the template is comments that say what to add; the file validates as written.
    An existing file is never overwritten.
    """
    from .draft import new_update, update_slug

    text = new_update(date, country, source, title)
    _write_new_file(text, output, f"{update_slug(date, country)}.ttl")


@main.command()
@click.argument("text_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--date", default=None, help="The update's date, if the text has no header line.")
@click.option("--country", default=None, help="The country, if the text has no header line.")
@click.option("--source", default=None, metavar="URL", help="The update's web page.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Where to write; '-' for standard output. Default: $KG_DATA/updates/<date>-<country>.ttl.")
def draft(text_file, date, country, source, output):
    """Turn an update's prose into a draft Turtle file to review.

    Finds the date, the country, known organisations and authorities, measure types and
    statuses (negations included: "no moratorium", "had not been released"), figures with
    what they count, and cross-references ("see the 10 June Germany update"). Every guess
    carries a '# REVIEW:' comment; the report of `kg validate` on the draft follows.
    """
    from .draft import draft_update
    from .validate import format_human

    result = draft_update(text_file.read_text(encoding="utf-8"), date=date, country=country, source_url=source)
    for warning in result.findings.warnings:
        click.echo(f"warning: {warning}", err=True)
    _write_new_file(result.turtle, output, result.file_name)
    click.echo(format_human([result.validate()]), err=True)


def _write_new_file(text: str, output: Path | None, default_name: str) -> None:
    if output is not None and str(output) == "-":
        click.echo(text, nl=False)
        return
    target = output or Path(settings.get("DATA")) / "updates" / default_name
    if target.exists():
        raise KGError(f"{target} exists already", "choose another --output, or edit that file")
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}", err=True)


@main.command()
def queries():
    """List the named queries with their titles and parameters."""
    from . import named_queries

    for name in named_queries.names():
        named = named_queries.load(name)
        params = " ".join(f"[{p.name}]" if p.optional else p.name for p in named.params)
        click.echo(f"{name:<24} {named.title}" + (f"  (params: {params})" if params else ""))


@main.command("settings")
def show_settings():
    """List every setting with its environment variable, current value and help."""
    for s in settings.SETTINGS:
        click.echo(f"{s.env}={s.value()}\n    {s.help} (default: {s.default})")


if __name__ == "__main__":
    main()
