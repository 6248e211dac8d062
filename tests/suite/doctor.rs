//! `doctor` against moto: a deployment group set up as the template and README say is all ok;
//! each single setup mistake is one named problem (exit 3); what cannot be checked is `unknown`
//! (exit 1), never a crash. The function's role carries the template's own policy, rendered
//! (tests/suite/support/moto_launcher.py `build_doctor_world`), and IAM's decisions come from
//! SimulatePrincipalPolicy over it.

use std::path::{Path, PathBuf};

use crate::support::{moto, repo, Moto};
use serde_json::{json, Value};

/// A doctor world (see the launcher's `build_doctor_world`) named `name`.
fn world(moto: &Moto, name: &str, spec: Value) -> Value {
    let mut spec = spec;
    spec["name"] = json!(name);
    moto.harness("doctor-world", spec)
}

/// `doctor` through the real binary: its exit code and JSON checklist.
fn doctor(moto: &Moto, world: &Value, args: &[&str]) -> (i32, Vec<Value>) {
    let output = moto
        .cli()
        .arg("doctor")
        .args(["--application", world["applicationName"].as_str().unwrap()])
        .args([
            "--deployment-group",
            world["deploymentGroupName"].as_str().unwrap(),
        ])
        .args(args)
        .args(["--output", "json"])
        .output()
        .expect("run doctor");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor JSON ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let code = output.status.code().expect("an exit code");
    assert_eq!(report["exitCode"], code, "{report}");
    (code, report["checks"].as_array().unwrap().clone())
}

fn with_function(world: &Value) -> [&str; 2] {
    ["--function", world["functionName"].as_str().unwrap()]
}

fn of_status<'a>(checks: &'a [Value], status: &str) -> Vec<&'a Value> {
    checks.iter().filter(|c| c["status"] == status).collect()
}

/// The one problem of a checklist that must have exactly one, with its fix.
fn the_problem(code: i32, checks: &[Value]) -> (String, String) {
    let problems = of_status(checks, "problem");
    assert_eq!(problems.len(), 1, "exactly one problem: {checks:#?}");
    assert_eq!(code, 3, "{checks:#?}");
    assert!(of_status(checks, "unknown").is_empty(), "{checks:#?}");
    (
        problems[0]["finding"].as_str().unwrap().to_owned(),
        problems[0]["fix"]
            .as_str()
            .expect("a problem has its fix")
            .to_owned(),
    )
}

/// The one unknown line of a checklist that has no problem and exactly one unknown (exit 1).
fn the_unknown(code: i32, checks: &[Value]) -> String {
    let unknown = of_status(checks, "unknown");
    assert_eq!(unknown.len(), 1, "exactly one unknown: {checks:#?}");
    assert_eq!(code, 1, "{checks:#?}");
    unknown[0]["finding"].as_str().unwrap().to_owned()
}

/// A revision folder: appspec.yml with the AfterAllowTraffic hook (`timeout`), and the shipped
/// script beside it invoking `function`.
fn revision(name: &str, function: &str, timeout: u32) -> PathBuf {
    revision_in_mode(name, function, timeout, "lambda")
}

/// `revision`, with the script's `HOOK_MODE` set at its top, as the README says to.
fn revision_in_mode(name: &str, function: &str, timeout: u32, mode: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("cdtg-doctor-{}-{name}", std::process::id()));
    std::fs::create_dir_all(root.join("scripts")).unwrap();
    let appspec = std::fs::read_to_string(repo().join("appspec-example.yml"))
        .unwrap()
        .replace("timeout: 120", &format!("timeout: {timeout}"));
    std::fs::write(root.join("appspec.yml"), appspec).unwrap();
    let script = std::fs::read_to_string(repo().join("infra/hooks/after-allow-traffic.sh"))
        .unwrap()
        .replace(
            "HOOK_FUNCTION_NAME:-codedeploy-tg-hook}",
            &format!("HOOK_FUNCTION_NAME:-{function}}}"),
        )
        .replacen(
            "HOOK_MODE=\"${HOOK_MODE:-lambda}\"",
            &format!("HOOK_MODE=\"${{HOOK_MODE:-lambda}}\"\nHOOK_MODE={mode}"),
            1,
        );
    std::fs::write(root.join("scripts/after-allow-traffic.sh"), script).unwrap();
    root.join("appspec.yml")
}

