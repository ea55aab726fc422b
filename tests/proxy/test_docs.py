"""docs/proxy.md stays true: every option is in its table, its experiment loads and the proxy
accepts it."""

from __future__ import annotations

import re

import typer
import yaml

from aumai_chaos.cli import commands
from aumai_chaos.experiments.models import ChaosExperiment
from aumai_chaos.proxy import check_for_proxy, parse_upstreams
from tests.helpers import REPO

DOC = (REPO / "docs" / "proxy.md").read_text(encoding="utf-8")


def test_every_option_is_documented() -> None:
    group = typer.main.get_command(commands.app)
    params = group.commands["proxy"].params  # type: ignore[attr-defined]
    options = {opt for p in params for opt in p.opts} - {"--help", "-h"}
    table = DOC.split("## Options\n", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"`(--?[a-z-]+)", table)) == options


def test_the_node_example_experiment_is_one_the_proxy_runs() -> None:
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S) if "rate-limits" in b]
    exp = ChaosExperiment.model_validate(yaml.safe_load(block))
    assert check_for_proxy(exp, "rate-limits.yaml", parse_upstreams(["https://api.openai.com"]))
