"""Label Studio's JSON export read into shapes, checked pixel for pixel against masks drawn here
independently (matplotlib's point-in-polygon on pixel centres, numpy slices, the encoded masks),
and its brush RLE decoded against vectors from Label Studio's own encoder."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.unit.drawn_truth import box_pixels, centres_inside, error_of, masks_of, star
from unet_defects.adapters.datasets.annotations import brush_rle
from unet_defects.adapters.datasets.annotations.label_studio import read_label_studio
from unet_defects.adapters.images import write_png
from unet_defects.domain.annotations import choose_classes, class_runs

DATA = Path(__file__).resolve().parent / "data"


# --- the brush RLE ---------------------------------------------------------------------------

def sdk_masks() -> dict[str, np.ndarray]:
    """The masks tests/unit/data/label_studio_brush.json encodes (label-studio-sdk's mask2rle)."""
    yy, xx = np.mgrid[:23, :37]
    return {
        "ellipse_23x37": (((xx - 18) / 11.0) ** 2 + ((yy - 11) / 6.0) ** 2 <= 1).astype(np.uint8) * 255,
        "noise_9x11": (np.random.default_rng(0).random((9, 11)) < 0.4).astype(np.uint8) * 255,
        "empty_4x5": np.zeros((4, 5), dtype=np.uint8),
        "full_6x3": np.full((6, 3), 255, dtype=np.uint8),
    }


def brush_encode(values, word: int = 8, fields=(3, 4, 8, 16)) -> tuple[list[int], set[tuple[bool, int]]]:
    """The format written from its description: header, then repeated runs for equal neighbours and
    literal runs for the rest. Also which (repeat, field) kinds of run it wrote."""
    values = np.asarray(values, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(values)) + 1]
    lengths = np.diff(np.r_[starts, len(values)])
    bits = [f"{len(values):032b}", f"{word - 1:05b}", *(f"{size - 1:04b}" for size in fields)]
    kinds: set[tuple[bool, int]] = set()
    longest = 2 ** max(fields)

    def run(repeat: bool, words: list[int], count: int) -> None:
        field = next(i for i, size in enumerate(fields) if count - 1 < 2 ** size)
        kinds.add((repeat, field))
        bits.append(f"{int(repeat)}{field:02b}{count - 1:0{fields[field]}b}" + "".join(f"{w:0{word}b}" for w in words))

    literal: list[int] = []

    def flush() -> None:
        while literal:
            chunk = literal[:longest]
            del literal[:longest]
            run(False, chunk, len(chunk))

    for start, length in zip(starts, lengths):
        value = int(values[start])
        if length == 1:
            literal.append(value)
            continue
        flush()
        while length:
            count = min(int(length), longest)
            run(True, [value], count)
            length -= count
    flush()
    stream = "".join(bits)
    stream += "0" * (-len(stream) % 8)
    return [int(stream[i:i + 8], 2) for i in range(0, len(stream), 8)], kinds


def rgba(mask: np.ndarray) -> np.ndarray:
    """A mask as Label Studio's encoder flattens it: each value 4 times, row by row."""
    return np.repeat(mask.astype(np.int64).ravel(), 4)


def error(folder, names=None) -> str:
    return error_of(read_label_studio, folder, names)


@pytest.mark.parametrize("name", sorted(sdk_masks()))
def test_decoder_matches_label_studios_encoder(name):
    vectors = json.loads((DATA / "label_studio_brush.json").read_text())
    mask = sdk_masks()[name]
    decoded = brush_rle.decode(vectors[name], *mask.shape)
    assert decoded.dtype == bool and decoded.shape == mask.shape
    assert np.array_equal(decoded, mask != 0)
    assert np.array_equal(brush_rle.decode_values(vectors[name]), rgba(mask))


@pytest.mark.parametrize("word", [8, 12])
def test_round_trip_of_literal_and_repeated_runs(word):
    rng = np.random.default_rng(5)
    height, width = 300, 260
    mask = np.zeros((height, width), dtype=np.uint8)
    mask[150:] = rng.random((150, width)) < 0.5  # noise below, 130 blank rows above: a run past 2**16 values
    values = rgba(mask * 255).reshape(height, width, 4)
    values[200:, :, :3] = rng.integers(0, 2 ** word, (100, width, 3))  # colours that never repeat: literal runs
    values[200:, :, 3] = mask[200:] * rng.integers(1, 2 ** word, (100, width))  # alphas of any nonzero value
    encoded, kinds = brush_encode(values.ravel(), word=word)
    assert {repeat for repeat, _ in kinds} == {True, False} and {field for _, field in kinds} == {0, 1, 2, 3}
    assert np.array_equal(brush_rle.decode_values(encoded), values.ravel())
    assert np.array_equal(brush_rle.decode(encoded, height, width), mask != 0)


