"""Evaluate the rule-based drafter (kg.draft.draft_update) against the GDP corpus's facts.

    .venv/bin/python bench/eval_drafter.py [--corpus FILE] [--results bench/RESULTS.md] [--no-write]

The corpus (../shared/corpus/gdp-updates-2020.yaml) holds, for each 2020 update, the facts read
from its web page, but not the page's text. So each update's INPUT is built from the entry
itself: a header line "D Month YYYY – Country", the summary, each measure's scope note, and one
line per number ("VALUE UNIT_OR_WHAT."). The drafter runs on that text with no options, and its
findings are scored against the entry:

* date and country: the update's own date and country (from the header line; a second run
  without the header line tests finding them in the prose);
* measures: (measure type, status) pairs against the entry's measures, "other" types mapped to
  measure types through skos:notation. "strict" compares statuses exactly; "negatives merged"
  counts st:none-occurred as the corpus's not_introduced (the corpus has no none_occurred key,
  and the project's own files record its not_introduced releases as st:none-occurred);
  "type only" ignores the status;
* figures: numbers (a value, a bound of "more than 700", or a range) against the entry's
  numbers, by value.

Matching is one-to-one (a multiset). Precision = matched / found, recall = matched / in corpus.
It also validates every draft with the project's Validator and counts the ones that conform.
The section "Drafter evaluation" of RESULTS.md is replaced (or appended); nothing else in the
file is touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kg import draft as drafting  # noqa: E402
from kg.errors import KGError  # noqa: E402
from kg.validate import Validator  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "gdp-updates-2020.yaml"
SEED = ROOT.parent / "shared" / "seed" / "000_b532f67d3f677f7d.txt"
HEADING = "## Drafter evaluation"
#: The first full run of this script (2026-11-26), before any rule was changed in the light of its
#: errors: (precision, recall) per field. Kept to show how much of the final score is tuning on
#: this same corpus.
FIRST_RUN = {"measures (negatives merged)": (0.49, 0.76), "measures (strict)": (0.44, 0.68),
             "measures (type only)": (0.61, 0.95), "figures": (0.71, 0.98)}
MONTHS = ["", "January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]


# ---------------------------------------------------------------- input and gold


def input_text(entry: dict, header: bool = True) -> str:
    """The drafter's input for one corpus entry (the page texts are not in the repository)."""
    day = dt.date.fromisoformat(entry["date"])
    parts = []
    if header:
        parts.append(f"{day.day} {MONTHS[day.month]} {day.year} – {entry['country']['name']}")
    parts.append(entry["summary"].strip())
    notes = [_sentence(m["scope_note"]) for m in entry.get("measures") or [] if m.get("scope_note")]
    if notes:
        parts.append(" ".join(notes))
    numbers = [_sentence(f"{n['value']} {n['unit_or_what']}") for n in entry.get("numbers") or []]
    if numbers:
        parts.append("\n".join(numbers))
    return "\n\n".join(parts) + "\n"


def _sentence(text: str) -> str:
    text = " ".join(str(text).split())
    text = text[0].upper() + text[1:] if text else text
    return text if text.endswith((".", "!", "?")) else text + "."


def notation_maps() -> tuple[dict[str, str], dict[str, str]]:
    """Corpus keys (skos:notation) -> measure-type and status prefixed names."""
    ref = drafting._reference()
    types = {n: c.iri for c in ref.measure_types.values() for n in c.notations}
    statuses = {n: c.iri for c in ref.statuses.values() for n in c.notations}
    return types, statuses


def gold_measures(entry, types, statuses) -> list[tuple[str, str]]:
    out = []
    for m in entry.get("measures") or []:
        key = m["other_name"] if m["type"] == "other" else m["type"]
        out.append((types.get(key, f"?{key}"), statuses.get(m["status"], f"?{m['status']}")))
    return out


_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9}


def gold_number(value) -> tuple[float, float] | None:
    """A corpus number as (low, high): 9 -> (9, 9); "200000-600000" -> range; "25%" -> 0.25."""
    if isinstance(value, (int, float)):
        return float(value), float(value)
    text = str(value).replace(",", "").strip()
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
    text = re.sub(r"\b(" + "|".join(words) + r")\b", lambda m: str(words[m.group(1)]), text, flags=re.I)
    percent = "%" in text
    scale = next((v for k, v in _SCALE.items() if k in text.lower()), 1.0)
    numbers = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]
    if not numbers:
        return None
    factor = 0.01 if percent else scale
    return numbers[0] * factor, numbers[-1] * factor


