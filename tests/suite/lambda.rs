//! The real binary under a local Lambda emulator (`cargo lambda watch`, installed into .venv by
//! scripts/setup-moto), invoked with each event shape against moto; and the appspec hook script
//! in both its modes.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::support::{block_on, event, moto, path_with_venv, repo};
use serde_json::{json, Value};

struct Watch {
    port: u16,
    /// The emulator's name for the function: the binary it runs, or `_` for a function started
    /// apart (`--only-lambda-apis`).
    function: &'static str,
    // Hold the shells' stdin open for as long as this process lives: the emulator's, and the
    // bootstrap's when one is run apart.
    _children: Vec<Child>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The function's environment, as the template gives it (with moto for AWS).
fn function_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("CONFIRM_WINDOW_SECONDS", "5".into()),
        ("DEPLOYMENT_GROUP_PATTERN", "web/*".into()),
    ]
}

/// Runs `command` through a shell that ends its whole process group when this test process
/// goes away and the shell's stdin closes: statics are never dropped.
fn spawn_owned(program: &std::path::Path, args: &[String], env: &[(&str, String)]) -> Child {
    let mut command = Command::new("bash");
    command
        .args(["-c", "\"$@\" & read -r _; kill -TERM 0", "owned"])
        .arg(program)
        .args(args)
        .current_dir(repo())
        .env("PATH", path_with_venv())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    command.spawn().expect("start a process")
}

