"""Regenerate the README's pictures from the current code: ``make docs-images``.

``docs/images/report.png``: a real run of ``examples/experiments/agent-experiment.yaml``
(``aumai-chaos run ... --output``), rendered by ``aumai-chaos report --format html`` and
screenshotted by headless Chromium. Run from the repository root.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.browser import screenshot

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = ROOT / "examples" / "experiments" / "agent-experiment.yaml"
OUTPUT = ROOT / "docs" / "images" / "report.png"
#: Tall enough for the verdict, the timeline, the charts and the tables.
SIZE = (1280, 1480)


def _cli(*args: str) -> None:
    command = [sys.executable, "-m", "aumai_chaos", *args]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=False)
    if done.returncode not in (0, 1):  # 1: a verdict other than passed is still a report
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="aumai-docs-") as tmp:
        result, page = Path(tmp) / "result.json", Path(tmp) / "report.html"
        _cli("run", "--experiment", str(EXPERIMENT), "--output", str(result))
        _cli("report", str(result), "--format", "html", "--output", str(page))
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        screenshot(page, OUTPUT, width=SIZE[0], height=SIZE[1])
    print(f"wrote {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
