"""The Excel functions' bodies as plain Python (no xlwings): ``catalogue`` (the functions,
:data:`CATALOGUE`, their wizard texts), ``rate`` (the rulebook argument, rating whole ranges),
``shape`` (ranges broadcast, exceptions as ``#VALUE!`` / ``#N/A`` texts). ``udfs`` only registers
them with xlwings; the auditor and the template call them here."""

from .catalogue import CATALOGUE, SPECS, Spec

__all__ = ["CATALOGUE", "SPECS", "Spec"]
