//! Faults on the real wire (injected by the moto launcher): retries, fast failures, deadlines,
//! attachments stuck in `Adding`, panics at the boundary, and many invocations at once.

use std::time::Duration;

use crate::support::{
    event, hook_trigger as hook, moto, run_hook, settings, write_temp, Moto, World,
};
use codedeploy_tg_hook::event::{Source, Trigger};
use codedeploy_tg_hook::plan::Skip;
use codedeploy_tg_hook::report::OutcomeKind;
use codedeploy_tg_hook::run::{execute, execute_work, Progress, RunError, RunResult};
use serde_json::{json, Value};
use tokio::time::Instant;

/// The hook with a minute to spare and a 5 s confirm window, against the shared moto.
async fn run_hook_now(world: &World) -> codedeploy_tg_hook::report::Outcome {
    run_hook(
        moto(),
        world,
        Duration::from_secs(60),
        Duration::from_secs(5),
    )
    .await
}

fn count(requests: &[Value], action: &str) -> usize {
    requests.iter().filter(|r| r["action"] == action).count()
}

#[tokio::test]
async fn throttling_is_retried_and_the_run_succeeds_when_it_stops() {
    let world = moto().world(json!({"name": "ft-throttle"}));
    moto().fault(
        "AttachTrafficSources",
        "throttle",
        2,
        &[&world.replacement_group],
    );
    moto().fault("GetDeployment", "throttle", 1, &[&world.deployment_id]);
    let outcome = run_hook_now(&world).await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Succeeded"]);
}

#[tokio::test]
async fn server_errors_are_retried_and_the_run_succeeds_when_they_stop() {
    let world = moto().world(json!({"name": "ft-5xx"}));
    moto().fault(
        "DescribeAutoScalingGroups",
        "server-error",
        2,
        &[&world.replacement_group],
    );
    moto().fault(
        "AttachTrafficSources",
        "server-error",
        1,
        &[&world.replacement_group],
    );
    let outcome = run_hook_now(&world).await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
}

