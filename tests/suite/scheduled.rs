//! The scheduled audit (an EventBridge Scheduled Event) and the Embedded Metric Format
//! documents, through the real binary's `handle`, which does exactly what the function does.

use std::process::Output;

use crate::support::{block_on, event, row, write_temp, Moto};
use serde_json::{json, Value};

/// `handle` on the scheduled event with JSON logs (as in Lambda) and the given `AUDIT_FIX`.
fn scheduled(moto: &Moto, audit_fix: Option<&str>) -> Output {
    let path = write_temp(
        &format!("scheduled-{}", audit_fix.unwrap_or("unset")),
        &event("scheduled", "", ""),
    );
    let mut command = moto.cli();
    command.arg("handle").arg(&path).env("LOG_FORMAT", "json");
    if let Some(value) = audit_fix {
        command.env("AUDIT_FIX", value);
    }
    command.output().expect("run handle")
}

/// The JSON lines of stderr: log lines and metrics documents.
fn stderr_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The one Embedded Metric Format document among them.
fn metrics_document(output: &Output) -> Value {
    let documents: Vec<Value> = stderr_lines(output)
        .into_iter()
        .filter(|l| l.get("_aws").is_some())
        .collect();
    assert_eq!(
        documents.len(),
        1,
        "one metrics document per run: {documents:?}"
    );
    let document = documents.into_iter().next().unwrap();
    let directive = &document["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "CodeDeployTgHook");
    for metric in directive["Metrics"].as_array().unwrap() {
        let name = metric["Name"].as_str().unwrap();
        assert!(document[name].is_number(), "{name} at the root: {document}");
    }
    document
}

fn changes(moto: &Moto) -> Vec<Value> {
    moto.requests()
        .into_iter()
        .filter(|r| {
            let action = r["action"].as_str().unwrap_or("");
            action.starts_with("Attach") || action.starts_with("Register")
        })
        .collect()
}

#[test]
fn a_scheduled_event_audits_and_reports_without_audit_fix_and_repairs_with_it() {
    let moto = Moto::start();
    let world = moto.world(json!({"name": "sa", "status": "Succeeded"}));

    for audit_fix in [None, Some("false"), Some("yes")] {
        moto.clear_requests();
        let output = scheduled(&moto, audit_fix);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{audit_fix:?}: {stderr}");
        let report: Value = serde_json::from_slice(&output.stdout).expect("the report as JSON");
        assert_eq!(report["fix"], false, "{audit_fix:?}");
        assert_eq!(row(&report, &world.replacement_group)["status"], "missing");
        assert!(
            changes(&moto).is_empty(),
            "{audit_fix:?}: nothing changes without AUDIT_FIX=true"
        );
        let document = metrics_document(&output);
        assert_eq!(document["Mode"], "report");
        assert_eq!(document["GroupsMissing"], 1);
        assert_eq!(document["GroupsRepaired"], 0);
        let rows: Vec<Value> = stderr_lines(&output)
            .into_iter()
            .filter(|l| l["fields"]["message"] == "audit row")
            .collect();
        assert_eq!(rows.len(), 1, "one log line per row: {stderr}");
        assert_eq!(
            rows[0]["fields"]["status"], "missing",
            "the status is a field of its own"
        );
        assert_eq!(
            rows[0]["fields"]["auto_scaling_group"],
            world.replacement_group.as_str()
        );
        let logged: Value =
            serde_json::from_str(rows[0]["fields"]["row"].as_str().unwrap()).unwrap();
        assert_eq!(
            &logged,
            row(&report, &world.replacement_group),
            "the row, as JSON, in the log"
        );
        if audit_fix == Some("yes") {
            assert!(
                stderr.contains("AUDIT_FIX is neither true nor false"),
                "{stderr}"
            );
        }
    }

    moto.clear_requests();
    let output = scheduled(&moto, Some("true"));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["fix"], true);
    assert_eq!(row(&report, &world.replacement_group)["status"], "repaired");
    assert!(!changes(&moto).is_empty());
    let document = metrics_document(&output);
    assert_eq!(document["Mode"], "fix");
    assert_eq!(document["GroupsRepaired"], 1);
    assert_eq!(document["GroupsMissing"], 0);

    let again = scheduled(&moto, None);
    let report: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(row(&report, &world.replacement_group)["status"], "ok");
    assert_eq!(metrics_document(&again)["GroupsOk"], 1);
}

