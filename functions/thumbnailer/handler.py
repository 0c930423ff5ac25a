"""Lambda entry point: an SQS batch in, a partial batch response out. The decisions live in `service.py`.

A final outcome (completed, removed, rejected, skipped) acknowledges its record. A `TransientError` or any unexpected
exception puts the record in `batchItemFailures`: SQS delivers it again and, after maxReceiveCount,
the dead-letter queue keeps it. No exception leaves `lambda_handler`: a failure that is not tied to one
record fails every record of the batch, which is the same as retrying it, without an invocation error.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import cache
from typing import Any, TypedDict

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from .contract import OUTCOME_METRICS, STARTUP_ERRORS_METRIC, VARIANTS_METRIC, Settings
from .outcomes import Completed, Outcome, Rejected, Removed, TransientError
from .service import ThumbnailService


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class PartialItemFailureResponse(TypedDict):
    """What ReportBatchItemFailures expects back: the message ids SQS should deliver again."""

    batchItemFailures: list[BatchItemFailure]


logger = Logger()  # service name and level from POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL
metrics = Metrics()  # namespace from POWERTOOLS_METRICS_NAMESPACE, dimension `service`

# One S3 call, with every retry and backoff, may take at most this share of the function's timeout, so a
# call that hangs still leaves the invocation time to report its record as failed.
WORST_CALL_SHARE = 0.5
MAX_CONNECT_SECONDS = 2.0
MAX_READ_SECONDS = 10.0  # per socket read, not per body: a large original still streams
CONNECT_SHARE = 0.25  # of one attempt's time
# botocore's standard mode sleeps up to min(2**i, 20) s before retry i (1 s scale for throttling errors).
MAX_BACKOFF_SECONDS = 20.0


@dataclass(frozen=True, kw_only=True)
class S3TimeBudget:
    """Timeouts and attempts for the function's S3 client, derived from the function's own timeout."""

    connect_timeout: float
    read_timeout: float
    max_attempts: int

    @classmethod
    def for_timeout(cls, timeout_seconds: int) -> S3TimeBudget:
        """Three attempts when there is room (timeouts from 30 s), two below; the rest split per attempt."""
        max_attempts = 3 if timeout_seconds >= 30 else 2
        per_attempt = (timeout_seconds * WORST_CALL_SHARE - _max_backoff(max_attempts)) / max_attempts
        connect = min(MAX_CONNECT_SECONDS, per_attempt * CONNECT_SHARE)
        return cls(
            connect_timeout=connect,
            read_timeout=min(MAX_READ_SECONDS, per_attempt - connect),
            max_attempts=max_attempts,
        )

    @property
    def worst_case_seconds(self) -> float:
        """How long one call can take before it gives up (a Retry-After header aside, which S3 does not send)."""
        return self.max_attempts * (self.connect_timeout + self.read_timeout) + _max_backoff(self.max_attempts)

    def client_config(self) -> Config:
        return Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            # retries 5xx, SlowDown, throttling, timeouts, broken connections
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
        )


def _max_backoff(max_attempts: int) -> float:
    return sum(min(2.0**retry, MAX_BACKOFF_SECONDS) for retry in range(max_attempts - 1))


@cache
def default_service() -> ThumbnailService:
    """Built on the first invocation, not at import, and kept for the life of the container.

    A configuration error raises here on every invocation (cache keeps only successes) until it is fixed.
    """
    settings = Settings.from_environment(os.environ)
    config = S3TimeBudget.for_timeout(settings.timeout_seconds).client_config()
    # The EventBridge and CloudFront clients, under the same time budget, are created on their first use.
    return ThumbnailService(settings, boto3.client("s3", config=config), client_config=config)


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    try:
        service = default_service()
    except Exception:
        logger.exception("cannot start the thumbnail service; every record of the batch will be retried")
        metrics.add_metric(name=STARTUP_ERRORS_METRIC, unit=MetricUnit.Count, value=1)
        return fail_every_record(event)
    reserve_seconds = S3TimeBudget.for_timeout(service.settings.timeout_seconds).worst_case_seconds
    return handle_batch(event, context, service, reserve_seconds=reserve_seconds)


def handle_batch(
    event: dict[str, Any],
    context: LambdaContext | None,
    service: ThumbnailService,
    *,
    reserve_seconds: float = 0.0,
    logger: Logger = logger,
    metrics: Metrics = metrics,
) -> PartialItemFailureResponse:
    """The testable seam: one SQS batch through `service`, with the logger and metrics given.

    The partial batch response is built here rather than with Powertools' BatchProcessor: the loop
    is a dozen lines, and importing the batch utility (asyncio and every event data class) measured
    16 ms of a ~150 ms cold import, on every cold start, for nothing this function uses.

    A record is started only while the invocation has `reserve_seconds` left (the entry point reserves
    one S3 call's worst case): the records not started are reported as failed, and SQS delivers them
    again, instead of the Lambda timeout cutting the invocation off and failing the whole batch,
    finished records included.
    """
    reserve_ms = reserve_seconds * 1000
    failures: list[BatchItemFailure] = []
    records = _records(event, logger)
    for index, record in enumerate(records):
        if context is not None and context.get_remaining_time_in_millis() < reserve_ms:
            not_started = [pending["messageId"] for pending in records[index:]]
            logger.warning("out of time: records not started will be retried", extra={"notStarted": not_started})
            metrics.add_metric(name=OUTCOME_METRICS["transient"], unit=MetricUnit.Count, value=len(not_started))
            failures.extend({"itemIdentifier": message_id} for message_id in not_started)
            break
        try:
            process_record(record, service, logger=logger, metrics=metrics)
        except Exception:  # already logged and counted by process_record; SQS retries the record
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def process_record(record: dict[str, Any], service: ThumbnailService, *, logger: Logger, metrics: Metrics) -> None:
    """Process one record and log one line about it; raise to have the record retried."""
    started = time.perf_counter()
    fields: dict[str, Any] = {"messageId": record["messageId"]}
    try:
        outcome = service.process(record["body"])
    except TransientError as error:
        fields.update(outcome="transient", reason=error.reason, detail=error.detail)
        fields.update(receiveCount=_receive_count(record), ms=_elapsed_ms(started))
        logger.warning("record failed, will be retried", extra=fields)
        metrics.add_metric(name=OUTCOME_METRICS["transient"], unit=MetricUnit.Count, value=1)
        raise
    except Exception as error:
        fields.update(outcome="error", reason=type(error).__name__, ms=_elapsed_ms(started))
        logger.exception("record failed unexpectedly, will be retried", extra=fields)
        metrics.add_metric(name=OUTCOME_METRICS["error"], unit=MetricUnit.Count, value=1)
        raise
    fields.update(_outcome_fields(outcome), ms=_elapsed_ms(started))
    log = logger.warning if isinstance(outcome, Rejected) else logger.info
    log(f"record {outcome.kind}", extra=fields)
    metrics.add_metric(name=OUTCOME_METRICS[outcome.kind], unit=MetricUnit.Count, value=1)
    if isinstance(outcome, Completed):
        metrics.add_metric(name=VARIANTS_METRIC, unit=MetricUnit.Count, value=len(outcome.variant_keys))


def _records(event: Any, logger: Logger) -> list[dict[str, Any]]:
    """The batch's SQS records; anything else is logged, since it cannot be reported back for a retry."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        logger.error("the event is not an SQS batch", extra={"eventType": type(event).__name__})
        return []
    usable = [
        record
        for record in records
        if isinstance(record, dict) and isinstance(record.get("messageId"), str) and isinstance(record.get("body"), str)
    ]
    if len(usable) != len(records):
        logger.error("records without a messageId or body were ignored", extra={"ignored": len(records) - len(usable)})
    return usable


def fail_every_record(event: Any) -> PartialItemFailureResponse:
    """Every record with a message id goes back to the queue."""
    records = event.get("Records") if isinstance(event, dict) else None
    message_ids = [
        record["messageId"]
        for record in (records if isinstance(records, list) else [])
        if isinstance(record, dict) and isinstance(record.get("messageId"), str)
    ]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in message_ids]}


def _outcome_fields(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, Completed | Removed):
        return {"outcome": outcome.kind, "key": outcome.key, "variants": len(outcome.variant_keys)}
    fields: dict[str, Any] = {"outcome": outcome.kind, "reason": str(outcome.reason), "key": outcome.key, "variants": 0}
    if isinstance(outcome, Rejected):
        fields.update(detail=outcome.detail, manifestWritten=outcome.manifest_written)
    return fields


def _receive_count(record: dict[str, Any]) -> int | None:
    """How often SQS has delivered this message: at maxReceiveCount the next failure moves it to the DLQ."""
    attributes = record.get("attributes")
    count = attributes.get("ApproximateReceiveCount") if isinstance(attributes, dict) else None
    return int(count) if isinstance(count, str) and count.isdigit() else None


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
