"""The ontology and its SKOS schemes: documented terms, standard vocabularies reused, the corpus covered."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, PROV, RDF, RDFS, SKOS

from kg.namespaces import KG, MT, SCHEMA, SEM, ST

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "gdp-updates-2020.yaml"


@pytest.fixture(scope="module")
def ontology() -> Graph:
    graph = Graph()
    for path in sorted((ROOT / "ontology").glob("*.ttl")):
        graph.parse(path)
    return graph


def _terms(graph):
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
    return sorted({s for kind in kinds for s in graph.subjects(RDF.type, kind) if str(s).startswith(str(KG))})


def test_every_class_and_property_has_an_english_label_and_comment(ontology):
    terms = _terms(ontology)
    assert len(terms) > 80
    for term in terms:
        labels = [l for l in ontology.objects(term, RDFS.label) if l.language == "en"]
        comments = [c for c in ontology.objects(term, RDFS.comment) if c.language == "en"]
        assert labels and comments, f"{term} needs rdfs:label and rdfs:comment in English"


def test_every_concept_has_label_definition_scheme_and_scheme_class(ontology):
    concepts = set(ontology.subjects(RDF.type, SKOS.Concept))
    assert len(concepts) > 100
    for concept in concepts:
        assert ontology.value(concept, SKOS.prefLabel) is not None, concept
        assert ontology.value(concept, SKOS.definition) is not None, concept
        scheme = ontology.value(concept, SKOS.inScheme)
        assert (scheme, RDF.type, SKOS.ConceptScheme) in ontology, concept
        scheme_classes = [c for c in ontology.objects(concept, RDF.type) if c != SKOS.Concept]
        assert len(scheme_classes) == 1, f"{concept} needs its scheme's class (kg:Status…)"
        assert (scheme_classes[0], RDFS.isDefinedBy, scheme) in ontology, concept


def test_classes_specialise_the_standard_vocabularies(ontology):
    expected = {
        KG.Update: PROV.Entity,
        KG.Development: SEM.Event,
        KG.Figure: SCHEMA.QuantitativeValue,
        KG.MigrantGroup: SEM.Actor,
        KG.Authority: SCHEMA.GovernmentOrganization,
        KG.Organisation: SCHEMA.Organization,
        KG.Place: SEM.Place,
        KG.Border: SEM.Place,
        KG.Country: SCHEMA.Country,
        KG.SourceArticle: SCHEMA.Article,
        KG.MeasureType: SKOS.Concept,
    }
    for cls, parent in expected.items():
        assert parent in set(ontology.transitive_objects(cls, RDFS.subClassOf)), f"{cls} ⊑ {parent}"
    assert (KG.accordingTo, RDFS.subPropertyOf, PROV.wasAttributedTo) in ontology
    assert (KG.measureType, RDFS.subPropertyOf, SEM.eventType) in ontology
    assert (KG.beginDate, RDFS.subPropertyOf, SEM.hasBeginTimeStamp) in ontology


def test_statuses_include_negative_partial_planned_and_ended(ontology):
    for slug, negative in [
        ("not-introduced", True), ("none-occurred", True), ("partial", False),
        ("planned", False), ("ended", False), ("introduced", False),
    ]:
        value = ontology.value(ST[slug], KG.isNegative)
        assert value is not None and value.toPython() is negative, slug


def test_every_kg_term_used_in_shapes_and_data_is_declared(ontology):
    declared = set(_terms(ontology)) | {KG[""]}
    used = set()
    for path in [*ROOT.glob("shapes/*.ttl"), *ROOT.glob("data/**/*.ttl")]:
        graph = Graph().parse(path)
        for triple in graph:
            for term in triple:
                if isinstance(term, URIRef) and str(term).startswith(str(KG)) and "/" not in str(term)[len(str(KG)):]:
                    used.add(term)
    assert used - declared == set()


@pytest.mark.skipif(not CORPUS.exists(), reason=f"the shared corpus is not at {CORPUS}")
def test_measure_types_and_statuses_cover_every_corpus_entry(ontology):
    corpus = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    type_keys = {str(n) for c in ontology.subjects(SKOS.inScheme, URIRef(str(MT)[:-1])) for n in ontology.objects(c, SKOS.notation)}
    status_keys = {str(n) for c in ontology.subjects(SKOS.inScheme, URIRef(str(ST)[:-1])) for n in ontology.objects(c, SKOS.notation)}
    missing_types, missing_statuses = set(), set()
    for update in corpus["updates"]:
        for measure in update.get("measures", []):
            key = measure.get("other_name") if measure["type"] == "other" else measure["type"]
            if key not in type_keys:
                missing_types.add(key)
            if measure["status"] not in status_keys:
                missing_statuses.add(measure["status"])
    assert missing_types == set()
    assert missing_statuses == set()
