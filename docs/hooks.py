"""MkDocs hooks: an API page per module of ``sim`` and a page per tutorial script (jupytext percent format).

Kept in the repository so the site always covers every module and tutorial without a hand-kept list.
"""
from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File

DOCS = Path(__file__).resolve().parent
PACKAGE = DOCS.parent / "sim"


def modules() -> list[str]:
    """Dotted names of every public module of ``sim`` (no ``_private`` ones, no ``__main__``)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts) or "__pycache__" in path.parts:
            continue
        names.append(".".join(parts))
    return names


def percent_to_markdown(text: str) -> str:
    """A jupytext percent script as Markdown: ``# %% [markdown]`` cells as text, ``# %%`` cells as code."""
    out, cell, kind = [], [], None

    def flush():
        body = "\n".join(cell).strip("\n")
        if kind == "markdown":
            out.append("\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.splitlines()))
        elif kind == "code" and body.strip():
            out.append(f"```python\n{body}\n```")

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            cell, kind = [], "markdown" if "[markdown]" in line else "code"
        elif kind is not None:
            cell.append(line)
    flush()
    return "\n\n".join(out) + "\n"


def on_files(files, config):
    for name in modules():
        files.append(File.generated(config, f"api/{name}.md", content=f"# `{name}`\n\n::: {name}\n"))
    for script in sorted((DOCS / "tutorials").glob("*.py")):
        page = percent_to_markdown(script.read_text(encoding="utf-8"))
        page += f"\n*Run it:* `python docs/tutorials/{script.name}` (or open it in Jupyter with jupytext).\n"
        files.append(File.generated(config, f"tutorials/{script.stem}.md", content=page))
    return files
