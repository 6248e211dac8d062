//! The hook end to end against moto: each event shape, each skip and failure, what the groups end with.

use std::time::Duration;

use crate::support::{event, handle_event, moto, World};
use codedeploy_tg_hook::report::{Outcome, OutcomeKind};
use serde_json::{json, Value};
use tokio::time::Instant;

fn settings() -> codedeploy_tg_hook::run::Settings {
    crate::support::settings(Duration::from_secs(5))
}

async fn handle(payload: Value) -> Vec<Outcome> {
    let clients = moto().clients().await;
    handle_event(
        &clients,
        payload,
        Instant::now() + Duration::from_secs(60),
        &settings(),
    )
    .await
    .expect("valid event")
}

async fn handle_one(payload: Value) -> Outcome {
    let mut outcomes = handle(payload).await;
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0)
}

async fn sources(group: &str) -> (Vec<String>, Vec<String>) {
    moto().sources(group).await
}

/// The AttachTrafficSources requests that named the world's replacement group, in order.
fn attach_calls(world: &World) -> Vec<Value> {
    moto().calls_naming("AttachTrafficSources", &world.replacement_group)
}

async fn assert_untouched(world: &World) {
    assert_eq!(sources(&world.replacement_group).await, (vec![], vec![]));
    assert_eq!(sources(&world.unrelated_group).await, (vec![], vec![]));
}

#[tokio::test]
async fn lifecycle_hook_attaches_every_target_group_and_classic_load_balancer_and_reports_succeeded(
) {
    let world =
        moto().world(json!({"name": "hk-full", "targetGroups": 2, "classicLoadBalancers": 1}));
    let outcome = handle_one(event("lifecycle-hook", &world.deployment_id, "")).await;

    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
    assert_eq!(
        outcome.auto_scaling_groups,
        vec![world.replacement_group.clone()]
    );
    let mut attached = outcome.attached.target_group_arns.clone();
    attached.sort();
    assert_eq!(attached, world.all_target_groups_sorted());
    assert_eq!(outcome.attached.load_balancer_names, world.load_balancers);
    assert_eq!(outcome.hook_status, Some("Succeeded"));
    moto().assert_fully_attached(&world).await;
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Succeeded"]);
    // Never touches a group that is not the deployment's replacement: no attach call names the
    // original or the unrelated group (comparing their lists could not tell, since attaching
    // what a group already has changes nothing).
    let attach_bodies: Vec<String> = moto()
        .requests()
        .iter()
        .filter(|r| r["action"].as_str().unwrap_or("").starts_with("Attach"))
        .map(|r| r["body"].as_str().unwrap_or("").to_owned())
        .collect();
    let names = |group: &str| {
        let field = format!("AutoScalingGroupName={group}&");
        attach_bodies
            .iter()
            .any(|b| format!("{b}&").contains(&field))
    };
    assert!(
        names(&world.replacement_group),
        "the request log shows the attach calls"
    );
    for other in [&world.original_group, &world.unrelated_group] {
        assert!(!names(other), "an attach call named {other}");
    }
    // And nothing ever removes: no detach, deregister, update or delete call about this world
    // (the shared launcher serves other tests too, which build and tear down worlds of theirs).
    let removing: Vec<String> = moto()
        .requests()
        .iter()
        .filter(|r| r["body"].as_str().unwrap_or_default().contains("hk-full"))
        .filter_map(|r| r["action"].as_str().map(str::to_owned))
        .filter(|a| {
            ["Detach", "Deregister", "Update", "Delete", "Set"]
                .iter()
                .any(|p| a.starts_with(p))
        })
        .collect();
    assert!(removing.is_empty(), "{removing:?}");
}

#[tokio::test]
async fn partial_attachment_adds_only_what_is_missing_and_detaches_nothing() {
    let world = moto().world(
        json!({"name": "hk-part", "targetGroups": 3, "classicLoadBalancers": 2,
        "attachedTargetGroups": 1, "attachedLoadBalancers": 1}),
    );
    let outcome = handle_one(event("direct", &world.deployment_id, "")).await;

    assert_eq!(outcome.outcome, OutcomeKind::Attached);
    assert_eq!(
        outcome.attached.target_group_arns,
        world.target_group_arns[1..].to_vec()
    );
    assert_eq!(
        outcome.attached.load_balancer_names,
        world.load_balancers[1..].to_vec()
    );
    assert_eq!(outcome.hook_status, None);
    moto().assert_fully_attached(&world).await;
}