/// One emulator for the suite. The function is the crate's Lambda binary
/// (`codedeploy-tg-hook-lambda`, the zip's `bootstrap`), built and run by the emulator; or, with
/// `BOOTSTRAP_UNDER_TEST` naming a program (scripts/check-zip: a built zip's `bootstrap`, under
/// qemu-user for arm64), that program, started apart with the variables Lambda sets (the Runtime
/// API's address given as the emulator's URL), so the same tests judge the deployed artifact.
fn watch() -> &'static Mutex<Watch> {
    static WATCH: OnceLock<Mutex<Watch>> = OnceLock::new();
    WATCH.get_or_init(|| {
        let moto = moto(); // installs .venv (with cargo-lambda) and starts moto first
        let port = free_port();
        let env = function_env(&moto.endpoint());
        let bootstrap = std::env::var_os("BOOTSTRAP_UNDER_TEST");
        let mut args: Vec<String> = [
            "lambda",
            "watch",
            "--ignore-changes",
            "--quiet",
            "-A",
            "127.0.0.1",
            "-P",
        ]
        .map(String::from)
        .to_vec();
        args.push(port.to_string());
        let function = if bootstrap.is_some() {
            "_"
        } else {
            "codedeploy-tg-hook-lambda"
        };
        if bootstrap.is_some() {
            args.push("--only-lambda-apis".into());
        } else {
            let list: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
            // Built as the zip builds it (Cargo.toml's [package.metadata.lambda.build]): without
            // the default features, which the Lambda binary never uses; with them, the
            // emulator's build would compile doctor's EC2 client again, for minutes.
            args.extend([
                "--bin".into(),
                function.into(),
                "--no-default-features".into(),
            ]);
            args.extend(["--env-var".into(), list.join(",")]);
        }
        let mut children = vec![spawn_owned(
            &repo().join(".venv/bin/cargo-lambda"),
            &args,
            &[],
        )];
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "cargo lambda watch did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        if let Some(program) = bootstrap {
            // What Lambda's provided.al2023 sets for a function's bootstrap (the Runtime API
            // address, the function's name, memory and version, its log group and stream).
            let mut env = env;
            env.extend([
                // Lambda gives host:port; the emulator's API is under a path, so a URL.
                (
                    "AWS_LAMBDA_RUNTIME_API",
                    format!("http://127.0.0.1:{port}/.rt"),
                ),
                ("AWS_LAMBDA_FUNCTION_NAME", "codedeploy-tg-hook".into()),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
                ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
                (
                    "AWS_LAMBDA_LOG_GROUP_NAME",
                    "/aws/lambda/codedeploy-tg-hook".into(),
                ),
                ("AWS_LAMBDA_LOG_STREAM_NAME", "tests".into()),
            ]);
            children.push(spawn_owned(std::path::Path::new(&program), &[], &env));
        }
        // Lambda's Invoke on moto's port goes to the emulator (as the function it knows),
        // answered as Lambda answers.
        moto.harness(
            "lambda-proxy",
            json!({ "target": format!("http://127.0.0.1:{port}"), "function": function }),
        );
        Mutex::new(Watch {
            port,
            function,
            _children: children,
        })
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
        "POST /2015-03-31/functions/{}/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        watch.function,
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

/// The reroute as the function sees it at each instance's AfterAllowTraffic (OneAtATime): the
/// first instance's hook waits, the last one's attaches, and each reports Succeeded.
#[test]
fn lifecycle_hooks_of_a_reroute_wait_then_attach_under_the_lambda_emulator() {
    let watch = lock();
    let world = moto().world(json!({ "name": "lw-reroute", "instances": 2, "reroute": "pending" }));
    let id = &world.deployment_id;
    let instances = block_on(async {
        let clients = moto().clients().await;
        moto()
            .instance_ids(&clients, &world.replacement_group)
            .await
    });
    for (i, instance) in instances.iter().enumerate() {
        let batch = std::slice::from_ref(instance);
        moto().lifecycle_event(id, batch, "BeforeAllowTraffic", "Succeeded");
        moto().register(&world, batch);
        moto().lifecycle_event(id, batch, "AllowTraffic", "Succeeded");
        moto().lifecycle_event(id, batch, "AfterAllowTraffic", "InProgress");
        // Each hook execution has its own id (CodeDeploy accepts one status per execution).
        let mut hook = event("lifecycle-hook", id, "");
        hook["LifecycleEventHookExecutionId"] = json!(format!("lw-reroute-execution-{i}"));
        let (code, body) = invoke(&watch, &hook);
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["hookStatus"], "Succeeded", "{body}");
        if i == 0 {
            assert_eq!(body["outcome"], "waiting", "{body}");
            assert!(
                body["reason"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("1 of 2 replacement instances are still to be rerouted"),
                "{body}"
            );
            assert!(moto()
                .attach_calls_naming(&world.replacement_group)
                .is_empty());
        } else {
            assert_eq!(body["outcome"], "attached", "{body}");
        }
        moto().lifecycle_event(id, batch, "AfterAllowTraffic", "Succeeded");
    }
    assert_eq!(moto().hook_reports(id), vec!["Succeeded", "Succeeded"]);
    block_on(moto().assert_fully_attached(&world));
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
    crate::support::hook_script(mode, deployment_id)
        .env(endpoint.0, endpoint.1)
        .output()
        .expect("run the hook script")
}

/// The script's lines: all but the last, and the last (the summary the console keeps).
fn lines_of(output: &Output) -> (Vec<String>, String) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    let last = lines.pop().unwrap_or_default();
    (lines, last)
}

/// The script in `lambda` mode, its invokes through moto's port (the launcher passes them to the
/// emulator and answers as Lambda does, or injects a fault first).
fn lambda_script(deployment_id: &str) -> Command {
    let mut command = crate::support::hook_script("lambda", deployment_id);
    command.env("AWS_ENDPOINT_URL_LAMBDA", moto().endpoint());
    command
}

/// Invoke requests the launcher received for a deployment.
fn invokes_of(deployment_id: &str) -> usize {
    moto().calls_naming("Invoke", deployment_id).len()
}

