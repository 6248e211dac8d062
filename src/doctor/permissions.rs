//! `doctor`'s checks of IAM's answers for the function's and the instances' roles: each role's
//! answers classified into a cause per action, then worded as lines with their fixes (no I/O).

use std::collections::{BTreeMap, BTreeSet};

use super::checks::{
    line, problem, unread, Check, Facts, InstanceRole, Lookup, ProfileSource, RoleCheck,
    RoleDecisions, Status, Topic,
};
use super::questions::SAMPLE_DEPLOYMENT_ID;
use crate::aws::actions::{ResourceType, FUNCTION_ACTIONS};
use crate::aws::iam::{Decision, Eval};
use crate::aws::AwsError;
use crate::plan::deployment_group_in_scope;

pub(super) fn permissions(facts: &Facts, checks: &mut Vec<Check>) {
    let topic = Topic::Permissions;
    let function_role = facts.function.found().map(|f| f.role.as_str());
    match (&facts.function_role, function_role) {
        (RoleCheck::NotChecked(Some(why)), _) => checks.push(line(
            topic,
            Status::Unknown,
            format!("the function's role: not checked ({why})"),
        )),
        (RoleCheck::NotChecked(None), _) => {}
        (RoleCheck::Simulated(decisions), role) => {
            // A DEPLOYMENT_GROUP_PATTERN that leaves the deployment group out has its own line
            // (the function topic), and the template scopes the role by the same pattern: its
            // deployment-group denials are that one cause.
            let excluded = facts
                .function
                .found()
                .and_then(|f| f.environment.get("DEPLOYMENT_GROUP_PATTERN"))
                .is_some_and(|pattern| {
                    !deployment_group_in_scope(pattern, &facts.application, &facts.deployment_group)
                });
            checks.extend(role_lines(
                &format!("the function's role {}", role.unwrap_or("(unknown)")),
                "make every call the function makes on this deployment group's resources",
                classify(decisions, excluded),
                RoleFix::Function,
            ));
            unasked_line(facts, "the function's role", checks);
        }
    }
    for role in &facts.instance_roles {
        instance_role(facts, role, checks);
    }
}

/// Where a profile was named, as a line says it.
fn named_by(source: &ProfileSource) -> String {
    match source {
        ProfileSource::Given => ", as given by --instance-profile".to_owned(),
        ProfileSource::Groups(groups) => format!(", from {}", groups.join(", ")),
    }
}

