//! The template's policy grants exactly the AWS actions the function calls: no more, no fewer.

use std::collections::BTreeSet;
use std::path::Path;

use codedeploy_tg_hook::aws::actions::{
    AUDIT_ACROSS_ACTIONS, DOCTOR_ONLY_ACTIONS, DOCTOR_SHARED_ACTIONS, FUNCTION_ACTIONS,
    INVOKE_FUNCTION,
};

/// `service:Action` literals, e.g. "codedeploy:GetDeployment".
fn actions_in(text: &str) -> BTreeSet<String> {
    let services = [
        "codedeploy:",
        "autoscaling:",
        "ec2:",
        "elasticloadbalancing:",
        "iam:",
        "lambda:",
        "sts:",
        "organizations:",
        "account:",
    ];
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

/// Every action the code calls: the `service:Action` literals in src/aws/ (the adapters name
/// each call's action), apart from the list of them in src/aws/actions.rs.
fn actions_in_the_adapters() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut called = BTreeSet::new();
    for entry in std::fs::read_dir(root.join("src/aws")).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n == "actions.rs") {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        called.extend(actions_in(&text));
    }
    called
}

/// The function's calls, as src/aws/actions.rs lists them (what `doctor` asks IAM about).
fn called_actions() -> BTreeSet<String> {
    FUNCTION_ACTIONS
        .iter()
        .map(|(action, _)| (*action).to_owned())
        .collect()
}

#[test]
fn the_list_of_actions_is_every_call_in_the_adapters_the_function_s_and_doctor_s() {
    let listed: BTreeSet<String> = called_actions()
        .into_iter()
        .chain(DOCTOR_ONLY_ACTIONS.iter().map(|a| (*a).to_owned()))
        .chain(AUDIT_ACROSS_ACTIONS.iter().map(|a| (*a).to_owned()))
        .collect();
    // Not a call: what doctor looks for in a function's policy and asks IAM about.
    let mut called = actions_in_the_adapters();
    called.remove(INVOKE_FUNCTION);
    assert_eq!(
        called, listed,
        "called in src/aws/ (left) vs listed in src/aws/actions.rs (right)"
    );
    for shared in DOCTOR_SHARED_ACTIONS {
        assert!(called_actions().contains(*shared), "{shared}");
    }
    for only in DOCTOR_ONLY_ACTIONS {
        assert!(!called_actions().contains(*only), "{only}");
    }
}

fn template() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("infra/template.yaml"))
        .unwrap()
}

fn audit_role_template() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("infra/audit-role.yaml"))
        .unwrap()
}

/// The audit's calls in one account and region: every call of the function but the hook report.
fn audit_calls() -> BTreeSet<String> {
    let mut called = called_actions();
    called.remove("codedeploy:PutLifecycleEventHookExecutionStatus");
    called
}

/// The actions a policy text grants (comment lines and condition keys left out).
fn granted_in(policy: &str) -> BTreeSet<String> {
    policy
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim_end().ends_with(':'))
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
    // The audit reports no hook status; it makes every other call, and the calls across
    // accounts and regions.
    let mut called = audit_calls();
    called.extend(AUDIT_ACROSS_ACTIONS.iter().map(|a| (*a).to_owned()));
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
    // Every changing action sits in a statement of its own under the RepairsOwnAccount
    // condition (AuditFix=true, and no AuditAccounts: then the roles assumed repair): the list
    // item (12 spaces in) that encloses it is `- !If` on RepairsOwnAccount; every read of this
    // account's, under AuditsOwnAccount.
    let under = |action: &str, condition: &str| {
        let at = policy.find(action).unwrap();
        let statement = &policy[policy[..at].rfind("\n            - ").unwrap()..at];
        assert!(
            statement.starts_with(&format!(
                "\n            - !If\n              - {condition}\n"
            )),
            "{action} is granted only under {condition}: {statement}"
        );
    };
    for action in [
        "autoscaling:AttachTrafficSources",
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
    ] {
        under(action, "RepairsOwnAccount");
    }
    for action in [
        "codedeploy:GetDeployment",
        "codedeploy:ListDeploymentTargets",
        "autoscaling:DescribeAutoScalingGroups",
    ] {
        under(action, "AuditsOwnAccount");
    }
    for (condition, definition) in [
        ("AuditRepairs", "!Equals [!Ref AuditFix, \"true\"]"),
        ("AuditsOwnAccount", "!Not [!Condition AuditsOtherAccounts]"),
        (
            "RepairsOwnAccount",
            "!And [!Condition AuditRepairs, !Condition AuditsOwnAccount]",
        ),
    ] {
        assert!(
            template.contains(&format!("  {condition}: {definition}\n")),
            "{condition}"
        );
    }
}

