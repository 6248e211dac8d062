//! The hook's AWS calls, as moto recorded them: the critical path, the overlaps, no call twice.
//! Nothing here is judged by the clock: calls said to be made together are held at a launcher
//! barrier until the whole round has arrived (a round made one call after another never fills
//! it), and a call said to follow another starts after that one's answer left the server.

use std::time::Duration;

use crate::support::Moto;
use codedeploy_tg_hook::event::{Source, Trigger};
use codedeploy_tg_hook::report::OutcomeKind;
use codedeploy_tg_hook::run::{execute, Settings};
use serde_json::{json, Value};
use tokio::time::Instant;

struct Call {
    action: String,
    start: f64,
    end: f64,
    /// The client's end of the TCP connection the call went over.
    connection: String,
}

fn find<'a>(calls: &'a [Call], action: &str) -> &'a Call {
    let matching: Vec<&Call> = calls.iter().filter(|c| c.action == action).collect();
    assert_eq!(matching.len(), 1, "{action} must be made exactly once");
    matching[0]
}

fn overlap(a: &Call, b: &Call) -> bool {
    a.start < b.end && b.start < a.end
}

fn after(later: &Call, earlier: &Call) -> bool {
    later.start >= earlier.end
}

/// A round of calls said to be made together: its gate, and each action's count in it (in the
/// order the rounds come: a later round's calls of an action are the ones after the earlier's).
type Round<'a> = (&'a str, &'a [(&'a str, u32)]);

