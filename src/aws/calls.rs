//! Every AWS call's attempts, watched: an answer that is not AWS's is an error (and retried, never
//! read as data), each attempt's failure is kept for the run (so a deadline names what was still
//! being retried and why), and a failed attempt that will be retried is logged at once.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextMut,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata, OrchestratorError};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// The interceptor every client carries (`aws::Clients`).
#[derive(Debug, Default)]
pub struct Watch;

/// An answer with a success status that is not AWS's answer to the call: an HTML page, an empty
/// or cut-short body, a body of another shape, or one without a field AWS always sends. The
/// orchestrator fails the attempt with it; `aws::Causes` has it retried a few times in a row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} answered HTTP {status} with {problem}, not AWS's answer (a proxy, an endpoint that is not AWS, or a cut connection)")]
pub struct MalformedAnswer {
    pub action: String,
    pub status: u16,
    pub problem: String,
    /// This call's `UNUSABLE_IN_A_ROW`th answer in a row that was not AWS's: not retried again.
    pub last_chance: bool,
}

/// A call whose attempts were refused `UNUSABLE_IN_A_ROW` times in a row: the connection error
/// it stands in for (its cause), not retried again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{cause}")]
pub struct GaveUp {
    pub cause: String,
}

/// Attempts of one call in a row refused or answered with something not AWS's, after which the
/// call is not retried again (`aws::Causes`): a cut connection or a passing proxy fault is
/// retried, an endpoint that is not AWS, or not there, fails naming its cause.
pub const UNUSABLE_IN_A_ROW: u32 = 3;

/// `codedeploy:GetDeployment`: the IAM action of the call the orchestrator is running.
fn action_of(cfg: &ConfigBag) -> String {
    match cfg.load::<Metadata>() {
        Some(metadata) => iam_action(metadata.service(), metadata.name()),
        None => "an AWS call".to_owned(),
    }
}

/// The IAM action for an operation of one of our services (`Auto Scaling` is `autoscaling`; both
/// load balancing services are `elasticloadbalancing`).
fn iam_action(service: &str, operation: &str) -> String {
    let prefix = match service {
        "CodeDeploy" => "codedeploy",
        "Auto Scaling" => "autoscaling",
        "IAM" => "iam",
        "Lambda" => "lambda",
        s if s.starts_with("Elastic Load Balancing") => "elasticloadbalancing",
        other => return format!("{other}:{operation}"),
    };
    format!("{prefix}:{operation}")
}

/// The fields AWS always sends in a success answer of these JSON calls (`a.b`: field `b` of
/// object `a`): one that is missing is a malformed answer, never "no deployment", "no targets" or
/// a deployment of no status. Per the API references' response syntax: CodeDeploy's
/// [DeploymentInfo](https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentInfo.html)
/// of an existing deployment has its id, application, deployment group and status; Lambda's
/// [GetFunctionConfiguration](https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConfiguration.html)
/// its `FunctionArn` and `Role`, [GetPolicy](https://docs.aws.amazon.com/lambda/latest/api/API_GetPolicy.html)
/// its `Policy`.
fn required_fields(operation: &str) -> &'static [&'static str] {
    match operation {
        "GetDeployment" => &[
            "deploymentInfo",
            "deploymentInfo.deploymentId",
            "deploymentInfo.applicationName",
            "deploymentInfo.deploymentGroupName",
            "deploymentInfo.status",
        ],
        "GetFunctionConfiguration" => &["FunctionArn", "Role"],
        "GetPolicy" => &["Policy"],
        "GetDeploymentGroup" => &["deploymentGroupInfo"],
        "ListDeploymentTargets" => &["targetIds"],
        "ListDeployments" => &["deployments"],
        "BatchGetDeploymentTargets" => &["deploymentTargets"],
        "PutLifecycleEventHookExecutionStatus" => &["lifecycleEventHookExecutionId"],
        _ => &[],
    }
}