/// One row of docs/iam-actions.md: the action's resource type per the Service Authorization
/// Reference (`None`: it lists none) and the ARN prefix of that type, in the template's
/// pseudo-parameters (`arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:`).
#[derive(Debug)]
struct Reference {
    resource_type: Option<String>,
    arn_prefix: String,
}

fn reference_table() -> std::collections::BTreeMap<String, Reference> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/iam-actions.md"))
            .unwrap();
    let mut table = std::collections::BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (action, resource_type, arn, url) = (cells[1], cells[2], cells[3], cells[4]);
        assert!(
            url.starts_with("https://docs.aws.amazon.com/service-authorization/"),
            "{action}: the row names the reference: {url}"
        );
        let resource_type =
            (resource_type != "none").then(|| resource_type.trim_matches('`').to_owned());
        let arn = arn
            .trim_matches('`')
            .replace("${Partition}", "${AWS::Partition}")
            .replace("${Region}", "${AWS::Region}")
            .replace("${Account}", "${AWS::AccountId}");
        // Up to the first part the policy fills in itself (a name, an id): the first `${`
        // that is not a pseudo-parameter.
        let end = arn
            .match_indices("${")
            .map(|(at, _)| at)
            .find(|&at| !arn[at..].starts_with("${AWS::"))
            .unwrap_or(arn.len());
        let arn_prefix = arn[..end].to_owned();
        assert_eq!(
            resource_type.is_some(),
            !arn_prefix.is_empty(),
            "{action}: a resource type comes with its ARN, none without"
        );
        table.insert(
            action.trim_matches('`').to_owned(),
            Reference {
                resource_type,
                arn_prefix,
            },
        );
    }
    table
}

/// Each statement of a function's policy: its actions and its resources (a `!Sub` or plain
/// string each), `!If [cond, statement, !Ref AWS::NoValue]` taken as its statement.
fn statements_of(function: &str) -> Vec<(String, Vec<String>, Vec<String>)> {
    use serde_yaml_ng::Value;
    let template: Value = serde_yaml_ng::from_str(&template()).unwrap();
    let policies = template["Resources"][function]["Properties"]["Policies"]
        .as_sequence()
        .unwrap_or_else(|| panic!("{function} has Policies"));
    policies
        .iter()
        .flat_map(|policy| statements_in(function, &policy["Statement"]))
        .collect()
}

/// The statements of the member accounts' audit role (infra/audit-role.yaml).
fn audit_role_statements() -> Vec<(String, Vec<String>, Vec<String>)> {
    use serde_yaml_ng::Value;
    let template: Value = serde_yaml_ng::from_str(&audit_role_template()).unwrap();
    let policies = template["Resources"]["AuditRole"]["Properties"]["Policies"]
        .as_sequence()
        .expect("the audit role has Policies");
    policies
        .iter()
        .flat_map(|policy| statements_in("AuditRole", &policy["PolicyDocument"]["Statement"]))
        .collect()
}