/// Runs one trigger for a fresh world of the given status, each round held at its barrier, and
/// returns the calls in the order made.
async fn calls_of(
    status: &str,
    source: Source,
    hook_execution_id: Option<&str>,
    rounds: &[Round<'_>],
) -> Vec<Call> {
    calls_in(
        json!({"name": "cg", "status": status, "targetGroups": 2, "classicLoadBalancers": 1}),
        source,
        hook_execution_id,
        OutcomeKind::Attached,
        rounds,
    )
    .await
}

/// `calls_of` for any world spec and expected outcome; every round's barrier must be met.
async fn calls_in(
    spec: Value,
    source: Source,
    hook_execution_id: Option<&str>,
    expected: OutcomeKind,
    rounds: &[Round<'_>],
) -> Vec<Call> {
    let moto = Moto::start();
    let world = moto.world(spec);
    for (gate, calls) in rounds {
        let size = calls.iter().map(|(_, n)| *n as usize).sum();
        for (action, count) in *calls {
            moto.barrier(gate, size, action, *count);
        }
    }
    moto.clear_requests();

    let clients = moto.clients().await;
    let trigger = Trigger {
        deployment_id: world.deployment_id.clone(),
        source,
        hook_execution_id: hook_execution_id.map(str::to_owned),
        deployment_group: None,
    };
    let settings = Settings {
        confirm_window: Duration::from_secs(5),
        poll_interval: Duration::from_millis(100),
        dry_run: false,
    };
    let outcome = execute(
        &clients,
        &trigger,
        Instant::now() + Duration::from_secs(60),
        &settings,
    )
    .await;
    assert_eq!(outcome.outcome, expected, "{outcome:?}");
    for (gate, met) in moto.barriers_met() {
        assert!(met, "the {gate} round's calls were not all made together");
    }
    assert_eq!(
        moto.barriers_met().len(),
        rounds.len(),
        "every round was held"
    );

    moto.requests()
        .iter()
        .map(|r: &Value| Call {
            action: r["action"].as_str().unwrap().to_owned(),
            start: r["start"].as_f64().unwrap(),
            // Not yet answered (a call still held): it has not ended.
            end: r["end"].as_f64().unwrap_or(f64::INFINITY),
            connection: r["connection"].as_str().unwrap().to_owned(),
        })
        .collect()
}

fn actions(calls: &[Call]) -> Vec<&str> {
    calls.iter().map(|c| c.action.as_str()).collect()
}

/// Rounds after the moment's reads: one attach call for the target groups and the classic load
/// balancer together, then one read-back of every traffic source's state.
fn assert_attach_and_confirm_follow(calls: &[Call], plan_reads: &[&Call]) {
    let attach = find(calls, "AttachTrafficSources");
    let read_back = find(calls, "DescribeTrafficSources");
    for read in plan_reads {
        assert!(
            after(attach, read),
            "attach needs the plan and the moment: {} before {}",
            attach.action,
            read.action
        );
    }
    assert!(after(read_back, attach), "the read-back follows the attach");
}

#[tokio::test]
async fn hook_reads_the_reroute_beside_the_deployment_and_adds_no_round() {
    let calls = calls_of(
        "InProgress",
        Source::LifecycleHook,
        Some("exec"),
        &[
            (
                "start",
                &[("GetDeployment", 1), ("ListDeploymentTargets", 1)],
            ),
            (
                "plan",
                &[
                    ("DescribeTargetGroups", 1),
                    ("DescribeAutoScalingGroups", 1),
                ],
            ),
        ],
    )
    .await;
    assert_eq!(
        calls.len(),
        8,
        "exactly the eight calls of the critical path: {:?}",
        actions(&calls)
    );
    let get = find(&calls, "GetDeployment");
    let list = find(&calls, "ListDeploymentTargets");
    let batch = find(&calls, "BatchGetDeploymentTargets");
    let tgs = find(&calls, "DescribeTargetGroups");
    let groups = find(&calls, "DescribeAutoScalingGroups");
    let report = find(&calls, "PutLifecycleEventHookExecutionStatus");

    assert!(
        overlap(get, list),
        "GetDeployment ∥ ListDeploymentTargets: the reroute read starts with the deployment's"
    );
    assert!(after(batch, list), "the batch read needs the listed ids");
    for read in [tgs, groups] {
        assert!(after(read, get), "{} needs the deployment", read.action);
        assert!(
            after(read, batch),
            "{} waits for the reroute's verdict: a run that must wait reads nothing more",
            read.action
        );
    }
    assert!(
        overlap(tgs, groups),
        "DescribeTargetGroups ∥ DescribeAutoScalingGroups"
    );
    assert_attach_and_confirm_follow(&calls, &[batch, tgs, groups]);
    assert!(
        calls
            .iter()
            .filter(|c| c.action != report.action)
            .all(|c| after(report, c)),
        "report comes last"
    );
    assert!(
        !actions(&calls).contains(&"GetDeploymentGroup"),
        "an InProgress deployment is judged on its targets, not its fleet"
    );
    // The three service clients share one HTTP client, and a connection outlives its call: at
    // most two calls are in flight at once here, so two connections carry all eight, or a few
    // more when a round starts before the pool has taken a finished call's connection back (a
    // pool per service client would take five or more; a connection per call, eight).
    let connections: std::collections::BTreeSet<&str> =
        calls.iter().map(|c| c.connection.as_str()).collect();
    assert!(
        connections.len() <= 4,
        "eight calls over {} connections: {connections:?}",
        connections.len()
    );
}

#[tokio::test]
async fn a_hook_that_must_wait_makes_only_the_calls_that_tell_it_so() {
    let calls = calls_in(
        json!({"name": "cw", "status": "InProgress", "targetGroups": 2,
               "classicLoadBalancers": 1, "reroute": "pending"}),
        Source::LifecycleHook,
        Some("exec"),
        OutcomeKind::Waiting,
        &[],
    )
    .await;
    let report = find(&calls, "PutLifecycleEventHookExecutionStatus");
    assert!(
        calls
            .iter()
            .filter(|c| c.action != report.action)
            .all(|c| after(report, c)),
        "the Succeeded status is reported after the reads"
    );
    let mut made = actions(&calls);
    made.sort_unstable();
    assert_eq!(
        made,
        [
            "BatchGetDeploymentTargets",
            "GetDeployment",
            "ListDeploymentTargets",
            "PutLifecycleEventHookExecutionStatus"
        ],
        "no describe, attach or confirm call"
    );
}

#[tokio::test]
async fn a_hook_on_a_complete_group_reads_and_changes_nothing() {
    let calls = calls_in(
        json!({"name": "cc", "status": "InProgress", "targetGroups": 2,
               "classicLoadBalancers": 1, "attachedTargetGroups": 2,
               "attachedLoadBalancers": 1}),
        Source::LifecycleHook,
        Some("exec"),
        OutcomeKind::AlreadyAttached,
        &[],
    )
    .await;
    let mut made = actions(&calls);
    made.sort_unstable();
    assert_eq!(
        made,
        [
            "BatchGetDeploymentTargets",
            "DescribeAutoScalingGroups",
            "DescribeTargetGroups",
            "GetDeployment",
            "ListDeploymentTargets",
            "PutLifecycleEventHookExecutionStatus"
        ],
        "no attach and no read-back"
    );
}

/// The calls of one action, in the order made.
fn all<'a>(calls: &'a [Call], action: &str) -> Vec<&'a Call> {
    calls.iter().filter(|c| c.action == action).collect()
}

