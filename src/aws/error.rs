//! One failed AWS call and all its words: `AwsError` (the IAM action, AWS's error code, its
//! message), built from the SDK's error, and the words for one failed attempt (`attempt_failure`),
//! which a deadline names for a call it stopped. A failure is worded here and nowhere else.

use aws_sdk_codedeploy::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::interceptors::context::Error as AttemptError;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};

use super::answers::{MalformedAnswer, NOT_AWS_S_ANSWER};

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

/// An attempt that reached no answer: the connection could not be made or was cut, with the
/// endpoint it was for. The attempt watcher (`retry::AttemptWatcher`) puts it in place of the
/// connector's error, of the same kind (so it is retried as that error was), and marks the
/// attempt after which a refused call is not retried again (`gave_up`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", connection_failure(.cause, .endpoint.as_deref()))]
pub struct Unreached {
    pub endpoint: Option<String>,
    /// The connector's innermost error.
    pub cause: String,
    /// The call's `retry::UNUSABLE_IN_A_ROW`th refusal in a row: not retried again.
    pub gave_up: bool,
}

/// An attempt that got no answer within its timeout (`retry::ATTEMPT_TIMEOUT`), with the
/// endpoint it waited on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no answer within {seconds} s{}", .endpoint.as_ref().map(|e| format!(" from {e}")).unwrap_or_default())]
pub struct NoAnswer {
    pub endpoint: Option<String>,
    pub seconds: u64,
}

impl AwsError {
    /// The SDK's error as a person reads it: AWS's code and message; for an answer that is not
    /// AWS's, the HTTP status and what was wrong with it; for a call that never got an answer,
    /// the endpoint and the connection error or the timeout.
    pub fn from_sdk<E>(action: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        AwsError::of_sdk(action, &err)
    }

    /// `from_sdk`, of an error the caller only sees (one inside another's source chain: the
    /// assume-role provider's `CredentialsError`).
    pub fn of_sdk<E>(action: &'static str, err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let before_an_answer = matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
        );
        if let Some(mistake) = before_an_answer
            .then(|| setup_mistake(&innermost(err)))
            .flatten()
        {
            return AwsError {
                action,
                code: "Setup".to_owned(),
                message: mistake.to_owned(),
            };
        }
        let (code, message) = match err {
            SdkError::ServiceError(service) => match service.err().code() {
                Some(code) => (
                    code.to_owned(),
                    service.err().message().unwrap_or("").to_owned(),
                ),
                None => ("Unknown".to_owned(), http_failure(service.raw())),
            },
            SdkError::ResponseError(response) => match find_source::<MalformedAnswer>(err) {
                Some(malformed) => (
                    "MalformedAnswer".to_owned(),
                    format!(
                        "answered {}, {NOT_AWS_S_ANSWER}{}",
                        malformed.seen(),
                        not_aws_hint(malformed.endpoint.as_deref())
                    ),
                ),
                None => (
                    "ResponseError".to_owned(),
                    format!(
                        "could not read its HTTP {} answer: {}",
                        response.raw().status().as_u16(),
                        innermost(err)
                    ),
                ),
            },
            SdkError::DispatchFailure(dispatch) => (
                "DispatchFailure".to_owned(),
                match find_source::<Unreached>(err) {
                    Some(unreached) => unreached.to_string(),
                    None => match dispatch.as_connector_error() {
                        Some(connector) => connection_failure(&innermost(connector), None),
                        None => innermost(err),
                    },
                },
            ),
            SdkError::TimeoutError(_) => (
                "Timeout".to_owned(),
                match find_source::<NoAnswer>(err) {
                    Some(no_answer) => no_answer.to_string(),
                    // The operation's own timeout (the audit's, around all its attempts) when it
                    // ends a pause between attempts (within an attempt, the watcher has put
                    // `NoAnswer` in place already).
                    None => format!("no answer in time: {}", innermost(err)),
                },
            ),
            SdkError::ConstructionFailure(_) => ("ConstructionFailure".to_owned(), innermost(err)),
            _ => ("Unknown".to_owned(), DisplayErrorContext(err).to_string()),
        };
        AwsError {
            action,
            code,
            message,
        }
    }

    /// An answer without what AWS always sends in it (`what`: what was missing, or seen instead):
    /// never read as an answer saying "none".
    pub fn incomplete(action: &'static str, what: String) -> Self {
        AwsError {
            action,
            code: "IncompleteAnswer".to_owned(),
            message: what,
        }
    }

    pub fn is_access_denied(&self) -> bool {
        self.code.contains("AccessDenied") || self.code == "UnauthorizedOperation"
    }

    fn hint(&self) -> String {
        if self.is_access_denied() && self.action == "sts:AssumeRole" {
            // Either side may refuse: the role's trust policy, or the caller's own policy.
            " (is infra/audit-role.yaml deployed in that account, trusting this account as its AuditingAccountId? and is sts:AssumeRole on it granted to the caller's role?)".to_owned()
        } else if self.is_access_denied() {
            format!(" (grant {} to the caller's role)", self.action)
        } else if self.code == "DispatchFailure"
            && self.message.to_ascii_lowercase().contains("certificate")
        {
            " (HTTPS trusts the roots AWS endpoints chain to; on a network that inspects TLS, or for an endpoint with another CA, set SSL_CERT_FILE to the CA bundle to trust)".to_owned()
        } else {
            String::new()
        }
    }
}

