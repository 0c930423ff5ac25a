"""Lambda entry point: an SQS batch in, a partial batch response out. The decisions live in `service.py`.

A final outcome (completed, removed, rejected, skipped) acknowledges its record. A `TransientError` or any unexpected
exception puts the record in `batchItemFailures`: SQS delivers it again and, after maxReceiveCount,
the dead-letter queue keeps it. No exception leaves `lambda_handler`: a failure that is not tied to one
record fails every record of the batch not yet acknowledged, which is the same as retrying it, without an
invocation error. The records of a batch run as a pipeline (`pipeline.py`): one renders while the next one's
source is fetched and the previous one's thumbnails are written.
"""

from __future__ import annotations

import os
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
from .pipeline import PIPELINED, Finished, Overlap, Phases, run_batch
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

    def client_config(self, *, connections: int) -> Config:
        """`connections`: how many requests the function may have in flight at once (the connection pool)."""
        return Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            # retries 5xx, SlowDown, throttling, timeouts, broken connections
            retries={"mode": "standard", "total_max_attempts": self.max_attempts},
            max_pool_connections=connections,
        )


def _max_backoff(max_attempts: int) -> float:
    return sum(min(2.0**retry, MAX_BACKOFF_SECONDS) for retry in range(max_attempts - 1))


@cache
def default_service() -> ThumbnailService:
    """Built on the first invocation, not at import, and kept for the life of the container.

    A configuration error raises here on every invocation (cache keeps only successes) until it is fixed.
    """
    settings = Settings.from_environment(os.environ)
    # The EventBridge and CloudFront clients, under the same time budget and pool, are created on their first use.
    config = s3_client_config(settings)
    return ThumbnailService(settings, boto3.client("s3", config=config), client_config=config)


def s3_client_config(settings: Settings) -> Config:
    """The function's S3 client: time budget from the function's timeout, a connection per request the
    pipeline may have in flight."""
    budget = S3TimeBudget.for_timeout(settings.timeout_seconds)
    return budget.client_config(connections=PIPELINED.connections(len(settings.config.presets)))


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
    service: Phases,
    *,
    reserve_seconds: float = 0.0,
    overlap: Overlap = PIPELINED,
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
    finished records included. `overlap` says how much of the batch runs at once; `pipeline.SEQUENTIAL`
    processes the records strictly one after another, one request at a time.
    """
    reserve_ms = reserve_seconds * 1000
    records = _records(event, logger)
    failed: list[int] = []
    acknowledged: set[int] = set()

    def may_start() -> bool:
        return context is None or context.get_remaining_time_in_millis() >= reserve_ms

    def on_finished(finished: Finished) -> None:
        if report_record(records[finished.index], finished, logger=logger, metrics=metrics):
            acknowledged.add(finished.index)
        else:
            failed.append(finished.index)

    try:
        not_started = run_batch(
            service,
            [record["body"] for record in records],
            overlap=overlap,
            may_start=may_start,
            on_finished=on_finished,
        )
    except Exception:  # a fault of the batch machinery itself, not of one record: retry what is not done
        logger.exception("the batch failed outside any record; every record not acknowledged will be retried")
        failed = [index for index in range(len(records)) if index not in acknowledged]
        not_started = []
    if not_started:
        message_ids = [records[index]["messageId"] for index in not_started]
        logger.warning("out of time: records not started will be retried", extra={"notStarted": message_ids})
        metrics.add_metric(name=OUTCOME_METRICS["transient"], unit=MetricUnit.Count, value=len(not_started))
    return {
        "batchItemFailures": [
            {"itemIdentifier": records[index]["messageId"]} for index in (*sorted(failed), *not_started)
        ]
    }


def report_record(record: dict[str, Any], finished: Finished, *, logger: Logger, metrics: Metrics) -> bool:
    """Log one line about a record that has finished and count its outcome; True when it is acknowledged,
    False when SQS must deliver it again."""
    fields: dict[str, Any] = {"messageId": record["messageId"]}
    error = finished.error
    if isinstance(error, TransientError):
        fields.update(outcome="transient", reason=error.reason, detail=error.detail)
        fields.update(receiveCount=_receive_count(record), ms=finished.ms)
        logger.warning("record failed, will be retried", extra=fields)
        metrics.add_metric(name=OUTCOME_METRICS["transient"], unit=MetricUnit.Count, value=1)
        return False
    if error is not None:
        fields.update(outcome="error", reason=type(error).__name__, ms=finished.ms)
        logger.exception("record failed unexpectedly, will be retried", exc_info=error, extra=fields)
        metrics.add_metric(name=OUTCOME_METRICS["error"], unit=MetricUnit.Count, value=1)
        return False
    outcome = finished.outcome
    assert outcome is not None
    fields.update(_outcome_fields(outcome), ms=finished.ms)
    log = logger.warning if isinstance(outcome, Rejected) else logger.info
    log(f"record {outcome.kind}", extra=fields)
    metrics.add_metric(name=OUTCOME_METRICS[outcome.kind], unit=MetricUnit.Count, value=1)
    if isinstance(outcome, Completed):
        metrics.add_metric(name=VARIANTS_METRIC, unit=MetricUnit.Count, value=len(outcome.variant_keys))
    return True


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
