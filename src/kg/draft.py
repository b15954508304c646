"""Drafting update files: a template for a new one, and a rule-based draft from an update's prose.

``new_update(date, country_code, source_url)`` gives the Turtle of a new update file: the required
fields filled in, everything else as commented-out skeletons, valid as written.

``draft_update(text)`` reads a GDP country update and drafts its file: the update's date and
country, the bodies it names (matched against the reference data's labels and abbreviations),
measures and incidents typed by the measure-type scheme with a status (negative ones included:
"no moratorium", "had not been released"), figures with their bounds, what they count, unit and
place, and cross-references to other updates. It works by rules only (cue phrases and regular
expressions: no statistics, no network), so every guess is marked by a ``# REVIEW:`` comment next
to its triples and returned as structured ``Findings`` too. A cross-reference to an update the
dataset does not have stays a comment (and a warning), so that the draft validates.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from string import Template

import pyoxigraph

from . import settings
from .errors import KGError

__all__ = [
    "Draft",
    "Findings",
    "draft_update",
    "new_update",
    "parse_number",
    "update_slug",
]

_TEMPLATES = Path(__file__).resolve().parent / "templates"
_BASE = "https://w3id.org/detention-kg/"
_PREFIXES = {  # the prefixed names the drafts use, as in the seed file's prefix block
    "kg": _BASE + "def/",
    "mt": _BASE + "def/measure-type/",
    "st": _BASE + "def/status/",
    "ch": _BASE + "def/channel/",
    "pt": _BASE + "def/place-type/",
    "gt": _BASE + "def/group-type/",
    "qk": _BASE + "def/quantity-kind/",
    "at": _BASE + "def/agent-type/",
    **{kind: f"{_BASE}id/{kind}/" for kind in (
        "update", "measure", "incident", "figure", "group", "place", "border", "country",
        "organisation", "authority", "source", "image", "xref")},
}
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_KG = _BASE + "def/"
_GDP = "organisation:global-detention-project"


# ==================================================================== results


@dataclass
class DateFinding:
    """A date: the update's own (role "update") or one mentioned in the text."""

    value: str  # ISO date (the first day of the month for month precision)
    text: str  # as written
    precision: str = "day"  # "day" or "month"
    roles: list[str] = field(default_factory=list)  # update, planned-end, end, begin, cross-reference, cited-source
    how: str = ""  # option, header, text, guess
    year_inferred: bool = False


@dataclass
class CountryFinding:
    code: str
    label: str
    iri: str
    how: str  # option, header, text (most mentioned)
    text: str = ""


@dataclass
class AgentFinding:
    iri: str
    label: str
    kind: str  # organisation or authority
    text: str  # as matched in the text
    how: str  # label, abbreviation, variant, fuzzy, generic
    role: str = "mentioned"  # mentioned or source (according to / submitted by)


@dataclass
class MeasureFinding:
    iri: str
    type: str  # mt:…
    type_label: str
    status: str  # st:…
    negative: bool
    development: str  # kg:Measure or kg:Incident
    label: str
    cue: str  # the words the type was read from
    status_cue: str  # why this status
    sentence: str
    place: str | None = None  # place:…, border:… or country:…
    begin_date: str | None = None
    end_date: str | None = None
    planned_end_date: str | None = None
    duration: str | None = None  # xsd:duration
    taken_by: str | None = None
    according_to: str | None = None
    channel: str | None = None
    figures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class FigureFinding:
    iri: str
    text: str  # the number as written, with its qualifier
    value: float | None = None
    min_value: float | None = None
    max_value: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    estimate: bool = False
    unit: str | None = "people"
    counts: str = ""
    quantity_kind: str = "qk:count-other"
    place: str | None = None
    place_label: str | None = None
    proportion_of: str | None = None
    sentence: str = ""


@dataclass
class PlaceFinding:
    iri: str
    label: str
    place_type: str  # pt:… (pt:border for borders)
    country: str
    known: bool  # already in the dataset


@dataclass
class CrossReferenceFinding:
    iri: str
    target: str  # update:YYYY-MM-DD-country
    date: str
    country: str  # alpha-2 code
    theme: str | None  # mt:…
    known: bool  # the dataset has the target update
    text: str
    sentence: str
    theme_how: str = "the cue phrases of its sentence"


@dataclass
class SourceFinding:
    iri: str
    title: str
    language: str
    publisher: str
    issued: str | None
    text: str


@dataclass
class Findings:
    """What the drafter read from the text; every item is a guess for an editor to check."""

    date: DateFinding | None = None
    country: CountryFinding | None = None
    dates: list[DateFinding] = field(default_factory=list)
    agents: list[AgentFinding] = field(default_factory=list)
    measures: list[MeasureFinding] = field(default_factory=list)
    figures: list[FigureFinding] = field(default_factory=list)
    places: list[PlaceFinding] = field(default_factory=list)
    cross_references: list[CrossReferenceFinding] = field(default_factory=list)
    sources: list[SourceFinding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Draft:
    """A drafted update file: its Turtle text and what it was read from."""

    turtle: str
    findings: Findings
    update_iri: str  # update:YYYY-MM-DD-country
    file_name: str  # YYYY-MM-DD-country.ttl, as data/updates/ names it

    def validate(self, validator=None):
        """Validate the draft as `kg validate` would (a ``kg.validate.FileReport``)."""
        from .validate import Validator

        validator = validator or Validator()
        return validator.validate_file(self.file_name, text=self.turtle.encode("utf-8"))

    def to_dict(self) -> dict:
        return {"file_name": self.file_name, "update": self.update_iri, "turtle": self.turtle,
                "findings": self.findings.to_dict()}


# ==================================================================== reference data


@dataclass(frozen=True)
class _Agent:
    iri: str
    label: str
    abbreviations: tuple[str, ...]
    kind: str
    country: str | None
    types: tuple[str, ...]


@dataclass(frozen=True)
class _Concept:
    iri: str
    label: str
    notations: tuple[str, ...]
    development: str  # kg:Measure / kg:Incident ("" outside the measure-type scheme)
    negative: bool


@dataclass
class _Reference:
    countries: dict[str, str]  # alpha-2 -> label
    alt_labels: dict[str, list[str]]
    alpha3: dict[str, str]  # alpha-3 -> alpha-2
    agents: list[_Agent]
    measure_types: dict[str, _Concept]  # local name -> concept
    statuses: dict[str, _Concept]
    updates: set[str]  # slugs of the updates the dataset declares
    places: dict[str, tuple[str, str, str]]  # place slug -> (label, alpha-2, pt:…)
    borders: set[str]
    names: dict[str, str] = field(default_factory=dict)  # country names and short names -> alpha-2
    update_keys: dict[tuple[str, str], str] = field(default_factory=dict)  # (ISO date, alpha-2) -> update slug
    country_slugs: dict[str, str] = field(default_factory=dict)  # alpha-2 -> the country part its updates' IRIs use


def _compact(iri: str) -> str:
    for prefix, namespace in sorted(_PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(namespace) and "/" not in iri[len(namespace):]:
            return f"{prefix}:{iri[len(namespace):]}"
    return f"<{iri}>"


def _subjects(paths) -> dict[str, dict[str, list]]:
    """subject IRI -> predicate IRI -> objects (pyoxigraph terms), for the given Turtle files."""
    out: dict[str, dict[str, list]] = {}
    for path in paths:
        try:
            for triple in pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TURTLE):
                if isinstance(triple.subject, pyoxigraph.NamedNode):
                    out.setdefault(triple.subject.value, {}).setdefault(triple.predicate.value, []).append(
                        triple.object)
        except (OSError, SyntaxError, ValueError):
            continue  # a broken file is `kg validate`'s business, not the drafter's
    return out


def _english(objects) -> str:
    for term in objects or ():
        if isinstance(term, pyoxigraph.Literal) and term.language in (None, "en"):
            return term.value
    return ""


def _reference() -> _Reference:
    data = Path(settings.get("DATA"))
    ontology = Path(settings.get("ONTOLOGY"))
    files = tuple(sorted([*(data / "reference").glob("*.ttl"), *(data / "updates").rglob("*.ttl"),
                          *ontology.glob("*.ttl")]))
    signature = tuple((str(p), p.stat().st_mtime_ns) for p in files if p.exists())
    if not any("reference" in p.parts for p in files) or not list(ontology.glob("*.ttl")):
        raise KGError(f"no reference data or ontology found under {data} and {ontology}",
                      "run from the project folder, or set KG_DATA and KG_ONTOLOGY")
    return _load_reference(signature)


@lru_cache(maxsize=4)
def _load_reference(signature) -> _Reference:
    files = [Path(name) for name, _ in signature]
    ref_files = [p for p in files if p.parent.name == "reference"]
    update_files = [p for p in files if "updates" in p.parts]
    onto_files = [p for p in files if p not in ref_files and p not in update_files]
    ref = _subjects(ref_files)
    countries, alt_labels, alpha3, agents = {}, {}, {}, []
    for iri, props in ref.items():
        types = {t.value for t in props.get(_RDF_TYPE, [])}
        if _KG + "Country" in types:
            code = _english(props.get(_KG + "iso3166Alpha2"))
            countries[code] = _english(props.get(_RDFS_LABEL))
            alt_labels[code] = [t.value for t in props.get(_SKOS + "altLabel", [])]
            alpha3[_english(props.get(_KG + "iso3166Alpha3"))] = code
        elif types & {_KG + "Organisation", _KG + "Authority"}:
            country = props.get(_KG + "country")
            agents.append(_Agent(
                iri=_compact(iri),
                label=_english(props.get(_RDFS_LABEL)),
                abbreviations=tuple(t.value for t in props.get(_KG + "abbreviation", [])),
                kind="authority" if _KG + "Authority" in types else "organisation",
                country=country[0].value.rsplit("/", 1)[-1] if country else None,
                types=tuple(t.value.rsplit("/", 1)[-1] for t in props.get(_KG + "agentType", [])),
            ))
    onto = _subjects(onto_files)
    measure_types, statuses = {}, {}
    for iri, props in onto.items():
        types = {t.value for t in props.get(_RDF_TYPE, [])}
        concept = _Concept(
            iri=_compact(iri),
            label=_english(props.get(_SKOS + "prefLabel")),
            notations=tuple(t.value for t in props.get(_SKOS + "notation", [])),
            development=_compact(props[_KG + "developmentClass"][0].value) if _KG + "developmentClass" in props else "",
            negative=any(t.value == "true" for t in props.get(_KG + "isNegative", [])),
        )
        if _KG + "MeasureType" in types:
            measure_types[iri.rsplit("/", 1)[-1]] = concept
        elif _KG + "Status" in types:
            statuses[iri.rsplit("/", 1)[-1]] = concept
    upd = _subjects(update_files)
    updates, places, borders, update_keys = set(), {}, set(), {}
    for iri, props in upd.items():
        types = {t.value for t in props.get(_RDF_TYPE, [])}
        local = iri.rsplit("/", 1)[-1]
        if _KG + "Update" in types:
            updates.add(local)
            issued, country = props.get("http://purl.org/dc/terms/issued"), props.get(_KG + "country")
            if issued and country:
                update_keys.setdefault((issued[0].value, country[0].value.rsplit("/", 1)[-1]), local)
        elif _KG + "Place" in types:
            country = props.get(_KG + "country")
            ptype = props.get(_KG + "placeType")
            places[local] = (_english(props.get(_RDFS_LABEL)),
                             country[0].value.rsplit("/", 1)[-1] if country else "",
                             _compact(ptype[0].value) if ptype else "pt:city")
        elif _KG + "Border" in types:
            borders.add(local)
    ref = _Reference(countries, alt_labels, alpha3, agents, measure_types, statuses, updates, places, borders)
    ref.names = _country_names(ref)
    ref.update_keys = update_keys
    # A country keeps the slug its updates already have (…-russian-federation, not …-russia):
    # one country, one IRI pattern, whoever wrote the earlier files.
    for (issued, code), local in sorted(update_keys.items()):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}-[a-z0-9-]+", local) and local.startswith(issued):
            ref.country_slugs.setdefault(code, local[len(issued) + 1 :])
    return ref


# ==================================================================== countries

#: Short names for countries whose ISO name is formal or inverted ("Korea, Republic of").
_SHORT_NAMES = {
    "BO": "Bolivia", "BN": "Brunei", "CD": "Democratic Republic of the Congo", "FM": "Micronesia",
    "IR": "Iran", "KP": "North Korea", "KR": "South Korea", "LA": "Laos", "MD": "Moldova",
    "PS": "Palestine", "RU": "Russia", "SY": "Syria", "TW": "Taiwan", "TZ": "Tanzania",
    "VE": "Venezuela", "VN": "Vietnam", "VA": "Holy See", "VG": "British Virgin Islands",
    "VI": "United States Virgin Islands", "SH": "Saint Helena", "BQ": "Caribbean Netherlands",
}
#: Other names in common use.
_OTHER_NAMES = {
    "Russia": "RU", "South Korea": "KR", "North Korea": "KP", "Vietnam": "VN", "Turkey": "TR",
    "Ivory Coast": "CI", "Britain": "GB", "Great Britain": "GB", "UK": "GB", "U.K.": "GB",
    "US": "US", "U.S.": "US", "USA": "US", "DRC": "CD", "DR Congo": "CD",
    "Democratic Republic of the Congo": "CD", "Republic of the Congo": "CG", "Palestine": "PS",
    "Gaza": "PS", "West Bank": "PS", "Taiwan": "TW", "Venezuela": "VE", "Micronesia": "FM",
    "Macedonia": "MK", "Burma": "MM", "Swaziland": "SZ", "Holland": "NL", "Cape Verde": "CV",
    "Brunei": "BN", "Vatican": "VA", "East Timor": "TL", "Czech Republic": "CZ", "England": "GB",
    "Scotland": "GB", "Wales": "GB", "Northern Ireland": "GB", "Republic of Korea": "KR", "Republic of Moldova": "MD",
    "Kyrgyz Republic": "KG", "Lao PDR": "LA", "Bosnia": "BA", "Timor-Leste": "TL",
}
#: Nationality adjectives (and plurals by adding "s") -> alpha-2.
_DEMONYMS = {
    "Afghan": "AF", "Albanian": "AL", "Algerian": "DZ", "American": "US", "Angolan": "AO",
    "Argentine": "AR", "Argentinian": "AR", "Armenian": "AM", "Australian": "AU", "Austrian": "AT",
    "Azerbaijani": "AZ", "Azeri": "AZ", "Bahraini": "BH", "Bangladeshi": "BD", "Belarusian": "BY",
    "Belgian": "BE", "Beninese": "BJ", "Bolivian": "BO", "Bosnian": "BA", "Brazilian": "BR",
    "British": "GB", "Bulgarian": "BG", "Burkinabe": "BF", "Burmese": "MM", "Burundian": "BI",
    "Cambodian": "KH", "Cameroonian": "CM", "Canadian": "CA", "Chadian": "TD", "Chilean": "CL",
    "Chinese": "CN", "Colombian": "CO", "Congolese": "CD", "Costa Rican": "CR", "Croatian": "HR",
    "Cuban": "CU", "Cypriot": "CY", "Czech": "CZ", "Danish": "DK", "Djiboutian": "DJ",
    "Dominican": "DO", "Dutch": "NL", "Ecuadorian": "EC", "Egyptian": "EG", "Emirati": "AE",
    "Eritrean": "ER", "Estonian": "EE", "Ethiopian": "ET", "Fijian": "FJ", "Filipino": "PH",
    "Filipina": "PH", "Finnish": "FI", "French": "FR", "Gabonese": "GA", "Gambian": "GM",
    "Georgian": "GE", "German": "DE", "Ghanaian": "GH", "Greek": "GR", "Guatemalan": "GT",
    "Guinean": "GN", "Guyanese": "GY", "Haitian": "HT", "Honduran": "HN", "Hungarian": "HU",
    "Icelandic": "IS", "Indian": "IN", "Indonesian": "ID", "Iranian": "IR", "Iraqi": "IQ",
    "Irish": "IE", "Israeli": "IL", "Italian": "IT", "Ivorian": "CI", "Jamaican": "JM",
    "Japanese": "JP", "Jordanian": "JO", "Kazakh": "KZ", "Kazakhstani": "KZ", "Kenyan": "KE",
    "Kuwaiti": "KW", "Kyrgyz": "KG", "Laotian": "LA", "Latvian": "LV", "Lebanese": "LB",
    "Liberian": "LR", "Libyan": "LY", "Lithuanian": "LT", "Luxembourgish": "LU",
    "Macedonian": "MK", "Malagasy": "MG", "Malawian": "MW", "Malaysian": "MY", "Maldivian": "MV",
    "Malian": "ML", "Maltese": "MT", "Mauritanian": "MR", "Mauritian": "MU", "Mexican": "MX",
    "Moldovan": "MD", "Mongolian": "MN", "Montenegrin": "ME", "Moroccan": "MA",
    "Mozambican": "MZ", "Namibian": "NA", "Nepali": "NP", "Nepalese": "NP", "Nicaraguan": "NI",
    "Nigerien": "NE", "Nigerian": "NG", "North Korean": "KP", "Norwegian": "NO", "Omani": "OM",
    "Pakistani": "PK", "Palestinian": "PS", "Panamanian": "PA", "Paraguayan": "PY",
    "Peruvian": "PE", "Philippine": "PH", "Polish": "PL", "Portuguese": "PT", "Qatari": "QA",
    "Romanian": "RO", "Russian": "RU", "Rwandan": "RW", "Salvadoran": "SV", "Saudi": "SA",
    "Senegalese": "SN", "Serbian": "RS", "Sierra Leonean": "SL", "Singaporean": "SG",
    "Slovak": "SK", "Slovenian": "SI", "Somali": "SO", "South African": "ZA",
    "South Korean": "KR", "South Sudanese": "SS", "Spanish": "ES", "Sri Lankan": "LK",
    "Sudanese": "SD", "Swedish": "SE", "Swiss": "CH", "Syrian": "SY", "Taiwanese": "TW",
    "Tajik": "TJ", "Tajikistani": "TJ", "Tanzanian": "TZ", "Thai": "TH", "Togolese": "TG",
    "Tunisian": "TN", "Turkish": "TR", "Turkmen": "TM", "Ugandan": "UG", "Ukrainian": "UA",
    "Uruguayan": "UY", "Uzbek": "UZ", "Uzbekistani": "UZ", "Venezuelan": "VE",
    "Vietnamese": "VN", "Yemeni": "YE", "Zambian": "ZM", "Zimbabwean": "ZW",
}


