//! STS: the audit's session in another account, through aws-config's assume-role provider.

use std::sync::Mutex;

use aws_config::identity::IdentityCache;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::identity::SharedIdentityCache;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::error::{find_source, innermost};
use super::AwsError;

/// The session name every audit session carries: what CloudTrail shows in the other account as
/// `assumed-role/<role>/codedeploy-tg-hook-audit` (2-64 characters of `[\w+=,.@-]`:
/// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
pub const AUDIT_SESSION_NAME: &str = "codedeploy-tg-hook-audit";

/// An account's session as its audit role: the assume-role provider behind an identity cache
/// the account's places share, so that one `AssumeRole` serves every region of the account
/// until the session nears its end, when the cache asks the provider again.
#[derive(Debug, Clone)]
pub struct Session {
    provider: SharedCredentialsProvider,
    cache: SharedIdentityCache,
}

impl Session {
    /// The credentials provider of every place of the account.
    pub fn provider(&self) -> SharedCredentialsProvider {
        self.provider.clone()
    }

    /// The identity cache of every place of the account (the same cache and provider: one
    /// session for all of them).
    pub fn cache(&self) -> SharedIdentityCache {
        self.cache.clone()
    }
}

/// A session as `role_arn`, with `base`'s credentials, region, endpoints, HTTP client and retry
/// policy (the provider's own STS client is built from it): assumed now, so that a refusal is
/// known before any place of the account is audited. A session lasts STS's default hour, the
/// limit for role chaining, which a Lambda's session is
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html); a longer
/// command-line audit gets a new one from the provider when the cache sees it end.
pub async fn session(base: &aws_config::SdkConfig, role_arn: &str) -> Result<Session, AwsError> {
    let provider = AssumeRoleProvider::builder(role_arn)
        .session_name(AUDIT_SESSION_NAME)
        .configure(base)
        .build()
        .await;
    let first = provider
        .provide_credentials()
        .await
        .map_err(|e| credentials_error(&e))?;
    Ok(Session {
        provider: SharedCredentialsProvider::new(FirstThenProvider {
            first: Mutex::new(Some(first)),
            provider,
        }),
        cache: IdentityCache::lazy().build(),
    })
}

/// The credentials assumed first, once (the cache's first fill), then the provider's: the
/// session assumed to learn whether the role can be assumed is the one the calls use.
#[derive(Debug)]
struct FirstThenProvider {
    first: Mutex<Option<Credentials>>,
    provider: AssumeRoleProvider,
}

impl ProvideCredentials for FirstThenProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().unwrap_or_else(|e| e.into_inner()).take();
        match first {
            Some(credentials) => future::ProvideCredentials::ready(Ok(credentials)),
            None => self.provider.provide_credentials(),
        }
    }
}

/// The provider's error as the call's: its STS call's error, worded as every call's is
/// (`AwsError::of_sdk`: STS's code and message, or the connection, the timeout, the answer that
/// was not AWS's); else (the provider failed before its call) the innermost cause.
fn credentials_error(error: &aws_credential_types::provider::error::CredentialsError) -> AwsError {
    match find_source::<aws_sdk_sts::error::SdkError<AssumeRoleError, HttpResponse>>(error) {
        Some(sdk) => AwsError::of_sdk("sts:AssumeRole", sdk),
        None => AwsError {
            action: "sts:AssumeRole",
            code: "CredentialsError".to_owned(),
            message: innermost(error),
        },
    }
}
