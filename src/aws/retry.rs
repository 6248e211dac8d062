//! The retry policy, and the watcher of every call's attempts that it relies on.
//!
//! **The policy.** A hook or `attach` (`Clients::load(.., adaptive: false)`) retries throttling,
//! 5xx and transient errors with the standard mode's exponential backoff and jitter for as long as
//! its work deadline allows: the attempt count is no limit, the deadline boundary (`run::guard`)
//! is. That is what keeps a hundred instances' hooks at once from failing a healthy deployment on
//! the account's rate limits. Each such client has a retry partition of its own with a quota that
//! does not run out first (`RETRY_QUOTA`). The audit and `doctor` (`adaptive: true`) fan out over
//! many calls instead: the adaptive mode rate-limits the client, with a bounded number of attempts
//! (`AUDIT_MAX_ATTEMPTS`) and an operation timeout. Beyond the SDK's classifiers, a failure is
//! retried by its cause (`RetryByCause`): a certificate the trust store does not accept fails the
//! same way on every attempt, and so, mostly, does an endpoint that refuses connections or answers
//! with something that is not AWS's answer; retried until the deadline, they would only hide their
//! cause behind "ran out of time". So a certificate failure is not retried, and the other two only
//! until `UNUSABLE_IN_A_ROW` attempts of the same call in a row were.
//!
//! **The watcher.** `AttemptWatcher`, on every client, sees each attempt: it checks a success
//! answer is AWS's (`answers`), counts the unusable attempts in a row and marks the last one,
//! names the endpoint in a failed attempt's error (`error::Unreached`, `error::NoAnswer`), logs a
//! retry as it starts, and keeps each call's attempts and last failure for the run's `CallLog`,
//! so a deadline names what was still being retried and why. A call's state lives in its config
//! bag (as long as the call); the run's log reaches the watcher as a task-local of the run's task.

use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use aws_sdk_codedeploy::config::interceptors::InterceptorContext;
use aws_sdk_codedeploy::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_codedeploy::error::DisplayErrorContext;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextMut,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{Metadata, OrchestratorError};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

use super::actions;
use super::answers::{answer_problem, MalformedAnswer};
use super::error::{attempt_failure, find_source, innermost, NoAnswer, Unreached};

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
/// ends them (the SDK's default, 500 tokens shared by every client of a service in the process,
/// ends retries after about a hundred throttled attempts). The quota lives as long as the
/// process, so a warm Lambda shares it across invocations; at this size that does not matter.
pub const RETRY_QUOTA: usize = 100_000;
/// The audit's calls: a bounded number of attempts within an operation timeout each.
pub const AUDIT_MAX_ATTEMPTS: u32 = 4;
pub const AUDIT_OPERATION_TIMEOUT: Duration = Duration::from_secs(20);
/// Attempts of one call in a row refused or answered with something not AWS's, after which the
/// call is not retried again: a cut connection or a passing proxy fault is retried, an endpoint
/// that is not AWS, or not there, fails naming its cause.
pub const UNUSABLE_IN_A_ROW: u32 = 3;

/// Which failed attempts are retried, beyond the standard classifiers (the policy above): a
/// certificate failure never, an unusable attempt marked last (`MalformedAnswer::last_chance`,
/// `Unreached::gave_up`) not again, a malformed answer before that like a 5xx.
#[derive(Debug)]
pub struct RetryByCause;

impl ClassifyRetry for RetryByCause {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        if let Some(malformed) = find_source::<MalformedAnswer>(error) {
            return if malformed.last_chance {
                RetryAction::RetryForbidden
            } else {
                RetryAction::transient_error()
            };
        }
        if find_source::<Unreached>(error).is_some_and(|unreached| unreached.gave_up) {
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
        "RetryByCause"
    }
}

/// The interceptor every client carries (`aws::Clients`): see the module's top.
#[derive(Debug, Default)]
pub struct AttemptWatcher;

