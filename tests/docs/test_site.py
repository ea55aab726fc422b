"""The documentation site: it builds with ``--strict``, every internal link and anchor resolves,
the generated parts (fault types, JSON Schema) match the code, and bad input fails the build."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
import yaml

from aumai_chaos.experiments.schema import experiment_json_schema
from aumai_chaos.faults import FaultType, fault_classes
from tests.docs.support import build_site, copy_project
from tests.helpers import REPO


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = build_site(REPO, out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "id":
                self.ids.add(value)
            elif name in ("href", "src") and tag in ("a", "img"):
                self.links.append(value)


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _target(site: Path, page: Path, link: str) -> tuple[Path, str] | None:
    """The file and fragment an internal link points at; None for an external one."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
        return None
    path = unquote(parts.path)
    if path.startswith("/"):  # root-relative (the 404 page, built without a site_url)
        file = (site / path.lstrip("/")).resolve()
    else:
        file = page if not path else (page.parent / path).resolve()
    if file.is_dir():
        file = file / "index.html"
    return file, unquote(parts.fragment)


def test_every_internal_link_and_anchor_resolves(site: Path) -> None:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 20
    parsed = {page.resolve(): _parse(page) for page in pages}
    broken: list[str] = []
    checked = 0
    for page, links in parsed.items():
        for link in links.links:
            target = _target(site, page, link)
            if target is None:
                continue
            file, fragment = target
            checked += 1
            where = f"{page.relative_to(site.resolve())}: {link}"
            if not file.is_file():
                broken.append(f"{where} (no such file)")
            elif fragment and file.suffix == ".html":
                ids = parsed[file].ids if file in parsed else _parse(file).ids
                if fragment not in ids:
                    broken.append(f"{where} (no anchor #{fragment})")
    assert checked > 500
    assert not broken, "\n".join(broken)


def test_the_fault_reference_lists_every_fault_type_with_its_fields(site: Path) -> None:
    page = (site / "reference" / "faults" / "index.html").read_text(encoding="utf-8")
    ids = _parse(site / "reference" / "faults" / "index.html").ids
    for fault_type, cls in fault_classes().items():
        assert fault_type.value in ids, fault_type
        assert f"<code>{cls.action.value}</code>" in page
    assert set(fault_classes()) == set(FaultType)
    # a field of one type, with its default, as the class declares it
    assert "<code>retry_after_s</code>" in page
    assert "<code>1.0</code>" in page


def test_the_api_reference_documents_every_public_name(site: Path) -> None:
    import aumai_chaos
    import aumai_chaos.testing
    import aumai_chaos.transport

    for module, page in (
        (aumai_chaos, "aumai_chaos"),
        (aumai_chaos.transport, "transport"),
        (aumai_chaos.testing, "testing"),
    ):
        ids = _parse(site / "reference" / page / "index.html").ids
        missing = [
            n
            for n in module.__all__
            if not n.startswith("_") and f"{module.__name__}.{n}" not in ids
        ]
        assert not missing, f"{module.__name__}: {missing}"


def test_the_published_schema_is_the_models_schema(site: Path) -> None:
    published = json.loads((site / "schema" / "experiment.schema.json").read_text("utf-8"))
    assert published == experiment_json_schema()
    jsonschema.Draft202012Validator.check_schema(published)


@pytest.mark.parametrize(
    "path", sorted((REPO / "examples" / "experiments").glob("*.yaml")), ids=lambda p: p.name
)
def test_the_schema_accepts_every_example_file(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text("utf-8")), experiment_json_schema())


def test_the_schema_rejects_what_the_loader_rejects() -> None:
    bad = {
        "experiment_id": "x",
        "name": "x",
        "duration_seconds": 1,
        "faults": [{"fault_type": "latency", "probabilty": 0.5}],
    }
    with pytest.raises(jsonschema.ValidationError, match="probabilty"):
        jsonschema.validate(bad, experiment_json_schema())


def test_a_page_missing_from_the_navigation_fails_the_build(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    (project / "docs" / "orphan.md").write_text("# Orphan\n", encoding="utf-8")
    proc = build_site(project, tmp_path / "site")
    assert proc.returncode != 0
    assert "orphan.md" in proc.stdout + proc.stderr


def test_a_docstring_mkdocstrings_cannot_parse_fails_the_build(tmp_path: Path) -> None:
    project = copy_project(tmp_path / "project")
    module = project / "src" / "aumai_chaos" / "_docs_probe.py"
    module.write_text(
        'def probe(a: int) -> int:\n    """Probe.\n\n    :param b: not a parameter of probe\n'
        '    """\n    return a\n',
        encoding="utf-8",
    )
    page = project / "docs" / "reference" / "aumai_chaos.md"
    page.write_text(page.read_text("utf-8") + "\n::: aumai_chaos._docs_probe.probe\n", "utf-8")
    proc = build_site(project, tmp_path / "site")
    assert proc.returncode != 0
    assert re.search(r"probe.*\bb\b|\bb\b.*probe", proc.stdout + proc.stderr), proc.stderr
