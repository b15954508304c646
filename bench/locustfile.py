"""Mixed traffic for `gunicorn app:app`: pages, /sparql and dereferencing (run by bench/load_test.py).

    locust -f bench/locustfile.py --headless -u USERS -r RATE -t 60s --host http://127.0.0.1:PORT

Every simulated user picks a request kind at random (weights below) and waits 0–0.2 s between
requests. The IRIs come from KG_LOAD_TARGETS, a JSON file bench/load_test.py writes after asking
the store (updates, countries and measure types it really holds). Each request is named by its
kind, so locust's own statistics and ours are per kind.

What counts as an error is decided here, not by locust's default (>= 400): any status outside
2xx/3xx, any connection error, and a timeout — except the 404 the `miss` kind asks for on purpose
(an IRI that is not in the store), which must be exactly 404. With KG_LOAD_RAW set, every request
(kind, start time, milliseconds, status, error, the app process that answered) is also written there as JSON lines at the end, so
that load_test.py computes exact percentiles rather than locust's rounded ones.
"""

from __future__ import annotations

import json
import os
import random
import time
from urllib.parse import urlencode

from locust import HttpUser, between, events, task

TARGETS = json.loads(open(os.environ["KG_LOAD_TARGETS"]).read()) if os.environ.get("KG_LOAD_TARGETS") else {
    "updates": ["https://w3id.org/detention-kg/id/update/2020-06-10-germany"],
    "countries": ["https://w3id.org/detention-kg/id/country/DE"],
    "measure_types": ["https://w3id.org/detention-kg/def/measure-type/release-of-detainees"],
    "search": ["Germany"],
}
BASE = "https://w3id.org/detention-kg/"
PREFIXES = (
    "PREFIX kg: <https://w3id.org/detention-kg/def/>\n"
    "PREFIX dcterms: <http://purl.org/dc/terms/>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
)
SELECTS = [
    "SELECT ?u ?date WHERE { ?u a kg:Update ; dcterms:issued ?date } ORDER BY DESC(?date) LIMIT 20",
    "SELECT ?country (COUNT(?u) AS ?n) WHERE { ?u kg:country ?country } GROUP BY ?country ORDER BY DESC(?n) LIMIT 50",
    "SELECT ?type ?label (COUNT(?m) AS ?n) WHERE { ?m kg:measureType ?type . ?type skos:prefLabel ?label } "
    "GROUP BY ?type ?label ORDER BY DESC(?n)",
    "SELECT ?s ?label WHERE { ?s rdfs:label ?label } LIMIT 100",
]
FORMATS = {  # kind -> Accept
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
RESEARCH = [
    "/queries/in-force-on?day=2020-06-15",
    "/queries/compare-countries?a=country:DE&b=country:KZ",
    "/queries/moratoria",
    "/queries/theme-updates?theme=mt:release-of-detainees",
    "/queries/who-reported-what",
    "/queries/developments-per-month",
]

_RAW: list[tuple] = []


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response=None, exception=None, start_time=None, **_):
    status = getattr(response, "status_code", None) if response is not None else None
    worker = response.headers.get("KG-Worker") if response is not None and response.headers is not None else None
    _RAW.append((name, start_time or time.time(), response_time, status, repr(exception) if exception else None, worker))


@events.quitting.add_listener
def _dump(environment, **_):
    path = os.environ.get("KG_LOAD_RAW")
    if path:
        with open(path, "w") as out:
            for row in _RAW:
                out.write(json.dumps(row) + "\n")


def _path(iri: str) -> str:
    return "/" + iri[len(BASE):] if iri.startswith(BASE) else iri


class Visitor(HttpUser):
    wait_time = between(0.0, 0.2)

    def _get(self, name: str, url: str, accept: str = "text/html", expect: int | None = None, **kwargs):
        headers = {"Accept": accept}
        with self.client.get(url, name=name, headers=headers, catch_response=True, allow_redirects=False,
                             timeout=60, **kwargs) as response:
            self._judge(response, expect)

    @staticmethod
    def _judge(response, expect: int | None) -> None:
        code = response.status_code
        if expect is not None:
            if code == expect:
                response.success()
            else:
                response.failure(f"expected {expect}, got {code}")
        elif 200 <= code < 400:
            response.success()
        else:
            response.failure(f"status {code}")

    # -- pages ---------------------------------------------------------------------------------

    @task(3)
    def home(self):
        self._get("page:home", "/")

    @task(2)
    def countries(self):
        self._get("page:countries", "/countries")

    @task(4)
    def country(self):
        self._get("page:country", _path(random.choice(TARGETS["countries"])))

    @task(4)
    def update(self):
        self._get("page:update", _path(random.choice(TARGETS["updates"])))

    @task(2)
    def measure_type(self):
        self._get("page:measure-type", _path(random.choice(TARGETS["measure_types"])))

    @task(2)
    def search(self):
        self._get("page:search", "/search?" + urlencode({"q": random.choice(TARGETS["search"])}))

    @task(2)
    def research(self):
        self._get("page:research", random.choice(RESEARCH))

    @task(1)
    def matrix(self):
        self._get("page:matrix", "/matrix")

    # -- /sparql -------------------------------------------------------------------------------

    @task(6)
    def sparql(self):
        fmt = random.choice(list(FORMATS))
        query = PREFIXES + random.choice(SELECTS)
        headers = {"Accept": FORMATS[fmt]}
        if random.random() < 0.5:
            with self.client.get("/sparql?" + urlencode({"query": query}), name=f"sparql:{fmt}", headers=headers,
                                 catch_response=True, timeout=60) as response:
                self._judge(response, None)
        else:
            headers["Content-Type"] = "application/sparql-query"
            with self.client.post("/sparql", data=query.encode(), name=f"sparql:{fmt}", headers=headers,
                                  catch_response=True, timeout=60) as response:
                self._judge(response, None)

    # -- dereferencing -------------------------------------------------------------------------

    @task(3)
    def id_turtle(self):
        self._get("id:accept-turtle", _path(random.choice(TARGETS["updates"] + TARGETS["countries"])), "text/turtle")

    @task(3)
    def id_jsonld(self):
        self._get("id:accept-jsonld", _path(random.choice(TARGETS["updates"] + TARGETS["countries"])),
                  "application/ld+json")

    @task(2)
    def id_ttl_suffix(self):
        self._get("id:.ttl", _path(random.choice(TARGETS["updates"] + TARGETS["countries"])) + ".ttl", "*/*")

    @task(2)
    def id_jsonld_suffix(self):
        self._get("id:.jsonld", _path(random.choice(TARGETS["updates"] + TARGETS["countries"])) + ".jsonld", "*/*")

    @task(1)
    def miss(self):  # an IRI the store does not hold: 404 on purpose, in both negotiated forms
        path = f"/id/update/no-such-update-{random.randrange(10**9)}"
        self._get("miss:404", path, random.choice(["text/html", "text/turtle"]), expect=404)
