"""Generate Spread's clients from openapi/openapi.json: `python3 dev.py clients`.

    python3 dev.py clients                # both
    python3 dev.py clients python         # clients/python/spread_client (openapi-python-client)
    python3 dev.py clients typescript     # clients/typescript/src/schema.d.ts, type-checked with tsc --strict

The Python client comes from the generator pinned in uv.lock, with clients/python/config.yml
and one template fix (clients/python/templates). The TypeScript types come from openapi-typescript
pinned in clients/typescript/package-lock.json (installed with `npm ci` when node_modules is
missing or older than the lock), and `tsc --strict` then compiles them with the example.
Both are built on demand and not committed: clients/README.md says why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "openapi" / "openapi.json"
PYTHON = ROOT / "clients" / "python"
TYPESCRIPT = ROOT / "clients" / "typescript"


def say(message: str) -> None:
    print(f"clients: {message}", file=sys.stderr, flush=True)


def json_first(node: Any) -> Any:
    """The same document with ``application/json`` first in every ``content`` map.

    The committed spec has sorted keys (stable diffs), so ``application/fhir+json`` and
    ``application/geo+json`` come before ``application/json``; openapi-python-client types a
    response by its first media type. Key order means nothing in JSON, so this changes no part
    of the contract; it only tells the generator which answer a Python caller expects.
    """
    if isinstance(node, dict):
        items = [(k, json_first(v)) for k, v in node.items()]
        content = node.get("content")
        if isinstance(content, dict) and "application/json" in content:
            ordered = dict(json_first(content))
            ordered = {"application/json": ordered.pop("application/json"), **ordered}
            items = [(k, ordered if k == "content" else v) for k, v in items]
        return dict(items)
    if isinstance(node, list):
        return [json_first(v) for v in node]
    return node


def python_client() -> Path:
    """clients/python/spread_client, from the spec; fails on any generator warning."""
    generator = Path(sys.executable).with_name("openapi-python-client")
    out = PYTHON / "spread_client"
    spec = json_first(json.loads(SPEC.read_text()))
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    command = [
        str(generator),
        "generate",
        "--path",
        handle.name,
        "--config",
        str(PYTHON / "config.yml"),
        "--custom-template-path",
        str(PYTHON / "templates"),
        "--meta",
        "none",
        "--output-path",
        str(out),
        "--overwrite",
    ]
    try:
        result = subprocess.run(command, cwd=PYTHON, capture_output=True, text=True, check=False)  # noqa: S603
    finally:
        Path(handle.name).unlink()
    output = result.stdout + result.stderr
    if result.returncode != 0 or "Warning" in output or "WARNING" in output:
        raise SystemExit(f"openapi-python-client failed or warned:\n{output}")
    say(f"python client in {out.relative_to(ROOT)}")
    return out


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("the TypeScript client needs Node.js 20+ and npm on PATH")
    return npm


def typescript_client() -> Path:
    """clients/typescript/src/schema.d.ts from the spec, then `tsc --strict` over it and the example."""
    npm = _npm()
    modules = TYPESCRIPT / "node_modules" / ".package-lock.json"
    lock = TYPESCRIPT / "package-lock.json"
    if not modules.exists() or modules.stat().st_mtime < lock.stat().st_mtime:
        say("npm ci (clients/typescript/package-lock.json)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TYPESCRIPT, check=True)  # noqa: S603
    subprocess.run([npm, "run", "--silent", "generate"], cwd=TYPESCRIPT, check=True)  # noqa: S603
    subprocess.run([npm, "run", "--silent", "build"], cwd=TYPESCRIPT, check=True)  # noqa: S603  (tsconfig: strict)
    say("typescript types in clients/typescript/src/schema.d.ts, compiled with tsc --strict into dist/")
    return TYPESCRIPT / "dist"


def main(argv: list[str]) -> int:
    which = set(argv) or {"python", "typescript"}
    unknown = which - {"python", "typescript"}
    if unknown:
        say(f"unknown client {', '.join(sorted(unknown))}; say python, typescript or nothing for both")
        return 2
    if "python" in which:
        python_client()
    if "typescript" in which:
        typescript_client()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