#[tokio::test]
async fn access_denied_fails_fast_naming_the_missing_permission() {
    let own = Moto::start();
    let world = own.world(json!({"name": "ft-denied"}));
    own.fault("AttachTrafficSources", "access-denied", 10, &[]);
    own.clear_requests();
    let outcome = run_hook(
        &own,
        &world,
        Duration::from_secs(60),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert_eq!(outcome.error_code.as_deref(), Some("AccessDenied"));
    let reason = outcome.reason.unwrap();
    assert!(
        reason.contains("grant autoscaling:AttachTrafficSources"),
        "{reason}"
    );
    assert!(reason.contains(&world.replacement_group), "{reason}");
    assert_eq!(
        count(&own.requests(), "AttachTrafficSources"),
        1,
        "AccessDenied must not be retried"
    );
    assert_eq!(own.hook_reports(&world.deployment_id), vec!["Failed"]);
}

#[tokio::test]
async fn endless_throttling_reports_failed_before_the_deadline() {
    let world = moto().world(json!({"name": "ft-endless"}));
    moto().fault(
        "DescribeAutoScalingGroups",
        "throttle",
        1000,
        &[&world.replacement_group],
    );
    // When it stops is src/run/tests.rs's to say, under the paused clock; here, the real wire.
    let outcome = run_hook(
        moto(),
        &world,
        Duration::from_secs(10),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert_eq!(outcome.hook_status, Some("Failed"));
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
    // Retried until the deadline (not four times), and the outcome still names the group.
    let reason = outcome.reason.as_deref().unwrap();
    assert!(reason.contains("ran out of time"), "{reason}");
    assert_eq!(
        outcome.auto_scaling_groups,
        vec![world.replacement_group.clone()]
    );
    let throttled = moto()
        .requests()
        .iter()
        .filter(|r| {
            r["action"] == "DescribeAutoScalingGroups"
                && r["body"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&world.replacement_group)
        })
        .count();
    assert!(throttled > 4, "{throttled} attempts");
    // DescribeAutoScalingGroups is still throttled for this group: read the attachments instead.
    let clients = moto().clients().await;
    let attached = clients
        .autoscaling()
        .describe_traffic_sources()
        .auto_scaling_group_name(&world.replacement_group)
        .send()
        .await
        .unwrap();
    assert!(
        attached.traffic_sources().is_empty(),
        "nothing may be attached after a failure to plan"
    );
}

/// End to end, with a margin a loaded machine keeps: the binary's deadline (6 s) stops a call
/// hung for 30 s, and `Failed` is reported (the exact moments: src/run/tests.rs).
#[test]
fn a_hung_endpoint_still_gets_failed_reported_without_waiting_for_it() {
    let world = moto().world(json!({"name": "ft-hang"}));
    moto().fault_with(
        "GetDeployment",
        "hang",
        5,
        &[&world.deployment_id],
        json!({"seconds": 30}),
    );
    let file = write_temp(
        "ft-hang",
        &event("lifecycle-hook", &world.deployment_id, ""),
    );
    let started = std::time::Instant::now();
    let output = moto()
        .cli()
        .args(["handle", "--timeout", "6"])
        .arg(&file)
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(25), "took {elapsed:?}");
    assert_eq!(output.status.code(), Some(1));
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(outcome["hookStatus"], "Failed");
    assert!(
        outcome["reason"]
            .as_str()
            .unwrap()
            .contains("ran out of time"),
        "{outcome}"
    );
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
}

#[tokio::test]
async fn attachment_stuck_adding_is_reported_pending_and_the_run_succeeds() {
    let world = moto().world(json!({"name": "ft-adding", "classicLoadBalancers": 0}));
    moto().fault_with(
        "DescribeTrafficSources",
        "state",
        1000,
        &[&world.replacement_group],
        json!({"state": "Adding"}),
    );
    let outcome = run_hook(
        moto(),
        &world,
        Duration::from_secs(60),
        Duration::from_millis(600),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
    let mut pending = outcome.pending.clone();
    pending.sort();
    assert_eq!(pending, world.all_target_groups_sorted());
    assert!(outcome.reason.unwrap().contains("still Adding"));
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Succeeded"]);
}

#[tokio::test]
async fn adding_that_becomes_added_inside_the_window_is_not_pending() {
    let world = moto().world(json!({"name": "ft-settle", "classicLoadBalancers": 0}));
    moto().fault_with(
        "DescribeTrafficSources",
        "state",
        2,
        &[&world.replacement_group],
        json!({"state": "Adding"}),
    );
    let outcome = run_hook(
        moto(),
        &world,
        Duration::from_secs(60),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached);
    assert!(outcome.pending.is_empty(), "{outcome:?}");
}

#[tokio::test]
async fn attach_that_did_not_take_fails_naming_what_is_absent() {
    let world = moto().world(json!({"name": "ft-swallow", "classicLoadBalancers": 0}));
    moto().fault(
        "AttachTrafficSources",
        "swallow",
        1,
        &[&world.replacement_group],
    );
    // Even with a zero confirm window there is one read back, and it catches the absence.
    let outcome = run_hook(moto(), &world, Duration::from_secs(60), Duration::ZERO).await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    let reason = outcome.reason.unwrap();
    assert!(reason.contains("not on the group"), "{reason}");
    assert!(reason.contains(&world.target_group_arns[0]), "{reason}");
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
}

#[tokio::test]
async fn a_source_the_read_back_lists_as_removing_fails_naming_the_call_and_the_state() {
    let world = moto().world(json!({"name": "ft-removing", "classicLoadBalancers": 0}));
    moto().fault_with(
        "DescribeTrafficSources",
        "state",
        100,
        &[&world.replacement_group],
        json!({"state": "Removing"}),
    );
    let outcome = run_hook(moto(), &world, Duration::from_secs(60), Duration::ZERO).await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    let reason = outcome.reason.unwrap();
    assert!(
        reason.contains(&format!(
            "after attaching, not on the group: autoscaling:DescribeTrafficSources lists {} (Removing)",
            world.target_group_arns[0]
        )),
        "{reason}"
    );
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
}

#[tokio::test]
async fn a_panic_in_the_work_is_caught_and_reported_failed() {
    let world = moto().world(json!({"name": "ft-panic"}));
    let clients = moto().clients().await;
    let work = async {
        if std::env::var_os("NEVER_SET_ANYWHERE_7f3a").is_none() {
            panic!("planner invariant broken");
        }
        Ok::<RunResult, RunError>(RunResult::Skipped(Skip::NoLoadBalancer))
    };
    let outcome = execute_work(
        &clients,
        &hook(&world, "exec-panic"),
        work,
        &Progress::default(),
        Instant::now() + Duration::from_secs(30),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert!(outcome
        .reason
        .unwrap()
        .contains("(panic): planner invariant broken"));
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
}

#[tokio::test]
async fn deadline_already_inside_the_margin_reports_failed_at_once() {
    let world = moto().world(json!({"name": "ft-late"}));
    let outcome = run_hook(
        moto(),
        &world,
        Duration::from_secs(2),
        Duration::from_secs(5),
    )
    .await;
    // No work is attempted, which the sources show (that it reports at once: src/run/tests.rs).
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert!(outcome.reason.unwrap().contains("ran out of time"));
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
    let clients = moto().clients().await;
    let sources = moto()
        .group_sources(&clients, &world.replacement_group)
        .await;
    assert_eq!(
        sources,
        (vec![], vec![]),
        "no work may start inside the margin"
    );
}

#[tokio::test]
async fn twenty_invocations_at_once_all_succeed_and_together_attach_exactly_what_is_missing() {
    // One target group is on the group already: no outcome may claim it.
    let world = moto().world(
        json!({"name": "ft-herd", "targetGroups": 3, "classicLoadBalancers": 2,
                                    "attachedTargetGroups": 1}),
    );
    let clients = moto().clients().await;
    let runs = (0..20).map(|i| {
        let clients = clients.clone();
        let trigger = hook(&world, &format!("exec-{i}"));
        tokio::spawn(async move {
            execute(
                &clients,
                &trigger,
                Instant::now() + Duration::from_secs(60),
                &settings(Duration::from_secs(5)),
            )
            .await
        })
    });
    let mut outcomes = Vec::new();
    for run in runs.collect::<Vec<_>>() {
        outcomes.push(run.await.unwrap());
    }
    let (mut claimed_tgs, mut claimed_lbs) = (Vec::new(), Vec::new());
    for outcome in &outcomes {
        assert!(
            matches!(
                outcome.outcome,
                OutcomeKind::Attached | OutcomeKind::AlreadyAttached
            ),
            "{outcome:?}"
        );
        assert_eq!(outcome.hook_status, Some("Succeeded"));
        claimed_tgs.extend(outcome.attached.target_group_arns.iter().cloned());
        claimed_lbs.extend(outcome.attached.load_balancer_names.iter().cloned());
    }
    assert_eq!(moto().hook_reports(&world.deployment_id).len(), 20);
    // Together the outcomes name every missing source and nothing else (an invocation may
    // attach what a concurrent one also attached: the call is idempotent).
    claimed_tgs.sort();
    claimed_tgs.dedup();
    claimed_lbs.sort();
    claimed_lbs.dedup();
    let mut missing = world.target_group_arns[1..].to_vec();
    missing.sort();
    assert_eq!(
        claimed_tgs, missing,
        "the one already attached is never claimed"
    );
    assert_eq!(claimed_lbs, world.load_balancers);
    moto().assert_fully_attached(&world).await;
}

#[tokio::test]
async fn a_status_codedeploy_never_accepts_makes_a_function_error_so_lambda_retries() {
    let world = moto().world(json!({"name": "ft-noreport"}));
    moto().fault(
        "PutLifecycleEventHookExecutionStatus",
        "server-error",
        1000,
        &[&world.deployment_id],
    );
    // Retried until just before the deadline, then given up in time to answer Lambda (the
    // exact moment: src/run/tests.rs).
    let outcome = run_hook(
        moto(),
        &world,
        Duration::from_secs(12),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert_eq!(outcome.hook_status, None);
    assert!(
        outcome.is_function_error(),
        "Lambda must see an error so it retries the report"
    );
    let reason = outcome.reason.unwrap();
    assert!(
        reason.starts_with("could not report Succeeded to CodeDeploy before the deadline"),
        "{reason}"
    );
    // It names the call it gave up on, and what its last attempt got.
    assert!(
        reason.contains("still being retried: codedeploy:PutLifecycleEventHookExecutionStatus (")
            && reason.contains("HTTP 500"),
        "{reason}"
    );
    let reports = moto()
        .requests()
        .iter()
        .filter(|r| {
            r["action"] == "PutLifecycleEventHookExecutionStatus"
                && r["body"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&world.deployment_id)
        })
        .count();
    assert!(reports > 4, "retried past the old four attempts: {reports}");
    // The work itself was done.
    let (tgs, _) = moto()
        .group_sources(&moto().clients().await, &world.replacement_group)
        .await;
    assert_eq!(tgs, world.all_target_groups_sorted());
}

#[tokio::test]
async fn a_moment_that_cannot_be_read_fails_naming_the_missing_permission_and_attaches_nothing() {
    let world = moto().world(json!({"name": "ft-notargets"}));
    moto().fault(
        "ListDeploymentTargets",
        "access-denied",
        10,
        &[&world.deployment_id],
    );
    let outcome = run_hook_now(&world).await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed, "{outcome:?}");
    assert_eq!(outcome.error_code.as_deref(), Some("AccessDeniedException"));
    let reason = outcome.reason.unwrap();
    assert!(
        reason.contains("grant codedeploy:ListDeploymentTargets")
            && reason.contains(&world.deployment_id),
        "{reason}"
    );
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
    let clients = moto().clients().await;
    assert_eq!(
        moto()
            .group_sources(&clients, &world.replacement_group)
            .await,
        (vec![], vec![])
    );

    let done = moto().world(json!({"name": "ft-nofleet", "status": "Succeeded"}));
    moto().fault(
        "GetDeploymentGroup",
        "access-denied",
        10,
        &[&done.deployment_group_name],
    );
    let outcome = execute(
        &clients,
        &Trigger {
            deployment_id: done.deployment_id.clone(),
            source: Source::SnsTrigger,
            hook_execution_id: None,
            deployment_group: None,
        },
        Instant::now() + Duration::from_secs(60),
        &settings(Duration::from_secs(5)),
    )
    .await;
    assert!(outcome.is_function_error(), "{outcome:?}");
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .contains("grant codedeploy:GetDeploymentGroup"),
        "{outcome:?}"
    );
    assert_eq!(
        moto()
            .group_sources(&clients, &done.replacement_group)
            .await,
        (vec![], vec![])
    );
}

#[tokio::test]
async fn a_failure_after_attaching_still_lists_what_was_attached() {
    let world =
        moto().world(json!({"name": "ft-after", "targetGroups": 2, "classicLoadBalancers": 1}));
    // The attach calls go through; the confirm read is refused.
    moto().fault(
        "DescribeTrafficSources",
        "access-denied",
        10,
        &[&world.replacement_group],
    );
    let outcome = run_hook_now(&world).await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed, "{outcome:?}");
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap()
            .contains("autoscaling:DescribeTrafficSources"),
        "{outcome:?}"
    );
    let mut tgs = outcome.attached.target_group_arns.clone();
    tgs.sort();
    assert_eq!(tgs, world.all_target_groups_sorted(), "{outcome:?}");
    assert_eq!(outcome.attached.load_balancer_names, world.load_balancers);
}

