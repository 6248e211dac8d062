//! The hook's AWS calls, as moto recorded them: the critical path, the overlaps, no call twice.

mod support;

use std::time::Duration;

use codedeploy_tg_hook::event::{Source, Trigger};
use codedeploy_tg_hook::report::OutcomeKind;
use codedeploy_tg_hook::run::{execute, Settings};
use serde_json::{json, Value};
use support::Moto;
use tokio::time::Instant;

struct Call {
    action: String,
    start: f64,
    end: f64,
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

#[tokio::test]
async fn hook_follows_the_critical_path_with_independent_calls_overlapping() {
    let moto = Moto::start();
    let world = moto.world(json!({"name": "cg", "targetGroups": 2, "classicLoadBalancers": 1}));
    // Each call takes 50 ms on the server, so calls made together are seen overlapping.
    for action in [
        "GetDeployment",
        "DescribeTargetGroups",
        "DescribeAutoScalingGroups",
        "AttachLoadBalancerTargetGroups",
        "AttachLoadBalancers",
        "DescribeLoadBalancerTargetGroups",
        "DescribeLoadBalancers",
        "PutLifecycleEventHookExecutionStatus",
    ] {
        moto.fault_with(action, "hang", 10, &[], json!({"seconds": 0.05}));
    }
    moto.clear_requests();

    let clients = moto.clients().await;
    let trigger = Trigger {
        deployment_id: world.deployment_id.clone(),
        source: Source::LifecycleHook,
        hook_execution_id: Some("exec".into()),
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
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");

    let calls: Vec<Call> = moto
        .requests()
        .iter()
        .map(|r: &Value| Call {
            action: r["action"].as_str().unwrap().to_owned(),
            start: r["start"].as_f64().unwrap(),
            end: r["end"].as_f64().unwrap(),
        })
        .collect();
    assert_eq!(
        calls.len(),
        8,
        "exactly the eight calls of the critical path: {:?}",
        calls.iter().map(|c| c.action.as_str()).collect::<Vec<_>>()
    );
    let get = find(&calls, "GetDeployment");
    let tgs = find(&calls, "DescribeTargetGroups");
    let groups = find(&calls, "DescribeAutoScalingGroups");
    let attach_tgs = find(&calls, "AttachLoadBalancerTargetGroups");
    let attach_lbs = find(&calls, "AttachLoadBalancers");
    let read_tgs = find(&calls, "DescribeLoadBalancerTargetGroups");
    let read_lbs = find(&calls, "DescribeLoadBalancers");
    let report = find(&calls, "PutLifecycleEventHookExecutionStatus");

    assert!(
        after(tgs, get) && after(groups, get),
        "the reads need the deployment"
    );
    assert!(
        overlap(tgs, groups),
        "DescribeTargetGroups ∥ DescribeAutoScalingGroups"
    );
    for attach in [attach_tgs, attach_lbs] {
        assert!(
            after(attach, tgs) && after(attach, groups),
            "attach needs the plan"
        );
    }
    assert!(
        overlap(attach_tgs, attach_lbs),
        "the two attach calls run together"
    );
    for read in [read_tgs, read_lbs] {
        assert!(
            after(read, attach_tgs) && after(read, attach_lbs),
            "confirm reads follow the attach"
        );
    }
    assert!(
        overlap(read_tgs, read_lbs),
        "the two confirm reads run together"
    );
    assert!(
        after(report, read_tgs) && after(report, read_lbs),
        "report comes last"
    );
}
