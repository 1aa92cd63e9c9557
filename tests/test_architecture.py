"""The architecture of DESIGN.md, checked: dependencies point one way, vendors stay in devices/.

Also: the code is ruff-clean, and every command has help text.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PACKAGES = ("kiosk", "devices", "backend", "mqtt", "provisioning")
VENDORS = {"smartcard", "dlib", "face_recognition", "cv2", "escpos", "usb", "serial"}

# package -> the project packages it must never import
FORBIDDEN = {
    "devices": {"kiosk", "mqtt", "backend", "provisioning"},
    "mqtt": {"kiosk", "backend", "devices", "provisioning"},
    "backend": {"kiosk", "devices"},
    "kiosk": {"backend"},
    "provisioning": {"kiosk"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def sources(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_dependencies_point_one_way(package: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(imports_of(path) & FORBIDDEN[package])
        for path in sources(package)
        if imports_of(path) & FORBIDDEN[package]
    }
    assert offenders == {}


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "devices"])
def test_only_devices_imports_vendor_libraries(package: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(imports_of(path) & VENDORS)
        for path in sources(package)
        if imports_of(path) & VENDORS
    }
    assert offenders == {}


def test_the_code_is_ruff_clean() -> None:
    result = subprocess.run(
        [BIN / "ruff", "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["fleet-backend", "--help"],
        ["fleet-backend", "serve", "--help"],
        ["fleet-backend", "ingest", "--help"],
        ["fleet-backend", "db", "upgrade", "--help"],
        ["fleet-backend", "db", "current", "--help"],
        ["kiosk-agent", "--help"],
        ["fleet-backend", "admin", "create-token", "--help"],
        ["fleet-backend", "admin", "create-user", "--help"],
        ["fleet-backend", "audit", "verify", "--help"],
        ["fleet-backend", "audit", "checkpoint", "--help"],
        ["fleet-backend", "audit", "public-key", "--help"],
        ["fleet-backend", "audit", "rotate-key", "--help"],
        ["fleet-sim", "--help"],
        ["fleet-backend", "ca", "init", "--help"],
        ["kioskctl", "enrol", "--help"],
        ["kioskctl", "selftest", "--help"],
        ["kioskctl", "status", "--help"],
        ["kiosk", "--help"],
        ["mqtt-contract", "--help"],
        ["mqtt-contract", "export-schemas", "--help"],
    ],
)
def test_every_command_has_help(argv: list[str]) -> None:
    result = subprocess.run([BIN / argv[0], *argv[1:]], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert len(result.stdout.strip().splitlines()) >= 3


def test_no_file_reaches_outside_the_project() -> None:
    """A public clone has nothing beside it: no path into the folder of design notes that
    stood beside the project while it was written."""
    needles = ("../" + "shared", '"' + 'shared" /')
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = []
    for name in tracked:
        path = REPO / name
        if path.suffix in {".png", ".jpg", ".jpeg", ".gz", ".onnx"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        if any(needle in text for needle in needles):
            offenders.append(name)
    assert offenders == []
