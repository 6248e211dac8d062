//! The service clients: the SDK's configuration with the retry policy (`retry`), the trust store
//! (`tls`) and the attempt watcher on every client, each client built on its first use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use super::retry::{
    AttemptWatcher, RetryByCause, ATTEMPT_TIMEOUT, AUDIT_MAX_ATTEMPTS, AUDIT_OPERATION_TIMEOUT,
    CONNECT_TIMEOUT, MAX_BACKOFF, RETRY_QUOTA, UNTIL_THE_DEADLINE,
};
use super::tls::{tls_context, Trust};

/// What the clients take from the process's environment beyond the SDK's own chain, read once by
/// the entry layer (`entry::Config`). The default is an empty environment's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// The HTTPS trust store (`tls::trust`) for the environment's region.
    pub trust: Trust,
    /// A system store is asked for (`SSL_CERT_FILE`/`SSL_CERT_DIR`, or an HTTPS endpoint
    /// override): what `tls::trust` decides another region's store by.
    pub system_store_asked: bool,
    /// Both `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` set and not blank: the default
    /// chain's first provider answers, and no other is asked (nor built).
    pub credentials_in_environment: bool,
}

/// The standard chain with `retry`'s policy (`adaptive`: the audit's) and `settings`' trust store;
/// tests add an endpoint and credentials.
pub fn config_loader(settings: &ClientSettings, adaptive: bool) -> aws_config::ConfigLoader {
    let https = https_client(settings.trust);
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
    if settings.credentials_in_environment {
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

/// The HTTPS client over `trust`'s store, its connector built on first use.
fn https_client(trust: Trust) -> SharedHttpClient {
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .tls_context(tls_context(trust))
        .build_https();
    SharedHttpClient::new(BuiltOnFirstUse(https))
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

/// The HTTPS clients of one audit over several places, one per trust store: the places share
/// their connections (a pool per client, kept for the endpoints they call again) instead of one
/// TLS setup and pool each.
#[derive(Debug)]
pub struct HttpsClients {
    /// `ClientSettings::system_store_asked`: what each region's trust store is decided by.
    system_store_asked: bool,
    by_trust: Mutex<HashMap<Trust, SharedHttpClient>>,
}

impl HttpsClients {
    pub fn new(settings: &ClientSettings) -> Self {
        HttpsClients {
            system_store_asked: settings.system_store_asked,
            by_trust: Mutex::default(),
        }
    }

    /// The HTTPS client over `region`'s trust store (another partition's CAs where its
    /// endpoints chain to them).
    fn for_region(&self, region: &str) -> SharedHttpClient {
        let trust = super::tls::trust(self.system_store_asked, Some(region));
        let mut clients = self.by_trust.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(trust)
            .or_insert_with(|| https_client(trust))
            .clone()
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
    /// The account of an assumed role's session (`load_as`): the adaptive retry partition is
    /// then that account's, so one account's throttling slows only its own calls (the SDK's
    /// default partition is the service and region, whichever account calls).
    session_account: Option<String>,
    codedeploy: OnceLock<aws_sdk_codedeploy::Client>,
    autoscaling: OnceLock<aws_sdk_autoscaling::Client>,
    elbv2: OnceLock<aws_sdk_elasticloadbalancingv2::Client>,
    elb: OnceLock<aws_sdk_elasticloadbalancing::Client>,
    iam: OnceLock<aws_sdk_iam::Client>,
    lambda: OnceLock<aws_sdk_lambda::Client>,
    account: OnceLock<aws_sdk_account::Client>,
    organizations: OnceLock<aws_sdk_organizations::Client>,
    #[cfg(feature = "launch-templates")]
    ec2: OnceLock<aws_sdk_ec2::Client>,
}

/// One service's client with the retry policy of `built`, every call watched (`AttemptWatcher`)
/// and classified for retries by its cause (`RetryByCause`); each non-adaptive client gets a retry
/// partition of its own with a quota that does not run out first (`retry`'s policy).
macro_rules! client {
    ($built:expr, $sdk:ident, $name:literal) => {{
        use $sdk::config::retry::{RetryPartition, TokenBucket};
        let built: &Built = $built;
        let config = $sdk::config::Builder::from(&built.config)
            .interceptor(AttemptWatcher)
            .retry_classifier(RetryByCause);
        if built.adaptive {
            match &built.session_account {
                Some(account) => {
                    let region = built.config.region().map_or("", |r| r.as_ref());
                    let partition = RetryPartition::new(format!(
                        concat!("codedeploy-tg-hook/", $name, "-{}-{}"),
                        region, account
                    ));
                    $sdk::Client::from_conf(config.retry_partition(partition).build())
                }
                None => $sdk::Client::from_conf(config.build()),
            }
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
    /// from the standard chain, with the entry layer's `settings`. `adaptive` picks the client-side
    /// rate-limiting retry mode, for the audit's fan-out; otherwise calls retry until the deadline.
    pub async fn load(settings: &ClientSettings, adaptive: bool) -> Self {
        let config = config_loader(settings, adaptive).load().await;
        Clients::new(config, adaptive, None)
    }

    /// The clients of one place of an audit over several: this configuration (its credentials
    /// and their cache, endpoints, retry policy: loaded once, by `load`) in `region`, over
    /// `https`' client for that region's trust store; as `session` (another account's role),
    /// each client then in a retry partition of that account and region.
    pub fn in_place(
        &self,
        https: &HttpsClients,
        region: &str,
        session: Option<(&str, &super::sts::Session)>,
    ) -> Clients {
        let mut config = self
            .0
            .config
            .clone()
            .into_builder()
            .region(aws_config::Region::new(region.to_owned()))
            .http_client(https.for_region(region));
        if let Some((_, session)) = session {
            // The session's provider itself (its cache partition) and the account's cache: one
            // session for all the account's places.
            config = config
                .credentials_provider(session.provider())
                .identity_cache(session.cache());
        }
        let account = session.map(|(account, _)| account.to_owned());
        Clients::new(config.build(), self.0.adaptive, account)
    }

    /// Clients over a loaded configuration (`config_loader`'s, or a test's), retrying until the
    /// deadline.
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Clients::new(config.clone(), false, None)
    }

    fn new(config: aws_config::SdkConfig, adaptive: bool, account: Option<String>) -> Self {
        Clients(Arc::new(Built {
            config,
            adaptive,
            session_account: account,
            codedeploy: OnceLock::new(),
            autoscaling: OnceLock::new(),
            elbv2: OnceLock::new(),
            elb: OnceLock::new(),
            iam: OnceLock::new(),
            lambda: OnceLock::new(),
            account: OnceLock::new(),
            organizations: OnceLock::new(),
            #[cfg(feature = "launch-templates")]
            ec2: OnceLock::new(),
        }))
    }

    /// The configuration the clients are built from (its credentials, region and endpoints are
    /// what an assumed role's session starts from).
    pub fn sdk_config(&self) -> &aws_config::SdkConfig {
        &self.0.config
    }

    /// The region the clients call, as the SDK's chain (or the caller) gave it.
    pub fn region(&self) -> Option<&str> {
        self.0.config.region().map(|region| region.as_ref())
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

    /// The Account Management API, for `audit --regions all`.
    pub fn account(&self) -> &aws_sdk_account::Client {
        self.0
            .account
            .get_or_init(|| client!(&self.0, aws_sdk_account, "account"))
    }

    /// Organizations, for `audit --accounts organization`.
    pub fn organizations(&self) -> &aws_sdk_organizations::Client {
        self.0
            .organizations
            .get_or_init(|| client!(&self.0, aws_sdk_organizations, "organizations"))
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

    use super::*;

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

    /// An audit's clients in another account's session retry in a partition of that account and
    /// region (its own token bucket and adaptive rate limiter); the SDK's default, the service
    /// and region, would let one throttled account slow every account in its region.
    #[test]
    fn each_account_s_session_retries_in_a_partition_of_its_own() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        let partition = |account: Option<&str>| {
            let clients = Clients::new(config.clone(), true, account.map(str::to_owned));
            let autoscaling = clients.autoscaling().config().retry_partition().cloned();
            let codedeploy = clients.codedeploy().config().retry_partition().cloned();
            (
                autoscaling.map(|p| p.to_string()),
                codedeploy.map(|p| p.to_string()),
            )
        };
        let (one, one_codedeploy) = partition(Some("111111111111"));
        let (two, _) = partition(Some("222222222222"));
        assert_eq!(
            one.as_deref(),
            Some("codedeploy-tg-hook/autoscaling-eu-west-1-111111111111")
        );
        assert_eq!(
            two.as_deref(),
            Some("codedeploy-tg-hook/autoscaling-eu-west-1-222222222222")
        );
        assert_eq!(
            one_codedeploy.as_deref(),
            Some("codedeploy-tg-hook/codedeploy-eu-west-1-111111111111")
        );
        // The caller's own clients set none: the SDK's default partition (service and region).
        let (own, _) = partition(None);
        assert_eq!(own, None);
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
                config_loader(&ClientSettings::default(), false)
                    .region(aws_sdk_codedeploy::config::Region::new("us-east-1"))
                    .load(),
            );
        let http = format!("{:?}", config.http_client().expect("an HTTP client"));
        assert!(http.contains("BuiltOnFirstUse"), "{http}");
    }
}