def _country_names(ref: _Reference) -> dict[str, str]:
    """Names (ISO names, their short forms, names in common use) -> alpha-2."""
    names: dict[str, str] = {}
    for code, label in ref.countries.items():
        names[label] = code
        for alt in ref.alt_labels.get(code, []):
            if "," not in alt:
                names.setdefault(alt, code)
    for code, short in _SHORT_NAMES.items():
        names.setdefault(short, code)
    for name, code in _OTHER_NAMES.items():
        names.setdefault(name, code)
    return names


def _country_name(ref: _Reference, code: str) -> str:
    """The name used in titles and IRIs: the ISO name, or a short one where that is formal."""
    return _SHORT_NAMES.get(code) or ref.countries[code]


def _country_slug(ref: _Reference, code: str) -> str:
    """The country part of an update's IRI: the one the dataset's updates of that country use,
    else the slug of its name."""
    return ref.country_slugs.get(code) or slugify(_country_name(ref, code))


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by hyphens ("Côte d'Ivoire" -> "cote-d-ivoire")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def update_slug(date: str, country_code: str) -> str:
    """The local name of an update's IRI: YYYY-MM-DD-country-name."""
    ref = _reference()
    code = _country_code(ref, country_code)
    return f"{_iso_date(date)}-{_country_slug(ref, code)}"


def _country_code(ref: _Reference, given: str) -> str:
    """An alpha-2 code from an alpha-2 or alpha-3 code or a country name; KGError if unknown."""
    text = (given or "").strip()
    if text.upper() in ref.countries:
        return text.upper()
    if text.upper() in ref.alpha3:
        return ref.alpha3[text.upper()]
    names = ref.names
    for name, code in names.items():
        if name.casefold() == text.casefold():
            return code
    for adjective, code in _DEMONYMS.items():
        if adjective.casefold() == text.casefold():
            return code
    close = difflib.get_close_matches(text, list(names), n=3, cutoff=0.75)
    close_codes = difflib.get_close_matches(text.upper(), list(ref.countries), n=3, cutoff=0.5) if len(text) == 2 else []
    suggestions = [f"{names[c]} ({c})" for c in close] + [f"{c} ({ref.countries[c]})" for c in close_codes]
    hint = "give an ISO 3166-1 alpha-2 code such as KZ, or the country's name"
    if suggestions:
        hint += "; did you mean " + ", ".join(dict.fromkeys(suggestions)) + "?"
    raise KGError(f"unknown country: {given!r}", hint)


# ==================================================================== dates

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH_NAMES = ["", "January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
          r"|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?)")
_YEAR = r"(?:19|20)\d\d"
_DAY_MONTH = re.compile(rf"\b(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\s+(?P<m>{_MONTH})(?![\w])(?:,?\s+(?P<y>{_YEAR})\b)?")
_MONTH_DAY = re.compile(rf"\b(?P<m>{_MONTH})\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?\b(?!\d)(?:,?\s+(?P<y>{_YEAR})\b)?")
_MONTH_YEAR = re.compile(rf"\b(?:(?P<q>early|mid|late|end of|beginning of|start of)[\s-]+)?(?P<m>{_MONTH})\s+(?P<y>{_YEAR})\b")
_QUALIFIED_MONTH = re.compile(rf"\b(?P<q>early|mid|late|end of|beginning of|start of)[\s-]+(?P<m>{_MONTH})(?![\w])")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class _DateMention:
    start: int
    end: int
    date: dt.date | None  # None when the year is unknown
    month: int
    day: int | None
    text: str
    year_inferred: bool


def _month_number(name: str) -> int:
    return _MONTHS[name.rstrip(".").lower()]


def _iso_date(text: str) -> str:
    """A date given as YYYY-MM-DD or "14 June 2020", as YYYY-MM-DD; KGError otherwise."""
    value = (text or "").strip()
    try:
        if _ISO_DATE.match(value):
            return dt.date.fromisoformat(value).isoformat()
        for pattern in (_DAY_MONTH, _MONTH_DAY):
            match = re.compile(pattern.pattern, re.I).fullmatch(value)
            if match and match.group("y"):
                return dt.date(int(match.group("y")), _month_number(match.group("m")), int(match.group("d"))).isoformat()
    except ValueError:
        pass
    raise KGError(f"not a valid date: {text!r}", "write the date as YYYY-MM-DD, for example 2020-06-14")


def _infer_year(month: int, day: int, reference: dt.date | None) -> dt.date | None:
    if reference is None:
        return None
    try:
        candidate = dt.date(reference.year, month, day)
    except ValueError:
        return None
    if candidate > reference + dt.timedelta(days=200):  # "15 December" in a January update
        try:
            candidate = dt.date(reference.year - 1, month, day)
        except ValueError:
            return None
    return candidate


def _find_dates(text: str, reference: dt.date | None) -> list[_DateMention]:
    """Dates written in prose: "14 June 2020", "10 July", "June 2, 2020", "March 2020", "mid-April"."""
    found: list[_DateMention] = []
    taken: list[tuple[int, int]] = []

    def free(start, end):
        return all(end <= a or start >= b for a, b in taken)

    for pattern in (_DAY_MONTH, _MONTH_DAY):
        for m in pattern.finditer(text):
            if not free(m.start(), m.end()):
                continue
            month, day = _month_number(m.group("m")), int(m.group("d"))
            if not 1 <= day <= 31:
                continue
            try:
                if m.group("y"):
                    date, inferred = dt.date(int(m.group("y")), month, day), False
                else:
                    date, inferred = _infer_year(month, day, reference), True
            except ValueError:
                continue
            found.append(_DateMention(m.start(), m.end(), date, month, day, m.group(0), inferred))
            taken.append((m.start(), m.end()))
    for pattern in (_MONTH_YEAR, _QUALIFIED_MONTH):
        for m in pattern.finditer(text):
            if not free(m.start(), m.end()):
                continue
            month = _month_number(m.group("m"))
            year = int(m.group("y")) if "y" in m.groupdict() and m.group("y") else None
            if year is None:
                date = _infer_year(month, 1, reference)
                inferred = True
            else:
                date, inferred = dt.date(year, month, 1), False
            found.append(_DateMention(m.start(), m.end(), date, month, None, m.group(0), inferred))
            taken.append((m.start(), m.end()))
    found.sort(key=lambda d: d.start)
    # A day and month without a year before a full date ("16 March - 21 April 2020") takes its year.
    for first, second in zip(found, found[1:]):
        if first.year_inferred and not second.year_inferred and second.date and first.day \
                and second.start - first.end <= 12 and re.fullmatch(r"\s*(?:-|–|to|and|until)\s*", text[first.end:second.start]):
            try:
                first.date = dt.date(second.date.year, first.month, first.day)
                first.year_inferred = False
            except ValueError:
                pass
    return found


def _date_text(date: dt.date) -> str:
    return f"{date.day} {_MONTH_NAMES[date.month]} {date.year}"


# ==================================================================== numbers

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000,
           "bn": 1_000_000_000, "m": 1_000_000}
