"""The documentation site builds in strict mode (a broken link, an unknown anchor or a page left
out of mkdocs.yml's nav fails it), and the README's links reach files of the repository."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs", reason='the [docs] extra is not installed: pip install -e ".[docs]"')
    pytest.importorskip("material", reason='the [docs] extra is not installed: pip install -e ".[docs]"')
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "keys" / "index.html").is_file()


def test_the_readme_links_reach_files():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = [target.split("#")[0] for target in re.findall(r"\]\(([^)\s]+)\)", readme)
               if not re.match(r"[a-z]+://", target)]
    assert targets, "the README links to no page"
    missing = [target for target in targets if target and not (ROOT / target).exists()]
    assert missing == []
