"""What landed on a capture queue, for the unit and e2e tests of the pipeline's announcements."""

from __future__ import annotations

import json
from typing import Any


def take_json_bodies(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message on the queue so far, taken off it (received and deleted), as its parsed JSON body."""
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found
