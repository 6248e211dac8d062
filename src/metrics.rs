//! Figures as CloudWatch Embedded Metric Format documents: one JSON line in the log per run
//! (per event outcome, per audit); CloudWatch Logs turns them into metrics, so no API call and
//! no permission is needed. One namespace, one dimension per document. A leaf: callers pass
//! plain figures.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// Every metric's namespace.
pub const NAMESPACE: &str = "CodeDeployTgHook";

/// One event's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFigures<'a> {
    /// The outcome's wire name (`attached`, `already-attached`, `skipped`, `waiting`, `failed`,
    /// `ignored`, `planned`): the `Outcome` dimension.
    pub outcome: &'a str,
    /// The trigger's wire name (`lifecycle-hook`, `sns-trigger`, ...).
    pub source: &'a str,
    pub deployment_id: Option<&'a str>,
    pub traffic_sources_attached: usize,
    pub instances_registered: usize,
}

/// The document for one event's outcome: dimension `Outcome`, metrics `Runs` (1),
/// `TrafficSourcesAttached` and `InstancesRegistered`; the deployment id and source as plain
/// members (searchable in Logs Insights, not dimensions).
pub fn run_document(figures: &RunFigures, timestamp_ms: u64) -> Value {
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
        "Outcome": figures.outcome,
        "Runs": 1,
        "TrafficSourcesAttached": figures.traffic_sources_attached,
        "InstancesRegistered": figures.instances_registered,
        "DeploymentId": figures.deployment_id,
        "Source": figures.source,
    })
}

/// The document for one audit: dimension `Mode` (`fix` or `report`), one metric per status,
/// each the number of replacement groups in it (`groups`: metric name and count, e.g.
/// `("GroupsMissing", 2)`), and `GroupsScanned`, the `Accounts` and the `Regions` audited as
/// plain members.
pub fn audit_document(
    fix: bool,
    scanned: usize,
    accounts: &[&str],
    regions: &[&str],
    groups: &[(&str, usize)],
    timestamp_ms: u64,
) -> Value {
    let mut document = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Mode"]],
                "Metrics": groups
                    .iter()
                    .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
                    .collect::<Vec<_>>(),
            }],
        },
        "Mode": if fix { "fix" } else { "report" },
        "GroupsScanned": scanned,
        "Accounts": accounts,
        "Regions": regions,
    });
    for (name, count) in groups {
        document[*name] = json!(count);
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
/// (in Lambda, or with `LOG_FORMAT=json`); a person's terminal gets none. Set once, by the entry
/// layer from its configuration (`entry::Config::metrics`), before any work starts.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns the documents on or off for this process (the entry layer's start).
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
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
    fn a_run_counts_itself_its_sources_and_instances_under_its_outcome() {
        let document = run_document(
            &RunFigures {
                outcome: "attached",
                source: "sns-trigger",
                deployment_id: Some("d-1A2B3C4D5"),
                traffic_sources_attached: 3,
                instances_registered: 2,
            },
            1_700_000_000_000,
        );
        assert_valid_emf(&document);
        assert_eq!(document["Outcome"], "attached");
        assert_eq!(document["Runs"], 1);
        assert_eq!(document["TrafficSourcesAttached"], 3);
        assert_eq!(document["InstancesRegistered"], 2);
        assert_eq!(document["DeploymentId"], "d-1A2B3C4D5");
        assert_eq!(document["Source"], "sns-trigger");
        assert_eq!(document["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }

    #[test]
    fn an_audit_counts_its_groups_per_status_under_its_mode() {
        let document = audit_document(
            false,
            9,
            &["111111111111", "222222222222"],
            &["us-east-1"],
            &[("GroupsOk", 1), ("GroupsMissing", 2)],
            1,
        );
        assert_eq!(document["Regions"], json!(["us-east-1"]));
        assert_eq!(
            document["Accounts"],
            json!(["111111111111", "222222222222"])
        );
        assert_valid_emf(&document);
        assert_eq!(document["Mode"], "report");
        assert_eq!(document["GroupsScanned"], 9);
        assert_eq!(document["GroupsOk"], 1);
        assert_eq!(document["GroupsMissing"], 2);
        assert_eq!(audit_document(true, 0, &[], &[], &[], 1)["Mode"], "fix");
    }
}