_FRACTIONS = {"half": 0.5, "third": 1 / 3, "thirds": 1 / 3, "quarter": 0.25, "quarters": 0.25}
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*%?|[^\W\d_]+(?:['’][^\W\d_]+)?|\S")


@dataclass
class _Token:
    text: str
    start: int
    end: int

    @property
    def low(self) -> str:
        return self.text.lower()


def _tokens(text: str) -> list[_Token]:
    return [_Token(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _digits(text: str) -> float | None:
    text = text.rstrip("%")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", text):
        return float(text.replace(",", ""))
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):  # 1.500 (European thousands)
        return float(text.replace(".", ""))
    return None


def _number_at(tokens: list[_Token], i: int) -> tuple[float, int, str] | None:
    """The number that starts at token i: (value, index after it, "digits" or "words")."""
    n = len(tokens)
    tok = tokens[i]
    if tok.text[0].isdigit():
        value = _digits(tok.text)
        if value is None:
            return None
        j = i + 1
        if not tok.text.endswith("%") and j < n and tokens[j].low in ("hundred", "thousand", "million", "billion", "bn") \
                and tokens[j].start == tok.end + 1:
            value *= _SCALES[tokens[j].low]
            j += 1
        return value, j, "digits"
    low = tok.low
    if low in ("a", "an") and i + 1 < n and tokens[i + 1].low in ("hundred", "thousand", "million", "billion", "dozen"):
        scale = 12 if tokens[i + 1].low == "dozen" else _SCALES[tokens[i + 1].low]
        return float(scale), i + 2, "words"
    if low == "half" and i + 2 < n and tokens[i + 1].low == "a" and tokens[i + 2].low in ("million", "billion", "thousand"):
        return 0.5 * _SCALES[tokens[i + 2].low], i + 3, "words"
    if low not in _UNITS and low not in _TENS:
        return None
    total, current, k, last = 0.0, 0.0, i, ""
    while k < n:
        w = tokens[k].low
        if w in _UNITS and last not in ("unit",):
            current += _UNITS[w]
            last, k = "unit", k + 1
        elif w in _TENS and last not in ("unit", "tens"):
            current += _TENS[w]
            last, k = "tens", k + 1
            if k + 1 < n and tokens[k].text == "-" and tokens[k + 1].low in _UNITS and 0 < _UNITS[tokens[k + 1].low] < 10:
                current += _UNITS[tokens[k + 1].low]
                last, k = "unit", k + 2
        elif w == "hundred" and last in ("unit",):
            current *= 100
            last, k = "hundred", k + 1
        elif w in ("thousand", "million", "billion") and last in ("unit", "tens", "hundred"):
            total += current * _SCALES[w]
            current = 0
            last, k = "scale", k + 1
        elif w == "dozen" and last == "unit":
            current *= 12
            last, k = "scale", k + 1
        elif w == "and" and last in ("hundred", "scale") and k + 1 < n and (tokens[k + 1].low in _UNITS or tokens[k + 1].low in _TENS):
            last, k = "and", k + 1
        else:
            break
    return total + current, k, "words"


def parse_number(text: str) -> float | None:
    """The number a phrase starts with: "nine" 9, "3.5 million" 3500000, "two hundred and fifty" 250."""
    tokens = _tokens(text.strip())
    if not tokens:
        return None
    result = _number_at(tokens, 0)
    if result is None:
        return None
    value, _, _ = result
    return value / 100 if tokens[0].text.endswith("%") else value


# ==================================================================== text


@dataclass
class _Clause:
    text: str
    start: int  # offset in the sentence
    paren: bool = False


@dataclass
class _Sentence:
    text: str
    paragraph: int
    index: int  # in the whole text
    clauses: list[_Clause] = field(default_factory=list)


_ABBREVIATIONS = {"e.g", "i.e", "mr", "mrs", "ms", "dr", "st", "no", "nos", "approx", "vs", "etc", "u.s", "u.k",
                  "a.m", "p.m", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
                  "dec", "art", "para", "cf", "fig", "gen", "gov", "prof", "ca", "c", "inc", "ltd", "co"}
_BOILERPLATE = re.compile(r"^\s*(?:back to (?:the )?immigration detention monitor|share this|print)\b", re.I)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").replace("\u2009", " ")
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'").replace("\u2019", "'")
    text = re.sub(r"\s*\u2014\s*", " \u2014 ", text)  # em dashes as separators
    text = re.sub(r"[ \t]+", " ", text)
    return text


def _paragraphs(text: str) -> list[str]:
    """Paragraphs: blocks between blank lines. In a block of short lines (text wrapped by hand or
    by an e-mail client) the lines are joined, except title-like lines without final punctuation;
    in a block of long lines (pasted from a web page) every line is a paragraph."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        wrapped = len(lines) > 1 and max(len(line) for line in lines[:-1]) <= 100
        current = lines[0]
        for line in lines[1:]:
            ends = re.search(r"[.!?:;,)\"']$", current)
            if line[:1].islower() or (wrapped and (ends or len(current) > 60)):
                current += " " + line
            else:
                out.append(current)
                current = line
        out.append(current)
    return [p for p in out if not _BOILERPLATE.match(p)]


def _sentences(paragraph: str) -> list[str]:
    out, start = [], 0
    for m in re.finditer(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])", paragraph):
        before = paragraph[start:m.start() + 1]
        word = re.search(r"(\S+)$", before)
        token = word.group(1).lower().rstrip(".").lstrip("(\"'") if word else ""
        if token in _ABBREVIATIONS or re.fullmatch(r"[a-z]", token) or re.fullmatch(r"(?:[a-z]\.)+[a-z]", token):
            continue
        out.append(paragraph[start:m.end()].strip())
        start = m.end()
    if paragraph[start:].strip():
        out.append(paragraph[start:].strip())
    return out


_CLAUSE_BREAK = re.compile(
    r",\s+and\s+(?!(?:the\s+)?(?:[a-z]+\s+)?(?:relatives|families|lawyers|children|women)\b)"
    r"|,\s+but\s+|;\s+|\s+but\s+|,\s+while\s+|\s+whereas\s+|,\s+although\s+|\s+\u2014\s+|\s+–\s+(?=[a-z])"
    r"|,\s+(?=when\s)|,\s+however,\s+|\.\s+However,\s+|,\s+yet\s+"
    r"|,\s+(?=(?:[\w-]+\s+){1,3}(?:has|have|had|was|were|is|are|can|cannot|could|may|might|will|would|should|must|did|do|does)"
    r"(?:n't)?\s)(?!(?:which|who|whom|that|including|such)\b)")


def _clauses(sentence: str) -> list[_Clause]:
    """Parentheticals first, then the rest split at conjunctions and dashes (offsets kept)."""
    clauses = []
    masked = list(sentence)
    depth, open_at = 0, None
    for i, char in enumerate(sentence):
        if char == "(":
            if depth == 0:
                open_at = i
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth == 0 and open_at is not None:
                inner = sentence[open_at + 1:i]
                if inner.strip():
                    clauses.append(_Clause(inner, open_at + 1, paren=True))
                for k in range(open_at, i + 1):
                    masked[k] = " "
    rest = "".join(masked)
    start = 0
    for m in _CLAUSE_BREAK.finditer(rest):
        piece = rest[start:m.start()]
        if piece.strip():
            clauses.append(_Clause(piece, start))
        start = m.end()
    if rest[start:].strip():
        clauses.append(_Clause(rest[start:], start))
    # A short lead-in ("On 15 December, 40 detainees were released") stays with what follows it.
    merged: list[_Clause] = []
    for clause in clauses:
        if merged and not clause.paren and not merged[-1].paren and len(merged[-1].text.split()) <= 4 \
                and not re.search(r"[;\u2014]", sentence[merged[-1].start + len(merged[-1].text):clause.start]):
            previous = merged.pop()
            clause = _Clause(sentence[previous.start:clause.start + len(clause.text)], previous.start)
        merged.append(clause)
    merged.sort(key=lambda c: c.start)
    return merged


def _short(text: str, limit: int = 220) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ==================================================================== measure cues

_MERGE_BY_TYPE = True
#: One-word labels of bodies that are also ordinary words (not matched at the start of a sentence).
_COMMON_WORD_LABELS = {"Time"}
_EVENT_TYPES = {"release-of-detainees", "confirmed-cases", "deaths", "arrests-of-migrants", "pushback",
                "hunger-strike-or-protest", "covid-19-testing", "repatriation-of-stranded-nationals",
                "continuation-of-deportations"}
_ONGOING_TYPES = {"continuation-of-deportations", "arrests-of-migrants", "detention-at-border-facilities",
                  "monitoring-visits", "stranded-migrants"}
_REPORTED_TYPES = {"exclusion-from-support", "lack-of-firewall", "barriers-to-testing-or-care", "pushback",
                   "stranded-migrants", "unofficial-detention-sites", "withholding-of-information",
                   "protective-measures-in-detention", "arrests-of-migrants", "continuation-of-deportations",
                   "monitoring-body-finding", "hunger-strike-or-protest", "court-order", "confirmed-cases",
                   "deaths", "detention-at-border-facilities"}
#: Types a government takes (kg:takenBy the update country's government when the text says so).
_GOVERNMENT_TYPES = {"moratorium-on-detention-orders", "suspension-of-deportations", "suspension-of-visits",
                     "social-benefit", "border-closure", "release-of-detainees", "repatriation-of-stranded-nationals",
                     "closure-of-detention-centre", "extension-of-permits", "legal-or-policy-change",
                     "quarantine", "quarantine-of-facility", "quarantine-of-new-detainees", "criminal-sanctions"}

_DETENTION_CONTEXT = (r"\b(?:detain\w*|detention|prisons?|prisoners?|jails?|depots?|centres?|centers?|camps?"
                      r"|facilit(?:y|ies)|residents|inmates|dormitor\w*|shelters?|stations?|CIEs?|CRAs?|IDCs?|custody)\b")
_SUSPEND = (r"\b(?:suspen\w*|cancel\w*|ban(?:ned|s)?|restrict\w*|stop\w*|halt\w*|prohibit\w*|limit\w*|curtail\w*"
            r"|not (?:be )?(?:allowed|permitted)|only lawyers|denied|barred|behind glass|no (?:longer )?(?:allowed|possible))\b")
_DEPORT = r"(?:deportation|removal|expulsion|forced return|return)s?"


@dataclass(frozen=True)
class _Rule:
    type: str  # measure-type local name
    pattern: re.Pattern
    status: str | None = None  # a fixed status (local name)
    requires: re.Pattern | None = None  # must also match the sentence
    unless: re.Pattern | None = None  # vetoes the cue when it matches the clause
    suppress: tuple[str, ...] = ()  # types this cue overrides in the same clause
    negated_type: str | None = None  # the type to use when the cue is negated
    negated_status: str | None = None
    negative_form: bool = False  # the cue's own "no"/"not" is part of its meaning ("not to detain")


def _rule(type_, pattern, **options) -> _Rule:
    for key in ("requires", "unless"):
        if options.get(key):
            options[key] = re.compile(options[key], re.I)
    return _Rule(type_, re.compile(pattern, re.I), **options)


#: Cue phrases, most specific first. A clause may hold several measures; "suppress" keeps a
#: general cue ("testing") from firing where a specific one ("fear of arrest … testing") did.
_RULES: tuple[_Rule, ...] = (
    _rule("lack-of-firewall",
          r"\bfear\w*\b[^.;]{0,90}?\b(?:arrest\w*|deport\w*|detain\w*|detention)\b"
          r"|\b(?:report|pass|shar|hand)\w* (?:\w+ ){0,3}(?:to|with) (?:the )?immigration (?:authorities|enforcement|services|police)",
          status="reported", requires=r"\b(?:test\w*|treat\w*|care|health|hospital\w*|medical|clinic\w*|doctor\w*|seek\w*|welfare|aid)\b",
          suppress=("covid-19-testing", "arrests-of-migrants", "barriers-to-testing-or-care", "public-health-access")),
    _rule("firewall", r"\bfirewalls?\b", negated_type="lack-of-firewall", negated_status="reported",
          suppress=("covid-19-testing", "public-health-access")),
    _rule("exclusion-from-support",
          r"\b(?:cannot|can ?not|could not|unable to|may not|not able to|no longer able to)\s+(?:not\s+)?(?:\w+\s+)?(?:access|get|receive|obtain|claim|apply for)"
          r"\s+(?:[\w-]+\s+){0,3}?(?:benefits?|payments?|aid|food|health|services|care|support|assistance|treatment|allowances?|relief"
          r"|healthcare|medical|help|vaccin\w*|shelter|housing)\b"
          r"|\b(?:shut|locked|left) out of\b|\bexclud\w* (?:from|them|migrants|refugees)|\bnot (?:eligible|entitled)\b|\bineligible\b"
          r"|\brequires? (?:a |an )?(?:national )?ID\b|\bno access to (?:health|food|benefit|social|aid|medical)",
          status="reported", suppress=("social-benefit", "covid-19-testing", "public-health-access")),
    _rule("barriers-to-testing-or-care",
          r"\b(?:deter\w*|discourag\w*|avoid\w*|afraid|reluctant)\b[^.;]{0,50}\b(?:test\w*|treat\w*|care|hospital\w*)\b",
          status="reported", suppress=("covid-19-testing",)),
    _rule("protective-measures-in-detention",
          r"\b(?:no|found no|without any) (?:reports? of |information (?:on|about|of) )?(?:any )?(?:known |protective |specific )?measures\b",
          status="reported", suppress=("hygiene-and-protection",)),
    _rule("monitoring-visits",
          r"\b(?:ombud\w*|NPM|national preventive mechanism|institution|committee|monitor\w*|inspector\w*)\b[^.;]{0,60}\bvisit\w*"
          r"|\bvisits? (?:by|of) (?:the )?(?:ombud\w*|NPM|monitor\w*|inspect\w*|national preventive)",
          suppress=("suspension-of-visits",)),
    _rule("suspension-of-visits",
          r"\bvisit(?:s|ing|ation)?\b|\b(?:meetings|contacts?) with (?:their )?(?:lawyers|relatives|famil\w+|visitors)"
          r"|\b(?:restrict|limit|suspend|stop|den(?:y|ied)|bar)\w* (?:in-person )?access (?:to|for) (?:their )?(?:famil\w+|lawyers|relatives|(?:the )?(?:pre-removal )?(?:detention )?(?:centres|centers|facilities))",
          requires=_SUSPEND, unless=r"\bvisits? (?:to|of) (?:the )?(?:country|region)\b"),
    _rule("repurposing-of-detention-centre",
          r"\b(?:used|repurposed|turned|converted|transformed)\b[^.;]{0,25}\b(?:as|into) (?:a )?quarantine",
          suppress=("quarantine", "quarantine-of-facility", "closure-of-detention-centre")),
    _rule("quarantine-of-new-detainees",
          r"\b(?:new(?:ly)? (?:arrivals?|arrived|detainees|comers|accommodated)|newcomers?|on arrival|upon arrival)\b[^.;]{0,90}\bquarantin\w*"
          r"|\bquarantin\w*[^.;]{0,60}\b(?:new(?:ly)? (?:arrivals?|arrived|detainees|accommodated)|newcomers?)",
          suppress=("quarantine",)),
    _rule("quarantine-of-returnees",
          r"\b(?:returnees|returned|deportees|expelled|pushed[- ]back|repatriated)\b[^.;]{0,90}\bquarantin\w*"
          r"|\bquarantin\w*[^.;]{0,60}\b(?:returnees|returned migrants|deportees)",
          suppress=("quarantine", "pushback")),
    _rule("quarantine-of-facility",
          r"\b(?:placed|put) (?:\w+ )?under quarantine|\bsealed(?: off)?\b|\blocked down\b|\bcordoned off\b"
          r"|\bquarantined (?:[\w-]+ )?(?:camps?|centres?|centers?|estates?|dormitor\w*|facilit\w*|areas?|zones?|districts?)\b"
          r"|\b(?:camp|centre|center|dormitor\w*|facility|estate)\b[^.;]{0,30}\bquarantin\w*",
          suppress=("quarantine",)),
    _rule("quarantine", r"\bquarantin\w*"),
    _rule("criminal-sanctions",
          r"\bpunishable by\b|\b(?:jail|prison|arrest|fine)\w*\b[^.;]{0,30}\bfor (?:not wearing|breach\w*|violat\w*)",
          suppress=("hygiene-and-protection", "arrests-of-migrants")),
    _rule("outbreak-containment", r"\bcontain(?:ment)? (?:of )?(?:the |an )?outbreak|\boutbreak[^.;]{0,40}\bcontain\w*",
          suppress=("hygiene-and-protection",)),
    _rule("hygiene-and-protection",
          r"\bdisinfect\w*|\b(?:face )?masks?\b|\bcleaning\b|\bhand[- ]?(?:washing|sanitis\w*|sanitiz\w*)|\bprotective (?:equipment|measures)"
          r"|\bPPE\b|\btemperature (?:checks?|screening|taken|measured)|\bisolation (?:unit|area|room|cell|wing)s?\b|\bhygiene\b|\bscreen(?:ed|ing)\b|\bchecked for symptoms"
          r"|\bsymptom checks?|\bsocial distancing\b|\bdistancing\b"),
    _rule("post-release-support",
          r"\b(?:shelter|housing|flats?|accommodation|apartments?|homeless)\b[^.;]{0,60}\b(?:released|former detainees|after (?:their )?release)"
          r"|\bhoused\b[^.;]{0,30}\b(?:released|former detainees)"
          r"|\b(?:released|former detainees)\b[^.;]{0,60}\b(?:shelters?|housing|flats?|accommodation|apartments?|programme|program)\b",
          suppress=()),
    _rule("postponement-of-sentences",
          r"\bsentences?\b[^.;]{0,40}\b(?:postpon|defer|delay)\w*|\b(?:postpon|defer)\w*[^.;]{0,30}\bsentences?",
          suppress=("release-of-detainees",)),
    _rule("suspension-of-assisted-voluntary-return", r"\b(?:assisted )?voluntary returns?\b|\bAVRR?\b",
          suppress=("suspension-of-deportations", "continuation-of-deportations")),
    _rule("moratorium-on-detention-orders",
          rf"\bmorator(?:ium|ia)\b(?!\s+on\s+(?:\w+\s+)?{_DEPORT})"
          r"|\b(?:halt|stop|end|suspen|ceas|paus|freez|froze)\w* (?:on |to |of )?(?:issuing |the issuance of |to issue )?(?:all |any )?(?:new )?(?:[\w-]+ ){0,2}?(?:detention orders?|detentions?)\b"
          r"|\bdetention orders? (?:were |was |have been |had been )?(?:suspended|halted|stopped)"),
    _rule("moratorium-on-detention-orders",
          r"\bno (?:new )?(?:immigration )?(?:detention orders?|detentions?)\b(?!\s+(?:moratori|centres?|centers?|facilit|polic))"
          r"|\bnot (?:to )?detain\b|\bno (?:immigration )?detention for\b|\bno (?:new )?detention orders? (?:were |have been |had been )?issued",
          negative_form=True),
    _rule("suspension-of-deportations",
          rf"\bmorator(?:ium|ia) on (?:\w+ )?{_DEPORT}"
          rf"|\b(?:ceas|halt|suspen|stop|paus|froz|freez|postpon|cancel)\w* (?:all |the |most |temporarily |any )?(?:\w+ )?(?:deportation|removal|expulsion|forced return)s?(?: proceedings| flights)?\b"
          r"|\b(?:deportation|removal|expulsion|forced return)s?(?: proceedings| flights| procedures)? (?:(?:were|was|have|has|had|are|is|remain)\s+)?(?:not\s+)?(?:been\s+)?(?:largely |temporarily |all |also |mostly |effectively |fully )?(?:halted|suspended|ceased|stopped|paused|frozen|cancell?ed|impossible|grounded|on hold)\b"
          r"|\b(?:halt|ban|stop|pause)s? (?:to|of|on) (?:all |any )?(?:\w+ )?(?:deportation|removal)s?(?: flights)?",
          unless=r"\bvoluntary return"),
    _rule("continuation-of-deportations",
          r"\b(?:deportation|removal|return)s?(?: flights)? (?:(?:have|has|had|were|was|are|is)\s+)?(?:still\s+)?(?:continued|continuing|continue|went ahead|carried out|resumed|took place|taking place|attempted)"
          r"|\bcontinu\w* (?:to )?(?:deport|remov|carry out (?:deportation|removal)s?)|\b(?:still|kept) (?:\w+ )?(?:attempt\w* |carry\w* out )?(?:deport\w*|remov\w*)"
          r"|\b(?:were|was|been|being|be) deported\b|\bdeported\b",
          suppress=("suspension-of-deportations",), unless=r"\bfear\w*|\brisk\w*|\bvulnerable\b"),
    _rule("continuation-of-deportations", r"\bnever (?:fully |entirely |completely )?(?:suspended|halted|stopped)\b",
          negative_form=True, status="ongoing", suppress=("suspension-of-deportations",)),
    _rule("release-of-detainees",
          r"\breleas(?:e|ed|es|ing)\b|\bfreed\b|\bfree(?:ing)? (?:all |some |the )?(?:detainees|prisoners|migrants)|\blet (?:out|go)\b"
          r"|\bpardon(?:ed|s)?\b",
          unless=r"\b(?:press|news) release|released (?:a|an|its|the) (?:report|statement|video|figures|data|list|guidance|study)"
                 r"|\brelease date\b|\b(?:bid|calls?|called|calling|demand\w*|urg\w*|appeal\w*|petition\w*|request\w*|campaign\w*|plea)"
                 r"\b[^.;]{0,30}\b(?:release|releases|releasing)\b"),
    _rule("closure-of-detention-centre",
          r"\b(?:centres?|centers?|CIEs|CRAs|camps?|(?:transit |waiting )zones?|depots?|facilit(?:y|ies))\b[^.;]{0,40}?\b(?:closed|shut|to close|closure|emptied|remain(?:ed|s)? open|stayed open)\b"
          r"|\b(?:clos(?:e|ed|ing)|shut(?:ting)?)(?: down)? (?:the|all|its|their|several|many|some|two|three|four|five|most) (?:[\w-]+ ){0,3}(?:detention )?(?:centres?|centers?|camps|zones|CIEs|CRAs)\b"
          r"|\bclosure of (?:the |all |its )?(?:[\w-]+ ){0,3}(?:centres?|centers?|camps?|zones?|CIEs?|CRAs?|facilit(?:y|ies))\b",
          suppress=("quarantine", "quarantine-of-facility")),
    _rule("border-closure",
          r"\bborders?\b(?!\s+(?:transit|zones?|camps?|stations?|posts?|police|guards?|facilit))[^.;]{0,30}?\b(?:were |was |are |is |have been |had been |remain(?:ed)? )?(?:closed|closure|shut|sealed)\b"
          r"|\b(?:clos|shut|seal)\w* (?:its |their |the |all |her )?(?:\w+ )?borders?\b(?!\s+(?:transit|zones?|camps?|stations?|posts?|police|guards?|facilit))"
          r"|\bborder closures?\b|\bclosed borders?\b"
          r"|\brefused (?:entry )?at the border\b|\bturn\w* away\b[^.;]{0,40}\bborder|\bentry (?:ban|refused)|\btravel bans?\b"),
    _rule("stranded-migrants", r"\bstranded\b|\btrapped\b|\bstuck\b|\bcamp(?:ing|ed) outside\b|\bunable to (?:return|go home|leave)"),
    _rule("repatriation-of-stranded-nationals",
          r"\brepatriat\w+|\bfacilitated (?:their|the) return\b|\b(?:flown|brought|sent) (?:back )?home\b"
          r"|\breturn(?:ed)? (?:home )?(?:by|on) (?:train|bus|charter|flight)s?|\bhelped (?:\w+ )?home\b"),
    _rule("hunger-strike-or-protest", r"\bhunger[- ]strik\w*|\briot\w*|\bprotest\w*|\bunrest\b|\bdemonstrat(?:ion|ions|ed|ors)\b"),
    _rule("court-order",
          r"\bcourts?\b|\btribunal\b|\bjudg(?:e|ment|ement)s?\b|\bruling\b|\bruled\b|\blitigation\b|\bprecautionary measures\b"
          r"|\blegal challenges?\b|\bCJEU\b",
          unless=r"\bcourt of (?:public )?opinion\b"),
    _rule("restriction-of-asylum-access",
          r"\basylum (?:requests|applications|claims)?[^.;]{0,40}\bonly (?:at|through|via|in)\b"
          r"|\b(?:suspend|restrict|refus|clos)\w* (?:access to )?asylum|\basylum[^.;]{0,30}\b(?:suspended|restricted|refused)\b"
          r"|\bright to (?:seek|claim) (?:asylum|protection)\b"),
    _rule("adaptation-of-asylum-procedures",
          r"\b(?:applications?|interviews?|hearings?|procedures?)\b[^.;]{0,40}\b(?:online|remote(?:ly)?|video|by phone|electronic\w*)"
          r"|\bvideo (?:interviews?|hearings?)|\bdeadlines? (?:were |was |have been )?extended"),
    _rule("extension-of-permits",
          r"\b(?:visas?|permits?|residence (?:permits?|cards?))\b[^.;]{0,50}\b(?:extended|extension|prolonged|renewed|remain valid|penalis\w*|penaliz\w*)"
          r"|\bexten\w* (?:of )?(?:the )?(?:validity|visas?|permits?)"),
    _rule("repatriation-of-stranded-nationals", r"\brepatriation (?:flights|trains|buses|efforts?)"),
    _rule("detention-at-border-facilities",
          r"\b(?:held|detained|confined|kept|waiting|stuck)\b[^.;]{0,40}\b(?:stations?|transit zones?|border (?:facilit\w*|posts?))"),
    _rule("unofficial-detention-sites", r"\bunofficial (?:detention )?(?:sites?|centres?|centers?|places?)|\binformal detention|\bmilitia[- ]run"),
    _rule("discriminatory-restrictions",
          r"\bcurfews?\b[^.;]{0,40}\b(?:on|for|targeting|against)\b[^.;]{0,30}\b(?:refugees|migrants|Syrians|foreigners|asylum seekers|non-citizens)"
          r"|\bdiscriminatory (?:restrictions?|measures?|curfews?)|\b(?:refugees|migrants|Syrians|foreigners)\b[^.;]{0,30}\bcurfews?"),
    _rule("withholding-of-information",
          r"\b(?:declined|refused|would not|did not|failed) (?:to )?(?:answer|respond|reply|provide (?:any )?information|comment)\b|\bunanswered\b|\bno (?:response|reply)\b",
          status="reported"),
    _rule("legal-or-policy-change",
          r"\b(?:new|changes? (?:to|in)) (?:immigration |asylum |migration )*(?:polic(?:y|ies)|laws?|legislation|rules)\b"
          r"|\bpolic(?:y|ies) (?:were |was |have been )?(?:adopted|changed|introduced)"),
    _rule("monitoring-body-finding",
          r"\b(?:committee|treaty body|ombud\w*|rapporteur|working group)\b[^.;]{0,80}\b(?:found|finding|concluded)\b[^.;]{0,60}\bviolat\w*"
          r"|\bviolated (?:the|its|their)\b", status="reported"),
    _rule("public-health-access",
          r"\bregardless of (?:their )?(?:immigration |residence |legal )?status\b|\bfree (?:of charge )?(?:covid-19 )?(?:testing|treatment|health ?care|vaccin\w*)"),
    _rule("arrests-of-migrants",
          r"\barrest(?:ed|s|ing)?\b|\braids?\b|\bround[- ]?ups?\b|\brounded up\b|\bapprehen\w*",
          unless=r"\b(?:risk|fear\w*|afraid|vulnerable|exposed|threat)\b[^.;]{0,40}\barrest|\bpunishable\b"),
    _rule("pushback", r"\bpush(?:ed)?[- ]?backs?\b|\bpushed (?:\w+ )?back\b|\bforced back\b"),
    _rule("confirmed-cases",
          r"\bconfirmed (?:to have|cases?|as|positive|infected|infections?)\b|\btested positive\b|\bpositive (?:for|cases?|tests?)\b"
          r"|\binfected\b|\binfections? (?:among|in|at)\b|\boutbreaks?\b|\bcases?\b(?= (?:of (?:covid|the virus|coronavirus)|among|in|at|from))"
          r"|\bcases? (?:have|has|had|were|was) (?:been )?(?:confirmed|reported|found|detected)",
          requires=_DETENTION_CONTEXT, unless=r"\bDublin cases\b|\bcourt cases?\b|\bin (?:some|many|most|all|such|these|those) cases\b"),
    _rule("deaths", r"\bdied\b|\bdeaths?\b|\bdead\b|\bfatalit\w*|\bkilled\b", requires=_DETENTION_CONTEXT),
    _rule("covid-19-testing", r"\btest(?:ed|ing|s)?\b",
          unless=r"\btested positive|\bpositive tests?|\btest(?:ed|s)? (?:came back )?(?:negative|positive)|\bcourt test|\btest case"),
    _rule("social-benefit",
          r"\b(?:unemployment |social |welfare |emergency |cash |lockdown |financial )?benefits?\b|\ballowances?\b|\bstipends?\b"
          r"|\bcash (?:assistance|transfers?|payments?)\b|\bunemployment (?:payments?|support)\b"),
)

_NOT_NEGATING = (r"(?!\s+(?:all|only|just|yet|least|always|every|fully|until|entirely|wearing|respecting|complying|following"
                 r"|observing|having|be\s+(?:penalis|penaliz|punish|fined|prosecut|detain|deport|arrest|remov|expel|charged)"
                 r"|(?:penalis|penaliz|punish|fined|prosecut)))")
_NEG_BEFORE_ANY = re.compile(r"\b(?:none of|no[- ]one|nobody|neither|nothing)\b", re.I)
_NEG_BEFORE_DETERMINER = re.compile(r"\bno\b(?!\s+(?:longer|later|more than|fewer|less|sooner|doubt|matter))(?:\s+[\w-]+){0,3}\s*$", re.I)
_NEG_BEFORE_VERB = re.compile(
    rf"(?:\bnot\b{_NOT_NEGATING}|n't\b|\bnever\b(?!\s+(?:fully|entirely))|\bcannot\b|\bunable to\b|\bfail(?:ed|s)? to\b"
    r"|\b(?:refus|reject|declin)\w*|\bno access to\b|\black(?:ed|s)? (?:of )?access to\b)", re.I)
_NEG_INSIDE = re.compile(rf"\bnot\b{_NOT_NEGATING}|n't\b|\bnever\b", re.I)
_NEG_AFTER = re.compile(
    rf"^\s*(?:(?:has|have|had|was|were|is|are|will|would|could|can|did|do|does|should|may)\s+)?(?:also\s+|yet\s+|still\s+)?"
    rf"(?:not\b{_NOT_NEGATING}|n't\b|never\b)|^n't\b|^\s*(?:nobody|no[- ]one|none|no\s+[\w-]+)\b", re.I)
_PARTIAL_WORDS = re.compile(
    r"\b(?:limited|only|partial(?:ly)?|case[- ]by[- ]case|individual(?:ly)?|individual assessments?|not all|selected|largely"
    r"|mostly|in part|symptomatic|with symptoms|if (?:they (?:show|have|develop) )?symptom\w*|when (?:\w+ ){0,4}symptom\w*"
    r"|some of (?:the|them|those)|a few|a handful|not (?:generally|systematically|routinely))\b", re.I)
_PERSON_WORDS = (r"(?:people|persons?|individuals|migrants?|detainees?|prisoners?|inmates?|refugees?|asylum[- ]seekers?|workers?"
                 r"|nationals|children|minors|women|men|families|residents|foreigners|cases|centres|centers|facilities|states|Länder)")
_PARTIAL_QUANTIFIER = re.compile(
    rf"\b(?:some|several|a number of|a small number of|a minority of|certain|few)\s+(?:[\w-]+\s+){{0,2}}?{_PERSON_WORDS}\b", re.I)
_PLANNED = re.compile(r"\b(?:will|shall|plans? to|planned to|planning to|intends? to|intended to|is to|are to|expected to|set to"
                      r"|about to|going to|would)\s+(?:\w+\s+){0,2}$", re.I)
_ANNOUNCED = re.compile(r"\bannounc\w+", re.I)
_DISPUTED = re.compile(r"\bdenied (?:the |a |an |[\w-]+'s )?(?:reports?|claims?|allegations?|that|accounts?)\b|\bdisputed\b"
                       r"|\bcalled (?:the|this|these|it) (?:report|claim)?s? ?(?:false|untrue|fake)|\bfalse reports?\b", re.I)
_NOT_REPORTED = re.compile(r"\b(?:not aware of|unaware of|no information (?:on|about|of)|no reports? (?:of|on|about)|did not know of)\b", re.I)
_DE_FACTO = re.compile(r"\bde facto\b|\bin practice\b|\b(?:because of|due to|amid|owing to|given)\s+(?:the\s+)?(?:border closures?"
                       r"|travel restrictions|flight (?:bans|cancellations)|grounded flights|lack of flights|closed borders)"
                       r"|\b(?:border closures?|travel restrictions|closed borders|grounded flights)\s+(?:had\s+|have\s+)?(?:halted|stopped|prevented|blocked)", re.I)
_ENDED = re.compile(r"\b(?:lifted|ended|no longer|reopened|were over|has ended|had ended)\b", re.I)
_ONGOING = re.compile(r"\b(?:still|continu\w*|ongoing|remain\w*|kept|scaled up|persist\w*|keep|waiting)\b", re.I)
_NOT_GRANTED = re.compile(r"\b(?:rejected|dismissed|refused|denied|lost|turned down|overruled)\b", re.I)
_SEGMENT_BREAK = re.compile(r"[;:]|,(?!\d)|\b(?:and|but|yet|while|whereas|although|though)\b", re.I)
_AFTER_BREAK = re.compile(r"[;:]|,(?!\d)|\b(?:and|or|but|yet|while|whereas|although|though|because|since|so|due to|which|who"
                          r"|whose|when|where|after|before|until|as)\b", re.I)
_PARTIAL_BREAK = re.compile(r"[;:]|\b(?:but|yet|while|whereas|although|though)\b", re.I)


def _windows(clause: str, start: int, end: int, breaks: re.Pattern = _SEGMENT_BREAK) -> tuple[str, str]:
    """The words before a cue back to the last list break, and after it up to the next one.

    "not adopted or considered a moratorium": "or" does not end the negation's reach, "and" does.
    """
    before = clause[:start]
    cut = 0
    for m in breaks.finditer(before):
        cut = m.end()
    after = clause[end:]
    m = _AFTER_BREAK.search(after)
    return before[cut:], after[:m.start()] if m else after


def _last_words(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[-n:]) + (" " if text.endswith(" ") else "")


def _negation(clause: str, start: int, end: int, negative_form: bool = False) -> re.Match | None:
    """A negation that governs the cue at clause[start:end] ("no moratorium", "had not been released")."""
    before, after = _windows(clause, start, end)
    recent = _last_words(before, 7)
    if negative_form:  # "not to detain", "never fully suspended": only a negation of the whole cue counts
        return _NEG_BEFORE_VERB.search(recent) if re.search(r"\b(?:refus|reject|declin)\w*", recent, re.I) else None
    return (_NEG_BEFORE_ANY.search(before) or _NEG_BEFORE_DETERMINER.search(before) or _NEG_BEFORE_VERB.search(recent)
            or _NEG_INSIDE.search(clause, start, end) or _NEG_AFTER.search(after))


def _partial(clause: str, start: int, end: int) -> re.Match | None:
    before, after = _windows(clause, start, end, _PARTIAL_BREAK)
    cue = re.sub(r"\bonly (?:at|through|via|in|to)\b", " ", clause[start:end], flags=re.I)  # "requests only at embassies"
    near = _last_words(before, 10) + cue + " ~ " + " ".join(after.split()[:7])
    return (_PARTIAL_WORDS.search(near) or _PARTIAL_QUANTIFIER.search(near)
            or re.search(r"\b(?:some|several|a few|certain|a number of|a small number of)\s+(?:[\w-]+\s+){0,3}$", before, re.I))


def _status_for(rule: _Rule, mtype: str, clause: str, start: int, end: int, sentence: str,
                concepts: dict[str, _Concept]) -> tuple[str, str, str]:
    """(measure type, status, why) for a cue found at clause[start:end]."""
    negation = _negation(clause, start, end, rule.negative_form)
    before, after = _windows(clause, start, end)
    near = before + clause[start:end] + after
    if rule.negated_type:
        neg = negation or re.search(r"\b(?:lack|absence|missing|without)\b", clause, re.I)
        if neg:
            return rule.negated_type, rule.negated_status or "reported", f'negated: "{neg.group(0).strip()}"'
    if rule.status:
        return mtype, rule.status, f"{rule.status} for this kind of cue"
    if mtype == "court-order":
        m = _NOT_GRANTED.search(clause)
        if m:
            return mtype, "not-granted", f'"{m.group(0)}"'
    m = _DISPUTED.search(sentence)  # "HRW reported an outbreak; the government called the report false"
    if m:
        return mtype, "disputed", f'"{m.group(0)}"'
    m = _NOT_REPORTED.search(near)
    if m:
        return mtype, "not-reported", f'"{m.group(0)}"'
    if mtype == "closure-of-detention-centre":
        m = re.search(r"\b(?:remain(?:ed|s)?|stayed|kept) open\b", clause, re.I)
        if m:
            return mtype, "not-introduced", f'"{m.group(0)}"'
    if negation:
        status = "none-occurred" if mtype in _EVENT_TYPES else "not-introduced"
        return mtype, status, f'negation "{negation.group(0).strip()}" near the cue'
    if mtype in _ONGOING_TYPES:  # "some Länder still attempt deportations": still, not partial
        m = _ONGOING.search(clause)
        if m:
            return mtype, "ongoing", f'"{m.group(0)}"'
    if mtype != "suspension-of-visits":
        m = _partial(clause, start, end)
        if m:
            return mtype, "partial", f'"{m.group(0).strip()}"'
    m = _ANNOUNCED.search(clause)
    if m:
        return mtype, "announced", f'"{m.group(0)}"'
    m = _PLANNED.search(clause[:start])
    if m and concepts.get(mtype) and concepts[mtype].development == "kg:Measure":
        return mtype, "planned", f'"{m.group(0).strip()}"'
    m = _DE_FACTO.search(sentence)
    if m and mtype in ("suspension-of-deportations", "moratorium-on-detention-orders", "release-of-detainees",
                       "closure-of-detention-centre"):
        return mtype, "de-facto", f'"{m.group(0)}"'
    m = _ENDED.search(near)
    if m:
        return mtype, "ended", f'"{m.group(0)}"'
    if mtype in _ONGOING_TYPES:
        m = _ONGOING.search(clause)
        if m:
            return mtype, "ongoing", f'"{m.group(0)}"'
    if mtype in _REPORTED_TYPES or (concepts.get(mtype) and concepts[mtype].development == "kg:Incident"):
        return mtype, "reported", "reported: no negation or qualifier near the cue"
    return mtype, "introduced", "introduced: no negation or qualifier near the cue"


# ==================================================================== the drafter


@dataclass
class _Hit:
    """A measure found in one clause, before merging."""

    type: str
    status: str
    cue: str
    why: str
    sentence: _Sentence
    clause: int
    place: str | None = None
    begin: tuple[str, str] | None = None  # (ISO date, evidence)
    end: tuple[str, str] | None = None
    planned_end: tuple[str, str] | None = None
    duration: tuple[str, str] | None = None
    taken_by: tuple[str, str] | None = None
    according_to: tuple[str, str] | None = None
    channel: tuple[str, str] | None = None
    figures: list = field(default_factory=list)  # _Fig objects
    iri: str = ""

    @property
    def default(self) -> bool:
        """The status is the type's default: no cue for it was found."""
        return self.why.endswith("no negation or qualifier near the cue")


@dataclass
class _Fig:
    finding: FigureFinding
    sentence: _Sentence
    clause: int
    notes: list[str] = field(default_factory=list)
    dropped: bool = False  # a duration given to a measure instead ("trapped for two months")


@dataclass
class _AgentMatch:
    agent: _Agent
    start: int
    end: int
    text: str
    how: str


class _Drafter:
    def __init__(self, ref: _Reference, text: str, date: str | None, country: str | None, source_url: str | None):
        self.ref = ref
        self.raw = text
        self.text = _normalise(text)
        self.findings = Findings()
        self.source_url = _check_url(source_url) if source_url else None
        self.option_date = _iso_date(date) if date else None
        self.option_country = _country_code(ref, country) if country else None
        self.hits: list[_Hit] = []
        self.figs: list[_Fig] = []
        self._share_of: dict[int, FigureFinding] = {}
        self.places: dict[str, PlaceFinding] = {}
        self.sentences: list[_Sentence] = []
        self.xrefs: list[CrossReferenceFinding] = []
        self._name_regex = _names_regex(ref)
        self._agent_regex, self._agent_variants = _agent_regex(ref)

    # ---------------------------------------------------------------- driver

    def run(self) -> Draft:
        paragraphs = _paragraphs(self.text)
        header, body = self._header(paragraphs)
        self._update_date(header, body)
        self._update_country(header, body)
        self.slug = f"{self.date.isoformat()}-{_country_slug(self.ref, self.code)}"
        existing = self.ref.update_keys.get((self.date.isoformat(), self.code))
        if existing:
            self.slug = existing
            self.findings.warnings.append(
                f"the dataset already has update:{existing} for this date and country: this draft describes the same "
                "update; compare it with that file instead of adding a second one")
        index = 0
        for p, paragraph in enumerate(body):
            for text in _sentences(paragraph):
                self.sentences.append(_Sentence(text, p, index, _clauses(text)))
                index += 1
        self.findings.sources = self._cited_sources()
        self._sources()
        self._read()
        self._merge()
        return Draft(turtle=self._turtle(), findings=self.findings, update_iri=f"update:{self.slug}",
                     file_name=f"{self.slug}.ttl")

    # ---------------------------------------------------------------- update date and country

    _HEADER_DATE_FIRST = re.compile(rf"^(?P<date>[0-3]?\d\s+{_MONTH}\s+{_YEAR})\s*(?:[–—:|,-]|\s-\s)\s*(?P<country>[^\n]{{2,60}}?)\s*$", re.I)
    _HEADER_COUNTRY_FIRST = re.compile(rf"^(?P<country>[A-Za-z][^\n,]{{1,60}}?)\s*[,:–—-]\s*(?P<date>[0-3]?\d\s+{_MONTH}\s+{_YEAR})\s*$", re.I)

    def _header(self, paragraphs: list[str]) -> tuple[dict | None, list[str]]:
        for i, paragraph in enumerate(paragraphs[:6]):
            for pattern in (self._HEADER_DATE_FIRST, self._HEADER_COUNTRY_FIRST):
                m = pattern.match(paragraph.strip())
                if m:
                    return {"date": m.group("date"), "country": m.group("country"), "text": paragraph.strip()}, \
                        paragraphs[:i] + paragraphs[i + 1:]
        return None, paragraphs

    def _update_date(self, header, body):
        if self.option_date:
            self.date = dt.date.fromisoformat(self.option_date)
            self.findings.date = DateFinding(self.option_date, self.option_date, roles=["update"], how="option")
            return
        if header:
            self.date = dt.date.fromisoformat(_iso_date(header["date"]))
            self.findings.date = DateFinding(self.date.isoformat(), header["date"], roles=["update"], how="header")
            return
        full = [d for d in _find_dates("\n".join(body), None) if d.date and not d.year_inferred and d.day]
        if not full:
            raise KGError("the text does not say on which date the update was published",
                          "give the date (--date YYYY-MM-DD), or start the text with a line such as "
                          "'14 June 2020 – Kazakhstan'")
        latest = max(full, key=lambda d: d.date)
        self.date = latest.date
        self.findings.date = DateFinding(latest.date.isoformat(), latest.text, roles=["update"], how="guess")
        self.findings.warnings.append(
            f"no header line or --date: the update's date {latest.date.isoformat()} is the latest full date in the text; check it")

    def _update_country(self, header, body):
        if self.option_country:
            self.code = self.option_country
            self.findings.country = self._country_finding(self.code, "option", self.code)
            return
        if header:
            name = header["country"].strip().rstrip(".")
            try:
                self.code = _country_code(self.ref, name)
                self.findings.country = self._country_finding(self.code, "header", name)
                return
            except KGError:
                self.findings.warnings.append(f"the header names {name!r}, which is not a known country")
        counts = Counter()
        for paragraph in body:
            for m in self._name_regex.finditer(paragraph):
                name = m.group(0)
                code = self.ref.names.get(name) or _DEMONYMS.get(name) or _DEMONYMS.get(name[:-1])
                # a country named inside a cross-reference is not the update's
                if code and not re.match(r"\s*\(\s*(?:[0-3]?\d\s+\w+\s+)?update", paragraph[m.end():]):
                    counts[code] += 1 if name in self.ref.names else 0.5
        if not counts:
            raise KGError("the text does not say which country the update is about",
                          "give the country (--country KZ), or start the text with a line such as "
                          "'14 June 2020 – Kazakhstan'")
        self.code = counts.most_common(1)[0][0]
        self.findings.country = self._country_finding(self.code, "text", self.ref.countries[self.code])
        self.findings.warnings.append(
            f"no header line or --country: the country {self.code} is the one the text names most; check it")

    def _code_of(self, name: str) -> str | None:
        return self.ref.names.get(name) or _DEMONYMS.get(name) or (_DEMONYMS.get(name[:-1]) if name.endswith("s") else None)

    def _country_finding(self, code, how, text) -> CountryFinding:
        return CountryFinding(code, self.ref.countries[code], f"country:{code}", how, text)

    # ---------------------------------------------------------------- agents and sources

    def _agents_in(self, text: str) -> list[_AgentMatch]:
        matches = []
        for m in self._agent_regex.finditer(text):
            variant = m.group(0)
            candidates = self._agent_variants[variant]
            chosen = None
            for agent, how, restricted in candidates:
                if restricted and agent.country != self.code:
                    continue
                chosen = (agent, how)
                break
            if chosen is None:
                continue
            if variant in _COMMON_WORD_LABELS and m.start() == 0:
                continue  # "Time" opening a sentence is not the magazine
            matches.append(_AgentMatch(chosen[0], m.start(), m.end(), variant, chosen[1]))
        # "According to the Central Asian Bueau for Analytical Reporting": a misspelt name
        for m in re.finditer(r"\b(?i:according to) (?:the )?((?:[A-Z][\w'-]*\s*(?:(?:for|of|and|on|the|de|du|des|la|le)\s+)?){2,9})", text):
            name = m.group(1).strip().rstrip(",")
            if any(a.start <= m.start(1) < a.end for a in matches):
                continue
            best, score = None, 0.0
            for agent in self.ref.agents:
                base = re.sub(r"\s*\([^)]*\)$", "", agent.label)
                ratio = difflib.SequenceMatcher(None, name.lower(), base.lower()).ratio()
                if ratio > score:
                    best, score = agent, ratio
            if best and score >= 0.88:
                matches.append(_AgentMatch(best, m.start(1), m.start(1) + len(name), name, "fuzzy"))
        generic = re.finditer(r"\b(?:the )?(?:[Gg]overnment|authorities)\b", text)
        government = next((a for a in self.ref.agents if a.iri == f"authority:{self.code.lower()}-government"), None)
        if government:
            for m in generic:
                if not any(a.start <= m.start() < a.end for a in matches):
                    matches.append(_AgentMatch(government, m.start(), m.end(), m.group(0), "generic"))
        matches.sort(key=lambda a: a.start)
        return matches

    def _record_agent(self, match: _AgentMatch, role: str):
        for found in self.findings.agents:
            if found.iri == match.agent.iri:
                if role == "source":
                    found.role = "source"
                return
        self.findings.agents.append(AgentFinding(match.agent.iri, match.agent.label, match.agent.kind,
                                                 match.text, match.how, role))

    _SOURCE_BEFORE = re.compile(r"(?:according to(?: information(?: from| by)?)?(?: the)?(?: [A-Z][\w-]*)?|submitted (?:to the GDP )?by|provided (?:to the GDP )?by|sent (?:to the GDP )?by"
                                r"|reported by|completed by|information from|data from|statement (?:by|from)|survey (?:by|from)"
                                r"|drawing on|citing|says?|said)\s+(?:the\s+)?(?:information\s+\w+\s+to\s+the\s+GDP\s+by\s+(?:the\s+)?)?$", re.I)
    _SOURCE_AFTER = re.compile(r"^\s*(?:\([^)]*\)\s*)?(?:,\s*)?(?:has |have |had )?(?:also )?(?:reports?|reported|said|says|told|stated|states"
                               r"|informed|explained|noted|notes|confirmed|indicated|wrote|writes|found|claimed|claims|observed|replied|responded"
                               r"|submitted|sent|provided|shared|answered|communicated)\b", re.I)
    _CHANNELS = (
        (re.compile(r"\b(?:submitted|sent|provided|communicat\w+|wrote|e-?mail\w*|told)\b[^.]{0,30}\bto the GDP\b|\btold the GDP\b", re.I),
         "ch:submitted-to-gdp"),
        (re.compile(r"\bsurvey\b|\bquestionnaire\b", re.I), "ch:gdp-survey-response"),
        (re.compile(r"\b(?:media|press|news) reports?\b|\bseveral reports\b|\breports in the\b", re.I), "ch:media-report"),
    )

    def _sources(self):
        """Per sentence: agents named, which of them are sources, and the paragraph's current source."""
        current = (None, None, None)  # (agent iri, evidence, channel) for the paragraph
        paragraph = -1
        self.sentence_agents: dict[int, list[_AgentMatch]] = {}
        self.sentence_source: dict[int, tuple] = {}
        self.update_sources: list[str] = []
        for s in self.sentences:
            if s.paragraph != paragraph:
                paragraph, current = s.paragraph, (None, None, None)
            matches = self._agents_in(s.text)
            self.sentence_agents[s.index] = matches
            source = None
            for match in matches:
                before = s.text[max(0, match.start - 70):match.start]
                after = s.text[match.end:match.end + 40]
                is_source = bool(self._SOURCE_BEFORE.search(before) or self._SOURCE_AFTER.match(after))
                if match.how == "generic" and not self._SOURCE_AFTER.match(after):
                    is_source = False
                self._record_agent(match, "source" if is_source else "mentioned")
                if is_source and source is None and match.agent.iri != _GDP:
                    source = match
            channel = None
            for pattern, ch in self._CHANNELS:
                m = pattern.search(s.text)
                if m:
                    channel = (ch, m.group(0))
                    break
            if source:
                if channel is None and current[0] == source.agent.iri and current[2]:
                    channel = current[2]
                if channel is None:
                    channel = self._channel_of(source.agent)
                current = (source.agent.iri, f'"{_short(s.text[source.start:source.end], 80)}" named as the source', channel)
                if source.agent.iri not in self.update_sources:
                    self.update_sources.append(source.agent.iri)
            elif re.match(r"\s*according to (?:several|media|press|news) reports", s.text, re.I):
                cited = self.findings.sources[0].publisher if self.findings.sources else None
                current = (cited, "the publisher of the article the update cites (\"according to several reports\")" if cited else None,
                           ("ch:media-report", "according to several reports"))
            elif channel and current[2] is None:
                current = (current[0], current[1], channel)
            self.sentence_source[s.index] = current

    @staticmethod
    def _channel_of(agent: _Agent) -> tuple[str, str] | None:
        if "media-outlet" in agent.types:
            return "ch:media-report", f"{agent.label} is a media outlet"
        if agent.kind == "authority":
            return "ch:official-statement", f"{agent.label} is an authority"
        if "ngo" in agent.types or "international-organisation" in agent.types:
            return "ch:ngo-report", f"{agent.label} is an organisation"
        return None

    # ---------------------------------------------------------------- reading the sentences

    def _read(self):
        for s in self.sentences:
            self._dates(s)
            xrefs = self._cross_references(s)
            comparative = bool(xrefs) and all(x.country != self.code for x in xrefs) and re.search(
                r"\b(?:similar|such as|like|as in|other countries|also in|elsewhere)\b", s.text, re.I)
            first_hit = len(self.hits)
            for c, clause in enumerate(s.clauses):
                self._figures(s, c, clause)
                hits = self._measures(s, c, clause)
                if comparative:
                    for x in xrefs:
                        if x.theme is None and hits:
                            x.theme, x.theme_how = f"mt:{hits[0].type}", "the measures of its sentence"
                    continue
                self.hits.extend(hits)
            for x in xrefs:
                if x.theme is None:
                    types = [h.type for h in self.hits[first_hit:]] or [h.type for h in self.hits if h.sentence.paragraph == s.paragraph]
                    if types:
                        x.theme, x.theme_how = f"mt:{types[0]}", "the measures of its sentence or paragraph"
            self._attach(s, first_hit)
        for source in self.findings.sources:
            if source.issued:
                self._set_date_role(source.issued, "cited-source")
        # Cross-references without a theme take the update's first measure type.
        for x in self.xrefs:
            if x.theme is None and self.hits:
                x.theme, x.theme_how = f"mt:{self.hits[0].type}", "the update's first measure (nothing closer)"
            if x.theme is None and x.known:
                self.findings.warnings.append(
                    f'cross-reference to {x.target} ("{x.text}"): no theme could be guessed, so it is left as a comment; '
                    "give it a kg:theme")

    # ---------------------------------------------------------------- dates

    def _dates(self, s: _Sentence):
        for clause in s.clauses:
            for d in _find_dates(clause.text, self.date):
                if d.date is None:
                    continue
                self._add_date(DateFinding(d.date.isoformat(), d.text, "day" if d.day else "month", [], "text",
                                           d.year_inferred))

    def _add_date(self, finding: DateFinding):
        for existing in self.findings.dates:
            if existing.value == finding.value and existing.precision == finding.precision:
                return
        self.findings.dates.append(finding)

    def _set_date_role(self, iso: str, role: str):
        for existing in self.findings.dates:
            if existing.value == iso and role not in existing.roles:
                existing.roles.append(role)

    # ---------------------------------------------------------------- measures

    def _measures(self, s: _Sentence, c: int, clause: _Clause) -> list[_Hit]:
        # Names of bodies are blanked out first: "Repatriation and Departure Service" is no repatriation.
        chars = list(clause.text)
        for a in self.sentence_agents.get(s.index, []):
            if a.how == "generic":
                continue
            for k in range(max(a.start - clause.start, 0), min(a.end - clause.start, len(chars))):
                chars[k] = " "
        text = "".join(chars)
        # "countries such as Ireland that set up firewalls": a clause about other countries
        others = [self._code_of(m.group(0)) for m in self._name_regex.finditer(text)]
        others = [code for code in others if code and code != self.code]
        if others and re.search(r"\b(?:such as|like|unlike|in contrast|contrasts?|as in|similar\w*|other countries)\b", text, re.I):
            return []
        found: dict[str, _Hit] = {}
        suppressed: set[str] = set()
        for rule in _RULES:
            if rule.requires and not rule.requires.search(s.text):
                continue
            if rule.unless and rule.unless.search(text):
                continue
            m = rule.pattern.search(text)
            if not m:
                continue
            if rule.type not in self.ref.measure_types:
                continue
            mtype, status, why = _status_for(rule, rule.type, text, m.start(), m.end(), s.text, self.ref.measure_types)
            if mtype in found:
                continue
            # "Nicaragua closed its border": what another country did is reported, not introduced here
            subject = [self._code_of(n.group(0)) for n in self._name_regex.finditer(text, 0, m.start())
                       if n.group(0) in self.ref.names]
            if subject and self.code not in subject and not self.ref.statuses[status].negative and status != "reported":
                status, why = "reported", f"reported: {text[:m.start()].strip()[:40]!r} names another country"
            found[mtype] = _Hit(mtype, status, m.group(0), why, s, c)
            suppressed.update(t for t in rule.suppress if t != mtype)
        # a specific cue ("fear of arrest … testing") overrides a general one ("testing"), in either order
        return [h for t, h in found.items() if t not in suppressed]

    # ---------------------------------------------------------------- cross-references

    def _cross_references(self, s: _Sentence) -> list[CrossReferenceFinding]:
        names = self._name_regex.pattern
        day_month = rf"[0-3]?\d\s+{_MONTH}(?:\s+{_YEAR})?"
        patterns = (
            rf"(?P<country>{names})\s*\(\s*(?:see\s+(?:also\s+)?(?:our|the)\s+)?(?P<date>{day_month})\s+update\s*\)",
            rf"\bsee\s+(?:also\s+)?(?:our|the)\s+(?P<date>{day_month})\s+(?:(?P<country>{names})\s+)?update",
            rf"\b(?:our|the)\s+(?P<date>{day_month})\s+(?P<country>{names})\s+update",
            rf"\b(?:our|the)\s+(?P<country>{names})\s+update\s+(?:of|from|dated)\s+(?P<date>{day_month})",
            rf"\b(?:our|the)\s+(?P<date>{day_month})\s+update\s+(?:on|about)\s+(?P<country>{names})",
            rf"\b(?:our|the)\s+(?P<date>{day_month})\s+update\b",
        )
        found, taken = [], []
        for pattern in patterns:
            for m in re.finditer(pattern, s.text):
                if any(a <= m.start() < b or a < m.end() <= b for a, b in taken):
                    continue
                taken.append((m.start(), m.end()))
                name = m.groupdict().get("country")
                code = self.code if not name else (self.ref.names.get(name) or _DEMONYMS.get(name) or _DEMONYMS.get(name[:-1]))
                if not code:
                    continue
                dates = _find_dates(m.group("date"), self.date)
                if not dates or not dates[0].date:
                    continue
                date = dates[0].date
                if dates[0].year_inferred and date > self.date:
                    try:
                        date = date.replace(year=date.year - 1)
                    except ValueError:
                        continue
                # the dataset's own IRI for that date and country, else the usual pattern
                target = self.ref.update_keys.get((date.isoformat(), code)) \
                    or f"{date.isoformat()}-{_country_slug(self.ref, code)}"
                if target == self.slug:
                    continue
                theme = self._theme(s.text)
                x = CrossReferenceFinding(
                    iri=f"xref:{self.slug}-to-{target}", target=f"update:{target}", date=date.isoformat(), country=code,
                    theme=theme, known=target in self.ref.updates, text=m.group(0), sentence=_short(s.text, 300))
                if all(y.target != x.target for y in self.xrefs):
                    self.xrefs.append(x)
                    self.findings.cross_references.append(x)
                    if not x.known:
                        self.findings.warnings.append(
                            f'cross-reference to {x.target} ("{x.text}"): the dataset has no such update, so it is '
                            "left as a comment; add that update's file, or check the date and country")
                    self._set_date_role(date.isoformat(), "cross-reference")
                found.append(x)
        return found

    def _theme(self, sentence: str) -> str | None:
        for rule in _RULES:
            m = rule.pattern.search(sentence)
            if m and rule.type in self.ref.measure_types and (not rule.requires or rule.requires.search(sentence)):
                if rule.negated_type and (re.search(r"\b(?:lack|absence|missing|without|no)\b", sentence, re.I)):
                    return f"mt:{rule.negated_type}"
                return f"mt:{rule.type}"
        return None

    # ---------------------------------------------------------------- figures

    _PERSON = (r"(?:people|persons?|individuals|migrants?|detainees?|prisoners?|inmates?|refugees?|asylum[- ]seekers?"
               r"|workers?|nationals|children|minors|women|men|families|residents|foreigners|returnees|deportees|cases"
               r"|patients|citizens|Palestinians|Rohingya|staff|guards|officers|travellers|passengers)")
    _CURRENCIES = {"usd": "USD", "us$": "USD", "$": "USD", "dollars": "USD", "eur": "EUR", "€": "EUR", "euros": "EUR",
                   "euro": "EUR", "gbp": "GBP", "£": "GBP", "pounds": "GBP", "chf": "CHF", "francs": "CHF",
                   "kzt": "KZT", "tenge": "KZT", "rubles": "RUB", "roubles": "RUB", "rub": "RUB", "qar": "QAR",
                   "riyals": "SAR", "sar": "SAR", "myr": "MYR", "ringgit": "MYR", "rand": "ZAR", "zar": "ZAR",
                   "lebanese pounds": "LBP", "lbp": "LBP", "bhd": "BHD", "dinars": "BHD", "yen": "JPY", "jpy": "JPY"}
    _DURATION_UNITS = {"day": "days", "days": "days", "week": "weeks", "weeks": "weeks", "month": "months",
                       "months": "months", "year": "years", "years": "years", "hour": "hours", "hours": "hours"}
    _NOT_FIGURE_BEFORE = re.compile(r"(?:\b(?:covid|sars|cov|article|art|no|nos|number|decree|law|resolution|section|chapter"
                                    r"|paragraph|phase|level|stage|page|item|room|block|wing|unit|cra|cie|route|flight|n)\.?[\s-]*$)"
                                    r"|[A-Za-z]-$|[A-Za-z]$|/$", re.I)

    def _figures(self, s: _Sentence, c: int, clause: _Clause):
        text = clause.text
        masked = [(d.start, d.end) for d in _find_dates(text, self.date)]
        tokens = _tokens(text)
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if any(a <= tok.start < b for a, b in masked):
                i += 1
                continue
            fraction = self._fraction_at(tokens, i)
            parsed = fraction or _number_at(tokens, i)
            if parsed is None:
                i += 1
                continue
            value, j, kind = parsed
            before = text[:tok.start]
            if kind == "digits" and (self._NOT_FIGURE_BEFORE.search(before) or (j < len(tokens) and tokens[j].text in ("/",))):
                i = j
                continue
            if kind == "digits" and re.fullmatch(r"(?:19|20)\d\d", tok.text) and not (
                    j < len(tokens) and re.fullmatch(self._PERSON, tokens[j].text, re.I)):
                i = j
                continue
            if kind == "digits" and j < len(tokens) and tokens[j].low in ("a", "p") and j + 1 < len(tokens) and tokens[j + 1].text == ".":
                i = j
                continue  # 9 a.m.
            if j < len(tokens) and tokens[j].low in ("am", "pm", "a.m", "p.m"):
                i = j
                continue
            if kind == "words" and value == 1 and not (j < len(tokens) and re.fullmatch(
                    r"(?:person|migrant|detainee|prisoner|refugee|asylum|worker|child|woman|man|case|death|inmate|individual)\w*",
                    tokens[j].low)):
                i = j
                continue
            if kind == "words" and re.search(r"\b(?:no|any|every|each|the)\s*$", before, re.I) and value == 1:
                i = j
                continue
            fig, j = self._figure(s, c, clause, tokens, i, j, value, kind)
            if not self._noise(fig, kind, text, tokens, i, j):
                self._add_figure(fig, s, c)
            i = j

    def _noise(self, f: FigureFinding, kind: str, text: str, tokens, i: int, j: int) -> bool:
        """Numbers that are not figures of the update: "three depots", "within 24 hours", "six days later"."""
        if kind == "words" and (f.value or 0) <= 12 and f.quantity_kind not in ("qk:duration", "qk:money-amount", "qk:proportion") \
                and not re.search(rf"\b{self._PERSON}\b", f.counts, re.I) and not re.search(r"\b[A-Z][a-z]+(?:i|ns|s)\b", f.counts):
            return True
        if f.quantity_kind == "qk:duration":
            before = text[:tokens[i].start].lower()
            after = text[tokens[j - 1].end:].lower() if j else ""
            if re.search(r"\b(?:within|in|after|over|for the (?:past|last|next)|every|each|the past|the last|the next|than)\s*$", before) \
                    or re.match(r"\s*(?:later|ago|earlier|before|after|beforehand|afterwards)\b", after):
                return True
        return False

    def _fraction_at(self, tokens, i):
        n = len(tokens)
        low = tokens[i].low
        if low == "half" and i + 1 < n and tokens[i + 1].low == "of":
            return 0.5, i + 1, "fraction"
        if low in ("a", "one") and i + 2 < n and tokens[i + 1].low in ("third", "quarter") and tokens[i + 2].low == "of":
            return _FRACTIONS[tokens[i + 1].low], i + 2, "fraction"
        if low in _UNITS and 1 < _UNITS[low] < 10 and i + 1 < n and tokens[i + 1].low in ("thirds", "quarters"):
            return _UNITS[low] * _FRACTIONS[tokens[i + 1].low], i + 2, "fraction"
        return None

    def _figure(self, s, c, clause, tokens, i, j, value, kind):
        text = clause.text
        n = len(tokens)
        start = tokens[i].start
        before = text[max(0, start - 40):start].lower()
        f = FigureFinding(iri="", text="", sentence=_short(s.text, 300))
        low_value, high_value = value, None
        # a range: "200,000-600,000", "2-3 million", "15-20%", "between 40 and 50"
        if kind == "digits" and j + 1 < n and (tokens[j].text in ("-", "–") or (tokens[j].low == "to" and tokens[j + 1].text[0].isdigit())):
            second = _number_at(tokens, j + 1)
            if second and second[2] == "digits":
                high_value = second[0]
                if tokens[second[1] - 1].low in _SCALES and low_value < 1000 <= high_value:
                    low_value = value * _SCALES[tokens[second[1] - 1].low]  # the scale of "3 million" applies to "2"
                j = second[1]
        if re.search(r"\bbetween\s*$", before) and j + 1 < n and tokens[j].low == "and":
            second = _number_at(tokens, j + 1)
            if second:
                high_value, j = second[0], second[1]
        percent = tokens[i].text.endswith("%") or (high_value is not None and tokens[j - 1].text.endswith("%"))
        if j < n and tokens[j].low in ("percent", "per") and (tokens[j].low == "percent" or (j + 1 < n and tokens[j + 1].low == "cent")):
            percent = True
            j += 1 if tokens[j].low == "percent" else 2
        plus = j < n and (tokens[j].text == "+" or (tokens[j].text == "-" and j + 1 < n and tokens[j + 1].low == "plus"))
        if plus:
            j += 1 if tokens[j].text == "+" else 2
        # qualifiers
        if plus:
            mode = "min"  # "3,100-plus"
        elif re.search(r"(?:more than|over|above|in excess of|upwards of|exceeding)\s*$", before):
            f.min_exclusive = True
            mode = "min"
        elif re.search(r"(?:at least|no fewer than|no less than|a minimum of|not less than)\s*$", before):
            mode = "min"
        elif re.search(r"(?:fewer than|less than|under|below)\s*$", before):
            f.max_exclusive = True
            mode = "max"
        elif re.search(r"(?:up to|at most|no more than|a maximum of|as many as|maximum)\s*$", before):
            mode = "max"
        else:
            mode = "value"
        if re.search(r"(?:\bsome|about|around|approximately|approx\.?|roughly|an estimated|estimated|nearly|almost|close to"
                     r"|circa|c\.|reportedly|believed to (?:be|host|have)\s*(?:some|about|around)?)\s*$", before) \
                or re.search(r"\b(?:believed|estimated|estimates?|reportedly|thought to)\b", text, re.I):
            f.estimate = True
        scale = 1.0
        if kind == "fraction" or percent:
            scale = 0.01 if percent else 1.0
            f.unit = "proportion"
            f.quantity_kind = "qk:proportion"
        currency = None
        prev = tokens[i - 1].low if i else ""
        prev2 = (tokens[i - 2].low + " " + prev) if i > 1 else ""
        if prev in self._CURRENCIES or prev2 in self._CURRENCIES:
            currency = self._CURRENCIES.get(prev2) or self._CURRENCIES[prev]
        elif j < n and tokens[j].low in self._CURRENCIES:
            currency = self._CURRENCIES[tokens[j].low]
            j += 1
        elif j + 1 < n and f"{tokens[j].low} {tokens[j + 1].low}" in self._CURRENCIES:
            currency = self._CURRENCIES[f"{tokens[j].low} {tokens[j + 1].low}"]
            j += 2
        if currency and kind != "fraction" and not percent:
            unit = currency
            m = re.match(r"\s*(per|a|an|each)\s+(month|week|day|year|person|head|family|household)\b", text[tokens[j - 1].end:] if j else "")
            if m:
                unit += f" per {m.group(2)}"
                j += 2
            f.unit, f.quantity_kind = unit, "qk:money-amount"
        if j + 1 < n and tokens[j].text == "-" and tokens[j + 1].low in self._DURATION_UNITS and tokens[j].start == tokens[j - 1].end:
            j += 1  # "14-day quarantine"
        if not currency and kind != "fraction" and not percent and j < n and tokens[j].low in self._DURATION_UNITS:
            word = self._DURATION_UNITS[tokens[j].low]
            if not (j + 1 < n and tokens[j + 1].low in ("old", "ago")) and not re.match(r"\s*of age\b", text[tokens[j].end:]):
                f.unit, f.quantity_kind = word, "qk:duration"
                j += 1
        if not currency and j < n and tokens[j].text == "°":
            f.unit = "degrees Celsius"
            j += 2 if j + 1 < n and tokens[j + 1].text in ("C", "c") else 1
        elif not currency and j < n and tokens[j].low == "degrees":
            f.unit = "degrees Celsius"
            j += 2 if j + 1 < n and tokens[j + 1].low in ("celsius", "c") else 1
        low_value *= scale
        if high_value is not None:
            high_value *= scale
            f.min_value, f.max_value = low_value, high_value
        elif mode == "min":
            f.min_value = low_value
        elif mode == "max":
            f.max_value = low_value
        else:
            f.value = low_value
        # words as written
        qualifier = re.search(r"(?:more than|over|above|at least|fewer than|less than|up to|some|about|around|approximately|nearly|almost|an estimated)\s*$", before)
        begin = start - (len(qualifier.group(0)) if qualifier else 0)
        end = tokens[j - 1].end if j else tokens[i].end
        f.text = text[begin:end].strip()
        # what it counts
        counts, of_previous, counted = self._counts(s, clause, tokens, j, f, kind, before, begin)
        f.counts = counts
        if of_previous is not None:
            self._share_of[id(f)] = of_previous  # its IRI is given once the figures are final
        # kind and unit
        context = (f.counts + " " + text).lower()
        after_counts = text[(tokens[j - 1].end if j else 0):][:len(f.counts) + 40].lower()
        if f.quantity_kind == "qk:count-other":
            f.quantity_kind = self._quantity_kind(after_counts if f.counts.lower() in after_counts else f.counts.lower(), context)
        if f.unit == "people" and not re.search(rf"\b{self._PERSON}\b|\b[A-Z][a-z]+(?:i|ns|s)\b", f.counts):
            plural = [w for w in re.findall(r"[A-Za-z-]+", f.counts) if w.islower() and len(w) > 3 and w.endswith("s")
                      and not w.endswith(("ss", "us"))]
            f.unit = plural[0] if plural and counted else ("people" if f.quantity_kind == "qk:capacity" else None)
        # place
        after_text = text[tokens[j - 1].end if j else 0:]
        f.place, f.place_label = self._place_in(after_text, s)
        return f, j

    def _counts(self, s, clause, tokens, j, f, kind, before, number_start) -> tuple[str, FigureFinding | None, bool]:
        """What a number counts (words after it, or the sentence's subject), the figure it is a share of,
        and whether the words were found (False: the clause itself stands in)."""
        text = clause.text
        rest = text[tokens[j - 1].end:] if j else text
        previous = None
        m = re.match(r"\s*of\s+(?:these|them|those|this|the total|all)\b", rest, re.I)
        if m and kind == "fraction" or (m and f.quantity_kind == "qk:proportion"):
            previous = next((g.finding for g in reversed(self.figs) if g.sentence.paragraph == s.paragraph), None)
            rest = rest[m.end():]
        elif kind == "fraction":
            m2 = re.match(r"\s*of\s+(?:the\s+)?", rest)
            if m2:
                rest = rest[m2.end():]
        stop = re.search(r"[,.;:()\[\]\u2014–\"]|\s(?:were|was|are|is|have|has|had|been|being|will|would|who|which|that|whom|whose"
                         r"|live|lived|living|work|working|worked|remain|remained|remaining|arrived|entered|held|stayed|said|reported"
                         r"|within|without|despite|through|throughout|among|amid|per|over|via|against|toward|towards"
                         r"|in|at|on|from|to|for|since|by|with|during|after|before|between|into|across|under|until|as|and|or"
                         r"|but|because|while|when|where|if|than|per|including|out)\b", rest)
        phrase = (rest[:stop.start()] if stop else rest).strip()
        words = phrase.split()
        if len(words) > 8:
            phrase = " ".join(words[:8])
        if re.fullmatch(r"(?:of\s+)?(?:the|a|an|these|them)?", phrase.strip(), re.I):
            phrase = ""
        if phrase.lower().startswith("of "):
            phrase = phrase[3:]
        if not phrase and f.quantity_kind == "qk:money-amount":
            # "introduced unemployment benefits (100.42 USD per month)": the noun phrase before the number
            head = s.text[:clause.start] + clause.text[:number_start]
            head = re.sub(r"(?:\s|\(|\b(?:USD|EUR|GBP|CHF|US\$|\$|€|£)\b|[$€£])*$", "", head)
            head = re.split(r"[,;:()\u2014–]", head)[-1] if not re.search(r"[,;:\u2014–]\s*$", head) else ""
            words = re.findall(r"[\w'-]+", head)
            taken = []
            for word in reversed(words):
                if word.lower() in ("the", "a", "an", "of", "to", "and", "for", "its", "their", "his", "her") or word.lower().endswith("ed"):
                    break
                taken.insert(0, word)
                if len(taken) == 4:
                    break
            phrase = " ".join(taken)
        phrase = re.sub(r"^of\s+(?:these|them|those|whom|which)\s+", "", phrase, flags=re.I)
        if not phrase and f.quantity_kind != "qk:money-amount":
            # "nine were confirmed to have the virus": the subject comes from earlier in the sentence,
            # the rest from the verb phrase after the number.
            verb = re.match(r"\s*(?:of\s+(?:these|them|those)\s+)?(?:(?:were|was|are|is|have|has|had|been|being|be|believed|reportedly)\s+)+"
                            r"(?P<vp>[^,.;:()\u2014]+)", rest, re.I)
            vp = verb.group("vp").strip() if verb else ""
            vp = re.split(r"\s+(?:due to|because|after|as|when|since|which|while|although|though|following)\b", vp)[0]
            vp = " ".join(vp.split()[:8])
            vp = re.sub(r"\s+(?:in|at)\s+(?:the\s+)?[A-Z][\w' -]*$", "", vp)
            vp = re.sub(r"^(?:to be|believed to be)\s+", "", vp) if previous is not None else vp
            if previous is not None:
                subject = f"share of {previous.counts}" if previous.counts else "share"
                phrase = f"{subject} {'who are ' if vp and not vp.startswith(('who', 'that')) else ''}{vp}".strip()
            else:
                nouns = re.findall(rf"\b(?:[A-Z][a-z]+\s+)?{self._PERSON}\b", s.text[:clause.start + (tokens[j - 1].start if j else 0)])
                subject = nouns[-1] if nouns else ""
                if not subject:
                    nouns = re.findall(rf"\b{self._PERSON}\b", s.text)
                    subject = nouns[0] if nouns else ""
                phrase = f"{subject} {vp}".strip() if (subject or vp) else ""
        if not phrase:
            return _short(re.sub(r"\s+", " ", text).strip(), 80), previous, False
        return phrase.strip(" '\"-"), previous, True

    @staticmethod
    def _quantity_kind(counts: str, context: str) -> str:
        if re.search(r"\b(?:released|freed|releases|let go|pardoned)\b", counts):
            return "qk:released-detainees"
        if re.search(r"\b(?:died|deaths?|dead|fatalities)\b", counts):
            return "qk:deaths"
        if re.search(r"\b(?:deported|deportations?|removed|removals|expelled|expulsions)\b", counts):
            return "qk:deportations"
        if re.search(r"\b(?:confirmed|positive|infected|infections?|cases|virus)\b", counts):
            return "qk:confirmed-cases"
        if re.search(r"\b(?:capacity|places|beds)\b", counts):
            return "qk:capacity"
        if re.search(r"\b(?:detainees|detained|in detention|held|confined|prisoners|inmates)\b", counts):
            return "qk:detainees"
        if re.search(r"\b(?:group of|stranded|trapped|camping|stuck)\b", context):
            return "qk:group-size"
        if re.search(r"\b(?:migrants|workers|refugees|nationals|population|foreigners|asylum seekers|undocumented)\b", counts) \
                and re.search(r"\b(?:host\w*|liv\w+|population|resident|believed|estimated|in the country|abroad|working)\b", context):
            return "qk:migrant-population"
        return "qk:count-other"

    def _add_figure(self, f: FigureFinding, s: _Sentence, c: int):
        self.figs.append(_Fig(f, s, c))

    # ---------------------------------------------------------------- places

    _PLACE_AFTER = re.compile(r"\b(?:in|at|from)\s+(?:the\s+)?(?P<name>[A-Z][\w'.-]*(?:\s+(?:[A-Z][\w'.-]*|de|del|di|of|la|el|al))*"
                              r"(?:\s+(?:region|province|oblast|prefecture|district|governorate|state|county|camp|prison|depot|centre|center"
                              r"|detention centre|checkpoint|airport))?)")
    _PLACE_TYPES = ((r"\b(?:region|province|oblast|prefecture|district|governorate|state|county)$", "pt:region"),
                    (r"\b(?:prison|jail)$", "pt:prison"),
                    (r"\b(?:detention centre|detention center|depot|IDC|CIE|CRA|holding centre|removal centre)\b", "pt:detention-centre"),
                    (r"\b(?:checkpoint|border post|crossing)$", "pt:checkpoint"),
                    (r"\b(?:reception centre|open centre|hotspot|reception center)\b", "pt:reception-centre"),
                    (r"\bcamp$", "pt:camp"), (r"\b(?:hospital|clinic)$", "pt:health-facility"),
                    (r"\bairport$", "pt:checkpoint"), (r"\b(?:centre|center)$", "pt:detention-centre"))
    _NOT_PLACES = re.compile(rf"^(?:{_MONTH}|Covid|COVID|The|This|These|Their|His|Her|Its|Our|Article|Law|Decree|Parliament|"
                             r"Government|Ministry|Minister|Court|Committee|Office|Department|Agency|Council|Commission|Senate|Europe|Africa|"
                             r"Asia|Latin America|Middle East|March|April|May|June|July|August|EU|UN|GDP)\b")

    def _place_in(self, text: str, s: _Sentence) -> tuple[str | None, str | None]:
        for m in self._PLACE_AFTER.finditer(text):
            name = m.group("name").strip().rstrip(".")
            if self._NOT_PLACES.match(name):
                continue
            code = self.ref.names.get(name)
            if code:
                return f"country:{code}", self.ref.countries[code]
            if any(a.start <= s.text.find(name) < a.end for a in self.sentence_agents.get(s.index, [])):
                continue
            if name in _DEMONYMS or name.rstrip("s") in _DEMONYMS:
                continue
            return self._place(name), name
        return None, None

    def _place(self, name: str) -> str:
        cc = self.code.lower()
        wanted = name.lower()
        for slug, (label, country, ptype) in self.ref.places.items():
            if country == self.code and (label.lower() == wanted or label.lower().split(",")[0] == wanted):
                iri = f"place:{slug}"
                self.places.setdefault(iri, PlaceFinding(iri, label, ptype, country, True))
                return iri
        ptype = "pt:city"
        for pattern, guess in self._PLACE_TYPES:
            if re.search(pattern, name, re.I):
                ptype = guess
                break
        iri = f"place:{cc}-{slugify(name)}"
        self.places.setdefault(iri, PlaceFinding(iri, name, ptype, self.code, iri[6:] in self.ref.places))
        return iri

    def _border(self, text: str) -> str | None:
        names = self._name_regex.pattern
        m = re.search(rf"\bborders?\s+(?:with|between)\s+(?:\w+\s+)?(?P<a>{names})(?:\s+and\s+(?P<b>{names}))?", text) \
            or re.search(rf"\b(?P<a>{names})[-–/](?P<b>{names})\s+border", text)
        if not m:
            return None
        codes = []
        for key in ("a", "b"):
            name = m.groupdict().get(key)
            if name:
                code = self.ref.names.get(name) or _DEMONYMS.get(name) or _DEMONYMS.get(name[:-1])
                if code:
                    codes.append(code)
        if len(codes) == 1:
            codes.append(self.code)
        codes = sorted(set(codes))
        if len(codes) != 2:
            return None
        iri = f"border:{codes[0]}-{codes[1]}"
        label = f"{_country_name(self.ref, codes[0])}–{_country_name(self.ref, codes[1])} border"
        self.places.setdefault(iri, PlaceFinding(iri, label, "pt:border", ",".join(codes), iri[7:] in self.ref.borders))
        return iri

    # ---------------------------------------------------------------- attaching dates, places, agents, figures

    def _attach(self, s: _Sentence, first_hit: int):
        hits = self.hits[first_hit:]
        source = self.sentence_source.get(s.index, (None, None, None))
        agents = self.sentence_agents.get(s.index, [])
        authority = next((a for a in agents if a.agent.kind == "authority" and a.agent.country == self.code and a.how != "generic"), None)
        generic_gov = next((a for a in agents if a.how == "generic"), None)
        country_subject = re.search(rf"\b{re.escape(_country_name(self.ref, self.code))}\b|\b{re.escape(self.ref.countries[self.code])}\b", s.text)
        border = self._border(s.text)
        for h in hits:
            clause = s.clauses[h.clause]
            if source[0]:
                h.according_to = (source[0], source[1])
            if source[2]:
                h.channel = source[2]
            place, label = self._place_in(clause.text, s)
            if place:
                h.place = place
            elif border and h.type in ("border-closure", "stranded-migrants", "pushback", "repatriation-of-stranded-nationals"):
                h.place = border
            positive = h.status in ("introduced", "partial", "planned", "announced", "ongoing", "de-facto")
            if h.type in _GOVERNMENT_TYPES and positive:
                if authority:
                    h.taken_by = (authority.agent.iri, f'"{authority.text}" is named in the sentence')
                elif generic_gov or (country_subject and re.search(
                        rf"{re.escape(country_subject.group(0))}\s+(?:has|have|had)\b", s.text)):
                    gov = f"authority:{self.code.lower()}-government"
                    if any(a.iri == gov for a in self.ref.agents):
                        h.taken_by = (gov, f'"{(generic_gov.text if generic_gov else country_subject.group(0))}" acts in the sentence')
            # dates in the same clause
            for d in _find_dates(clause.text, self.date):
                if not d.date:
                    continue
                before = clause.text[max(0, d.start - 40):d.start].lower()
                iso = d.date.isoformat()
                evidence = f'"{_short(clause.text[max(0, d.start - 30):d.end].strip(), 80)}"'
                if re.search(r"\b(?:until|till|through|to)\s*$", before):
                    if d.date > self.date:
                        h.planned_end = (iso, evidence)
                        self._set_date_role(iso, "planned-end")
                    else:
                        h.end = (iso, evidence)
                        self._set_date_role(iso, "end")
                elif re.search(r"\b(?:since|from|starting|as from|beginning|effective|on)\s*$", before) and d.date <= self.date:
                    h.begin = (iso, evidence)
                    self._set_date_role(iso, "begin")
            m = re.search(r"\bfor\s+(?P<n>\w+(?:\s\w+)?)\s+(?P<u>days?|weeks?|months?|years?)\b", clause.text, re.I)
            if m:
                n = parse_number(m.group("n"))
                if n and n == int(n):
                    unit = m.group("u").lower().rstrip("s")
                    h.duration = (f"P{int(n) * 7}D" if unit == "week" else f"P{int(n)}{unit[0].upper()}", f'"{m.group(0)}"')
                    for g in self.figs:
                        if g.sentence is s and g.clause == h.clause and g.finding.quantity_kind == "qk:duration" \
                                and g.finding.value == n:
                            g.dropped = True
            for g in self.figs:
                if g.sentence is s and g.clause == h.clause and not g.dropped:
                    h.figures.append(g)
        # Figures in a clause without a measure go with the sentence's first measure.
        for g in self.figs:
            if g.sentence is s and not g.dropped and not any(g in h.figures for h in hits) and hits:
                if g.finding.quantity_kind in ("qk:proportion",) or g.finding.proportion_of:
                    continue
                hits[0].figures.append(g)
        # "This system is due to remain in place until 10 July": a sentence with an "until" date and
        # no measure of its own sets the planned end of the paragraph's measures so far.
        if not hits:
            for clause in s.clauses:
                for d in _find_dates(clause.text, self.date):
                    before = clause.text[max(0, d.start - 40):d.start].lower()
                    if d.date and re.search(r"\b(?:until|till|through)\s*$", before):
                        evidence = f'"{_short(clause.text.strip(), 90)}"'
                        for h in self.hits:
                            if h.sentence.paragraph != s.paragraph or h.planned_end or h.end:
                                continue
                            concept = self.ref.measure_types[h.type]
                            if concept.development != "kg:Measure" or h.status not in ("introduced", "partial", "ongoing"):
                                continue
                            if d.date > self.date:
                                h.planned_end = (d.date.isoformat(), evidence + " (a sentence of the same paragraph)")
                                self._set_date_role(d.date.isoformat(), "planned-end")
                            else:
                                h.end = (d.date.isoformat(), evidence + " (a sentence of the same paragraph)")
                                self._set_date_role(d.date.isoformat(), "end")
        # "until 2 June, when authorities facilitated their return": the "when" clause begins then.
        for c, clause in enumerate(s.clauses):
            if clause.text.lstrip().lower().startswith("when ") and c:
                dates = [d for d in _find_dates(s.clauses[c - 1].text, self.date) if d.date]
                if dates and dates[-1].date <= self.date:
                    for h in hits:
                        if h.clause == c and not h.begin:
                            h.begin = (dates[-1].date.isoformat(), f'"{_short(dates[-1].text)}, when …"')
                            self._set_date_role(dates[-1].date.isoformat(), "begin")

    # ---------------------------------------------------------------- merging

    def _merge(self):
        """One measure per type and status: the same fact told twice is one measure.

        In one sentence, "some were tested … not all" is one partial measure. (Keeping one measure
        per type for the whole update was tried: it lost more right statuses than wrong measures.)
        """
        merged: list[_Hit] = []
        for h in self.hits:
            same = next((m for m in merged if m.type == h.type and (
                m.status == h.status or m.sentence is h.sentence or m.default != h.default)), None)
            if same is None:
                merged.append(h)
                continue
            if same.status != h.status:
                if same.default and not h.default:  # an explicit status beats the type's default
                    same.status, same.why = h.status, f"{h.why} (in another sentence)"
                elif "partial" in (same.status, h.status) and same.sentence is h.sentence:
                    same.status, same.why = "partial", f"{same.why}; and {h.why}"
            for attr in ("place", "begin", "end", "planned_end", "duration", "taken_by", "according_to", "channel"):
                if getattr(same, attr) is None and getattr(h, attr) is not None:
                    setattr(same, attr, getattr(h, attr))
            same.figures.extend(g for g in h.figures if g not in same.figures)
            same.cue += f'; "{h.cue}"' if h.cue not in same.cue else ""
        self.hits = merged
        # Figures: drop durations given to a measure; the same number told twice is one figure.
        self._all_figs = list(self.figs)
        kept: list[_Fig] = []
        alias: dict[int, _Fig] = {}
        for g in self.figs:
            if g.dropped:
                continue
            numbers = _numbers(g.finding)
            twin = next((k for k in kept if _numbers(k.finding) == numbers
                         and (k.finding.unit == g.finding.unit or None in (k.finding.unit, g.finding.unit)
                              or "people" in (k.finding.unit, g.finding.unit)
                              or set(k.finding.counts.lower().split()) & set(g.finding.counts.lower().split()))), None)
            if twin is None:
                kept.append(g)
                continue
            twin.notes.append(f'the same number is written again: "{g.finding.text}" ({_short(g.finding.counts, 60)})')
            alias[id(g)] = twin
        for h in self.hits:
            figures = []
            for g in h.figures:
                g = alias.get(id(g), g)
                if not g.dropped and g not in figures:
                    figures.append(g)
            h.figures = figures
        self.figs = kept
        for g in self.figs:
            base = slugify(" ".join(g.finding.counts.split()[:5])) or "figure"
            g.finding.iri = self._unique(f"figure:{self.slug}-{base}"[:90].rstrip("-"))
        final = {id(g.finding): g.finding for g in self.figs}
        final.update({id(g.finding): twin.finding for g in self._all_figs if id(g) in alias for twin in [alias[id(g)]]})
        for g in self.figs:
            whole = self._share_of.get(id(g.finding))
            if whole is not None and id(whole) in final and final[id(whole)] is not g.finding:
                g.finding.proportion_of = final[id(whole)].iri
        used: set[str] = set()
        for h in self.hits:
            concept = self.ref.measure_types[h.type]
            status = self.ref.statuses[h.status]
            kind = "incident" if concept.development == "kg:Incident" else "measure"
            name = ("no-" if status.negative else "") + h.type
            iri = f"{kind}:{self.slug}-{name}"
            k = 2
            while iri in used:
                iri, k = f"{kind}:{self.slug}-{name}-{k}", k + 1
            used.add(iri)
            h.iri = iri
            place_label = self.places[h.place].label if h.place and h.place in self.places and not h.place.startswith("border:") else None
            label = _measure_label(concept.label, h.status, status.negative, place_label)
            begin, end = h.begin, h.end or None
            notes = []
            if begin and end and begin[0] > end[0]:
                notes.append(f"begin {begin[0]} is after end {end[0]}: the end date was left out")
                h.end = None
            if begin and h.planned_end and begin[0] > h.planned_end[0]:
                notes.append(f"begin {begin[0]} is after the planned end {h.planned_end[0]}: the planned end was left out")
                h.planned_end = None
            self.findings.measures.append(MeasureFinding(
                iri=iri, type=f"mt:{h.type}", type_label=concept.label, status=f"st:{h.status}", negative=status.negative,
                development=concept.development, label=label, cue=h.cue, status_cue=h.why, sentence=_short(h.sentence.text, 300),
                place=h.place or f"country:{self.code}", begin_date=h.begin[0] if h.begin else None,
                end_date=h.end[0] if h.end else None, planned_end_date=h.planned_end[0] if h.planned_end else None,
                duration=h.duration[0] if h.duration else None, taken_by=h.taken_by[0] if h.taken_by else None,
                according_to=h.according_to[0] if h.according_to else self._default_source()[0],
                channel=h.channel[0] if h.channel else None,
                figures=[g.finding.iri for g in h.figures], notes=notes))
        self.findings.figures = [g.finding for g in self.figs]
        for x in self.findings.figures:
            x.place = x.place or f"country:{self.code}"
        self.findings.places = list(self.places.values())

    def _default_source(self) -> tuple[str, str]:
        if self.update_sources:
            return self.update_sources[0], "the update's first named source"
        return _GDP, "no source named near it: the GDP, as publisher"

    def _unique(self, iri: str) -> str:
        existing = {g.finding.iri for g in self.figs if g.finding.iri}
        candidate, k = iri, 2
        while candidate in existing:
            candidate, k = f"{iri}-{k}", k + 1
        return candidate

    # ---------------------------------------------------------------- cited sources

    def _cited_sources(self) -> list[SourceFinding]:
        out = []
        pattern = re.compile(rf"\"(?P<title>[^\"]{{8,300}}?),?\"\s*,?\s*(?P<pub>[^,\"]{{2,80}}?),\s*(?P<date>[0-3]?\d\s+{_MONTH}\s+{_YEAR})")
        for m in pattern.finditer(self.text):
            agents = self._agents_in(m.group("pub"))
            if not agents:
                self.findings.warnings.append(
                    f'cited article "{_short(m.group("title"), 60)}" ({m.group("pub").strip()}): its publisher is not in the '
                    "reference data, so the source is left as a comment")
                continue
            agent = agents[0].agent
            issued = _iso_date(m.group("date"))
            title = m.group("title").strip().rstrip(",")
            language = _guess_language(title)
            iri = f"source:{agent.iri.split(':', 1)[1]}-{issued}"
            if any(x.iri == iri for x in out):
                continue
            out.append(SourceFinding(iri, title, language, agent.iri, issued, _short(m.group(0), 200)))
            self._set_date_role(issued, "cited-source")
        return out

    # ---------------------------------------------------------------- Turtle

    def _turtle(self) -> str:
        f = self.findings
        country_name = _country_name(self.ref, self.code)
        out = [Template(_template("draft-header.ttl")).substitute(
            country_label=country_name, date_text=_date_text(self.date), prefixes=_template("prefixes.ttl").rstrip("\n"))]
        w = _Writer(out)
        # -- the update
        w.section("the update")
        date_note = {"option": "from the --date option", "header": f'from the header line "{f.date.text}"',
                     "guess": f'GUESSED: the latest full date in the text ("{f.date.text}")'}[f.date.how]
        country_note = {"option": "from the --country option", "header": f'from the header line ("{f.country.text}")',
                        "text": "GUESSED: the country the text names most"}[f.country.how]
        props = [
            ("dcterms:title", _literal(f"{country_name}, {_date_text(self.date)}"), None),
            ("dcterms:issued", f'"{self.date.isoformat()}"^^xsd:date', date_note),
            ("kg:country", f"country:{self.code}", country_note),
        ]
        if self.source_url:
            props.append(("dcterms:source", f"<{self.source_url}>", None))
        else:
            guess = (f"https://www.globaldetentionproject.org/{self.date.day:02d}-{_MONTH_NAMES[self.date.month].lower()}-"
                     f"{self.date.year}-{slugify(country_name)}")
            props.append(("kg:coverage", _literal("The update's web page was not given when this draft was made."),
                          f"give the web page instead (dcterms:source <…>); the GDP's pattern would be <{guess}>"))
        props.append(("dcterms:publisher", _GDP, None))
        bodies = [a for a in self.update_sources if a != _GDP]
        if bodies:
            names = ", ".join(a.label for a in f.agents if a.iri in bodies)
            props.append(("kg:reportingBody", ", ".join(bodies), f"named as the source of the information: {names}"))
        if f.sources:
            props.append(("kg:cites", ", ".join(x.iri for x in f.sources), "a cited article found in the text"))
        known = [x for x in self.xrefs if x.known and x.theme]
        if known:
            props.append(("kg:crossReference", ", ".join(x.iri for x in known), None))
            props.append(("dcterms:references", ", ".join(x.target for x in known), None))
        w.comment("REVIEW: add dcterms:abstract with a summary in your own words.")
        w.block(f"update:{self.slug}", "kg:Update", props)
        # -- measures and incidents
        if f.measures:
            w.section("measures and incidents (REVIEW each: type, status, dates, who)")
        for m, h in zip(f.measures, self.hits):
            w.comment(f'text: "{_short(h.sentence.text, 200)}"')
            props = [
                ("rdfs:label", _literal(m.label), "label made from the type: rewrite it in your own words"),
                ("kg:reportedIn", f"update:{self.slug}", None),
                ("kg:measureType", m.type, f'type from "{_short(h.cue, 70)}"'),
                ("kg:status", m.status, f"status: {h.why}"),
            ]
            if h.begin:
                props.append(("kg:beginDate", f'"{h.begin[0]}"^^xsd:date', f"begin from {h.begin[1]}"))
            if h.end:
                props.append(("kg:endDate", f'"{h.end[0]}"^^xsd:date', f"end from {h.end[1]}"))
            if h.planned_end:
                props.append(("kg:plannedEndDate", f'"{h.planned_end[0]}"^^xsd:date', f"planned end from {h.planned_end[1]}"))
            if h.duration:
                props.append(("kg:duration", f'"{h.duration[0]}"^^xsd:duration', f"duration from {h.duration[1]}"))
            if h.taken_by:
                props.append(("kg:takenBy", h.taken_by[0], f"taken by: {h.taken_by[1]}"))
            props.append(("kg:place", m.place, None if m.place == f"country:{self.code}" else "place named in the clause"))
            if h.according_to:
                props.append(("kg:accordingTo", h.according_to[0], f"source: {h.according_to[1]}"))
            else:
                src, why = self._default_source()
                props.append(("kg:accordingTo", src, f"source: {why}"))
            if h.channel:
                props.append(("kg:reportedVia", h.channel[0], f'channel from "{_short(h.channel[1], 60)}"'))
            if m.figures:
                props.append(("kg:relatedFigure", ", ".join(m.figures), None))
            for note in m.notes:
                w.comment(f"REVIEW: {note}")
            w.block(m.iri, m.development, props)
        # -- figures
        if f.figures:
            w.section("figures (REVIEW each: bounds, what it counts, unit, place)")
        for g in self.figs:
            x = g.finding
            w.comment(f'text: "{_short(x.sentence, 200)}"')
            props = [
                ("rdfs:label", _literal(x.text), None),
                ("kg:reportedIn", f"update:{self.slug}", None),
            ]
            if x.value is not None:
                props.append(("schema:value", _number(x.value), f'the number "{x.text}"'))
            if x.min_value is not None:
                props.append(("schema:minValue", _number(x.min_value), f'lower bound from "{x.text}"'))
                if x.min_exclusive:
                    props.append(("kg:minExclusive", "true", '"more than": the bound itself is excluded'))
            if x.max_value is not None:
                props.append(("schema:maxValue", _number(x.max_value), f'upper bound from "{x.text}"'))
                if x.max_exclusive:
                    props.append(("kg:maxExclusive", "true", None))
            if x.estimate:
                props.append(("kg:isEstimate", "true", "the text gives it as an estimate"))
            if x.unit:
                props.append(("schema:unitText", _literal(x.unit, lang=None), "unit guessed"))
            props.append(("kg:counts", _literal(x.counts), "what it counts, from the words around the number: rewrite it"))
            props.append(("kg:quantityKind", x.quantity_kind, "quantity kind guessed from those words"))
            if x.proportion_of:
                props.append(("kg:proportionOf", x.proportion_of, '"of these": the figure before it'))
            props.append(("kg:place", x.place or f"country:{self.code}", f'place "{x.place_label}"' if x.place_label else None))
            src = next((m.according_to for m in f.measures if x.iri in m.figures), None)
            src = (src, None) if src else None
            source = self.sentence_source.get(g.sentence.index, (None, None, None))
            if src or source[0]:
                props.append(("kg:accordingTo", (src or source)[0], "the source named for this sentence or its measure"))
            for note in g.notes:
                w.comment(f"REVIEW: {note}")
            w.block(x.iri, "kg:Figure", props)
        # -- places and borders (each file declares the places it uses, as data/updates/ does)
        used = {m.place for m in f.measures} | {x.place for x in f.figures}
        places = [p for p in f.places if p.iri in used]
        f.places = places
        if places:
            w.section("places and borders")
        for p in places:
            if p.known:
                w.comment("as another update of the dataset declares it")
            if p.iri.startswith("border:"):
                a, b = p.country.split(",")
                w.block(p.iri, "kg:Border", [("rdfs:label", _literal(p.label), None if p.known else "a new border"),
                                             ("kg:betweenCountry", f"country:{a}, country:{b}", None)])
            else:
                w.block(p.iri, "kg:Place", [("rdfs:label", _literal(p.label), None if p.known else "a new place: check its name"),
                                            ("kg:placeType", p.place_type, None if p.known else "place type guessed from the name"),
                                            ("kg:country", f"country:{p.country}", None)])
        # -- cross-references
        if self.xrefs:
            w.section("cross-references")
        for x in self.xrefs:
            w.comment(f'text: "{_short(x.sentence, 200)}"')
            if not x.known or not x.theme:
                why = "the dataset has no update " + x.target if not x.known else "no theme could be guessed"
                w.comment(f"REVIEW: not written as triples because {why} (\"{x.text}\"). Once it exists:")
                w.comment(f"{x.iri} a kg:CrossReference ;")
                w.comment(f"    kg:target {x.target} ;")
                w.comment(f"    kg:theme {x.theme or 'mt:…'} .")
                w.comment("(and add it to the update's kg:crossReference and dcterms:references)")
                out.append("")
                continue
            w.block(x.iri, "kg:CrossReference", [
                ("kg:target", x.target, f'from "{x.text}"'),
                ("kg:theme", x.theme, f"theme guessed from {x.theme_how}"),
            ])
        # -- cited sources
        if f.sources:
            w.section("cited sources")
        for x in f.sources:
            w.comment(f'text: "{x.text}"')
            w.block(x.iri, "kg:SourceArticle", [
                ("dcterms:title", _literal(x.title, lang=x.language), f"title as published; language {x.language} guessed from the script"),
                ("dcterms:publisher", x.publisher, None),
                ("dcterms:issued", f'"{x.issued}"^^xsd:date', None),
                ("kg:language", f'"{x.language}"^^xsd:language', None),
            ])
        if f.warnings:
            w.section("warnings")
            for warning in f.warnings:
                w.comment(f"REVIEW: {warning}")
        return "\n".join(out).rstrip("\n") + "\n"


def _numbers(f: FigureFinding) -> frozenset:
    """The numbers a figure states, whatever their role: "more than 2,500" and "2,500" are twins."""
    return frozenset(x for x in (f.value, f.min_value, f.max_value) if x is not None)


def _measure_label(type_label: str, status: str, negative: bool, place: str | None) -> str:
    if negative:
        first = type_label.split()[0]
        rest = type_label[len(first):]
        lowered = first if first[:1].isupper() and first[1:2].isupper() or first.startswith("Covid") else first.lower()
        label = f"No {lowered}{rest}" if status in ("not-introduced", "none-occurred") else f"{type_label} ({status.replace('-', ' ')})"
    elif status in ("introduced", "reported"):
        label = type_label
    else:
        label = f"{type_label} ({status.replace('-', ' ')})"
    return f"{label} in {place}" if place else label


def _guess_language(title: str) -> str:
    if re.search(r"[\u0400-\u04FF]", title):
        return "ru"
    if re.search(r"[\u0600-\u06FF]", title):
        return "ar"
    words = set(re.findall(r"[a-zà-ÿ]+", title.lower()))
    for language, markers in (("fr", {"le", "la", "les", "des", "du", "une", "et", "pour", "dans"}),
                              ("es", {"el", "los", "las", "del", "una", "y", "para", "por"}),
                              ("de", {"der", "die", "das", "und", "ein", "eine", "für", "mit"}),
                              ("it", {"il", "gli", "della", "per", "di", "nel"})):
        if len(words & markers) >= 2:
            return language
    return "en"


class _Writer:
    """Turtle blocks with a # REVIEW: comment after each guessed triple."""

    def __init__(self, out: list[str]):
        self.out = out

    def section(self, title: str):
        self.out.append(f"# ---------------------------------------------------------------- {title}")
        self.out.append("")

    def comment(self, text: str):
        indent = re.match(r"\s*", text).group(0)
        self.out.append("# " + indent + re.sub(r"\s+", " ", text).strip())

    def block(self, subject: str, rdf_type: str, props: list[tuple[str, str, str | None]]):
        lines = [f"{subject} a {rdf_type} ;"]
        for k, (prop, value, note) in enumerate(props):
            end = " ." if k == len(props) - 1 else " ;"
            line = f"    {prop} {value}{end}"
            if note:
                line += "  # REVIEW: " + re.sub(r"\s+", " ", note).strip()
            lines.append(line)
        if not props:
            lines[0] = lines[0][:-2] + " ."
        self.out.extend(lines)
        self.out.append("")


def _literal(text: str, lang: str | None = "en") -> str:
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
               .replace("\t", "\\t"))
    return f'"{escaped}"' + (f"@{lang}" if lang else "")


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.6f}".rstrip("0")
    return text if not text.endswith(".") else text + "0"


_URL = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")


def _check_url(url: str) -> str:
    if not _URL.match(url.strip()):
        raise KGError(f"not a web address: {url!r}", "give the update's page as an http(s) address, for example "
                                                     "https://www.globaldetentionproject.org/14-june-2020-kazakhstan")
    return url.strip()


@lru_cache(maxsize=8)
def _template(name: str) -> str:
    return (_TEMPLATES / name).read_text(encoding="utf-8")


def _names_regex(ref: _Reference) -> re.Pattern:
    names = set(ref.names) | set(_DEMONYMS) | {d + "s" for d in _DEMONYMS if not d.endswith(("s", "sh", "ch", "ese"))}
    alternatives = sorted((n for n in names if len(n) > 1), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in alternatives) + r")(?![\w-])")


