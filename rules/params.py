"""The parameters of each detector, as data: a rule's `params` are validated against these."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PickupDelayParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    grace_s: float = Field(120, ge=0, le=86_400)
    eta_overrun_s: float = Field(300, gt=0, le=86_400)


# detector name -> the model of its `params`
DETECTOR_PARAMS: dict[str, type[BaseModel]] = {
    "pickup_delay": PickupDelayParams,
}
