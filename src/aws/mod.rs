//! Thin adapters over the three AWS clients: the calls we make, mapped into our own types.

pub mod autoscaling;
pub mod codedeploy;
pub mod elbv2;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
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
pub fn config_loader(adaptive: bool) -> aws_config::ConfigLoader {
    let retry = if adaptive {
        RetryConfig::adaptive()
    } else {
        RetryConfig::standard()
    };
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .retry_config(retry.with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
}

/// The three clients, built once per process and cheap to clone.
#[derive(Clone, Debug)]
pub struct Clients {
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
}

/// Per-attempt and per-operation timeouts: a hung endpoint costs one attempt, and an operation
/// (with the SDK's retries) can never eat the whole Lambda budget on its own.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Standard retry mode (exponential backoff with jitter on throttling, 5xx and transient errors).
pub const MAX_ATTEMPTS: u32 = 4;

impl Clients {
    /// Loads region, credentials and endpoints (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`)
    /// from the standard chain. `adaptive` picks the client-side rate-limiting retry mode, for
    /// the account audit's fan-out.
    pub async fn from_env(adaptive: bool) -> Self {
        Clients::from_config(&config_loader(adaptive).load().await)
    }

    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Clients {
            codedeploy: aws_sdk_codedeploy::Client::new(config),
            autoscaling: aws_sdk_autoscaling::Client::new(config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(config),
        }
    }
}