def _agent_regex(ref: _Reference):
    variants: dict[str, list[tuple[_Agent, str, bool]]] = {}

    def add(text, agent, how, restricted):
        text = text.strip()
        if len(text) < 2:
            return
        variants.setdefault(text, []).append((agent, how, restricted))

    for agent in ref.agents:
        label = agent.label
        add(label, agent, "label", False)
        base = re.sub(r"\s*\([^)]*\)$", "", label)
        if base != label:
            add(base, agent, "variant", True)
        if base.startswith("The "):
            add(base[4:], agent, "variant", False)
            add("the " + base[4:], agent, "variant", False)
        m = re.match(r"^(?:Federal )?Ministry of (?:the )?(\w+)$", base)
        if m:
            word = m.group(1)
            for v in (f"{word} Ministry", f"Ministry of {word}", f"Ministry of the {word}", f"{word} ministry"):
                add(v, agent, "variant", True)
            if base.startswith("Federal"):
                add(f"Federal {word} Ministry", agent, "variant", True)
        m = re.match(r"^Government of (?:the )?(.+)$", base)
        if m:
            add(f"{m.group(1)} government", agent, "variant", False)
            add(f"{m.group(1)}'s government", agent, "variant", False)
            add(f"{m.group(1)} Government", agent, "variant", False)
        for abbreviation in agent.abbreviations:
            if len(abbreviation) >= 2:
                add(abbreviation, agent, "abbreviation", False)
    # unrestricted first, so that a body of the update's country wins only when the name is generic
    for text in variants:
        variants[text].sort(key=lambda v: (v[2], v[1] != "label"))
    alternatives = sorted(variants, key=len, reverse=True)
    regex = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(v) for v in alternatives) + r")(?![\w-])")
    return regex, variants


