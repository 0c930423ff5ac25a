"""What a backfill's orchestration costs, from list prices: the numbers `--dry-run` prints and the README quotes.

List prices (us-east-1, checked 2026-12; verify on the AWS pricing pages before relying on them):
Step Functions Standard $25 per million state transitions, and a Distributed Map is charged one transition per
child execution it starts; Express $1 per million requests plus $0.00001667 per GB-second, billed in 100 ms
and 64 MB steps; SQS $0.40 per million requests (64 KiB chunks; a batch of 10 small messages is one request);
S3 LIST $0.005 per thousand requests (1,000 keys each).

Not counted: the function's own work (rendering: see README, Performance) and CloudWatch Logs ingestion.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

STANDARD_TRANSITION_USD = 25.0 / 1_000_000
EXPRESS_REQUEST_USD = 1.0 / 1_000_000
EXPRESS_GB_SECOND_USD = 0.00001667
EXPRESS_MEMORY_GB = 64 / 1024  # the smallest billing step; a child holds one batch of 100 keys
EXPRESS_CHILD_SECONDS = 0.5  # assumed: one inline map of 10 SendMessageBatch calls, ~30-50 ms each
SQS_REQUEST_USD = 0.40 / 1_000_000
S3_LIST_USD = 0.005 / 1000
KEYS_PER_LIST = 1000
SQS_BATCH = 10
PARENT_FIXED_TRANSITIONS = 5  # the states around the map, once per execution


@dataclass(frozen=True)
class CostEstimate:
    objects: int
    state_transitions_usd: float
    express_requests_usd: float
    express_duration_usd: float
    sqs_usd: float
    s3_list_usd: float

    @property
    def total_usd(self) -> float:
        return (
            self.state_transitions_usd
            + self.express_requests_usd
            + self.express_duration_usd
            + self.sqs_usd
            + self.s3_list_usd
        )

    def to_json(self) -> dict[str, float | int]:
        return {**{key: round(value, 6) for key, value in asdict(self).items()}, "total_usd": round(self.total_usd, 6)}


def orchestration_cost(
    objects: int, *, items_per_child: int = 100, batch_size: int = 5, local: bool = False
) -> CostEstimate:
    """The cost of enqueuing `objects` backfill messages and of SQS delivering them to the function.

    `local`: sent from the operator's machine (no state machine). `batch_size`: the event source mapping's, which
    sets how many ReceiveMessage and DeleteMessageBatch requests Lambda's poller makes (empty polls not counted).
    """
    children = 0 if local else math.ceil(objects / items_per_child)
    sends = math.ceil(objects / SQS_BATCH)
    consume = 2 * math.ceil(objects / batch_size)  # one receive and one batch delete per batch
    return CostEstimate(
        objects=objects,
        state_transitions_usd=0.0 if local else (children + PARENT_FIXED_TRANSITIONS) * STANDARD_TRANSITION_USD,
        express_requests_usd=children * EXPRESS_REQUEST_USD,
        express_duration_usd=children * EXPRESS_CHILD_SECONDS * EXPRESS_MEMORY_GB * EXPRESS_GB_SECOND_USD,
        sqs_usd=(sends + consume) * SQS_REQUEST_USD,
        s3_list_usd=math.ceil(objects / KEYS_PER_LIST) * S3_LIST_USD,
    )


def standard_child_per_item_cost(objects: int) -> float:
    """The trap, for comparison: one Standard child per item (a map transition plus >= 2 of its own each)."""
    return objects * 3 * STANDARD_TRANSITION_USD