fn instance_role(facts: &Facts, role: &InstanceRole, checks: &mut Vec<Check>) {
    let topic = Topic::Permissions;
    match role {
        InstanceRole::NotChecked(Some(why)) => checks.push(line(
            topic,
            Status::Unknown,
            format!("the instance role: not checked ({why})"),
        )),
        InstanceRole::NotChecked(None) => {}
        InstanceRole::LaunchTemplateNotRead { group, template } => checks.push(Check {
            topic,
            status: Status::Unknown,
            finding: format!(
                "the instance role: {group} launches from launch template {} (version {}), which this build of doctor does not read (built without the launch-templates feature)",
                template.shown(), template.version
            ),
            fix: Some(format!(
                "pass --instance-profile NAME, the template's instance profile: aws ec2 describe-launch-template-versions {} --versions '{}' --query 'LaunchTemplateVersions[0].LaunchTemplateData.IamInstanceProfile'",
                match (&template.id, &template.name) {
                    (Some(id), _) => format!("--launch-template-id {id}"),
                    (None, name) => format!("--launch-template-name {}", name.as_deref().unwrap_or_default()),
                },
                template.version
            )),
        }),
        InstanceRole::NoLaunchSource { group } => checks.push(Check {
            topic,
            status: Status::Unknown,
            finding: format!("the instance role: {group} names no launch configuration or launch template doctor can read"),
            fix: Some("pass --instance-profile NAME, the instance profile its instances get".to_owned()),
        }),
        InstanceRole::NoProfile { group, source } => checks.push(problem(
            topic,
            format!("{group}'s {source} gives its instances no instance profile: the appspec script has no credentials"),
            "give it an instance profile whose role has the stack's InvokeFunctionPolicyArn output attached".to_owned(),
        )),
        InstanceRole::ProfileNotFound { profile, source } => checks.push(problem(
            topic,
            format!("instance profile {profile}{} does not exist", named_by(source)),
            "create it, or name the one the instances use".to_owned(),
        )),
        InstanceRole::NoRole { profile, source } => checks.push(problem(
            topic,
            format!("instance profile {profile}{} holds no role: the appspec script has no credentials", named_by(source)),
            format!("add a role to it: aws iam add-role-to-instance-profile --instance-profile-name {} --role-name ROLE", profile.rsplit('/').next().unwrap_or(profile)),
        )),
        InstanceRole::Unread { what, error } => checks.push(unread(topic, what, error)),
        InstanceRole::Simulated { profile, source, roles } => {
            let source = named_by(source);
            for (role, decisions) in roles {
                let (what, fix) = if facts.binary {
                    (
                        "make every call `attach` makes (HOOK_MODE=binary runs it on the instance)",
                        RoleFix::Function,
                    )
                } else {
                    (
                        "call lambda:InvokeFunction on the function (the appspec script's invoke)",
                        RoleFix::Invoke { role_name: role.rsplit('/').next().unwrap_or(role) },
                    )
                };
                checks.extend(role_lines(
                    &format!("the instance role {role} (instance profile {profile}{source})"),
                    what,
                    classify(decisions, false),
                    fix,
                ));
            }
            if facts.binary {
                unasked_line(facts, "the instance role", checks);
            }
        }
    }
}

/// `unknown` when some of the deployment group's load balancers could not be read, so the
/// calls on them (and the attach's condition) were not asked about.
fn unasked_line(facts: &Facts, who: &str, checks: &mut Vec<Check>) {
    let unasked = if matches!(facts.setup, Lookup::Unread(_)) {
        Some("the deployment group could not be read")
    } else if matches!(facts.target_groups, Some(Err(_))) {
        Some("the target groups could not be read")
    } else if facts.load_balancers.iter().any(|(_, e)| e.is_err()) {
        Some("a classic load balancer could not be read")
    } else {
        None
    };
    if let Some(why) = unasked {
        checks.push(line(
            Topic::Permissions,
            Status::Unknown,
            format!("{who} was not asked about RegisterTargets, RegisterInstancesWithLoadBalancer or the attach's autoscaling:TrafficSourceIdentifiers for every load balancer: {why}"),
        ));
    }
}

#[derive(Clone, Copy)]
enum RoleFix<'a> {
    /// The function's own calls (its role, or the instance role in binary mode).
    Function,
    /// The appspec script's invoke, by the role of this name.
    Invoke { role_name: &'a str },
}

/// Why one action's decisions (over its resources) are not a settled `allowed`: the cause
/// decides the line and its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cause {
    /// IAM decided without condition keys the request did not carry (`allowed` included), and
    /// no Deny refused it outright: not settled.
    Unsettled { eval: Eval, missing: Vec<String> },
    /// The role's permissions boundary does not allow it.
    Boundary,
    /// A service control policy does not allow it.
    OrganizationPolicy,
    /// A Deny statement refuses it.
    Deny,
    /// No statement grants it.
    NotGranted,
}

