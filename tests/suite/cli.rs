//! The real binary against moto: `handle` and `attach`, their JSON and exit codes.

use std::io::Write;
use std::process::{Output, Stdio};

use crate::support::{block_on, event, moto, write_temp, Moto};
use serde_json::{json, Value};

fn stdout_json(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {text}"))
}

fn run_with_stdin(moto: &Moto, args: &[&str], stdin: &str) -> Output {
    let mut command = moto.cli();
    command.args(args);
    feed(command, stdin)
}

/// What a group has now: (target group ARNs, classic load balancer names), sorted.
fn sources(group: &str) -> (Vec<String>, Vec<String>) {
    block_on(moto().sources(group))
}

/// `attach --deployment-id ID` against the shared moto.
fn attach(deployment_id: &str) -> Output {
    moto()
        .cli()
        .args(["attach", "--deployment-id", deployment_id])
        .output()
        .unwrap()
}

/// The exit code, or a failure that shows what the binary said.
fn expect_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs a prepared command with `stdin` as its standard input.
fn feed(mut command: std::process::Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn binary");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn handle_lifecycle_hook_file_attaches_reports_and_exits_0() {
    let world = moto().world(json!({"name": "cli-hook"}));
    let file = write_temp(
        "cli-hook",
        &event("lifecycle-hook", &world.deployment_id, ""),
    );
    let output = moto().cli().arg("handle").arg(&file).output().unwrap();
    expect_exit(&output, 0);
    let outcome = stdout_json(&output);
    assert_eq!(outcome["deploymentId"], world.deployment_id.as_str());
    assert_eq!(outcome["outcome"], "attached");
    assert_eq!(outcome["hookStatus"], "Succeeded");
    assert_eq!(
        outcome["autoScalingGroups"],
        json!([world.replacement_group])
    );
    assert_eq!(
        outcome["attached"]["loadBalancerNames"],
        json!(world.load_balancers)
    );
    assert_eq!(
        outcome["attached"]["targetGroupArns"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Succeeded"]);
}

#[test]
fn handle_failure_reports_failed_and_exits_1() {
    let world =
        moto().world(json!({"name": "cli-fail", "extraTargetGroupNames": ["cli-fail-gone"]}));
    let output = run_with_stdin(
        moto(),
        &["handle", "-"],
        &event("lifecycle-hook", &world.deployment_id, "").to_string(),
    );
    assert_eq!(output.status.code(), Some(1));
    let outcome = stdout_json(&output);
    assert_eq!(outcome["outcome"], "failed");
    assert_eq!(outcome["hookStatus"], "Failed");
    assert!(outcome["reason"]
        .as_str()
        .unwrap()
        .contains("cli-fail-gone"));
    assert_eq!(moto().hook_reports(&world.deployment_id), vec!["Failed"]);
}

#[test]
fn handle_invalid_event_exits_2_without_any_aws_call() {
    let own = Moto::start();
    for bad in [
        "{\"DeploymentId\": 7}",
        "not json",
        "{\"foo\": 1}",
        "{\"Records\": [{\"Sns\": {}}]}",
    ] {
        let output = run_with_stdin(&own, &["handle"], bad);
        assert_eq!(output.status.code(), Some(2), "{bad}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("invalid event"), "{bad}: {stderr}");
        assert!(output.stdout.is_empty());
    }
    assert_eq!(
        own.requests(),
        Vec::<Value>::new(),
        "an invalid event must make no AWS call"
    );
}

#[test]
fn handle_ignored_notification_exits_0_without_any_aws_call() {
    let own = Moto::start();
    let output = run_with_stdin(
        &own,
        &["handle"],
        &event("eventbridge", "d-READY0001", "READY").to_string(),
    );
    assert_eq!(output.status.code(), Some(0));
    let outcome = stdout_json(&output);
    assert_eq!(outcome["outcome"], "ignored");
    assert!(outcome["reason"]
        .as_str()
        .unwrap()
        .contains("traffic has not been rerouted"));
    assert_eq!(own.requests(), Vec::<Value>::new());
}

/// Building the clients loads the trust store; with none to load, that says so on stderr (and a
/// debug build's HTTPS client asserts). An event that is only ignored must not get that far.
#[test]
fn handle_ignored_notification_builds_no_clients() {
    let handle = |event: &Value| {
        let mut command = moto().cli();
        command
            .arg("handle")
            .env("SSL_CERT_FILE", "/nonexistent/ca.pem")
            .env("SSL_CERT_DIR", "/nonexistent");
        feed(command, &event.to_string())
    };
    // The control: an event that acts builds the clients, and stderr says the trust store is
    // missing (so the check below can fail).
    let acting = handle(&event("direct", "d-NOTREAL03", ""));
    assert!(
        String::from_utf8_lossy(&acting.stderr).contains("root CA"),
        "the control's clients say their trust store is missing: {}",
        String::from_utf8_lossy(&acting.stderr)
    );
    let output = handle(&event("sns", "d-READY0002", "READY"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout_json(&output)["outcome"], "ignored");
    assert!(
        !stderr.contains("root CA"),
        "clients were built for an ignored event: {stderr}"
    );
}

#[test]
fn attach_dry_run_prints_the_plan_and_changes_nothing() {
    let world = moto().world(json!({"name": "cli-dry", "attachedTargetGroups": 1}));
    let output = moto()
        .cli()
        .args([
            "attach",
            "--deployment-id",
            &world.deployment_id,
            "--dry-run",
        ])
        .output()
        .unwrap();
    expect_exit(&output, 0);
    let outcome = stdout_json(&output);
    assert_eq!(outcome["outcome"], "planned");
    let plan = &outcome["plan"][0];
    assert_eq!(plan["autoScalingGroup"], world.replacement_group.as_str());
    assert_eq!(
        plan["missingTargetGroupArns"],
        json!([world.target_group_arns[1]])
    );
    assert_eq!(
        plan["missingLoadBalancerNames"],
        json!(world.load_balancers)
    );
    let clients = sources(&world.replacement_group);
    assert_eq!(clients, (vec![world.target_group_arns[0].clone()], vec![]));
}

#[test]
fn attach_repairs_one_deployment() {
    let world = moto().world(json!({"name": "cli-attach"}));
    let output = attach(&world.deployment_id);
    expect_exit(&output, 0);
    assert_eq!(stdout_json(&output)["outcome"], "attached");
    let again = attach(&world.deployment_id);
    assert_eq!(stdout_json(&again)["outcome"], "already-attached");
}

#[test]
fn no_command_outside_lambda_is_a_usage_error() {
    let output = moto().cli().output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no command given"));
}

#[test]
fn logs_end_with_one_structured_line_per_run() {
    let world = moto().world(json!({"name": "cli-log"}));
    let output = moto()
        .cli()
        .env("LOG_FORMAT", "json")
        .args(["attach", "--deployment-id", &world.deployment_id])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let finished: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "run finished")
        .collect();
    assert_eq!(finished.len(), 1, "{stderr}");
    let fields = &finished[0]["fields"];
    assert_eq!(fields["deployment_id"], world.deployment_id.as_str());
    assert_eq!(
        fields["auto_scaling_groups"],
        json!([world.replacement_group]).to_string()
    );
    assert_eq!(fields["outcome"], "attached");
    assert!(
        !stderr.contains("testing"),
        "credentials must never be logged: {stderr}"
    );
}

#[test]
fn failure_log_line_carries_deployment_group_and_aws_error_code() {
    let world = moto()
        .world(json!({"name": "cli-faillog", "extraLoadBalancerNames": ["cli-faillog-gone"]}));
    let output = moto()
        .cli()
        .env("LOG_FORMAT", "json")
        .args(["attach", "--deployment-id", &world.deployment_id])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line: Value = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["fields"]["message"] == "run finished")
        .unwrap_or_else(|| panic!("no run finished line: {stderr}"));
    assert_eq!(line["level"], "ERROR");
    let fields = &line["fields"];
    assert_eq!(fields["deployment_id"], world.deployment_id.as_str());
    assert_eq!(
        fields["auto_scaling_groups"],
        json!([world.replacement_group]).to_string()
    );
    assert_eq!(fields["error_code"], "ValidationError");
    assert!(fields["reason"]
        .as_str()
        .unwrap()
        .contains("cli-faillog-gone"));
}

#[test]
fn twenty_attach_processes_at_once_all_succeed_like_an_appspec_hook_on_every_instance() {
    let world =
        moto().world(json!({"name": "cli-herd", "targetGroups": 2, "classicLoadBalancers": 2}));
    let children: Vec<_> = (0..20)
        .map(|_| {
            moto()
                .cli()
                .args(["attach", "--deployment-id", &world.deployment_id])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0));
        let outcome = stdout_json(&output)["outcome"].as_str().unwrap().to_owned();
        assert!(
            outcome == "attached" || outcome == "already-attached",
            "{outcome}"
        );
    }
    let (tgs, lbs) = sources(&world.replacement_group);
    assert_eq!(tgs, world.all_target_groups_sorted());
    assert_eq!(lbs, world.load_balancers);
}

#[test]
fn attach_on_a_superseded_deployment_is_skipped_and_changes_nothing() {
    let world = moto().world(json!({"name": "cli-old", "status": "Succeeded"}));
    moto().supersede(&world);
    let output = attach(&world.deployment_id);
    expect_exit(&output, 0);
    let outcome = stdout_json(&output);
    assert_eq!(outcome["outcome"], "skipped", "{outcome}");
    assert!(
        outcome["reason"].as_str().unwrap().contains("superseded"),
        "{outcome}"
    );
    let sources = sources(&world.replacement_group);
    assert_eq!(sources, (vec![], vec![]));
}

#[test]
fn seconds_that_cannot_be_a_deadline_are_rejected_with_a_clear_message_not_a_panic() {
    let cases: [(&[&str], Option<&str>); 8] = [
        (&["--timeout", "inf"], None),
        (&["--timeout", "1e300"], None),
        (&["--confirm-window", "inf"], None),
        (&["--timeout", "NaN"], None),
        (&["--timeout", "-1"], None),
        (&["--confirm-window", "-0.5"], None),
        (&["--timeout=-3"], None),
        (&[], Some("inf")),
    ];
    for (flags, env) in cases {
        let mut command = moto().cli();
        command
            .args(["attach", "--deployment-id", "d-ABCDEFGH1"])
            .args(flags);
        if let Some(value) = env {
            command.env("CONFIRM_WINDOW_SECONDS", value);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?} {env:?}: {stderr}");
        assert!(
            stderr.contains("finite number of seconds") && !stderr.contains("panicked"),
            "{flags:?} {env:?}: {stderr}"
        );
    }
}

#[test]
fn every_command_rejects_an_empty_or_blank_deployment_id_before_any_call() {
    let before = moto().requests().len();
    for id in ["", "   "] {
        let output = moto()
            .cli()
            .args(["attach", "--deployment-id", id])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "attach {id:?}: {stderr}");
        assert!(stderr.contains("must not be empty or blank"), "{stderr}");
        let output = run_with_stdin(
            moto(),
            &["handle", "-"],
            &json!({ "DeploymentId": id }).to_string(),
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "handle {id:?}: {stderr}");
        assert!(
            stderr.contains("DeploymentId must be a non-empty string"),
            "{stderr}"
        );
    }
    // Requests from other tests may interleave; none of ours names an empty id.
    let ours = moto().requests()[before..]
        .iter()
        .filter(|r| {
            r["action"] == "GetDeployment"
                && r["body"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("\"deploymentId\": \"\"")
        })
        .count();
    assert_eq!(ours, 0, "no call for an empty deployment id");
}

/// The binary is linked as a fixed-address executable (ELF type `ET_EXEC`), not a
/// position-independent one (`ET_DYN`): the loader applies no relocations at each start
/// (build.rs says why).
#[cfg(target_os = "linux")]
#[test]
fn the_binary_is_linked_at_a_fixed_address() {
    use std::io::Read;
    let mut header = [0u8; 18];
    std::fs::File::open(env!("CARGO_BIN_EXE_codedeploy-tg-hook"))
        .and_then(|mut file| file.read_exact(&mut header))
        .expect("read the binary's ELF header");
    assert_eq!(&header[..4], b"\x7fELF");
    let elf_type = u16::from_le_bytes([header[16], header[17]]);
    assert_eq!(elf_type, 2, "ET_EXEC (2), not ET_DYN (3): a PIE build");
}

/// The deployment zip's `bootstrap` (`codedeploy-tg-hook-lambda`) only serves Lambda: started by
/// hand, it says what it is and where the command line is, and exits 2 without a call.
#[test]
fn the_lambda_binary_outside_lambda_names_the_command_line_and_exits_2() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_codedeploy-tg-hook-lambda"))
        .arg("handle")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    expect_exit(&output, 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("AWS_LAMBDA_RUNTIME_API is not set")
            && stderr.contains("the command line is codedeploy-tg-hook"),
        "{stderr}"
    );
}

