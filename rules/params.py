"""The parameters of detectors, as data: a rule's `params` are validated against these.

Every threshold of detection lives in a rule file. Each detector declares the model of its
`params` next to its code (a `Params` subclass: type, bounds, and the default a rule file may
leave out) and registers it here by name (`register` in monitor/detectors/base.py), so the
loader knows every detector without a list of them.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict


class Params(BaseModel):
    # strict: a quoted number (`grace_s: "300"`) or a quoted `"true"` is a mistake, not a value
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class NoParams(Params):
    """A detector without parameters."""


def known_zone(name: str) -> ZoneInfo:
    """The zone named `name`; a ValueError (a validation error in a rule) when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


# detector name -> the model of its `params`, filled as the detectors register
DETECTOR_PARAMS: dict[str, type[BaseModel]] = {}


def register(detector: str, model: type[BaseModel]) -> None:
    """Make `detector`'s params known to the loader; a second, different model for it is an error."""
    known = DETECTOR_PARAMS.setdefault(detector, model)
    if known is not model:
        raise ValueError(
            f"detector {detector!r} registered twice, with {known.__name__} and {model.__name__}"
        )