#[test]
fn appspec_hook_script_in_lambda_mode_exits_0_on_success_and_1_on_failure() {
    let _watch = lock();
    let good = moto().world(json!({ "name": "lw-script" }));
    let output = lambda_script(&good.deployment_id).output().unwrap();
    let (before, last) = lines_of(&output);
    assert_eq!(output.status.code(), Some(0), "{before:?} {last}");
    assert_eq!(
        last,
        format!(
            "codedeploy-tg-hook OK: attached 2 target groups and 1 classic load balancer to {}",
            good.replacement_group
        )
    );
    // The whole outcome, on the line before.
    let outcome: Value = serde_json::from_str(
        before
            .last()
            .and_then(|l| l.strip_prefix("codedeploy-tg-hook outcome: "))
            .expect("the outcome line"),
    )
    .unwrap();
    assert_eq!(outcome["outcome"], "attached");
    block_on(moto().assert_fully_attached(&good));

    // Lambda answers a function error with 200 and X-Amz-Function-Error: the script reads it.
    let bad = moto()
        .world(json!({ "name": "lw-scriptbad", "extraTargetGroupNames": ["lw-scriptbad-gone"] }));
    let output = lambda_script(&bad.deployment_id).output().unwrap();
    let (before, last) = lines_of(&output);
    assert_eq!(output.status.code(), Some(1), "{before:?} {last}");
    assert!(
        last.starts_with(&format!(
            "codedeploy-tg-hook FAILED: failed ({}): ",
            bad.replacement_group
        )) && last.contains("lw-scriptbad-gone"),
        "{last}"
    );
    assert!(
        before[0].starts_with("codedeploy-tg-hook function error (Unhandled): {"),
        "{before:?}"
    );
}

/// Lambda's own answer to a function error, from a stand-in `aws` (the launcher gives the same
/// through the real CLI above): the error message is the summary; the document, the line before.
#[test]
fn appspec_hook_script_fails_on_lambdas_function_error_answer() {
    let bin = std::env::temp_dir().join(format!("fake-aws-{}", std::process::id()));
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("aws");
    std::fs::write(
        &fake,
        "#!/usr/bin/env bash\nfor last; do :; done\n\
         printf '{\"errorType\":\"RepairFailed\",\"errorMessage\":\"failed (CodeDeploy_web-dg_d-ABCDEF123): target group(s) not found: \\\\\"web-b\\\\\"\"}' > \"$last\"\n\
         echo Unhandled\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let output = Command::new(repo().join("infra/hooks/after-allow-traffic.sh"))
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("DEPLOYMENT_ID", "d-ABCDEF123")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let (before, last) = lines_of(&output);
    assert_eq!(output.status.code(), Some(1), "{before:?} {last}");
    assert_eq!(
        last,
        "codedeploy-tg-hook FAILED: failed (CodeDeploy_web-dg_d-ABCDEF123): target group(s) not found: \"web-b\""
    );
    assert_eq!(
        before,
        vec!["codedeploy-tg-hook function error (Unhandled): {\"errorType\":\"RepairFailed\",\"errorMessage\":\"failed (CodeDeploy_web-dg_d-ABCDEF123): target group(s) not found: \\\"web-b\\\"\"}"]
    );
}

/// AWS CLI v1 (Amazon Linux 2) takes no region from instance metadata: with none in the
/// environment, the script asks IMDSv2 (token first) and passes it on.
#[test]
fn appspec_hook_script_in_lambda_mode_takes_the_region_from_instance_metadata() {
    let _watch = lock();
    let world = moto().world(json!({ "name": "lw-region" }));
    let output = lambda_script(&world.deployment_id)
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", moto().endpoint())
        .output()
        .unwrap();
    let (before, last) = lines_of(&output);
    assert_eq!(output.status.code(), Some(0), "{before:?} {last}");
    assert!(
        last.starts_with("codedeploy-tg-hook OK: attached"),
        "{last}"
    );
    block_on(moto().assert_fully_attached(&world));
    let imds: Vec<String> = moto()
        .requests()
        .iter()
        .filter(|r| r["action"] == "IMDS")
        .map(|r| format!("{} {}", r["body"].as_str().unwrap(), r["status"]))
        .collect();
    assert!(
        imds.windows(2).any(|w| w
            == [
                "PUT /latest/api/token 200",
                "GET /latest/meta-data/placement/region 200"
            ]),
        "a token, then the region with it: {imds:?}"
    );
}

#[test]
fn appspec_hook_script_says_in_one_line_when_no_region_can_be_found() {
    for (metadata, why) in [
        (
            None,
            "instance metadata is off (AWS_EC2_METADATA_DISABLED=true)",
        ),
        (
            Some(format!("http://127.0.0.1:{}", free_port())),
            "did not answer",
        ),
    ] {
        let mut command = lambda_script("d-NOREGION1");
        command
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION");
        if let Some(endpoint) = &metadata {
            command
                .env_remove("AWS_EC2_METADATA_DISABLED")
                .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint);
        }
        let output = command.output().unwrap();
        let (before, last) = lines_of(&output);
        assert_eq!(output.status.code(), Some(1), "{before:?} {last}");
        assert_eq!(before.len(), 1, "{before:?}");
        assert!(
            before[0].starts_with(
                "codedeploy-tg-hook: no region: AWS_REGION and AWS_DEFAULT_REGION are not set"
            ) && before[0].contains(why),
            "{before:?}"
        );
        // The AWS CLI's own refusal, in the summary.
        assert!(
            last.starts_with("codedeploy-tg-hook FAILED: could not invoke")
                && last.contains("region"),
            "{last}"
        );
    }
}