#[tokio::test]
async fn a_confirm_window_cut_short_by_the_deadline_reports_adding_as_pending_not_a_failure() {
    let world = moto()
        .world(json!({"name": "ft-late-adding", "targetGroups": 1, "classicLoadBalancers": 0}));
    // The first read back says Adding at once; the next takes 30 s. The 30 s window is cut by
    // the deadline (15 s, so the work stops at 12 s) while that read is still in flight (the
    // exact moments: src/run/confirm.rs's tests).
    moto().fault_with(
        "DescribeTrafficSources",
        "state",
        1,
        &[&world.replacement_group],
        json!({"state": "Adding"}),
    );
    moto().fault_with(
        "DescribeTrafficSources",
        "state",
        5,
        &[&world.replacement_group],
        json!({"state": "Adding", "delay": 30}),
    );
    let outcome = run_hook(
        moto(),
        &world,
        Duration::from_secs(15),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
    assert_eq!(outcome.pending, world.target_group_arns, "{outcome:?}");
    assert_eq!(outcome.hook_status, Some("Succeeded"));
}

/// A finished deployment's fleet is read beside the plan's reads; once it says the group is
/// superseded, those reads are dropped, however long they would still be retried.
#[tokio::test]
async fn a_superseded_group_does_not_wait_for_plan_reads_stuck_in_throttling() {
    let world = moto().world(json!({"name": "ft-supthr", "status": "Succeeded"}));
    moto().supersede(&world);
    moto().fault(
        "DescribeTargetGroups",
        "throttle",
        10_000,
        &["ft-supthr-tg0"],
    );
    let clients = moto().clients().await;
    let started = Instant::now();
    let outcome = execute(
        &clients,
        &Trigger {
            deployment_id: world.deployment_id.clone(),
            source: Source::SnsTrigger,
            hook_execution_id: None,
            deployment_group: None,
        },
        Instant::now() + Duration::from_secs(20),
        &settings(Duration::from_secs(5)),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Skipped, "{outcome:?}");
    // Not the work deadline (17 s): the throttled reads were dropped (exactly when:
    // src/run/tests.rs).
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

/// The reroute read that starts beside GetDeployment for a direct call: a deployment that turns
/// out to be finished never sees its error; one that is under way waits for it even when
/// GetDeployment answers last.
#[tokio::test]
async fn the_early_reroute_read_only_counts_for_a_deployment_under_way() {
    let moto = Moto::start();
    let clients = moto.clients().await;
    let direct = |world: &World| Trigger {
        deployment_id: world.deployment_id.clone(),
        source: Source::Direct,
        hook_execution_id: None,
        deployment_group: None,
    };
    let deadline = || Instant::now() + Duration::from_secs(60);

    // Succeeded: the denied early read is dropped, the fleet decides, the group is attached.
    let finished = moto.world(json!({"name": "ef", "status": "Succeeded"}));
    moto.fault_with(
        "ListDeploymentTargets",
        "access-denied",
        100,
        &[&finished.deployment_id],
        json!({}),
    );
    let outcome = execute(
        &clients,
        &direct(&finished),
        deadline(),
        &settings(Duration::from_secs(5)),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");

    // InProgress: the same denial fails the run, naming the read.
    let under_way = moto.world(json!({"name": "eu"}));
    moto.fault_with(
        "ListDeploymentTargets",
        "access-denied",
        100,
        &[&under_way.deployment_id],
        json!({}),
    );
    let outcome = execute(
        &clients,
        &direct(&under_way),
        deadline(),
        &settings(Duration::from_secs(5)),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Failed, "{outcome:?}");
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("codedeploy:ListDeploymentTargets"),
        "{outcome:?}"
    );

    // InProgress, GetDeployment answering after the early read: its verdict still comes first,
    // and the finished read is used.
    let slow = moto.world(json!({"name": "es", "instances": 2, "reroute": "pending"}));
    moto.fault_with(
        "GetDeployment",
        "hang",
        1,
        &[&slow.deployment_id],
        json!({"seconds": 0.5}),
    );
    moto.clear_requests();
    let outcome = execute(
        &clients,
        &direct(&slow),
        deadline(),
        &settings(Duration::from_secs(5)),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Waiting, "{outcome:?}");
    let requests = moto.requests();
    assert_eq!(count(&requests, "ListDeploymentTargets"), 1, "read once");
    assert_eq!(
        count(&requests, "DescribeAutoScalingGroups"),
        0,
        "a waiting run reads no more"
    );
}

/// Bad answers are counted per call: two in a row on one call and two on another do not add up
/// to the three after which a call gives up.
#[tokio::test]
async fn bad_answers_on_different_calls_do_not_add_up() {
    let world = moto().world(json!({"name": "ft-percall"}));
    moto().fault("GetDeployment", "html", 2, &[&world.deployment_id]);
    moto().fault("ListDeploymentTargets", "empty", 2, &[&world.deployment_id]);
    let outcome = run_hook_now(&world).await;
    assert_eq!(outcome.outcome, OutcomeKind::Attached, "{outcome:?}");
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Succeeded"]);
}

/// Three bad answers in a row on one call: it gives up, naming what it got, without waiting for
/// the deadline.
#[tokio::test]
async fn three_bad_answers_in_a_row_on_one_call_end_it_naming_the_answer() {
    let world = moto().world(json!({"name": "ft-threebad"}));
    moto().fault("GetDeployment", "html", 3, &[&world.deployment_id]);
    let outcome = run_hook(
        moto(),
        &world,
        Duration::from_secs(30),
        Duration::from_secs(5),
    )
    .await;
    // Three attempts, not the deadline's worth: the request log counts them (the time it takes:
    // src/run/tests.rs).
    assert_eq!(
        moto()
            .calls_naming("GetDeployment", &world.deployment_id)
            .len(),
        3
    );
    assert_eq!(outcome.outcome, OutcomeKind::Failed, "{outcome:?}");
    let reason = outcome.reason.unwrap_or_default();
    assert!(
        reason.contains(
            "codedeploy:GetDeployment failed: MalformedAnswer: answered HTTP 200 with an HTML page"
        ),
        "{reason}"
    );
}

/// Every success notification now lists the deployment group's active deployments: a role that
/// may not is told which action it lacks, and nothing is attached.
#[tokio::test]
async fn a_denied_list_of_active_deployments_fails_naming_the_action() {
    let world = moto().world(json!({"name": "ft-nolist", "status": "Succeeded"}));
    moto().fault(
        "ListDeployments",
        "access-denied",
        10,
        &[&world.application_name],
    );
    let payload = event("sns", &world.deployment_id, "SUCCEEDED");
    let clients = moto().clients().await;
    let mut outcomes = crate::support::handle_event(
        &clients,
        payload,
        Instant::now() + Duration::from_secs(30),
        &settings(Duration::from_secs(5)),
    )
    .await
    .expect("a valid event");
    let outcome = outcomes.remove(0);
    assert_eq!(outcome.outcome, OutcomeKind::Failed, "{outcome:?}");
    let reason = outcome.reason.unwrap_or_default();
    assert!(
        reason.contains("codedeploy:ListDeployments")
            && reason.contains("grant codedeploy:ListDeployments"),
        "{reason}"
    );
    let (tgs, lbs) = moto()
        .group_sources(&clients, &world.replacement_group)
        .await;
    assert!(tgs.is_empty() && lbs.is_empty(), "nothing attached");
}
