//! What AWS does that the emulator does only when told: a read-back that lists an attachment
//! late, CodeDeploy's own follow-on deployments, and notifications of other teams' deployments.

use std::time::Duration;

use crate::support::{self, event, handle_event, moto, settings, write_temp, World};
use codedeploy_tg_hook::event::{Source, Trigger};
use codedeploy_tg_hook::report::{Outcome, OutcomeKind};
use codedeploy_tg_hook::run::execute;
use serde_json::{json, Value};
use tokio::time::Instant;

async fn run_hook(world: &World, confirm_window: Duration) -> Outcome {
    support::run_hook(moto(), world, Duration::from_secs(60), confirm_window).await
}

async fn notify(payload: Value) -> Outcome {
    let clients = moto().clients().await;
    let mut outcomes = handle_event(
        &clients,
        payload,
        Instant::now() + Duration::from_secs(60),
        &settings(Duration::from_secs(5)),
    )
    .await
    .expect("a valid event");
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0)
}

/// DescribeTrafficSources calls that named the world's replacement group.
fn read_backs(world: &World) -> usize {
    moto()
        .calls_naming("DescribeTrafficSources", &world.replacement_group)
        .len()
}

#[tokio::test]
async fn a_read_back_that_lists_the_attachments_late_but_inside_the_window_succeeds() {
    let world = moto().world(json!({"name": "ra-lag-short", "classicLoadBalancers": 1}));
    // Not listed for 1.5 s after the attach, then Adding for 1 s, then Added.
    moto().attach_lag(&world.replacement_group, 1.5, 1.0);
    let outcome = run_hook(&world, Duration::from_secs(15)).await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
    assert!(outcome.pending.is_empty(), "{outcome:?}");
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Succeeded"]);
    assert!(
        read_backs(&world) >= 3,
        "read again while unlisted, then while Adding: {}",
        read_backs(&world)
    );
    moto().assert_fully_attached(&world).await;
}

#[tokio::test]
async fn a_read_back_that_never_lists_them_inside_the_window_fails_naming_the_call_and_sources() {
    let world = moto().world(json!({"name": "ra-lag-long", "classicLoadBalancers": 1}));
    moto().attach_lag(&world.replacement_group, 60.0, 0.0);
    let started = std::time::Instant::now();
    let outcome = run_hook(&world, Duration::from_secs(2)).await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed, "{outcome:?}");
    let reason = outcome.reason.clone().unwrap();
    assert!(reason.contains("DescribeTrafficSources"), "{reason}");
    for source in world.target_group_arns.iter().chain(&world.load_balancers) {
        assert!(reason.contains(source.as_str()), "{source}: {reason}");
    }
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "it waited for the window: {:?}",
        started.elapsed()
    );
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
    assert!(read_backs(&world) >= 3, "{}", read_backs(&world));
}

/// Nothing confirms an attach no read answered: the window closes on a read that never came
/// back, and the run fails naming the call, its attempts and last error, and what was attached.
#[tokio::test]
async fn an_attach_no_read_back_answered_fails_naming_the_call_and_the_unconfirmed_sources() {
    let world = moto().world(json!({"name": "ra-unread", "classicLoadBalancers": 1}));
    moto().fault_with(
        "DescribeTrafficSources",
        "hang",
        100,
        &[&world.replacement_group],
        json!({"seconds": 30}),
    );
    let clients = moto().clients().await;
    let trigger = Trigger {
        deployment_id: world.deployment_id.clone(),
        source: Source::LifecycleHook,
        hook_execution_id: Some("exec-1".into()),
        deployment_group: None,
    };
    let outcome = execute(
        &clients,
        &trigger,
        Instant::now() + Duration::from_secs(10),
        &settings(Duration::from_secs(2)),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed, "{outcome:?}");
    let reason = outcome.reason.clone().unwrap();
    assert!(
        reason.contains("no read-back succeeded in time (autoscaling:DescribeTrafficSources (")
            && reason.contains("the attachment is not confirmed")
            && !reason.contains("Adding"),
        "{reason}"
    );
    for source in world.target_group_arns.iter().chain(&world.load_balancers) {
        assert!(reason.contains(source.as_str()), "{source}: {reason}");
    }
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
}

/// Once a read listed every source, a later read that fails leaves them pending (a success), and
/// the reason says which read failed and how, not only "still Adding".
#[tokio::test]
async fn a_read_back_that_fails_after_one_listed_the_sources_says_which_read_failed_and_how() {
    for (name, kind, how) in [
        ("ra-later500", "bare-500", "HTTP 500"),
        ("ra-laterhang", "hang", "the first under way"),
    ] {
        let world = moto().world(json!({"name": name, "classicLoadBalancers": 1}));
        // Adding for a minute: the first read lists them all, Adding.
        moto().attach_lag(&world.replacement_group, 0.0, 60.0);
        moto().fault_with(
            "DescribeTrafficSources",
            kind,
            100,
            &[&world.replacement_group],
            json!({"skip": 1, "seconds": 30}),
        );
        let outcome = run_hook(&world, Duration::from_secs(3)).await;
        assert_eq!(
            outcome.outcome,
            OutcomeKind::Attached,
            "{kind}: {outcome:?}"
        );
        let reason = outcome.reason.clone().unwrap();
        assert!(
            reason.starts_with("attached; Adding at the last read-back that answered: ")
                && reason.contains("a later read, autoscaling:DescribeTrafficSources (")
                && reason.contains("did not succeed before the confirm window closed")
                && reason.contains(how)
                && !reason.contains("still Adding when the confirm window closed"),
            "{kind}: {reason}"
        );
        let mut pending = outcome.pending.clone();
        pending.sort();
        let mut expected: Vec<String> = world
            .target_group_arns
            .iter()
            .chain(&world.load_balancers)
            .cloned()
            .collect();
        expected.sort();
        assert_eq!(pending, expected, "{kind}");
        assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Succeeded"]);
    }
}