#[tokio::test]
async fn more_than_ten_sources_go_on_in_calls_of_ten_one_after_the_other() {
    let world =
        moto().world(json!({"name": "hk-many", "targetGroups": 8, "classicLoadBalancers": 4}));
    // Both attach calls at one barrier: made together, they would meet it; made one after the
    // other, the first is held until the gate gives up (4 s) and the round is not met.
    let gate = format!("{}-attaches", world.replacement_group);
    moto().barrier_matching(
        &gate,
        2,
        "AttachTrafficSources",
        2,
        &[&world.replacement_group],
    );
    let outcome = handle_one(event("lifecycle-hook", &world.deployment_id, "")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
    assert_eq!(outcome.attached.target_group_arns.len(), 8);
    assert_eq!(outcome.attached.load_balancer_names, world.load_balancers);
    moto().assert_fully_attached(&world).await;
    let attaches = attach_calls(&world);
    // What each call carried: its members' types, in order.
    let types: Vec<Vec<String>> = attaches
        .iter()
        .map(|r| {
            let body = r["body"].as_str().unwrap();
            assert!(
                body.contains("SkipZonalShiftValidation=true"),
                "the legacy calls' behaviour, no zonal-shift check: {body}"
            );
            let mut members: Vec<(usize, String)> = body
                .split('&')
                .filter_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    let n = key
                        .strip_prefix("TrafficSources.member.")?
                        .strip_suffix(".Type")?;
                    Some((n.parse().ok()?, value.to_owned()))
                })
                .collect();
            members.sort();
            members.into_iter().map(|(_, kind)| kind).collect()
        })
        .collect();
    let elbv2 = |n: usize| vec!["elbv2".to_owned(); n];
    let elb = |n: usize| vec!["elb".to_owned(); n];
    assert_eq!(
        types,
        vec![[elbv2(8), elb(2)].concat(), elb(2)],
        "10 sources, target groups first, then the other 2"
    );
    // One update of the group at a time (Auto Scaling answers ResourceContention otherwise).
    let met = moto()
        .barriers_met()
        .into_iter()
        .find(|(g, _)| *g == gate)
        .map(|(_, met)| met);
    assert_eq!(
        met,
        Some(false),
        "the two attach calls were in flight together"
    );
    let (first_end, second_start) = (
        attaches[0]["end"]
            .as_f64()
            .expect("the first attach answered"),
        attaches[1]["start"]
            .as_f64()
            .expect("the second attach arrived"),
    );
    assert!(second_start >= first_end, "one after the other");
}

#[tokio::test]
async fn second_run_finds_everything_attached_and_changes_nothing() {
    let world = moto().world(json!({"name": "hk-rerun"}));
    assert_eq!(
        handle_one(event("direct", &world.deployment_id, ""))
            .await
            .outcome,
        OutcomeKind::Attached
    );
    let again = handle_one(event("direct", &world.deployment_id, "")).await;
    assert_eq!(again.outcome, OutcomeKind::AlreadyAttached);
    assert!(
        again.attached.target_group_arns.is_empty()
            && again.attached.load_balancer_names.is_empty()
    );
    moto().assert_fully_attached(&world).await;
}

#[tokio::test]
async fn retried_hook_invocation_is_not_a_failure() {
    let world = moto().world(json!({"name": "hk-retry"}));
    let first = handle_one(event("lifecycle-hook", &world.deployment_id, "")).await;
    let second = handle_one(event("lifecycle-hook", &world.deployment_id, "")).await;
    assert_eq!(first.hook_status, Some("Succeeded"));
    assert_eq!(second.outcome, OutcomeKind::AlreadyAttached, "{second:?}");
    assert_eq!(
        second.hook_status,
        Some("AlreadyCompleted"),
        "the second status was not recorded, so it is not claimed"
    );
    assert!(!second.is_function_error());
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Succeeded"]);
}

