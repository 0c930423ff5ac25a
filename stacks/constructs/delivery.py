"""CDN delivery (optional, `cdn: true`): a CloudFront distribution in front of the private thumbnails bucket.

- The bucket stays private: CloudFront reads it through origin access control (OAC, SigV4-signed requests),
  granted by the bucket policy for this distribution only. Read only, no ListBucket: a missing thumbnail is a
  403, but nobody can list the bucket's keys (the originals' names) through the CDN.
- HTTPS only for viewers (HTTP is redirected), security headers on every response, and CORS for GET/HEAD from
  any origin: a front end on another origin reads `manifest.json` with fetch() to learn a set's variants and
  sizes, and may draw thumbnails on a canvas; both need CORS. Everything served is public through the CDN
  anyway, no credentials are involved, so `*` opens nothing.
- Caching honours each object's own Cache-Control (min TTL 0): thumbnails say `s-maxage=31536000` (the CDN
  keeps them a year; the function invalidates a replaced set), manifests say `no-cache` (always revalidated).
- Standard access logs go to a bucket of their own, for 90 days. CloudFront's standard logging writes through
  an ACL grant to its log-delivery account, so that bucket has ACLs enabled (BucketOwnerPreferred: log files
  written with `bucket-owner-full-control` become the bucket owner's) but blocks public access like the others.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Duration, Names, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.constants import (
    ABORT_INCOMPLETE_UPLOADS_DAYS,
    ACCESS_LOG_EXPIRY_DAYS,
    CDN_DEFAULT_TTL_DAYS,
    CDN_MAX_TTL_DAYS,
    HSTS_MAX_AGE_DAYS,
)


class ThumbnailDelivery(Construct):
    """The distribution, its cache and response-headers policies, and its access-log bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        thumbnails: s3.IBucket,
        access_logs: s3.IBucket,
        disposable: bool,
        key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.log_bucket = s3.Bucket(
            self,
            "Logs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # also with `encryption: kms`: see encryption.py
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,  # ACLs on: see the module docstring
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="cdn-logs/",
            lifecycle_rules=[
                s3.LifecycleRule(id="ExpireCdnLogs", expiration=Duration.days(ACCESS_LOG_EXPIRY_DAYS)),
                s3.LifecycleRule(
                    id="AbortIncompleteMultipartUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(ABORT_INCOMPLETE_UPLOADS_DAYS),
                ),
            ],
            removal_policy=RemovalPolicy.DESTROY if disposable else RemovalPolicy.RETAIN,
        )

        self.cache_policy = cloudfront.CachePolicy(
            self,
            "CachePolicy",
            comment="Thumbnails: the object's own Cache-Control decides (s-maxage), nothing varies the cache key",
            min_ttl=Duration.seconds(0),
            # Only for an object without Cache-Control (cacheControl set to ''): a day, like browsers get.
            default_ttl=Duration.days(CDN_DEFAULT_TTL_DAYS),
            max_ttl=Duration.days(CDN_MAX_TTL_DAYS),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            enable_accept_encoding_gzip=True,  # manifests compress; JPEG and WebP are served as they are
            enable_accept_encoding_brotli=True,
        )

        self.response_headers_policy = cloudfront.ResponseHeadersPolicy(
            self,
            "ResponseHeadersPolicy",
            response_headers_policy_name=self._account_unique_name("Headers"),
            comment="Thumbnails: security headers, and CORS for GET/HEAD from any origin (public, no credentials)",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(HSTS_MAX_AGE_DAYS), include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),  # nosniff
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override=True
                ),
                # Images and JSON only: nothing here may run or load anything.
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy="default-src 'none'; frame-ancestors 'none'", override=True
                ),
            ),
            # Simple cross-origin GETs (img crossorigin, fetch without custom headers) need no preflight, so the
            # behavior allows no OPTIONS; the allowed headers only ever appear in a preflight answer.
            cors_behavior=cloudfront.ResponseHeadersCorsBehavior(
                access_control_allow_credentials=False,
                access_control_allow_headers=["*"],
                access_control_allow_methods=["GET", "HEAD"],
                access_control_allow_origins=["*"],
                origin_override=True,
            ),
        )

        self.origin_access_control = cloudfront.S3OriginAccessControl(
            self,
            "OriginAccessControl",
            origin_access_control_name=self._account_unique_name("Oac"),
            description="The thumbnail pipeline's CDN reads the thumbnails bucket, SigV4-signed",
            signing=cloudfront.Signing.SIGV4_ALWAYS,
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="Thumbnail pipeline: the thumbnails bucket, read through origin access control",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(
                    thumbnails,
                    origin_access_control=self.origin_access_control,
                    origin_access_levels=[cloudfront.AccessLevel.READ],
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                cache_policy=self.cache_policy,
                response_headers_policy=self.response_headers_policy,
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            enable_logging=True,
            log_bucket=self.log_bucket,
            log_file_prefix="cloudfront/",
        )
        if key is not None and key.node.scope is not None:
            # The OAC origin adds the key policy statement itself, on the construct holding the key.
            Validations.of(key.node.scope).acknowledge(
                Acknowledgment(
                    id="Annotation::@aws-cdk/aws-cloudfront-origins:wildcardKeyPolicyForOac",
                    reason="CloudFront may decrypt with the key for any distribution of this account (aws:SourceArn "
                    "distribution/*): naming this one would make the key depend on the distribution that depends "
                    "on the bucket encrypted with the key. Reading still needs the bucket policy, which lets only "
                    "this distribution read.",
                )
            )
        for rule, reason in (
            (
                "AwsSolutions-CFR1",
                "No geo restriction: thumbnails are served to whoever the front end serves; a business that must "
                "restrict countries adds it to the distribution (or in WAF).",
            ),
            (
                "AwsSolutions-CFR2",
                "No WAF web ACL: the distribution serves static, public thumbnails by GET and HEAD only, with no "
                "origin logic to protect; a web ACL costs at least $5/month plus $0.60 per million requests. "
                "Attach one (webAclId) where abusive traffic is a concern.",
            ),
            (
                "AwsSolutions-CFR4",
                "The default *.cloudfront.net certificate: its TLS policy is CloudFront's (TLSv1 minimum) and cannot "
                "be raised without a custom domain and an ACM certificate, which this stack does not own. "
                "Viewers are redirected to HTTPS; modern clients negotiate TLS 1.2 or 1.3.",
            ),
        ):
            Validations.of(self.distribution).acknowledge(Acknowledgment(id=rule, reason=reason))

    def _account_unique_name(self, suffix: str) -> str:
        """Response-headers policies and origin access controls are named per account, not per region (CDK's
        generated names are not): the region in the name lets the stack be deployed in two regions."""
        return f"{Names.unique_id(self)}{suffix}-{Stack.of(self).region}"
