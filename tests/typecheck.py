"""Type-check the domain, the application and the composition root with mypy: `python -m tests.typecheck` (CI runs it).

The installed package is unet_defects (pyproject's package-dir maps the repository's folders
into it), and an editable install reaches it through an import hook that mypy does not follow.
So this links the folders into a throwaway unet_defects/ tree, checks that, and names the
repository's files in what it prints."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Repository folder -> where it sits in the package (pyproject.toml's package-dir).
PACKAGE_DIR = {"entrypoints": "", "domain": "domain", "application": "application", "adapters": "adapters",
               "configs": "configs"}
CHECKED = ("unet_defects.domain", "unet_defects.application")
# The composition root, so its providers' and factories' types are read against the ports.
MODULES = ("unet_defects.container", "unet_defects.adapter_factories")


def linked_tree(target: Path) -> Path:
    package = target / "unet_defects"
    package.mkdir()
    for entry in (ROOT / "entrypoints").iterdir():
        (package / entry.name).symlink_to(entry)
    for folder, inside in PACKAGE_DIR.items():
        if inside:
            (package / inside).symlink_to(ROOT / folder)
    return package


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="unet-typecheck-") as scratch:
        package = linked_tree(Path(scratch))
        command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                   "--cache-dir", str(ROOT / ".mypy_cache"), *(f"-p{name}" for name in CHECKED),
                   *(f"-m{name}" for name in MODULES)]
        result = subprocess.run(command, cwd=scratch, capture_output=True, text=True,
                                env={**os.environ, "MYPYPATH": scratch})
        output = result.stdout + result.stderr
        for folder, inside in PACKAGE_DIR.items():
            if inside:
                output = output.replace(f"unet_defects/{inside}/", f"{folder}/")
        print(output.replace(str(package) + "/", "entrypoints/").replace("unet_defects/", "entrypoints/"), end="")
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
