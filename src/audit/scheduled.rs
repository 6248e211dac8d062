//! The scheduled audit, as the audit function runs it: its configuration, its run (its own
//! account and region, or the accounts and regions it is given), and why it did not finish.

use tokio::time::Instant;

use crate::aws::{AwsError, ClientSettings, Clients};
use crate::run::{self, Settings};

use super::coverage::Coverage;
use super::log::log_row;
use super::{audit_coverage, log_finished, Options, Report, RowStatus};

/// Why a scheduled audit did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduledError {
    #[error("audit could not list the Auto Scaling groups: {0}")]
    Listing(AwsError),
    #[error("audit ran out of time: stopped {}s before the function's deadline with replacement groups still to check (raise the audit function's timeout, AuditTimeoutSeconds)", run::REPORT_MARGIN.as_secs())]
    Deadline,
    /// `AUDIT_ACCOUNTS`, `AUDIT_REGIONS` or `AUDIT_ROLE_NAME` is not one the audit can take.
    #[error("audit not run: {0}")]
    Coverage(String),
}

/// What the scheduled audit covers and how: the entry's configuration of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledAudit {
    /// `AUDIT_FIX`.
    pub fix: bool,
    /// `DEPLOYMENT_GROUP_PATTERN`.
    pub deployment_group_pattern: String,
    /// `AUDIT_ACCOUNTS`, `AUDIT_REGIONS`, `AUDIT_ROLE_NAME` (or why they cannot be taken).
    pub coverage: Result<Coverage, String>,
    /// For the clients of other regions and accounts.
    pub client_settings: ClientSettings,
}

/// The scheduled audit as the function runs it (and `handle` on a scheduled event): the account
/// in this region (or the accounts and regions `AUDIT_ACCOUNTS` and `AUDIT_REGIONS` name),
/// repairing only with `fix`; every row and the summary go to the log, and the metrics document
/// with them. Stops `REPORT_MARGIN` before the deadline, saying so.
pub async fn scheduled(
    clients: &Clients,
    audit_setup: &ScheduledAudit,
    deadline: Instant,
) -> Result<Report, ScheduledError> {
    let coverage = audit_setup
        .coverage
        .as_ref()
        .map_err(|e| ScheduledError::Coverage(e.clone()))?;
    let options = Options {
        fix: audit_setup.fix,
        concurrency: 8,
        settings: Settings::default(),
        deadline,
        deployment_group_pattern: Some(audit_setup.deployment_group_pattern.clone()),
    };
    // Each row is logged as it is checked, so a run the deadline stops still leaves them.
    let settings = &audit_setup.client_settings;
    let report = tokio::time::timeout_at(
        run::work_deadline(deadline),
        audit_coverage(clients, coverage, settings, &options, |row, _, _| {
            log_row(row)
        }),
    )
    .await
    .map_err(|_| ScheduledError::Deadline)?
    .map_err(ScheduledError::Listing)?;
    log_finished(&report);
    Ok(report)
}

/// Groups the audit could not check, as one message (a function error), or `None`.
pub fn unchecked(report: &Report) -> Option<String> {
    let errors: Vec<String> = report
        .rows
        .iter()
        .filter(|r| r.status == RowStatus::Error)
        .map(|r| {
            let reason = r.reason.as_deref().unwrap_or("not checked");
            match r.auto_scaling_group.as_str() {
                // An account or region not listed: its reason names it.
                "" => reason.to_owned(),
                group => format!("{group}: {reason}"),
            }
        })
        .collect();
    let unlisted = report
        .rows
        .iter()
        .filter(|r| r.status == RowStatus::Error && r.auto_scaling_group.is_empty())
        .count();
    let what = match (errors.len() - unlisted, unlisted) {
        (groups, 0) => format!("{groups} replacement group(s) could not be checked"),
        (0, places) => format!("{places} account(s) or region(s) could not be listed"),
        (groups, places) => format!(
            "{groups} replacement group(s) could not be checked and {places} account(s) or region(s) could not be listed"
        ),
    };
    (!errors.is_empty()).then(|| format!("{what}: {}", errors.join("; ")))
}
