//! The outcome of a run, and the lifecycle hook status reported to CodeDeploy before the deadline.

use std::time::Duration;

use tokio::time::Instant;

use crate::aws::CallLog;
use crate::aws::{self, Clients};
use crate::event::Trigger;
use crate::plan::Registration;
use crate::report::{Outcome, OutcomeKind};

use super::error::{describe_still_retried, RunError};
use super::progress::Progress;
use super::{Found, RunResult};

pub(super) fn outcome_of(
    trigger: &Trigger,
    result: Result<RunResult, RunError>,
    progress: &Progress,
) -> Outcome {
    let attached = progress.attached();
    let id = Some(trigger.deployment_id.clone());
    match result {
        Ok(RunResult::Skipped(skip)) => {
            let mut o = Outcome::new(trigger.source, id, OutcomeKind::Skipped);
            o.reason = Some(skip.to_string());
            o
        }
        Ok(RunResult::Waiting(waiting)) => {
            let mut o = Outcome::new(trigger.source, id, OutcomeKind::Waiting);
            o.reason = Some(waiting.to_string());
            o.auto_scaling_groups = waiting.replacement_groups;
            o
        }
        Ok(RunResult::Checked(Found {
            plans,
            unregistered,
            ..
        })) => {
            let mut o = Outcome::new(trigger.source, id, OutcomeKind::Planned);
            o.auto_scaling_groups = plans.iter().map(|p| p.auto_scaling_group.clone()).collect();
            o.plan = plans;
            if !unregistered.is_empty() {
                o.reason = Some(format!("would register {}", describe(&unregistered)));
            }
            o
        }
        Ok(RunResult::Done {
            groups,
            pending,
            unread,
            registration_pending,
            not_registered,
        }) => {
            let kind = if attached.target_group_arns.is_empty()
                && attached.load_balancer_names.is_empty()
            {
                OutcomeKind::AlreadyAttached
            } else {
                OutcomeKind::Attached
            };
            let mut o = Outcome::new(trigger.source, id, kind);
            o.auto_scaling_groups = groups;
            o.attached = attached;
            o.registered = progress.registered();
            let mut reasons = Vec::new();
            if !pending.is_empty() && unread.is_empty() {
                reasons.push(format!(
                    "attached; still Adding when the confirm window closed: {}",
                    pending.join(", ")
                ));
            } else if !pending.is_empty() {
                // Only what a read showed: Adding at the last one that answered.
                reasons.push(format!(
                    "attached; {}",
                    super::after_unread(&pending, &unread)
                ));
            }
            if !o.registered.is_empty() {
                reasons.push(format!("registered {}", describe(&o.registered)));
            }
            if let Some(reason) = not_registered {
                reasons.push(format!("registration not checked: {reason}"));
            }
            if !registration_pending.is_empty() {
                reasons.push(format!(
                    "registration not checked with {}: Auto Scaling is still Adding them to the group, or does not list them yet (it registers the group's instances itself)",
                    registration_pending.join(", ")
                ));
            }
            o.reason = (!reasons.is_empty()).then(|| reasons.join("; "));
            let mut pending = pending;
            for source in registration_pending {
                if !pending.contains(&source) {
                    pending.push(source);
                }
            }
            o.pending = pending;
            o
        }
        Err(error) => {
            let mut o = Outcome::new(trigger.source, id, OutcomeKind::Failed);
            // What went on before the failure stays on: say so.
            o.attached = attached;
            o.registered = progress.registered();
            // A deadline or a panic names no group itself: the work had found them.
            o.auto_scaling_groups = match error.groups() {
                groups if groups.is_empty() => progress.replacement_groups(),
                groups => groups,
            };
            o.error_code = error.code().map(str::to_owned);
            o.reason = Some(error.to_string());
            o
        }
    }
}

/// Registrations as a reason says them: `i-1, i-2 with target group arn:...; ...`.
fn describe(registrations: &[Registration]) -> String {
    registrations
        .iter()
        .map(|r| format!("{} with {}", r.instance_ids.join(", "), r.traffic_source))
        .collect::<Vec<_>>()
        .join("; ")
}

/// How long before the deadline a status report still being retried is given up.
const REPORT_SLACK: Duration = Duration::from_millis(500);

/// `hookStatus` when CodeDeploy had already completed the hook execution.
pub const ALREADY_COMPLETED: &str = "AlreadyCompleted";

pub(super) async fn report_hook(
    clients: &Clients,
    trigger: &Trigger,
    execution_id: &str,
    outcome: &mut Outcome,
    deadline: Instant,
) {
    let succeeded = !outcome.failed();
    let status = if succeeded { "Succeeded" } else { "Failed" };
    let call = aws::codedeploy::put_hook_status(
        clients.codedeploy(),
        &trigger.deployment_id,
        execution_id,
        succeeded,
    );
    // The report retries like every call, until just before the deadline: the answer (and, for
    // a status that could not be reported, the function error) must still leave in time.
    let cut_off = deadline.checked_sub(REPORT_SLACK).unwrap_or(deadline);
    let calls = CallLog::default();
    // Pinned here, not inside the timeout: still under way (and so named) when it runs out.
    let call = calls.watch(call);
    futures_util::pin_mut!(call);
    match tokio::time::timeout_at(cut_off, call.as_mut()).await {
        Ok(Ok(aws::codedeploy::HookReport::Accepted)) => outcome.hook_status = Some(status),
        Ok(Ok(aws::codedeploy::HookReport::AlreadyCompleted)) => {
            // An earlier invocation's status stands; this one's was not recorded, so it is not
            // claimed. Not a failure: a retry would only be refused again.
            tracing::info!(
                deployment_id = trigger.deployment_id,
                not_recorded = status,
                "hook execution was already completed (a retried invocation); not a failure"
            );
            outcome.hook_status = Some(ALREADY_COMPLETED);
        }
        Ok(Err(error)) => {
            let what = if error.code == "DeploymentDoesNotExistException" {
                format!(
                    "CodeDeploy refused the {status} status: deployment {} does not exist",
                    trigger.deployment_id
                )
            } else {
                format!(
                    "could not report {status} to CodeDeploy for deployment {}: {error}",
                    trigger.deployment_id
                )
            };
            mark_report_failure(outcome, what, Some(error.code));
        }
        Err(_) => mark_report_failure(
            outcome,
            format!(
                "could not report {status} to CodeDeploy before the deadline{}",
                describe_still_retried(&calls.still_retried())
            ),
            None,
        ),
    }
}

fn mark_report_failure(outcome: &mut Outcome, what: String, code: Option<String>) {
    outcome.reason = Some(match outcome.reason.take() {
        Some(previous) => format!("{what}; the work itself: {previous}"),
        None => what,
    });
    outcome.outcome = OutcomeKind::Failed;
    if code.is_some() {
        outcome.error_code = code;
    }
}
