//! The real binary under a local Lambda emulator (`cargo lambda watch`, installed into .venv by
//! scripts/setup-moto), invoked with each event shape against moto; and the appspec hook script
//! in both its modes.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{block_on, event, moto, path_with_venv, repo};

struct Watch {
    port: u16,
    // Holds the shell's stdin open for as long as this process lives.
    _child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One emulator for this test binary, serving the function built from this crate.
fn watch() -> &'static Mutex<Watch> {
    static WATCH: OnceLock<Mutex<Watch>> = OnceLock::new();
    WATCH.get_or_init(|| {
        let moto = moto(); // installs .venv (with cargo-lambda) and starts moto first
        let port = free_port();
        let env = format!(
            "AWS_ENDPOINT_URL={},AWS_REGION=us-east-1,AWS_ACCESS_KEY_ID=testing,AWS_SECRET_ACCESS_KEY=testing,\
             AWS_EC2_METADATA_DISABLED=true,CONFIRM_WINDOW_SECONDS=5,DEPLOYMENT_GROUP_PATTERN=web/*",
            moto.endpoint()
        );
        // Through a shell that ends the whole group (cargo lambda and the function it runs)
        // when this test process goes away and its stdin closes: statics are never dropped.
        let mut command = Command::new("bash");
        command
            .args(["-c", "\"$@\" & read -r _; kill -TERM 0", "watch"])
            .arg(repo().join(".venv/bin/cargo-lambda"))
            .args(["lambda", "watch", "--ignore-changes", "--quiet", "-A", "127.0.0.1", "-P"])
            .arg(port.to_string())
            .args(["--env-var", &env])
            .current_dir(repo())
            .env("PATH", path_with_venv())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().expect("start cargo lambda watch");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(300), "cargo lambda watch did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        Mutex::new(Watch { port, _child: child })
    })
}

fn lock() -> MutexGuard<'static, Watch> {
    watch()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Invokes the function through the emulator's Lambda Invoke API; returns (HTTP status, body).
fn invoke(watch: &Watch, payload: &Value) -> (u16, Value) {
    let body = payload.to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", watch.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .unwrap();
    write!(
        stream,
        "POST /2015-03-31/functions/codedeploy-tg-hook/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, payload) = response.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let payload =
        serde_json::from_str(payload.trim()).unwrap_or_else(|_| json!({ "raw": payload }));
    (status, payload)
}

#[test]
fn every_acting_shape_repairs_the_group_under_the_lambda_emulator() {
    let watch = lock();
    for (name, shape, status) in [
        ("lw-hook", "lifecycle-hook", ""),
        ("lw-direct", "direct", ""),
        ("lw-sns", "sns", "SUCCEEDED"),
        ("lw-eb", "eventbridge", "SUCCESS"),
    ] {
        let world = moto().world(json!({ "name": name, "status": "Succeeded" }));
        let (code, body) = invoke(&watch, &event(shape, &world.deployment_id, status));
        assert_eq!(code, 200, "{shape}: {body}");
        assert_eq!(body["outcome"], "attached", "{shape}: {body}");
        block_on(moto().assert_fully_attached(&world));
        if shape == "lifecycle-hook" {
            assert_eq!(body["hookStatus"], "Succeeded");
            assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Succeeded"]);
        }
    }
}

#[test]
fn ready_notification_is_ignored_and_bad_input_is_a_function_error() {
    let watch = lock();
    let world = moto().world(json!({ "name": "lw-ready", "status": "Ready" }));
    let (code, body) = invoke(&watch, &event("eventbridge", &world.deployment_id, "READY"));
    assert_eq!(code, 200);
    assert_eq!(body["outcome"], "ignored");
    let (tgs, lbs) = block_on(async {
        let clients = moto().clients().await;
        moto()
            .group_sources(&clients, &world.replacement_group)
            .await
    });
    assert!(tgs.is_empty() && lbs.is_empty());

    let (code, body) = invoke(&watch, &json!({"DeploymentId": ""}));
    assert_ne!(code, 200);
    assert_eq!(body["errorType"], "InvalidEvent", "{body}");

    let (code, body) = invoke(&watch, &json!({"DeploymentId": "d-UNKNOWN77"}));
    assert_ne!(code, 200);
    assert_eq!(body["errorType"], "RepairFailed");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("d-UNKNOWN77"),
        "{body}"
    );
}

