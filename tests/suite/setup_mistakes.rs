//! What a person sees first when the AWS settings are wrong: one or two lines saying what to
//! set, a refused connection named within seconds, a retried call named as it happens, an
//! endpoint that is not AWS called so, colour only on a terminal.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::moto;
use serde_json::{json, Value};

/// The binary with a clean environment and no AWS settings but those given.
fn binary(settings: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_codedeploy-tg-hook"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir().join("cdtg-no-aws-home"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (name, value) in settings {
        command.env(name, value);
    }
    command
}

fn outcome(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// A port on 127.0.0.1 that nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
    // Dropped here: connections to it are refused.
}

const KEYS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
];

#[test]
fn no_region_and_no_credentials_each_say_what_to_set_in_a_line() {
    let cases: [(&[(&str, &str)], &str); 2] = [
        (&KEYS, "set AWS_REGION"),
        (
            &[("AWS_REGION", "us-east-1")],
            "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ),
    ];
    for (settings, says) in cases {
        let output = binary(settings)
            .args(["attach", "--deployment-id", "d-ABCDEFGHI"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let reason = outcome(&output)["reason"].as_str().unwrap().to_owned();
        assert!(reason.contains(says), "{reason}");
        assert!(!reason.contains('\n'), "one line: {reason}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.lines().count() <= 2 && stderr.len() < 1000,
            "no SDK dump: {stderr}"
        );
    }
}

#[test]
fn a_refused_connection_ends_within_seconds_naming_the_endpoint_and_each_retry_is_said() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let started = Instant::now();
    let output = binary(&[
        KEYS[0],
        KEYS[1],
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", &endpoint),
    ])
    .args(["attach", "--deployment-id", "d-ABCDEFGHI"])
    .output()
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "well inside the default deadline: {:?}",
        started.elapsed()
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let reason = outcome(&output)["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains(&format!(
            "could not connect to {endpoint}: connection refused"
        )) && reason.contains("codedeploy:GetDeployment"),
        "{reason}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    // One line per retry of GetDeployment as it starts (attempts 2 and 3), none after the third
    // attempt, which gives up.
    let retries: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("retrying") && l.contains("codedeploy:GetDeployment"))
        .collect();
    assert_eq!(retries.len(), 2, "{stderr}");
    for (retry, attempt) in retries.iter().zip(["attempt=2", "attempt=3"]) {
        assert!(
            retry.contains("connection refused") && retry.contains(attempt),
            "{retry}"
        );
    }
    assert!(!stderr.contains('\u{1b}'), "no colour when piped: {stderr}");
}

#[test]
fn an_endpoint_that_answers_html_is_called_so_by_attach_and_audit() {
    let world = moto().world(json!({"name": "sm-html"}));
    moto().fault("GetDeployment", "html", 10_000, &[&world.deployment_id]);
    let output = moto()
        .cli()
        .args(["attach", "--deployment-id", &world.deployment_id])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let reason = outcome(&output)["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("codedeploy:GetDeployment")
            && reason.contains("an HTML page")
            && reason.contains(&format!(
                "the call went to {}, not an AWS endpoint",
                moto().endpoint()
            ))
            && reason.contains("AWS_ENDPOINT_URL is"),
        "{reason}"
    );

    // The audit, against an endpoint that answers every listing with a page: never an empty
    // message.
    let own = crate::support::Moto::start();
    own.fault("DescribeAutoScalingGroups", "html", 10_000, &[]);
    let output = own
        .cli()
        .args(["audit", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.contains("autoscaling:DescribeAutoScalingGroups") && said.contains("an HTML page"),
        "{said}"
    );
    assert!(
        !said.contains("Unknown: \n") && !said.ends_with("Unknown: "),
        "{said}"
    );
}

#[test]
fn log_lines_are_coloured_only_on_a_terminal_and_never_with_no_color() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    // `script` gives the binary a terminal.
    let run = |no_color: Option<&str>| {
        let mut command = Command::new("script");
        command
            .args(["-qec"])
            .arg(format!(
                "{} attach --deployment-id d-ABCDEFGHI",
                env!("CARGO_BIN_EXE_codedeploy-tg-hook")
            ))
            .arg("/dev/null")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("TERM", "xterm");
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        String::from_utf8_lossy(&command.output().unwrap().stdout).into_owned()
    };
    let on_a_terminal = run(None);
    assert!(on_a_terminal.contains("retrying"), "{on_a_terminal}");
    assert!(
        on_a_terminal.contains('\u{1b}'),
        "coloured on a terminal: {on_a_terminal}"
    );
    let no_color = run(Some("1"));
    assert!(no_color.contains("retrying"), "{no_color}");
    assert!(!no_color.contains('\u{1b}'), "NO_COLOR: {no_color}");
}
