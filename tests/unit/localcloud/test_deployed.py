"""Outputs of a stack deployed through a change set into moto (which records none) come from its template."""

from __future__ import annotations

from local.deployed import outputs_from_template


def test_outputs_that_reference_a_resource_resolve_to_its_physical_id() -> None:
    # GIVEN a template whose outputs are Refs, and the stack's resources as CloudFormation lists them
    template = {
        "Outputs": {
            "OriginalsBucketName": {"Value": {"Ref": "Originals"}},
            "IngestQueueUrl": {"Value": {"Ref": "Queue"}},
            "FunctionArn": {"Value": {"Fn::GetAtt": ["Function", "Arn"]}},
            "Missing": {"Value": {"Ref": "NotDeployed"}},
        }
    }
    physical_ids = {"Originals": "originals-abc", "Queue": "https://sqs.us-east-1.amazonaws.com/123/q"}

    # WHEN resolving them
    outputs = outputs_from_template(template, physical_ids)

    # THEN only the Refs to deployed resources resolve; anything else is left out rather than guessed
    assert outputs == {"OriginalsBucketName": "originals-abc", "IngestQueueUrl": physical_ids["Queue"]}
