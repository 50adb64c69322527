"""Every template, in every locale, for every way an incident can end, on SMS and push: true,
whole and within two SMS segments; and docs/messages.md in step with the templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.models import Passenger
from notifiers import messages_doc
from notifiers.compose import compose
from notifiers.facts import CLIP, clip, context, money
from notifiers.model import IncidentView
from notifiers.render import STEPS, TEXT_CHANNELS, TemplateError, Templates, missing_templates
from notifiers.sms import fit, segments
from notifiers.trip_facts import ENDINGS, TripFacts

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
        "amount": money(12_345_650, "RUB", locale),
        "severity": severity,
        "kind": "any",
        "resolution": "",
        "ending": "",
        "refund": False,
        "asked_help": False,
    }


@pytest.mark.parametrize("locale", ["en", "ru", "zh"])
def test_every_template_fits_two_sms_segments(locale: str) -> None:
    rendered = 0
    for name in TEMPLATES.names(locale):
        for step in STEPS:
            if not TEMPLATES.has_step(name, step):
                continue
            for severity, asked_help in (("critical", True), ("critical", False), ("medium", False)):
                for ending in ENDINGS if step == "close" else ("",):
                    ctx = {
                        **long_context(locale, severity),
                        "ending": ending,
                        "refund": True,
                        "asked_help": asked_help,
                    }
                    message = TEMPLATES.render(name, step, locale, ctx, channel="sms")
                    assert message.locale == locale
                    assert message.body and message.title
                    assert segments(message.body) <= 2, f"{locale}/{name}.{step}: {message.body!r}"
                    rendered += 1
    assert rendered >= 150


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


@pytest.mark.parametrize(
    ("locale", "amount"), [("en", "1.234 BHD"), ("ru", "1,234 BHD"), (None, "1.234 BHD")]
)
def test_the_amount_is_written_for_the_passenger(locale: str | None, amount: str) -> None:
    incident = IncidentView(
        incident_id="o2:payment_failure",
        kind="payment_failure",
        severity="medium",
        status="open",
        order_id="o2",
        details={"amount_minor": 1234, "currency": "BHD"},
    )
    ctx = context(incident, Passenger(passenger_id="p", name="Anna", locale=locale), now_ms=1_000_000)
    assert ctx["amount"] == amount


def test_a_russian_passenger_reads_russian_separators() -> None:
    incident = IncidentView(
        incident_id="o3:double_charge",
        kind="double_charge",
        severity="high",
        status="open",
        order_id="o3",
        details={"payment": {"amount_minor": 123456, "currency": "RUB"}},
    )
    ctx = context(incident, Passenger(passenger_id="p", name="Анна", locale="ru"), now_ms=1_000_000)
    assert ctx["amount"] == "1 234,56 RUB"
    assert "1 234,56 RUB" in TEMPLATES.render("double_charge", "open", "ru", ctx).body


# --- every message, every way an incident can end ------------------------------------------

REPLY_WORDS = re.compile(r"\breply\b|ответьте|回复", re.IGNORECASE)
REFUND_PROMISES = re.compile(r"we will refund|we are refunding|вернём|将在几天内退回|将退还")
# What each step must tell, when the sample trip has it: (template, step) -> variables.
FACTS_TOLD = {
    ("pickup_delay", "open"): ("driver", "plate", "eta_min"),
    ("pickup_delay", "update"): ("driver", "plate", "eta_min"),
    ("driver_cancellation", "update"): ("driver", "plate", "eta_min"),
    ("trip_delay", "open"): ("eta_min",),
    ("trip_delay", "update"): ("eta_min",),
    ("payment_failure", "open"): ("amount",),
    ("double_charge", "open"): ("amount",),
}


def every_message():
    for name in TEMPLATES.names():
        for case in messages_doc.cases_of(TEMPLATES, name):
            for locale in messages_doc.LOCALES:
                yield name, case, locale


@pytest.mark.parametrize("channel", TEXT_CHANNELS)
def test_every_message_in_every_case_is_whole_and_true(channel: str) -> None:
    seen = 0
    for name, case, locale in every_message():
        ctx = messages_doc.sample_context(locale, **case.values)
        message = TEMPLATES.render(name, case.step, locale, ctx, channel=channel)
        where = f"{locale}/{name}.{case.step} ({case.label}, {channel}): {message.body!r}"
        for text in (message.title, message.body):
            assert text and "None" not in text and "{{" not in text and "{%" not in text, where
            assert "-." not in text and "…" not in text, where
        if channel == "push":
            assert not REPLY_WORDS.search(message.body), where
        assert "HELP" not in message.body, where  # a carrier keyword: Twilio answers it, not us
        if not ctx["refund"]:
            assert not REFUND_PROMISES.search(message.body), where
        for variable in FACTS_TOLD.get((name, case.step), ()):
            if ctx[variable]:
                assert str(ctx[variable]) in message.body, f"{variable} missing: {where}"
        seen += 1
    assert seen > 400


def test_closing_messages_say_how_it_ended() -> None:
    def close(name: str, ending: str, locale: str = "en") -> str:
        ctx = messages_doc.sample_context(locale, ending=ending)
        return TEMPLATES.render(name, "close", locale, ctx, channel="push").body

    for name in ("pickup_delay", "driver_cancellation", "trip_delay", "generic"):
        for locale, thanks in (("en", "patience"), ("ru", "терпени"), ("zh", "耐心")):
            assert thanks not in close(name, "passenger_cancelled", locale), (name, locale)
        assert "as you asked" in close(name, "passenger_cancelled")
        assert "support team" in close(name, "person")
    assert "delay is over" not in close("pickup_delay", "passenger_cancelled")
    assert "your driver has arrived" in close("pickup_delay", "arrived")
    assert "has been refunded" in close("double_charge", "cleared")  # the refund event happened
    assert "refunded" not in close("double_charge", "person")
    assert "our safety team has closed the alert" in close("sos", "person")
    assert close("sos", "cleared") != close("sos", "person")


def test_push_check_ins_offer_buttons_and_sms_check_ins_ask_for_a_reply() -> None:
    for locale, reply in (("en", "Reply 1 I'm OK"), ("ru", "Ответьте: 1"), ("zh", "请回复：1")):
        ctx = messages_doc.sample_context(locale)
        assert reply in TEMPLATES.render("sos", "open", locale, ctx, channel="sms").body
        push = TEMPLATES.render("sos", "open", locale, ctx, channel="push")
        assert reply not in push.body and push.title


def test_a_refund_is_promised_only_when_the_rule_requests_one() -> None:
    for refund, promised in ((False, False), (True, True)):
        ctx = messages_doc.sample_context("en", refund=refund)
        body = TEMPLATES.render("double_charge", "open", "en", ctx).body
        assert ("We are refunding" in body) is promised
        assert ("support team will review the charge" in body) is not promised


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        ("Maximilian-Alexander", 12, "Maximilian"),  # was "Maximilian-."
        ("Bartholomew-Alexander", 16, "Bartholomew"),
        ("Anna-Lena", 16, "Anna-Lena"),
        ("Jean-Pierre-Christophe", 12, "Jean-Pierre"),
        ("Анна-Мария-Константиновна", 12, "Анна-Мария"),
        ("Константинопольский", 12, ""),  # one long word: left out, never cut
        ("欧阳娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜", 12, ""),
        ("欧阳娜娜", 12, "欧阳娜娜"),
    ],
)
def test_names_are_never_cut_mid_word(value: str, limit: int, expected: str) -> None:
    assert clip(value, limit) == expected


def test_long_hyphenated_names_render_whole_in_every_locale() -> None:
    long_names = {
        "en": ("Maximilian-Alexander-Bartholomew", "Jean-Christophe-Maximilian"),
        "ru": ("Анна-Мария-Константиновна", "Александр-Константинович"),
        "zh": ("欧阳娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜娜", "司马-相如相如相如相如相如相如相如相如相如"),
    }
    for locale, (passenger_name, driver_name) in long_names.items():
        incident = IncidentView(
            incident_id="o1:pickup_delay", kind="pickup_delay", severity="medium", status="open",
            order_id="o1", details={"driver": {"name": driver_name, "plate": "KA-123-XYZ9-LONG"}},
        )  # fmt: skip
        passenger = Passenger(passenger_id="p", name=passenger_name, locale=locale)
        for channels in (["sms"], ["push"]):
            texts = compose(TEMPLATES, "pickup_delay", "open", incident, passenger, channels, 0)
            body = texts.body
            assert "-." not in body and "…" not in body and "KA-123" not in body, (
                body
            )  # a plate is whole or absent
            words = set(re.split(r"[\s,，:（）()]+", body))
            for name in (passenger_name, driver_name):
                parts = name.split("-")
                shown = [w for w in words if w and name.startswith(w) and w != name]
                assert all(w in {"-".join(parts[:n]) for n in range(1, len(parts))} for w in shown), body


def test_context_prefers_the_trip_as_it_stands_over_the_incident() -> None:
    incident = IncidentView(
        incident_id="o1:driver_cancellation", kind="driver_cancellation", severity="high", status="open",
        order_id="o1", details={"driver": {"name": "Jonas Weber", "plate": "B-TW 1234"}},
    )  # fmt: skip
    nobody = TripFacts(known=True, driver=None, driver_cancellations=2)
    ctx = context(incident, None, 0, nobody)
    assert (ctx["driver"], ctx["plate"], ctx["eta_min"]) == ("", "", None)
    lena = TripFacts(known=True, driver={"name": "Lena Vogel", "plate": "B-LV 77"}, eta_pickup_ts=5 * 60_000)
    ctx = context(incident, None, 0, lena)
    assert (ctx["driver"], ctx["plate"], ctx["eta_min"]) == ("Lena", "B-LV 77", 5)
    assert context(incident, None, 0, TripFacts())["driver"] == "Jonas"  # the log knows nothing: the incident
    resolved = IncidentView(**{**{f: getattr(incident, f) for f in incident.__struct_fields__},
                               "status": "resolved", "resolution": "a new driver arrived"})  # fmt: skip
    assert context(resolved, None, 0, lena)["ending"] == "arrived" and ctx["ending"] == ""


def test_each_channel_gets_its_own_text() -> None:
    incident = IncidentView(
        incident_id="o1:sos", kind="sos", severity="critical", status="open", order_id="o1"
    )
    passenger = Passenger(passenger_id="p", name="Anna", locale="en")
    texts = compose(TEMPLATES, "sos", "open", incident, passenger, ["push", "sms", "webhook"], 0)
    assert "Reply 1" in texts.body and texts.bodies["sms"] == texts.body
    assert "Reply" not in texts.bodies["push"] and texts.bodies["webhook"] == texts.bodies["push"]
    push_only = compose(TEMPLATES, "sos", "open", incident, passenger, ["push"], 0)
    assert push_only.body == texts.bodies["push"] and push_only.title == "SOS received"


def test_docs_messages_md_is_up_to_date() -> None:
    documented = Path(messages_doc.DOC).read_text(encoding="utf-8")
    assert documented == messages_doc.render(), "docs/messages.md is stale: python -m notifiers.messages_doc"


def test_a_long_stop_the_passenger_asked_for_does_not_ask_again() -> None:
    from core.checkin import HELP, no_answer

    for reason, asked in ((HELP, True), (no_answer(120), False)):
        incident = IncidentView(
            incident_id="o-1:long_stop", kind="long_stop", severity="critical", status="open", order_id="o-1",
            details={"escalation_reason": reason},
        )  # fmt: skip
        ctx = context(incident, Passenger(passenger_id="p", name="Anna", locale="en"), now_ms=1_000_000)
        assert ctx["asked_help"] is asked
        for channel in TEXT_CHANNELS:
            body = TEMPLATES.render("long_stop", "open", "en", ctx, channel=channel).body
            assert ("request for help" in body) is asked, body
            assert ("Are you OK?" in body) is not asked, body
    for locale, said in (("ru", "просьбу о помощи"), ("zh", "求助")):
        ctx = messages_doc.sample_context(locale, asked_help=True)
        assert said in TEMPLATES.render("long_stop", "open", locale, ctx, channel="sms").body
