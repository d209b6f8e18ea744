"""Build the Spread Explorer into ``service/static/explorer/`` (what the package ships).

    python3 dev.py explorer

1. ``npm ci`` here (versions pinned in package-lock.json: nhsuk-frontend, typescript, axe-core).
2. ``tsc``: src/*.ts -> service/static/explorer/explorer.js (one ES module, no bundler needed).
3. nhsuk-frontend's compiled CSS copied as nhsuk.min.css, without its @font-face rules: they load
   the licensed Frutiger font from assets.nhs.uk, and the explorer works offline (it falls back to
   Arial, as the NHS design system does when the font is absent).
4. England's NHS regions (service/data/nhs/nhs_regions_boundaries.geojson, ONS, OGL v3) projected
   once into SVG path strings: regions.json, which the map draws and projects sites with.

The built files are committed; tests/explorer/test_build.py checks they match these sources.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "service" / "static" / "explorer"
GEOJSON = ROOT / "service" / "data" / "nhs" / "nhs_regions_boundaries.geojson"

# The map's projection: equirectangular, x scaled by cos(54°) so England keeps its shape.
WEST, EAST, SOUTH, NORTH = -6.4, 1.9, 49.85, 55.85
WIDTH = 480
KX = WIDTH / (EAST - WEST)
KY = KX / math.cos(math.radians(54))
HEIGHT = round((NORTH - SOUTH) * KY)


def project(lon: float, lat: float) -> tuple[float, float]:
    return round((lon - WEST) * KX, 1), round((NORTH - lat) * KY, 1)


def regions() -> dict[str, object]:
    features = json.loads(GEOJSON.read_text())["features"]
    out = []
    for f in features:
        geometry = f["geometry"]
        polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
        parts = []
        for polygon in polygons:
            for ring in polygon:
                points = [project(lon, lat) for lon, lat in ring]
                parts.append("M" + "L".join(f"{x:g} {y:g}" for x, y in points) + "Z")
        props = f["properties"]
        out.append({"code": props["code"], "name": props["name"], "d": "".join(parts)})
    return {
        "projection": {"west": WEST, "north": NORTH, "kx": KX, "ky": KY},
        "width": WIDTH,
        "height": HEIGHT,
        "attribution": [
            "Source: Office for National Statistics licensed under the Open Government Licence v.3.0",
            "Contains OS data © Crown copyright and database right 2024",
        ],
        "regions": out,
    }


def nhsuk_css() -> str:
    """nhsuk-frontend's compiled CSS without the web font (and without the source map link)."""
    css = (HERE / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk.min.css").read_text()
    css = re.sub(r"@font-face\{[^}]*\}", "", css)
    return re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", css)


def main() -> int:
    npm = shutil.which("npm")
    if npm is None:
        print("npm is needed to build the explorer (apt-get install npm)", file=sys.stderr)
        return 2
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)  # noqa: S603
    subprocess.run([npm, "run", "build"], cwd=HERE, check=True)  # noqa: S603
    (OUT / "nhsuk.min.css").write_text(nhsuk_css())
    # axe-core (MPL-2.0, its licence header kept) for tests/explorer's accessibility check only.
    shutil.copyfile(HERE / "node_modules" / "axe-core" / "axe.min.js", ROOT / "tests" / "explorer" / "axe.min.js")
    (OUT / "regions.json").write_text(json.dumps(regions(), separators=(",", ":")) + "\n")
    print(f"built {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
