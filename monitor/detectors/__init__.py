"""Detectors: plain functions from trip state (and the rule's parameters) to incident changes."""
