//! Why a run failed, naming what the user needs to act on.

use std::time::Duration;

use crate::aws::AwsError;
use crate::aws::StillRetried;
use crate::plan::TrafficSource;

use super::settings::REPORT_MARGIN;

/// Why the work failed, naming what the user needs to act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("deployment {deployment_id}: {source}")]
    Deployment {
        deployment_id: String,
        source: AwsError,
    },
    #[error("replacement Auto Scaling group(s) not found: {}", .groups.join(", "))]
    MissingGroups { groups: Vec<String> },
    #[error("target group(s) named by the deployment group not found: {}", .names.join(", "))]
    UnresolvedTargetGroups {
        names: Vec<String>,
        groups: Vec<String>,
    },
    #[error("{group}: {} rejected: {source}", list(.sources))]
    TrafficSourcesRejected {
        group: String,
        sources: Vec<TrafficSource>,
        source: AwsError,
    },
    #[error("{}: {source}", .groups.join(", "))]
    Aws {
        groups: Vec<String>,
        source: AwsError,
    },
    /// Sources the read-back lists leaving the group (or in no state of being on it), each with
    /// that state.
    #[error("{group}: after attaching, not on the group: autoscaling:DescribeTrafficSources lists {} (not Adding, Added or InService)", .sources.join(", "))]
    NotAttached { group: String, sources: Vec<String> },
    #[error("{group}: after attaching, not on the group: autoscaling:DescribeTrafficSources still did not list {} {:.0} s after AttachTrafficSources accepted them (the confirm window; CONFIRM_WINDOW_SECONDS, --confirm-window)", .sources.join(", "), .waited.as_secs_f64())]
    NotListed {
        group: String,
        sources: Vec<String>,
        waited: Duration,
    },
    /// Attached, but no read-back succeeded in time: nothing confirms it.
    #[error("{group}: attached {}, but no read-back succeeded in time ({read}): the attachment is not confirmed", .sources.join(", "))]
    Unconfirmed {
        group: String,
        sources: Vec<String>,
        read: StillRetried,
    },
    #[error("{}: registering InService instance(s) {} with {traffic_source} failed: {source}", .groups.join(", "), .instance_ids.join(", "))]
    NotRegistered {
        groups: Vec<String>,
        traffic_source: TrafficSource,
        instance_ids: Vec<String>,
        source: Box<AwsError>,
    },
    #[error("ran out of time: stopped {}s before the deadline to report{}", REPORT_MARGIN.as_secs(), describe_still_retried(.still_retried))]
    Deadline {
        /// The AWS calls the deadline stopped while they were being retried, with their last
        /// failure (throttling, a 5xx, a connection error, an answer that is not AWS's).
        still_retried: Vec<StillRetried>,
    },
    #[error("internal error (panic): {0}")]
    Panic(String),
    /// A result the caller cannot have asked for (a bug, said as such).
    #[error("internal error: {0}")]
    Internal(String),
}

/// "; still being retried: autoscaling:DescribeTrafficSources (7 attempts, last: HTTP 500 ...)".
pub(super) fn describe_still_retried(calls: &[StillRetried]) -> String {
    if calls.is_empty() {
        return String::new();
    }
    format!(
        "; still being retried: {}",
        calls
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    )
}

/// "target group arn:..., classic load balancer web" for an error message.
pub(super) fn list(sources: &[TrafficSource]) -> String {
    sources
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl RunError {
    /// AWS's error code, for the log line and the outcome.
    pub fn code(&self) -> Option<&str> {
        match self {
            RunError::Deployment { source, .. }
            | RunError::TrafficSourcesRejected { source, .. }
            | RunError::Aws { source, .. } => Some(&source.code),
            RunError::NotRegistered { source, .. } => Some(&source.code),
            _ => None,
        }
    }

    /// The Auto Scaling group(s) the failure concerns, where known by then.
    pub fn groups(&self) -> Vec<String> {
        match self {
            RunError::MissingGroups { groups }
            | RunError::UnresolvedTargetGroups { groups, .. } => groups.clone(),
            RunError::Aws { groups, .. } | RunError::NotRegistered { groups, .. } => groups.clone(),
            RunError::TrafficSourcesRejected { group, .. }
            | RunError::NotAttached { group, .. }
            | RunError::NotListed { group, .. }
            | RunError::Unconfirmed { group, .. } => {
                vec![group.clone()]
            }
            RunError::Deployment { .. }
            | RunError::Deadline { .. }
            | RunError::Panic(_)
            | RunError::Internal(_) => Vec::new(),
        }
    }
}
