"""Every statement of the seed update (Kazakhstan, 14 June 2020), answered by the SPARQL query a
researcher would write, on the real embedded engine over the curated data."""

from __future__ import annotations

from pyoxigraph import NamedNode

from kg.namespaces import CH, GT, ID, ST

KZ_UPDATE = NamedNode(f"{ID}update/2020-06-14-kazakhstan")


def test_moratorium_on_new_detention_orders_with_its_exception_until_10_july(select):
    rows = select(
        """
        SELECT ?update ?status ?scope ?exception ?until ?source WHERE {
          ?m kg:reportedIn ?update ; kg:measureType mt:moratorium-on-detention-orders ;
             kg:status ?status ; kg:scope ?scope ; kg:exception ?exception ;
             kg:plannedEndDate ?until ; kg:accordingTo/rdfs:label ?source .
        }""",
        update=KZ_UPDATE,
    )
    assert len(rows) == 1
    row = rows[0]
    assert row["status"] == f"{ST}introduced"
    assert "migration legislation" in row["scope"]
    assert "other offences" in row["exception"]
    assert row["until"] == "2020-07-10"
    assert row["source"] == "International Legal Initiative"


def test_deportation_proceedings_halted_until_10_july(select):
    rows = select(
        """
        SELECT ?update ?status ?until WHERE {
          ?m kg:reportedIn ?update ; kg:measureType mt:suspension-of-deportations ;
             kg:status ?status ; kg:plannedEndDate ?until .
        }""",
        update=KZ_UPDATE,
    )
    assert rows == [{"status": f"{ST}introduced", "until": "2020-07-10"}]


def test_no_one_released_is_a_stated_negative_fact(select):
    rows = select(
        """
        SELECT ?update ?status ?negative ?who WHERE {
          ?m kg:reportedIn ?update ; kg:measureType mt:release-of-detainees ;
             kg:status ?status ; kg:accordingTo/kg:abbreviation ?who .
          ?status kg:isNegative ?negative .
        }""",
        update=KZ_UPDATE,
    )
    assert rows == [{"status": f"{ST}none-occurred", "negative": True, "who": "ILI"}]


def test_meetings_with_lawyers_and_with_relatives_suspended(select):
    rows = select(
        """
        SELECT ?update ?scope ?until WHERE {
          ?m kg:reportedIn ?update ; kg:measureType mt:suspension-of-visits ;
             kg:status st:introduced ; kg:scope ?scope ; kg:plannedEndDate ?until .
        } ORDER BY ?scope""",
        update=KZ_UPDATE,
    )
    scopes = [r["scope"] for r in rows]
    assert len(rows) == 2 and all(r["until"] == "2020-07-10" for r in rows)
    assert any("lawyers" in s for s in scopes) and any("relatives" in s for s in scopes)


def test_testing_was_partial_and_nine_cases_were_confirmed_in_almaty(select):
    testing = select(
        """
        SELECT ?update ?status ?gap WHERE {
          ?m kg:reportedIn ?update ; kg:measureType mt:covid-19-testing ;
             kg:status ?status ; kg:exception ?gap .
        }""",
        update=KZ_UPDATE,
    )
    assert testing == [{"status": f"{ST}partial", "gap": "Not all detainees have had access to testing."}]
    cases = select(
        """
        SELECT ?update ?value ?place WHERE {
          ?incident kg:reportedIn ?update ; kg:measureType mt:confirmed-cases ;
                    kg:relatedFigure ?figure .
          ?figure kg:quantityKind qk:confirmed-cases ; schema:value ?value ;
                  kg:place/rdfs:label ?place .
        }""",
        update=KZ_UPDATE,
    )
    assert cases == [{"value": 9, "place": "Almaty"}]


def test_detention_measures_are_attributed_to_ili_submitted_to_the_gdp(select):
    rows = select(
        """
        SELECT ?update ?type ?body ?channel WHERE {
          ?m kg:reportedIn ?update ; kg:measureType ?type ;
             kg:accordingTo/rdfs:label ?body ; kg:reportedVia ?channel .
          FILTER(?type IN (mt:moratorium-on-detention-orders, mt:suspension-of-deportations,
                           mt:release-of-detainees, mt:suspension-of-visits, mt:covid-19-testing,
                           mt:confirmed-cases))
        }""",
        update=KZ_UPDATE,
    )
    assert len(rows) == 7
    assert {(r["body"], r["channel"]) for r in rows} == {
        ("International Legal Initiative", f"{CH}submitted-to-gdp")
    }


def test_migrant_population_size_origin_sectors_and_undocumented_share(select):
    population = select(
        """
        SELECT ?update ?size ?estimate (GROUP_CONCAT(DISTINCT ?code; separator=",") AS ?origins)
               (GROUP_CONCAT(DISTINCT ?sector; separator=",") AS ?sectors) WHERE {
          ?group kg:reportedIn ?update ; kg:groupType gt:migrant-workers ;
                 kg:size [ schema:value ?size ; kg:isEstimate ?estimate ] ;
                 kg:mainOrigin/kg:iso3166Alpha2 ?code ; kg:sector ?sector .
        } GROUP BY ?update ?size ?estimate""",
        update=KZ_UPDATE,
    )
    assert len(population) == 1
    assert population[0]["size"] == 3500000 and population[0]["estimate"] is True
    assert sorted(population[0]["origins"].split(",")) == ["KG", "TJ", "UZ"]
    assert sorted(population[0]["sectors"].split(",")) == ["agriculture", "construction"]

    undocumented = select(
        """
        SELECT ?update ?share ?strict ?of ?why WHERE {
          ?group kg:reportedIn ?update ; kg:groupType gt:undocumented-migrants ;
                 kg:subgroupOf/kg:size ?of ; kg:explanation ?why ;
                 kg:size [ schema:minValue ?share ; kg:minExclusive ?strict ; kg:proportionOf ?of ] .
        }""",
        update=KZ_UPDATE,
    )
    assert len(undocumented) == 1
    assert undocumented[0]["share"] == 0.5 and undocumented[0]["strict"] is True
    assert "registration" in undocumented[0]["why"]


