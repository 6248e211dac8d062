//! The template's policy grants exactly the AWS actions the code calls: no more, no fewer.

use std::collections::BTreeSet;
use std::path::Path;

/// `service:Action` literals, e.g. "codedeploy:GetDeployment".
fn actions_in(text: &str) -> BTreeSet<String> {
    let services = ["codedeploy:", "autoscaling:", "elasticloadbalancing:"];
    let mut found = BTreeSet::new();
    for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == ':')) {
        if services.iter().any(|s| word.starts_with(s))
            && word
                .split(':')
                .nth(1)
                .is_some_and(|a| a.starts_with(|c: char| c.is_ascii_uppercase()))
        {
            found.insert(word.to_owned());
        }
    }
    found
}

/// Every action the code calls: the `service:Action` literals in src/aws/.
fn called_actions() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut called = BTreeSet::new();
    for entry in std::fs::read_dir(root.join("src/aws")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        called.extend(actions_in(&text));
    }
    called
}

fn template() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("infra/template.yaml"))
        .unwrap()
}

/// The actions a policy text grants (comment lines left out).
fn granted_in(policy: &str) -> BTreeSet<String> {
    policy
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(actions_in)
        .collect()
}

#[test]
fn the_function_policy_grants_exactly_the_calls_the_code_makes() {
    let called = called_actions();
    let template = template();
    let policy = &template[template.find("Policies:").expect("a Policies section")..];
    let policy = &policy[..policy
        .find("\n  TopicSubscription:")
        .unwrap_or(policy.len())];
    let granted = granted_in(policy);
    assert!(
        called.contains("codedeploy:ListDeploymentTargets"),
        "{called:?}"
    );
    assert_eq!(granted, called, "granted (left) vs called (right)");
    assert!(
        !policy.contains("Detach") && !policy.contains("Deregister"),
        "nothing may detach or deregister"
    );
    // Attaching is scoped to replacement groups, registration to target groups and classic load
    // balancers: never "*".
    for (action, resource) in [
        (
            "autoscaling:AttachTrafficSources",
            ":autoScalingGroupName/${ReplacementGroupNamePattern}\"",
        ),
        (
            "elasticloadbalancing:RegisterTargets",
            ":targetgroup/${TargetGroupNamePattern}/*\"",
        ),
        (
            "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
            ":loadbalancer/${LoadBalancerNamePattern}\"",
        ),
    ] {
        let statement = &policy[policy
            .find(&format!("Action: {action}"))
            .unwrap_or_else(|| panic!("{action} has a statement of its own"))..];
        let resource_line = statement
            .lines()
            .find(|l| l.trim_start().starts_with("Resource:"))
            .unwrap();
        assert!(
            resource_line.ends_with(resource),
            "{action} must be scoped by its pattern: {resource_line}"
        );
    }
}

#[test]
fn the_audit_function_policy_grants_the_audits_calls_and_repairs_only_with_audit_fix() {
    let mut called = called_actions();
    // The audit reports no hook status; it makes every other call.
    called.remove("codedeploy:PutLifecycleEventHookExecutionStatus");
    let template = template();
    let function = &template[template
        .find("\n  AuditFunction:")
        .expect("an AuditFunction")..];
    let function = &function[..function
        .find("\n  FailedRunsAlarm:")
        .unwrap_or(function.len())];
    let policy = &function[function.find("Policies:").expect("its own policy")..];
    let granted = granted_in(policy);
    assert_eq!(
        granted, called,
        "granted (left) vs the audit's calls (right)"
    );
    assert!(!policy.contains("Detach") && !policy.contains("Deregister"));
    // Every changing action sits in a statement of its own under the AuditRepairs condition:
    // the list item (12 spaces in) that encloses it is `- !If` on AuditRepairs.
    for action in [
        "autoscaling:AttachTrafficSources",
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
    ] {
        let at = policy.find(action).unwrap();
        let statement = &policy[policy[..at].rfind("\n            - ").unwrap()..at];
        assert!(
            statement.starts_with("\n            - !If\n              - AuditRepairs\n"),
            "{action} is granted only with AuditFix=true: {statement}"
        );
    }
}