/// The cause for one action's decisions, with the decisions it is about, or `None` when every
/// one is a settled `allowed`. A certain denial on one resource (no condition key missing, or an
/// explicit Deny) is the cause even when another resource's decision is unsettled: a problem is
/// certain, and wins.
fn cause<'a>(decisions: &[&'a Decision]) -> Option<(Cause, Vec<&'a Decision>)> {
    let certain: Vec<&Decision> = decisions
        .iter()
        .copied()
        .filter(|d| {
            d.decision != Eval::Allowed
                && (d.missing_context.is_empty() || d.decision == Eval::ExplicitDeny)
        })
        .collect();
    if let Some(worst) = certain.iter().copied().max_by_key(|d| d.decision) {
        let cause = if worst.boundary_allows == Some(false) {
            Cause::Boundary
        } else if worst.organizations_allow == Some(false) {
            Cause::OrganizationPolicy
        } else if worst.decision == Eval::ExplicitDeny {
            Cause::Deny
        } else {
            Cause::NotGranted
        };
        return Some((cause, certain));
    }
    let unsettled: Vec<&Decision> = decisions
        .iter()
        .copied()
        .filter(|d| !d.missing_context.is_empty())
        .collect();
    let worst = unsettled.iter().map(|d| d.decision).max()?;
    let missing: BTreeSet<&str> = unsettled
        .iter()
        .flat_map(|d| d.missing_context.iter().map(String::as_str))
        .collect();
    Some((
        Cause::Unsettled {
            eval: worst,
            missing: missing.into_iter().map(str::to_owned).collect(),
        },
        unsettled,
    ))
}

/// What IAM's answers for one role come to, before any words (`classify`); `role_lines` words it.
enum RoleAnswer<'a> {
    /// No question was asked.
    NothingAsked,
    /// No question was answered: the first failure says why (every call fails the same way).
    Unanswered(&'a AwsError),
    /// Some were answered: what they decided stands, and each unanswered question is unknown.
    Answered(Answered<'a>),
}

struct Answered<'a> {
    /// The questions IAM did not answer: the resource asked about, and why.
    unread: &'a [(String, AwsError)],
    /// The actions asked about.
    asked: usize,
    /// Actions on the deployment group whose denials a `DEPLOYMENT_GROUP_PATTERN` that leaves
    /// the group out explains (the function's line says so).
    held_back: usize,
    /// Each action whose decisions are not a settled `allowed`, by action.
    causes: Vec<ActionCause<'a>>,
}

/// One action's cause, with the resources it is about and the worst decision on them.
struct ActionCause<'a> {
    action: &'a str,
    cause: Cause,
    resources: Vec<String>,
    worst: Eval,
}

/// Classifies IAM's answers for one role. A `DEPLOYMENT_GROUP_PATTERN` that leaves the group out
/// is the cause of the role's certain denials on the deployment group (the template scopes the
/// role by the same pattern): they are held back, and every other action is still checked.
fn classify(answers: &RoleDecisions, pattern_excludes_the_group: bool) -> RoleAnswer<'_> {
    if answers.decisions.is_empty() {
        return match answers.failed.first() {
            Some((_, e)) => RoleAnswer::Unanswered(e),
            None => RoleAnswer::NothingAsked,
        };
    }
    let mut by_action: BTreeMap<&str, Vec<&Decision>> = BTreeMap::new();
    for decision in &answers.decisions {
        by_action
            .entry(decision.action.as_str())
            .or_default()
            .push(decision);
    }
    let mut held_back = 0;
    let mut causes = Vec::new();
    for (action, decisions) in &by_action {
        let Some((cause, about)) = cause(decisions) else {
            continue;
        };
        if pattern_excludes_the_group
            && resource_type_of(action) == Some(ResourceType::DeploymentGroup)
            && !matches!(cause, Cause::Unsettled { .. })
        {
            held_back += 1;
            continue;
        }
        causes.push(ActionCause {
            action,
            cause,
            resources: about.iter().map(|d| shown(&d.resource)).collect(),
            worst: about
                .iter()
                .map(|d| d.decision)
                .max()
                .unwrap_or(Eval::ImplicitDeny),
        });
    }
    RoleAnswer::Answered(Answered {
        unread: &answers.failed,
        asked: by_action.len(),
        held_back,
        causes,
    })
}

