//! STS: the audit's session in another account, through aws-config's assume-role provider.

use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::Credentials;
use aws_sdk_sts::error::ProvideErrorMetadata;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::error::{find_source, innermost};
use super::AwsError;

/// The session name every audit session carries: what CloudTrail shows in the other account as
/// `assumed-role/<role>/codedeploy-tg-hook-audit` (2-64 characters of `[\w+=,.@-]`:
/// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
pub const AUDIT_SESSION_NAME: &str = "codedeploy-tg-hook-audit";

/// One session as `role_arn`, with `base`'s credentials, region, endpoints, HTTP client and
/// retry policy (the provider's own STS client is built from it). The session lasts STS's
/// default of one hour, the limit for role chaining, which a Lambda's session is
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html): longer than the
/// function's 900 s; docs/reference.md says what a longer command-line `--timeout` meets.
pub async fn assume_role(
    base: &aws_config::SdkConfig,
    role_arn: &str,
) -> Result<Credentials, AwsError> {
    let provider = AssumeRoleProvider::builder(role_arn)
        .session_name(AUDIT_SESSION_NAME)
        .configure(base)
        .build()
        .await;
    provider
        .provide_credentials()
        .await
        .map_err(|e| credentials_error(&e))
}

/// The provider's error as the call's: STS's code and message when STS answered, else the
/// innermost cause (no answer, a connection refused, ...).
fn credentials_error(error: &aws_credential_types::provider::error::CredentialsError) -> AwsError {
    match find_source::<aws_sdk_sts::error::SdkError<AssumeRoleError, HttpResponse>>(error) {
        Some(sdk) if sdk.code().is_some() => AwsError {
            action: "sts:AssumeRole",
            code: sdk.code().unwrap_or_default().to_owned(),
            message: sdk.message().unwrap_or_default().to_owned(),
        },
        _ => AwsError {
            action: "sts:AssumeRole",
            code: "CredentialsError".to_owned(),
            message: innermost(error),
        },
    }
}
