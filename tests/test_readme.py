"""The README's compatibility table stays in step with the conformance suite and the installers.

Each row names, in its last column, the e2e test modules that prove it; its "version tested"
column names what was tested as `package==version` (PyPI) or `package@version` (npm). The
tests below check that every named module exists and holds tests, that every conformance
module (`tests/e2e/test_conformance_*.py`) is named, that every version in the table is the
one an installer pins (`pyproject.toml`, `scripts/test`, the e2e clients' and the Vercel AI
recorder's `package.json`), and that every client an installer pins is in the table.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
E2E = REPO_ROOT / "tests" / "e2e"
SCRIPTS_TEST = REPO_ROOT / "scripts" / "test"
PYPROJECT = REPO_ROOT / "pyproject.toml"
PACKAGE_JSONS = (
    E2E / "clients" / "js" / "package.json",
    E2E / "clients" / "js4" / "package.json",
    REPO_ROOT / "tests" / "vectors" / "vercel-ai" / "recorder" / "package.json",
)
# npm packages that are clients (the rest of a package.json is OpenTelemetry plumbing).
NPM_CLIENTS = re.compile(r"^(@langfuse/(tracing|otel|langchain)|ai)$")

SECTION = "## Compatibility"
COLUMNS = ("client", "version tested", "what works", "known limits", "proven by")
PYPI_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.]*)$")
NPM_PIN = re.compile(r"^(@?[a-z0-9][a-z0-9._/-]*)@([0-9][0-9A-Za-z.-]*)$")
QUOTED_PIN = re.compile(r"\"([A-Za-z0-9][A-Za-z0-9._-]*==[0-9][0-9A-Za-z.]*)\"")
TEST_MODULE = re.compile(r"^test_[a-z0-9_]+\.py$")
CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the compatibility table, cell by cell."""

    client: str
    versions: str
    works: str
    limits: str
    proven_by: str

    def code(self, cell: str) -> list[str]:
        """The `code spans` of one of this row's cells."""
        return CODE.findall(cell)


def table_lines(readme: str) -> list[str]:
    """The lines of the first table in the README's compatibility section."""
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    lines = [line.strip() for line in section.splitlines()]
    start = next(index for index, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def compatibility_rows(readme: str) -> tuple[list[str], list[Row]]:
    """(the header's cells, the rows) of the compatibility table."""
    header, separator, *body = table_lines(readme)
    assert set(separator) <= set("|-: "), separator
    return cells(header), [Row(*cells(line)) for line in body]


def pypi_pins() -> dict[str, set[str]]:
    """Every `name==version` that pyproject.toml's extras or scripts/test pin."""
    extras = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    pins = [pin for group in extras.values() for pin in group if "==" in pin]
    pins += QUOTED_PIN.findall(SCRIPTS_TEST.read_text())
    found: dict[str, set[str]] = {}
    for pin in pins:
        name, version = pin.split("==")
        found.setdefault(name.lower(), set()).add(version)
    return found


def npm_pins() -> dict[str, set[str]]:
    """Every package version the package.json files pin (`npm:` aliases resolved)."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE_JSONS:
        for name, spec in json.loads(path.read_text())["dependencies"].items():
            if spec.startswith("npm:"):
                name, spec = spec.removeprefix("npm:").rsplit("@", 1)
            found.setdefault(name, set()).add(spec)
    return found


def table_versions(rows: list[Row], pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """(package, version) for every version cell's code span that PATTERN matches."""
    return [
        (match.group(1), match.group(2))
        for row in rows
        for code in row.code(row.versions)
        if (match := pattern.match(code))
    ]


def named_modules(rows: list[Row]) -> list[str]:
    return [code for row in rows for code in row.code(row.proven_by)]


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    header, found = compatibility_rows(README.read_text(encoding="utf-8"))
    assert len(header) == len(COLUMNS), header
    for cell, column in zip(header, COLUMNS, strict=True):
        assert cell.lower().startswith(column), header
    return found


def test_every_row_fills_every_column(rows: list[Row]) -> None:
    assert len(rows) >= 9
    for row in rows:
        assert all((row.client, row.versions, row.works, row.limits, row.proven_by)), row
        assert row.code(row.versions), f"{row.client}: no version in backticks"


def test_every_named_module_exists_and_holds_tests(rows: list[Row]) -> None:
    for row in rows:
        modules = row.code(row.proven_by)
        assert modules, f"{row.client}: names no test module"
        for name in modules:
            assert TEST_MODULE.match(name), f"{row.client}: {name!r} is not a test module"
            text = (E2E / name).read_text(encoding="utf-8")
            assert re.search(r"^def test_", text, re.MULTILINE), f"{name} holds no test"


def test_every_conformance_module_is_named_in_the_table(rows: list[Row]) -> None:
    modules = sorted(path.name for path in E2E.glob("test_conformance_*.py"))
    assert modules
    assert sorted(set(modules) - set(named_modules(rows))) == []


def test_every_pypi_version_in_the_table_is_pinned_by_an_installer(rows: list[Row]) -> None:
    pins = pypi_pins()
    versions = table_versions(rows, PYPI_PIN)
    assert versions
    for name, version in versions:
        assert version in pins.get(name.lower(), set()), f"{name}=={version} is not pinned"


def test_every_npm_version_in_the_table_is_pinned_by_a_package_json(rows: list[Row]) -> None:
    pins = npm_pins()
    versions = table_versions(rows, NPM_PIN)
    assert versions
    for name, version in versions:
        assert version in pins.get(name, set()), f"{name}@{version} is not in a package.json"


def test_every_pinned_client_version_is_in_the_table(rows: list[Row]) -> None:
    in_table = {(name.lower(), version) for name, version in table_versions(rows, PYPI_PIN)}
    in_table |= set(table_versions(rows, NPM_PIN))
    pinned = {(name, version) for name, versions in pypi_pins().items() for version in versions}
    pinned |= {
        (name, version)
        for name, versions in npm_pins().items()
        if NPM_CLIENTS.match(name)
        for version in versions
    }
    assert sorted(pinned - in_table) == []


def test_the_table_reader_finds_what_it_is_given() -> None:
    readme = (
        "# x\n\n## Compatibility\n\ntext\n\n| client | version tested | what works | known"
        " limits | proven by |\n|---|---|---|---|---|\n| A | `a==1.0`, `@b/c@2.1` | w | l |"
        " `test_a.py` |\n\n| other | table |\n\n## Next\n"
    )
    header, found = compatibility_rows(readme)
    assert header == ["client", "version tested", "what works", "known limits", "proven by"]
    assert found == [Row("A", "`a==1.0`, `@b/c@2.1`", "w", "l", "`test_a.py`")]
    assert table_versions(found, PYPI_PIN) == [("a", "1.0")]
    assert table_versions(found, NPM_PIN) == [("@b/c", "2.1")]
    assert named_modules(found) == ["test_a.py"]
