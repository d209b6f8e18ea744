"""MkDocs hook: links from a page to files of the repository outside docs/ (``../service/app.py``,
``../openapi/openapi.json``) are checked and rewritten.

MkDocs only knows the files under docs/, so it would report every such link as not found. This
hook checks that the target exists in the repository (a missing one is a warning, which fails
``mkdocs build --strict``) and rewrites the link to the file in the repository browser when
``repo_url`` is set in mkdocs.yml, else to the path as code. It also adds
``openapi/openapi.json`` to the site's files, where docs/api.md's Swagger UI reads it.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.repo_links")
_LINK = re.compile(r"(?<!!)\[([^\]\n]+)\]\((\.\./[^)#\s]+)(#[^)\s]*)?\)")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    docs = Path(config["docs_dir"]).resolve()
    root = docs.parent
    page_dir = (docs / page.file.src_path).parent
    repo_url = (config.get("repo_url") or "").rstrip("/")

    def rewrite(match: re.Match[str]) -> str:
        text, target, anchor = match.group(1), match.group(2), match.group(3) or ""
        path = (page_dir / target).resolve()
        if not path.is_relative_to(root) or not path.exists():
            log.warning("%s links to %s, which is not in the repository", page.file.src_path, target)
            return match.group(0)
        relative = path.relative_to(root).as_posix()
        if repo_url:
            return f"[{text}]({repo_url}/blob/main/{relative}{anchor})"
        return text if text.strip("`") == relative else f"{text} (`{relative}`)"

    return _LINK.sub(rewrite, markdown)


def on_files(files: Any, config: Any) -> Any:
    """openapi/openapi.json as a file of the site, for docs/api.md's Swagger UI."""
    from mkdocs.structure.files import File

    spec = Path(config["docs_dir"]).resolve().parent / "openapi" / "openapi.json"
    files.append(File.generated(config, "openapi.json", abs_src_path=str(spec)))
    return files
