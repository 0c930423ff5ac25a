"""Lambda entry point: an SQS batch in, a partial batch response out. The decisions live in `service.py`.

A final outcome (completed, removed, rejected, skipped) acknowledges its record. A `TransientError` or any unexpected
exception puts the record in `batchItemFailures`: SQS delivers it again and, after maxReceiveCount,
the dead-letter queue keeps it. No exception leaves `lambda_handler`: a failure that is not tied to one
record fails every record of the batch, which is the same as retrying it, without an invocation error.
"""

from __future__ import annotations

import os
import time
from functools import cache
from typing import Any, TypedDict

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from .outcomes import Completed, Outcome, Rejected, Removed, TransientError
from .service import ThumbnailService
from .settings import Settings


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class PartialItemFailureResponse(TypedDict):
    """What ReportBatchItemFailures expects back: the message ids SQS should deliver again."""

    batchItemFailures: list[BatchItemFailure]


logger = Logger()  # service name and level from POWERTOOLS_SERVICE_NAME / POWERTOOLS_LOG_LEVEL
metrics = Metrics()  # namespace from POWERTOOLS_METRICS_NAMESPACE, dimension `service`

# One S3 call must fail fast enough to leave the invocation time to report the record as failed:
# with these values a call gives up after at most 3 x (2 + 10) s plus backoff, well under the 60 s timeout.
S3_CLIENT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=10,  # per socket read, not per body: a large original still streams
    retries={"mode": "standard", "total_max_attempts": 3},  # retries 5xx, SlowDown, throttling, timeouts
)

# Metric names per outcome, counted once per record (EMF, flushed at the end of each invocation).
OUTCOME_METRICS = {
    "completed": "ImagesCompleted",
    "removed": "ImagesRemoved",  # an original was deleted and its thumbnails with it
    "rejected": "ImagesRejected",
    "skipped": "ImagesSkipped",
    "transient": "TransientErrors",
    "error": "UnexpectedErrors",
}
VARIANTS_METRIC = "ThumbnailsWritten"
STARTUP_ERRORS_METRIC = "StartupErrors"  # bad configuration: every record is retried until it is fixed


@cache
def default_service() -> ThumbnailService:
    """Built on the first invocation, not at import, and kept for the life of the container.

    A configuration error raises here on every invocation (cache keeps only successes) until it is fixed.
    """
    settings = Settings.from_environ(os.environ)
    return ThumbnailService(settings, boto3.client("s3", config=S3_CLIENT_CONFIG))


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    try:
        service = default_service()
    except Exception:
        logger.exception("cannot start the thumbnail service; every record of the batch will be retried")
        metrics.add_metric(name=STARTUP_ERRORS_METRIC, unit=MetricUnit.Count, value=1)
        return fail_every_record(event)
    return handle_batch(event, context, service)


def handle_batch(
    event: dict[str, Any],
    context: LambdaContext | None,
    service: ThumbnailService,
    *,
    logger: Logger = logger,
    metrics: Metrics = metrics,
) -> PartialItemFailureResponse:
    """The testable seam: one SQS batch through `service`, with the logger and metrics given.

    The partial batch response is built here rather than with Powertools' BatchProcessor: the loop
    is a dozen lines, and importing the batch utility (asyncio and every event data class) measured
    16 ms of a ~150 ms cold import, on every cold start, for nothing this function uses.
    """
    failures: list[BatchItemFailure] = []
    for record in _records(event, logger):
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