/// What is wrong with a success answer's body, or `None` when it is the call's answer in shape:
/// for a JSON protocol call (CodeDeploy) a JSON object with the fields AWS always sends; for a
/// query protocol call (Auto Scaling, Elastic Load Balancing) a whole `<{Operation}Response>`
/// document.
pub fn answer_problem(
    operation: &str,
    json: bool,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Some("an empty body".to_owned());
    }
    let lower = trimmed
        .get(..trimmed.len().min(64))
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.is_some_and(|c| c.to_ascii_lowercase().contains("text/html"))
        || lower.starts_with("<!doctype html")
        || lower.starts_with("<html")
    {
        return Some("an HTML page".to_owned());
    }
    if json {
        let value: serde_json::Value = match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(e) if e.is_eof() => {
                return Some(format!("half an answer (its JSON ends early: {e})"))
            }
            Err(e) => return Some(format!("a body that is not JSON ({e})")),
        };
        if !value.is_object() {
            return Some("JSON that is not an object".to_owned());
        }
        let present = |path: &str| {
            let mut value = Some(&value);
            for key in path.split('.') {
                value = value.and_then(|v| v.get(key)).filter(|v| !v.is_null());
            }
            value.is_some()
        };
        let missing: Vec<&str> = required_fields(operation)
            .iter()
            .copied()
            .filter(|field| !present(field))
            .collect();
        return (!missing.is_empty()).then(|| format!("no {}", missing.join(", ")));
    }
    // Query protocol: the document is the call's own response element, whole.
    let document = match trimmed.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, d)| d.trim_start()),
        None => trimmed,
    };
    let root = format!("<{operation}Response");
    if !document.starts_with(&root) {
        let first: String = document.chars().take(40).collect();
        return Some(format!("a body of another shape (it begins {first:?})"));
    }
    if !document.ends_with(&format!("</{operation}Response>")) {
        return Some("half an answer (the document is cut short)".to_owned());
    }
    None
}

/// One execution of a call (its attempts, however many), from its start until the orchestrator
/// drops its config bag: finished, failed, or cancelled (a run that stopped waiting for it).
#[derive(Debug)]
struct Execution {
    action: String,
    state: Mutex<Attempts>,
}

#[derive(Debug, Default)]
struct Attempts {
    made: u32,
    /// The last attempt's failure, `None` once one succeeded.
    last_failure: Option<String>,
    /// Attempts in a row refused or answered with something not AWS's.
    unusable_in_a_row: u32,
}

impl Execution {
    fn attempts(&self) -> std::sync::MutexGuard<'_, Attempts> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The execution in the call's config bag: it lives exactly as long as the call does.
#[derive(Debug, Clone)]
struct Watched(Arc<Execution>);

impl Storable for Watched {
    type Storer = StoreReplace<Self>;
}

/// The calls of one run (a hook, a notification, `attach`): what a deadline names.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<Weak<Execution>>>>);

/// A call the deadline stopped while it was being retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StillRetried {
    pub action: String,
    pub attempts: u32,
    pub last_failure: Option<String>,
}

impl std::fmt::Display for StillRetried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} attempt{}",
            self.action,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" }
        )?;
        match &self.last_failure {
            Some(failure) => write!(f, ", last: {failure})"),
            None if self.attempts == 0 => write!(f, ", the first under way)"),
            None => write!(f, ", no answer yet)"),
        }
    }
}

tokio::task_local! {
    static RUN: CallLog;
}

