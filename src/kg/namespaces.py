"""The project's IRIs and the vocabularies it reuses, declared once."""

from rdflib import Namespace
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SH, SKOS, TIME, XSD

#: The one fixed base of the data; the web app serves every IRI under it at its own path.
BASE = "https://w3id.org/detention-kg/"

KG = Namespace(BASE + "def/")  # ontology terms
ID = Namespace(BASE + "id/")  # resources: id/{kind}/{slug}
MT = Namespace(BASE + "def/measure-type/")  # SKOS: kinds of measure or development
ST = Namespace(BASE + "def/status/")  # SKOS: what was reported of a measure
CH = Namespace(BASE + "def/channel/")  # SKOS: how a claim reached the GDP
PT = Namespace(BASE + "def/place-type/")
GT = Namespace(BASE + "def/group-type/")
AT = Namespace(BASE + "def/agent-type/")
QK = Namespace(BASE + "def/quantity-kind/")
RISK = Namespace(BASE + "def/risk/")
SHAPES = Namespace(BASE + "def/shapes/")

SEM = Namespace("http://semanticweb.cs.vu.nl/2009/11/sem/")
SCHEMA = Namespace("https://schema.org/")
WD = Namespace("http://www.wikidata.org/entity/")
VOID = Namespace("http://rdfs.org/ns/void#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")

#: The kinds of resource under id/, each with its own prefix in Turtle files
#: (Turtle's prefixed names cannot hold a "/", so id:update/x would not parse).
RESOURCE_KINDS = (
    "update", "measure", "incident", "figure", "group", "place", "border", "country",
    "region", "organisation", "authority", "source", "image", "xref",
)

#: Prefixes bound on every graph we write and offered in the query editor.
PREFIXES = {
    "kg": KG,
    "id": ID,
    **{kind: Namespace(f"{BASE}id/{kind}/") for kind in RESOURCE_KINDS},
    "mt": MT,
    "st": ST,
    "ch": CH,
    "pt": PT,
    "gt": GT,
    "at": AT,
    "qk": QK,
    "risk": RISK,
    "sem": SEM,
    "schema": SCHEMA,
    "prov": PROV,
    "time": TIME,
    "dcterms": DCTERMS,
    "skos": SKOS,
    "owl": OWL,
    "rdf": RDF,
    "rdfs": RDFS,
    "xsd": XSD,
    "sh": SH,
    "kgsh": SHAPES,
    "wd": WD,
    "void": VOID,
    "dcat": DCAT,
    "sd": SD,
}


def bind_prefixes(graph):
    """Bind the project's prefixes on an rdflib graph (for readable serialisations)."""
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace, override=True, replace=True)
    return graph


def sparql_prologue() -> str:
    """PREFIX lines for every project prefix, for query editors and named queries."""
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())