/// `statements` as (sid, actions, resources). A resource is a string, a `!Sub` string, or the
/// list form `!Sub [text, {Regions: !If [AuditsOtherRegions, "*", !Ref AWS::Region]}]` (the
/// audit function's region-scoped ARNs), taken with `${AWS::Region}` for `${Regions}` (the other
/// branch, `*`, is the same resource type in every region).
fn statements_in(
    function: &str,
    statements: &serde_yaml_ng::Value,
) -> Vec<(String, Vec<String>, Vec<String>)> {
    use serde_yaml_ng::Value;
    let text = |value: &Value| -> String {
        match value {
            Value::String(s) => s.clone(),
            Value::Tagged(tagged) if tagged.tag == "!Sub" => match &tagged.value {
                Value::String(s) => s.clone(),
                Value::Sequence(form) => {
                    let regions = serde_yaml_ng::to_string(&form[1]["Regions"]).unwrap();
                    // Every region (`*`) only when AuditRegions is set, else this one.
                    let at = |text: &str| regions.find(text).unwrap_or(usize::MAX);
                    assert!(
                        regions.starts_with("!If")
                            && at("AuditsOtherRegions") < at("'*'")
                            && at("'*'") < at("!Ref AWS::Region")
                            && at("!Ref AWS::Region") != usize::MAX,
                        "{function}: ${{Regions}} is * or this region: {regions}"
                    );
                    form[0]
                        .as_str()
                        .unwrap()
                        .replace("${Regions}", "${AWS::Region}")
                }
                other => panic!("a !Sub of a string or a list: {other:?}"),
            },
            other => panic!("a resource is a string or a !Sub: {other:?}"),
        }
    };
    let strings = |value: &Value| -> Vec<String> {
        match value {
            Value::Sequence(items) => items.iter().map(text).collect(),
            one => vec![text(one)],
        }
    };
    let mut out = Vec::new();
    for statement in statements.as_sequence().unwrap() {
        let statement = match statement {
            Value::Tagged(tagged) if tagged.tag == "!If" => &tagged.value[1],
            plain => plain,
        };
        let sid = statement["Sid"].as_str().unwrap_or("?").to_owned();
        assert_eq!(statement["Effect"], "Allow", "{function}/{sid}");
        out.push((
            sid,
            strings(&statement["Action"]),
            strings(&statement["Resource"]),
        ));
    }
    out
}

/// Whether `resource` is an ARN of the reference's type for `action`: it starts with the type's
/// ARN prefix, where, if `every_region` (the audit's, which may cover every region), a `*` may
/// stand for the region, and for `sts:AssumeRole` for the account too (the audit's role is in
/// other accounts).
fn of_the_type(action: &str, resource: &str, prefix: &str, every_region: bool) -> bool {
    let any_region = prefix.replace("${AWS::Region}", "*");
    let any_account = prefix.replace("${AWS::AccountId}", "*");
    resource.starts_with(prefix)
        || (every_region && resource.starts_with(&any_region))
        || (action == "sts:AssumeRole" && resource.starts_with(&any_account))
}

