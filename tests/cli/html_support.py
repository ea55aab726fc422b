"""A real result to render, and a reader of the numbers the HTML report carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from aumai_chaos import ExperimentResult, ExperimentScheduler, FaultConfig
from tests.experiments import workloads
from tests.experiments.support import experiment

NAME = 'Agent <script>alert("x")</script> & "friends"'


def real_result(**fields: object) -> ExperimentResult:
    """A short real run: a workload calling one component under two faults, with objectives
    (the error-rate one is meant to fail: the verdict is ``deviated``)."""
    fields.setdefault("name", NAME)
    fields.setdefault("duration_seconds", 1.5)
    exp = experiment(
        seed=21,
        workload={"target": "tests.experiments.workloads:sync_iteration", "concurrency": 2},
        faults=[
            FaultConfig(
                fault_type="error",
                probability=0.3,
                error_code=503,
                affected_components=[workloads.COMPONENT],
            ),
            FaultConfig(
                fault_type="latency",
                probability=0.4,
                duration_ms=2,
                affected_components=[workloads.COMPONENT],
            ),
        ],
        steady_state=[
            {"component": "workload", "max_error_rate": 0.01, "max_latency_p95_ms": 500},
            {"component": workloads.COMPONENT, "min_calls": 5},
        ],
        **fields,
    )
    scheduler = ExperimentScheduler()
    return scheduler.run(scheduler.schedule(exp))


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    parent: Element | None = None
    children: list[Element] = field(default_factory=list)

    def ancestor(self, **attrs: str) -> Element | None:
        node = self.parent
        while node is not None:
            if all(node.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                return node
            node = node.parent
        return None


_VOID = {"meta", "br", "img", "input", "link", "hr", "col", "wbr", "source"}


class Page(HTMLParser):
    """Every element of the page, with its attributes, text and parent."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._stack: list[Element] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self._stack[-1] if self._stack else None
        element = Element(tag, {k: v or "" for k, v in attrs}, parent=parent)
        if parent is not None:
            parent.children.append(element)
        self.elements.append(element)
        if tag not in _VOID:
            self._stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self._stack.pop()

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._stack:
            element.text += data

    def find(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [
            el
            for el in self.elements
            if (tag is None or el.tag == tag)
            and all(el.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def cells(self, row: Element) -> dict[str, str]:
        """A table row's ``data-field`` -> ``data-value``."""
        return {
            c.attrs["data-field"]: c.attrs["data-value"]
            for c in row.children
            if "data-field" in c.attrs
        }
