"""The docs' tables of what each SDK raises are what the installed SDKs raise now.

``scripts/sdk_table.py`` (``make docs-sdk-table``) observes every case live, as the stream tests
do, and writes the tables into the docs. Here it observes them again and compares with what is
committed: an SDK release that changes what it raises (anthropic 2.17 started wrapping stream
errors) fails this test until the tables are regenerated. The line naming the versions is left
out of the comparison: a new release that raises the same keeps the tables true.
"""

from __future__ import annotations

import pytest
from scripts import sdk_table

pytestmark = pytest.mark.slow


def _table(block: str) -> list[str]:
    return [line for line in block.splitlines() if not line.startswith("Observed with ")]


@pytest.mark.parametrize("name", sorted(sdk_table.BLOCKS))
def test_the_committed_table_is_what_the_sdks_raise_now(name: str) -> None:
    path, _ = sdk_table.BLOCKS[name]
    committed = sdk_table.current_block(path.read_text(encoding="utf-8"), f"sdk-table:{name}")
    assert committed.startswith("Observed with openai ")
    assert _table(committed) == _table(sdk_table.render(name)), (
        f"{path.name} is stale: run make docs-sdk-table"
    )


def test_a_block_is_replaced_between_its_markers_only() -> None:
    text = "a\n<!-- sdk-table:x -->\nold\n<!-- /sdk-table -->\nb\n"
    new = sdk_table.replace_block(text, "sdk-table:x", "new\nlines")
    assert new == "a\n<!-- sdk-table:x -->\nnew\nlines\n<!-- /sdk-table -->\nb\n"
    assert sdk_table.current_block(new, "sdk-table:x") == "new\nlines"
    with pytest.raises(ValueError, match="no <!-- sdk-table:y --> block"):
        sdk_table.replace_block(text, "sdk-table:y", "")