fn assert_statements_hold_to_the_reference(
    function: &str,
    statements: Vec<(String, Vec<String>, Vec<String>)>,
) {
    let table = reference_table();
    for (sid, actions, resources) in statements {
        for action in &actions {
            let reference = table
                .get(action)
                .unwrap_or_else(|| panic!("{function}/{sid}: {action} is not in the table"));
            match &reference.resource_type {
                None => assert_eq!(
                    resources,
                    vec!["*".to_owned()],
                    "{function}/{sid}: {action} has no resource type, so only \"*\" allows it"
                ),
                Some(kind) => {
                    for resource in &resources {
                        // The hook function acts in its own region only.
                        let every_region = function != "Function";
                        assert!(
                            of_the_type(action, resource, &reference.arn_prefix, every_region),
                            "{function}/{sid}: {action} takes {kind} ARNs ({}), not {resource}",
                            reference.arn_prefix
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn every_statement_holds_to_the_resource_types_of_the_service_authorization_reference() {
    let table = reference_table();
    let mut called = called_actions();
    called.extend(AUDIT_ACROSS_ACTIONS.iter().map(|a| (*a).to_owned()));
    let listed: BTreeSet<String> = table.keys().cloned().collect();
    assert_eq!(
        listed, called,
        "docs/iam-actions.md (left) lists every action the code calls (right)"
    );
    for function in ["Function", "AuditFunction"] {
        assert_statements_hold_to_the_reference(function, statements_of(function));
    }
    assert_statements_hold_to_the_reference("AuditRole", audit_role_statements());
}

#[test]
fn the_reference_check_allows_another_region_or_account_only_where_meant() {
    let prefix =
        "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:";
    let any_region = "arn:${AWS::Partition}:codedeploy:*:${AWS::AccountId}:deploymentgroup:web/*";
    assert!(of_the_type(
        "codedeploy:GetDeployment",
        any_region,
        prefix,
        true
    ));
    assert!(
        !of_the_type("codedeploy:GetDeployment", any_region, prefix, false),
        "the hook function's statements keep to its region"
    );
    let any_account = "arn:${AWS::Partition}:codedeploy:${AWS::Region}:*:deploymentgroup:web/*";
    assert!(!of_the_type(
        "codedeploy:GetDeployment",
        any_account,
        prefix,
        true
    ));
    let role = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/";
    let assume = |resource: &str| of_the_type("sts:AssumeRole", resource, role, true);
    assert!(assume("arn:${AWS::Partition}:iam::*:role/${AuditRoleName}"));
    assert!(!assume(
        "arn:${AWS::Partition}:iam::*:user/${AuditRoleName}"
    ));
}

/// The audit function's calls across accounts and regions are each granted only where its
/// parameters make it call them: AssumeRole with AuditAccounts, ListAccounts with
/// `organization`, its own ListRegions with `all` and no AuditAccounts (in other accounts the
/// role there lists them).
#[test]
fn the_audit_function_calls_other_accounts_only_as_its_parameters_say() {
    let template = template();
    let function = &template[template.find("\n  AuditFunction:").unwrap()..];
    let function = &function[..function
        .find("\n  FailedRunsAlarm:")
        .unwrap_or(function.len())];
    for (action, condition) in [
        ("sts:AssumeRole", "AuditsOtherAccounts"),
        ("organizations:ListAccounts", "AuditsOrganization"),
        ("account:ListRegions", "ListsOwnAccountRegions"),
    ] {
        let at = function.find(&format!("Action: {action}")).unwrap();
        let statement = &function[function[..at].rfind("\n            - ").unwrap()..at];
        assert!(
            statement.starts_with(&format!(
                "\n            - !If\n              - {condition}\n"
            )),
            "{action} is granted only under {condition}: {statement}"
        );
    }
    for (condition, definition) in [
        (
            "AuditsOtherAccounts",
            "!Not [!Equals [!Ref AuditAccounts, \"\"]]",
        ),
        (
            "AuditsOrganization",
            "!Equals [!Ref AuditAccounts, \"organization\"]",
        ),
        (
            "AuditsOtherRegions",
            "!Not [!Equals [!Ref AuditRegions, \"\"]]",
        ),
        (
            "ListsOwnAccountRegions",
            "!And [!Condition AuditsEveryRegion, !Not [!Condition AuditsOtherAccounts]]",
        ),
    ] {
        assert!(
            template.contains(&format!("  {condition}: {definition}\n")),
            "{condition}"
        );
    }
    // What the function reads: each parameter as the variable of the same meaning.
    for (variable, parameter) in [
        ("AUDIT_REGIONS", "AuditRegions"),
        ("AUDIT_ACCOUNTS", "AuditAccounts"),
        ("AUDIT_ROLE_NAME", "AuditRoleName"),
    ] {
        assert!(
            function.contains(&format!("{variable}: !Ref {parameter}\n")),
            "{variable}"
        );
    }
}

/// infra/audit-role.yaml grants the audit's calls in one account (in every region) and its
/// ListRegions, repairs only with AllowFix, nothing that detaches or deregisters, and trusts
/// only the auditing account.
#[test]
fn the_member_audit_role_grants_the_audits_calls_and_repairs_only_with_allow_fix() {
    let text = audit_role_template();
    let policy = &text[text.find("Policies:").expect("a Policies section")..];
    let mut expected = audit_calls();
    expected.insert("account:ListRegions".to_owned());
    assert_eq!(
        granted_in(policy),
        expected,
        "granted (left) vs the audit's calls (right)"
    );
    assert!(!text.contains("Detach") && !text.contains("Deregister"));
    for action in [
        "autoscaling:AttachTrafficSources",
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
    ] {
        let at = policy.find(action).unwrap();
        let statement = &policy[policy[..at].rfind("\n              - ").unwrap()..at];
        assert!(
            statement.starts_with("\n              - !If\n                - FixAllowed\n"),
            "{action} is granted only with AllowFix=true: {statement}"
        );
    }
    assert!(text.contains("  FixAllowed: !Equals [!Ref AllowFix, \"true\"]\n"));
    use serde_yaml_ng::Value;
    let template: Value = serde_yaml_ng::from_str(&text).unwrap();
    let role = &template["Resources"]["AuditRole"]["Properties"];
    let trust = role["AssumeRolePolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    assert_eq!(trust.len(), 1);
    assert_eq!(trust[0]["Action"], "sts:AssumeRole");
    let principal = serde_yaml_ng::to_string(&trust[0]["Principal"]["AWS"]).unwrap();
    assert!(
        principal.contains("iam::${AuditingAccountId}:root"),
        "only the auditing account: {principal}"
    );
    // The name the auditing side builds the ARN from.
    assert!(
        matches!(&role["RoleName"], Value::Tagged(t) if t.tag == "!Ref" && t.value == "RoleName")
    );
    assert_eq!(
        template["Parameters"]["RoleName"]["Default"],
        codedeploy_tg_hook::audit::coverage::DEFAULT_ROLE_NAME
    );
}

#[test]
fn the_reference_check_catches_a_deployment_target_read_scoped_to_a_deployment_group() {
    // The mistake it exists for: the deployment-target reads have no resource type.
    let table = reference_table();
    for action in [
        "codedeploy:ListDeploymentTargets",
        "codedeploy:BatchGetDeploymentTargets",
        "codedeploy:PutLifecycleEventHookExecutionStatus",
    ] {
        assert!(table[action].resource_type.is_none(), "{action}");
    }
    assert_eq!(
        table["codedeploy:GetDeployment"].arn_prefix,
        "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:"
    );
    // And the attach stays narrowed to the sources the registration patterns name.
    let template = template();
    for function in ["Function", "AuditFunction"] {
        let start = template.find(&format!("\n  {function}:")).unwrap();
        let attach = &template[start..][template[start..]
            .find("Action: autoscaling:AttachTrafficSources")
            .unwrap()..];
        let statement = &attach[..attach.find("\n            - ").unwrap_or(attach.len())];
        assert!(
            statement.contains("ForAllValues:StringLike:")
                && statement.contains("autoscaling:TrafficSourceIdentifiers:")
                && statement.contains(":targetgroup/${TargetGroupNamePattern}/*\"")
                && statement.contains("!Ref LoadBalancerNamePattern"),
            "{function}: {statement}"
        );
    }
}

#[test]
fn the_table_gives_each_action_the_resource_type_doctor_simulates_it_on() {
    let table = reference_table();
    for (action, kind) in FUNCTION_ACTIONS {
        let listed = table[*action].resource_type.as_deref().unwrap_or("none");
        assert_eq!(
            listed,
            kind.name(),
            "{action}: docs/iam-actions.md vs src/aws/actions.rs"
        );
    }
}

#[test]
fn the_template_gives_instances_a_policy_that_allows_only_invoking_the_function() {
    use serde_yaml_ng::Value;
    let template: Value = serde_yaml_ng::from_str(&template()).unwrap();
    let policy = &template["Resources"]["InvokeFunctionPolicy"];
    assert_eq!(policy["Type"], "AWS::IAM::ManagedPolicy");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Effect"], "Allow");
    assert_eq!(statements[0]["Action"], "lambda:InvokeFunction");
    match &statements[0]["Resource"] {
        Value::Tagged(tagged) => {
            assert_eq!(tagged.tag, "!GetAtt");
            assert_eq!(tagged.value, "Function.Arn");
        }
        other => panic!("the function's ARN, not {other:?}"),
    }
    let output = &template["Outputs"]["InvokeFunctionPolicyArn"]["Value"];
    assert!(
        matches!(output, Value::Tagged(t) if t.tag == "!Ref" && t.value == "InvokeFunctionPolicy"),
        "{output:?}"
    );
}

#[test]
fn every_call_doctor_makes_is_in_its_permissions_table() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/deployment.md"))
            .unwrap();
    let table = &text[text
        .find("**`doctor` from an operator's credentials**")
        .expect("doctor's permissions in docs/deployment.md")..];
    for action in DOCTOR_ONLY_ACTIONS.iter().chain(DOCTOR_SHARED_ACTIONS) {
        assert!(
            table.contains(&format!("| `{action}` |")),
            "{action} is in doctor's permissions table"
        );
    }
}

/// `doctor`'s own adapters (its reads that the function never makes) are called only from
/// src/doctor/: a function call filed among them would escape the template's check above.
#[test]
fn doctor_s_own_reads_are_called_only_by_doctor() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let doctor_only = [
        "deployment_group_setup(",
        "existing_target_groups(",
        "load_balancer_exists(",
        "describe_groups_and_launch_sources(",
        "launch_configuration_profile(",
        "instance_profile_roles(",
        "iam::simulate(",
        "function_configuration(",
        "invokers(",
        ".iam()",
        ".lambda()",
    ];
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path != root.join("doctor") && path != root.join("aws") {
                    stack.push(path);
                }
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for call in doctor_only {
                assert!(
                    !text.contains(call),
                    "{} calls {call}, one of doctor's own reads",
                    path.display()
                );
            }
        }
    }
}
