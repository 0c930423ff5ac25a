"""Estimated cost per million uploads, from the measured wall time of a 12 MP upload in a batch.

Lambda bills wall time, not CPU time: the figure is the per-image wall time of the function's own batch path
against S3 with the latency model (bench/throughput.py), not the engine's CPU time alone.

Prices: us-east-1 list prices as of 2026-11, stated in the output. Deliberately conservative where
the real figure depends on traffic: one Lambda request per upload (batching would share one) and
three SQS requests per upload (send, receive, delete; batching ignored).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

REGION = "us-east-1"
LAMBDA_ARM64_PER_GB_SECOND = 0.0000133334
LAMBDA_PER_MILLION_REQUESTS = 0.20
S3_GET_PER_THOUSAND = 0.0004
S3_PUT_PER_THOUSAND = 0.005
SQS_PER_MILLION_REQUESTS = 0.40
# Lambda gives a function one full vCPU at 1769 MB and a proportional share below it.
FULL_VCPU_MEMORY_MB = 1769

UPLOADS = 1_000_000
S3_GETS_PER_UPLOAD = 2  # the original, and the key's existing manifest (ordering check)
SQS_REQUESTS_PER_UPLOAD = 3  # send (EventBridge), receive and delete (the event source mapping)


def usd(price: float) -> str:
    """A unit price as written on the AWS price page ($0.0000133334, not $1.33334e-05)."""
    return f"${Decimal(repr(price)).normalize():f}"


@dataclass(frozen=True)
class CostLine:
    component: str
    basis: str
    dollars: float


@dataclass(frozen=True)
class CostEstimate:
    lines: tuple[CostLine, ...]
    billed_ms: float
    memory_mb: int

    @property
    def total(self) -> float:
        return sum(line.dollars for line in self.lines)


def estimate_per_million(wall_ms: float, memory_mb: int, puts_per_upload: int) -> CostEstimate:
    """Cost of a million uploads if each one takes `wall_ms` on one full core, stretched by the CPU share Lambda
    gives at `memory_mb` (an upper bound: only the CPU-bound part of the wall time would stretch)."""
    cpu_share = min(1.0, memory_mb / FULL_VCPU_MEMORY_MB)
    billed_ms = wall_ms / cpu_share
    gigabyte_seconds = UPLOADS * (billed_ms / 1000) * (memory_mb / 1024)
    lines = (
        CostLine(
            "Lambda compute (arm64)",
            f"{billed_ms:.0f} ms x {memory_mb} MB = {gigabyte_seconds:,.0f} GB-s"
            f" x {usd(LAMBDA_ARM64_PER_GB_SECOND)}/GB-s",
            gigabyte_seconds * LAMBDA_ARM64_PER_GB_SECOND,
        ),
        CostLine(
            "Lambda requests",
            f"1 per upload (batching ignored) x {usd(LAMBDA_PER_MILLION_REQUESTS)}/1M",
            UPLOADS / 1e6 * LAMBDA_PER_MILLION_REQUESTS,
        ),
        CostLine(
            "S3 GET",
            f"{S3_GETS_PER_UPLOAD} per upload x {usd(S3_GET_PER_THOUSAND)}/1k",
            UPLOADS * S3_GETS_PER_UPLOAD / 1000 * S3_GET_PER_THOUSAND,
        ),
        CostLine(
            "S3 PUT",
            f"{puts_per_upload} per upload (variants + manifest) x {usd(S3_PUT_PER_THOUSAND)}/1k",
            UPLOADS * puts_per_upload / 1000 * S3_PUT_PER_THOUSAND,
        ),
        CostLine(
            "SQS",
            f"{SQS_REQUESTS_PER_UPLOAD} per upload (send, receive, delete) x {usd(SQS_PER_MILLION_REQUESTS)}/1M",
            UPLOADS * SQS_REQUESTS_PER_UPLOAD / 1e6 * SQS_PER_MILLION_REQUESTS,
        ),
        CostLine("EventBridge", "S3 events on the default bus are free", 0.0),
    )
    return CostEstimate(lines=lines, billed_ms=billed_ms, memory_mb=memory_mb)