@pytest.mark.parametrize(
    "cut, size, reason",
    [
        (lambda e: e[:3], (9, 11), "the stream ends within its header"),
        (lambda e: e[:20], (9, 11), "the stream ends within the run at value"),
        (lambda e: e, (9, 12), "it holds 396 values, not the 432 of a 12x9 RGBA image"),
        (lambda e: [*e[:5], 300, *e[6:]], (9, 11), "list of byte values"),
        (lambda e: [0, 0, 0, 2, *e[4:]], (1, 1), "not the 4 of a 1x1"),
    ],
)
def test_a_malformed_stream_names_its_fault(cut, size, reason):
    encoded = json.loads((DATA / "label_studio_brush.json").read_text())["noise_9x11"]
    with pytest.raises(ValueError, match=reason):
        brush_rle.decode(cut(encoded), *size)


def test_a_run_past_the_declared_values_is_refused():
    encoded, _ = brush_encode(np.zeros(400, dtype=np.int64))  # one repeated run of 400 values
    encoded[:4] = (4).to_bytes(4, "big")  # declares 4 values: a 1x1 image
    with pytest.raises(ValueError, match="the run at value 0 .400 values. overruns the 4 values"):
        brush_rle.decode(encoded, 1, 1)


# --- the export --------------------------------------------------------------------------------