/// One attempt's failure as a person reads it: the HTTP status and AWS's error code, a
/// malformed answer, the connection error, or the attempt timeout.
pub fn attempt_failure(
    error: &OrchestratorError<AttemptError>,
    response: Option<&HttpResponse>,
) -> String {
    if let Some(malformed) = find_source::<MalformedAnswer>(error) {
        return malformed.seen();
    }
    if let Some(mistake) = setup_mistake(&innermost(error)) {
        return mistake.to_owned();
    }
    if let Some(unreached) = find_source::<Unreached>(error) {
        return unreached.to_string();
    }
    if let Some(no_answer) = find_source::<NoAnswer>(error) {
        return no_answer.to_string();
    }
    if let Some(connector) = error.as_connector_error() {
        return connection_failure(&innermost(connector), None);
    }
    if error.is_timeout_error() {
        return format!("no answer in time: {}", innermost(error));
    }
    match response {
        Some(response) => http_failure(response),
        None => innermost(error),
    }
}

/// "could not connect to https://...: connection refused" (or the DNS, TLS or I/O error).
fn connection_failure(cause: &str, endpoint: Option<&str>) -> String {
    let lower = cause.to_ascii_lowercase();
    let what = if lower.contains("connection refused") {
        "connection refused".to_owned()
    } else if lower.contains("lookup") || lower.contains("resolve") || lower.contains("dns") {
        format!("the name does not resolve ({cause})")
    } else {
        cause.to_owned()
    };
    match endpoint {
        Some(endpoint) => format!("could not connect to {endpoint}: {what}"),
        None => format!("could not connect: {what}"),
    }
}

/// For an answer that is not AWS's from an endpoint that is not AWS's (an `AWS_ENDPOINT_URL*`
/// override: an emulator, a proxy), what to look at; nothing for AWS's own endpoints.
fn not_aws_hint(endpoint: Option<&str>) -> String {
    match endpoint {
        Some(endpoint) if !is_aws_endpoint(endpoint) => format!(
            " (the call went to {endpoint}, not an AWS endpoint: if AWS_ENDPOINT_URL is set, is that meant? Unset it to use AWS's own)"
        ),
        _ => String::new(),
    }
}

