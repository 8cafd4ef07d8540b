"""The page at / in a real headless browser (Debian's chromium driven by Playwright): a person
uploads an image and sees the verdict, the boxes and a table equal to /v1/inspect's answer."""

import json
import urllib.request

import imageio.v3 as iio
import numpy as np
import pytest

pytest.importorskip("starlette")

from unet_defects.api import Inspector
from unet_defects.serving.runner import serving_in_thread
from unet_defects.serving.settings import ServeSettings

pytestmark = pytest.mark.slow

IMAGE = np.random.default_rng(11).integers(0, 256, (48, 64), dtype=np.uint8)


@pytest.fixture(scope="module")
def threshold(trained_tiny) -> float:
    """A threshold at the 70th percentile of the image's probabilities: the tiny model's output
    then falls into many components, whatever this CPU's precision made of its weights."""
    probabilities = Inspector.open(model_dir=str(trained_tiny)).inspect(IMAGE).probabilities
    return round(float(np.quantile(probabilities, 0.7)), 6)


@pytest.fixture(scope="module")
def address(trained_tiny, threshold):
    inspector = Inspector.open(model_dir=str(trained_tiny), threshold=threshold, min_area=2)
    with serving_in_thread(inspector, ServeSettings(token="page-token")) as address:
        yield address


def assert_table_matches(rows: list[list[str]], answer: dict) -> None:
    """Each row the page shows against /v1/inspect's record: integers exactly, rounded numbers
    to the places shown (JavaScript and Python round halves differently)."""
    assert len(rows) == len(answer["defects"])
    for index, (row, defect) in enumerate(zip(rows, answer["defects"])):
        number, bbox, area, centroid, highest, mean = row
        assert (int(number), [int(v) for v in bbox.split(", ")], int(area)) == (index + 1, defect["bbox"], defect["area"])
        assert np.allclose([float(v) for v in centroid.split(", ")], defect["centroid"], atol=0.05 + 1e-9)
        assert np.allclose([float(highest), float(mean)], [defect["max_probability"], defect["mean_probability"]],
                           atol=0.0005 + 1e-9)


def test_an_upload_shows_the_verdict_and_the_defects_table(browser, address, threshold, tmp_path):
    path = tmp_path / "part.png"
    iio.imwrite(path, IMAGE)
    upload = urllib.request.Request(f"http://{address}/v1/inspect", data=path.read_bytes(), method="POST",
                                    headers={"Authorization": "Bearer page-token"})
    with urllib.request.urlopen(upload, timeout=30) as response:
        answer = json.loads(response.read())
    assert len(answer["defects"]) > 3, "the image should give the table several rows"

    page = browser.new_page()
    page.goto(f"http://{address}/")
    page.fill("#token", "page-token")
    page.dispatch_event("#token", "change")
    page.set_input_files("#file", str(path))
    page.wait_for_selector("body[data-state=done]", timeout=30_000)
    rows = page.eval_on_selector_all("#defects tbody tr",
                                     "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    assert_table_matches(rows, answer)
    verdict = page.text_content("#verdict")
    assert ("DEFECTIVE" if answer["defective"] else "good") in verdict and f"{answer['score']:.3f}" in verdict
    assert f"threshold {threshold:g}, min_area 2" in page.text_content("#decision")
    assert page.eval_on_selector("#view", "c => [c.width, c.height]") == [64, 48]
    y0, x0, y1, x1 = answer["defects"][0]["bbox"]
    corner = page.eval_on_selector(
        "#view", f"c => Array.from(c.getContext('2d').getImageData({max(x0 - 1, 0)}, {max(y0 - 1, 0)}, 1, 1).data)")
    assert corner[0] > 200 and corner[1] < 80 and corner[2] < 80  # the first defect's box is drawn in red
    # The drift table, drawn again after the page's upload (the second image seen), shows /v1/drift's figures.
    page.wait_for_function("() => document.querySelector('#drift-note').textContent.includes('(2 seen)')",
                           timeout=30_000)
    request = urllib.request.Request(f"http://{address}/v1/drift", headers={"Authorization": "Bearer page-token"})
    with urllib.request.urlopen(request, timeout=30) as response:
        drift = json.load(response)
    shown = page.eval_on_selector_all("#drift tbody tr",
                                      "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    assert [row[0] for row in shown] == list(drift["statistics"])
    for name, psi, bound, window, reference in shown:
        figures = drift["statistics"][name]
        assert float(bound) == figures["bound"] and float(window) == pytest.approx(figures["window"], abs=0.0005)
        assert psi == ("-" if figures["psi"] is None else f"{figures['psi']:.3f}")
        assert reference == ("-" if figures["reference"] is None else f"{figures['reference']:.3f}")
    assert drift["note"] in page.text_content("#drift-note")
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert (tmp_path / "page.png").stat().st_size > 1000


def test_a_wrong_token_shows_the_servers_error_line(browser, address, tmp_path):
    path = tmp_path / "part.png"
    iio.imwrite(path, np.zeros((16, 16), np.uint8))
    page = browser.new_page()
    page.goto(f"http://{address}/")
    page.fill("#token", "wrong")
    page.set_input_files("#file", str(path))
    page.wait_for_selector("body[data-state=error]", timeout=30_000)
    assert page.text_content("#error") == "401: a wrong token: send Authorization: Bearer <token>"
