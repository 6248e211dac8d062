//! Thin adapters over the AWS clients: the calls we make, mapped into our own types (IAM and
//! Lambda for `doctor` only).

pub mod actions;
pub mod autoscaling;
pub mod calls;
pub mod codedeploy;
#[cfg(feature = "launch-templates")]
pub mod ec2;
pub mod elb;
pub mod elbv2;
pub mod iam;
pub mod lambda;
#[cfg(test)]
pub mod stub;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_codedeploy::config::interceptors::InterceptorContext;
use aws_sdk_codedeploy::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_codedeploy::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// One failed AWS call, with what a user needs to act: the IAM action, AWS's error code, its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} failed: {code}: {message}{}", self.hint())]
pub struct AwsError {
    /// The IAM action of the call, e.g. `autoscaling:AttachTrafficSources`.
    pub action: &'static str,
    /// AWS's error code (`AccessDenied`, `Throttling`, ...) or the SDK's failure kind (`Timeout`, `DispatchFailure`).
    pub code: String,
    pub message: String,
}

impl AwsError {
    /// The SDK's error as a person reads it: AWS's code and message; for an answer that is not
    /// AWS's, the HTTP status and what was wrong with it; for a call that never got an answer,
    /// the endpoint and the connection error or the timeout.
    pub fn from_sdk<E>(action: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let endpoint = || calls::endpoint_of(action);
        let before_an_answer = matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
        );
        if let Some(mistake) = before_an_answer
            .then(|| calls::setup_mistake(&calls::innermost(&err)))
            .flatten()
        {
            return AwsError {
                action,
                code: "Setup".to_owned(),
                message: mistake.to_owned(),
            };
        }
        let (code, message) = match &err {
            SdkError::ServiceError(service) => match service.err().code() {
                Some(code) => (
                    code.to_owned(),
                    service.err().message().unwrap_or("").to_owned(),
                ),
                None => ("Unknown".to_owned(), calls::http_failure(service.raw())),
            },
            SdkError::ResponseError(response) => {
                match calls::find_source::<calls::MalformedAnswer>(&err) {
                    Some(malformed) => (
                        "MalformedAnswer".to_owned(),
                        format!(
                            "answered HTTP {} with {}, not AWS's answer (a proxy, an endpoint that is not AWS, or a cut connection)",
                            malformed.status, malformed.problem
                        ),
                    ),
                    None => (
                        "ResponseError".to_owned(),
                        format!(
                            "could not read its HTTP {} answer: {}",
                            response.raw().status().as_u16(),
                            calls::innermost(&err)
                        ),
                    ),
                }
            }
            SdkError::DispatchFailure(dispatch) => (
                "DispatchFailure".to_owned(),
                match dispatch.as_connector_error() {
                    Some(connector) => calls::connection_failure(connector, endpoint().as_deref()),
                    None => calls::innermost(&err),
                },
            ),
            SdkError::TimeoutError(_) => (
                "Timeout".to_owned(),
                format!(
                    "no answer within {} s{}",
                    ATTEMPT_TIMEOUT.as_secs(),
                    endpoint().map(|e| format!(" from {e}")).unwrap_or_default()
                ),
            ),
            SdkError::ConstructionFailure(_) => {
                ("ConstructionFailure".to_owned(), calls::innermost(&err))
            }
            _ => ("Unknown".to_owned(), DisplayErrorContext(&err).to_string()),
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
        } else if self.code == "MalformedAnswer" {
            match std::env::var("AWS_ENDPOINT_URL") {
                Ok(url) if !url.trim().is_empty() => format!(
                    " (AWS_ENDPOINT_URL is {url}: is that an AWS endpoint? Unset it to use AWS's own)"
                ),
                _ => String::new(),
            }
        } else if self.code == "DispatchFailure"
            && self.message.to_ascii_lowercase().contains("certificate")
        {
            " (HTTPS trusts the roots AWS endpoints chain to; on a network that inspects TLS, or for an endpoint with another CA, set SSL_CERT_FILE to the CA bundle to trust)".to_owned()
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
        .tls_context(tls_context())
        .build_https();
    let https = SharedHttpClient::new(BuiltOnFirstUse(https));
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
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .retry_config(retry)
        .timeout_config(timeouts.build());
    if credentials_in_environment() {
        // What the default chain would pick first anyway (Lambda always sets them), without
        // building the chain's other providers (an STS client, SSO, ...) at every cold start;
        // and no identity cache: reading two variables costs less than the cache's bookkeeping
        // on every request.
        loader
            .credentials_provider(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            )
            .identity_cache(aws_config::identity::IdentityCache::no_cache())
    } else {
        loader
    }
}

/// The SDK's HTTPS client, minus the connector it builds, checks and throws away at each service
/// client's construction (`validate_base_client_config`, there to load the system's certificates
/// early): a whole TLS configuration, its trust store parsed from PEM, per client. The connector
/// the calls use is built once, at the first call, and cached by the client as before.
#[derive(Debug)]
struct BuiltOnFirstUse(SharedHttpClient);

impl HttpClient for BuiltOnFirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        bag: &aws_sdk_codedeploy::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.validate_final_config(components, bag)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// Both `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` set and not blank: the default chain's
/// first provider answers, and no other is asked.
fn credentials_in_environment() -> bool {
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
        .iter()
        .all(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

/// The roots AWS service endpoints chain to (Amazon Trust Services' four, and the Starfield
/// Services root that cross-signs them), compiled in by build.rs from Mozilla's CA set.
pub const AWS_ROOTS: &str = include_str!(concat!(env!("OUT_DIR"), "/aws-roots.pem"));

/// Which trust store HTTPS uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The compiled-in roots AWS endpoints chain to: the default.
    AwsRoots,
    /// The system's store: when `SSL_CERT_FILE` or `SSL_CERT_DIR` names one (a private CA, a
    /// TLS-inspecting proxy, an emulator over TLS), and in the China regions, whose endpoints
    /// chain to other CAs.
    System,
}

/// The trust policy, from whether a system store is asked for (`SSL_CERT_FILE`/`SSL_CERT_DIR`
/// set, or an `AWS_ENDPOINT_URL*` override over HTTPS: a non-AWS endpoint such as an emulator
/// over TLS) and the region in `AWS_REGION` (or `AWS_DEFAULT_REGION`). The compiled-in roots
/// only for a region known to be in the partitions whose endpoints use Amazon Trust Services
/// (`aws`, `aws-us-gov`); the system store for any other (China, the isolated regions, the
/// European Sovereign Cloud, a region not known yet) and when no region is in the environment
/// (a CLI whose region comes from a profile).
pub fn trust(system_store_asked: bool, region: Option<&str>) -> Trust {
    if system_store_asked {
        return Trust::System;
    }
    match region {
        Some(region) if uses_amazon_trust_services(region) => Trust::AwsRoots,
        _ => Trust::System,
    }
}

/// `SSL_CERT_FILE` or `SSL_CERT_DIR` set (even to a path that does not exist: then the store
/// says so, instead of the setting being ignored).
fn system_store_named() -> bool {
    ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// An `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_<SERVICE>` over HTTPS: not an AWS endpoint.
fn https_endpoint_override() -> bool {
    std::env::vars_os().any(|(name, value)| {
        name.to_str()
            .is_some_and(|n| n.starts_with("AWS_ENDPOINT_URL"))
            && value
                .to_str()
                .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("https://"))
    })
}

/// `us-east-1`, `eu-west-3`, `ap-southeast-5`, `us-gov-west-1`, ...: the `aws` and
/// `aws-us-gov` partitions' region shapes (not `cn-*`, `us-iso-*`, `us-isob-*`, `eu-isoe-*`,
/// `eusc-*`).
fn uses_amazon_trust_services(region: &str) -> bool {
    const AREAS: [&str; 9] = ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"];
    let region = match region.strip_prefix("us-gov-") {
        Some(rest) => format!("us-{rest}"),
        None => region.to_owned(),
    };
    let mut parts = region.split('-');
    let (Some(area), Some(place), Some(number)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    AREAS.contains(&area)
        && !place.starts_with("iso")
        && !place.is_empty()
        && number.parse::<u8>().is_ok()
        && parts.next().is_none()
}

/// The HTTPS trust store this process uses. The system's whole store (hundreds of CAs, and on
/// most Linux systems also a directory of copies) cost over half of a hook run's CPU to read
/// and parse, at every cold start; the five roots AWS endpoints need cost next to nothing, and
/// trust no CA that AWS does not use.
fn tls_context() -> tls::TlsContext {
    let store = match process_trust() {
        Trust::AwsRoots => tls::TrustStore::empty().with_pem_certificate(AWS_ROOTS),
        Trust::System => tls::TrustStore::default(),
    };
    // `build` cannot fail in aws-smithy-http-client 1.5 (it only moves the fields).
    tls::TlsContext::builder()
        .with_trust_store(store)
        .build()
        .unwrap_or_default()
}

/// The policy, decided once per process from the environment as the process found it.
static TRUST: OnceLock<Trust> = OnceLock::new();

fn process_trust() -> Trust {
    *TRUST.get_or_init(|| {
        let region = std::env::var("AWS_REGION")
            .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
            .ok();
        trust(
            system_store_named() || https_endpoint_override(),
            region.as_deref(),
        )
    })
}

/// When the system store is used without `SSL_CERT_FILE` or `SSL_CERT_DIR` (the China
/// regions), points it at its CA bundle file alone: left to itself it also loads every file of
/// the certificates directory (on Debian hundreds of links to the same certificates, on Amazon
/// Linux two more copies of the bundle). The bundle is what `update-ca-certificates` /
/// `update-ca-trust` maintain, a private CA included. Must run before any other thread exists
/// (it sets an environment variable): first thing in `main`.
pub fn trust_the_system_bundle_file() {
    if process_trust() != Trust::System || system_store_named() {
        return;
    }
    if let Some(file) = openssl_probe::probe().cert_file {
        std::env::set_var("SSL_CERT_FILE", file);
    }
}

/// Which failed attempts are retried, beyond the standard classifiers. A certificate the trust
/// store does not accept fails the same way on every attempt, and so, mostly, does an endpoint
/// that refuses connections or answers with something that is not AWS's answer (a proxy's page,
/// an endpoint that is not AWS): retried until the deadline, they would only hide their cause
/// behind "ran out of time". So a certificate failure is not retried, and the other two only
/// until `calls::UNUSABLE_IN_A_ROW` attempts of the same call in a row were (counted per call
/// by `calls::Watch`, which marks the last one: `MalformedAnswer::last_chance`, `GaveUp`). A
/// malformed answer before that is retried like a 5xx.
#[derive(Debug)]
struct Causes;

impl ClassifyRetry for Causes {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        if let Some(malformed) = calls::find_source::<calls::MalformedAnswer>(error) {
            return if malformed.last_chance {
                RetryAction::RetryForbidden
            } else {
                RetryAction::transient_error()
            };
        }
        if calls::find_source::<calls::GaveUp>(error).is_some() {
            return RetryAction::RetryForbidden;
        }
        // rustls says "invalid peer certificate: ...", or names an alert such as
        // BadCertificate or CertificateExpired.
        let certificate = error.as_connector_error().is_some_and(|connector| {
            DisplayErrorContext(connector)
                .to_string()
                .to_ascii_lowercase()
                .contains("certificate")
        });
        if certificate {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "Causes"
    }
}

/// The service clients, each built on first use (a client's construction costs about as much
/// CPU as one call: a waiting hook needs only CodeDeploy's, and a deployment without classic
/// load balancers never builds theirs). Cheap to clone: clones share the built clients.
#[derive(Clone, Debug)]
pub struct Clients(Arc<Built>);

#[derive(Debug)]
struct Built {
    config: aws_config::SdkConfig,
    /// The audit's retry mode: the SDK's own retry partitions (their rate limiter is what
    /// adaptive mode adapts). Otherwise each client gets a partition of its own.
    adaptive: bool,
    codedeploy: OnceLock<aws_sdk_codedeploy::Client>,
    autoscaling: OnceLock<aws_sdk_autoscaling::Client>,
    elbv2: OnceLock<aws_sdk_elasticloadbalancingv2::Client>,
    elb: OnceLock<aws_sdk_elasticloadbalancing::Client>,
    iam: OnceLock<aws_sdk_iam::Client>,
    lambda: OnceLock<aws_sdk_lambda::Client>,
    #[cfg(feature = "launch-templates")]
    ec2: OnceLock<aws_sdk_ec2::Client>,
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

/// One service's client with the retry policy of `built`, every call watched (`calls::Watch`)
/// and classified for retries by its cause (`Causes`): each non-adaptive client gets a retry
/// partition of its own with a quota that does not run out first (the SDK's default quota, 500
/// tokens shared by every client of a service in the process, ends retries after about a
/// hundred throttled attempts, long before the deadline; the backoff and the deadline are the
/// limits that matter here).
macro_rules! client {
    ($built:expr, $sdk:ident, $name:literal) => {{
        use $sdk::config::retry::{RetryPartition, TokenBucket};
        let built: &Built = $built;
        let config = $sdk::config::Builder::from(&built.config)
            .interceptor(calls::Watch)
            .retry_classifier(Causes);
        if built.adaptive {
            $sdk::Client::from_conf(config.build())
        } else {
            let partition = RetryPartition::custom(concat!("codedeploy-tg-hook/", $name))
                .token_bucket(TokenBucket::new(RETRY_QUOTA))
                .build();
            $sdk::Client::from_conf(config.retry_partition(partition).build())
        }
    }};
}

impl Clients {
    /// Loads region, credentials and endpoints (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`)
    /// from the standard chain. `adaptive` picks the client-side rate-limiting retry mode, for
    /// the account audit's fan-out; otherwise calls retry until the deadline.
    pub async fn from_env(adaptive: bool) -> Self {
        let config = config_loader(adaptive).load().await;
        Clients::new(config, adaptive)
    }

    /// Clients over a loaded configuration (`config_loader`'s, or a test's), retrying until the
    /// deadline.
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Clients::new(config.clone(), false)
    }

    fn new(config: aws_config::SdkConfig, adaptive: bool) -> Self {
        Clients(Arc::new(Built {
            config,
            adaptive,
            codedeploy: OnceLock::new(),
            autoscaling: OnceLock::new(),
            elbv2: OnceLock::new(),
            elb: OnceLock::new(),
            iam: OnceLock::new(),
            lambda: OnceLock::new(),
            #[cfg(feature = "launch-templates")]
            ec2: OnceLock::new(),
        }))
    }

    pub fn codedeploy(&self) -> &aws_sdk_codedeploy::Client {
        self.0
            .codedeploy
            .get_or_init(|| client!(&self.0, aws_sdk_codedeploy, "codedeploy"))
    }

    pub fn autoscaling(&self) -> &aws_sdk_autoscaling::Client {
        self.0
            .autoscaling
            .get_or_init(|| client!(&self.0, aws_sdk_autoscaling, "autoscaling"))
    }

    pub fn elbv2(&self) -> &aws_sdk_elasticloadbalancingv2::Client {
        self.0
            .elbv2
            .get_or_init(|| client!(&self.0, aws_sdk_elasticloadbalancingv2, "elbv2"))
    }

    /// Classic load balancers.
    pub fn elb(&self) -> &aws_sdk_elasticloadbalancing::Client {
        self.0
            .elb
            .get_or_init(|| client!(&self.0, aws_sdk_elasticloadbalancing, "elb"))
    }

    /// IAM, for `doctor`'s policy simulation.
    pub fn iam(&self) -> &aws_sdk_iam::Client {
        self.0
            .iam
            .get_or_init(|| client!(&self.0, aws_sdk_iam, "iam"))
    }

    /// Lambda, for `doctor`'s reading of the function.
    pub fn lambda(&self) -> &aws_sdk_lambda::Client {
        self.0
            .lambda
            .get_or_init(|| client!(&self.0, aws_sdk_lambda, "lambda"))
    }

    /// EC2, for `doctor`'s reading of a launch template.
    #[cfg(feature = "launch-templates")]
    pub fn ec2(&self) -> &aws_sdk_ec2::Client {
        self.0
            .ec2
            .get_or_init(|| client!(&self.0, aws_sdk_ec2, "ec2"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_sdk_codedeploy::config::ConfigBag;
    use aws_smithy_runtime_api::box_error::BoxError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponentsBuilder;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    use super::*;

    /// The TLS stack adds every compiled-in certificate as a trust anchor (and panics on one it
    /// cannot parse): all five must parse.
    #[test]
    fn the_compiled_in_roots_are_the_five_aws_trust_anchors() {
        let certs: Vec<CertificateDer> = CertificateDer::pem_slice_iter(AWS_ROOTS.as_bytes())
            .collect::<Result<_, _>>()
            .expect("valid PEM");
        assert_eq!(certs.len(), 5);
        for cert in &certs {
            webpki::anchor_from_trusted_cert(cert).expect("a trust anchor");
        }
        for name in ["Amazon Root CA 1", "Amazon Root CA 4", "Starfield Services"] {
            assert!(AWS_ROOTS.contains(name), "{name}");
        }
    }

    #[test]
    fn the_compiled_in_roots_only_in_the_partitions_that_use_them() {
        for region in [
            "us-east-1",
            "eu-west-3",
            "ap-southeast-5",
            "il-central-1",
            "us-gov-west-1",
        ] {
            assert_eq!(trust(false, Some(region)), Trust::AwsRoots, "{region}");
        }
        assert_eq!(trust(true, Some("eu-west-1")), Trust::System, "named store");
        assert_eq!(trust(false, None), Trust::System, "region unknown here");
        for region in [
            "cn-north-1",
            "cn-northwest-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "eusc-de-east-1",
            "xx-new-1",
            "us-east",
            "",
        ] {
            assert_eq!(trust(false, Some(region)), Trust::System, "{region}");
        }
    }

    /// An HTTP client that counts the connectors it is asked to build at a client's
    /// construction (`validate_base_client_config`).
    #[derive(Debug)]
    struct Counting(Arc<AtomicUsize>);

    impl HttpClient for Counting {
        fn http_connector(
            &self,
            _: &HttpConnectorSettings,
            _: &RuntimeComponents,
        ) -> SharedHttpConnector {
            unreachable!("no call is made")
        }

        fn validate_base_client_config(
            &self,
            _: &RuntimeComponentsBuilder,
            _: &ConfigBag,
        ) -> Result<(), BoxError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn connectors_built_at_construction(built_on_first_use: bool) -> usize {
        let built = Arc::new(AtomicUsize::new(0));
        let mut http = SharedHttpClient::new(Counting(built.clone()));
        if built_on_first_use {
            http = SharedHttpClient::new(BuiltOnFirstUse(http));
        }
        let config = aws_sdk_codedeploy::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_codedeploy::config::Region::new("us-east-1"))
            .http_client(http)
            .build();
        let _client = aws_sdk_codedeploy::Client::from_conf(config);
        built.load(Ordering::SeqCst)
    }

    /// The SDK has each service client's construction build (and drop) a connector; ours do not,
    /// because the configuration every client is built from carries the wrapped client.
    #[test]
    fn a_service_client_builds_no_connector_at_construction() {
        assert_eq!(connectors_built_at_construction(false), 1, "the SDK's way");
        assert_eq!(connectors_built_at_construction(true), 0);
        let config = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(
                config_loader(false)
                    .region(aws_sdk_codedeploy::config::Region::new("us-east-1"))
                    .load(),
            );
        let http = format!("{:?}", config.http_client().expect("an HTTP client"));
        assert!(http.contains("BuiltOnFirstUse"), "{http}");
    }
}
