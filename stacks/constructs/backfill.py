"""Backfill and re-render at scale: a Step Functions Distributed Map that lists the originals and enqueues one
backfill message per object into a dedicated queue, which the thumbnail function drains through a second,
low-concurrency event source mapping (so live uploads keep priority).

    execution input {"mode": "missing"|"stale"|"all", "prefix": "photos/"}
      [+ "inventory": {"manifestKey": ".../manifest.json"} when backfillInventoryBucket is set]
    -> Choice: valid mode?  -> Choice: inventory given?
    -> Distributed Map (Standard parent), ItemReader S3 ListObjectsV2 under the prefix (or the S3 Inventory
       manifest), ItemSelector builds each item's SendMessageBatch entry (the backfill message, as
       `thumbnailer.backfill.backfill_message` builds it), ItemBatcher: ITEMS_PER_CHILD per child
    -> Express child: inline Map serialising each message (States.JsonToString), States.ArrayPartition into
       groups of 10, inline Map -> sqs:sendMessageBatch (SDK integration); any entry SQS reports as Failed fails
       the child, so the map run counts it and a redrive of the execution sends it again (duplicates are
       harmless: the function skips what is done).

Cost: the parent is charged one state transition per *child execution*, so batching ITEMS_PER_CHILD items
into one Express child is what keeps a million objects under $0.50 instead of $26-75 (README, Operations).
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnResource, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.config import PipelineConfig
from stacks.constants import (
    BACKFILL_RETENTION_DAYS,
    LOG_RETENTION,
    MAX_RECEIVE_COUNT,
    VISIBILITY_TIMEOUT_FACTOR,
)
from stacks.constructs.encryption import key_used_through
from stacks.constructs.ingestion import dead_letter_queue, encrypted_queue
from stacks.constructs.thumbnail_function import queue_event_source
from thumbnailer.backfill import BACKFILL_KIND, BACKFILL_VERSION, BackfillMode

# Items per Express child execution: each child sends them in SendMessageBatch calls of SQS_BATCH entries.
# 100 keys of at most 1 KiB each stay far below a batch's 256 KiB input limit.
ITEMS_PER_CHILD = 100
SQS_BATCH = 10  # SendMessageBatch's maximum number of entries
SEND_ATTEMPTS = 4

# Each listed object becomes one SendMessageBatch entry whose body is the backfill message, as
# `thumbnailer.backfill.backfill_message` builds it (a test evaluates this template and compares): the message
# is built as an object here and serialised with States.JsonToString in the child, so any key is escaped
# correctly. Ids only need to be unique within one batch; the item's index in the whole listing is.
ITEM_SELECTOR = {
    "Id": sfn.JsonPath.format("{}", sfn.JsonPath.string_at("$$.Map.Item.Index")),
    "Message": {
        "kind": BACKFILL_KIND,
        "version": BACKFILL_VERSION,
        "bucket": sfn.JsonPath.string_at("$.request.bucket"),
        "key": sfn.JsonPath.string_at("$$.Map.Item.Value.Key"),
        "mode": sfn.JsonPath.string_at("$.request.mode"),
    },
}
ENTRY_SELECTOR = {
    "Id": sfn.JsonPath.string_at("$$.Map.Item.Value.Id"),
    "MessageBody": sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$$.Map.Item.Value.Message")),
}


class Backfill(Construct):
    """The backfill queue (+DLQ), its event source mapping on the thumbnail function, and the state machine."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        originals: s3.IBucket,
        function: lambda_.IFunction,
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", key=key)
        self.queue = encrypted_queue(
            self,
            "Queue",
            retention_days=BACKFILL_RETENTION_DAYS,
            key=key,
            visibility_timeout=Duration.seconds(config.timeout_seconds * VISIBILITY_TIMEOUT_FACTOR),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVE_COUNT),
        )
        # The second mapping: its own maximum concurrency, so a backfill never takes the instances live uploads need.
        function.add_event_source(
            queue_event_source(self.queue, config=config, max_concurrency=config.backfill_max_concurrency)
        )

        self.log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            encryption_key=key,
            retention=LOG_RETENTION[config.log_retention_days],
            removal_policy=RemovalPolicy.DESTROY if config.disposable else RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="Backfill state machine: list originals, send backfill messages to the backfill queue",
        )
        if key is not None:
            # SendMessageBatch into the queue encrypted with the pipeline's key, through SQS only.
            self.role.add_to_policy(
                key_used_through(self, sid="EncryptBackfillMessagesThroughSqs", key_arn=key.key_arn, services=("sqs",))
            )

        request = sfn.Pass(
            self,
            "Describe the request",
            parameters={
                "bucket": originals.bucket_name,
                "mode": sfn.JsonPath.string_at("$.mode"),
                "prefix": sfn.JsonPath.string_at("$.prefix"),
            },
            result_path="$.request",
        )
        valid_mode = sfn.Condition.or_(*(sfn.Condition.string_equals("$.mode", str(mode)) for mode in BackfillMode))
        invalid = sfn.Fail(
            self,
            "Invalid input",
            error="InvalidInput",
            cause=f'expected {{"mode": one of {", ".join(BackfillMode)}, "prefix": string}}',
        )
        listing_map = self._distributed_map(
            "Enqueue listed originals",
            config=config,
            item_reader=sfn.S3ObjectsItemReader(bucket=originals, prefix=sfn.JsonPath.string_at("$.request.prefix")),
        )
        start = sfn.Choice(self, "Valid input?").when(
            sfn.Condition.and_(
                sfn.Condition.is_present("$.mode"),
                sfn.Condition.is_string("$.mode"),
                valid_mode,
                sfn.Condition.is_present("$.prefix"),
                sfn.Condition.is_string("$.prefix"),
            ),
            request,
        )
        start.otherwise(invalid)
        if config.backfill_inventory_bucket:
            inventory_bucket = s3.Bucket.from_bucket_name(self, "InventoryBucket", config.backfill_inventory_bucket)
            inventory_map = self._distributed_map(
                "Enqueue inventoried originals",
                config=config,
                item_reader=sfn.S3ManifestItemReader(
                    bucket=inventory_bucket, key=sfn.JsonPath.string_at("$.inventory.manifestKey")
                ),
            )
            Validations.of(self.role).acknowledge(
                Acknowledgment(
                    # CDK's manifest reader writes this ARN with the partition always as a token.
                    id=f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{config.backfill_inventory_bucket}/*]",
                    reason="The inventory manifest and its data files: their keys are dated, known only at run time.",
                )
            )
            request.next(
                sfn.Choice(self, "Inventory given?")
                .when(sfn.Condition.is_present("$.inventory.manifestKey"), inventory_map)
                .otherwise(listing_map)
            )
        else:
            request.next(listing_map)

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment="Backfill: enqueue a backfill message for every original under a prefix",
            definition_body=sfn.DefinitionBody.from_chainable(start),
            state_machine_type=sfn.StateMachineType.STANDARD,
            role=self.role,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            timeout=Duration.days(7),
            tracing_enabled=True if config.tracing else None,  # None: the default template unchanged
        )
        self._acknowledge(tracing=config.tracing)

    def _distributed_map(
        self, name: str, *, config: PipelineConfig, item_reader: sfn.IItemReader
    ) -> sfn.DistributedMap:
        distributed_map = sfn.DistributedMap(
            self,
            name,
            item_reader=item_reader,
            item_selector=ITEM_SELECTOR,
            item_batcher=sfn.ItemBatcher(max_items_per_batch=ITEMS_PER_CHILD),
            max_concurrency=config.backfill_map_concurrency,
            tolerated_failure_percentage=config.backfill_tolerated_failure_percentage,
            map_execution_type=sfn.StateMachineType.EXPRESS,
            label="backfill",
            result_path=sfn.JsonPath.DISCARD,
        )
        distributed_map.item_processor(self._child(name))
        return distributed_map

    def _child(self, prefix: str) -> sfn.IChainable:
        """One Express child: its batch of items serialised into SendMessageBatch entries, then sent in groups of
        SQS_BATCH, one SendMessageBatch each. Inline Maps inside an Express child cost no state transitions."""
        serialise = sfn.Map(
            self,
            f"{prefix}: message bodies",
            items_path="$.Items",
            item_selector=ENTRY_SELECTOR,
            result_path="$.Entries",
        )
        serialise.item_processor(sfn.Pass(self, f"{prefix}: entry"))
        groups = sfn.Pass(
            self,
            f"{prefix}: group by {SQS_BATCH}",
            parameters={"groups": sfn.JsonPath.array_partition(sfn.JsonPath.list_at("$.Entries"), SQS_BATCH)},
        )
        send = tasks.CallAwsService(
            self,
            f"{prefix}: SendMessageBatch",
            service="sqs",
            action="sendMessageBatch",
            iam_action="sqs:SendMessage",  # SendMessageBatch is authorised as SendMessage
            iam_resources=[self.queue.queue_arn],
            parameters={"QueueUrl": self.queue.queue_url, "Entries": sfn.JsonPath.entire_payload},
        )
        send.add_retry(errors=["States.ALL"], interval=Duration.seconds(1), backoff_rate=2, max_attempts=SEND_ATTEMPTS)
        failed = sfn.Fail(
            self, f"{prefix}: some entries not sent", error="SendFailed", cause="SQS reported failed entries"
        )
        check = (
            sfn.Choice(self, f"{prefix}: all sent?")
            .when(sfn.Condition.is_present("$.Failed[0]"), failed)
            .otherwise(sfn.Succeed(self, f"{prefix}: sent"))
        )
        each_group = sfn.Map(self, f"{prefix}: each group", items_path="$.groups", max_concurrency=1)
        each_group.item_processor(send.next(check))
        return serialise.next(groups).next(each_group)

    def _acknowledge(self, *, tracing: bool) -> None:
        """Each finding acknowledged where it arises, by its exact id, with the reason."""
        if not tracing:
            Validations.of(self.state_machine).acknowledge(
                Acknowledgment(
                    id="AwsSolutions-SF2",
                    reason="Execution logging at level ALL records every state; X-Ray (`tracing: true`) would add a "
                    "trace per Express child and cost, showing nothing the map run's counts and the logs do not.",
                ),
                Acknowledgment(
                    id="Serverless-StepFunctionStateMachineXray",
                    reason="Same as AwsSolutions-SF2: execution logging at level ALL; X-Ray is `tracing: true`.",
                ),
            )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="CloudWatch Logs vended-log delivery actions (execution logging)"
                + (" and X-Ray's trace and sampling actions" if tracing else "")
                + ": authorised on '*' only.",
            )
        )
        stack = Stack.of(self)
        resource = self.state_machine.node.default_child
        assert isinstance(resource, CfnResource)
        logical_id = stack.resolve(stack.get_logical_id(resource))
        name = '{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"' + logical_id + '"}]}]}'
        partition, region, account = (
            _as_nag_spells(stack, value) for value in (stack.partition, stack.region, stack.account)
        )
        execution = f"arn:{partition}:states:{region}:{account}:execution:" + name
        for pattern, what in ((":*", "describe/stop"), ("/backfill:*", "redrive")):
            Validations.of(self.state_machine).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Resource::{execution}{pattern}]",
                    reason=f"The Distributed Map may {what} its own executions and map runs (ids known at run time).",
                )
            )


def _as_nag_spells(stack: Stack, value: str) -> str:
    """A value as cdk-nag writes it in a finding: literals as they are, `{"Ref": "AWS::Region"}` as
    `<AWS::Region>`, an Fn::Join of those joined. Whether a pseudo parameter is a literal depends on the stack's
    environment (`cdk synth` with a default region fixes the region and partition), so ids are computed."""
    return _render(stack.resolve(value))


def _render(resolved: object) -> str:
    if isinstance(resolved, str):
        return resolved
    if isinstance(resolved, dict) and "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        separator, parts = resolved["Fn::Join"]
        return str(separator).join(_render(part) for part in parts)
    raise ValueError(f"cannot spell {resolved!r} as cdk-nag does")
