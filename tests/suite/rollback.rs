//! A rollback is never ours to repair: CodeDeploy rolls a blue/green deployment back with a new
//! deployment (creator `codeDeployRollback`) whose `AfterAllowTraffic` runs the last good
//! revision's script on the original instances. Every caller skips it, whether or not it names
//! the failed deployment's replacement group, and nothing is attached or registered.

use std::time::Duration;

use crate::support::{self, audit, block_on, event, handle_event, moto, row, Moto, World};
use codedeploy_tg_hook::event::{Source, Trigger};
use codedeploy_tg_hook::report::OutcomeKind;
use codedeploy_tg_hook::run::{execute, Settings};
use serde_json::{json, Value};
use tokio::time::Instant;

fn settings() -> Settings {
    support::settings(Duration::from_secs(5))
}

/// The requests since `from` that would change a group or a load balancer of the world
/// (attach or register), by their bodies naming it.
fn changes(moto: &Moto, world: &World, from: usize) -> Vec<Value> {
    moto.requests()[from..]
        .iter()
        .filter(|r| {
            let action = r["action"].as_str().unwrap_or_default();
            (action.starts_with("Attach") || action.starts_with("Register"))
                && r["body"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(world.application_name.trim_end_matches("-app"))
        })
        .cloned()
        .collect()
}

/// Nothing of the world has a traffic source it did not start with.
async fn assert_untouched(moto: &Moto, world: &World) {
    let clients = moto.clients().await;
    assert_eq!(
        moto.group_sources(&clients, &world.replacement_group).await,
        (vec![], vec![]),
        "the failed deployment's replacement group"
    );
}

fn skipped_for_rollback(reason: &str, world: &World) -> bool {
    reason.starts_with("a rollback (created by codeDeployRollback, rolling back ")
        && reason.contains(&world.deployment_id)
}

#[test]
fn a_rollbacks_hook_script_skips_and_exits_0_whether_or_not_it_names_the_failed_group() {
    for (name, names_failed_group) in [("rb-named", true), ("rb-bare", false)] {
        let world = moto().world(json!({"name": name, "instances": 2}));
        let rollback = block_on(moto().rollback(&world, names_failed_group));
        let from = moto().requests().len();
        let output = moto().hook_script(&rollback).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(0), "{name}: {stdout}");
        let last = stdout.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("codedeploy-tg-hook OK: skipped: a rollback (created by codeDeployRollback, rolling back ")
                && last.contains(&world.deployment_id),
            "{name}: {last}"
        );
        assert_eq!(changes(moto(), &world, from), Vec::<Value>::new(), "{name}");
        block_on(assert_untouched(moto(), &world));
    }
}

#[tokio::test]
async fn a_rollbacks_lifecycle_hook_reports_succeeded_and_its_notifications_are_skipped() {
    let world = moto().world(json!({"name": "rb-hook"}));
    let rollback = moto().rollback(&world, true).await;
    let from = moto().requests().len();
    let clients = moto().clients().await;
    let trigger = Trigger {
        deployment_id: rollback.clone(),
        source: Source::LifecycleHook,
        hook_execution_id: Some("exec-rollback".into()),
        deployment_group: None,
    };
    let outcome = execute(
        &clients,
        &trigger,
        Instant::now() + Duration::from_secs(60),
        &settings(),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Skipped, "{outcome:?}");
    assert!(
        skipped_for_rollback(outcome.reason.as_deref().unwrap(), &world),
        "{outcome:?}"
    );
    assert_eq!(moto().hook_reports(&rollback), vec!["Succeeded"]);

    // Its success, through SNS and EventBridge: skipped, no registration either.
    moto().set_status(&rollback, "Succeeded");
    for (shape, status) in [("sns", "SUCCEEDED"), ("eventbridge", "SUCCESS")] {
        let outcomes = handle_event(
            &clients,
            event(shape, &rollback, status),
            Instant::now() + Duration::from_secs(60),
            &settings(),
        )
        .await
        .expect("a valid event");
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].outcome, OutcomeKind::Skipped, "{shape}");
        assert!(
            skipped_for_rollback(outcomes[0].reason.as_deref().unwrap(), &world),
            "{shape}: {:?}",
            outcomes[0]
        );
    }
    assert_eq!(changes(moto(), &world, from), Vec::<Value>::new());
    assert_untouched(moto(), &world).await;
}

#[test]
fn attach_skips_a_rollback_and_exits_0() {
    let world = moto().world(json!({"name": "rb-attach"}));
    let rollback = block_on(moto().rollback(&world, false));
    let from = moto().requests().len();
    let output = moto()
        .cli()
        .args(["attach", "--deployment-id", &rollback])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(outcome["outcome"], "skipped", "{outcome}");
    assert!(
        skipped_for_rollback(outcome["reason"].as_str().unwrap(), &world),
        "{outcome}"
    );
    assert_eq!(changes(moto(), &world, from), Vec::<Value>::new());
}

/// The audit meets a rollback only through a group named after it: skipped, never repaired
/// (and the failed deployment's own group is skipped as a failed deployment's).
#[test]
fn the_audit_skips_a_group_named_after_a_rollback_and_fix_leaves_it_alone() {
    let moto = Moto::start();
    let world = moto.world(json!({"name": "rb-audit"}));
    let rollback = block_on(moto.rollback(&world, true));
    let named_after_rollback = format!("CodeDeploy_{}_{rollback}", world.deployment_group_name);
    moto.harness("group", json!({ "name": named_after_rollback }));

    for args in [&[][..], &["--fix"][..]] {
        let (code, report) = audit(&moto, args);
        assert_eq!(code, Some(0), "{args:?}: {report}");
        let rollback_row = row(&report, &named_after_rollback);
        assert_eq!(rollback_row["status"], "skipped", "{rollback_row}");
        assert!(
            skipped_for_rollback(rollback_row["reason"].as_str().unwrap(), &world),
            "{rollback_row}"
        );
        assert_eq!(
            row(&report, &world.replacement_group)["status"],
            "skipped",
            "{report}"
        );
    }
    let attaches = moto
        .requests()
        .iter()
        .filter(|r| {
            r["action"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Attach")
        })
        .count();
    assert_eq!(attaches, 0);
    block_on(assert_untouched(&moto, &world));
}
