"""Deprecated home of ranges and error texts: :mod:`rules.functions.shape` now (no xlwings).
Kept as a re-export for old imports; remove once nothing uses it."""

from rules.functions.shape import broadcast_shape, cells, error_text, fit, safe

__all__ = ["broadcast_shape", "cells", "error_text", "fit", "safe"]
