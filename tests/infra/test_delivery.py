"""CDN delivery (cdn: true): CloudFront with origin access control in front of the private thumbnails bucket,
HTTPS only, headers, a cache policy honouring Cache-Control, access logs, and the function's invalidation right."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_sns as sns

from stacks.cdk_json import thumbnails_defaults
from stacks.pipeline_stack import ThumbnailPipelineStack

from .conftest import Synthesized, synthesize
from .test_iam import as_list, function_role, role_statements

CDN_TYPES = (
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::CachePolicy",
    "AWS::CloudFront::ResponseHeadersPolicy",
)


def distribution(stack: Synthesized) -> tuple[str, dict[str, Any]]:
    distribution_id, resource = stack.only("AWS::CloudFront::Distribution")
    return distribution_id, resource["Properties"]["DistributionConfig"]


def test_without_cdn_there_is_no_cloudfront_and_nothing_to_invalidate(default_stack: Synthesized) -> None:
    for resource_type in CDN_TYPES:
        default_stack.template.resource_count_is(resource_type, 0)
    _, function = default_stack.only("AWS::Lambda::Function")
    assert "DISTRIBUTION_ID" not in function["Properties"]["Environment"]["Variables"]
    assert "DistributionDomainName" not in default_stack.outputs
    actions = {
        action
        for statement in role_statements(default_stack, function_role(default_stack))
        for action in as_list(statement["Action"])
    }
    assert not [action for action in actions if action.startswith("cloudfront:")]


def test_the_distribution_reads_the_private_bucket_through_origin_access_control(
    all_options_stack: Synthesized,
) -> None:
    # GIVEN the distribution and its origin access control
    distribution_id, config = distribution(all_options_stack)
    oac_id, oac = all_options_stack.only("AWS::CloudFront::OriginAccessControl")
    thumbnails = all_options_stack.output_target("ThumbnailsBucketName")

    # THEN its one origin is the thumbnails bucket, signed with SigV4 always, without a legacy identity
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": [thumbnails, "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert oac["Properties"]["OriginAccessControlConfig"] | {"Name": None, "Description": None} == {
        "Name": None,
        "Description": None,
        "OriginAccessControlOriginType": "s3",
        "SigningBehavior": "always",
        "SigningProtocol": "sigv4",
    }
    # AND the bucket lets CloudFront read objects for this distribution only, and never list them
    policies = [
        value["Properties"]["PolicyDocument"]["Statement"]
        for value in all_options_stack.resources.values()
        if value["Type"] == "AWS::S3::BucketPolicy" and value["Properties"]["Bucket"] == {"Ref": thumbnails}
    ]
    (statements,) = policies
    (cloudfront_statement,) = [s for s in statements if s.get("Principal") == {"Service": "cloudfront.amazonaws.com"}]
    assert cloudfront_statement["Action"] == "s3:GetObject"
    assert cloudfront_statement["Effect"] == "Allow"
    assert {"Ref": distribution_id} in cloudfront_statement["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Join"][1]
    # AND the bucket itself stays private
    assert all_options_stack.properties(thumbnails)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_viewers_get_https_only_gets_and_heads_and_the_pipelines_policies(all_options_stack: Synthesized) -> None:
    _, config = distribution(all_options_stack)
    cache_policy_id, _ = all_options_stack.only("AWS::CloudFront::CachePolicy")
    headers_policy_id, _ = all_options_stack.only("AWS::CloudFront::ResponseHeadersPolicy")

    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert (behavior["AllowedMethods"], behavior["CachedMethods"]) == (["GET", "HEAD"], ["GET", "HEAD"])
    assert behavior["CachePolicyId"] == {"Ref": cache_policy_id}
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": headers_policy_id}
    assert "CacheBehaviors" not in config
    assert config["Enabled"] is True


def test_the_cache_honours_each_objects_cache_control(all_options_stack: Synthesized) -> None:
    # GIVEN the cache policy
    _, policy = all_options_stack.only("AWS::CloudFront::CachePolicy")
    config = policy["Properties"]["CachePolicyConfig"]

    # THEN min TTL 0 (a manifest's no-cache is honoured), nothing from the request varies the cache key
    assert (config["MinTTL"], config["DefaultTTL"], config["MaxTTL"]) == (0, 86400, 31536000)
    parameters = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert parameters["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert parameters["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert parameters["CookiesConfig"] == {"CookieBehavior": "none"}


def test_the_default_cache_control_is_what_the_cdn_and_browsers_are_meant_to_do(
    all_options_stack: Synthesized,
) -> None:
    # GIVEN cdk.json's Cache-Control for thumbnails, and the CDN's cache policy
    directives = [part.strip() for part in thumbnails_defaults()["cacheControl"].split(",")]
    _, policy = all_options_stack.only("AWS::CloudFront::CachePolicy")

    # THEN browsers revalidate daily, and the CDN keeps a thumbnail a year, which its policy allows: replaced sets
    # are invalidated, so a long shared-cache lifetime is safe there
    assert directives == ["public", "max-age=86400", "s-maxage=31536000"]
    assert policy["Properties"]["CachePolicyConfig"]["MaxTTL"] >= 31536000


def test_responses_carry_security_headers_and_cors_for_simple_gets(all_options_stack: Synthesized) -> None:
    _, policy = all_options_stack.only("AWS::CloudFront::ResponseHeadersPolicy")
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]

    security = config["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": 63072000,
        "IncludeSubdomains": True,
        "Override": True,
    }
    assert security["ContentTypeOptions"] == {"Override": True}
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert security["ContentSecurityPolicy"]["ContentSecurityPolicy"] == "default-src 'none'; frame-ancestors 'none'"
    cors = config["CorsConfig"]
    assert cors["AccessControlAllowMethods"] == {"Items": ["GET", "HEAD"]}
    assert cors["AccessControlAllowOrigins"] == {"Items": ["*"]}
    assert cors["AccessControlAllowCredentials"] is False


def test_access_logs_go_to_a_private_bucket_with_acls_for_cloudfront(all_options_stack: Synthesized) -> None:
    # GIVEN the distribution's logging target
    _, config = distribution(all_options_stack)
    log_bucket = config["Logging"]["Bucket"]["Fn::GetAtt"][0]
    assert config["Logging"]["Bucket"] == {"Fn::GetAtt": [log_bucket, "RegionalDomainName"]}

    # THEN it has ACLs on (standard logging writes through an ACL grant), yet blocks public access, encrypts,
    # refuses plain HTTP, expires logs and is itself logged
    properties = all_options_stack.properties(log_bucket)
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    assert all(properties["PublicAccessBlockConfiguration"].values())
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert {"ExpirationInDays": 90, "Id": "ExpireCdnLogs", "Status": "Enabled"} in properties["LifecycleConfiguration"][
        "Rules"
    ]
    assert properties["LoggingConfiguration"]["LogFilePrefix"] == "cdn-logs/"
    all_options_stack.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": log_bucket},
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "s3:*",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Resource": [
                            {"Fn::GetAtt": [log_bucket, "Arn"]},
                            {"Fn::Join": ["", [{"Fn::GetAtt": [log_bucket, "Arn"]}, "/*"]]},
                        ],
                    }
                ],
                "Version": "2012-10-17",
            },
        },
    )


def test_the_function_may_invalidate_this_distribution_only_and_is_told_its_id(all_options_stack: Synthesized) -> None:
    distribution_id, _ = distribution(all_options_stack)
    _, function = all_options_stack.only("AWS::Lambda::Function")

    assert function["Properties"]["Environment"]["Variables"]["DISTRIBUTION_ID"] == {"Ref": distribution_id}
    granted = [
        (statement["Action"], statement["Resource"])
        for statement in role_statements(all_options_stack, function_role(all_options_stack))
        if any(action.startswith("cloudfront:") for action in as_list(statement["Action"]))
    ]
    assert granted == [
        (
            "cloudfront:CreateInvalidation",
            {
                "Fn::Join": [
                    "",
                    ["arn:", {"Ref": "AWS::Partition"}, ":cloudfront::", {"Ref": "AWS::AccountId"}, ":distribution/",
                     {"Ref": distribution_id}],
                ]
            },
        )
    ]  # fmt: skip


def test_the_distribution_domain_is_exported(all_options_stack: Synthesized) -> None:
    distribution_id, _ = distribution(all_options_stack)

    assert all_options_stack.outputs["DistributionDomainName"]["Value"] == {
        "Fn::GetAtt": [distribution_id, "DomainName"]
    }


def test_account_wide_names_carry_the_region(all_options_stack: Synthesized) -> None:
    # Origin access controls and policies are named per account: the region lets one account run the stack twice.
    for resource_type, config_key in (
        ("AWS::CloudFront::OriginAccessControl", "OriginAccessControlConfig"),
        ("AWS::CloudFront::ResponseHeadersPolicy", "ResponseHeadersPolicyConfig"),
        ("AWS::CloudFront::CachePolicy", "CachePolicyConfig"),
    ):
        _, resource = all_options_stack.only(resource_type)
        assert {"Ref": "AWS::Region"} in resource["Properties"][config_key]["Name"]["Fn::Join"][1]


def inject_cdn_violations(stack: ThumbnailPipelineStack) -> None:
    """A second distribution and a plain topic beside the acknowledged ones."""
    assert stack.delivery is not None
    cloudfront.Distribution(
        stack.delivery,
        "InjectedDistribution",
        default_behavior=cloudfront.BehaviorOptions(origin=origins.HttpOrigin("example.com")),
    )
    sns.Topic(stack.monitoring, "InjectedTopic")


def test_the_cdn_acknowledgments_are_narrow(tmp_path: Any) -> None:
    # GIVEN the CDN stack with an unacknowledged distribution and topic placed beside the real ones
    # WHEN it is synthesized
    with pytest.raises(RuntimeError, match="ValidationFailed") as raised:
        synthesize(
            tmp_path,
            context={"thumbnailsOverrides": '{"cdn": true}'},
            customize=inject_cdn_violations,
        )

    # THEN each injected resource is reported; the acknowledged distribution and topic are not
    message = str(raised.value)
    for finding in ("AwsSolutions-CFR1", "AwsSolutions-CFR2", "AwsSolutions-CFR3", "AwsSolutions-CFR4"):
        assert finding in message
    assert "ThumbnailPipeline/Delivery/InjectedDistribution/Resource" in message
    assert "AwsSolutions-SNS3" in message  # no TLS-only policy
    assert "ThumbnailPipeline/Monitoring/InjectedTopic/Resource" in message
    assert "ThumbnailPipeline/Delivery/Distribution/Resource" not in message
    assert "ThumbnailPipeline/Monitoring/AlarmTopic/Resource" not in message
