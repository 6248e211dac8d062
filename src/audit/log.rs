//! The audit's log lines and its metrics document: one line per row as it is checked, and the
//! summary with the document at the end.

use super::{Report, Row, RowStatus};

/// The metric name of each status's group count.
const AUDIT_METRICS: [(RowStatus, &str); 7] = [
    (RowStatus::Ok, "GroupsOk"),
    (RowStatus::Missing, "GroupsMissing"),
    (RowStatus::Unregistered, "GroupsUnregistered"),
    (RowStatus::Repaired, "GroupsRepaired"),
    (RowStatus::Skipped, "GroupsSkipped"),
    (RowStatus::Waiting, "GroupsWaiting"),
    (RowStatus::Error, "GroupsError"),
];

/// One row as one log line, each field its own (the whole row as JSON in `row`).
pub(super) fn log_row(row: &Row) {
    let status = crate::report::wire_name(&row.status);
    let unregistered_instances: usize = row.unregistered.iter().map(|r| r.instance_ids.len()).sum();
    let fields = serde_json::to_string(row).unwrap_or_default();
    let reason = row.reason.as_deref().unwrap_or("");
    if row.status == RowStatus::Error {
        tracing::error!(
            account = row.account.as_deref().unwrap_or(""),
            region = row.region,
            auto_scaling_group = row.auto_scaling_group,
            deployment_id = row.deployment_id,
            status,
            reason,
            row = fields,
            "audit row"
        );
    } else {
        tracing::info!(
            account = row.account.as_deref().unwrap_or(""),
            region = row.region,
            auto_scaling_group = row.auto_scaling_group,
            deployment_id = row.deployment_id,
            status,
            target_groups = row.target_groups.join(","),
            load_balancers = row.load_balancers.join(","),
            unregistered_instances,
            reason,
            row = fields,
            "audit row"
        );
    }
}

/// The audit's last log line and its metrics document.
pub fn log_finished(report: &Report) {
    tracing::info!(
        summary = report.summary(),
        fix = report.fix,
        "audit finished"
    );
    crate::metrics::emit(|| {
        let groups: Vec<(&str, usize)> = AUDIT_METRICS
            .iter()
            .map(|(status, name)| (*name, report.count(*status)))
            .collect();
        crate::metrics::audit_document(
            report.fix,
            report.scanned,
            &report
                .accounts
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            &report
                .regions
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            &groups,
            crate::metrics::now_ms(),
        )
    });
}
