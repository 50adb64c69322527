"""Detectors, one module per family; each registers itself by name (a rule's `detector`) with
`base.register`. Importing this package imports every module in it, so adding a detector is
adding a module here; the command line imports it once at start (tripwatch/cli.py)."""

import importlib
import pkgutil

from monitor.detectors.base import DETECTORS, Detector

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["DETECTORS", "Detector"]
