"""CVAT for images 1.1 XML read into shapes, checked pixel for pixel against masks drawn here
independently: matplotlib's point-in-polygon on pixel centres, numpy slices, the encoded masks."""

from pathlib import Path

import numpy as np
import pytest

from tests.unit.drawn_truth import box_pixels, centres_inside, error_of, masks_of, star
from unet_defects.adapters.datasets.annotations.cvat_xml import read_cvat_xml
from unet_defects.adapters.images import write_png


def cvat_rle(box: np.ndarray) -> str:
    """CVAT's mask RLE from its description: run lengths row by row, background first."""
    flat = box.astype(bool).ravel()
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.r_[0, changes, flat.size])
    return ", ".join(str(n) for n in ([0] if flat[0] else []) + runs.tolist())


def points(vertices) -> str:
    return ";".join(f"{x:.6f},{y:.6f}" for x, y in vertices)


def polygon(label: str, vertices) -> str:
    return f'<polygon label="{label}" source="manual" occluded="0" points="{points(vertices)}" z_order="0"></polygon>'


def box(label: str, x0, y0, x1, y1, rotation=0.0) -> str:
    turned = f' rotation="{rotation}"' if rotation else ""
    return (f'<box label="{label}" source="manual" occluded="0" xtl="{x0:.6f}" ytl="{y0:.6f}" xbr="{x1:.6f}" '
            f'ybr="{y1:.6f}"{turned} z_order="0"><attribute name="depth">2</attribute></box>')


def mask(label: str, left: int, top: int, crop: np.ndarray) -> str:
    height, width = crop.shape
    return (f'<mask label="{label}" source="manual" occluded="0" rle="{cvat_rle(crop)}" left="{left}" top="{top}" '
            f'width="{width}" height="{height}" z_order="0"></mask>')


def image(iid: int, name: str, size, *shapes: str) -> str:
    height, width = size
    return f'<image id="{iid}" name="{name}" width="{width}" height="{height}">\n' + "\n".join(shapes) + "\n</image>"


def document(labels, *images: str, holder: str = "task") -> str:
    declared = "".join(f"<label><name>{name}</name><color>#fa3253</color><type>any</type><attributes/></label>"
                       for name in labels)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n<version>1.1</version>\n'
            f"<meta><{holder}><id>4</id><name>plates</name><labels>{declared}</labels></{holder}>"
            "<dumped>2024-05-01 10:00:00+00:00</dumped></meta>\n" + "\n".join(images) + "\n</annotations>\n")


def write(folder: Path, text: str, images: dict[str, tuple[int, int]], name: str = "annotations.xml") -> Path:
    for file, (height, width) in images.items():
        (folder / file).parent.mkdir(parents=True, exist_ok=True)
        write_png(folder / file, np.zeros((height, width), dtype=np.uint8))
    path = folder / name
    path.write_text(text)
    return path


def error(folder, names=None) -> str:
    return error_of(read_cvat_xml, folder, names)


def test_an_export_reads_pixel_for_pixel(tmp_path):
    rng = np.random.default_rng(23)
    big, plain = (45, 70), (12, 16)
    outline = star(rng, 22.4, 21.7, 17.0)
    x0, y0, x1, y1 = rng.uniform(40, 44), rng.uniform(2, 5), rng.uniform(55, 60), rng.uniform(10, 14)
    cx, cy, w, h, angle = rng.uniform(55, 57), rng.uniform(30, 32), rng.uniform(9, 11), rng.uniform(5, 7), 25.0
    turn = np.radians(angle)  # clockwise on screen (y down) about the centre
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    turned = corners @ np.array([[np.cos(turn), np.sin(turn)], [-np.sin(turn), np.cos(turn)]]) + [cx, cy]
    crop = rng.random((9, 13)) < 0.5
    crop[0, 0] = True  # a defect first: the RLE starts with an empty background run
    text = document(
        ["scratch", "dent", "stain", "unused"],
        image(0, "images/part1.png", big, polygon("scratch", outline), box("dent", x0, y0, x1, y1),
              box("scratch", cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, angle), mask("stain", 30, 33, crop),
              '<polyline label="dent" points="1.0,1.0;5.0,5.0"/>', '<points label="dent" points="3.0,3.0"/>',
              '<tag label="dent" source="manual"/>'),
        image(1, "good.png", plain),
    )
    path = write(tmp_path, text, {"images/part1.png": big, "images/good.png": plain})
    found = read_cvat_xml(tmp_path)
    assert found.source == str(path)
    assert found.categories == ("scratch", "dent", "stain", "unused")  # as <meta> declares them
    assert [item.image for item in found.images] == [tmp_path / "images" / name for name in ("part1.png", "good.png")]
    assert [item.size for item in found.images] == [big, plain]
    first, good = found.images
    scratch, dent, stain, unused = masks_of(found, first, ["scratch", "dent", "stain", "unused"])
    assert np.array_equal(scratch, centres_inside(outline, big) | centres_inside(turned, big))
    assert np.array_equal(dent, box_pixels(x0, y0, x1, y1, big))
    expected = np.zeros(big, dtype=bool)
    expected[33:42, 30:43] = crop
    assert np.array_equal(stain, expected)
    assert not unused.any()
    assert good.shapes == () and not masks_of(found, good, None)[0].any()  # listed without shapes: a good part


