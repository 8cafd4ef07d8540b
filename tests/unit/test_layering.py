"""The house rule: domain and application import no TensorFlow, YAML, container or adapters."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Inward only: the domain and application import neither frameworks nor the outer layers (the
# adapters, the configs, the package root's doors: unet_defects.cli, .container, ...).
FORBIDDEN = re.compile(r"^\s*(import|from)\s+(tensorflow|keras|yaml|dependency_injector"
                       r"|unet_defects\.(?!domain\b|application\b)\w+|unet_defects\s+import)\b")


def test_domain_and_application_import_without_tensorflow():
    code = (
        "import sys; sys.modules['tensorflow'] = None; sys.modules['keras'] = None\n"
        "import pkgutil, importlib, unet_defects.domain as domain, unet_defects.application as application\n"
        "for package in (domain, application):\n"
        "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_no_outward_imports_in_domain_and_application():
    offenders = []
    for layer in ("domain", "application"):
        for path in (ROOT / layer).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                inward = layer == "domain" and re.match(r"^\s*(import|from)\s+unet_defects\.application\b", line)
                if FORBIDDEN.match(line) or inward:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_importing_the_container_and_cli_does_not_start_tensorflow():
    code = "import sys, unet_defects.container, unet_defects.cli, unet_defects.adapters.fakes; print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_unit_tests_run_without_tensorflow():
    """`pytest tests/unit` with TensorFlow and Keras made unimportable: every unit test passes."""
    code = (
        "import sys; sys.modules['tensorflow'] = None; sys.modules['keras'] = None\n"
        "import pytest\n"
        "sys.exit(pytest.main(['-q', '-n', '0', '-p', 'no:cacheprovider', 'tests/unit', '-k',"
        " 'not test_the_unit_tests_run_without_tensorflow']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