#[tokio::test]
async fn an_auto_scaling_follow_on_deployment_does_not_take_the_live_fleet_out_of_play() {
    let world = moto().world(json!({"name": "ra-follow", "status": "Succeeded"}));
    // A scale-out of the live group: CodeDeploy deploys to the new instances itself, and that
    // deployment is the deployment group's lastAttemptedDeployment.
    let follow_on = moto().later_deployment(&world, "InProgress").await;
    moto().set_creator(&follow_on, "autoscaling");
    let outcome = notify(event("sns", &world.deployment_id, "SUCCEEDED")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
    moto().assert_fully_attached(&world).await;

    // Its own success notification is not a blue/green deployment's: skipped.
    moto().set_status(&follow_on, "Succeeded");
    let outcome = notify(event("eventbridge", &follow_on, "SUCCESS")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Skipped, "{outcome:?}");
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .contains("created by autoscaling"),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_later_deployment_by_a_user_or_a_rollback_still_takes_the_fleet_out_of_play() {
    for (name, creator) in [("ra-user", "user"), ("ra-rollback", "codeDeployRollback")] {
        let world = moto().world(json!({"name": name, "status": "Succeeded"}));
        let later = moto().later_deployment(&world, "InProgress").await;
        moto().set_creator(&later, creator);
        let outcome = notify(event("sns", &world.deployment_id, "SUCCEEDED")).await;
        assert_skipped_for(&outcome, &later, &world).await;
    }
}

#[test]
fn a_notification_outside_the_deployment_group_pattern_is_ignored_without_a_call() {
    let world = moto().world(json!({"name": "ra-scope", "status": "Succeeded"}));
    // The sample events name application web, deployment group web-dg.
    let before = moto().requests().len();
    for shape in ["sns", "eventbridge"] {
        let status = if shape == "sns" {
            "SUCCEEDED"
        } else {
            "SUCCESS"
        };
        let file = write_temp(
            &format!("ra-scope-{shape}"),
            &event(shape, &world.deployment_id, status),
        );
        let output = moto()
            .cli()
            .env("DEPLOYMENT_GROUP_PATTERN", "shop/*")
            .arg("handle")
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(outcome["outcome"], "ignored", "{outcome}");
        assert!(
            outcome["reason"]
                .as_str()
                .unwrap()
                .contains("web/web-dg is outside DeploymentGroupPattern (shop/*)"),
            "{outcome}"
        );
        let asked: Vec<Value> = moto().requests()[before..]
            .iter()
            .filter(|r| {
                r["body"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(&world.deployment_id)
            })
            .cloned()
            .collect();
        assert!(
            asked.is_empty(),
            "{shape}: no AWS call about an out-of-scope deployment: {asked:?}"
        );
    }
    // Inside the pattern, the same notification repairs the group.
    let file = write_temp(
        "ra-scope-in",
        &event("sns", &world.deployment_id, "SUCCEEDED"),
    );
    let output = moto()
        .cli()
        .env("DEPLOYMENT_GROUP_PATTERN", "web/*")
        .arg("handle")
        .arg(&file)
        .output()
        .unwrap();
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(outcome["outcome"], "attached", "{outcome}");
}

#[tokio::test]
async fn a_follow_on_newer_than_a_deployment_still_replacing_the_fleet_does_not_hide_it() {
    // A user's blue/green deployment is under way, replacing the fleet; then a scale-out of the
    // live group makes CodeDeploy start its own deployment, which is now the newest, under way
    // or already done.
    for (name, follow_on_status) in [("ra-hid-a", "InProgress"), ("ra-hid-b", "Succeeded")] {
        let world = moto().world(json!({"name": name, "status": "Succeeded"}));
        let replacing = moto().later_deployment(&world, "InProgress").await;
        let follow_on = moto().later_deployment(&world, follow_on_status).await;
        moto().set_creator(&follow_on, "autoscaling");
        let outcome = notify(event("sns", &world.deployment_id, "SUCCEEDED")).await;
        assert_skipped_for(&outcome, &replacing, &world).await;
    }
}

/// Skipped because `later` is replacing the fleet, and the world's group left untouched.
async fn assert_skipped_for(outcome: &Outcome, later: &str, world: &World) {
    assert_eq!(outcome.outcome, OutcomeKind::Skipped, "{outcome:?}");
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains(&format!("a later deployment, {later}, is InProgress")),
        "{outcome:?}"
    );
    let clients = moto().clients().await;
    let (tgs, lbs) = moto()
        .group_sources(&clients, &world.replacement_group)
        .await;
    assert!(
        tgs.is_empty() && lbs.is_empty(),
        "untouched: {tgs:?} {lbs:?}"
    );
}
