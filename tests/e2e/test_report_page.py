"""`unet report` on a real evaluated model_dir draws the evaluation's pictures again and writes
report.html, opened in headless chromium: every picture loads from the file alone, every section
is there, and a screenshot is kept."""

import shutil
import time

import pytest

from tests.conftest import unet_in_process as unet
from unet_defects.application.report_page import EVALUATION_PICTURES

pytestmark = pytest.mark.slow

SECTIONS = ("plan", "curves", "pictures", "decision", "scores")


def test_report_writes_one_page_that_opens_alone_in_a_browser(trained_tiny, browser, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(trained_tiny, model)  # the session's model stays as it was
    evaluated = unet("run", "--params", str(model / "params.yaml"), "--model_dir", str(model), "--mode", "eval")
    assert evaluated.returncode == 0, evaluated.stderr
    # the evaluation drew its pictures, and kept what they were drawn from for unet report
    folders = [folder for folder in (model / "eval", model / "eval" / "test") if (folder / "pictures.npz").is_file()]
    assert model / "eval" in folders
    for name, _, _ in EVALUATION_PICTURES:
        assert (model / "eval" / name).stat().st_size > 0, name
    (model / "eval" / "pr_curves.png").unlink()  # unet report draws it again

    started = time.perf_counter()
    report = unet("report", "--model_dir", str(model))
    print(f"unet report: {time.perf_counter() - started:.2f} s, the page and the chart together")
    assert report.returncode == 0, report.stderr
    assert (model / "eval" / "pr_curves.png").is_file()
    assert f"wrote {model}/report.html (the run on one page" in report.stdout
    html = (model / "report.html").read_text()
    assert 'src="http' not in html and "<link" not in html and "<script" not in html

    page = browser.new_page()
    page.goto((model / "report.html").as_uri())
    widths = page.eval_on_selector_all("img", "images => images.map(image => image.complete && image.naturalWidth)")
    assert len(widths) == 1 + len(folders) * len(EVALUATION_PICTURES)  # report.png, then each folder's
    assert all(width > 0 for width in widths), widths
    assert page.eval_on_selector_all("section", "sections => sections.map(section => section.id)") == list(SECTIONS)
    headings = page.eval_on_selector_all("#pictures h3", "headings => headings.map(h => h.textContent)")
    assert "(eval/)" in headings[-1] and len(headings) == len(folders)
    assert "mIOU" in page.inner_text("#scores") and "what it means" in page.inner_text("#scores")
    assert "from the config" in page.inner_text("#decision")
    page.screenshot(path=tmp_path / "report.png", full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 0
