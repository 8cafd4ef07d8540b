"""docs/keys.md documents every key the loader accepts: a key without an entry in
configs/key_docs.yaml, an entry of no key, or a stale page fails here."""

from unet_defects.configs import key_reference
from unet_defects.configs.loader import known_keys


def test_every_loader_key_has_a_description_and_every_description_a_key():
    assert key_reference.coverage_problems(key_reference.read_descriptions()) == []


def test_a_key_without_an_entry_and_an_entry_without_a_key_are_named():
    descriptions = key_reference.read_descriptions()
    first = known_keys("model")[0]
    del descriptions["model"][first]
    descriptions["optimizer"]["learning_rat"] = "a typo"
    assert key_reference.coverage_problems(descriptions) == [
        f"model.{first}: no description in key_docs.yaml",
        "optimizer.learning_rat: described in key_docs.yaml but the loader has no such key"]


def test_the_page_is_what_the_specs_and_descriptions_render():
    expected = key_reference.render(key_reference.read_descriptions())
    assert key_reference.PAGE.read_text(encoding="utf-8") == expected, (
        "docs/keys.md is stale: python -m unet_defects.configs.key_reference --write")


def test_the_page_shows_each_key_with_the_default_the_loader_gives():
    page = key_reference.render(key_reference.read_descriptions())
    assert "| `image_fit` | `resize` |" in page and "| `dataset` | required |" in page
    assert "| `class_id` | unset |" in page
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    assert len(rows) == sum(len(known_keys(section)) for section in key_reference.documented_sections())
