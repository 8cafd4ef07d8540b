"""The embedding snippet of docs/embedding.md, run exactly as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "docs" / "embedding.md"

pytestmark = pytest.mark.slow


def snippet(heading: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def embedding_snippet() -> str:
    return snippet("## Embedding in a Python service")


def test_readme_embedding_snippet_trains_and_predicts(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    exec(compile(embedding_snippet(), "README.md", "exec"), {"__name__": "embedding"})
    out = capsys.readouterr().out
    assert "trained to step 60" in out
    assert (tmp_path / "predictions" / "part-1_mask.png").is_file()
    assert (tmp_path / "predictions" / "part-1_overlay.png").is_file()
    assert (tmp_path / "service_model" / "model.ckpt-60.index").is_file()
    exec(compile(snippet("## The Inspector"), "embedding.md", "exec"), {"__name__": "inspector"})
    out = capsys.readouterr().out
    assert "opened the latest checkpoint, step 60 with threshold" in out
    assert out.count("score ") == 1 and ("defective" in out or "good" in out)
