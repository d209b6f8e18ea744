"""The explorer files the package ships are what ``python3 dev.py explorer`` builds from
explorer/src and the pinned npm packages (explorer/package-lock.json). Needs npm (``.ci/run``
installs it); skips loudly without it."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT

EXPLORER = ROOT / "explorer"
SHIPPED = ROOT / "service" / "static" / "explorer"
NPM = shutil.which("npm")


def _build_module() -> ModuleType:  # explorer/build.py is a script, not a package
    spec = importlib.util.spec_from_file_location("explorer_build", EXPLORER / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_regions_map_is_built_from_the_shipped_boundaries() -> None:
    built = _build_module().regions()
    shipped = json.loads((SHIPPED / "regions.json").read_text())
    assert shipped == json.loads(json.dumps(built))
    assert len(shipped["regions"]) == 7 and "Open Government Licence" in shipped["attribution"][0]


@pytest.mark.skipif(NPM is None, reason="NO NPM: the explorer's build was NOT checked (apt-get install npm)")
def test_shipped_script_and_styles_match_their_sources(tmp_path: Path) -> None:
    assert NPM is not None
    subprocess.run([NPM, "ci", "--no-audit", "--no-fund"], cwd=EXPLORER, check=True, capture_output=True)  # noqa: S603
    out = tmp_path / "explorer.js"
    tsc = EXPLORER / "node_modules" / ".bin" / "tsc"
    subprocess.run([str(tsc), "-p", "tsconfig.json", "--outFile", str(out)], cwd=EXPLORER, check=True)  # noqa: S603
    assert out.read_text() == (SHIPPED / "explorer.js").read_text(), "run `python3 dev.py explorer` and commit"
    css = (SHIPPED / "nhsuk.min.css").read_text()
    assert css == _build_module().nhsuk_css(), "run `python3 dev.py explorer` and commit"
    assert "@font-face" not in css and "assets.nhs.uk" not in css and ".nhsuk-header" in css