#[test]
fn a_group_the_scheduled_audit_cannot_check_is_a_failure_naming_it() {
    let moto = Moto::start();
    // A replacement group whose deployment CodeDeploy no longer knows.
    let group = "CodeDeploy_gone_d-GONE00001";
    moto.harness("group", json!({"name": group}));
    let output = scheduled(&moto, None);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("1 replacement group(s) could not be checked"),
        "{stderr}"
    );
    assert!(stderr.contains(group), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(row(&report, group)["status"], "error");
    assert_eq!(metrics_document(&output)["GroupsError"], 1);
}

#[test]
fn every_run_writes_a_metrics_document_that_matches_its_outcome() {
    let moto = Moto::start();
    let world = moto.world(json!({"name": "em", "status": "Succeeded"}));
    let path = write_temp("emf-sns", &event("sns", &world.deployment_id, "SUCCEEDED"));
    let output = moto
        .cli()
        .arg("handle")
        .arg(&path)
        .env("LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    let document = metrics_document(&output);
    assert_eq!(document["Outcome"], outcome["outcome"]);
    assert_eq!(document["Outcome"], "attached");
    assert_eq!(document["Runs"], 1);
    let attached = outcome["attached"]["targetGroupArns"]
        .as_array()
        .unwrap()
        .len()
        + outcome["attached"]["loadBalancerNames"]
            .as_array()
            .unwrap()
            .len();
    assert_eq!(document["TrafficSourcesAttached"], attached);
    assert_eq!(attached, 3, "two target groups and a classic load balancer");
    assert_eq!(document["InstancesRegistered"], 0);
    assert_eq!(document["DeploymentId"], world.deployment_id.as_str());

    // A group that has its sources but whose instances one target group dropped: the
    // registration round's count.
    let dropped = moto.world(json!({
        "name": "emr", "status": "Succeeded", "instances": 2,
        "attachedTargetGroups": 2, "attachedLoadBalancers": 1,
    }));
    block_on(async {
        let clients = moto.clients().await;
        let ids = moto
            .instance_ids(&clients, &dropped.replacement_group)
            .await;
        moto.deregister_targets(&clients, &dropped.target_group_arns[0], &ids)
            .await;
    });
    let output = moto
        .cli()
        .arg("handle")
        .arg(write_temp(
            "emf-registered",
            &event("sns", &dropped.deployment_id, "SUCCEEDED"),
        ))
        .env("LOG_FORMAT", "json")
        .output()
        .unwrap();
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    let registered: usize = outcome["registered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["instanceIds"].as_array().unwrap().len())
        .sum();
    assert_eq!(registered, 2, "{outcome}");
    assert_eq!(metrics_document(&output)["InstancesRegistered"], registered);

    // A person's terminal (no JSON logs) gets no metrics document.
    let output = moto.cli().arg("handle").arg(&path).output().unwrap();
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("\"_aws\""),
        "no document without JSON logs"
    );
}

/// `scheduled` with the audit function's `DEPLOYMENT_GROUP_PATTERN`.
fn scheduled_in(moto: &Moto, pattern: &str) -> Output {
    let path = write_temp("scheduled-pattern", &event("scheduled", "", ""));
    moto.cli()
        .arg("handle")
        .arg(&path)
        .env("LOG_FORMAT", "json")
        .env("DEPLOYMENT_GROUP_PATTERN", pattern)
        .output()
        .expect("run handle")
}

/// The group's row of a scheduled run that succeeded: `skipped`, its reason containing `why`.
fn assert_skipped(output: &Output, group: &str, why: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let r = row(&report, group);
    assert_eq!(r["status"], "skipped", "{r}");
    assert!(r["reason"].as_str().unwrap().contains(why), "{r}");
}

/// A world whose GetDeployment is denied, as to a role limited by DeploymentGroupPattern.
fn denied_world(moto: &Moto, name: &str) -> crate::support::World {
    let world = moto.world(json!({"name": name, "status": "Succeeded"}));
    moto.fault_with(
        "GetDeployment",
        "access-denied",
        100,
        &[&world.deployment_id],
        json!({}),
    );
    world
}

#[test]
fn a_denied_deployment_that_the_pattern_may_leave_out_is_skipped_not_an_error() {
    let moto = Moto::start();
    let world = denied_world(&moto, "sd");
    // `shop/*`: every deployment group of the application `shop`; this group's application is
    // not in its name, so the denial may be the pattern's doing.
    let output = scheduled_in(&moto, "shop/*");
    assert_skipped(
        &output,
        &world.replacement_group,
        "outside DeploymentGroupPattern (shop/*)",
    );
    assert_eq!(metrics_document(&output)["GroupsError"], 0);
    // An operator's audit keeps it an error.
    let (code, report) = crate::support::audit(&moto, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(row(&report, &world.replacement_group)["status"], "error");
}

#[test]
fn a_denied_read_after_the_deployment_answered_is_an_error_even_where_the_pattern_may_leave_it_out()
{
    let moto = Moto::start();
    // GetDeployment answered (the role may read this deployment group); its fleet read is denied:
    // a fault to show, not the pattern's doing.
    let world = moto.world(json!({"name": "sf", "status": "Succeeded"}));
    moto.fault_with(
        "GetDeploymentGroup",
        "access-denied",
        100,
        &[&world.deployment_group_name],
        json!({}),
    );
    let output = scheduled_in(&moto, "shop/*");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let r = row(&report, &world.replacement_group);
    assert_eq!(r["status"], "error", "{r}");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("codedeploy:GetDeploymentGroup"),
        "{r}"
    );
}

#[test]
fn a_denied_deployment_inside_the_pattern_is_an_error_the_alarm_hears_of() {
    let moto = Moto::start();
    let world = denied_world(&moto, "si");
    // The template's default, `*`: the role may read every deployment group, so a denial is a
    // lost statement or a service control policy, not the scope. Unset means the same.
    for (pattern, output) in [
        ("*", scheduled_in(&moto, "*")),
        ("*/si_*", scheduled_in(&moto, "*/si_*")),
        ("*", scheduled(&moto, None)),
    ] {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let r = row(&report, &world.replacement_group);
        assert_eq!(r["status"], "error", "{r}");
        let reason = r["reason"].as_str().unwrap();
        assert!(reason.contains("AccessDenied"), "{r}");
        assert!(
            reason.contains(&format!(
                "DeploymentGroupPattern ({pattern}) includes deployment group si_dg"
            )),
            "{r}"
        );
        assert_eq!(metrics_document(&output)["GroupsError"], 1);
    }
}

#[test]
fn a_group_outside_the_pattern_is_skipped_without_reading_its_deployment() {
    let moto = Moto::start();
    let world = moto.world(json!({"name": "so", "status": "Succeeded"}));
    moto.clear_requests();
    assert_skipped(
        &scheduled_in(&moto, "*/billing-*"),
        &world.replacement_group,
        "so_dg is outside DeploymentGroupPattern (*/billing-*)",
    );
    let reads: Vec<Value> = moto
        .requests()
        .into_iter()
        .filter(|r| {
            r["body"]
                .as_str()
                .unwrap_or_default()
                .contains(&world.deployment_id)
        })
        .collect();
    assert!(reads.is_empty(), "no call about its deployment: {reads:?}");
    // Inside the pattern, the same group is checked (and, missing its sources, reported so).
    let output = scheduled_in(&moto, "*/so_*");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(row(&report, &world.replacement_group)["status"], "missing");
}
