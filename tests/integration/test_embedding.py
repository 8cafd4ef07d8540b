"""The embedding snippet of docs/embedding.md, run exactly as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"

pytestmark = pytest.mark.slow


def embedding_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Embedding in a Python service", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_embedding_snippet_trains_and_predicts(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(embedding_snippet(), "README.md", "exec"), {"__name__": "embedding"})
    out = capsys.readouterr().out
    assert "trained to step 60" in out
    assert (tmp_path / "predictions" / "part-1_mask.png").is_file()
    assert (tmp_path / "predictions" / "part-1_overlay.png").is_file()
    assert (tmp_path / "service_model" / "model.ckpt-60.index").is_file()