/// The function is given `DEPLOYMENT_GROUP_PATTERN` (`web/*` here, as the template passes
/// `DeploymentGroupPattern`): another team's notification is ignored, without a call about it.
#[test]
fn a_notification_of_another_teams_deployment_group_is_ignored_without_a_call() {
    let watch = lock();
    let world = moto().world(json!({ "name": "lw-scope", "status": "Succeeded" }));
    let mut notification = event("eventbridge", &world.deployment_id, "SUCCESS");
    notification["detail"]["application"] = json!("shop");
    let before = moto().requests().len();
    let (code, body) = invoke(&watch, &notification);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["outcome"], "ignored", "{body}");
    assert!(
        body["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("shop/web-dg is outside DeploymentGroupPattern (web/*)"),
        "{body}"
    );
    let asked = moto().requests()[before..].iter().any(|r| {
        r["body"]
            .as_str()
            .unwrap_or_default()
            .contains(&world.deployment_id)
    });
    assert!(!asked, "no AWS call about the ignored deployment");
}

#[test]
fn failed_hook_that_codedeploy_accepted_is_a_normal_return() {
    let watch = lock();
    let world = moto()
        .world(json!({ "name": "lw-hookfail", "extraTargetGroupNames": ["lw-hookfail-gone"] }));
    let (code, body) = invoke(&watch, &event("lifecycle-hook", &world.deployment_id, ""));
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["outcome"], "failed");
    assert_eq!(body["hookStatus"], "Failed");
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
}

fn hook_script(mode: &str, deployment_id: &str, endpoint: (&str, String)) -> Output {
    support::hook_script(mode, deployment_id)
        .env(endpoint.0, endpoint.1)
        .output()
        .expect("run the hook script")
}

#[test]
fn appspec_hook_script_in_lambda_mode_exits_0_on_success_and_1_on_failure() {
    let watch = lock();
    let endpoint = format!("http://127.0.0.1:{}", watch.port);
    let good = moto().world(json!({ "name": "lw-script" }));
    let output = hook_script(
        "lambda",
        &good.deployment_id,
        ("AWS_ENDPOINT_URL_LAMBDA", endpoint.clone()),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    assert!(
        stdout.starts_with("codedeploy-tg-hook OK: ") && stdout.contains("\"attached\""),
        "{stdout}"
    );
    block_on(moto().assert_fully_attached(&good));

    let bad = moto()
        .world(json!({ "name": "lw-scriptbad", "extraTargetGroupNames": ["lw-scriptbad-gone"] }));
    let output = hook_script(
        "lambda",
        &bad.deployment_id,
        ("AWS_ENDPOINT_URL_LAMBDA", endpoint),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    // cargo lambda watch answers a function error with HTTP 500 (Lambda answers 200 with
    // X-Amz-Function-Error), so here the CLI's invoke itself fails: still exit 1, one line.
    assert!(stdout.starts_with("codedeploy-tg-hook FAILED"), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
}

/// Lambda's own answer to a function error (200, FunctionError "Unhandled", the error document
/// as payload), which the emulator does not reproduce: a stand-in `aws` gives exactly that.
#[test]
fn appspec_hook_script_fails_on_lambdas_function_error_answer() {
    let bin = std::env::temp_dir().join(format!("fake-aws-{}", std::process::id()));
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("aws");
    std::fs::write(
        &fake,
        "#!/usr/bin/env bash\nfor last; do :; done\n\
         printf '{\"errorType\":\"RepairFailed\",\"errorMessage\":\"target group(s) not found: web-b\"}' > \"$last\"\n\
         echo Unhandled\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let output = Command::new(repo().join("infra/hooks/after-allow-traffic.sh"))
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("DEPLOYMENT_ID", "d-ABCDEF123")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert_eq!(
        stdout.trim(),
        "codedeploy-tg-hook FAILED (Unhandled): {\"errorType\":\"RepairFailed\",\"errorMessage\":\"target group(s) not found: web-b\"}"
    );
}

#[test]
fn appspec_hook_script_in_binary_mode_exits_0_on_success_and_1_on_failure() {
    let good = moto().world(json!({ "name": "lw-bin" }));
    let output = hook_script(
        "binary",
        &good.deployment_id,
        ("AWS_ENDPOINT_URL", moto().endpoint()),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with("codedeploy-tg-hook OK: "), "{stdout}");
    block_on(moto().assert_fully_attached(&good));

    let output = hook_script(
        "binary",
        "d-NOTREAL01",
        ("AWS_ENDPOINT_URL", moto().endpoint()),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("codedeploy-tg-hook FAILED (exit 1)") && stdout.contains("d-NOTREAL01"),
        "{stdout}"
    );

    let output = hook_script("binary", "", ("AWS_ENDPOINT_URL", moto().endpoint()));
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("DEPLOYMENT_ID is not set"));
}

/// The binary-mode script gives the binary a deadline inside the appspec hook's timeout (120 s in
/// appspec-example.yml), so the binary stops and says why before the agent kills the script.
#[test]
fn appspec_hook_script_in_binary_mode_gives_the_binary_a_deadline_inside_the_hooks_timeout() {
    let bin = std::env::temp_dir().join(format!("fake-bin-{}", std::process::id()));
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("codedeploy-tg-hook");
    std::fs::write(
        &fake,
        "#!/usr/bin/env bash\nprintf '{\"args\": \"%s\"}' \"$*\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let output = support::hook_script("binary", "d-ABCDEF123")
        .env("HOOK_BINARY", &fake)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("attach --deployment-id d-ABCDEF123 --timeout 100"),
        "{stdout}"
    );
    let appspec = std::fs::read_to_string(repo().join("appspec-example.yml")).unwrap();
    assert!(
        appspec.contains("timeout: 120"),
        "100 s must stay inside it"
    );

    // The real binary against a hung endpoint: FAILED with its own diagnosis, in time.
    let own = support::Moto::start();
    let world = own.world(json!({ "name": "lw-late" }));
    own.fault_with("GetDeployment", "hang", 5, &[], json!({"seconds": 30}));
    let started = Instant::now();
    let output = own
        .hook_script(&world.deployment_id)
        .env("HOOK_TIMEOUT", "5")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("ran out of time"), "{stdout}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn the_hook_function_ignores_a_scheduled_event_without_scheduled_audit() {
    let watch = lock();
    // The emulator's function has no SCHEDULED_AUDIT, as the template's hook function: anyone
    // allowed to invoke it (an instance role) cannot make it audit the account.
    let (code, body) = invoke(&watch, &event("scheduled", "", ""));
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["outcome"], "ignored", "{body}");
    assert!(
        body["reason"].as_str().unwrap().contains("SCHEDULED_AUDIT"),
        "{body}"
    );
    assert!(body.get("rows").is_none(), "not an audit report: {body}");
}
