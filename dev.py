#!/usr/bin/env python3
"""Run Spread from a clean clone with nothing but Python 3.11+: exactly the locked dependencies.

    python3 dev.py serve --demo     # the API with an embedded PostgreSQL and demo data
    python3 dev.py test             # the whole test suite (pytest arguments pass through)
    python3 dev.py spread ARGS      # any `spread` command (keys, migrate, openapi, ...)
    python3 dev.py check            # ruff's linter and formatter, then mypy (strict on service/), as CI runs them
    python3 dev.py clients [python|typescript]  # generate the API clients into clients/ (needs npm for TS)
    python3 dev.py explorer         # build the Spread Explorer into service/static/explorer/ (needs npm)
    python3 dev.py docs [serve]     # build the documentation site (mkdocs build --strict) or serve it
    python3 dev.py lock             # refresh uv.lock to the newest releases the ranges allow
    python3 dev.py bench [ARGS]     # bench/compare.py: Spread against two peer apps (adds the bench extra)
    python3 dev.py mutate [MODULE]  # mutation score (mutmut) of spc, graph, planner, authz; slow (docs/testing.md)

Every command first makes `.venv` match `uv.lock` (uv's lock of every direct and transitive
dependency, for every platform). uv itself is pinned below and installed into `.tools/` with
pip the first time; if you already use uv, `uv sync --extra dev` then `uv run ...` is the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
UV_VERSION = "0.13.9"
TOOLS = ROOT / ".tools"
VENV = ROOT / ".venv"
BIN = "Scripts" if os.name == "nt" else "bin"


def say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def uv() -> Path:
    """The pinned uv, installed into .tools/ on first use."""
    exe = TOOLS / BIN / ("uv.exe" if os.name == "nt" else "uv")
    version_file = TOOLS / "uv-version"
    if exe.exists() and version_file.exists() and version_file.read_text().strip() == UV_VERSION:
        return exe
    say(f"installing uv {UV_VERSION} into {TOOLS.name}/ (once)")
    venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
    pip = [str(TOOLS / BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, f"uv=={UV_VERSION}"], check=True)
    version_file.write_text(UV_VERSION + "\n")
    return exe


def uv_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        UV_PROJECT_ENVIRONMENT=str(VENV),
        UV_PYTHON=sys.executable,  # the interpreter running this script; never download one
        UV_PYTHON_DOWNLOADS="never",
        UV_NO_PROGRESS="1",
    )
    env.pop("VIRTUAL_ENV", None)
    return env


def sync(*extras: str) -> None:
    """Make .venv exactly the lock (with the dev extra); refuse if pyproject and lock disagree."""
    flags = [flag for extra in ("dev", *extras) for flag in ("--extra", extra)]
    result = subprocess.run([str(uv()), "sync", "--locked", *flags, "--quiet"], cwd=ROOT, env=uv_env(), check=False)
    if result.returncode != 0:
        say("could not install from uv.lock. If you changed pyproject.toml, run `python3 dev.py lock` and commit it.")
        sys.exit(result.returncode)


def run(program: str, *args: str) -> int:
    exe = VENV / BIN / program
    return subprocess.run([str(exe), *args], cwd=ROOT, check=False).returncode


# `dev.py mutate NAME`: the modules whose rules matter most ([tool.mutmut] in pyproject.toml).
MUTATE = {
    "spc": "service/analysis/spc.py",
    "graph": "service/lineage/graph.py",
    "planner": "service/submissions/planner.py",
    "authz": "service/authz.py",
}


def mutate(names: list[str]) -> int:
    """Run mutmut on the named modules (all four by default), then print each one's score.

    Mutants are judged by the pure unit tests only (SPREAD_PURE_TESTS=1 deselects every test
    that needs a database); results are kept in mutants/ (git-ignored), so a second run only
    re-tests what changed. `.venv/bin/mutmut show NAME` prints one mutant's diff."""
    import json

    unknown = [n for n in names if n not in MUTATE]
    if unknown:
        say(f"unknown module {unknown[0]!r}; choose from {', '.join(MUTATE)}")
        return 2
    chosen = names or list(MUTATE)
    env = dict(os.environ, SPREAD_PURE_TESTS="1")
    globs = [MUTATE[n].removesuffix(".py").replace("/", ".") + ".*" for n in chosen]
    mutmut = str(VENV / BIN / "mutmut")
    code = subprocess.run([mutmut, "run", *globs], cwd=ROOT, env=env, check=False).returncode
    print(f"{'module':<34} {'mutants':>8} {'killed':>7} {'timeout':>8} {'survived':>9} {'no tests':>9} {'score':>7}")
    for name in chosen:
        meta = ROOT / "mutants" / (MUTATE[name] + ".meta")
        if not meta.exists():
            continue
        codes = list(json.loads(meta.read_text())["exit_code_by_key"].values())
        killed = sum(c in (1, 3) for c in codes)
        timeout = sum(c in (-24, 24, 36, 152, 255) for c in codes)
        survived = sum(c == 0 for c in codes)
        untested = sum(c in (5, 33) for c in codes)
        score = 100 * (killed + timeout) / len(codes) if codes else 0.0
        print(f"{MUTATE[name]:<34} {len(codes):>8} {killed:>7} {timeout:>8} {survived:>9} {untested:>9} {score:>6.1f}%")
    return code


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be run by an older python3
        say(f"Spread needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
        return 2
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "lock":
        return subprocess.run([str(uv()), "lock", "--upgrade", *rest], cwd=ROOT, env=uv_env(), check=False).returncode
    if command == "bench":
        sync("bench")
        return run("python", "bench/compare.py", *rest)
    if command == "mutate":
        sync("mutation")
        return mutate(rest)
    sync()
    if command == "serve":
        return run("spread", "serve", *rest)
    if command == "test":
        return run("pytest", *rest)
    if command == "spread":
        return run("spread", *rest)
    if command == "clients":
        return run("python", "clients/generate.py", *rest)
    if command == "explorer":
        return run("python", "explorer/build.py", *rest)
    if command == "docs":
        if rest[:1] == ["serve"]:
            return run("mkdocs", "serve", *rest[1:])
        return run("mkdocs", "build", "--strict", *rest)
    if command == "check":
        for step in (("ruff", "check", "."), ("ruff", "format", "--check", "."), ("mypy",)):
            code = run(*step)
            if code:
                return code
        return 0
    say(f"unknown command {command!r}; try `python3 dev.py --help`.")
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
