"""Rebuild data/geo/ from the npm package world-atlas (Natural Earth, public domain).

    python scripts/build_world_geometry.py                  # fetches the tarball with `npm pack`
    python scripts/build_world_geometry.py PATH/world-atlas # or uses an unpacked package folder

What it writes (see data/geo/README.md):

* ``countries-110m.json`` — the package's file, byte for byte (the map decodes it at run time);
* ``LICENSE-world-atlas`` — the package's licence text (ISC, for the packaging);
* ``small-countries.json`` — a point (longitude, latitude) for each country that the 1:50m
  file has and the 1:110m file leaves out (Malta, Singapore, Bahrain…): the centroid of its
  largest polygon, so that the map can show their status as a dot. Keyed by the same ISO
  3166-1 numeric ids; alpha-2 codes are looked up at run time.

The fetched tarball is checked against the integrity hash the npm registry published for
this version, so a rebuild gives the same files.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from kg.svg import topology_polygons  # noqa: E402

PACKAGE = "world-atlas"
VERSION = "2.0.2"
#: `npm view world-atlas@2.0.2 dist.integrity`
INTEGRITY = "sha512-IXfV0qwlKXpckz1FhwXVwKRjiIhOnWttOskm5CtxMsjgE/MXAYRHWJqgXOpM8IkcPBoXnyTU5lFHcYa5ChG0LQ=="
OUT = ROOT / "data" / "geo"


def fetch(workdir: Path) -> Path:
    """`npm pack` the package into WORKDIR, check its integrity, unpack it; the package folder."""
    subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=workdir, check=True, stdout=subprocess.DEVNULL)
    tarball = workdir / f"{PACKAGE}-{VERSION}.tgz"
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if digest != INTEGRITY:
        sys.exit(f"{tarball.name}: integrity {digest} is not the published {INTEGRITY}")
    with tarfile.open(tarball) as archive:
        archive.extractall(workdir, filter="data")
    return workdir / "package"


def ring_area_centroid(ring: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Planar (in degrees) signed area and centroid of a ring; the vertex mean when degenerate."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area) < 1e-12:
        xs, ys = zip(*ring, strict=True)
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return area / 2, cx / (3 * area), cy / (3 * area)


def small_countries(package: Path) -> list[dict]:
    coarse = json.loads((package / "countries-110m.json").read_text())
    fine = json.loads((package / "countries-50m.json").read_text())
    drawn = {g.get("id") for g in coarse["objects"]["countries"]["geometries"]}
    out = []
    for geometry in fine["objects"]["countries"]["geometries"]:
        numeric = geometry.get("id")
        if numeric is None or numeric in drawn:
            continue
        best = max(
            (ring_area_centroid(polygon[0]) for polygon in topology_polygons(fine, geometry) if polygon and polygon[0]),
            key=lambda a: abs(a[0]),
        )
        out.append({"id": numeric, "name": geometry["properties"]["name"], "lon": round(best[1], 2), "lat": round(best[2], 2)})
    return sorted(out, key=lambda e: e["id"])


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(argv[0]) if argv else fetch(Path(tmp))
        meta = json.loads((package / "package.json").read_text())
        if meta.get("version") != VERSION:
            sys.exit(f"{package}: version {meta.get('version')}, expected {VERSION}")
        OUT.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(package / "countries-110m.json", OUT / "countries-110m.json")
        shutil.copyfile(package / "LICENSE", OUT / "LICENSE-world-atlas")
        points = small_countries(package)
        doc = {
            "source": f"npm {PACKAGE}@{VERSION} countries-50m.json (Natural Earth 1:50m Admin 0, public domain)",
            "note": "Centroid of the largest polygon of each country absent from countries-110m.json; ids are ISO 3166-1 numeric.",
            "countries": points,
        }
        lines = [json.dumps(p, ensure_ascii=False) for p in points]  # one country a line: readable diffs
        head = json.dumps({k: v for k, v in doc.items() if k != "countries"}, ensure_ascii=False)[:-1]
        body = head + ', "countries": [\n' + ",\n".join(lines) + "\n]}\n"
        (OUT / "small-countries.json").write_text(body, encoding="utf-8")
    sha = hashlib.sha256((OUT / "countries-110m.json").read_bytes()).hexdigest()
    print(f"wrote {OUT}: countries-110m.json (sha256 {sha}), LICENSE-world-atlas, small-countries.json ({len(points)} points)")


if __name__ == "__main__":
    main(sys.argv[1:])
