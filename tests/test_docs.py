"""The documentation: the site builds with warnings as errors, and every reference stays inside the repository."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="docs extra not installed (./bootstrap.sh test installs it)")
    pytest.importorskip("mkdocstrings")
    site = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"),
                           "-d", str(site)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    api = (site / "api" / "sim.results" / "index.html").read_text()
    assert "open_result" in api and "open_sweep" in api                 # the API reference is from docstrings
    tutorial = (site / "tutorials" / "gitt" / "index.html").read_text()
    assert "weppner_huggins" in tutorial                                # tutorials are rendered
    physics = (site / "physics" / "index.html").read_text()
    assert all(f"M{i}" in physics for i in range(1, 7))


def _markdown_files():
    return [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: p.name)
def test_links_point_inside_the_repository(path):
    text = path.read_text(encoding="utf-8")
    assert "../shared" not in text and "shared/physics.md" not in text
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue                                                    # external URL or anchor
        resolved = (path.parent / target.split("#")[0]).resolve()
        assert resolved.is_relative_to(REPO), f"{path.name}: {target} points outside the repository"
        assert resolved.exists() or _generated(resolved), f"{path.name}: {target} does not exist"


def _generated(page: Path) -> bool:
    """Pages docs/hooks.py makes: api/<module>.md for a module of sim, tutorials/<name>.md for a script."""
    if page.parent == DOCS / "api":
        return (REPO / (page.stem.replace(".", "/") + ".py")).exists() or \
            (REPO / page.stem.replace(".", "/") / "__init__.py").exists()
    return page.parent == DOCS / "tutorials" and page.with_suffix(".py").exists()


def test_percent_script_to_markdown():
    sys.path.insert(0, str(DOCS))
    try:
        from hooks import percent_to_markdown
    finally:
        sys.path.remove(str(DOCS))
    md = percent_to_markdown("# header\n# %% [markdown]\n# # Title\n# text\n\n# %%\nx = 1\n\n# %%\n\n")
    assert md == "# Title\ntext\n\n```python\nx = 1\n```\n"