#[test]
fn appspec_hook_script_without_the_aws_cli_says_what_to_install() {
    let output = Command::new(repo().join("infra/hooks/after-allow-traffic.sh"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DEPLOYMENT_ID", "d-ABCDEF123")
        .output()
        .unwrap();
    let (before, last) = lines_of(&output);
    assert_eq!(output.status.code(), Some(1), "{before:?} {last}");
    assert!(before.is_empty(), "{before:?}");
    assert!(
        last.starts_with("codedeploy-tg-hook FAILED: the AWS CLI (aws) is not installed")
            && last.contains("HOOK_MODE=binary"),
        "{last}"
    );
}

/// An endpoint that cannot be reached (a private subnet with no route to Lambda): a short
/// connect timeout, a few attempts while one more still fits, then one line saying what could
/// not be reached, well inside the hook's time.
#[test]
fn appspec_hook_script_ends_in_time_naming_an_unreachable_lambda_endpoint() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let output = crate::support::hook_script("lambda", "d-UNREACHB1")
        .env("AWS_ENDPOINT_URL_LAMBDA", &closed)
        .env("HOOK_TIMEOUT", "20")
        .env("HOOK_READ_TIMEOUT", "5")
        .env("HOOK_CONNECT_TIMEOUT", "1")
        .output()
        .unwrap();
    let (before, last) = lines_of(&output);
    assert_eq!(output.status.code(), Some(1), "{before:?} {last}");
    assert!(
        last.starts_with("codedeploy-tg-hook FAILED: could not reach Lambda to invoke codedeploy-tg-hook for d-UNREACHB1")
            && last.contains(&closed)
            && last.contains("VPC endpoint"),
        "{last}"
    );
    // Retried while a whole attempt (a pause, 1 s to connect, 5 s to read) still fitted in
    // HOOK_TIMEOUT, then stopped.
    assert!(
        !before.is_empty()
            && before
                .iter()
                .all(|l| l.starts_with("codedeploy-tg-hook: invoke attempt ")
                    && l.contains("unreachable")),
        "{before:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// A wide reroute invokes the function from many instances at once, and a new account's
/// concurrency is low: Lambda's 429s are retried while there is time, and the run goes through.
#[test]
fn appspec_hook_script_retries_a_throttled_invoke_then_fails_naming_the_fix() {
    let _watch = lock();
    let world = moto().world(json!({ "name": "lw-throttle" }));
    moto().fault("Invoke", "throttle", 2, &[&world.deployment_id]);
    let output = lambda_script(&world.deployment_id).output().unwrap();
    let (before, last) = lines_of(&output);
    assert_eq!(output.status.code(), Some(0), "{before:?} {last}");
    assert!(
        last.starts_with("codedeploy-tg-hook OK: attached"),
        "{last}"
    );
    assert_eq!(
        before
            .iter()
            .filter(|l| l.contains("throttled, again in"))
            .count(),
        2,
        "{before:?}"
    );
    assert_eq!(invokes_of(&world.deployment_id), 3);
    block_on(moto().assert_fully_attached(&world));

    // Throttled throughout: it stops while it can still say so, with the fix.
    let world = moto().world(json!({ "name": "lw-throttled" }));
    moto().fault("Invoke", "throttle", 100, &[&world.deployment_id]);
    let output = lambda_script(&world.deployment_id)
        .env("HOOK_TIMEOUT", "20")
        .env("HOOK_READ_TIMEOUT", "5")
        .env("HOOK_CONNECT_TIMEOUT", "1")
        .output()
        .unwrap();
    let (before, last) = lines_of(&output);
    assert_eq!(output.status.code(), Some(1), "{before:?} {last}");
    assert!(
        last.starts_with(
            "codedeploy-tg-hook FAILED: Lambda throttled every invoke of codedeploy-tg-hook"
        ) && last.contains("TooManyRequestsException")
            && last.contains("reserved concurrency"),
        "{last}"
    );
    assert!(invokes_of(&world.deployment_id) >= 2);
}

#[test]
fn appspec_hook_script_in_binary_mode_exits_0_on_success_and_1_on_failure() {
    let good = moto().world(json!({ "name": "lw-bin" }));
    let output = hook_script(
        "binary",
        &good.deployment_id,
        ("AWS_ENDPOINT_URL", moto().endpoint()),
    );
    let (before, last) = lines_of(&output);
    assert_eq!(output.status.code(), Some(0), "{before:?} {last}");
    assert!(
        last.starts_with(
            "codedeploy-tg-hook OK: attached 2 target groups and 1 classic load balancer to"
        ),
        "{last}"
    );
    assert!(
        before[0].starts_with("codedeploy-tg-hook outcome: {"),
        "{before:?}"
    );
    block_on(moto().assert_fully_attached(&good));

    let output = hook_script(
        "binary",
        "d-NOTREAL01",
        ("AWS_ENDPOINT_URL", moto().endpoint()),
    );
    let (before, last) = lines_of(&output);
    assert_eq!(output.status.code(), Some(1), "{before:?} {last}");
    assert!(
        last.starts_with("codedeploy-tg-hook FAILED: failed: ") && last.contains("d-NOTREAL01"),
        "{last}"
    );

    let output = hook_script("binary", "", ("AWS_ENDPOINT_URL", moto().endpoint()));
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("DEPLOYMENT_ID is not set"));

    let output = crate::support::hook_script("binary", "d-ABCDEF123")
        .env("HOOK_BINARY", "/nonexistent/codedeploy-tg-hook")
        .output()
        .unwrap();
    let (_, last) = lines_of(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        last.starts_with("codedeploy-tg-hook FAILED: HOOK_MODE=binary runs /nonexistent/codedeploy-tg-hook, which is not on this instance"),
        "{last}"
    );
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
        "#!/usr/bin/env bash\nprintf '{\"outcome\": \"skipped\", \"args\": \"%s\"}' \"$*\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let output = crate::support::hook_script("binary", "d-ABCDEF123")
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
    let own = crate::support::Moto::start();
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

/// What the CodeDeploy console (and the API's `logTail`) keeps of a script's output: the Ruby
/// agent's `ScriptLog#append_to_log` (aws-codedeploy-agent,
/// lib/instance_agent/plugins/codedeploy/hook_executor.rb), step for step, quirk included
/// (after each step it subtracts the length of the entry before the one kept). Its entries are
/// `Script - <location>\n`, then `[stdout]` and each line.
fn agent_log_tail(entries: &[String]) -> Vec<String> {
    let mut log: Vec<String> = Vec::new();
    for entry in entries {
        log.push(entry.clone());
        let mut index = log.len();
        let mut remaining_buffer: i64 = 2048;
        let length = |s: &String| s.chars().count() as i64;
        while index > 0 && remaining_buffer - length(&log[index - 1]) > 0 {
            index -= 1;
            // Ruby's @log[index-1]: index 0 reads @log[-1], the newest.
            let at = if index == 0 { log.len() - 1 } else { index - 1 };
            remaining_buffer -= length(&log[at]);
        }
        if index > 0 {
            log.drain(..index);
        }
    }
    log
}

/// The script's stdout as the agent logs it, through `agent_log_tail`.
fn console_tail(output: &Output) -> Vec<String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let entries: Vec<String> =
        std::iter::once("Script - scripts/after-allow-traffic.sh\n".to_owned())
            .chain(stdout.lines().map(|l| format!("[stdout]{l}\n")))
            .collect();
    agent_log_tail(&entries)
}

#[test]
fn the_agents_tail_keeps_the_newest_lines_under_2048_characters_and_none_for_a_longer_last_line() {
    let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        agent_log_tail(&lines(&["a\n", "b\n"])),
        lines(&["a\n", "b\n"])
    );
    let long = "x".repeat(1500);
    assert_eq!(
        agent_log_tail(&lines(&[&long, "short\n"])),
        lines(&["short\n"])
    );
    assert!(agent_log_tail(&lines(&["short\n", &"y".repeat(2048)])).is_empty());
}

#[test]
fn the_summary_survives_the_consoles_tail_for_a_short_and_a_very_long_failure() {
    // Short: an unknown deployment.
    let output = hook_script(
        "binary",
        "d-NOTREAL02",
        ("AWS_ENDPOINT_URL", moto().endpoint()),
    );
    assert_eq!(output.status.code(), Some(1));
    let tail = console_tail(&output);
    let last = tail.last().expect("the console shows a line");
    assert!(
        last.starts_with("[stdout]codedeploy-tg-hook FAILED: failed: ")
            && last.contains("d-NOTREAL02"),
        "{tail:?}"
    );

    // Very long: 80 target groups the deployment group names that do not exist, so the reason
    // and the outcome JSON run to thousands of characters.
    let gone: Vec<String> = (0..80)
        .map(|i| format!("lw-long-target-group-gone-{i:03}"))
        .collect();
    let world = moto().world(json!({ "name": "lw-long", "extraTargetGroupNames": gone }));
    let output = hook_script(
        "binary",
        &world.deployment_id,
        ("AWS_ENDPOINT_URL", moto().endpoint()),
    );
    assert_eq!(output.status.code(), Some(1));
    let (before, summary) = lines_of(&output);
    assert!(
        before.iter().any(|l| l.len() > 2048),
        "the outcome line alone is past the agent's 2,048: {:?}",
        before.iter().map(String::len).collect::<Vec<_>>()
    );
    assert!(summary.len() <= 1000, "{}", summary.len());
    assert!(
        summary.starts_with(&format!(
            "codedeploy-tg-hook FAILED: failed ({}): ",
            world.replacement_group
        )) && summary.contains("lw-long-target-group-gone-000")
            && summary.ends_with("..."),
        "{summary}"
    );
    let tail = console_tail(&output);
    assert_eq!(
        tail.last().map(String::as_str),
        Some(format!("[stdout]{summary}\n").as_str()),
        "{tail:?}"
    );
}

/// The same through the function (`lambda` mode): a long function error's summary survives the
/// tail, and a rollback's run is skipped with exit 0.
#[test]
fn in_lambda_mode_a_long_failure_keeps_its_summary_and_a_rollback_is_skipped() {
    let _watch = lock();
    let gone: Vec<String> = (0..80)
        .map(|i| format!("lw-lnglong-target-group-gone-{i:03}"))
        .collect();
    let world = moto().world(json!({ "name": "lw-lnglong", "extraTargetGroupNames": gone }));
    let output = lambda_script(&world.deployment_id).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let (_, summary) = lines_of(&output);
    assert!(summary.len() <= 1000, "{}", summary.len());
    assert!(
        summary.starts_with(&format!(
            "codedeploy-tg-hook FAILED: failed ({}): ",
            world.replacement_group
        )) && summary.ends_with("..."),
        "{summary}"
    );
    assert_eq!(
        console_tail(&output).last().map(String::as_str),
        Some(format!("[stdout]{summary}\n").as_str())
    );

    let world = moto().world(json!({ "name": "lw-rollback" }));
    let rollback = block_on(moto().rollback(&world, true));
    let output = lambda_script(&rollback).output().unwrap();
    let (before, last) = lines_of(&output);
    assert_eq!(output.status.code(), Some(0), "{before:?} {last}");
    assert!(
        last.starts_with("codedeploy-tg-hook OK: skipped: a rollback (created by codeDeployRollback, rolling back ")
            && last.contains(&world.deployment_id),
        "{last}"
    );
    let (tgs, lbs) = block_on(async {
        moto()
            .group_sources(&moto().clients().await, &world.replacement_group)
            .await
    });
    assert!(tgs.is_empty() && lbs.is_empty());
}