def found_numbers(figure) -> tuple[float | None, float | None, float | None]:
    return figure.value, figure.min_value, figure.max_value


def _close(a, b) -> bool:
    return a is not None and b is not None and abs(a - b) <= 1e-6 * max(1.0, abs(b))


def figure_matches(figure, gold: tuple[float, float]) -> bool:
    value, low, high = found_numbers(figure)
    g_low, g_high = gold
    if g_low == g_high:
        return _close(value, g_low) or _close(low, g_low) or _close(high, g_low)
    return (_close(low, g_low) and _close(high, g_high)) or _close(value, g_low) or _close(value, g_high)


def match_count(found: list, gold: list, same) -> int:
    """One-to-one matches between FOUND and GOLD (greedy; exact for the equality tests used here)."""
    used = [False] * len(gold)
    hits = 0
    for item in found:
        for k, g in enumerate(gold):
            if not used[k] and same(item, g):
                used[k] = True
                hits += 1
                break
    return hits


# ---------------------------------------------------------------- scoring


class Score:
    def __init__(self):
        self.tp = self.found = self.gold = 0

    def add(self, tp, found, gold):
        self.tp += tp
        self.found += found
        self.gold += gold

    @property
    def precision(self):
        return self.tp / self.found if self.found else 0.0

    @property
    def recall(self):
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self):
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def row(self, name):
        return (f"| {name} | {self.gold} | {self.found} | {self.tp} | {self.precision:.2f} | {self.recall:.2f} "
                f"| {self.f1:.2f} |")


NEGATIVE = {"st:not-introduced", "st:none-occurred"}


def lenient(found_pair, gold_pair) -> bool:
    (ft, fs), (gt, gs) = found_pair, gold_pair
    return ft == gt and (fs == gs or (fs in NEGATIVE and gs in NEGATIVE))


def evaluate(entries, header=True, validator=None, give=None):
    """Draft every entry and score it. GIVE ("date" or "country") passes that one as an option."""
    types, statuses = notation_maps()
    scores = {k: Score() for k in ("date", "country", "measures (strict)", "measures (negatives merged)",
                                   "measures (type only)", "figures")}
    per_type: dict[str, Counter] = {}
    conforming, errors, failures = 0, [], []
    for entry in entries:
        text = input_text(entry, header=header)
        gold_m = gold_measures(entry, types, statuses)
        gold_f = [g for g in (gold_number(n["value"]) for n in entry.get("numbers") or []) if g]
        try:
            options = {"date": entry["date"]} if give == "date" else {"country": entry["country"]["iso2"]} if give == "country" else {}
            result = drafting.draft_update(text, **options)
        except KGError as error:
            errors.append(f"{entry['id']}: {error.message}")
            scores["date"].add(0, 0, 1)
            scores["country"].add(0, 0, 1)
            for key in ("measures (strict)", "measures (negatives merged)", "measures (type only)"):
                scores[key].add(0, 0, len(gold_m))
            scores["figures"].add(0, 0, len(gold_f))
            continue
        f = result.findings
        scores["date"].add(int(f.date is not None and f.date.value == entry["date"]), int(f.date is not None), 1)
        scores["country"].add(int(f.country is not None and f.country.code == entry["country"]["iso2"]),
                              int(f.country is not None), 1)
        found_m = [(m.type, m.status) for m in f.measures]
        scores["measures (strict)"].add(match_count(found_m, gold_m, lambda a, b: a == b), len(found_m), len(gold_m))
        scores["measures (negatives merged)"].add(match_count(found_m, gold_m, lenient), len(found_m), len(gold_m))
        scores["measures (type only)"].add(match_count(found_m, gold_m, lambda a, b: a[0] == b[0]), len(found_m), len(gold_m))
        scores["figures"].add(match_count(f.figures, gold_f, figure_matches), len(f.figures), len(gold_f))
        for t in {t for t, _ in gold_m} | {t for t, _ in found_m}:
            c = per_type.setdefault(t, Counter())
            g = [p for p in gold_m if p[0] == t]
            x = [p for p in found_m if p[0] == t]
            c["gold"] += len(g)
            c["found"] += len(x)
            c["tp"] += match_count(x, g, lenient)
        if validator is None:
            conforming = None
        else:
            report = validator.validate_file(result.file_name, text=result.turtle.encode("utf-8"))
            if report.conforms:
                conforming += 1
            else:
                failures.append(f"{entry['id']}: {report.problems[0].message}")
    overall = Score()
    for key in ("date", "country", "measures (negatives merged)", "figures"):
        s = scores[key]
        overall.add(s.tp, s.found, s.gold)
    return scores, overall, per_type, conforming, errors, failures