/// `codedeploy:GetDeployment`: the IAM action of the call the orchestrator is running.
fn action_of(cfg: &ConfigBag) -> String {
    match cfg.load::<Metadata>() {
        Some(metadata) => actions::iam_action(metadata.service(), metadata.name()),
        None => "an AWS call".to_owned(),
    }
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
    /// Where the last attempt went (`https://autoscaling.us-east-1.amazonaws.com`): what its
    /// failure names.
    endpoint: Option<String>,
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

/// `scheme://host[:port]` of a request URI.
fn origin(uri: &str) -> &str {
    let after_scheme = uri.find("://").map_or(0, |at| at + 3);
    let end = uri[after_scheme..]
        .find(['/', '?'])
        .map_or(uri.len(), |at| after_scheme + at);
    &uri[..end]
}

impl Intercept for AttemptWatcher {
    fn name(&self) -> &'static str {
        "codedeploy-tg-hook::AttemptWatcher"
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
        if let Some(execution) = execution(cfg).filter(|_| !endpoint.is_empty()) {
            execution.attempts().endpoint = Some(endpoint.to_owned());
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
                // CodeDeploy's and Organizations' JSON protocol and Lambda's and the Account
                // API's REST-JSON one answer in JSON; the others (Auto Scaling, Elastic Load
                // Balancing, IAM, EC2) in the query protocols' XML.
                matches!(
                    metadata.service(),
                    "CodeDeploy" | "Lambda" | "Organizations" | "Account"
                ),
                response.headers().get("content-type"),
                response.body().bytes().unwrap_or_default(),
            )
            .map(|problem| {
                (
                    actions::iam_action(metadata.service(), metadata.name()),
                    problem,
                )
            }),
            // AWS's own error answer is a usable answer too.
            _ => None,
        };
        let (in_a_row, endpoint) = execution(cfg).map_or((1, None), |execution| {
            let mut attempts = execution.attempts();
            attempts.unusable_in_a_row = match problem {
                Some(_) => attempts.unusable_in_a_row + 1,
                None => 0,
            };
            (attempts.unusable_in_a_row, attempts.endpoint.clone())
        });
        match problem {
            None => Ok(()),
            Some((action, problem)) => Err(Box::new(MalformedAnswer {
                action,
                status,
                problem,
                endpoint,
                last_chance: in_a_row >= UNUSABLE_IN_A_ROW,
            })),
        }
    }

    /// A failed attempt's connector error or timeout becomes `Unreached` or `NoAnswer`, of the
    /// same kind (so it is retried as before), naming the endpoint. A refused connection is
    /// counted per call; at `UNUSABLE_IN_A_ROW` in a row it is marked `gave_up`, which
    /// `RetryByCause` does not retry.
    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Err(error)) = context.output_or_error_mut() else {
            return Ok(());
        };
        let execution = execution(cfg);
        let endpoint = execution
            .as_ref()
            .and_then(|execution| execution.attempts().endpoint.clone());
        if let Some(connector) = error.as_connector_error() {
            let cause = innermost(connector);
            let refused = cause.to_ascii_lowercase().contains("connection refused");
            let in_a_row = match (&execution, refused) {
                (_, false) => 0,
                (None, true) => 1,
                (Some(execution), true) => {
                    let mut attempts = execution.attempts();
                    attempts.unusable_in_a_row += 1;
                    attempts.unusable_in_a_row
                }
            };
            let unreached = Box::new(Unreached {
                endpoint,
                cause,
                gave_up: refused && in_a_row >= UNUSABLE_IN_A_ROW,
            });
            let same_kind = if connector.is_timeout() {
                ConnectorError::timeout(unreached)
            } else if connector.is_user() {
                ConnectorError::user(unreached)
            } else if connector.is_other() {
                ConnectorError::other(unreached, connector.as_other())
            } else {
                ConnectorError::io(unreached)
            };
            *error = OrchestratorError::connector(same_kind);
        } else if error.is_timeout_error() && find_source::<NoAnswer>(&*error).is_none() {
            *error = OrchestratorError::timeout(Box::new(NoAnswer {
                endpoint,
                seconds: ATTEMPT_TIMEOUT.as_secs(),
            }));
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
            Some(Err(error)) => Some(attempt_failure(error, context.response())),
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
