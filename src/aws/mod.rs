//! Thin adapters over the three AWS clients: the calls we make, mapped into our own types.

pub mod autoscaling;
pub mod codedeploy;
pub mod elb;
pub mod elbv2;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_codedeploy::config::interceptors::InterceptorContext;
use aws_sdk_codedeploy::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_codedeploy::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls;

/// One failed AWS call, with what a user needs to act: the IAM action, AWS's error code, its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} failed: {code}: {message}{}", self.hint())]
pub struct AwsError {
    /// The IAM action of the call, e.g. `autoscaling:AttachLoadBalancerTargetGroups`.
    pub action: &'static str,
    /// AWS's error code (`AccessDenied`, `Throttling`, ...) or the SDK's failure kind (`Timeout`, `DispatchFailure`).
    pub code: String,
    pub message: String,
}

impl AwsError {
    pub fn from_sdk<E, R>(action: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let code = match &err {
            SdkError::ServiceError(service) => service.err().code().unwrap_or("Unknown").to_owned(),
            SdkError::TimeoutError(_) => "Timeout".to_owned(),
            SdkError::DispatchFailure(_) => "DispatchFailure".to_owned(),
            SdkError::ResponseError(_) => "ResponseError".to_owned(),
            SdkError::ConstructionFailure(_) => "ConstructionFailure".to_owned(),
            _ => "Unknown".to_owned(),
        };
        let message = match &err {
            SdkError::ServiceError(service) => service.err().message().unwrap_or("").to_owned(),
            other => DisplayErrorContext(other).to_string(),
        };
        AwsError {
            action,
            code,
            message,
        }
    }

    pub fn is_access_denied(&self) -> bool {
        self.code.contains("AccessDenied") || self.code == "UnauthorizedOperation"
    }

    fn hint(&self) -> String {
        if self.is_access_denied() {
            format!(" (grant {} to the caller's role)", self.action)
        } else {
            String::new()
        }
    }
}

/// The standard chain with our retry and timeout policy; tests add an endpoint and credentials.
///
/// A hook or `attach` (`adaptive == false`) retries throttling, 5xx and transient errors with
/// the standard mode's exponential backoff and jitter for as long as its work deadline allows:
/// the attempt count is no limit, the deadline boundary (`run::guard`) is. That is what keeps a
/// hundred instances' hooks at once from failing a healthy deployment on the account's rate
/// limits. The audit (`adaptive == true`) fans out over many groups instead: the adaptive mode
/// rate-limits the client, with a bounded number of attempts and an operation timeout.
pub fn config_loader(adaptive: bool) -> aws_config::ConfigLoader {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT);
    let (retry, timeouts) = if adaptive {
        (
            RetryConfig::adaptive().with_max_attempts(AUDIT_MAX_ATTEMPTS),
            timeouts.operation_timeout(AUDIT_OPERATION_TIMEOUT),
        )
    } else {
        (
            RetryConfig::standard()
                .with_max_attempts(UNTIL_THE_DEADLINE)
                .with_max_backoff(MAX_BACKOFF),
            timeouts,
        )
    };
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .retry_config(retry)
        .timeout_config(timeouts.build())
}

/// A certificate the trust store does not accept fails the same way on every attempt: retried
/// until the deadline, it would only hide its cause behind "ran out of time".
#[derive(Debug)]
struct NoRetryOnCertificateFailure;

impl ClassifyRetry for NoRetryOnCertificateFailure {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let certificate = match ctx.output_or_error() {
            Some(Err(error)) => error.as_connector_error().is_some_and(|connector| {
                // rustls says "invalid peer certificate: ...", or names an alert such as
                // BadCertificate or CertificateExpired.
                DisplayErrorContext(connector)
                    .to_string()
                    .to_ascii_lowercase()
                    .contains("certificate")
            }),
            _ => false,
        };
        if certificate {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "NoRetryOnCertificateFailure"
    }
}

/// The three clients, built once per process and cheap to clone.
#[derive(Clone, Debug)]
pub struct Clients {
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    /// Classic load balancers.
    pub elb: aws_sdk_elasticloadbalancing::Client,
}

/// A hung endpoint costs one attempt; a connection that cannot be made, less.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts of one call in a hook or `attach`: in effect, until the work deadline stops it
/// (1,000 attempts at up to `MAX_BACKOFF` apart outlast any deadline here; `u32::MAX` makes
/// aws-smithy-runtime 1.16.2 spin before the first attempt).
pub const UNTIL_THE_DEADLINE: u32 = 1000;
/// The longest pause between two attempts (jittered exponential backoff below it), so a call
/// retried near the deadline still gets its chances.
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Each client's retry quota, in the SDK's tokens (5 a retry, 10 a retried timeout; one comes
/// back per call that succeeds at once): thousands of retries, so the deadline, not the quota,
/// ends them. The quota lives as long as the process, so a warm Lambda shares it across
/// invocations; at this size that does not matter.
pub const RETRY_QUOTA: usize = 100_000;
/// The audit's calls: a bounded number of attempts within an operation timeout each.
pub const AUDIT_MAX_ATTEMPTS: u32 = 4;
pub const AUDIT_OPERATION_TIMEOUT: Duration = Duration::from_secs(20);

impl Clients {
    /// Loads region, credentials and endpoints (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`)
    /// from the standard chain. `adaptive` picks the client-side rate-limiting retry mode, for
    /// the account audit's fan-out; otherwise calls retry until the deadline.
    pub async fn from_env(adaptive: bool) -> Self {
        let config = config_loader(adaptive).load().await;
        if adaptive {
            // The SDK's own partitions: their rate limiter is what adaptive mode adapts.
            Clients {
                codedeploy: aws_sdk_codedeploy::Client::new(&config),
                autoscaling: aws_sdk_autoscaling::Client::new(&config),
                elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&config),
                elb: aws_sdk_elasticloadbalancing::Client::new(&config),
            }
        } else {
            Clients::from_config(&config)
        }
    }

    /// Each client gets a retry partition of its own with a quota that does not run out first:
    /// the SDK's default quota (500 tokens, shared by every client of a service in the process)
    /// ends retries after about a hundred throttled attempts, long before the deadline; the
    /// backoff and the deadline are the limits that matter here.
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        macro_rules! client {
            ($sdk:ident, $name:literal) => {{
                use $sdk::config::retry::{RetryPartition, TokenBucket};
                let partition = RetryPartition::custom(concat!("codedeploy-tg-hook/", $name))
                    .token_bucket(TokenBucket::new(RETRY_QUOTA))
                    .build();
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(config)
                        .retry_partition(partition)
                        .retry_classifier(NoRetryOnCertificateFailure)
                        .build(),
                )
            }};
        }
        Clients {
            codedeploy: client!(aws_sdk_codedeploy, "codedeploy"),
            autoscaling: client!(aws_sdk_autoscaling, "autoscaling"),
            elbv2: client!(aws_sdk_elasticloadbalancingv2, "elbv2"),
            elb: client!(aws_sdk_elasticloadbalancing, "elb"),
        }
    }
}