def test_rotation_turns_a_box_about_its_centre(tmp_path):
    size = (30, 30)
    x0, y0, x1, y1 = 8.3, 12.2, 20.1, 16.4  # 11.8 x 4.2 about (14.2, 14.3)
    write(tmp_path, document(["d"], image(0, "a.png", size, box("d", x0, y0, x1, y1, 90.0))), {"a.png": size})
    found = read_cvat_xml(tmp_path)
    # A quarter turn about the centre swaps the sides: 4.2 wide, 11.8 high.
    assert np.array_equal(masks_of(found, found.images[0], None)[0], box_pixels(12.1, 8.4, 16.3, 20.2, size))


@pytest.mark.parametrize("holder", ["project", "job"])
def test_labels_of_a_project_or_a_job(tmp_path, holder):
    write(tmp_path, document(["b", "a"], image(0, "a.png", (8, 8)), holder=holder), {"a.png": (8, 8)}, "export.xml")
    (tmp_path / "notes.xml").write_text("<notes/>")
    assert read_cvat_xml(tmp_path).categories == ("b", "a")


def test_a_missing_image_is_named(tmp_path):
    path = tmp_path / "annotations.xml"
    path.write_text(document(["d"], image(3, "absent.png", (8, 8))))
    assert error(tmp_path).startswith(f"{path}: image 3 (absent.png): its image 'absent.png' is not found")


def test_a_polygon_of_two_points_is_named(tmp_path):
    path = write(tmp_path, document(["d"], image(2, "a.png", (20, 20), polygon("d", [(1.5, 2.5), (8.5, 9.5)]))),
                 {"a.png": (20, 20)})
    assert error(tmp_path) == f"{path}: image 2 (a.png) polygon 0: a polygon needs at least 3 points, got 2"


def test_a_vertex_outside_the_image_is_named(tmp_path):
    shapes = [box("d", 1.5, 1.5, 3.5, 3.5), polygon("d", [(1.5, 2.5), (8.5, 19.5), (3.5, 27.0)])]
    path = write(tmp_path, document(["d"], image(2, "a.png", (20, 20), *shapes)), {"a.png": (20, 20)})
    assert error(tmp_path) == f"{path}: image 2 (a.png) polygon 1: vertex (3.5, 27) is outside the 20x20 image"


def test_an_unknown_label_is_named(tmp_path):
    path = write(tmp_path, document(["dent", "scratch"], image(5, "a.png", (20, 20), box("crack", 1, 1, 4, 4))),
                 {"a.png": (20, 20)})
    assert error(tmp_path) == (f"{path}: image 5 (a.png) box 0: unknown category 'crack' (its <meta> declares "
                                  "dent, scratch)")


def test_malformed_xml_is_named_with_its_line_and_column(tmp_path):
    path = tmp_path / "annotations.xml"
    path.write_text('<?xml version="1.0"?>\n<annotations>\n<image id="0" name="a.png" width="8" height="8">\n'
                    '<box label="d" xtl="1" ytl=1 xbr="2" ybr="2"/>\n</image>\n</annotations>\n')
    assert error(tmp_path) == f"{path}: not valid XML (line 4, column 28: not well-formed (invalid token))"


def test_a_mask_box_outside_the_image_is_named(tmp_path):
    crop = np.ones((4, 5), dtype=bool)
    path = write(tmp_path, document(["d"], image(1, "a.png", (10, 12), mask("d", 9, 2, crop))), {"a.png": (10, 12)})
    assert error(tmp_path) == (f"{path}: image 1 (a.png) mask 0: its mask box 5x4 at (9, 2) is outside the 12x10 "
                                  "image")


def test_mask_runs_that_miss_its_box_are_named(tmp_path):
    element = '<mask label="d" rle="3, 4, 5" left="1" top="1" width="4" height="4"/>'
    path = write(tmp_path, document(["d"], image(1, "a.png", (10, 12), element)), {"a.png": (10, 12)})
    assert error(tmp_path) == (f"{path}: image 1 (a.png) mask 0: its rle runs sum to 12, not the 16 pixels of its "
                                  "4x4 box")


def test_the_xml_is_found_once(tmp_path):
    assert "no CVAT annotation file" in error(tmp_path)
    for name in ("one.xml", "two.xml"):
        (tmp_path / name).write_text(document(["d"]))
    assert error(tmp_path) == f"{tmp_path}: two CVAT annotation files, one.xml and two.xml; keep one"