#[tokio::test]
async fn success_notification_reads_the_fleet_in_the_same_round_as_the_plans_reads() {
    // The plan's round: the fleet and the active deployments beside the target groups and the
    // groups. The registration round: the fleet, the active deployments and the groups again,
    // and one read per source (two target groups, one classic load balancer).
    let calls = calls_of(
        "Succeeded",
        Source::SnsTrigger,
        None,
        &[
            (
                "plan",
                &[
                    ("GetDeploymentGroup", 1),
                    ("ListDeployments", 1),
                    ("DescribeTargetGroups", 1),
                    ("DescribeAutoScalingGroups", 1),
                ],
            ),
            (
                "registration",
                &[
                    ("GetDeploymentGroup", 1),
                    ("ListDeployments", 1),
                    ("DescribeAutoScalingGroups", 1),
                    ("DescribeTargetHealth", 2),
                    ("DescribeInstanceHealth", 1),
                ],
            ),
        ],
    )
    .await;
    assert_eq!(
        calls.len(),
        13,
        "exactly the thirteen calls of the critical path: {:?}",
        actions(&calls)
    );
    let get = find(&calls, "GetDeployment");
    let fleets = all(&calls, "GetDeploymentGroup");
    // Beside each fleet read, the deployment group's active deployments (none here, so no
    // GetDeployment of them): a follow-on must not hide one that replaces the fleet.
    let actives = all(&calls, "ListDeployments");
    assert_eq!(actives.len(), 2, "with each fleet read");
    for (fleet, active) in fleets.iter().zip(&actives) {
        assert!(
            overlap(fleet, active),
            "ListDeployments ∥ GetDeploymentGroup"
        );
    }
    let group_reads = all(&calls, "DescribeAutoScalingGroups");
    assert_eq!(
        fleets.len(),
        2,
        "the fleet: for the moment, and again before registering"
    );
    assert_eq!(
        group_reads.len(),
        2,
        "the groups: for the plan, and again before registering"
    );
    let (fleet, groups) = (fleets[0], group_reads[0]);
    let tgs = find(&calls, "DescribeTargetGroups");
    for read in [fleet, tgs, groups] {
        assert!(after(read, get), "{} needs the deployment", read.action);
    }
    assert!(
        overlap(fleet, tgs) && overlap(fleet, groups) && overlap(tgs, groups),
        "GetDeploymentGroup ∥ DescribeTargetGroups ∥ DescribeAutoScalingGroups"
    );
    assert_attach_and_confirm_follow(&calls, &[fleet, tgs, groups]);
    assert!(
        !actions(&calls).contains(&"ListDeploymentTargets"),
        "a finished deployment is judged on its fleet, not its targets"
    );
    // The registration round: the fleet and the groups again, one read per source, all
    // together, after the attach is confirmed.
    let health: Vec<&Call> = calls
        .iter()
        .filter(|c| c.action == "DescribeTargetHealth" || c.action == "DescribeInstanceHealth")
        .collect();
    assert_eq!(
        health.len(),
        3,
        "one read for each of the 2 target groups and the classic load balancer"
    );
    let round: Vec<&Call> = health
        .iter()
        .copied()
        .chain([fleets[1], actives[1], group_reads[1]])
        .collect();
    let confirm = find(&calls, "DescribeTrafficSources");
    for read in &round {
        assert!(
            after(read, confirm),
            "{} follows the read-back",
            read.action
        );
    }
    // Made together: the six were held at one barrier until all had arrived, so each pair
    // overlaps.
    for a in &round {
        for b in &round {
            assert!(overlap(a, b), "{} ∥ {}", a.action, b.action);
        }
    }
}