# ==================================================================== public API


def new_update(date: str, country_code: str, source_url: str | None, title: str | None = None) -> str:
    """The Turtle text of a new update file: required fields filled, the rest as comments.

    DATE is YYYY-MM-DD (or "14 June 2020"), COUNTRY_CODE an ISO 3166-1 code (or the country's
    name), SOURCE_URL the update's web page (None writes a kg:coverage note instead). The text
    validates as written. Raises KGError for an unknown country, a bad date or a bad address.
    """
    ref = _reference()
    code = _country_code(ref, country_code)
    iso = _iso_date(date)
    day = dt.date.fromisoformat(iso)
    name = _country_name(ref, code)
    slug = f"{iso}-{_country_slug(ref, code)}"
    if source_url:
        source_line = f"    dcterms:source <{_check_url(source_url)}> ;"
    else:
        source_line = ('    kg:coverage "The update\'s web page is not recorded yet."@en ;  '
                       "# replace with dcterms:source <https://…> once known")
    return Template(_template("new-update.ttl")).substitute(
        country_label=name, date_text=_date_text(day), prefixes=_template("prefixes.ttl").rstrip("\n"),
        update_slug=slug, title=(title or f"{name}, {_date_text(day)}").replace("\\", "\\\\").replace('"', '\\"'),
        date=iso, code=code, code_lower=code.lower(), source_line=source_line)


def draft_update(text: str, date: str | None = None, country: str | None = None,
                 source_url: str | None = None) -> Draft:
    """Draft an update's Turtle file from its prose, by rules; every guess is marked for review.

    DATE (YYYY-MM-DD) and COUNTRY (code or name) override what the text's header line says
    ("14 June 2020 – Kazakhstan"); SOURCE_URL is the update's web page. Raises KGError when the
    date or country can be found neither in the options nor in the text, or is invalid.
    """
    if not text or not text.strip():
        raise KGError("the text is empty", "give the update's text: its header line and paragraphs")
    drafter = _Drafter(_reference(), text, date, country, source_url)
    return drafter.run()
