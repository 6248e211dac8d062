//! Fleet scale under the account's rate limits: every replacement instance's hook at once
//! (`CodeDeployDefault.AllAtOnce`), against an emulator that throttles each API action at 20
//! requests per second (burst 20), as AWS does per account.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{handle_event, Moto, World};
use codedeploy_tg_hook::report::OutcomeKind;
use codedeploy_tg_hook::run::Settings;
use serde_json::{json, Value};

const FLEET: usize = 100;

/// A deployment whose reroute is complete, on an emulator limited to 20 requests/s per action.
fn rate_limited(name: &str) -> (Moto, World) {
    let moto = Moto::start();
    let world = moto.world(json!({"name": name, "targetGroups": 2, "classicLoadBalancers": 1}));
    moto.harness("rate-limit", json!({"rate": 20, "burst": 20}));
    moto.clear_requests();
    (moto, world)
}

fn throttled(moto: &Moto) -> usize {
    moto.requests()
        .iter()
        .filter(|r| r["status"] == 400)
        .count()
}

#[test]
fn a_hundred_attach_processes_at_once_under_rate_limits_all_succeed() {
    let (moto, world) = rate_limited("sc-procs");
    let started = Instant::now();
    let children: Vec<_> = (0..FLEET)
        .map(|_| {
            moto.cli()
                .args(["attach", "--deployment-id", &world.deployment_id])
                .args(["--timeout", "100"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert!(
            outcome["outcome"] == "attached" || outcome["outcome"] == "already-attached",
            "{outcome}"
        );
    }
    let elapsed = started.elapsed();
    let throttled = throttled(&moto);
    assert!(throttled > 0, "the rate limit must have bitten");
    eprintln!(
        "{FLEET} attach processes at 20 requests/s per action: all done in {:.1} s; {throttled} throttled answers retried",
        elapsed.as_secs_f64()
    );
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(moto.assert_fully_attached(&world));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_lambda_invocations_at_once_under_rate_limits_all_succeed() {
    let (moto, world) = rate_limited("sc-lambda");
    let settings = Settings {
        confirm_window: Duration::from_secs(30),
        ..Settings::default()
    };
    let started = Instant::now();
    let mut runs = Vec::new();
    for i in 0..FLEET {
        // Each invocation its own clients, as each Lambda instance has; the template's 60 s.
        let clients = moto.clients().await;
        let payload = json!({"DeploymentId": world.deployment_id,
                             "LifecycleEventHookExecutionId": format!("exec-{i}")});
        let settings = settings.clone();
        runs.push(tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            handle_event(&clients, payload, deadline, &settings)
                .await
                .unwrap()
                .remove(0)
        }));
    }
    for run in runs {
        let outcome = run.await.unwrap();
        assert!(
            matches!(
                outcome.outcome,
                OutcomeKind::Attached | OutcomeKind::AlreadyAttached
            ),
            "{outcome:?}"
        );
        assert_eq!(outcome.hook_status, Some("Succeeded"), "{outcome:?}");
    }
    let elapsed = started.elapsed();
    let throttled = throttled(&moto);
    assert!(throttled > 0, "the rate limit must have bitten");
    assert_eq!(moto.hook_reports(&world.deployment_id).len(), FLEET);
    eprintln!(
        "{FLEET} Lambda invocations at 20 requests/s per action: all done in {:.1} s; {throttled} throttled answers retried",
        elapsed.as_secs_f64()
    );
    moto.assert_fully_attached(&world).await;
}
