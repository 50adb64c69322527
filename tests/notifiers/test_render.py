"""Every template, in every locale, fits two SMS segments with long realistic values."""

from __future__ import annotations

import pytest

from monitor.models import Passenger
from notifiers.facts import CLIP, clip, context, money
from notifiers.model import IncidentView
from notifiers.render import STEPS, TemplateError, Templates, missing_templates
from notifiers.sms import fit, segments

# Long but real names and plates for each locale, clipped as the engine clips them.
LONG_VALUES = {
    "en": ("Bartholomew-Alexander Fitzgerald", "Maximilianovich Santos", "KA-123-XYZ9"),
    "ru": ("Константинопольский", "Александрович", "А123ВС777RUS"),
    "zh": ("欧阳娜娜娜娜娜娜", "司马相如相如相如", "京A·12345D"),
}
TEMPLATES = Templates()


def long_context(locale: str, severity: str) -> dict[str, object]:
    name, driver, plate = LONG_VALUES[locale]
    return {
        "name": clip(name, CLIP["name"]),
        "driver": clip(driver, CLIP["driver"]),
        "plate": clip(plate, CLIP["plate"]),
        "car": clip("Mercedes-Benz E-Class Estate", CLIP["car"]),
        "eta_min": 125,
        "amount": money(12_345_650, "RUB"),
        "severity": severity,
        "kind": "any",
        "resolution": "",
    }


@pytest.mark.parametrize("locale", ["en", "ru", "zh"])
def test_every_template_fits_two_sms_segments(locale: str) -> None:
    rendered = 0
    for name in TEMPLATES.names(locale):
        for step in STEPS:
            if not TEMPLATES.has_step(name, step):
                continue
            for severity in ("critical", "medium"):
                message = TEMPLATES.render(name, step, locale, long_context(locale, severity))
                assert message.locale == locale
                assert message.body and message.title
                assert segments(message.body) <= 2, f"{locale}/{name}.{step}: {message.body!r}"
                rendered += 1
    assert rendered >= 60


def test_every_locale_has_every_template() -> None:
    english = set(TEMPLATES.names("en"))
    assert {"pickup_delay", "sos", "payment_failure", "survey", "generic"} <= english
    for locale in ("ru", "zh"):
        assert set(TEMPLATES.names(locale)) == english


def test_unknown_locale_falls_back_to_english_and_region_is_dropped() -> None:
    ctx = long_context("en", "medium")
    assert TEMPLATES.render("pickup_delay", "open", "xx-YY", ctx).locale == "en"
    assert TEMPLATES.render("pickup_delay", "open", None, ctx).locale == "en"
    russian = TEMPLATES.render("pickup_delay", "open", "ru-RU", long_context("ru", "medium"))
    assert russian.locale == "ru" and "опаздывает" in russian.body


def test_missing_template_is_reported_for_the_rule_loader() -> None:
    problems = missing_templates(TEMPLATES, ["pickup_delay", "no_such_template"])
    assert len(problems) == 1 and "no_such_template" in problems[0]
    with pytest.raises(TemplateError):
        TEMPLATES.render("no_such_template", "open", "en", {})


def test_segments_count_gsm7_and_ucs2() -> None:
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 306) == 2
    assert segments("a" * 307) == 3
    assert segments("{" * 80) == 1 and segments("{" * 81) == 2  # extension chars count twice
    assert segments("я" * 70) == 1 and segments("я" * 71) == 2 and segments("я" * 135) == 3


def test_fit_drops_sentences_then_cuts() -> None:
    text = "Привет, Константин. " + "Это очень длинное сообщение. " * 10
    fitted = fit(text)
    assert segments(fitted) <= 2 and fitted.startswith("Привет")
    assert segments(fit("я" * 500)) <= 2


def test_context_takes_facts_from_the_incident() -> None:
    incident = IncidentView(
        incident_id="o1:pickup_delay",
        kind="pickup_delay",
        severity="medium",
        status="open",
        order_id="o1",
        details={
            "driver": {"name": "Ivan Petrov", "plate": "A123BC"},
            "eta_pickup_ts": 1_000_000 + 7 * 60_000,
        },
    )
    passenger = Passenger(passenger_id="p", name="Anna Smith", locale="en")
    ctx = context(incident, passenger, now_ms=1_000_000)
    assert (ctx["name"], ctx["driver"], ctx["plate"], ctx["eta_min"]) == ("Anna", "Ivan", "A123BC", 7)
