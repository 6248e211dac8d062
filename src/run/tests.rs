//! The run's deadlines under tokio's paused clock, against AWS stood in for in the process
//! (`aws::stub`): when the work stops, when the report gives up, how long a call is retried. Exact,
//! and immune to a loaded machine; the same paths on the real wire are in tests/.

use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::aws::stub::{deployment, hook_status_accepted, in_place_deployment, Answer, Stub};
use crate::event::{Source, Trigger};
use crate::report::{Outcome, OutcomeKind};

const ID: &str = "d-ABCDEF123";

fn hook() -> Trigger {
    Trigger {
        deployment_id: ID.into(),
        source: Source::LifecycleHook,
        hook_execution_id: Some("exec-1".into()),
        deployment_group: None,
    }
}

/// The hook with `deadline` s to go; its outcome and how long it took.
async fn run_hook(stub: &Stub, deadline: u64) -> (Outcome, Duration) {
    let clients = stub.clients().await;
    let started = Instant::now();
    let outcome = execute(
        &clients,
        &hook(),
        started + Duration::from_secs(deadline),
        &Settings::default(),
    )
    .await;
    (outcome, started.elapsed())
}

const GET: &str = "GetDeployment";
const REPORT: &str = "PutLifecycleEventHookExecutionStatus";

#[tokio::test(start_paused = true)]
async fn a_deadline_already_inside_the_margin_reports_failed_at_once_without_any_work() {
    let stub = Stub::default();
    stub.always(GET, deployment(ID, "InProgress"))
        .always(REPORT, hook_status_accepted());
    let (outcome, took) = run_hook(&stub, 2).await;
    assert_eq!(took, Duration::ZERO);
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert!(outcome.reason.unwrap().starts_with("ran out of time"));
    assert_eq!(outcome.hook_status, Some("Failed"));
    let calls: Vec<String> = stub.calls().into_iter().map(|(o, _)| o).collect();
    assert_eq!(calls, vec![REPORT.to_owned()], "no work inside the margin");
}

/// Work retried until it must stop: exactly `REPORT_MARGIN` before the deadline, naming the
/// call still being retried with its attempts and last failure; then `Failed` reported.
#[tokio::test(start_paused = true)]
async fn endless_throttling_stops_the_work_the_report_margin_before_the_deadline() {
    let stub = Stub::default();
    stub.always(GET, Answer::Error(400, "ThrottlingException"))
        .always(REPORT, hook_status_accepted());
    let (outcome, took) = run_hook(&stub, 10).await;
    assert_eq!(took, Duration::from_secs(10) - REPORT_MARGIN);
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert_eq!(outcome.hook_status, Some("Failed"));
    let reason = outcome.reason.unwrap();
    assert!(
        reason.starts_with("ran out of time: stopped 3s before the deadline to report; still being retried: codedeploy:GetDeployment (")
            && reason.contains("ThrottlingException"),
        "{reason}"
    );
    assert!(
        stub.count(GET) > 4,
        "retried until the deadline: {}",
        stub.count(GET)
    );
}

#[tokio::test(start_paused = true)]
async fn a_hung_endpoint_is_named_with_its_timed_out_attempts_and_failed_is_reported_in_time() {
    let stub = Stub::default();
    stub.always(GET, Answer::Hang)
        .always(REPORT, hook_status_accepted());
    let (outcome, took) = run_hook(&stub, 12).await;
    assert_eq!(took, Duration::from_secs(12) - REPORT_MARGIN);
    let reason = outcome.reason.unwrap();
    assert!(
        reason.contains("still being retried: codedeploy:GetDeployment (")
            // The endpoint the attempts waited on travels in their error.
            && reason.contains("no answer within 5 s from https://codedeploy.us-east-1.amazonaws.com"),
        "{reason}"
    );
    assert_eq!(outcome.hook_status, Some("Failed"));
}

/// A status CodeDeploy never accepts: retried until just before the deadline (the report's
/// slack), then a function error so Lambda retries the invocation.
#[tokio::test(start_paused = true)]
async fn a_status_codedeploy_never_accepts_is_retried_until_just_before_the_deadline() {
    let stub = Stub::default();
    stub.always(GET, in_place_deployment(ID))
        .always(REPORT, Answer::Error(500, "InternalFailure"));
    let (outcome, took) = run_hook(&stub, 12).await;
    assert_eq!(took, Duration::from_millis(11_500));
    assert_eq!(outcome.outcome, OutcomeKind::Failed);
    assert_eq!(outcome.hook_status, None);
    assert!(outcome.is_function_error());
    let reason = outcome.reason.unwrap();
    assert!(
        reason.starts_with("could not report Succeeded to CodeDeploy before the deadline; still being retried: codedeploy:PutLifecycleEventHookExecutionStatus (")
            && reason.contains("HTTP 500"),
        "{reason}"
    );
    assert!(stub.count(REPORT) > 4, "{}", stub.count(REPORT));
}

/// Three answers in a row that are not AWS's end the call at once, not at the deadline.
#[tokio::test(start_paused = true)]
async fn three_bad_answers_in_a_row_end_the_call_long_before_the_deadline() {
    let stub = Stub::default();
    stub.always(
        GET,
        Answer::Ok("<!DOCTYPE html><html><body>Gateway</body></html>".into()),
    )
    .always(REPORT, hook_status_accepted());
    let (outcome, took) = run_hook(&stub, 60).await;
    assert_eq!(stub.count(GET), 3);
    // Two backoffs, each at most MAX_BACKOFF.
    assert!(took <= 2 * crate::aws::MAX_BACKOFF, "{took:?}");
    let reason = outcome.reason.unwrap();
    assert!(
        reason.contains(
            "codedeploy:GetDeployment failed: MalformedAnswer: answered HTTP 200 with an HTML page"
        ),
        "{reason}"
    );
}

/// A finished deployment's fleet is read beside the plan's reads; once it says the group is
/// superseded, those reads are dropped at once, however long they would still be retried.
#[tokio::test(start_paused = true)]
async fn a_superseded_group_does_not_wait_for_plan_reads_stuck_in_throttling() {
    let stub = Stub::default();
    stub.always(GET, deployment(ID, "Succeeded"))
        .always(
            "GetDeploymentGroup",
            Answer::Ok(
                r#"{"deploymentGroupInfo":{"applicationName":"web","deploymentGroupName":"web-dg","autoScalingGroups":[{"name":"CodeDeploy_web-dg_d-LATER0001"}]}}"#
                    .into(),
            ),
        )
        .always("ListDeployments", Answer::Ok(r#"{"deployments":[]}"#.into()))
        .always("DescribeTargetGroups", Answer::Error(400, "Throttling"))
        .always("DescribeAutoScalingGroups", Answer::Error(400, "Throttling"));
    let clients = stub.clients().await;
    let started = Instant::now();
    let trigger = Trigger {
        source: Source::SnsTrigger,
        hook_execution_id: None,
        ..hook()
    };
    let outcome = execute(
        &clients,
        &trigger,
        started + Duration::from_secs(20),
        &Settings::default(),
    )
    .await;
    assert_eq!(outcome.outcome, OutcomeKind::Skipped, "{outcome:?}");
    assert!(outcome.reason.unwrap().contains("superseded"));
    assert_eq!(started.elapsed(), Duration::ZERO);
}
