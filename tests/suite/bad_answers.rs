//! Every call on the hook's path answered badly, one call at a time, in each way a proxy, an
//! outage or a partial read answers (the launcher's fault kinds): the hook ends within its
//! deadline, never panics, and either really attached everything (and `Succeeded` was reported)
//! or fails with a reason that names the call (and `Failed` was reported, unless the report call
//! itself was the broken one).

use std::time::Duration;

use crate::support::{moto, run_hook, World};
use codedeploy_tg_hook::report::{Outcome, OutcomeKind};
use serde_json::json;

/// The calls of a hook at the instance that completes the reroute, in the order it makes them.
const CALLS: [&str; 8] = [
    "GetDeployment",
    "ListDeploymentTargets",
    "BatchGetDeploymentTargets",
    "DescribeTargetGroups",
    "DescribeAutoScalingGroups",
    "AttachTrafficSources",
    "DescribeTrafficSources",
    "PutLifecycleEventHookExecutionStatus",
];

/// Every answer of the call is bad in this way (`late`: each answer comes after the attempt
/// timeout).
const BAD: [&str; 8] = [
    "html",
    "empty",
    "other-shape",
    "garbage",
    "truncated",
    "bare-500",
    "huge",
    "late",
];

const DEADLINE: Duration = Duration::from_secs(12);

async fn hook(world: &World) -> Outcome {
    run_hook(moto(), world, DEADLINE, Duration::from_secs(2)).await
}

/// What one run broke, if anything, as a sentence for the failure list.
async fn check(action: &str, kind: &str, world: &World) -> Option<String> {
    let started = std::time::Instant::now();
    let outcome = hook(world).await;
    let elapsed = started.elapsed();
    let reason = outcome.reason.clone().unwrap_or_default();
    let reports = moto().hook_reports(&world.deployment_id);
    // The fault fired: the call was made for this world (the launcher logs a call as it arrives).
    let asked = moto().requests().iter().any(|r| {
        r["action"] == action
            && [
                &world.deployment_id,
                &world.replacement_group,
                &world.target_group_names[0],
            ]
            .iter()
            .any(|m| r["body"].as_str().unwrap_or_default().contains(m.as_str()))
    });
    if !asked {
        return Some(format!(
            "{action} was never called for {}",
            world.deployment_id
        ));
    }
    let case =
        format!("{action} answered {kind} ({elapsed:.1?}): {outcome:?}, reports {reports:?}");
    // The exact moments are src/run/tests.rs's; here, a margin a loaded machine keeps (the
    // clients are built before the deadline starts, 64 runs share one launcher).
    if elapsed > DEADLINE + Duration::from_secs(5) {
        return Some(format!("past the deadline: {case}"));
    }
    if reason.contains("panic") {
        return Some(format!("panicked: {case}"));
    }
    if outcome.outcome == OutcomeKind::Failed {
        if !reason.contains(action) {
            return Some(format!("the reason does not name {action}: {case}"));
        }
        // The reason says what the call got (JSON and query protocols word some apart).
        let causes: &[&str] = match kind {
            "html" => &["an HTML page"],
            "empty" => &["an empty body"],
            "other-shape" => &["another shape", "HTTP 200 with no "],
            "garbage" => &["not JSON", "another shape"],
            "truncated" => &["half an answer", "could not read"],
            "bare-500" => &["HTTP 500 with an empty body"],
            "huge" => &["half an answer", "not JSON"],
            // A read that outlived its window: its attempts so far, or that the first is still
            // under way (the reason says which).
            "late" => &[
                "no answer within 5 s",
                "the first under way",
                "no answer yet",
            ],
            other => panic!("no cause for {other}"),
        };
        if !causes.iter().any(|c| reason.contains(c)) {
            return Some(format!("the reason says none of {causes:?}: {case}"));
        }
        let report_broken = action == "PutLifecycleEventHookExecutionStatus";
        if !report_broken && reports != ["Failed"] {
            return Some(format!("Failed was not reported: {case}"));
        }
        return None;
    }
    // A success: only if the group really has every source, and CodeDeploy was told so.
    let clients = moto().clients().await;
    let (tgs, lbs) = moto()
        .group_sources(&clients, &world.replacement_group)
        .await;
    if tgs != world.all_target_groups_sorted() || lbs != world.load_balancers {
        return Some(format!(
            "a success without every source ({tgs:?}, {lbs:?}): {case}"
        ));
    }
    if reports != ["Succeeded"] || outcome.hook_status != Some("Succeeded") {
        return Some(format!("a success CodeDeploy was not told of: {case}"));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_bad_answer_of_every_call_on_the_hooks_path_ends_in_time_naming_the_call() {
    let mut runs = Vec::new();
    for (i, action) in CALLS.iter().enumerate() {
        for (j, kind) in BAD.iter().enumerate() {
            let world =
                moto().world(json!({"name": format!("ba{i}{j}"), "classicLoadBalancers": 1}));
            // The call's body names one of these: the deployment, the group, a target group.
            let matching = [
                world.deployment_id.as_str(),
                world.replacement_group.as_str(),
                world.target_group_names[0].as_str(),
            ];
            match *kind {
                "late" => {
                    moto().fault_with(action, "hang", 10_000, &matching, json!({"seconds": 6}))
                }
                kind => moto().fault(action, kind, 10_000, &matching),
            }
            runs.push(async move { check(action, kind, &world).await });
        }
    }
    let failures: Vec<String> = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A deployment answered without its status (or its deployment group) is not AWS's answer: never
/// read as "a deployment of no status", which would skip, report `Succeeded` and attach nothing.
#[tokio::test]
async fn a_deployment_answered_without_its_status_fails_naming_the_call_not_a_silent_success() {
    let world = moto().world(json!({"name": "ba-nostatus"}));
    let partial = json!({"deploymentInfo": {
        "deploymentId": world.deployment_id,
        "applicationName": world.application_name,
        "deploymentGroupName": world.deployment_group_name,
    }});
    moto().fault_with(
        "GetDeployment",
        "answer",
        100,
        &[&world.deployment_id],
        json!({"body": partial}),
    );
    let outcome = hook(&world).await;
    let reason = outcome.reason.clone().unwrap_or_default();
    assert_eq!(outcome.outcome, OutcomeKind::Failed, "{outcome:?}");
    assert!(
        reason.contains("codedeploy:GetDeployment") && reason.contains("no deploymentInfo.status"),
        "{reason}"
    );
    assert_eq!(moto().hook_reports(&world.deployment_id), ["Failed"]);
}
