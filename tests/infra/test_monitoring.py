"""Monitoring: every alarm (metric, statistic, threshold, comparison, missing data, actions), the encrypted
TLS-only topic they notify, the optional email subscription and dashboard.

moto's CloudFormation skips CloudWatch alarms, so they are asserted here, on the template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from aws_cdk.assertions import Match

from stacks.cdk_json import thumbnails_defaults
from thumbnailer.contract import METRICS_NAMESPACE, SERVICE_NAME

from .conftest import ALL_OPTIONS, OVERRIDES, Synthesized

PERIOD = 300
EXPECTED_ALARMS = 9  # three DLQs, queue age, errors, throttles, unexpected, transient rate, rule deliveries


def alarms(stack: Synthesized) -> dict[str, Mapping[str, Any]]:
    return {
        key: value["Properties"] for key, value in stack.resources.items() if value["Type"] == "AWS::CloudWatch::Alarm"
    }


def topic(stack: Synthesized) -> str:
    return stack.output_target("AlarmTopicArn")


def alarm_on(stack: Synthesized, metric_name: str) -> Mapping[str, Any]:
    """The one alarm whose metric (or one of whose math metrics) is `metric_name`."""
    found = [
        properties
        for properties in alarms(stack).values()
        if properties.get("MetricName") == metric_name
        or any(
            query.get("MetricStat", {}).get("Metric", {}).get("MetricName") == metric_name
            for query in properties.get("Metrics", [])
        )
    ]
    assert len(found) == 1, f"expected one alarm on {metric_name}, found {len(found)}"
    return found[0]


def assert_notifies_the_topic_and_ignores_silence(stack: Synthesized, alarm: Mapping[str, Any]) -> None:
    assert alarm["AlarmActions"] == [{"Ref": topic(stack)}]
    assert alarm["OKActions"] == [{"Ref": topic(stack)}]
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def queue_name_of(stack: Synthesized, output: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [stack.output_target(output), "QueueName"]}


def test_there_are_exactly_the_documented_alarms_and_each_notifies_the_topic(default_stack: Synthesized) -> None:
    found = alarms(default_stack)

    assert len(found) == EXPECTED_ALARMS
    for alarm in found.values():
        assert_notifies_the_topic_and_ignores_silence(default_stack, alarm)
        assert alarm["AlarmDescription"]


@pytest.mark.parametrize(
    "output", ["IngestDeadLetterQueueUrl", "EventsDeadLetterQueueUrl", "BackfillDeadLetterQueueUrl"]
)
def test_each_dead_letter_queue_alarms_on_its_first_visible_message(default_stack: Synthesized, output: str) -> None:
    # GIVEN the alarms on visible messages
    on_visible = [
        alarm
        for alarm in alarms(default_stack).values()
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
    ]

    # THEN exactly one watches this DLQ: any visible message (not "incoming", which misses redriven ones)
    (alarm,) = [
        alarm
        for alarm in on_visible
        if alarm["Dimensions"] == [{"Name": "QueueName", "Value": queue_name_of(default_stack, output)}]
    ]
    assert (alarm["Namespace"], alarm["Statistic"], alarm["Period"]) == ("AWS/SQS", "Maximum", PERIOD)
    assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (0, 1, 1)
    assert_notifies_the_topic_and_ignores_silence(default_stack, alarm)


@pytest.mark.parametrize(
    ("stack_fixture", "seconds"),
    [
        ("default_stack", thumbnails_defaults()["alarmQueueAgeSeconds"]),
        ("overridden_stack", OVERRIDES["alarmQueueAgeSeconds"]),
    ],
)
def test_the_ingest_queue_alarms_when_its_oldest_message_is_older_than_configured(
    stack_fixture: str, seconds: int, request: pytest.FixtureRequest
) -> None:
    stack: Synthesized = request.getfixturevalue(stack_fixture)

    alarm = alarm_on(stack, "ApproximateAgeOfOldestMessage")

    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": queue_name_of(stack, "IngestQueueUrl")}]
    assert (alarm["Namespace"], alarm["Statistic"], alarm["Period"]) == ("AWS/SQS", "Maximum", PERIOD)
    assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (seconds, 1)
    assert_notifies_the_topic_and_ignores_silence(stack, alarm)


@pytest.mark.parametrize(("metric_name", "periods"), [("Errors", 1), ("Throttles", 3)])
def test_the_function_alarms_on_errors_at_once_and_on_sustained_throttling(
    default_stack: Synthesized, metric_name: str, periods: int
) -> None:
    function_id, _ = default_stack.only("AWS::Lambda::Function")

    alarm = alarm_on(default_stack, metric_name)

    assert alarm["Namespace"] == "AWS/Lambda"
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", PERIOD, 0)
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (periods, periods)
    assert_notifies_the_topic_and_ignores_silence(default_stack, alarm)


def math_metrics(alarm: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """id -> MetricStat of each metric an expression alarm uses."""
    return {query["Id"]: query["MetricStat"] for query in alarm["Metrics"] if "MetricStat" in query}


def expression(alarm: Mapping[str, Any]) -> str:
    (query,) = [query for query in alarm["Metrics"] if "Expression" in query]
    assert query["ReturnData"] is True
    return str(query["Expression"])


def emf(metric_name: str) -> dict[str, Any]:
    """One of the function's EMF metrics as CloudWatch names it: the contract's namespace and service dimension."""
    return {
        "Metric": {
            "Namespace": METRICS_NAMESPACE,
            "MetricName": metric_name,
            "Dimensions": [{"Name": "service", "Value": SERVICE_NAME}],
        },
        "Period": PERIOD,
        "Stat": "Sum",
    }


def test_any_unexpected_or_startup_error_of_the_function_alarms(default_stack: Synthesized) -> None:
    alarm = alarm_on(default_stack, "UnexpectedErrors")

    assert math_metrics(alarm) == {"unexpected": emf("UnexpectedErrors"), "startup": emf("StartupErrors")}
    assert expression(alarm) == "FILL(unexpected, 0) + FILL(startup, 0)"
    assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (0, 1)
    assert_notifies_the_topic_and_ignores_silence(default_stack, alarm)


def test_a_sustained_rate_of_transient_outcomes_alarms(default_stack: Synthesized) -> None:
    alarm = alarm_on(default_stack, "TransientErrors")

    # the function's transient outcomes, as a percentage of the records the ingest queue handed out
    metrics = math_metrics(alarm)
    assert metrics["transient"] == emf("TransientErrors")
    assert metrics["received"]["Metric"] == {
        "Namespace": "AWS/SQS",
        "MetricName": "NumberOfMessagesReceived",
        "Dimensions": [{"Name": "QueueName", "Value": queue_name_of(default_stack, "IngestQueueUrl")}],
    }
    assert (metrics["received"]["Stat"], metrics["received"]["Period"]) == ("Sum", PERIOD)
    assert expression(alarm) == "IF(received > 0, 100 * FILL(transient, 0) / received, 0)"
    # above 10 % for three 5-minute periods running
    assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (10, 3, 3)
    assert_notifies_the_topic_and_ignores_silence(default_stack, alarm)


def test_the_rule_alarms_when_it_fails_to_deliver(default_stack: Synthesized) -> None:
    rule_id, _ = default_stack.only("AWS::Events::Rule")

    alarm = alarm_on(default_stack, "FailedInvocations")

    assert alarm["Namespace"] == "AWS/Events"
    assert alarm["Dimensions"] == [{"Name": "RuleName", "Value": {"Ref": rule_id}}]
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", PERIOD, 0)
    assert_notifies_the_topic_and_ignores_silence(default_stack, alarm)


def test_the_topic_is_encrypted_with_a_rotated_key_that_cloudwatch_may_use(default_stack: Synthesized) -> None:
    # GIVEN the alarm topic and its key
    key_id, key = default_stack.only("AWS::KMS::Key")
    properties = default_stack.properties(topic(default_stack))

    # THEN the topic is encrypted with that key (not alias/aws/sns, whose policy CloudWatch cannot use)
    assert properties["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    # it protects nothing at rest: deleted with the stack (after 7 days), not billed on for nothing
    assert (key["DeletionPolicy"], key["Properties"]["PendingWindowInDays"]) == ("Delete", 7)
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert {
        "Sid": "AllowCloudWatchAlarmsToPublishEncrypted",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    } in statements


def test_the_topic_refuses_requests_without_tls_and_accepts_only_this_accounts_alarms(
    default_stack: Synthesized,
) -> None:
    _, policy = default_stack.only("AWS::SNS::TopicPolicy")
    topic_ref = {"Ref": topic(default_stack)}

    assert policy["Properties"]["Topics"] == [topic_ref]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [statement for statement in statements if statement["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert (deny["Principal"], deny["Action"], deny["Resource"]) == ("*", "sns:Publish", topic_ref)
    (allow,) = [statement for statement in statements if statement["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert (allow["Action"], allow["Resource"]) == ("sns:Publish", topic_ref)
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert allow["Condition"]["ArnLike"]["aws:SourceArn"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":cloudwatch:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":alarm:*",
            ],
        ]
    }


def test_by_default_nobody_is_subscribed_and_there_is_no_dashboard(default_stack: Synthesized) -> None:
    default_stack.template.resource_count_is("AWS::SNS::Subscription", 0)
    default_stack.template.resource_count_is("AWS::CloudWatch::Dashboard", 0)
    assert default_stack.outputs["AlarmTopicArn"]["Value"] == {"Ref": topic(default_stack)}


def test_an_alarm_email_subscribes_to_the_topic(all_options_stack: Synthesized) -> None:
    all_options_stack.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": ALL_OPTIONS["alarmEmail"], "TopicArn": {"Ref": topic(all_options_stack)}},
    )
    all_options_stack.template.resource_count_is("AWS::SNS::Subscription", 1)


def test_the_dashboard_shows_every_alarm_and_the_pipelines_metrics(all_options_stack: Synthesized) -> None:
    # GIVEN the dashboard's body, with the template's references left as they are
    _, dashboard = all_options_stack.only("AWS::CloudWatch::Dashboard")
    body = repr(dashboard["Properties"]["DashboardBody"])

    # THEN it names every alarm and the pipeline's metrics
    for alarm_id in alarms(all_options_stack):
        assert alarm_id in body
    for metric_name in ("ApproximateAgeOfOldestMessage", "ImagesCompleted", "TransientErrors", "Duration"):
        assert metric_name in body
    all_options_stack.template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_the_monitoring_is_the_same_whichever_originals_bucket_and_delivery(all_options_stack: Synthesized) -> None:
    # GIVEN every option on (own bucket, CDN, dashboard, email)
    found = alarms(all_options_stack)

    # THEN the same eight alarms notify the same topic
    assert len(found) == EXPECTED_ALARMS
    for alarm in found.values():
        assert alarm["AlarmActions"] == [{"Ref": topic(all_options_stack)}]
    all_options_stack.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
