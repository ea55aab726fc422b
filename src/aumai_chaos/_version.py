"""The package version, kept in this one place: pyproject.toml reads it (hatchling's
``[tool.hatch.version] path``), and so do ``aumai-chaos --version`` and the meter's scope."""

__version__ = "0.1.0"
