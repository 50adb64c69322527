"""Create Tripwatch's topics with the configured partition count before anything uses them.

The embedded broker auto-creates a topic on first produce with its own partition count,
which would break co-partitioning by `order_id`; so topics are created first, here.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from core import names
from core.settings import Settings

log = logging.getLogger(__name__)

COMPACTED = {names.PASSENGERS}


def topic_specs(settings: Settings) -> list[NewTopic]:
    topics = [
        *names.INPUT_TOPICS,
        names.PASSENGERS,
        names.SUPPORT_CONTACTS,
        names.INCIDENTS,
        names.DEAD_LETTERS,
        names.CHECKIN_ESCALATIONS,  # co-partitioned with the input topics: keyed by order_id
    ]
    return [
        NewTopic(
            name,
            num_partitions=settings.partitions,
            replication_factor=1,
            topic_configs={"cleanup.policy": "compact"} if name in COMPACTED else {},
        )
        for name in topics
    ]


async def ensure_topics(settings: Settings, attempts: int = 20) -> list[str]:
    """Create every topic that does not exist yet, then check that each has the configured
    partition count. Existing topics are left as they are: a wrong count (a topic the broker
    auto-created first) is logged as an error and returned, one line per topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    for attempt in range(attempts):
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(0.25)
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in topic_specs(settings) if spec.name not in existing]
        if missing:
            await _create(admin, missing)
        return await _wrong_partition_counts(admin, settings)
    finally:
        await admin.close()


async def _create(admin: AIOKafkaAdminClient, topics: list[NewTopic]) -> None:
    try:
        await admin.create_topics(topics)
    except TopicAlreadyExistsError:
        pass  # another process created them meanwhile
    log.info("created topics %s", ", ".join(t.name for t in topics))


async def _wrong_partition_counts(admin: AIOKafkaAdminClient, settings: Settings) -> list[str]:
    wanted = [spec.name for spec in topic_specs(settings)]
    problems = []
    for topic in await admin.describe_topics(wanted):
        count = len(topic["partitions"])
        if count != settings.partitions:
            problems.append(
                f"topic {topic['topic']} has {count} partitions, not the configured {settings.partitions} "
                "(TRIPWATCH_PARTITIONS): events of one order may reach different workers; "
                "delete and recreate it"
            )
    for problem in problems:
        log.error("%s", problem)
    return problems
