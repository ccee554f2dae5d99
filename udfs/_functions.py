"""Deprecated home of the catalogue: :mod:`rules.functions.catalogue` now (no xlwings). Kept as a
re-export of :data:`CATALOGUE` while workbook/ and the audit switch their imports; remove then."""

from rules.functions.catalogue import CATALOGUE

__all__ = ["CATALOGUE"]