def test_undocumented_migrants_risk_arrest_detention_and_deportation(select):
    rows = select(
        """
        SELECT ?update ?risk WHERE {
          ?group kg:reportedIn ?update ; kg:groupType gt:undocumented-migrants ; kg:atRiskOf ?risk .
        }""",
        update=KZ_UPDATE,
    )
    risks = {r["risk"].rsplit("/", 1)[-1] for r in rows}
    assert {"arrest", "immigration-detention", "deportation"} <= risks


def test_unemployment_benefit_undocumented_cannot_get_per_cabar_and_fear_of_arrest(select):
    benefit = select(
        """
        SELECT ?update ?amount ?unit ?excluded ?body WHERE {
          ?m kg:reportedIn ?update ; kg:measureType mt:social-benefit ; kg:status st:introduced ;
             kg:excludes/kg:groupType ?excluded ; kg:accordingTo/rdfs:label ?body ;
             kg:relatedFigure [ schema:value ?amount ; schema:unitText ?unit ] .
        }""",
        update=KZ_UPDATE,
    )
    assert benefit == [
        {
            "amount": 100.42,
            "unit": "USD per month",
            "excluded": f"{GT}undocumented-migrants",
            "body": "Central Asian Bureau for Analytical Reporting",
        }
    ]
    fear = select(
        """
        SELECT ?update ?scope WHERE {
          ?m kg:reportedIn ?update ; kg:measureType mt:lack-of-firewall ; kg:scope ?scope .
        }""",
        update=KZ_UPDATE,
    )
    assert len(fear) == 1 and "arrested" in fear[0]["scope"]


def test_cross_references_on_the_health_care_firewall(select):
    rows = select(
        """
        SELECT ?update ?country ?date WHERE {
          ?update kg:crossReference [ kg:target ?other ; kg:theme mt:lack-of-firewall ] .
          ?other dcterms:issued ?date ; kg:country/kg:iso3166Alpha2 ?country .
        } ORDER BY ?date""",
        update=KZ_UPDATE,
    )
    assert rows == [
        {"country": "ZA", "date": "2020-05-26"},
        {"country": "LB", "date": "2020-06-02"},
        {"country": "DE", "date": "2020-06-10"},
    ]


def test_stranded_tajik_group_at_the_uzbek_border_until_2_june(select):
    rows = select(
        """
        SELECT ?update ?min ?strict ?nationality ?region ?border ?ended ?duration ?returned WHERE {
          ?incident kg:reportedIn ?update ; kg:measureType mt:stranded-migrants ;
                    kg:endDate ?ended ; kg:duration ?duration ;
                    kg:affects ?group ; kg:place ?site ;
                    kg:outcome [ kg:measureType mt:repatriation-of-stranded-nationals ; kg:beginDate ?returned ] .
          ?group kg:nationality/kg:iso3166Alpha2 ?nationality ;
                 kg:includesGroupType gt:pregnant-women, gt:children ;
                 kg:size [ schema:minValue ?min ; kg:minExclusive ?strict ] .
          ?site kg:placeType pt:car-park ; kg:locatedIn/rdfs:label ?region ;
                kg:onBorder/rdfs:label ?border .
        }""",
        update=KZ_UPDATE,
    )
    assert rows == [
        {
            "min": 230,
            "strict": True,
            "nationality": "TJ",
            "region": "Turkestan Region",
            "border": "Kazakhstan–Uzbekistan border",
            "ended": "2020-06-02",
            "duration": "P2M",
            "returned": "2020-06-02",
        }
    ]


def test_closed_borders_blocked_the_group(select):
    rows = select(
        """
        SELECT ?update ?a ?b WHERE {
          ?m kg:reportedIn ?update ; kg:measureType mt:border-closure ;
             kg:affects/kg:nationality country:TJ ; kg:place ?border .
          ?border kg:betweenCountry ?x, ?y .
          ?x kg:iso3166Alpha2 ?a . ?y kg:iso3166Alpha2 ?b . FILTER(?a < ?b)
        }""",
        update=KZ_UPDATE,
    )
    assert rows == [{"a": "KZ", "b": "UZ"}]


def test_photo_caption_and_the_cited_fergana_article(select):
    rows = select(
        """
        SELECT ?update ?caption ?title ?lang ?publisher ?date WHERE {
          ?update kg:image [ schema:caption ?caption ; kg:credit ?article ] ;
                  kg:cites ?article .
          ?article dcterms:title ?title ; kg:language ?lang ; dcterms:issued ?date ;
                   dcterms:publisher/rdfs:label ?publisher .
        }""",
        update=KZ_UPDATE,
    )
    assert rows == [
        {
            "caption": "A Group of Tajik Migrants at the Silk Road Checkpoint",
            "title": "Застрявших на казахско-узбекской границе таджикистанцев вернули на родину",
            "lang": "ru",
            "publisher": "Fergana",
            "date": "2020-06-03",
        }
    ]


