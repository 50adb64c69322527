"""Hot reload, worker side, as plain calls: seed, converge, refuse and keep the last good set."""

from __future__ import annotations

from pathlib import Path

from core import names
from rules import reload
from rules.loader import RuleSet, load_rules
from rules.reload import RuleReloader

TEMPLATES = {"pickup_delay"}
V1 = "rules:\n  - id: pickup-delay\n    kind: pickup_delay\n    params: {grace_s: 60}\n"
V2 = V1.replace("60", "90")
BROKEN = V1.replace("grace_s", "grace")


class Worker:
    """What a worker holds: the rule set its processor runs."""

    def __init__(self, private_redis, name: str, rules: RuleSet) -> None:
        self.rules = rules
        self.reloader = RuleReloader(private_redis, rules, self.swap, TEMPLATES, worker=name)

    def swap(self, rules: RuleSet) -> None:
        self.rules = rules


def grace(worker: Worker) -> float:
    return worker.rules.by_id("pickup-delay").params.grace_s


async def test_first_worker_seeds_the_set_and_the_next_runs_the_published_one(private_redis):
    first = Worker(private_redis, "w1", load_rules({"a.yaml": V1}, TEMPLATES))
    await first.reloader.start()
    second = Worker(private_redis, "w2", load_rules({"a.yaml": V2}, TEMPLATES))  # a stale disk
    await second.reloader.start()
    assert grace(first) == grace(second) == 60
    document = await reload.published(private_redis)
    assert document["files"] == {"a.yaml": V1} and document["version"] == first.rules.version


async def test_a_published_change_reaches_every_worker_and_each_reports_its_version(private_redis):
    workers = [Worker(private_redis, f"w{n}", load_rules({"a.yaml": V1}, TEMPLATES)) for n in range(3)]
    for worker in workers:
        await worker.reloader.start()
    new = load_rules({"a.yaml": V2}, TEMPLATES)
    await reload.publish_rule_set(private_redis, new, by="analyst")
    assert [await w.reloader.check() for w in workers] == [True, True, True]
    assert [grace(w) for w in workers] == [90, 90, 90]
    versions = await reload.worker_versions(private_redis)
    assert {name: status["version"] for name, status in versions.items()} == {
        "w0": new.version,
        "w1": new.version,
        "w2": new.version,
    }
    assert [await w.reloader.check() for w in workers] == [False, False, False]  # nothing new


async def test_a_refused_set_is_recorded_and_the_last_good_one_keeps_running(private_redis):
    worker = Worker(private_redis, "w1", load_rules({"a.yaml": V1}, TEMPLATES))
    await worker.reloader.start()
    good = worker.rules
    await reload.publish(private_redis, {"a.yaml": BROKEN}, version="broken-1", by="analyst")
    assert await worker.reloader.check() is False
    assert worker.rules is good
    refused = await reload.last_refused(private_redis)
    assert refused["version"] == "broken-1" and refused["in_force"] == good.version
    assert refused["problems"] == [
        "a.yaml:4:14: rules.0.params.grace: unknown field 'grace' (did you mean 'grace_s'?)"
    ]
    assert (await reload.worker_versions(private_redis))["w1"]["version"] == good.version
    await reload.publish_rule_set(private_redis, load_rules({"a.yaml": V2}, TEMPLATES))
    assert await worker.reloader.check() is True and grace(worker) == 90
    assert await private_redis.get(names.RULES_REFUSED) is None


def test_a_directory_is_published_by_file_name(tmp_path: Path):
    (tmp_path / "b.yaml").write_text(V1)
    (tmp_path / "notes.txt").write_text("not a rule file")
    assert reload.files_of(tmp_path) == {"b.yaml": V1}


async def test_a_worker_told_to_run_its_own_directory_ignores_the_published_set(private_redis):
    published = Worker(private_redis, "w1", load_rules({"a.yaml": V1}, TEMPLATES))
    await published.reloader.start()
    own = Worker(private_redis, "w2", load_rules({"a.yaml": V2}, TEMPLATES))
    own.reloader.follow = False
    await own.reloader.start()
    await reload.publish_rule_set(private_redis, load_rules({"a.yaml": V1.replace("60", "75")}, TEMPLATES))
    assert await own.reloader.check() is False and grace(own) == 90
    assert (await reload.worker_versions(private_redis))["w2"]["version"] == own.rules.version  # still shown


async def test_conditions_failed_at_run_time_are_reported_with_the_workers_version(private_redis, settings):
    import asyncio

    from click.testing import CliRunner

    from tripwatch.cli import main

    worker = Worker(private_redis, "w-fail", load_rules({"a.yaml": V1}, TEMPLATES))
    await worker.reloader.start()
    worker.rules.condition_failed("pickup-delay")
    worker.rules.condition_failed("pickup-delay")
    await worker.reloader.check()
    assert (await reload.worker_versions(private_redis))["w-fail"]["condition_failures"] == {
        "pickup-delay": 2
    }
    env = {"TRIPWATCH_REDIS_URL": settings.redis_dsn.rsplit("/", 1)[0] + "/7"}
    status = await asyncio.to_thread(CliRunner().invoke, main, ["rules", "status"], env=env)
    assert (
        f"  worker w-fail: {worker.rules.version} (conditions failed at run time, taken as false: "
        "pickup-delay ×2)"
    ) in status.output