def seed_score(entries):
    """The seed update's real text against its corpus entry (the one page whose text we have)."""
    entry = next((e for e in entries if e["id"] == "2020-06-14-kazakhstan"), None)
    if entry is None or not SEED.exists():
        return None
    types, statuses = notation_maps()
    f = drafting.draft_update(SEED.read_text(encoding="utf-8")).findings
    gold_m = gold_measures(entry, types, statuses)
    gold_f = [gold_number(n["value"]) for n in entry["numbers"]]
    found_m = [(m.type, m.status) for m in f.measures]
    m, fi = Score(), Score()
    m.add(match_count(found_m, gold_m, lenient), len(found_m), len(gold_m))
    fi.add(match_count(f.figures, gold_f, figure_matches), len(f.figures), len(gold_f))
    return m, fi


# ---------------------------------------------------------------- report


def report(entries, corpus_path, elapsed, scores, overall, per_type, conforming, errors, failures,
           no_header, seed) -> str:
    lines = [HEADING, ""]
    lines.append(f"Command: `.venv/bin/python bench/eval_drafter.py` — run {dt.date.today().isoformat()}, "
                 f"{len(entries)} updates from `{corpus_path}`, {elapsed:.1f} s (drafting and validating).")
    lines.append("")
    lines.append("**Input.** The corpus stores the facts of each update, not its page's text, and the pages are "
                 "not in the repository. So the drafter's input for each update is built from its corpus entry: a "
                 "header line `D Month YYYY – Country`, the entry's `summary`, every measure's `scope_note`, and "
                 "one line per number (`value unit_or_what`). No `--date` or `--country` options are given. This "
                 "input is shorter and more regular than a real page, and it states each measure in the words of "
                 "the person who wrote the corpus entry.")
    lines.append("")
    lines.append("| field | in corpus | found | matched | precision | recall | F1 |")
    lines.append("|---|---|---|---|---|---|---|")
    for key in ("date", "country", "measures (negatives merged)", "measures (strict)", "measures (type only)", "figures"):
        lines.append(scores[key].row(key))
    lines.append(overall.row("**overall** (date, country, measures with negatives merged, figures)"))
    lines.append("")
    if conforming is None:
        lines.append("Drafts were not validated (--no-validate).")
    else:
        lines.append(f"Drafts that validate with no violation (`Validator().validate_file`): {conforming} of "
                     f"{len(entries) - len(errors)}." + (" Failures: " + "; ".join(failures) if failures else ""))
    if errors:
        lines.append(f"Drafts refused (KGError): {'; '.join(errors)}.")
    lines.append("")
    dates, date_errors, countries, country_errors = no_header
    lines.append(f"**Without the header line**, each from the prose alone (the other given as an option): date "
                 f"precision {dates.precision:.2f} / recall {dates.recall:.2f} ({len(date_errors)} drafts refused for want "
                 f"of a date with a year); country precision {countries.precision:.2f} / recall {countries.recall:.2f}. "
                 "The drafter then takes the latest full date (with its year) in the text and the country the text names "
                 "most, each marked as a guess; the corpus summaries seldom give the update's own date.")
    if seed:
        m, fi = seed
        lines.append("")
        lines.append(f"**The seed's real page text** (`shared/seed`) against its corpus entry: measures "
                     f"precision {m.precision:.2f} / recall {m.recall:.2f} ({m.tp} of {m.gold}, {m.found} found); "
                     f"figures precision {fi.precision:.2f} / recall {fi.recall:.2f} ({fi.tp} of {fi.gold}, "
                     f"{fi.found} found). The corpus entry lists fewer facts than the text holds (the social benefit, "
                     "the missing firewall, the stranded group, the border closure and the return are in the text and "
                     "in `data/updates/2020-06-14-kazakhstan.ttl` but not in the entry), so precision here counts "
                     "true facts as errors.")
    lines.append("")
    lines.append("Per measure type (negatives merged), types with at least two corpus measures:")
    lines.append("")
    lines.append("| measure type | in corpus | found | matched |")
    lines.append("|---|---|---|---|")
    rest = Counter()
    for t, c in sorted(per_type.items(), key=lambda kv: (-kv[1]["gold"], kv[0])):
        if c["gold"] >= 2:
            lines.append(f"| {t} | {c['gold']} | {c['found']} | {c['tp']} |")
        else:
            rest.update(c)
    lines.append(f"| all other types | {rest['gold']} | {rest['found']} | {rest['tp']} |")
    lines.append("")
    lines.append("**Tuning on this corpus.** The first full run, before any rule was changed in the light of its "
                 "errors, scored: " + "; ".join(f"{k} precision {p:.2f} / recall {r:.2f}" for k, (p, r) in FIRST_RUN.items())
                 + ". The rules were then corrected while reading that run's errors (negation and qualifier windows "
                 "that leaked across list items, cues inside bodies' names, over-broad cues, the same number told "
                 "twice); the table above is after those corrections, on the same 39 updates.")
    lines.append("")
    lines.append("**Caveats.**")
    lines.append("")
    lines.append("- In-sample: the cue phrases were written with this corpus file open (it is the project's "
                 "development material), so these figures are optimistic. The other half of the corpus split is "
                 "not in the repository and was not used; it is the fair test.")
    lines.append("- The input is built from the corpus entry (see above), so date and country come from a header "
                 "line made for the purpose, scope notes are terse paraphrases, and the number lines hand the "
                 "drafter every gold figure in a clean `value what` form: figure recall mostly measures number "
                 "parsing, and figure precision suffers from numbers in summaries and scope notes that the entry "
                 "does not list (and from the same number written twice in different forms).")
    lines.append("- A corpus entry lists the facts its author chose; a measure the drafter finds that the entry "
                 "left out counts against precision even when the text states it.")
    lines.append("- Statuses are compared through skos:notation; the corpus uses `not_introduced` both for "
                 "measures not taken and for events that did not happen, hence the \"negatives merged\" row.")
    lines.append("- Figures match on their number only (not on what they count, their unit or place).")
    lines.append("")
    return "\n".join(lines)