def image(folder: Path, name: str, height: int, width: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_png(folder / name, np.zeros((height, width), dtype=np.uint8))


def region(kind: str, label: str, value: dict, size, rid: str) -> dict:
    height, width = size
    return {"id": rid, "type": kind, "from_name": "label", "to_name": "image", "original_width": width,
            "original_height": height, "image_rotation": 0, "value": {**value, kind: [label]}}


def polygon_region(vertices, label, size, rid) -> dict:
    height, width = size
    points = [[x * 100 / width, y * 100 / height] for x, y in vertices]
    return region("polygonlabels", label, {"points": points, "closed": True}, size, rid)


def rectangle_region(x, y, w, h, rotation, label, size, rid) -> dict:
    height, width = size
    value = {"x": x * 100 / width, "y": y * 100 / height, "width": w * 100 / width, "height": h * 100 / height,
             "rotation": rotation}
    return region("rectanglelabels", label, value, size, rid)


def brush_region(encoded, label, size, rid) -> dict:
    return region("brushlabels", label, {"format": "rle", "rle": encoded}, size, rid)


def task(tid: int, url: str, *annotations: tuple[list, bool]) -> dict:
    return {"id": tid, "data": {"image": url}, "annotations": [
        {"id": 100 * tid + k, "result": result, "was_cancelled": cancelled, "completed_by": 1}
        for k, (result, cancelled) in enumerate(annotations)]}


def export(folder: Path, tasks: list, name: str = "project-1-at-2024-05-01-10-00-abcdef12.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(tasks))
    return path


def test_an_export_reads_pixel_for_pixel(tmp_path):
    rng = np.random.default_rng(11)
    big, small, plain = (40, 60), (9, 11), (17, 23)  # the good part is given no size: nothing is drawn on it
    image(tmp_path / "images", "part1.png", *big)
    image(tmp_path / "images", "pits.png", *small)
    image(tmp_path, "good.png", *plain)
    image(tmp_path, "unlabelled.png", *plain)
    polygon = star(rng, 20.3, 18.7, 15.0)
    x, y, w, h = rng.uniform(35, 40), rng.uniform(3, 6), rng.uniform(10, 15), rng.uniform(6, 9)
    rx, ry, rw, rh, angle = rng.uniform(42, 44), rng.uniform(20, 22), rng.uniform(8, 10), rng.uniform(4, 6), 30.0
    turn = np.radians(angle)
    offsets = np.array([[0, 0], [rw, 0], [rw, rh], [0, rh]]) @ np.array([[np.cos(turn), np.sin(turn)],
                                                                          [-np.sin(turn), np.cos(turn)]])
    brush = (rng.random(big) < 0.3).astype(np.uint8) * 255
    brush_encoded, _ = brush_encode(rgba(brush))
    sdk = json.loads((DATA / "label_studio_brush.json").read_text())["noise_9x11"]
    cancelled = [polygon_region(star(rng, 30, 20, 10), "ghost", big, "c1")]
    tasks = [
        task(1, "/data/upload/1/1a2b3c4d-part1.png", (cancelled, True), ([
            polygon_region(polygon, "scratch", big, "p1"),
            {"id": "k1", "type": "choices", "value": {"choices": ["bad"]}, "from_name": "verdict", "to_name": "image"},
            rectangle_region(x, y, w, h, 0, "dent", big, "r1"),
            rectangle_region(rx, ry, rw, rh, angle, "scratch", big, "r2"),
            brush_region(brush_encoded, "stain", big, "b1"),
            {"id": "kp", "type": "keypointlabels", "original_width": 60, "original_height": 40,
             "value": {"x": 5, "y": 5, "width": 1, "keypointlabels": ["corner"]}},
        ], False)),
        task(2, "http://localhost:8080/data/local-files/?d=images%2Fpits.png", ([
            brush_region(sdk, "pit", small, "b2")], False)),
        task(3, "/data/upload/1/99aa88bb-good.png", ([], False)),
        task(4, "/data/upload/1/77cc66dd-unlabelled.png", ([polygon_region(polygon, "ghost", big, "c2")], True)),
        task(5, "/data/upload/1/55ee44ff-unlabelled.png"),
    ]
    path = export(tmp_path, tasks)
    found = read_label_studio(tmp_path)
    assert found.source == str(path)
    assert found.categories == ("scratch", "dent", "stain", "pit")  # first drawn; the cancelled "ghost" never read
    images = tmp_path / "images"
    assert [item.image for item in found.images] == [images / "part1.png", images / "pits.png", tmp_path / "good.png"]
    assert [item.size for item in found.images] == [big, small, None]  # a good part: no size given, none drawn
    first, pits, good = found.images
    assert first.where == f"{path}: task 1"
    scratch, dent, stain, pit = masks_of(found, first, ["scratch", "dent", "stain", "pit"])
    assert np.array_equal(scratch, centres_inside(polygon, big) | centres_inside(offsets + [rx, ry], big))
    assert np.array_equal(dent, box_pixels(x, y, x + w, y + h, big))
    assert np.array_equal(stain, brush != 0)
    assert not pit.any()
    assert np.array_equal(masks_of(found, pits, ["pit"])[0], sdk_masks()["noise_9x11"] != 0)
    assert good.shapes == () and class_runs(good, choose_classes(found.categories, None, None, found.source)) == ("",)


def test_rotation_turns_a_rectangle_clockwise_about_its_top_left_corner(tmp_path):
    size = (30, 30)
    image(tmp_path, "a.png", *size)
    x, y, w, h = 15.2, 5.3, 10.4, 4.1
    export(tmp_path, [task(1, "/data/upload/1/a.png", ([rectangle_region(x, y, w, h, 90, "d", size, "r")], False))])
    found = read_label_studio(tmp_path)
    # A quarter turn clockwise on screen (y down): the width now runs down from (x, y), the height to its left.
    assert np.array_equal(masks_of(found, found.images[0], None)[0], box_pixels(x - h, y, x, y + w, size))


def test_the_first_annotation_not_cancelled_is_read(tmp_path):
    size = (20, 20)
    image(tmp_path, "a.png", *size)
    box = [rectangle_region(2.2, 3.3, 5.1, 6.2, 0, label, size, label) for label in ("first", "second")]
    export(tmp_path, [task(1, "a.png", ([box[0]], True), ([box[1]], False), ([box[0]], False))])
    assert read_label_studio(tmp_path).categories == ("second",)


def test_a_missing_image_is_named(tmp_path):
    path = export(tmp_path, [task(7, "/data/upload/3/0f0f0f0f-absent.png", ([], False))])
    assert error(tmp_path).startswith(f"{path}: task 7: its image '/data/upload/3/0f0f0f0f-absent.png' is not found")


def test_a_polygon_of_two_points_is_named(tmp_path):
    image(tmp_path, "a.png", 20, 20)
    two = polygon_region([(1.5, 2.5), (8.5, 9.5)], "d", (20, 20), "xy")
    path = export(tmp_path, [task(3, "a.png", ([two], False))])
    assert error(tmp_path) == f"{path}: task 3 result 'xy': a polygon needs at least 3 points, got 2"


def test_a_vertex_outside_the_image_is_named(tmp_path):
    image(tmp_path, "a.png", 20, 20)
    vertices = [(1.5, 2.5), (8.5, 9.5), (25.0, 3.5)]
    path = export(tmp_path, [task(4, "a.png", ([polygon_region(vertices, "d", (20, 20), "far")], False))])
    assert error(tmp_path).startswith(f"{path}: task 4 result 'far': vertex (25, 3.5) is outside the 20x20 image")


def test_malformed_json_is_named_with_its_line(tmp_path):
    path = tmp_path / "export.json"
    path.write_text('[{"id": 1, "data": {"image": "a.png"},\n "annotations": [}]\n')
    assert error(tmp_path).startswith(f"{path}: not valid JSON (line 2, column 18")


def test_a_brush_of_another_size_than_its_image_is_named(tmp_path):
    image(tmp_path, "a.png", 10, 11)
    encoded = json.loads((DATA / "label_studio_brush.json").read_text())["noise_9x11"]
    path = export(tmp_path, [task(5, "a.png", ([brush_region(encoded, "d", (10, 11), "brush")], False))])
    assert error(tmp_path) == (f"{path}: task 5 result 'brush': cannot decode its brush RLE (it holds 396 values, "
                                  "not the 440 of a 11x10 RGBA image)")


def test_the_export_is_found_once(tmp_path):
    assert "no Label Studio export" in error(tmp_path)
    (tmp_path / "other.json").write_text('{"images": []}')
    assert "no Label Studio export" in error(tmp_path)
    export(tmp_path, [task(1, "a.png")], "one.json")
    export(tmp_path, [task(1, "a.png")], "two.json")
    assert error(tmp_path) == f"{tmp_path}: two Label Studio exports, one.json and two.json; keep one per folder"