/// One ok line for a role that may make every call; otherwise one line per cause: a problem
/// naming the action, the resources and the fix, or `unknown` for a decision IAM could not
/// settle; the plain missing grants grouped by resource type (`not_granted_lines`).
fn role_lines(who: &str, what: &str, answer: RoleAnswer<'_>, fix: RoleFix<'_>) -> Vec<Check> {
    let topic = Topic::Permissions;
    let answered = match answer {
        RoleAnswer::NothingAsked => {
            return vec![line(
                topic,
                Status::Unknown,
                format!("{who}: IAM was asked about no action"),
            )]
        }
        RoleAnswer::Unanswered(e) => return vec![unanswered_line(who, e)],
        RoleAnswer::Answered(answered) => answered,
    };
    let mut checks: Vec<Check> = answered
        .unread
        .iter()
        .map(|(resource, e)| {
            unread(
                topic,
                &format!("IAM's decisions for {who} on {}", shown(resource)),
                e,
            )
        })
        .collect();
    if answered.causes.is_empty() {
        let of_those = if answered.unread.is_empty() {
            ""
        } else {
            ", of those IAM answered for"
        };
        let (asked, held_back) = (answered.asked, answered.held_back);
        let finding = if held_back == 0 {
            format!("{who} may {what} ({asked} action(s){of_those}, allowed)")
        } else {
            format!(
                "{who} may make the function's other calls ({} action(s){of_those}, allowed); its {held_back} call(s) on the deployment group wait on DEPLOYMENT_GROUP_PATTERN (the function's line)",
                asked - held_back
            )
        };
        checks.push(line(topic, Status::Ok, finding));
        return checks;
    }
    let mut plain: Vec<(&str, Vec<String>)> = Vec::new();
    for cause in answered.causes {
        match cause_line(who, &cause) {
            Some(check) => checks.push(check),
            None => plain.push((cause.action, cause.resources)),
        }
    }
    checks.extend(not_granted_lines(who, plain, answered.asked, fix));
    checks
}

/// No question answered: the caller may not ask, the role does not exist, or why IAM did not say.
fn unanswered_line(who: &str, e: &AwsError) -> Check {
    let topic = Topic::Permissions;
    if e.is_access_denied() {
        Check {
            topic,
            status: Status::Unknown,
            finding: format!(
                "{who}: not checked, the caller may not call iam:SimulatePrincipalPolicy ({})",
                e.code
            ),
            fix: Some(
                "run doctor with credentials allowed iam:SimulatePrincipalPolicy on the role"
                    .to_owned(),
            ),
        }
    } else if e.code == "NoSuchEntity" {
        problem(
            topic,
            format!("{who} does not exist"),
            "give the function (or the instance profile) a role that exists".to_owned(),
        )
    } else {
        unread(topic, &format!("IAM's decisions for {who}"), e)
    }
}

/// The line of a cause other than a plain missing grant (`None` for that: `not_granted_lines`).
fn cause_line(who: &str, cause: &ActionCause<'_>) -> Option<Check> {
    let topic = Topic::Permissions;
    let action = cause.action;
    let on = cause.resources.join(", ");
    let denied = |eval: Eval| format!("{who} may not call {action} on {on} ({})", eval.as_str());
    Some(match &cause.cause {
        Cause::Unsettled { eval, missing } => Check {
            topic,
            status: Status::Unknown,
            finding: if *eval == Eval::Allowed {
                format!(
                    "{who} may call {action} on {on} only as far as IAM could tell without condition key(s) {}: a statement conditioned on them (a Deny among them) may decide otherwise",
                    missing.join(", ")
                )
            } else {
                format!("{}, for want of condition key(s) {}", denied(*eval), missing.join(", "))
            },
            fix: Some("check that statement's condition against what the call will carry".to_owned()),
        },
        Cause::Boundary => problem(topic, denied(cause.worst), format!("the role's permissions boundary does not allow {action}: widen the boundary (a grant in the role's own policies is not enough)")),
        Cause::OrganizationPolicy => problem(topic, denied(cause.worst), format!("a service control policy does not allow {action}: ask whoever manages the organization's policies")),
        Cause::Deny => problem(
            topic,
            denied(Eval::ExplicitDeny),
            format!("a Deny statement refuses {action}: lift it for this resource"),
        ),
        Cause::NotGranted => return None,
    })
}

