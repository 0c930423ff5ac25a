"""Monitoring: the pipeline's alarms, the encrypted SNS topic they notify, and an optional dashboard.

Written with plain `aws_cloudwatch` rather than `cdk-monitoring-constructs`: the library's SQS alarms treat
missing data as `missing` (an idle DLQ would sit in INSUFFICIENT_DATA), it has no EventBridge rule monitor,
and its generated alarms and dashboards are what the library decides; here each alarm is a few explicit lines
whose metric, statistic, threshold and missing-data treatment a reviewer reads directly. It would also have
been one more dependency (and its jsii bundle) for eight alarms.

Every alarm notifies `topic` when it goes off and when it recovers. Alarms (all on 5-minute periods):

| alarm | metric | goes off when |
|---|---|---|
| one per dead-letter queue | ApproximateNumberOfMessagesVisible (Maximum) | > 0: a message is waiting there |
| ingest queue age | ApproximateAgeOfOldestMessage (Maximum) | > alarmQueueAgeSeconds |
| function errors | AWS/Lambda Errors (Sum) | > 0: a crash, timeout or out-of-memory |
| function throttles | AWS/Lambda Throttles (Sum) | > 0 for 15 minutes running |
| unexpected outcomes | UnexpectedErrors + StartupErrors (EMF, Sum) | > 0: a bug or a bad configuration |
| transient outcome rate | 100 * TransientErrors / records received | > 10 % for 15 minutes running |
| rule delivery | AWS/Events FailedInvocations (Sum) | > 0: the rule could not deliver to the queue |

Missing data is "not breaching" everywhere: idle queues and an idle function publish nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, ArnFormat, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.constants import (
    ALARM_PERIOD_MINUTES,
    THROTTLE_ALARM_PERIODS,
    TRANSIENT_RATE_ALARM_PERCENT,
    TRANSIENT_RATE_ALARM_PERIODS,
)
from thumbnailer.contract import METRICS_NAMESPACE, OUTCOME_METRICS, SERVICE_NAME, STARTUP_ERRORS_METRIC

GREATER = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
NOT_BREACHING = cloudwatch.TreatMissingData.NOT_BREACHING


class PipelineMonitoring(Construct):
    """Alarms on every place work can get stuck or lost, an SNS topic for them, and an optional dashboard.

    `dead_letter_queues` maps a short name to a queue: one alarm each, so a new DLQ is one more entry.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        ingest_queue: sqs.IQueue,
        max_queue_age: Duration,
        function: lambda_.IFunction,
        rule: events.IRule,
        alarm_email: str | None,
        dashboard: bool,
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.period = Duration.minutes(ALARM_PERIOD_MINUTES)
        self.topic = self._alarm_topic(key)
        if alarm_email is not None:
            subscription = self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
            Validations.of(subscription).acknowledge(
                Acknowledgment(
                    id="Serverless-SNSRedrivePolicy",
                    reason="An email subscription: an alarm mail SNS cannot deliver would need a queue and an alarm "
                    "of its own; the alarm's state stays in CloudWatch either way.",
                )
            )

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for name, queue in dead_letter_queues.items():
            self._alarm(
                f"{name}Messages",
                queue.metric_approximate_number_of_messages_visible(period=self.period, statistic="Maximum"),
                threshold=0,
                description=f"Messages are waiting in the {name} dead-letter queue: find out why they failed (the "
                "function's log, the message body), fix it, then redrive them.",
            )
        self._alarm(
            "IngestQueueAge",
            ingest_queue.metric_approximate_age_of_oldest_message(period=self.period, statistic="Maximum"),
            threshold=max_queue_age.to_seconds(),
            description=f"An upload has waited more than {max_queue_age.to_seconds()} s in the ingest queue: "
            "a backlog, throttling, or records being retried.",
        )
        self._alarm(
            "FunctionErrors",
            function.metric_errors(period=self.period, statistic="Sum"),
            threshold=0,
            description="The thumbnail function crashed, timed out or ran out of memory (its records are retried).",
        )
        self._alarm(
            "FunctionThrottles",
            function.metric_throttles(period=self.period, statistic="Sum"),
            threshold=0,
            evaluation_periods=THROTTLE_ALARM_PERIODS,
            description="The thumbnail function has been throttled for 15 minutes: account concurrency is exhausted.",
        )
        self._alarm(
            "UnexpectedOutcomes",
            cloudwatch.MathExpression(
                expression="FILL(unexpected, 0) + FILL(startup, 0)",
                using_metrics={
                    "unexpected": self._function_metric(OUTCOME_METRICS["error"]),
                    "startup": self._function_metric(STARTUP_ERRORS_METRIC),
                },
                label="Unexpected errors and start-up errors",
                period=self.period,
            ),
            threshold=0,
            description="Records failed with an unexpected exception (a bug) or the function could not start "
            "(bad configuration); see the function's log for 'record failed unexpectedly' or 'cannot start'.",
        )
        self._alarm(
            "TransientOutcomeRate",
            cloudwatch.MathExpression(
                expression="IF(received > 0, 100 * FILL(transient, 0) / received, 0)",
                using_metrics={
                    "transient": self._function_metric(OUTCOME_METRICS["transient"]),
                    "received": ingest_queue.metric_number_of_messages_received(period=self.period, statistic="Sum"),
                },
                label="Transient outcomes, % of records received",
                period=self.period,
            ),
            threshold=TRANSIENT_RATE_ALARM_PERCENT,
            evaluation_periods=TRANSIENT_RATE_ALARM_PERIODS,
            description=f"More than {TRANSIENT_RATE_ALARM_PERCENT} % of records have failed transiently for 15 "
            "minutes (S3 or EventBridge errors, throttling, access denied); they are retried, then dead-lettered.",
        )
        self._alarm(
            "RuleFailedInvocations",
            cloudwatch.Metric(
                namespace="AWS/Events",
                metric_name="FailedInvocations",
                dimensions_map={"RuleName": rule.rule_name},
                period=self.period,
                statistic="Sum",
            ),
            threshold=0,
            description="EventBridge could not deliver upload events to the ingest queue; they are retried for "
            "24 h, then kept in the events dead-letter queue.",
        )

        self.dashboard = self._dashboard(dead_letter_queues, ingest_queue, function, rule) if dashboard else None

    def _alarm_topic(self, key: kms.IKey | None) -> sns.Topic:
        """An SNS topic encrypted with a customer managed key, reachable only over TLS, that CloudWatch may publish
        to: the pipeline's key with `encryption: "kms"`, otherwise a key of the topic's own.

        A customer managed key, not the AWS managed alias/aws/sns: that key's policy cannot be changed to let
        CloudWatch use it, and an alarm publishing to a topic encrypted with it fails silently.
        """
        stack = Stack.of(self)
        if key is None:
            key = kms.Key(
                self,
                "AlarmTopicKey",
                description="Thumbnail pipeline: encrypts the alarm topic; usable by CloudWatch alarms to publish",
                enable_key_rotation=True,
                # It protects only notifications in flight, nothing at rest: once the stack is gone, a retained key
                # would bill $1 a month for nothing. Deleted with the stack, after KMS's shortest waiting period.
                removal_policy=RemovalPolicy.DESTROY,
                pending_window=Duration.days(7),
            )
        cloudwatch_principal = iam.ServicePrincipal("cloudwatch.amazonaws.com")
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishEncrypted",
                principals=[cloudwatch_principal],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" is this key
            )
        )
        topic = sns.Topic(
            self, "AlarmTopic", display_name="Thumbnail pipeline alarms", master_key=key, enforce_ssl=True
        )
        # The topic policy replaces SNS's default one, so CloudWatch's right to publish is stated: alarms of this
        # account only (confused-deputy guard).
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsAlarms",
                principals=[cloudwatch_principal],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,  # alarm ARNs end in ":alarm:<name>"
                        )
                    },
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        return topic

    def _function_metric(self, metric_name: str) -> cloudwatch.Metric:
        """One of the function's EMF metrics (thumbnailer.contract names them), summed per period."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"service": SERVICE_NAME},
            period=self.period,
            statistic="Sum",
        )

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int = 1,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            comparison_operator=GREATER,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=evaluation_periods,
            treat_missing_data=NOT_BREACHING,
            alarm_description=description,
        )
        action = cloudwatch_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[name] = alarm
        return alarm

    def _dashboard(
        self,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        ingest_queue: sqs.IQueue,
        function: lambda_.IFunction,
        rule: events.IRule,
    ) -> cloudwatch.Dashboard:
        """One page: the alarms' states, then the queues, the function and the outcomes over time."""
        period = self.period
        width = 12
        return cloudwatch.Dashboard(
            self,
            "Dashboard",
            widgets=[
                [cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms.values()), width=24)],
                [
                    cloudwatch.GraphWidget(
                        title="Ingest queue",
                        width=width,
                        left=[
                            ingest_queue.metric_approximate_number_of_messages_visible(period=period),
                            ingest_queue.metric_approximate_number_of_messages_not_visible(period=period),
                        ],
                        right=[ingest_queue.metric_approximate_age_of_oldest_message(period=period)],
                    ),
                    cloudwatch.GraphWidget(
                        title="Dead-letter queues",
                        width=width,
                        left=[
                            queue.metric_approximate_number_of_messages_visible(period=period, label=name)
                            for name, queue in dead_letter_queues.items()
                        ],
                    ),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Outcomes per 5 minutes",
                        width=width,
                        stacked=True,
                        left=[
                            self._function_metric(metric_name).with_(label=kind)
                            for kind, metric_name in OUTCOME_METRICS.items()
                        ],
                    ),
                    cloudwatch.GraphWidget(
                        title="Function",
                        width=width,
                        left=[
                            function.metric_invocations(period=period),
                            function.metric_errors(period=period),
                            function.metric_throttles(period=period),
                            cloudwatch.Metric(
                                namespace="AWS/Events",
                                metric_name="FailedInvocations",
                                dimensions_map={"RuleName": rule.rule_name},
                                period=period,
                                statistic="Sum",
                                label="Rule failed invocations",
                            ),
                        ],
                        right=[function.metric_duration(period=period, statistic="p99")],
                    ),
                ],
            ],
        )
