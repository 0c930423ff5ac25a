"""The stack: composes the pipeline's constructs, tags them and exports what operators need."""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnOutput, Duration, Stack, Tags, Validations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from stacks.config import Encryption, PipelineConfig
from stacks.constants import PROJECT_TAG
from stacks.constructs.backfill import Backfill
from stacks.constructs.delivery import ThumbnailDelivery
from stacks.constructs.downstream_events import DownstreamEvents
from stacks.constructs.encryption import PipelineKey
from stacks.constructs.imaging_layer import ImagingLayer
from stacks.constructs.ingestion import IngestQueue
from stacks.constructs.monitoring import PipelineMonitoring
from stacks.constructs.storage import ThumbnailStorage
from stacks.constructs.thumbnail_function import ThumbnailFunction
from thumbnailer.contract import SERVICE_NAME


class ThumbnailPipelineStack(Stack):
    """originals bucket -> EventBridge rule -> ingest queue -> thumbnail function -> thumbnails bucket,
    with alarms, a bus announcing each finished set, and optionally a CDN in front of the thumbnails.

    The parts are public attributes so another construct can be composed on top.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: PipelineConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config

        self.encryption = (
            PipelineKey(self, "Encryption", disposable=config.disposable)
            if config.encryption is Encryption.KMS
            else None
        )
        key = self.encryption.key if self.encryption is not None else None
        self.storage = ThumbnailStorage(
            self,
            "Storage",
            disposable=config.disposable,
            originals_bucket_name=config.originals_bucket_name,
            key=key,
        )
        self.ingestion = IngestQueue(
            self,
            "Ingestion",
            originals=self.storage.originals,
            key_prefix=config.function.key_prefix,
            key_suffixes=config.function.key_suffixes,
            function_timeout=Duration.seconds(config.timeout_seconds),
            key=key,
        )
        self.downstream = DownstreamEvents(self, "Downstream")
        self.delivery = (
            ThumbnailDelivery(
                self,
                "Delivery",
                thumbnails=self.storage.thumbnails,
                access_logs=self.storage.access_logs,
                disposable=config.disposable,
                key=key,
            )
            if config.cdn
            else None
        )
        self.imaging_layer = ImagingLayer(self, "ImagingLayer")
        self.thumbnailer = ThumbnailFunction(
            self,
            "Thumbnailer",
            config=config,
            originals=self.storage.originals,
            thumbnails=self.storage.thumbnails,
            queue=self.ingestion.queue,
            layer=self.imaging_layer.layer,
            event_bus=self.downstream.bus,
            distribution=self.delivery.distribution if self.delivery is not None else None,
            key=key,
        )
        self.backfill = Backfill(
            self,
            "Backfill",
            config=config,
            originals=self.storage.originals,
            function=self.thumbnailer.function,
            key=key,
        )
        self.monitoring = PipelineMonitoring(
            self,
            "Monitoring",
            # One alarm per dead-letter queue: a new one is one more line here.
            dead_letter_queues={
                "IngestDeadLetterQueue": self.ingestion.dead_letter_queue,
                "EventsDeadLetterQueue": self.ingestion.events_dead_letter_queue,
                "BackfillDeadLetterQueue": self.backfill.dead_letter_queue,
            },
            ingest_queue=self.ingestion.queue,
            max_queue_age=Duration.seconds(config.alarm_queue_age_seconds),
            function=self.thumbnailer.function,
            rule=self.ingestion.rule,
            alarm_email=config.alarm_email,
            dashboard=config.dashboard,
            key=key,
        )

        # Both mappings (ingest, backfill) exist now; each is acknowledged itself, not the function.
        for mapping in self.thumbnailer.function.node.children:
            if isinstance(mapping, lambda_.EventSourceMapping):
                Validations.of(mapping).acknowledge(
                    Acknowledgment(
                        id="Serverless-LambdaEventSourceMappingDestination",
                        reason="An SQS mapping's failed records go to the queue's redrive policy (its dead-letter "
                        "queue, alarmed); on-failure destinations apply to stream and Kafka sources only.",
                    )
                )

        Tags.of(self).add("project", PROJECT_TAG)
        Tags.of(self).add("service", SERVICE_NAME)

        CfnOutput(self, "OriginalsBucketName", value=self.storage.originals.bucket_name)
        CfnOutput(self, "ThumbnailsBucketName", value=self.storage.thumbnails.bucket_name)
        CfnOutput(self, "IngestQueueUrl", value=self.ingestion.queue.queue_url)
        CfnOutput(self, "IngestDeadLetterQueueUrl", value=self.ingestion.dead_letter_queue.queue_url)
        CfnOutput(self, "EventsDeadLetterQueueUrl", value=self.ingestion.events_dead_letter_queue.queue_url)
        # What the `thumbnails` operator CLI looks up (operations/): the function (its configuration is the
        # truth about presets), the backfill queue, its DLQ and the state machine.
        CfnOutput(self, "ThumbnailFunctionName", value=self.thumbnailer.function.function_name)
        CfnOutput(self, "BackfillQueueUrl", value=self.backfill.queue.queue_url)
        CfnOutput(self, "BackfillDeadLetterQueueUrl", value=self.backfill.dead_letter_queue.queue_url)
        CfnOutput(self, "BackfillStateMachineArn", value=self.backfill.state_machine.state_machine_arn)
        CfnOutput(self, "EventBusName", value=self.downstream.bus.event_bus_name)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        if self.encryption is not None:
            CfnOutput(self, "EncryptionKeyArn", value=self.encryption.key.key_arn)
        if self.delivery is not None:
            CfnOutput(self, "DistributionDomainName", value=self.delivery.distribution.distribution_domain_name)