/// A revision (`revision`) whose shipped script has `lines` at its top (after the shebang), as the README
/// says to set its settings; `crlf` saves it with Windows line endings.
fn revision_with_top(name: &str, function: &str, lines: &str, crlf: bool) -> PathBuf {
    let appspec = revision(name, function, 120);
    let script_path = appspec
        .parent()
        .unwrap()
        .join("scripts/after-allow-traffic.sh");
    let script =
        std::fs::read_to_string(&script_path)
            .unwrap()
            .replacen('\n', &format!("\n{lines}\n"), 1);
    let script = if crlf {
        script.replace('\n', "\r\n")
    } else {
        script
    };
    std::fs::write(script_path, script).unwrap();
    appspec
}

/// `doctor` with `--appspec` and the world's own `--function`.
fn doctor_appspec_function(moto: &Moto, world: &Value, appspec: &Path) -> (i32, Vec<Value>) {
    doctor(
        moto,
        world,
        &[
            "--appspec",
            path(appspec),
            "--function",
            world["functionName"].as_str().unwrap(),
        ],
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_deployment_group_set_up_as_the_template_and_readme_say_is_all_ok() {
    let moto = moto();
    let w = world(
        moto,
        "dr-ok",
        json!({"successTopic": true, "eventBridgeRule": true, "audit": true}),
    );
    let appspec = revision("dr-ok", w["functionName"].as_str().unwrap(), 120);
    // No --function: the appspec's script names it.
    let (code, checks) = doctor(moto, &w, &["--appspec", path(&appspec)]);
    assert_eq!(code, 0, "{checks:#?}");
    assert!(
        checks
            .iter()
            .all(|c| c["status"] == "ok" || c["status"] == "info"),
        "{checks:#?}"
    );
    let text: Vec<&str> = checks
        .iter()
        .map(|c| c["finding"].as_str().unwrap())
        .collect();
    let has = |needle: &str| text.iter().any(|t| t.contains(needle));
    // Every topic was checked, IAM asked about every call of the function.
    for needle in [
        "dr-ok-app/dr-ok_dg: Server (EC2/On-Premises), blue/green with traffic control",
        "COPY_AUTO_SCALING_GROUP",
        "target groups exist: dr-ok-tg0, dr-ok-tg1",
        "classic load balancers exist: dr-ok-clb0",
        "dr-ok-blue exists and has its 2 target group(s) and 1 classic load balancer(s) attached",
        "CodeDeployDefault.OneAtATime: traffic moves to one replacement instance at a time",
        "dr-ok-hook exists: timeout 60 s",
        "role/dr-ok-function may make every call the function makes on this deployment group's resources (14 action(s), allowed)",
        "role/dr-ok-instance (instance profile dr-ok-profile, from dr-ok-blue) may call lambda:InvokeFunction",
        "AfterAllowTraffic runs scripts/after-allow-traffic.sh (HOOK_MODE=lambda), timeout 120 s",
        "a DeploymentSuccess trigger publishes to arn:aws:sns:us-east-1:123456789012:dr-ok-deployments, which may invoke the function",
        "an EventBridge rule may invoke the function on success",
        "the scheduled audit is on: dr-ok-hook-audit, reporting",
    ] {
        assert!(has(needle), "{needle}: {text:#?}");
    }
    // IAM was asked, on the resources this deployment group will use.
    let simulated = moto.calls_naming("SimulatePrincipalPolicy", "dr-ok-function");
    let bodies: String = simulated
        .iter()
        .map(|r| r["body"].as_str().unwrap().to_owned())
        .collect();
    for resource in [
        "deploymentgroup%3Adr-ok-app%2Fdr-ok_dg",
        "autoScalingGroupName%2FCodeDeploy_dr-ok_dg_d-EXAMPLE01",
        "targetgroup%2Fdr-ok-tg0",
        "loadbalancer%2Fdr-ok-clb0",
        "ResourceArns.member.1=%2A",
    ] {
        assert!(bodies.contains(resource), "{resource}: {bodies}");
    }
}

#[test]
fn safety_nets_that_are_off_are_reported_never_a_problem() {
    let moto = moto();
    let w = world(moto, "dr-nets", json!({}));
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    assert_eq!(code, 0, "{checks:#?}");
    let nets: Vec<&Value> = checks
        .iter()
        .filter(|c| c["topic"] == "safety-nets")
        .collect();
    assert_eq!(nets.len(), 3, "{nets:#?}");
    assert!(nets.iter().all(|c| c["status"] == "info"), "{nets:#?}");
    assert!(nets[0]["finding"]
        .as_str()
        .unwrap()
        .starts_with("no DeploymentSuccess trigger"));
    assert!(nets[1]["finding"]
        .as_str()
        .unwrap()
        .starts_with("no EventBridge rule"));
    assert!(nets[2]["finding"]
        .as_str()
        .unwrap()
        .starts_with("no scheduled audit"));
}

#[test]
fn an_instance_role_that_may_not_invoke_the_function_is_one_problem() {
    let moto = moto();
    let w = world(moto, "dr-invoke", json!({"instanceRoleInvoke": false}));
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    let (finding, fix) = the_problem(code, &checks);
    assert!(
        finding.contains("role/dr-invoke-instance")
            && finding.contains("may not call lambda:InvokeFunction on arn:aws:lambda:us-east-1:123456789012:function:dr-invoke-hook (implicitDeny)"),
        "{finding}"
    );
    assert!(
        fix.contains("attach-role-policy --role-name dr-invoke-instance")
            && fix.contains("InvokeFunctionPolicyArn"),
        "{fix}"
    );
}

#[test]
fn a_function_role_missing_an_action_is_one_problem_naming_the_action_and_resource() {
    let moto = moto();
    let w = world(
        moto,
        "dr-missing",
        json!({"functionRoleWithout": ["codedeploy:ListDeployments"]}),
    );
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    let (finding, fix) = the_problem(code, &checks);
    assert!(
        finding.contains("role/dr-missing-function may not call codedeploy:ListDeployments on arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:dr-missing-app/dr-missing_dg (implicitDeny)"),
        "{finding}"
    );
    assert!(fix.contains("DeploymentGroupPattern"), "{fix}");
}

#[test]
fn an_action_scoped_where_it_has_no_resource_type_is_one_problem() {
    let moto = moto();
    let w = world(
        moto,
        "dr-scoped",
        json!({"scopedToDeploymentGroup": ["codedeploy:ListDeploymentTargets"]}),
    );
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    let (finding, fix) = the_problem(code, &checks);
    assert!(
        finding.contains("may not call codedeploy:ListDeploymentTargets on * (implicitDeny)"),
        "{finding}"
    );
    assert!(
        fix.contains("no resource type") && fix.contains("\"*\""),
        "{fix}"
    );
}

#[test]
fn a_deleted_target_group_is_one_problem() {
    let moto = moto();
    let w = world(moto, "dr-deleted", json!({"deleteTargetGroup": true}));
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    let (finding, _) = the_problem(code, &checks);
    assert_eq!(
        finding,
        "target group(s) named by the deployment group do not exist: dr-deleted-tg0"
    );
}

#[test]
fn a_deployment_group_pattern_that_leaves_the_group_out_is_one_problem() {
    let moto = moto();
    // The stack's DeploymentGroupPattern scopes both the function's notifications and its role.
    let w = world(
        moto,
        "dr-pattern",
        json!({"parameters": {"DeploymentGroupPattern": "other/*"}}),
    );
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    let (finding, fix) = the_problem(code, &checks);
    assert!(
        finding
            .contains("DEPLOYMENT_GROUP_PATTERN other/* leaves out dr-pattern-app/dr-pattern_dg"),
        "{finding}"
    );
    assert!(fix.contains("DeploymentGroupPattern"), "{fix}");
}

#[test]
fn an_in_place_deployment_group_is_one_problem() {
    let moto = moto();
    let w = world(
        moto,
        "dr-inplace",
        json!({
            "deploymentType": "IN_PLACE",
            "deploymentOption": "WITHOUT_TRAFFIC_CONTROL",
            "blueGreenConfiguration": false
        }),
    );
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    let (finding, _) = the_problem(code, &checks);
    assert!(
        finding.starts_with("deployment type IN_PLACE WITHOUT_TRAFFIC_CONTROL"),
        "{finding}"
    );
}

#[test]
fn an_appspec_hook_timeout_not_above_the_functions_is_one_problem() {
    let moto = moto();
    let w = world(moto, "dr-short", json!({}));
    let appspec = revision("dr-short", w["functionName"].as_str().unwrap(), 45);
    let (code, checks) = doctor(moto, &w, &["--appspec", path(&appspec)]);
    let (finding, fix) = the_problem(code, &checks);
    assert!(
        finding.contains("the hook's timeout 45 s is not above the function's 60 s"),
        "{finding}"
    );
    assert!(
        finding.contains("(nor the script's 100 s: up to 4 s for the region, HOOK_CONNECT_TIMEOUT 5 s and HOOK_READ_TIMEOUT 70 s; retries within HOOK_TIMEOUT 100 s)"),
        "{finding}"
    );
    assert!(
        fix.contains("raise the AfterAllowTraffic timeout to at least 105"),
        "{fix}"
    );
}

#[test]
fn in_binary_mode_the_instance_role_needs_every_call_the_function_makes() {
    let moto = moto();
    // The instance role has only the invoke policy: enough for lambda mode, not for binary mode.
    let w = world(moto, "dr-binary", json!({}));
    let appspec = revision_in_mode("dr-binary", "no-such-function", 120, "binary");
    let (code, checks) = doctor(moto, &w, &["--appspec", path(&appspec)]);
    assert_eq!(code, 3, "{checks:#?}");
    // Every call `attach` makes was asked about, and denied: one cause, one problem.
    let problems = of_status(&checks, "problem");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let finding = problems[0]["finding"].as_str().unwrap();
    assert!(
        finding.contains("role/dr-binary-instance")
            && finding.contains("may make none of the 13 calls"),
        "{finding}"
    );
    // No function is needed in this mode: said, not a problem.
    assert!(checks
        .iter()
        .any(|c| c["status"] == "info"
            && c["finding"].as_str().unwrap().contains("HOOK_MODE=binary")));
}

#[test]
fn a_caller_that_may_not_simulate_gets_unknown_naming_the_permission_not_a_crash() {
    let moto = moto();
    let w = world(moto, "dr-nosim", json!({}));
    moto.fault_with(
        "SimulatePrincipalPolicy",
        "access-denied",
        100,
        &["dr-nosim"],
        json!({"service": "iam"}),
    );
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    assert_eq!(code, 1, "{checks:#?}");
    assert!(of_status(&checks, "problem").is_empty(), "{checks:#?}");
    let unknown = of_status(&checks, "unknown");
    assert_eq!(
        unknown.len(),
        2,
        "the function's role and the instance role: {unknown:#?}"
    );
    for check in unknown {
        assert_eq!(check["topic"], "permissions");
        assert!(
            check["finding"]
                .as_str()
                .unwrap()
                .contains("the caller may not call iam:SimulatePrincipalPolicy"),
            "{check}"
        );
    }
}

#[test]
fn answers_that_are_not_aws_s_leave_the_check_unknown_naming_the_call() {
    let moto = moto();
    let w = world(moto, "dr-html", json!({}));
    moto.fault(
        "SimulatePrincipalPolicy",
        "html",
        100,
        &["dr-html-function"],
    );
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    assert_eq!(code, 1, "{checks:#?}");
    let unknown = of_status(&checks, "unknown");
    assert_eq!(unknown.len(), 1, "{checks:#?}");
    let finding = unknown[0]["finding"].as_str().unwrap();
    assert!(
        finding.contains("iam:SimulatePrincipalPolicy failed: MalformedAnswer: answered HTTP 200 with an HTML page"),
        "{finding}"
    );
    // The instance role's own question was answered.
    assert!(checks.iter().any(
        |c| c["status"] == "ok" && c["finding"].as_str().unwrap().contains("dr-html-instance")
    ));
}

/// The ok line for the instance role a group's launch source gave, or the checklist.
fn instance_role_ok(checks: &[Value], name: &str, group: &str) -> bool {
    checks.iter().any(|c| {
        c["status"] == "ok"
            && c["finding"].as_str().unwrap().contains(&format!(
                "role/{name}-instance (instance profile {name}-profile, from {group}) may call lambda:InvokeFunction"
            ))
    })
}

#[test]
fn a_launch_template_group_s_instance_role_is_read_from_the_version_it_launches() {
    let moto = moto();
    // Each: how the group names its template, and the role is checked without --instance-profile.
    for (name, template) in [
        ("dr-lt-default", json!(true)),
        // Version 1 (the default) gives no profile, version 2 does: $Latest is version 2.
        (
            "dr-lt-latest",
            json!({"versions": ["none", "profile"], "version": "$Latest", "by": "id"}),
        ),
        (
            "dr-lt-number",
            json!({"versions": ["none", "profile"], "version": "2"}),
        ),
        // Named without a version: Auto Scaling's default, $Default.
        (
            "dr-lt-unversioned",
            json!({"versions": ["profile", "none"], "version": null}),
        ),
        // The profile given by ARN; the template in a mixed instances policy.
        ("dr-lt-mixed", json!({"versions": ["arn"], "mixed": true})),
    ] {
        let w = world(moto, name, json!({"launchTemplate": template}));
        let (code, checks) = doctor(moto, &w, &with_function(&w));
        assert_eq!(code, 0, "{name}: {checks:#?}");
        let group = w["originalGroup"].as_str().unwrap();
        let found = if name == "dr-lt-mixed" {
            checks.iter().any(|c| {
                c["status"] == "ok"
                    && c["finding"].as_str().unwrap().contains(&format!(
                        "(instance profile arn:aws:iam::123456789012:instance-profile/{name}-profile, from {group}) may call lambda:InvokeFunction"
                    ))
            })
        } else {
            instance_role_ok(&checks, name, group)
        };
        assert!(found, "{name}: {checks:#?}");
    }

    // --instance-profile still names the profile in place of the template's.
    let w = world(moto, "dr-lt-given", json!({"launchTemplate": true}));
    let mut args = with_function(&w).to_vec();
    args.extend(["--instance-profile", "dr-lt-given-profile"]);
    let (code, checks) = doctor(moto, &w, &args);
    assert_eq!(code, 0, "{checks:#?}");
    assert!(
        checks.iter().any(|c| c["status"] == "ok"
            && c["finding"].as_str().unwrap().contains(
                "(instance profile dr-lt-given-profile, as given by --instance-profile) may call lambda:InvokeFunction"
            )),
        "{checks:#?}"
    );
}

#[test]
fn a_launch_template_version_without_an_instance_profile_is_one_problem() {
    let moto = moto();
    for (name, template, said) in [
        // The default version gives none (a later one does, but the group launches $Default).
        (
            "dr-lt-noprofile",
            json!({"versions": ["none", "profile"]}),
            "dr-lt-noprofile-blue's launch template dr-lt-noprofile-lt (version $Default) gives its instances no instance profile",
        ),
        (
            "dr-lt-v1",
            json!({"versions": ["profile", "none"], "version": "2", "by": "id"}),
            "(version 2) gives its instances no instance profile",
        ),
        // A mixed instances policy's override launches one instance type from a template
        // without a profile.
        (
            "dr-lt-override",
            json!({"mixed": true, "override": "dr-lt-override-small"}),
            "dr-lt-override-blue's launch template dr-lt-override-small (version $Latest) gives its instances no instance profile",
        ),
    ] {
        let w = world(moto, name, json!({"launchTemplate": template}));
        let (code, checks) = doctor(moto, &w, &with_function(&w));
        let (finding, fix) = the_problem(code, &checks);
        assert!(finding.contains(said), "{name}: {finding}");
        assert!(fix.contains("InvokeFunctionPolicyArn"), "{fix}");
    }
}

#[test]
fn every_group_the_deployment_group_names_has_its_instance_role_checked() {
    let moto = moto();
    // The second group launches from a launch template whose profile's role may not invoke.
    let w = world(
        moto,
        "dr-two",
        json!({"secondGroup": {"invoke": false, "launchTemplate": true}}),
    );
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    let (finding, fix) = the_problem(code, &checks);
    assert!(
        finding.contains("role/dr-two-instance2 (instance profile dr-two-profile2, from dr-two-blue2) may not call lambda:InvokeFunction"),
        "{finding}"
    );
    assert!(fix.contains("--role-name dr-two-instance2"), "{fix}");
    assert!(
        instance_role_ok(&checks, "dr-two", "dr-two-blue"),
        "{checks:#?}"
    );

    // A second group with its own profile, whose role may invoke: its own ok line.
    let w = world(moto, "dr-own", json!({"secondGroup": {}}));
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    assert_eq!(code, 0, "{checks:#?}");
    assert!(
        instance_role_ok(&checks, "dr-own", "dr-own-blue"),
        "{checks:#?}"
    );
    assert!(
        checks.iter().any(|c| c["status"] == "ok"
            && c["finding"]
                .as_str()
                .unwrap()
                .contains("(instance profile dr-own-profile2, from dr-own-blue2) may call")),
        "{checks:#?}"
    );

    // Both groups launching with the same profile (the second's template gives it by ARN):
    // checked once, its line naming both groups.
    let w = world(
        moto,
        "dr-same",
        json!({"secondGroup": {"sameProfile": true, "launchTemplate": {"versions": ["arn"]}}}),
    );
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    assert_eq!(code, 0, "{checks:#?}");
    let profile_lines: Vec<_> = checks
        .iter()
        .filter(|c| {
            c["finding"]
                .as_str()
                .unwrap()
                .contains("(instance profile ")
        })
        .collect();
    assert_eq!(profile_lines.len(), 1, "{checks:#?}");
    assert!(
        profile_lines[0]["finding"].as_str().unwrap().contains(
            "role/dr-same-instance (instance profile dr-same-profile, from dr-same-blue, dr-same-blue2) may call lambda:InvokeFunction"
        ),
        "{profile_lines:#?}"
    );
}

#[test]
fn a_launch_template_doctor_cannot_read_is_unknown_naming_the_call() {
    let moto = moto();
    // EC2 refuses the caller.
    let w = world(moto, "dr-lt-denied", json!({"launchTemplate": true}));
    moto.fault_with(
        "DescribeLaunchTemplateVersions",
        "access-denied",
        100,
        &[w["launchTemplateId"].as_str().unwrap()],
        json!({"service": "ec2"}),
    );
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    let finding = the_unknown(code, &checks);
    assert!(
        finding.contains("could not read the instance role of dr-lt-denied-blue (launch template dr-lt-denied-lt (version $Default))")
            && finding.contains("ec2:DescribeLaunchTemplateVersions")
            && finding.contains("UnauthorizedOperation"),
        "{finding}"
    );

    // The template is gone from under the group.
    let w = world(
        moto,
        "dr-lt-gone",
        json!({"launchTemplate": true, "deleteLaunchTemplate": true}),
    );
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    let finding = the_unknown(code, &checks);
    assert!(
        finding.contains("could not read the instance role of dr-lt-gone-blue")
            && finding.contains("ec2:DescribeLaunchTemplateVersions"),
        "{finding}"
    );
}

#[test]
fn an_unknown_deployment_group_is_a_problem_and_the_text_checklist_says_so() {
    let moto = moto();
    let output = moto
        .cli()
        .args([
            "doctor",
            "--application",
            "nowhere",
            "--deployment-group",
            "none",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(
            "deployment group\n  problem  CodeDeploy has no deployment group nowhere/none\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("function\n  problem  Lambda has no function codedeploy-tg-hook\n"),
        "{text}"
    );
}

#[test]
fn a_load_balancer_answer_without_the_name_is_unknown_not_a_deleted_load_balancer() {
    let moto = moto();
    let w = world(moto, "dr-empty", json!({}));
    // A well-formed DescribeLoadBalancers answer that lists nothing, without LoadBalancerNotFound.
    let empty = "<DescribeLoadBalancersResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2012-06-01/\">\
        <DescribeLoadBalancersResult><LoadBalancerDescriptions/></DescribeLoadBalancersResult>\
        <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>";
    moto.fault_with(
        "DescribeLoadBalancers",
        "answer",
        100,
        &["dr-empty-clb0"],
        json!({ "body": empty }),
    );
    let (code, checks) = doctor(moto, &w, &with_function(&w));
    assert_eq!(code, 1, "{checks:#?}");
    assert!(of_status(&checks, "problem").is_empty(), "{checks:#?}");
    assert!(
        checks.iter().any(|c| c["status"] == "unknown"
            && c["finding"].as_str().unwrap().contains(
                "elasticloadbalancing:DescribeLoadBalancers failed: IncompleteAnswer: answered without dr-empty-clb0"
            )),
        "{checks:#?}"
    );
}

/// The README's instruction, followed: the function name set at the script's top is the one the
/// script invokes, and doctor checks that one (here it does not exist), not the default below it.
#[test]
fn settings_at_the_scripts_top_are_read_as_bash_runs_them() {
    let moto = moto();
    let w = world(moto, "dr-top", json!({}));
    let appspec = revision_with_top(
        "dr-top",
        "dr-top-hook",
        "HOOK_FUNCTION_NAME=\"web-hook\"",
        false,
    );
    let (code, checks) = doctor(moto, &w, &["--appspec", path(&appspec)]);
    assert_eq!(code, 3, "{checks:#?}");
    assert!(
        of_status(&checks, "problem")
            .iter()
            .any(|c| c["finding"] == "Lambda has no function web-hook"),
        "{checks:#?}"
    );

    // Given the real function, the script's own name is the problem.
    let (code, checks) = doctor_appspec_function(moto, &w, &appspec);
    let (finding, _) = the_problem(code, &checks);
    assert!(
        finding.contains("invokes web-hook, not dr-top-hook"),
        "{finding}"
    );

    // A value from a file doctor cannot read: unknown (exit 1), naming the line; without
    // --function, no function is checked in its place (not the default's problems).
    let appspec = revision_with_top(
        "dr-top-src",
        "dr-top-hook",
        ". /etc/codedeploy-hook.env",
        false,
    );
    let (code, checks) = doctor(moto, &w, &["--appspec", path(&appspec)]);
    assert_eq!(code, 1, "{checks:#?}");
    assert!(of_status(&checks, "problem").is_empty(), "{checks:#?}");
    assert!(
        of_status(&checks, "unknown").iter().any(|c| c["finding"]
            .as_str()
            .unwrap()
            .contains("HOOK_FUNCTION_NAME cannot be told (line 2")),
        "{checks:#?}"
    );
    let (code, checks) = doctor_appspec_function(moto, &w, &appspec);
    // (`revision` sets HOOK_MODE plainly below the sourced file, so the mode is known.)
    assert_eq!(code, 1, "{checks:#?}");
    assert!(
        of_status(&checks, "unknown")
            .iter()
            .any(|c| c["finding"].as_str().unwrap().contains(
                "HOOK_FUNCTION_NAME cannot be told from line 2: it runs `.`, which may set it"
            )),
        "{checks:#?}"
    );
}

#[test]
fn a_script_saved_with_windows_line_endings_is_one_problem() {
    let moto = moto();
    let w = world(moto, "dr-crlf", json!({}));
    let appspec = revision_with_top("dr-crlf", "dr-crlf-hook", "# saved on Windows", true);
    let (code, checks) = doctor_appspec_function(moto, &w, &appspec);
    let (finding, fix) = the_problem(code, &checks);
    assert!(
        finding.contains("has Windows line endings (CR LF)"),
        "{finding}"
    );
    assert!(fix.contains("Unix line endings"), "{fix}");
}

/// A script that is in the revision but is not text doctor can read is `unknown` with the
/// reason, not "not in the revision".
#[test]
fn a_script_that_is_not_utf8_is_unknown_naming_why() {
    let moto = moto();
    let w = world(moto, "dr-bytes", json!({}));
    let appspec = revision("dr-bytes", "dr-bytes-hook", 120);
    std::fs::write(
        appspec
            .parent()
            .unwrap()
            .join("scripts/after-allow-traffic.sh"),
        b"#!/usr/bin/env bash\n\xff\xfe codedeploy-tg-hook HOOK_MODE\n",
    )
    .unwrap();
    let (code, checks) = doctor_appspec_function(moto, &w, &appspec);
    assert_eq!(code, 1, "{checks:#?}");
    assert!(
        of_status(&checks, "unknown").iter().any(|c| c["finding"]
            .as_str()
            .unwrap()
            .contains("AfterAllowTraffic runs scripts/after-allow-traffic.sh, which cannot be read: not UTF-8 text")),
        "{checks:#?}"
    );
}

/// A mode the script leaves untold decides what the instance role needs: that role is
/// `unknown`, not checked for lambda mode's one call by default.
#[test]
fn a_mode_the_script_leaves_untold_leaves_the_instance_role_unknown() {
    let moto = moto();
    let w = world(moto, "dr-mode", json!({}));
    let appspec = revision("dr-mode", "dr-mode-hook", 120);
    // The shipped script as it is, but for a sourced file at its top.
    let script = std::fs::read_to_string(repo().join("infra/hooks/after-allow-traffic.sh"))
        .unwrap()
        .replacen('\n', "\n. /etc/codedeploy-hook.env\n", 1);
    std::fs::write(
        appspec
            .parent()
            .unwrap()
            .join("scripts/after-allow-traffic.sh"),
        script,
    )
    .unwrap();
    let (code, checks) = doctor_appspec_function(moto, &w, &appspec);
    assert_eq!(code, 1, "{checks:#?}");
    assert!(of_status(&checks, "problem").is_empty(), "{checks:#?}");
    assert!(
        of_status(&checks, "unknown").iter().any(|c| c["finding"]
            .as_str()
            .unwrap()
            .contains("the instance role: not checked (the appspec script's HOOK_MODE cannot be told (line 2: it runs `.`, which may set it), and what the role needs depends on it)")),
        "{checks:#?}"
    );
    assert!(
        !checks.iter().any(|c| c["finding"]
            .as_str()
            .unwrap()
            .contains("may call lambda:InvokeFunction")),
        "{checks:#?}"
    );
}
