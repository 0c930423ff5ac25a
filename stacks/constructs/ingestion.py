"""How uploads and deletions become work: an EventBridge rule on the originals bucket feeding a durable SQS queue."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.constants import (
    DEAD_LETTER_RETENTION_DAYS,
    EVENT_MAX_AGE_HOURS,
    EVENT_RETRY_ATTEMPTS,
    INGEST_RETENTION_DAYS,
    MAX_RECEIVE_COUNT,
    VISIBILITY_TIMEOUT_FACTOR,
)


def object_key_filter(*, key_prefix: str, key_suffixes: tuple[str, ...]) -> list[dict[str, object]] | None:
    """The `detail.object.key` filter for the rule, or None to match every key.

    EventBridge cannot AND two conditions on one field, so the rule can filter on the prefix or on
    the suffixes, not both. The prefix wins because it usually cuts more traffic (a whole folder of
    other data); suffixes are matched ignoring case because cameras write `.JPG`. The `wildcard`
    operator could express `prefix*.jpg`, but only case-sensitively. The function re-checks both
    (it gets KEY_PREFIX and KEY_SUFFIXES), so the rule is an optimisation, never the only gate.
    """
    if key_prefix:
        return [{"prefix": key_prefix}]
    if key_suffixes:
        return [{"suffix": {"equals-ignore-case": suffix}} for suffix in key_suffixes]
    return None


class IngestQueue(Construct):
    """Originals bucket "Object Created" and "Object Deleted" events -> rule -> ingest queue (+DLQ), with nothing
    dropped silently.

    Three places a message can end up when things go wrong:
    - `dead_letter_queue`: the function failed on it `MAX_RECEIVE_COUNT` times;
    - `events_dead_letter_queue`: EventBridge could not deliver it to the ingest queue for 24 h;
    - nowhere else: every queue keeps messages for longer than anything upstream retries.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        originals: s3.IBucket,
        key_prefix: str,
        key_suffixes: tuple[str, ...],
        function_timeout: Duration,
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", key=key)
        self.queue = encrypted_queue(
            self,
            "Queue",
            key=key,
            retention_days=INGEST_RETENTION_DAYS,
            # A message stays hidden while one invocation (plus Lambda's own retries of a throttled
            # batch) may still be working on it; Lambda rejects the mapping below 6x the function timeout.
            visibility_timeout=Duration.seconds(function_timeout.to_seconds() * VISIBILITY_TIMEOUT_FACTOR),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVE_COUNT),
        )
        self.events_dead_letter_queue = dead_letter_queue(self, "EventsDeadLetterQueue", key=key)

        detail: dict[str, object] = {"bucket": {"name": [originals.bucket_name]}}
        key_filter = object_key_filter(key_prefix=key_prefix, key_suffixes=key_suffixes)
        if key_filter is not None:
            detail["object"] = {"key": key_filter}
        self.rule = events.Rule(
            self,
            "OriginalsChangedRule",
            description="Originals bucket uploads (any method) and deletions to the thumbnail queue",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                # "Object Created" rather than a `reason` filter: multipart uploads and copies are Object Created too.
                # "Object Deleted" so a deleted original's thumbnails do not stay servable; every deletion type
                # and reason (API, lifecycle) is routed, and the function asks S3 whether the key is really gone.
                detail_type=["Object Created", "Object Deleted"],
                detail=detail,
            ),
        )
        # The target keeps retrying for EventBridge's maximum (24 h, 185 attempts) so a queue that is
        # briefly unavailable loses nothing; after that the event lands in its own DLQ, not the void.
        # The SqsQueue target also writes the queue policy letting events.amazonaws.com send,
        # scoped to this rule by aws:SourceArn.
        self.rule.add_target(
            targets.SqsQueue(
                self.queue,
                dead_letter_queue=self.events_dead_letter_queue,
                max_event_age=Duration.hours(EVENT_MAX_AGE_HOURS),
                retry_attempts=EVENT_RETRY_ATTEMPTS,
            )
        )


def encrypted_queue(
    scope: Construct, construct_id: str, *, retention_days: int, key: kms.IKey | None = None, **props: Any
) -> sqs.Queue:
    """An SQS queue with SSE-SQS, or encrypted with the customer managed `key`, and TLS-only access.

    Never the AWS managed KMS key (alias/aws/sqs): EventBridge cannot use that key, and a queue encrypted
    with it silently receives nothing. A customer managed key works because its policy lets EventBridge use it
    (encryption.py).
    """
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED if key is None else sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(retention_days),
        **props,
    )


def dead_letter_queue(scope: Construct, construct_id: str, *, key: kms.IKey | None) -> sqs.Queue:
    """An encrypted dead-letter queue, kept longer than any source queue, with the two scanner findings every DLQ
    raises acknowledged on it."""
    queue = encrypted_queue(scope, construct_id, retention_days=DEAD_LETTER_RETENTION_DAYS, key=key)
    Validations.of(queue).acknowledge(
        Acknowledgment(
            id="AwsSolutions-SQS3",
            reason="This queue is itself a dead-letter queue; a DLQ for a DLQ would only move the problem.",
        ),
        Acknowledgment(
            id="Serverless-SQSRedrivePolicy",
            reason="This queue is itself a dead-letter queue: nothing consumes it to redrive from; its alarm "
            "tells the operator, who redrives it with the `thumbnails` CLI.",
        ),
    )
    return queue
