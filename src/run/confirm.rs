//! Read the attachments back until Auto Scaling lists them and is done adding them, within the
//! confirm window.

use std::time::Duration;

use tokio::time::Instant;

use crate::aws::{self, Clients};
use crate::plan::{self, GroupPlan};

use super::error::RunError;
use super::settings::Settings;

/// How long before the work deadline the confirm window closes at the latest, so that a read
/// still in flight then ends the window (its sources pending), not the work (a deadline failure).
const CONFIRM_SLACK: Duration = Duration::from_millis(500);

/// The confirm window: it closes `confirm_window` from now, and never later than
/// `CONFIRM_SLACK` before the work deadline (`last_chance`), which also bounds the first read.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConfirmWindow {
    end: Instant,
    last_chance: Instant,
}

impl ConfirmWindow {
    pub(super) fn new(settings: &Settings, work_deadline: Instant) -> Self {
        let last_chance = work_deadline
            .checked_sub(CONFIRM_SLACK)
            .unwrap_or(work_deadline);
        ConfirmWindow {
            end: (Instant::now() + settings.confirm_window).min(last_chance),
            last_chance,
        }
    }
}

/// The longest pause between two read-backs: the pause doubles from `poll_interval` up to this.
const LONGEST_POLL: Duration = Duration::from_secs(4);

/// Reads the attachments back until every source this run attached is listed and none is
/// `Adding`, or the window closes; returns what is still pending (`Adding`). AWS documents no
/// read-after-write consistency for DescribeTrafficSources
/// (<https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_DescribeTrafficSources.html>):
/// a source just attached that a read does not list yet is read again, with a pause that doubles,
/// and is a failure only when the window closes without it (one last read at its end). A source
/// on its way off (`Removing`, `Removed`) is a failure at once. There is always a first read
/// (bounded by the last chance before the work deadline, even with a zero window). A read still
/// unanswered when its bound passes leaves the sources pending (Auto Scaling accepted the
/// attach), never a deadline failure; so does a read that fails (but for access denied) after
/// one that listed every source this run attached.
pub(super) async fn confirm(
    clients: &Clients,
    group_plan: &GroupPlan,
    settings: &Settings,
    window: ConfirmWindow,
) -> Result<Vec<String>, RunError> {
    let group = group_plan.auto_scaling_group.as_str();
    let started = Instant::now();
    // Until a read answers, every desired source counts as pending.
    let mut pending: Vec<String> = group_plan
        .target_group_arns
        .iter()
        .chain(&group_plan.load_balancer_names)
        .cloned()
        .collect();
    let mut seen = false;
    let mut pause = settings.poll_interval;
    loop {
        let read = aws::autoscaling::describe_attachments(clients.autoscaling(), group);
        let bound = if seen { window.end } else { window.last_chance };
        let observed = match tokio::time::timeout_at(bound, read).await {
            Err(_) => {
                tracing::warn!(group, pending = ?pending, "confirm window closed before a read-back answered");
                return Ok(pending);
            }
            Ok(Err(source)) if seen && !source.is_access_denied() => {
                tracing::warn!(group, error = %source, "confirm read failed after the sources were seen; reporting them pending");
                return Ok(pending);
            }
            Ok(Err(source)) => {
                return Err(RunError::Aws {
                    groups: vec![group.to_owned()],
                    source,
                })
            }
            Ok(Ok(observed)) => observed,
        };
        let confirmation = plan::confirm(group_plan, &observed);
        if !confirmation.absent.is_empty() {
            // Each with the state the read-back gave it, so the failure says what it saw.
            let sources = confirmation
                .absent
                .iter()
                .map(|source| {
                    let state = observed
                        .iter()
                        .find(|a| &a.source == source)
                        .map(|a| a.state.as_str())
                        .filter(|state| !state.is_empty())
                        .unwrap_or("no state");
                    format!("{source} ({state})")
                })
                .collect();
            return Err(RunError::NotAttached {
                group: group.to_owned(),
                sources,
            });
        }
        let now = Instant::now();
        if confirmation.unlisted.is_empty() {
            if confirmation.pending.is_empty() || now + pause >= window.end {
                return Ok(confirmation.pending);
            }
            tracing::debug!(group, pending = ?confirmation.pending, "waiting for Adding to become Added");
            tokio::time::sleep(pause).await;
        } else {
            if now >= window.end {
                return Err(RunError::NotListed {
                    group: group.to_owned(),
                    sources: confirmation.unlisted,
                    waited: now - started,
                });
            }
            tracing::debug!(group, unlisted = ?confirmation.unlisted, "attached sources not listed yet; reading again");
            tokio::time::sleep(pause.min(window.end - now)).await;
        }
        seen = confirmation.unlisted.is_empty();
        pending = [confirmation.pending, confirmation.unlisted].concat();
        pause = (pause * 2).min(LONGEST_POLL.max(settings.poll_interval));
    }
}