#[tokio::test]
async fn unknown_deployment_fails_and_names_it() {
    let outcome = handle_one(json!({"DeploymentId": "d-NOSUCH999"})).await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert_eq!(
        outcome.error_code.as_deref(),
        Some("DeploymentDoesNotExistException")
    );
    assert!(
        outcome.reason.as_deref().unwrap().contains("d-NOSUCH999"),
        "{outcome:?}"
    );
    assert!(outcome.is_function_error());
}

#[tokio::test]
async fn hook_for_unknown_deployment_says_codedeploy_refused_the_status() {
    let outcome =
        handle_one(json!({"DeploymentId": "d-GONE12345", "LifecycleEventHookExecutionId": "x"}))
            .await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert_eq!(outcome.hook_status, None);
    let reason = outcome.reason.unwrap();
    assert!(
        reason.contains(
            "CodeDeploy refused the Failed status: deployment d-GONE12345 does not exist"
        ),
        "{reason}"
    );
}

#[tokio::test]
async fn missing_target_group_fails_naming_it_and_reports_failed() {
    let world =
        moto().world(json!({"name": "hk-ghost", "extraTargetGroupNames": ["hk-ghost-gone"]}));
    let outcome = handle_one(event("lifecycle-hook", &world.deployment_id, "")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    let reason = outcome.reason.unwrap();
    assert!(reason.contains("not found: hk-ghost-gone"), "{reason}");
    assert!(
        !reason.contains("hk-ghost-tg0"),
        "only the missing name is named: {reason}"
    );
    assert_eq!(
        outcome.auto_scaling_groups,
        vec![world.replacement_group.clone()]
    );
    assert_eq!(outcome.hook_status, Some("Failed"));
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
    assert_untouched(&world).await;
}

#[tokio::test]
async fn unknown_classic_load_balancer_fails_naming_it() {
    let world =
        moto().world(json!({"name": "hk-badclb", "extraLoadBalancerNames": ["hk-badclb-gone"]}));
    let outcome = handle_one(event("lifecycle-hook", &world.deployment_id, "")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert_eq!(outcome.error_code.as_deref(), Some("ValidationError"));
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .contains("hk-badclb-gone"),
        "{outcome:?}"
    );
    // Auto Scaling refused the call that carried every source; each then went on alone, so the
    // refused name keeps none of the others off the group, and only it is named.
    let reason = outcome.reason.clone().unwrap();
    for other in world.target_group_arns.iter().chain(&world.load_balancers) {
        assert!(
            !reason.contains(other.as_str()),
            "only the refused source: {reason}"
        );
    }
    assert_eq!(outcome.attached.target_group_arns, world.target_group_arns);
    assert_eq!(outcome.attached.load_balancer_names, world.load_balancers);
    moto().assert_fully_attached(&world).await;
    // The refused call, then one call per source: 2 target groups and 2 classic load balancers.
    assert_eq!(attach_calls(&world).len(), 5);
    assert_eq!(sources(&world.unrelated_group).await, (vec![], vec![]));
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
}

#[tokio::test]
async fn missing_replacement_group_fails_naming_it() {
    let world = moto().world(json!({"name": "hk-nogrp", "createReplacement": false}));
    // CodeDeploy lists a rerouted replacement instance, but its group is gone.
    moto().set_targets(
        &world.deployment_id,
        json!([{"targetId": "i-0gone", "instanceLabel": "Green",
                "events": {"BeforeAllowTraffic": "Succeeded", "AllowTraffic": "Succeeded"}}]),
        100,
    );
    let outcome = handle_one(event("lifecycle-hook", &world.deployment_id, "")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .contains(&world.replacement_group),
        "{outcome:?}"
    );
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
}

#[tokio::test]
async fn replacement_named_in_target_instances_is_the_one_repaired() {
    let world = moto().world(json!({"name": "hk-named", "replacementInTargetInstances": true}));
    assert_eq!(world.replacement_group, "hk-named-green");
    let outcome = handle_one(event("direct", &world.deployment_id, "")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached);
    assert_eq!(
        outcome.auto_scaling_groups,
        vec!["hk-named-green".to_owned()]
    );
    moto().assert_fully_attached(&world).await;
}

#[tokio::test]
async fn skips_in_place_discover_existing_and_no_load_balancer_deployments_with_success() {
    let cases = [
        (
            "hk-inplace",
            json!({"deploymentType": "IN_PLACE", "deploymentOption": "WITH_TRAFFIC_CONTROL"}),
            "IN_PLACE",
        ),
        (
            "hk-discover",
            json!({"greenFleet": "DISCOVER_EXISTING"}),
            "DISCOVER_EXISTING",
        ),
        (
            "hk-nolb",
            json!({"loadBalancerInfo": false}),
            "no target group",
        ),
    ];
    for (name, extra, expect) in cases {
        let mut spec = json!({ "name": name });
        spec.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let world = moto().world(spec);
        let outcome = handle_one(event("lifecycle-hook", &world.deployment_id, "")).await;
        assert_eq!(outcome.outcome, OutcomeKind::Skipped, "{name}: {outcome:?}");
        assert!(
            outcome.reason.as_deref().unwrap().contains(expect),
            "{name}: {outcome:?}"
        );
        assert_eq!(
            moto().hook_reports(&world.deployment_id),
            vec!["Succeeded"],
            "{name}"
        );
        assert_untouched(&world).await;
    }
}

#[tokio::test]
async fn deployment_still_ready_is_skipped_before_the_reroute() {
    let world = moto().world(json!({"name": "hk-ready", "status": "Ready"}));
    let outcome = handle_one(event("direct", &world.deployment_id, "")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Skipped);
    assert!(outcome
        .reason
        .as_deref()
        .unwrap()
        .contains("traffic has not been rerouted"));
    assert_untouched(&world).await;
}

#[tokio::test]
async fn sns_succeeded_trigger_repairs_the_group() {
    let world = moto().world(json!({"name": "hk-sns", "status": "Succeeded"}));
    let outcome = handle_one(event("sns", &world.deployment_id, "SUCCEEDED")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
    moto().assert_fully_attached(&world).await;
}

#[tokio::test]
async fn eventbridge_success_repairs_the_group() {
    let world = moto().world(json!({"name": "hk-eb", "status": "Succeeded"}));
    let outcome = handle_one(event("eventbridge", &world.deployment_id, "SUCCESS")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
    moto().assert_fully_attached(&world).await;
}

#[tokio::test]
async fn ready_and_instance_notifications_are_ignored_for_both_shapes_and_leave_the_group_untouched(
) {
    let world = moto().world(json!({"name": "hk-ign", "status": "Ready"}));
    let id = &world.deployment_id;
    for (shape, status) in [
        ("sns", "READY"),
        ("sns", "CREATED"),
        ("sns", "FAILED"),
        ("sns-instance", "Succeeded"),
        ("eventbridge", "READY"),
        ("eventbridge", "START"),
        ("eventbridge", "FAILURE"),
        ("eventbridge-instance", "SUCCESS"),
    ] {
        let outcome = handle_one(event(shape, id, status)).await;
        assert_eq!(outcome.outcome, OutcomeKind::Ignored, "{shape} {status}");
        assert_eq!(outcome.deployment_id.as_deref(), Some(id.as_str()));
        if status == "READY" {
            assert!(outcome
                .reason
                .as_deref()
                .unwrap()
                .contains("traffic has not been rerouted"));
        }
    }
    assert_untouched(&world).await;
}

#[tokio::test]
async fn several_sns_records_are_each_handled_and_any_failure_fails() {
    let good = moto().world(json!({"name": "hk-multi", "status": "Succeeded"}));
    let mut payload = event("sns", &good.deployment_id, "SUCCEEDED");
    let bad = event("sns", "d-MISSING01", "SUCCEEDED");
    let second = bad["Records"][0].clone();
    payload["Records"].as_array_mut().unwrap().push(second);
    let outcomes = handle(payload).await;
    assert_eq!(outcomes.len(), 2);
    assert_eq!(outcomes[0].outcome, OutcomeKind::Attached);
    assert_eq!(outcomes[1].outcome, OutcomeKind::Failed);
    moto().assert_fully_attached(&good).await;
}

#[tokio::test]
async fn malformed_events_are_rejected_before_any_aws_call() {
    let own = crate::support::Moto::start();
    let clients = own.clients().await;
    for bad in [
        json!({"DeploymentId": ""}),
        json!({"hello": "world"}),
        json!([1, 2]),
        json!({"Records": []}),
    ] {
        let err = handle_event(
            &clients,
            bad.clone(),
            Instant::now() + Duration::from_secs(5),
            &settings(),
        )
        .await;
        assert!(err.is_err(), "{bad} should be rejected");
    }
    assert_eq!(
        own.requests(),
        Vec::<Value>::new(),
        "no AWS call for a malformed event"
    );
}

#[tokio::test]
async fn traffic_sources_attached_through_the_traffic_source_api_count_as_attached() {
    let world =
        moto().world(json!({"name": "hk-tsrc", "targetGroups": 2, "classicLoadBalancers": 1}));
    moto().harness(
        "traffic-sources",
        json!({"group": world.replacement_group, "identifiers": [world.target_group_arns[0]]}),
    );
    let outcome = handle_one(event("lifecycle-hook", &world.deployment_id, "")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
    assert_eq!(
        outcome.attached.target_group_arns,
        vec![world.target_group_arns[1].clone()]
    );
    assert_eq!(outcome.attached.load_balancer_names, world.load_balancers);
    assert_eq!(outcome.hook_status, Some("Succeeded"));
    // One attach call, and it leaves out the target group the group already had.
    let attaches: Vec<String> = attach_calls(&world)
        .iter()
        .map(|r| r["body"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(attaches.len(), 1, "{attaches:?}");
    let id_of = |arn: &str| arn.rsplit('/').next().unwrap().to_owned();
    assert!(
        !attaches[0].contains(&id_of(&world.target_group_arns[0])),
        "{attaches:?}"
    );
    assert!(
        attaches[0].contains(&id_of(&world.target_group_arns[1])),
        "{attaches:?}"
    );
    moto().assert_fully_attached(&world).await;
}

#[tokio::test]
async fn lifecycle_hook_mid_reroute_reports_succeeded_waiting_and_attaches_nothing() {
    let world = moto().world(json!({"name": "hk-wait", "instances": 2, "reroute": "pending"}));
    let outcome = handle_one(event("lifecycle-hook", &world.deployment_id, "")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Waiting, "{outcome:?}");
    assert_eq!(outcome.hook_status, Some("Succeeded"));
    assert_eq!(
        outcome.auto_scaling_groups,
        vec![world.replacement_group.clone()]
    );
    assert!(outcome.attached.target_group_arns.is_empty());
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .contains("2 of 2 replacement instances are still to be rerouted"),
        "{outcome:?}"
    );
    assert!(!outcome.is_function_error());
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Succeeded"]);
    assert_untouched(&world).await;
}

#[tokio::test]
async fn in_progress_deployment_that_lists_no_replacement_instance_has_not_begun_its_reroute() {
    let world = moto().world(json!({"name": "hk-nogreen", "reroute": "none"}));
    let outcome = handle_one(event("direct", &world.deployment_id, "")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Waiting, "{outcome:?}");
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .contains("the reroute has not begun"),
        "{outcome:?}"
    );
    assert_untouched(&world).await;
}

#[tokio::test]
async fn replacement_instances_are_read_over_every_page_and_in_batches_of_25() {
    let own = crate::support::Moto::start();
    let world = own.world(json!({"name": "hk-pages"}));
    let ids: Vec<String> = (0..30).map(|i| format!("i-{i:017x}")).collect();
    let rerouted = json!({"BeforeAllowTraffic": "Succeeded", "AllowTraffic": "Succeeded"});
    let mut targets: Vec<Value> = ids
        .iter()
        .map(|id| json!({"targetId": id, "instanceLabel": "Green", "events": rerouted}))
        .collect();
    targets.push(json!({"targetId": "i-blue", "instanceLabel": "Blue"}));
    own.set_targets(&world.deployment_id, Value::Array(targets), 7);
    own.lifecycle_event(
        &world.deployment_id,
        &ids[29..],
        "AllowTraffic",
        "InProgress",
    );
    let clients = own.clients().await;
    let run = |payload: Value| {
        let clients = clients.clone();
        async move {
            handle_event(
                &clients,
                payload,
                Instant::now() + Duration::from_secs(60),
                &settings(),
            )
            .await
            .unwrap()
            .remove(0)
        }
    };

    own.clear_requests();
    let outcome = run(event("direct", &world.deployment_id, "")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Waiting, "{outcome:?}");
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .contains("1 of 30 replacement instances"),
        "the Blue target is not counted, the last page is read: {outcome:?}"
    );
    let count = |action: &str| {
        own.requests()
            .iter()
            .filter(|r| r["action"] == action)
            .count()
    };
    assert_eq!(count("ListDeploymentTargets"), 5, "30 Green ids, 7 a page");
    assert!(
        own.requests()
            .iter()
            .filter(|r| r["action"] == "ListDeploymentTargets")
            .all(|r| r["body"]
                .as_str()
                .unwrap_or("")
                .contains("ServerInstanceLabel")),
        "the listing asks for Green targets only"
    );
    assert_eq!(count("BatchGetDeploymentTargets"), 2, "25 + 5 ids");

    own.lifecycle_event(
        &world.deployment_id,
        &ids[29..],
        "AllowTraffic",
        "Succeeded",
    );
    let outcome = run(event("direct", &world.deployment_id, "")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
}

/// A Succeeded deployment whose deployment group a later deployment moved to another group.
fn superseded(name: &str) -> World {
    let world = moto().world(json!({"name": name, "status": "Succeeded"}));
    moto().supersede(&world);
    world
}

fn assert_skipped_as_superseded(outcome: &Outcome) {
    assert_eq!(outcome.outcome, OutcomeKind::Skipped, "{outcome:?}");
    let reason = outcome.reason.as_deref().unwrap();
    assert!(
        reason.contains("superseded") && reason.contains("not live"),
        "{reason}"
    );
    assert!(!outcome.is_function_error());
}

#[tokio::test]
async fn superseded_group_is_never_attached_from_sns_eventbridge_or_a_direct_invocation() {
    for (shape, status) in [
        ("sns", "SUCCEEDED"),
        ("eventbridge", "SUCCESS"),
        ("direct", ""),
    ] {
        let world = superseded(&format!("hk-old-{shape}"));
        let outcome = handle_one(event(shape, &world.deployment_id, status)).await;
        assert_skipped_as_superseded(&outcome);
        assert_untouched(&world).await;
    }
}

#[tokio::test]
async fn succeeded_deployment_still_named_by_its_deployment_group_is_repaired() {
    for status in ["Succeeded", "Baking"] {
        let world = moto().world(json!({"name": format!("hk-live-{status}"), "status": status}));
        let outcome = handle_one(event("direct", &world.deployment_id, "")).await;
        assert_eq!(
            outcome.outcome,
            OutcomeKind::Attached,
            "{status}: {outcome:?}"
        );
        moto().assert_fully_attached(&world).await;
    }
}

#[tokio::test]
async fn a_later_deployment_under_way_keeps_a_success_notification_off_the_outgoing_fleet() {
    let world = moto().world(json!({"name": "hk-next", "status": "Succeeded"}));
    // The deployment group still names this group, but a later deployment is replacing it.
    let next = moto().later_deployment(&world, "InProgress").await;
    let outcome = handle_one(event("sns", &world.deployment_id, "SUCCEEDED")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Skipped, "{outcome:?}");
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .contains(&format!("a later deployment, {next}, is InProgress")),
        "{outcome:?}"
    );
    assert_untouched(&world).await;

    // Once that deployment failed (traffic stays here), the group is live again.
    moto().set_status(&next, "Failed");
    let outcome = handle_one(event("sns", &world.deployment_id, "SUCCEEDED")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
}

#[tokio::test]
async fn a_group_name_with_a_comma_stays_one_group_in_a_failure() {
    let world = moto().world(
        json!({"name": "hk-comma", "replacementInTargetInstances": true,
                                    "replacementName": "hk-comma,green"}),
    );
    assert_eq!(world.replacement_group, "hk-comma,green");
    moto().fault(
        "DescribeAutoScalingGroups",
        "access-denied",
        10,
        &["hk-comma%2Cgreen"],
    );
    let outcome = handle_one(event("direct", &world.deployment_id, "")).await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed, "{outcome:?}");
    assert_eq!(
        outcome.auto_scaling_groups,
        vec!["hk-comma,green".to_owned()]
    );
}