/// The plain missing grants (`implicitDeny`), with the fix for the role's kind: the invoke policy
/// for the appspec script's role; the function's whole policy when it may make none of its
/// calls; else one line per resource type, saying how that type is granted.
fn not_granted_lines(
    who: &str,
    plain: Vec<(&str, Vec<String>)>,
    asked: usize,
    fix: RoleFix<'_>,
) -> Vec<Check> {
    let topic = Topic::Permissions;
    if plain.is_empty() {
        return Vec::new();
    }
    if let RoleFix::Invoke { role_name } = fix {
        return plain
            .into_iter()
            .map(|(action, resources)| problem(
                topic,
                format!("{who} may not call {action} on {} (implicitDeny)", resources.join(", ")),
                format!("attach the stack's invoke policy: aws iam attach-role-policy --role-name {role_name} --policy-arn <the InvokeFunctionPolicyArn output>"),
            ))
            .collect();
    }
    if plain.len() == asked && asked > 1 {
        return vec![problem(
            topic,
            format!("{who} may make none of the {asked} calls (implicitDeny)"),
            "give the role the function's policy (infra/template.yaml's Function policy; docs/deployment.md#iam)".to_owned(),
        )];
    }
    let mut by_kind: BTreeMap<ResourceType, Vec<(&str, Vec<String>)>> = BTreeMap::new();
    for (action, resources) in plain {
        by_kind
            .entry(resource_type_of(action).unwrap_or(ResourceType::None))
            .or_default()
            .push((action, resources));
    }
    by_kind
        .into_iter()
        .map(|(kind, denied)| {
            let actions: Vec<&str> = denied.iter().map(|(a, _)| *a).collect();
            let mut resources: Vec<String> = denied.iter().flat_map(|(_, r)| r.clone()).collect();
            resources.sort();
            resources.dedup();
            let finding = format!(
                "{who} may not call {} on {} (implicitDeny)",
                actions.join(", "),
                resources.join(", ")
            );
            let fix = match kind {
                ResourceType::None => format!(
                    "grant {} in a statement on \"*\": {} no resource type, so a statement scoped to an ARN never allows {} (docs/iam-actions.md)",
                    actions.join(", "),
                    if actions.len() == 1 { "it has" } else { "they have" },
                    if actions.len() == 1 { "it" } else { "them" },
                ),
                ResourceType::AutoScalingGroup => format!(
                    "grant {} on the groups CodeDeploy names CodeDeploy_<deployment-group>_<deployment-id> (the template's ReplacementGroupNamePattern), with autoscaling:TrafficSourceIdentifiers allowing this deployment group's target group ARNs and classic load balancer names (TargetGroupNamePattern, LoadBalancerNamePattern)",
                    actions.join(", ")
                ),
                kind => format!(
                    "grant {} on {} ({}; the template's {} parameter scopes it)",
                    actions.join(", "),
                    resources.join(", "),
                    kind.name(),
                    pattern_parameter(kind)
                ),
            };
            problem(topic, finding, fix)
        })
        .collect()
}

/// A resource as a person should read it: the sample replacement group is said to be one.
fn shown(resource: &str) -> String {
    if resource.ends_with(SAMPLE_DEPLOYMENT_ID) {
        format!("{resource} (a replacement group named as CodeDeploy names them)")
    } else {
        resource.to_owned()
    }
}

fn resource_type_of(action: &str) -> Option<ResourceType> {
    FUNCTION_ACTIONS
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(action))
        .map(|(_, kind)| *kind)
}

fn pattern_parameter(kind: ResourceType) -> &'static str {
    match kind {
        ResourceType::DeploymentGroup => "DeploymentGroupPattern",
        ResourceType::AutoScalingGroup => "ReplacementGroupNamePattern",
        ResourceType::TargetGroup => "TargetGroupNamePattern",
        ResourceType::LoadBalancer | ResourceType::None => "LoadBalancerNamePattern",
    }
}
