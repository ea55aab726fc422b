"""aumai-chaos overhead benchmarks: ``python -m benchmarks`` (``make bench``).

Every section returns :class:`~benchmarks.harness.Row` objects; :mod:`benchmarks.report` turns
them into the markdown table that is printed and written to ``benchmarks/results/latest.md``.
"""

from .harness import Budget, Row

__all__ = ["Budget", "Row"]