impl CallLog {
    fn executions(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Execution>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` with its AWS calls recorded here.
    pub fn watch<F: Future>(&self, work: F) -> impl Future<Output = F::Output> {
        RUN.scope(self.clone(), work)
    }

    /// The calls under way now (started, neither finished nor dropped), each with its own
    /// attempts and last failure.
    pub fn still_retried(&self) -> Vec<StillRetried> {
        let mut executions = self.executions();
        executions.retain(|e| e.strong_count() > 0);
        executions
            .iter()
            .filter_map(Weak::upgrade)
            .map(|execution| {
                let attempts = execution.attempts();
                StillRetried {
                    action: execution.action.clone(),
                    attempts: attempts.made,
                    last_failure: attempts.last_failure.clone(),
                }
            })
            .collect()
    }
}

/// The execution the orchestrator is running, from its config bag.
fn execution(cfg: &ConfigBag) -> Option<Arc<Execution>> {
    cfg.load::<Watched>().map(|watched| watched.0.clone())
}

/// Where each action's calls go (`https://autoscaling.us-east-1.amazonaws.com`), as last seen:
/// what a connection failure names.
fn endpoints() -> &'static Mutex<BTreeMap<String, String>> {
    static ENDPOINTS: OnceLock<Mutex<BTreeMap<String, String>>> = OnceLock::new();
    ENDPOINTS.get_or_init(Mutex::default)
}

/// The endpoint `action` was last sent to in this process.
pub fn endpoint_of(action: &str) -> Option<String> {
    endpoints()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(action)
        .cloned()
}

/// `scheme://host[:port]` of a request URI.
fn origin(uri: &str) -> &str {
    let after_scheme = uri.find("://").map_or(0, |at| at + 3);
    let end = uri[after_scheme..]
        .find(['/', '?'])
        .map_or(uri.len(), |at| after_scheme + at);
    &uri[..end]
}

/// One attempt's failure as a person reads it: the HTTP status and AWS's error code, a
/// malformed answer, the connection error, or the attempt timeout.
fn describe_failure(
    error: &OrchestratorError<aws_smithy_runtime_api::client::interceptors::context::Error>,
    response: Option<&HttpResponse>,
    endpoint: Option<&str>,
) -> String {
    if let Some(malformed) = find_source::<MalformedAnswer>(error) {
        return format!("HTTP {} with {}", malformed.status, malformed.problem);
    }
    if let Some(mistake) = setup_mistake(&innermost(error)) {
        return mistake.to_owned();
    }
    if let Some(connector) = error.as_connector_error() {
        return connection_failure(connector, endpoint);
    }
    if error.is_timeout_error() {
        return format!(
            "no answer within {} s{}",
            super::ATTEMPT_TIMEOUT.as_secs(),
            endpoint.map(|e| format!(" from {e}")).unwrap_or_default()
        );
    }
    match response {
        Some(response) => http_failure(response),
        None => innermost(error),
    }
}

/// "HTTP 503 ThrottlingException", "HTTP 500 with an empty body", "HTTP 502 with text/html".
pub fn http_failure(response: &HttpResponse) -> String {
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
pub fn setup_mistake(cause: &str) -> Option<&'static str> {
    let lower = cause.to_ascii_lowercase();
    if lower.contains("missing region") || lower.contains("no region") {
        Some("no AWS region is set: set AWS_REGION (or a region in the AWS_PROFILE's config)")
    } else if lower.contains("no credentials") || lower.contains("credentials not loaded") {
        Some("no AWS credentials were found: set AWS_PROFILE (a profile in ~/.aws), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where a role provides them")
    } else {
        None
    }
}

/// "could not connect to https://...: connection refused" (or the DNS, TLS or I/O error).
pub fn connection_failure(
    connector: &aws_smithy_runtime_api::client::result::ConnectorError,
    endpoint: Option<&str>,
) -> String {
    let cause = innermost(connector);
    let lower = cause.to_ascii_lowercase();
    let what = if lower.contains("connection refused") {
        "connection refused".to_owned()
    } else if lower.contains("lookup") || lower.contains("resolve") || lower.contains("dns") {
        format!("the name does not resolve ({cause})")
    } else {
        cause
    };
    match endpoint {
        Some(endpoint) => format!("could not connect to {endpoint}: {what}"),
        None => format!("could not connect: {what}"),
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

impl Intercept for Watch {
    fn name(&self) -> &'static str {
        "codedeploy-tg-hook::Watch"
    }

    // Not `read_before_execution`: the operation's metadata is not in the bag yet there.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let execution = Arc::new(Execution {
            action: action_of(cfg),
            state: Mutex::default(),
        });
        let _ = RUN.try_with(|log| log.executions().push(Arc::downgrade(&execution)));
        cfg.interceptor_state().store_put(Watched(execution));
        Ok(())
    }

    /// A retry is logged as it starts (the retry strategy has decided it), with what the attempt
    /// before it got: in the CLI one line on stderr, in Lambda a warning.
    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(execution) = execution(cfg) {
            let attempts = execution.attempts();
            if attempts.made > 0 {
                tracing::warn!(
                    call = execution.action,
                    error = attempts.last_failure.as_deref().unwrap_or(""),
                    attempt = attempts.made + 1,
                    "AWS call failed; retrying"
                );
            }
        }
        Ok(())
    }

    // The request's URI is whole (its endpoint resolved) only just before it is sent.
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let endpoint = origin(context.request().uri());
        if !endpoint.is_empty() {
            endpoints()
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(action_of(cfg), endpoint.to_owned());
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let status = response.status().as_u16();
        let problem = match cfg.load::<Metadata>() {
            Some(metadata) if (200..300).contains(&status) => answer_problem(
                metadata.name(),
                // CodeDeploy's JSON protocol and Lambda's REST-JSON one answer in JSON.
                matches!(metadata.service(), "CodeDeploy" | "Lambda"),
                response.headers().get("content-type"),
                response.body().bytes().unwrap_or_default(),
            )
            .map(|problem| (iam_action(metadata.service(), metadata.name()), problem)),
            // AWS's own error answer is a usable answer too.
            _ => None,
        };
        let in_a_row = execution(cfg).map_or(1, |execution| {
            let mut attempts = execution.attempts();
            attempts.unusable_in_a_row = match problem {
                Some(_) => attempts.unusable_in_a_row + 1,
                None => 0,
            };
            attempts.unusable_in_a_row
        });
        match problem {
            None => Ok(()),
            Some((action, problem)) => Err(Box::new(MalformedAnswer {
                action,
                status,
                problem,
                last_chance: in_a_row >= UNUSABLE_IN_A_ROW,
            })),
        }
    }

    /// A refused connection is counted per call; at `UNUSABLE_IN_A_ROW` in a row its error
    /// becomes `GaveUp` (the same connection error, marked), which `aws::Causes` does not retry.
    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Err(error)) = context.output_or_error_mut() else {
            return Ok(());
        };
        let refused = error
            .as_connector_error()
            .map(|connector| innermost(connector))
            .filter(|cause| cause.to_ascii_lowercase().contains("connection refused"));
        let Some(cause) = refused else {
            return Ok(());
        };
        let in_a_row = execution(cfg).map_or(1, |execution| {
            let mut attempts = execution.attempts();
            attempts.unusable_in_a_row += 1;
            attempts.unusable_in_a_row
        });
        if in_a_row >= UNUSABLE_IN_A_ROW {
            *error = OrchestratorError::connector(ConnectorError::io(Box::new(GaveUp { cause })));
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(execution) = execution(cfg) else {
            return Ok(());
        };
        let failure = match context.output_or_error() {
            Some(Err(error)) => Some(describe_failure(
                error,
                context.response(),
                endpoint_of(&execution.action).as_deref(),
            )),
            _ => None,
        };
        let mut attempts = execution.attempts();
        attempts.made += 1;
        attempts.last_failure = failure;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_answer_must_be_an_object_with_the_fields_aws_always_sends() {
        let json = |op: &str, body: &str| {
            answer_problem(
                op,
                true,
                Some("application/x-amz-json-1.1"),
                body.as_bytes(),
            )
        };
        assert_eq!(json("ListDeploymentTargets", r#"{"targetIds": []}"#), None);
        assert_eq!(
            json("ListDeploymentTargets", "{}").as_deref(),
            Some("no targetIds")
        );
        assert_eq!(
            json("BatchGetDeploymentTargets", r#"{"items": [1]}"#).as_deref(),
            Some("no deploymentTargets")
        );
        // An empty list of active deployments must be said, not left out: it guards the fleet.
        assert_eq!(json("ListDeployments", r#"{"deployments": []}"#), None);
        assert_eq!(
            json("ListDeployments", "{}").as_deref(),
            Some("no deployments")
        );
        // A deployment without its status is not AWS's answer: never "a deployment of no status".
        assert_eq!(
            json(
                "GetDeployment",
                r#"{"deploymentInfo": {"deploymentId": "d-1", "applicationName": "a", "deploymentGroupName": "g"}}"#
            )
            .as_deref(),
            Some("no deploymentInfo.status")
        );
        assert_eq!(
            json(
                "GetDeployment",
                r#"{"deploymentInfo": {"deploymentId": "d-1", "applicationName": "a", "deploymentGroupName": "g", "status": null}}"#
            )
            .as_deref(),
            Some("no deploymentInfo.status")
        );
        assert_eq!(
            json("GetFunctionConfiguration", r#"{"FunctionArn": "x"}"#).as_deref(),
            Some("no Role")
        );
        assert_eq!(json("GetDeployment", "").as_deref(), Some("an empty body"));
        assert!(json("GetDeployment", r#"{"deploymentInfo": {"dep"#)
            .unwrap()
            .starts_with("half an answer"));
        assert!(json("GetDeployment", "\u{0}\u{1} garbage")
            .unwrap()
            .starts_with("a body that is not JSON"));
        assert_eq!(
            json("GetDeployment", "[1, 2]").as_deref(),
            Some("JSON that is not an object")
        );
        // A call without required fields needs only an object.
        assert_eq!(json("UnknownCall", "{}"), None);
    }

    #[test]
    fn a_query_answer_must_be_the_calls_whole_response_document() {
        let xml = |body: &str| {
            answer_problem(
                "DescribeTrafficSources",
                false,
                Some("text/xml"),
                body.as_bytes(),
            )
        };
        assert_eq!(
            xml("<?xml version=\"1.0\"?>\n<DescribeTrafficSourcesResponse xmlns=\"x\"><R/></DescribeTrafficSourcesResponse>\n"),
            None
        );
        assert_eq!(
            xml("<DescribeTrafficSourcesResponse><DescribeTrafficSourcesResult><TrafficSources><member>")
                .as_deref(),
            Some("half an answer (the document is cut short)")
        );
        assert!(xml("<OtherResponse/>")
            .unwrap()
            .starts_with("a body of another shape"));
        assert_eq!(
            xml("<!DOCTYPE html><html><body>Gateway</body></html>").as_deref(),
            Some("an HTML page")
        );
        assert_eq!(
            answer_problem("DescribeTrafficSources", false, Some("text/html"), b"<x/>").as_deref(),
            Some("an HTML page")
        );
        assert_eq!(xml("  \n").as_deref(), Some("an empty body"));
    }

    #[test]
    fn actions_are_named_as_iam_names_them() {
        assert_eq!(
            iam_action("CodeDeploy", "GetDeployment"),
            "codedeploy:GetDeployment"
        );
        assert_eq!(
            iam_action("Auto Scaling", "AttachTrafficSources"),
            "autoscaling:AttachTrafficSources"
        );
        assert_eq!(
            iam_action("Elastic Load Balancing v2", "DescribeTargetGroups"),
            "elasticloadbalancing:DescribeTargetGroups"
        );
        assert_eq!(
            iam_action("Elastic Load Balancing", "DescribeInstanceHealth"),
            "elasticloadbalancing:DescribeInstanceHealth"
        );
    }

    #[test]
    fn an_endpoint_is_its_origin() {
        assert_eq!(origin("http://127.0.0.1:5000/"), "http://127.0.0.1:5000");
        assert_eq!(
            origin("https://autoscaling.us-east-1.amazonaws.com/?Action=X"),
            "https://autoscaling.us-east-1.amazonaws.com"
        );
        assert_eq!(
            origin("https://codedeploy.eu-west-1.amazonaws.com"),
            "https://codedeploy.eu-west-1.amazonaws.com"
        );
    }

    #[test]
    fn a_still_retried_call_says_its_attempts_and_last_failure() {
        let call = StillRetried {
            action: "autoscaling:DescribeTrafficSources".into(),
            attempts: 7,
            last_failure: Some("HTTP 500 with an empty body".into()),
        };
        assert_eq!(
            call.to_string(),
            "autoscaling:DescribeTrafficSources (7 attempts, last: HTTP 500 with an empty body)"
        );
    }
}
