"""One place for the names and platform facts the whole app shares.

The layer is built for exactly the runtime and architecture the function runs on, so both are
derived here from one pair of values instead of being repeated as strings.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

# Re-exported: names.py holds it, so that the operator CLI reads it without starting the CDK.
from stacks.names import STACK_NAME as STACK_NAME
from stacks.names import STACK_NAME_CONTEXT_KEY as STACK_NAME_CONTEXT_KEY
from stacks.names import STACK_NAME_PATTERN as STACK_NAME_PATTERN

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTION_CODE_DIR = REPO_ROOT / "functions"  # the asset root: it holds the `thumbnailer` package
LAYER_DIR = REPO_ROOT / "layers" / "imaging"

PROJECT_TAG = "thumbnail-pipeline"
FUNCTION_HANDLER = "thumbnailer.handler.lambda_handler"

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64

# pip's view of the same pair. manylinux_2_28 is the newest glibc baseline Pillow ships wheels for,
# and Amazon Linux 2023 (glibc 2.34, under every python3.12+ runtime) runs it; pip also accepts
# wheels tagged for older glibc baselines.
PIP_MACHINES = {lambda_.Architecture.ARM_64.name: "aarch64", lambda_.Architecture.X86_64.name: "x86_64"}
LAYER_PYTHON_VERSION = LAMBDA_RUNTIME.name.removeprefix("python")  # "3.14"
LAYER_PIP_PLATFORM = f"manylinux_2_28_{PIP_MACHINES[ARCHITECTURE.name]}"

# Every retention CloudWatch Logs accepts, by days. INFINITE is left out on purpose: logs that are
# never deleted are a bill that only grows.
LOG_RETENTION: dict[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}

# Queue and event-delivery policy, in one place so tests and docs can name them.
VISIBILITY_TIMEOUT_FACTOR = 6  # Lambda rejects an SQS mapping whose queue visibility is below 6x the function timeout
INGEST_RETENTION_DAYS = 4
# A backfill of millions of objects at a low concurrency can take days to drain: keep its messages a week.
BACKFILL_RETENTION_DAYS = 7
DEAD_LETTER_RETENTION_DAYS = 14  # longer than the source queue, so a message never expires before it is redriven
MAX_RECEIVE_COUNT = 5
EVENT_MAX_AGE_HOURS = 24  # EventBridge's maximum
EVENT_RETRY_ATTEMPTS = 185  # EventBridge's maximum
ACCESS_LOG_EXPIRY_DAYS = 90
ABORT_INCOMPLETE_UPLOADS_DAYS = 7
NONCURRENT_VERSION_EXPIRY_DAYS = 30

# Monitoring: every alarm looks at 5-minute periods; a DLQ alarm goes off on the first message.
ALARM_PERIOD_MINUTES = 5
THROTTLE_ALARM_PERIODS = 3  # Lambda throttles for 15 minutes running (the event source retries brief ones)
TRANSIENT_RATE_ALARM_PERCENT = 10  # of the records received, for 15 minutes running
TRANSIENT_RATE_ALARM_PERIODS = 3

# CDN delivery (cdn: true).
CDN_DEFAULT_TTL_DAYS = 1  # for an object without Cache-Control; otherwise its s-maxage / max-age decides
CDN_MAX_TTL_DAYS = 365
HSTS_MAX_AGE_DAYS = 730