/// `https://codedeploy.eu-west-1.amazonaws.com` and the other partitions' service domains: the
/// `dnsSuffix` and `dualStackDnsSuffix` of every partition in the SDK's partition table (the
/// service crates' `endpoint_lib/partition.rs`, aws-sdk-codedeploy 1.124), which is private to
/// them. A suffix missing here only costs a hint that is not needed.
fn is_aws_endpoint(endpoint: &str) -> bool {
    const DOMAINS: [&str; 14] = [
        ".amazonaws.com",
        ".amazonaws.com.cn",
        ".amazonaws.eu",
        ".c2s.ic.gov",
        ".sc2s.sgov.gov",
        ".cloud.adc-e.uk",
        ".csp.hci.ic.gov",
        ".api.aws",
        ".api.amazonwebservices.com.cn",
        ".api.amazonwebservices.eu",
        ".api.aws.ic.gov",
        ".api.aws.hci.ic.gov",
        ".api.aws.scloud",
        ".api.cloud-aws.adc-e.uk",
    ];
    let host = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest)
        .split([':', '/'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    DOMAINS.iter().any(|domain| host.ends_with(domain))
}

/// "HTTP 503 ThrottlingException", "HTTP 500 with an empty body", "HTTP 502 with text/html".
fn http_failure(response: &HttpResponse) -> String {
    let status = response.status().as_u16();
    let body = response.body().bytes().unwrap_or_default();
    match error_code(response, body) {
        Some(code) => format!("HTTP {status} {code}"),
        None if body.iter().all(u8::is_ascii_whitespace) => {
            format!("HTTP {status} with an empty body")
        }
        None => format!(
            "HTTP {status} with a body that is not an AWS error ({})",
            response
                .headers()
                .get("content-type")
                .unwrap_or("no content type")
        ),
    }
}

/// AWS's error code in an error answer: `x-amzn-ErrorType` or `__type` (JSON protocols), or
/// `<Code>` (query protocols).
fn error_code(response: &HttpResponse, body: &[u8]) -> Option<String> {
    let strip = |code: &str| {
        let code = code.split(':').next().unwrap_or(code);
        code.rsplit('#').next().unwrap_or(code).trim().to_owned()
    };
    if let Some(code) = response.headers().get("x-amzn-errortype") {
        return Some(strip(code)).filter(|c| !c.is_empty());
    }
    let text = String::from_utf8_lossy(body);
    if let Ok(serde_json::Value::Object(object)) = serde_json::from_str(&text) {
        return object
            .get("__type")
            .or_else(|| object.get("code"))
            .and_then(|v| v.as_str())
            .map(strip)
            .filter(|c| !c.is_empty());
    }
    let start = text.find("<Code>")? + "<Code>".len();
    let end = text[start..].find("</Code>")? + start;
    Some(text[start..end].trim().to_owned()).filter(|c| !c.is_empty())
}

/// A mistake in the AWS settings that fails every call before it is sent, as one line saying
/// what to set (the SDK's own text lists every credential provider it tried, over lines).
fn setup_mistake(cause: &str) -> Option<&'static str> {
    let lower = cause.to_ascii_lowercase();
    if lower.contains("missing region") || lower.contains("no region") {
        Some("no AWS region is set: set AWS_REGION (or a region in the AWS_PROFILE's config)")
    } else if lower.contains("no credentials") || lower.contains("credentials not loaded") {
        Some("no AWS credentials were found: set AWS_PROFILE (a profile in ~/.aws), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role provides them")
    } else {
        None
    }
}

/// The innermost message of an error's source chain: the cause itself.
pub fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// An error of type `T` somewhere in `error`'s source chain.
pub fn find_source<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_that_is_not_aws_s_names_an_endpoint_that_is_not_aws_s() {
        assert_eq!(
            not_aws_hint(Some("https://codedeploy.us-east-1.amazonaws.com")),
            ""
        );
        assert_eq!(
            not_aws_hint(Some("https://autoscaling.cn-north-1.amazonaws.com.cn")),
            ""
        );
        assert_eq!(not_aws_hint(None), "");
        let hint = not_aws_hint(Some("http://127.0.0.1:5000"));
        assert!(
            hint.contains("went to http://127.0.0.1:5000, not an AWS endpoint")
                && hint.contains("AWS_ENDPOINT_URL is set"),
            "{hint}"
        );
        assert!(!is_aws_endpoint("https://amazonaws.com.example.org"));
        assert!(is_aws_endpoint("https://codedeploy.us-east-1.api.aws"));
        assert!(is_aws_endpoint(
            "https://autoscaling.eusc-de-east-1.amazonaws.eu/"
        ));
    }

    #[test]
    fn a_connection_failure_names_its_endpoint_and_cause() {
        let refused = Unreached {
            endpoint: Some("http://127.0.0.1:1".into()),
            cause: "tcp connect error: Connection refused (os error 111)".into(),
            gave_up: true,
        };
        assert_eq!(
            refused.to_string(),
            "could not connect to http://127.0.0.1:1: connection refused"
        );
        let hung = NoAnswer {
            endpoint: Some("https://codedeploy.us-east-1.amazonaws.com".into()),
            seconds: 5,
        };
        assert_eq!(
            hung.to_string(),
            "no answer within 5 s from https://codedeploy.us-east-1.amazonaws.com"
        );
    }
}
