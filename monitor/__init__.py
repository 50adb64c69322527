"""Tripwatch's stream side: the faust app, the worker, the per-trip processor and its detectors."""
