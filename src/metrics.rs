//! Figures as CloudWatch Embedded Metric Format documents: one JSON line in the log per run
//! (per event outcome, per audit); CloudWatch Logs turns them into metrics, so no API call and
//! no permission is needed. One namespace, one dimension per document.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::audit::{Report, Status};
use crate::report::{wire_name, Outcome};

/// Every metric's namespace.
pub const NAMESPACE: &str = "CodeDeployTgHook";

/// The document for one event's outcome: dimension `Outcome` (`attached`, `already-attached`,
/// `skipped`, `waiting`, `failed`, `ignored`, `planned`), metrics `Runs` (1),
/// `TrafficSourcesAttached` and `InstancesRegistered`; the deployment id and source as
/// plain members (searchable in Logs Insights, not dimensions).
pub fn outcome_document(outcome: &Outcome, timestamp_ms: u64) -> Value {
    let attached =
        outcome.attached.target_group_arns.len() + outcome.attached.load_balancer_names.len();
    let registered: usize = outcome
        .registered
        .iter()
        .map(|r| r.instance_ids.len())
        .sum();
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Outcome"]],
                "Metrics": [
                    {"Name": "Runs", "Unit": "Count"},
                    {"Name": "TrafficSourcesAttached", "Unit": "Count"},
                    {"Name": "InstancesRegistered", "Unit": "Count"},
                ],
            }],
        },
        "Outcome": wire_name(&outcome.outcome),
        "Runs": 1,
        "TrafficSourcesAttached": attached,
        "InstancesRegistered": registered,
        "DeploymentId": outcome.deployment_id,
        "Source": wire_name(&outcome.source),
    })
}

/// The metric name of each audit status's group count.
const AUDIT_METRICS: [(Status, &str); 7] = [
    (Status::Ok, "GroupsOk"),
    (Status::Missing, "GroupsMissing"),
    (Status::Unregistered, "GroupsUnregistered"),
    (Status::Repaired, "GroupsRepaired"),
    (Status::Skipped, "GroupsSkipped"),
    (Status::Waiting, "GroupsWaiting"),
    (Status::Error, "GroupsError"),
];

/// The document for one audit: dimension `Mode` (`report` or `fix`), one metric per status
/// (`GroupsOk`, `GroupsMissing`, `GroupsUnregistered`, `GroupsRepaired`, `GroupsSkipped`,
/// `GroupsWaiting`, `GroupsError`), each the number of replacement groups in it.
pub fn audit_document(report: &Report, timestamp_ms: u64) -> Value {
    let mut document = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Mode"]],
                "Metrics": AUDIT_METRICS
                    .iter()
                    .map(|(_, name)| json!({"Name": name, "Unit": "Count"}))
                    .collect::<Vec<_>>(),
            }],
        },
        "Mode": if report.fix { "fix" } else { "report" },
        "GroupsScanned": report.scanned,
    });
    for (status, name) in AUDIT_METRICS {
        document[name] = json!(report.count(status));
    }
    document
}

/// Milliseconds since the epoch, for a document's `Timestamp`.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Whether documents are written: only where logs are JSON lines that CloudWatch Logs reads
/// (in Lambda, or with `LOG_FORMAT=json`); a person's terminal gets none.
pub fn enabled() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
        || std::env::var("LOG_FORMAT").is_ok_and(|v| v == "json")
}

/// Writes one document as one line on stderr, beside the JSON log lines (Lambda sends both to
/// the function's log group). The document is made only when it is written.
pub fn emit(document: impl FnOnce() -> Value) {
    if enabled() {
        use std::io::Write;
        let line = format!("{}\n", document());
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Row;
    use crate::event::Source;
    use crate::plan::{Registration, TrafficSource};
    use crate::report::OutcomeKind;

    /// Each metric the directive names is a number at the root, and each dimension a string.
    fn assert_valid_emf(document: &Value) {
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        for metric in directive["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(document[name].is_number(), "{name} is a number: {document}");
        }
        for set in directive["Dimensions"].as_array().unwrap() {
            for dimension in set.as_array().unwrap() {
                let name = dimension.as_str().unwrap();
                assert!(document[name].is_string(), "{name} is a string: {document}");
            }
        }
        assert!(document["_aws"]["Timestamp"].is_u64());
    }

    #[test]
    fn an_outcome_counts_its_run_sources_and_instances_under_its_kind() {
        let mut outcome = Outcome::new(
            Source::SnsTrigger,
            Some("d-1A2B3C4D5".into()),
            OutcomeKind::Attached,
        );
        outcome.attached.target_group_arns = vec!["arn:a".into(), "arn:b".into()];
        outcome.attached.load_balancer_names = vec!["clb".into()];
        outcome.registered = vec![
            Registration {
                traffic_source: TrafficSource::TargetGroup("arn:a".into()),
                instance_ids: vec!["i-1".into(), "i-2".into()],
            },
            Registration {
                traffic_source: TrafficSource::LoadBalancer("clb".into()),
                instance_ids: vec!["i-1".into()],
            },
        ];
        let document = outcome_document(&outcome, 1_700_000_000_000);
        assert_valid_emf(&document);
        assert_eq!(document["Outcome"], "attached");
        assert_eq!(document["Runs"], 1);
        assert_eq!(document["TrafficSourcesAttached"], 3);
        assert_eq!(document["InstancesRegistered"], 3);
        assert_eq!(document["DeploymentId"], "d-1A2B3C4D5");
        assert_eq!(document["Source"], "sns-trigger");
        assert_eq!(document["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }

    #[test]
    fn an_audit_counts_its_groups_per_status_under_its_mode() {
        let row = |status| Row {
            auto_scaling_group: "g".into(),
            deployment_id: "d-1A2B3C4D5".into(),
            deployment_group: "dg".into(),
            status,
            target_groups: vec![],
            load_balancers: vec![],
            unregistered: vec![],
            reason: None,
        };
        let report = Report {
            scanned: 9,
            fix: false,
            rows: vec![
                row(Status::Ok),
                row(Status::Missing),
                row(Status::Missing),
                row(Status::Unregistered),
                row(Status::Error),
            ],
        };
        let document = audit_document(&report, 1);
        assert_valid_emf(&document);
        assert_eq!(document["Mode"], "report");
        assert_eq!(document["GroupsScanned"], 9);
        for (name, count) in [
            ("GroupsOk", 1),
            ("GroupsMissing", 2),
            ("GroupsUnregistered", 1),
            ("GroupsRepaired", 0),
            ("GroupsSkipped", 0),
            ("GroupsWaiting", 0),
            ("GroupsError", 1),
        ] {
            assert_eq!(document[name], count, "{name}");
        }
    }
}