def write_section(path: Path, section: str):
    """Replace this script's section of PATH (from its heading to the next '## '), or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    start = text.find(HEADING + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = text.find("\n## ", start + len(HEADING))
        text = text[:start] + section + ("\n" + text[nxt + 1:] if nxt != -1 else "")
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print the section, do not write RESULTS.md")
    parser.add_argument("--no-validate", action="store_true", help="skip validating the drafts")
    args = parser.parse_args(argv)
    entries = yaml.safe_load(args.corpus.read_text(encoding="utf-8"))["updates"]
    started = time.perf_counter()
    validator = None if args.no_validate else Validator()
    scores, overall, per_type, conforming, errors, failures = evaluate(entries, True, validator)
    by_date = evaluate(entries, header=False, give="country")
    by_country = evaluate(entries, header=False, give="date")
    no_header = (by_date[0]["date"], by_date[4], by_country[0]["country"], by_country[4])
    elapsed = time.perf_counter() - started
    try:
        corpus_name = args.corpus.resolve().relative_to(ROOT.parent)
        corpus_name = f"../{corpus_name}"
    except ValueError:
        corpus_name = str(args.corpus)
    section = report(entries, corpus_name, elapsed, scores, overall, per_type, conforming, errors, failures,
                     no_header, seed_score(entries))
    print(section)
    if not args.no_write:
        write_section(args.results, section)
        print(f"written to {args.results}", file=sys.stderr)


if __name__ == "__main__":
    main()