/// The exit codes are decided by one list (`cli::exit::MEANINGS`): the README's table is that
/// list, row for row, and `--help` gives every code with its meaning.
#[test]
fn the_readme_s_exit_codes_are_the_list_the_code_decides_by_and_help_gives_them() {
    use codedeploy_tg_hook::entry::cli::exit;
    let readme = std::fs::read_to_string(crate::support::repo().join("README.md")).unwrap();
    let table = &readme[readme
        .find("### Exit codes")
        .expect("the README's exit codes")..];
    let rows: Vec<(u8, String)> = table
        .lines()
        .skip_while(|l| !l.starts_with("| 0 |"))
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let (code, meaning) = l.trim_matches('|').split_once('|').unwrap();
            (code.trim().parse().unwrap(), meaning.trim().to_owned())
        })
        .collect();
    let listed: Vec<(u8, String)> = exit::MEANINGS
        .iter()
        .map(|(code, meaning)| (*code, (*meaning).to_owned()))
        .collect();
    assert_eq!(
        rows, listed,
        "README.md's table (left), cli::exit::MEANINGS (right)"
    );

    let help = std::process::Command::new(env!("CARGO_BIN_EXE_codedeploy-tg-hook"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for (code, meaning) in exit::MEANINGS {
        assert!(
            text.contains(&format!("  {code}  {}", meaning.replace('`', ""))),
            "{code} in --help: {text}"
        );
    }
}
