//! `doctor`'s decisions: the facts read about one deployment group's setup in, a checklist out
//! (no I/O; every line is decided here and unit-tested).

use std::collections::BTreeMap;

use serde::Serialize;

use super::appspec::{Appspec, HOOK_TIMEOUT_LIMIT};
use crate::aws::actions::{ResourceType, FUNCTION_ACTIONS};
use crate::aws::autoscaling::LaunchSource;
use crate::aws::codedeploy::DeploymentGroupSetup;
use crate::aws::elbv2::ResolveError;
use crate::aws::iam::Decision;
use crate::aws::lambda::{FunctionConfiguration, Invoker};
use crate::aws::AwsError;
use crate::plan::{deployment_group_in_scope, GroupState};

/// The function name the template gives (its `FunctionName` parameter's default) and the
/// appspec script invokes by default.
pub const DEFAULT_FUNCTION_NAME: &str = "codedeploy-tg-hook";
/// The scheduled audit's function: the template names it after the hook function.
pub const AUDIT_FUNCTION_SUFFIX: &str = "-audit";
/// A replacement group's name as CodeDeploy would give it, for asking IAM about the attach.
const SAMPLE_DEPLOYMENT_ID: &str = "d-EXAMPLE01";
const SAMPLE_GROUP_ID: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Reported only (a safety net): never a problem.
    Info,
    /// Could not be checked: the finding says why.
    Unknown,
    Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topic {
    DeploymentGroup,
    Function,
    Permissions,
    Appspec,
    SafetyNets,
}

impl Topic {
    pub fn title(self) -> &'static str {
        match self {
            Topic::DeploymentGroup => "deployment group",
            Topic::Function => "function",
            Topic::Permissions => "permissions (IAM's policy simulator)",
            Topic::Appspec => "appspec",
            Topic::SafetyNets => "safety nets",
        }
    }
}

/// One line of the checklist: what was found and, for a problem, the fix in one sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub topic: Topic,
    pub status: Status,
    pub finding: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Everything `doctor` read. `None` where a read was not made because what it needs was not
/// found (the line that says so is enough).
#[derive(Debug, Clone)]
pub struct Facts {
    pub application: String,
    pub deployment_group: String,
    pub function_name: String,
    pub setup: Result<Option<DeploymentGroupSetup>, AwsError>,
    /// The target groups the deployment group names, name -> ARN.
    pub target_groups: Option<Result<BTreeMap<String, String>, ResolveError>>,
    /// Each classic load balancer it names, and whether it exists.
    pub load_balancers: Vec<(String, Result<bool, AwsError>)>,
    /// The Auto Scaling groups it names that exist, with what each launches from.
    pub original_groups: Option<Result<Vec<(GroupState, LaunchSource)>, AwsError>>,
    pub function: Result<Option<FunctionConfiguration>, AwsError>,
    /// Who the function's resource policy lets invoke it.
    pub invokers: Option<Result<Vec<Invoker>, AwsError>>,
    /// The scheduled audit's function (`<function>-audit`) and its invokers.
    pub audit_function: Option<Result<Option<AuditFunction>, AwsError>>,
    /// IAM's decisions for the function's role on every call the function makes here.
    pub function_role: Option<Result<Vec<Decision>, AwsError>>,
    pub instance_role: InstanceRole,
    /// `--appspec`: its path and what it says.
    pub appspec: Option<(String, Result<Appspec, String>)>,
}

/// The scheduled audit's function and who may invoke it.
pub type AuditFunction = (FunctionConfiguration, Vec<Invoker>);

/// What is known of the role the replacement instances run the appspec script with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceRole {
    /// Nothing to check it against (no function, no original group): another line says why.
    NotChecked,
    /// The group launches from a launch template, which doctor does not read.
    LaunchTemplate {
        group: String,
        template: String,
    },
    /// The group's launch configuration gives no instance profile.
    NoProfile {
        group: String,
        configuration: String,
    },
    ProfileNotFound {
        profile: String,
    },
    NoRole {
        profile: String,
    },
    Unread(AwsError),
    /// Each role of the instance profile, with IAM's decisions for it.
    Simulated {
        profile: String,
        /// The script's mode: `binary` needs the function's own calls, `lambda` the invoke.
        binary: bool,
        roles: Vec<(String, Result<Vec<Decision>, AwsError>)>,
    },
}

/// One question for IAM's simulator: these actions on this resource, with these condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    pub resource: String,
    pub actions: Vec<&'static str>,
    pub context: Vec<(&'static str, Vec<String>)>,
}

/// The `partition`, `region` and `account` of an ARN (`arn:aws:lambda:us-east-1:123:function:f`).
pub fn arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.split(':');
    (parts.next()? == "arn").then_some(())?;
    let partition = parts.next()?;
    let _service = parts.next()?;
    Some((partition, parts.next()?, parts.next()?))
}

/// Every call the function makes for this deployment group, as questions for IAM's simulator:
/// on the deployment group's ARN, on `"*"` for the actions with no resource type, on a
/// replacement group named as CodeDeploy names them (with the attach's condition key), on each
/// target group and each classic load balancer.
pub fn function_simulations(
    function_arn: &str,
    application: &str,
    deployment_group: &str,
    target_group_arns: &[String],
    load_balancer_names: &[String],
) -> Vec<Simulation> {
    let Some((partition, region, account)) = arn_parts(function_arn) else {
        return Vec::new();
    };
    let of = |kind: ResourceType| -> Vec<&'static str> {
        FUNCTION_ACTIONS
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(action, _)| *action)
            .collect()
    };
    let mut simulations = vec![
        Simulation {
            resource: format!(
                "arn:{partition}:codedeploy:{region}:{account}:deploymentgroup:{application}/{deployment_group}"
            ),
            actions: of(ResourceType::DeploymentGroup),
            context: Vec::new(),
        },
        Simulation {
            resource: "*".to_owned(),
            actions: of(ResourceType::None),
            context: Vec::new(),
        },
    ];
    let identifiers: Vec<String> = target_group_arns
        .iter()
        .chain(load_balancer_names)
        .cloned()
        .collect();
    simulations.push(Simulation {
        resource: format!(
            "arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:{SAMPLE_GROUP_ID}:autoScalingGroupName/CodeDeploy_{deployment_group}_{SAMPLE_DEPLOYMENT_ID}"
        ),
        actions: of(ResourceType::AutoScalingGroup),
        context: if identifiers.is_empty() {
            Vec::new()
        } else {
            vec![("autoscaling:TrafficSourceIdentifiers", identifiers)]
        },
    });
    for arn in target_group_arns {
        simulations.push(Simulation {
            resource: arn.clone(),
            actions: of(ResourceType::TargetGroup),
            context: Vec::new(),
        });
    }
    for name in load_balancer_names {
        simulations.push(Simulation {
            resource: format!(
                "arn:{partition}:elasticloadbalancing:{region}:{account}:loadbalancer/{name}"
            ),
            actions: of(ResourceType::LoadBalancer),
            context: Vec::new(),
        });
    }
    simulations
}

/// The checklist: every line, in the order of the topics.
pub fn checklist(facts: &Facts) -> Vec<Check> {
    let mut checks = Vec::new();
    deployment_group(facts, &mut checks);
    function(facts, &mut checks);
    permissions(facts, &mut checks);
    appspec(facts, &mut checks);
    safety_nets(facts, &mut checks);
    checks
}

/// 0 when every check holds, 3 when one does not (a problem is certain, whatever could not be
/// checked), 1 when something could not be checked and nothing found is wrong.
pub fn exit_code(checks: &[Check]) -> u8 {
    if checks.iter().any(|c| c.status == Status::Problem) {
        crate::cli::exit::MISSING
    } else if checks.iter().any(|c| c.status == Status::Unknown) {
        crate::cli::exit::FAILED
    } else {
        crate::cli::exit::OK
    }
}

fn line(topic: Topic, status: Status, finding: String) -> Check {
    Check {
        topic,
        status,
        finding,
        fix: None,
    }
}

fn problem(topic: Topic, finding: String, fix: String) -> Check {
    Check {
        topic,
        status: Status::Problem,
        finding,
        fix: Some(fix),
    }
}

fn unread(topic: Topic, what: &str, error: &AwsError) -> Check {
    line(
        topic,
        Status::Unknown,
        format!("could not read {what}: {error}"),
    )
}

fn deployment_group(facts: &Facts, checks: &mut Vec<Check>) {
    let topic = Topic::DeploymentGroup;
    let name = format!("{}/{}", facts.application, facts.deployment_group);
    let setup = match &facts.setup {
        Err(e) => return checks.push(unread(topic, &format!("deployment group {name}"), e)),
        Ok(None) => return checks.push(problem(
            topic,
            format!("CodeDeploy has no deployment group {name}"),
            "check --application and --deployment-group (names are case-sensitive) and the region"
                .to_owned(),
        )),
        Ok(Some(setup)) => setup,
    };
    let platform = setup.compute_platform.as_deref().unwrap_or("Server");
    if platform == "Server" {
        checks.push(line(
            topic,
            Status::Ok,
            format!("{name} exists, on the Server (EC2/On-Premises) platform"),
        ));
    } else {
        checks.push(problem(
            topic,
            format!("{name} is a {platform} deployment group; only Server (EC2/On-Premises) ones copy an Auto Scaling group"),
            "use this tool with an EC2/On-Premises blue/green deployment group".to_owned(),
        ));
    }
    let style = (
        setup.deployment_type.as_deref(),
        setup.deployment_option.as_deref(),
    );
    if style == (Some("BLUE_GREEN"), Some("WITH_TRAFFIC_CONTROL")) {
        checks.push(line(
            topic,
            Status::Ok,
            "blue/green, with traffic control (a load balancer)".to_owned(),
        ));
    } else {
        checks.push(problem(
            topic,
            format!(
                "deployment type {} {}: the replacement fleet and its reroute exist only in BLUE_GREEN deployments WITH_TRAFFIC_CONTROL",
                style.0.unwrap_or("IN_PLACE"),
                style.1.unwrap_or("WITHOUT_TRAFFIC_CONTROL")
            ),
            "set the deployment group's deployment type to blue/green with a load balancer".to_owned(),
        ));
    }
    match setup.green_fleet_action.as_deref() {
        Some("COPY_AUTO_SCALING_GROUP") => checks.push(line(
            topic,
            Status::Ok,
            "green fleet: COPY_AUTO_SCALING_GROUP (CodeDeploy copies the group, without its load balancers)".to_owned(),
        )),
        other => checks.push(problem(
            topic,
            format!(
                "green fleet: {}, not COPY_AUTO_SCALING_GROUP: CodeDeploy makes no replacement group for this tool to repair",
                other.unwrap_or("not set")
            ),
            "set the environment configuration to copy the Auto Scaling group".to_owned(),
        )),
    }
    if setup.target_group_names.is_empty() && setup.load_balancer_names.is_empty() {
        checks.push(problem(
            topic,
            "names no target group or classic load balancer: there is nothing to attach".to_owned(),
            "add the load balancer's target groups to the deployment group's load balancer settings".to_owned(),
        ));
    }
    match &facts.target_groups {
        None => {}
        Some(Ok(found)) if !found.is_empty() => checks.push(line(
            topic,
            Status::Ok,
            format!("target groups exist: {}", join(found.keys())),
        )),
        Some(Ok(_)) => {}
        Some(Err(ResolveError::NotFound(names))) => checks.push(problem(
            topic,
            format!(
                "target group(s) named by the deployment group do not exist: {}",
                names.join(", ")
            ),
            "create them, or remove them from the deployment group's load balancer settings"
                .to_owned(),
        )),
        Some(Err(ResolveError::Aws(e))) => checks.push(unread(topic, "the target groups", e)),
    }
    let mut existing = Vec::new();
    for (name, exists) in &facts.load_balancers {
        match exists {
            Ok(true) => existing.push(name.as_str()),
            Ok(false) => checks.push(problem(
                topic,
                format!(
                    "classic load balancer {name}, named by the deployment group, does not exist"
                ),
                "create it, or remove it from the deployment group's load balancer settings"
                    .to_owned(),
            )),
            Err(e) => checks.push(unread(topic, &format!("classic load balancer {name}"), e)),
        }
    }
    if !existing.is_empty() {
        checks.push(line(
            topic,
            Status::Ok,
            format!("classic load balancers exist: {}", existing.join(", ")),
        ));
    }
    original_groups(facts, setup, checks);
    checks.push(line(
        topic,
        Status::Ok,
        deployment_configuration(setup.deployment_config_name.as_deref()),
    ));
}

fn original_groups(facts: &Facts, setup: &DeploymentGroupSetup, checks: &mut Vec<Check>) {
    let topic = Topic::DeploymentGroup;
    if setup.auto_scaling_groups.is_empty() {
        return checks.push(problem(
            topic,
            "names no Auto Scaling group: CodeDeploy has no group to copy".to_owned(),
            "add the Auto Scaling group that serves the application to the deployment group"
                .to_owned(),
        ));
    }
    let groups = match &facts.original_groups {
        None => return,
        Some(Err(e)) => return checks.push(unread(topic, "its Auto Scaling groups", e)),
        Some(Ok(groups)) => groups,
    };
    let target_group_arns: Vec<&String> = match &facts.target_groups {
        Some(Ok(found)) => found.values().collect(),
        _ => Vec::new(),
    };
    let load_balancers: Vec<&String> = facts
        .load_balancers
        .iter()
        .filter(|(_, exists)| matches!(exists, Ok(true)))
        .map(|(name, _)| name)
        .collect();
    for name in &setup.auto_scaling_groups {
        let Some((group, _)) = groups.iter().find(|(g, _)| &g.name == name) else {
            checks.push(problem(
                topic,
                format!("Auto Scaling group {name}, named by the deployment group, does not exist"),
                "name the group that serves the application in the deployment group".to_owned(),
            ));
            continue;
        };
        let has = |source: &String| {
            group.target_group_arns.contains(source)
                || group.load_balancer_names.contains(source)
                || group.traffic_sources.contains(source)
        };
        let missing: Vec<String> = target_group_arns
            .iter()
            .chain(&load_balancers)
            .filter(|source| !has(source))
            .map(|source| short_source(source))
            .collect();
        if missing.is_empty() {
            checks.push(line(
                topic,
                Status::Ok,
                format!("{name} exists and has every target group and classic load balancer attached (what a copy loses, and the hook gives back)"),
            ));
        } else {
            checks.push(problem(
                topic,
                format!("{name} lacks {}: it scales in without draining, and ELB health checks do not reach it", missing.join(", ")),
                format!("attach them: aws autoscaling attach-traffic-sources --auto-scaling-group-name {name} --traffic-sources Identifier=<target group ARN or load balancer name>"),
            ));
        }
    }
}

/// What the deployment configuration means for when the attach happens
/// (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html).
fn deployment_configuration(name: Option<&str>) -> String {
    let name = name.unwrap_or("CodeDeployDefault.OneAtATime");
    let when = match name {
        "CodeDeployDefault.OneAtATime" => {
            "traffic moves to one replacement instance at a time: every AfterAllowTraffic hook but the last answers `waiting`, and the last one attaches"
        }
        "CodeDeployDefault.HalfAtATime" => {
            "traffic moves to half the replacement instances at a time: the first batch's hooks answer `waiting`, the last batch's attach"
        }
        "CodeDeployDefault.AllAtOnce" => {
            "traffic moves to every replacement instance at once: the first hook after it attaches"
        }
        _ => "a custom configuration: traffic moves in the batches it allows, and the hook that runs after the last batch attaches",
    };
    format!("deployment configuration {name}: {when}")
}

fn function(facts: &Facts, checks: &mut Vec<Check>) {
    let topic = Topic::Function;
    let name = &facts.function_name;
    match &facts.function {
        Err(e) => checks.push(unread(topic, &format!("function {name}"), e)),
        Ok(None) => checks.push(problem(
            topic,
            format!("Lambda has no function {name}"),
            format!("deploy infra/template.yaml (its FunctionName parameter, default {DEFAULT_FUNCTION_NAME}), or pass --function NAME"),
        )),
        Ok(Some(function)) => {
            checks.push(line(
                topic,
                Status::Ok,
                format!("{name} exists: timeout {} s, role {}", function.timeout_seconds, function.role),
            ));
            if let Some(pattern) = function.environment.get("DEPLOYMENT_GROUP_PATTERN") {
                if !deployment_group_in_scope(pattern, &facts.application, &facts.deployment_group) {
                    checks.push(problem(
                        topic,
                        format!(
                            "its DEPLOYMENT_GROUP_PATTERN {pattern} leaves out {}/{}: it ignores this deployment group's notifications, and its role is scoped the same way",
                            facts.application, facts.deployment_group
                        ),
                        "widen the stack's DeploymentGroupPattern to take this deployment group in".to_owned(),
                    ));
                }
            }
        }
    }
}

fn permissions(facts: &Facts, checks: &mut Vec<Check>) {
    let topic = Topic::Permissions;
    if let (Some(decisions), Ok(Some(function))) = (&facts.function_role, &facts.function) {
        role_checks(
            &format!("the function's role {}", function.role),
            "make every call the function makes on this deployment group's resources",
            decisions,
            RoleFix::Function,
            checks,
        );
    }
    match &facts.instance_role {
        InstanceRole::NotChecked => {}
        InstanceRole::LaunchTemplate { group, template } => checks.push(Check {
            topic,
            status: Status::Unknown,
            finding: format!(
                "the instance role: {group} launches from launch template {template}, which doctor does not read"
            ),
            fix: Some(format!("pass --instance-profile NAME, the IAM instance profile of launch template {template}")),
        }),
        InstanceRole::NoProfile { group, configuration } => checks.push(problem(
            topic,
            format!("{group}'s launch configuration {configuration} gives its instances no instance profile: the appspec script cannot invoke the function"),
            "give it an instance profile whose role has the stack's InvokeFunctionPolicyArn output attached".to_owned(),
        )),
        InstanceRole::ProfileNotFound { profile } => checks.push(problem(
            topic,
            format!("instance profile {profile} does not exist"),
            "create it, or name the one the instances use".to_owned(),
        )),
        InstanceRole::NoRole { profile } => checks.push(problem(
            topic,
            format!("instance profile {profile} holds no role: the appspec script has no credentials"),
            format!("add a role to it: aws iam add-role-to-instance-profile --instance-profile-name {profile} --role-name ROLE"),
        )),
        InstanceRole::Unread(e) => checks.push(unread(topic, "the instance role", e)),
        InstanceRole::Simulated { profile, binary, roles } => {
            for (role, decisions) in roles {
                let (what, fix) = if *binary {
                    ("make every call the function makes (HOOK_MODE=binary runs it on the instance)", RoleFix::Function)
                } else {
                    ("call lambda:InvokeFunction on the function (the appspec script's invoke)", RoleFix::Invoke)
                };
                role_checks(
                    &format!("the instance role {role} (instance profile {profile})"),
                    what,
                    decisions,
                    fix,
                    checks,
                );
            }
        }
    }
}

#[derive(Clone, Copy)]
enum RoleFix {
    Function,
    Invoke,
}

/// One ok line for a role that may make every call, or one problem per action it may not make.
fn role_checks(
    who: &str,
    what: &str,
    decisions: &Result<Vec<Decision>, AwsError>,
    fix: RoleFix,
    checks: &mut Vec<Check>,
) {
    let topic = Topic::Permissions;
    let decisions =
        match decisions {
            Ok(decisions) => decisions,
            Err(e) if e.is_access_denied() => return checks.push(Check {
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
            }),
            Err(e) => return checks.push(unread(topic, &format!("IAM's decisions for {who}"), e)),
        };
    let mut denied: BTreeMap<&str, Vec<&Decision>> = BTreeMap::new();
    for decision in decisions.iter().filter(|d| d.decision != "allowed") {
        denied
            .entry(decision.action.as_str())
            .or_default()
            .push(decision);
    }
    if denied.is_empty() {
        let actions: std::collections::BTreeSet<&str> =
            decisions.iter().map(|d| d.action.as_str()).collect();
        return checks.push(line(
            topic,
            Status::Ok,
            format!("{who} may {what} ({} action(s), allowed)", actions.len()),
        ));
    }
    for (action, decisions) in denied {
        let resources: Vec<&str> = decisions.iter().map(|d| d.resource.as_str()).collect();
        let how = decisions[0].decision.as_str();
        let finding = format!(
            "{who} may not call {action} on {} ({how})",
            resources.join(", ")
        );
        let role_name = who
            .split_whitespace()
            .find(|w| w.starts_with("arn:"))
            .and_then(|arn| arn.rsplit('/').next())
            .unwrap_or("ROLE");
        let fix = if how == "explicitDeny" {
            format!("a Deny statement (in a policy, a permissions boundary or a service control policy) refuses {action}: lift it for this resource")
        } else {
            match (fix, resource_type_of(action)) {
                (RoleFix::Invoke, _) => format!(
                    "attach the stack's invoke policy: aws iam attach-role-policy --role-name {role_name} --policy-arn <the InvokeFunctionPolicyArn output>"
                ),
                (RoleFix::Function, Some(ResourceType::None)) => format!(
                    "grant {action} in a statement on \"*\": it has no resource type, so a statement scoped to an ARN never allows it (docs/iam-actions.md)"
                ),
                (RoleFix::Function, Some(kind)) => format!(
                    "grant {action} on {} ({}; the template's {} parameter scopes it)",
                    resources.join(", "),
                    kind.name(),
                    pattern_parameter(kind)
                ),
                (RoleFix::Function, None) => format!("grant {action} to the role"),
            }
        };
        checks.push(problem(topic, finding, fix));
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

fn appspec(facts: &Facts, checks: &mut Vec<Check>) {
    let topic = Topic::Appspec;
    let Some((path, appspec)) = &facts.appspec else {
        return;
    };
    let appspec = match appspec {
        Ok(appspec) => appspec,
        Err(why) => {
            return checks.push(problem(
                topic,
                format!("{path}: {why}"),
                "fix the file; appspec-example.yml shows the hook".to_owned(),
            ))
        }
    };
    let function_timeout = match &facts.function {
        Ok(Some(function)) => Some(function.timeout_seconds),
        _ => None,
    };
    let total: u32 = appspec.hooks.iter().map(|h| h.timeout_seconds()).sum();
    if total > HOOK_TIMEOUT_LIMIT {
        checks.push(problem(
            topic,
            format!("the AfterAllowTraffic scripts' timeouts add up to {total} s, above the {HOOK_TIMEOUT_LIMIT} s CodeDeploy allows one lifecycle event"),
            "lower them (appspec-example.yml: 120)".to_owned(),
        ));
    }
    let Some(hook) = appspec
        .hooks
        .iter()
        .find(|h| h.script.as_ref().is_some_and(|s| s.shipped))
    else {
        let (finding, fix) = match appspec.hooks.iter().find(|h| h.script.is_none()) {
            _ if appspec.hooks.is_empty() => (
                format!("{path} has no AfterAllowTraffic hook: nothing attaches the load balancers inside the deployment"),
                "add the AfterAllowTraffic hook from appspec-example.yml".to_owned(),
            ),
            Some(hook) => (
                format!("{path}: AfterAllowTraffic runs {}, which is not in the revision beside the appspec", hook.location),
                "copy infra/hooks/after-allow-traffic.sh there".to_owned(),
            ),
            None => (
                format!(
                    "{path}: no AfterAllowTraffic script is infra/hooks/after-allow-traffic.sh ({})",
                    appspec.hooks.iter().map(|h| h.location.as_str()).collect::<Vec<_>>().join(", ")
                ),
                "run the shipped script from the AfterAllowTraffic hook (appspec-example.yml)".to_owned(),
            ),
        };
        return checks.push(problem(topic, finding, fix));
    };
    let Some(script) = &hook.script else { return };
    let timeout = hook.timeout_seconds();
    let binary = script.mode.as_deref() == Some("binary");
    checks.push(line(
        topic,
        Status::Ok,
        format!(
            "AfterAllowTraffic runs {} (HOOK_MODE={}), timeout {timeout} s{}",
            hook.location,
            script.mode.as_deref().unwrap_or("lambda"),
            if hook.timeout.is_none() {
                " (CodeDeploy's default)"
            } else {
                ""
            }
        ),
    ));
    if binary {
        if let Some(own) = script.binary_timeout.filter(|own| *own >= timeout) {
            checks.push(problem(
                topic,
                format!("HOOK_TIMEOUT {own} s is not below the hook's timeout {timeout} s: the agent kills the script before it says why it failed"),
                format!("set HOOK_TIMEOUT below {timeout} in {}", hook.location),
            ));
        }
        return;
    }
    if let Some(invoked) = script
        .function_name
        .as_deref()
        .filter(|n| *n != facts.function_name)
    {
        checks.push(problem(
            topic,
            format!(
                "{} invokes {invoked}, not {}",
                hook.location, facts.function_name
            ),
            format!(
                "set HOOK_FUNCTION_NAME to {} in {}",
                facts.function_name, hook.location
            ),
        ));
    }
    let Some(function_timeout) = function_timeout else {
        return;
    };
    let read = script.read_timeout;
    if timeout <= function_timeout {
        // One fix for both: a timeout above the function's and the script's read timeout.
        let needed = read.map_or(function_timeout, |r| r.max(function_timeout));
        checks.push(problem(
            topic,
            format!(
                "the hook's timeout {timeout} s is not above the function's {function_timeout} s{}: the agent may stop the script while the function works, and the deployment fails",
                read.filter(|r| *r > function_timeout)
                    .map(|r| format!(" (nor the script's HOOK_READ_TIMEOUT {r} s)"))
                    .unwrap_or_default()
            ),
            format!("raise the AfterAllowTraffic timeout above {needed} (appspec-example.yml: 120)"),
        ));
    }
    if let Some(read) = read {
        if read <= function_timeout {
            checks.push(problem(
                topic,
                format!("HOOK_READ_TIMEOUT {read} s is not above the function's timeout {function_timeout} s: the AWS CLI retries a timed-out invoke, so the function can run twice"),
                format!("set HOOK_READ_TIMEOUT above {function_timeout} in {}", hook.location),
            ));
        } else if read >= timeout && timeout > function_timeout {
            checks.push(problem(
                topic,
                format!("HOOK_READ_TIMEOUT {read} s is not below the hook's timeout {timeout} s: the agent kills the script before it says why it failed"),
                format!("raise the AfterAllowTraffic timeout above {read}, or set HOOK_READ_TIMEOUT below {timeout} in {}", hook.location),
            ));
        }
    }
}

fn safety_nets(facts: &Facts, checks: &mut Vec<Check>) {
    let topic = Topic::SafetyNets;
    let info = |finding: String| line(topic, Status::Info, finding);
    let invokers = match &facts.invokers {
        Some(Ok(invokers)) => Some(invokers),
        Some(Err(e)) => {
            checks.push(info(format!(
                "could not read who may invoke the function: {e}"
            )));
            None
        }
        None => None,
    };
    if let Ok(Some(setup)) = &facts.setup {
        if setup.success_trigger_topics.is_empty() {
            checks.push(info("no DeploymentSuccess trigger (optional: the stack's DeploymentTopicArn subscribes the function to one)".to_owned()));
        }
        for topic_arn in &setup.success_trigger_topics {
            let reaches = invokers.is_some_and(|invokers| {
                invokers.iter().any(|i| {
                    i.service == "sns.amazonaws.com"
                        && i.source_arn.as_deref().is_none_or(|s| s == topic_arn)
                })
            });
            checks.push(info(if reaches {
                format!("a DeploymentSuccess trigger publishes to {topic_arn}, which may invoke the function")
            } else {
                format!("a DeploymentSuccess trigger publishes to {topic_arn}, which the function's policy does not let invoke it (the stack's DeploymentTopicArn would)")
            }));
        }
    }
    if let Some(invokers) = invokers {
        let rules: Vec<&str> = invokers
            .iter()
            .filter(|i| i.service == "events.amazonaws.com")
            .map(|i| i.source_arn.as_deref().unwrap_or("any rule"))
            .collect();
        checks.push(info(if rules.is_empty() {
            "no EventBridge rule may invoke the function (optional: EnableEventBridgeRule=true)"
                .to_owned()
        } else {
            format!(
                "an EventBridge rule may invoke the function on success: {}",
                rules.join(", ")
            )
        }));
    }
    let audit_name = format!("{}{AUDIT_FUNCTION_SUFFIX}", facts.function_name);
    match &facts.audit_function {
        None => {}
        Some(Err(e)) => checks.push(info(format!(
            "could not read the scheduled audit's function {audit_name}: {e}"
        ))),
        Some(Ok(None)) => checks.push(info(format!(
            "no scheduled audit (no function {audit_name}; optional: the stack's AuditSchedule)"
        ))),
        Some(Ok(Some((audit, invokers)))) => {
            let env = |key: &str| audit.environment.get(key).map(String::as_str);
            let schedule: Vec<&str> = invokers
                .iter()
                .filter(|i| i.service == "events.amazonaws.com")
                .filter_map(|i| i.source_arn.as_deref())
                .collect();
            checks.push(info(
                if env("SCHEDULED_AUDIT") == Some("true") && !schedule.is_empty() {
                    format!(
                        "the scheduled audit is on: {audit_name}, {} (AUDIT_FIX={}), on {}",
                        if env("AUDIT_FIX") == Some("true") {
                            "repairing"
                        } else {
                            "reporting"
                        },
                        env("AUDIT_FIX").unwrap_or("false"),
                        schedule.join(", ")
                    )
                } else {
                    format!(
                        "{audit_name} exists, but no schedule invokes it as the scheduled audit"
                    )
                },
            ));
        }
    }
}

fn join<'a>(items: impl Iterator<Item = &'a String>) -> String {
    items.map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// A target group ARN as its name (`targetgroup/<name>/<id>`), a load balancer name as itself.
fn short_source(source: &str) -> String {
    source
        .split_once(":targetgroup/")
        .and_then(|(_, rest)| rest.split('/').next())
        .map_or_else(|| source.to_owned(), |name| format!("target group {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::actions::INVOKE_FUNCTION;
    use crate::doctor::appspec::{HookScript, Script};

    const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:codedeploy-tg-hook";
    const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1";

    fn allowed(simulations: &[Simulation]) -> Vec<Decision> {
        simulations
            .iter()
            .flat_map(|s| {
                s.actions.iter().map(|a| Decision {
                    action: (*a).to_owned(),
                    resource: s.resource.clone(),
                    decision: "allowed".to_owned(),
                })
            })
            .collect()
    }

    fn function_simulations_here() -> Vec<Simulation> {
        function_simulations(
            FUNCTION_ARN,
            "web",
            "dg",
            &[TG.to_owned()],
            &["classic".to_owned()],
        )
    }

    fn good() -> Facts {
        let function = FunctionConfiguration {
            arn: FUNCTION_ARN.to_owned(),
            role: "arn:aws:iam::123456789012:role/hook".to_owned(),
            timeout_seconds: 60,
            environment: BTreeMap::from([(
                "DEPLOYMENT_GROUP_PATTERN".to_owned(),
                "web/*".to_owned(),
            )]),
        };
        let invoke = Simulation {
            resource: FUNCTION_ARN.to_owned(),
            actions: vec![INVOKE_FUNCTION],
            context: Vec::new(),
        };
        Facts {
            application: "web".into(),
            deployment_group: "dg".into(),
            function_name: DEFAULT_FUNCTION_NAME.into(),
            setup: Ok(Some(DeploymentGroupSetup {
                compute_platform: Some("Server".into()),
                deployment_type: Some("BLUE_GREEN".into()),
                deployment_option: Some("WITH_TRAFFIC_CONTROL".into()),
                green_fleet_action: Some("COPY_AUTO_SCALING_GROUP".into()),
                target_group_names: vec!["web".into()],
                load_balancer_names: vec!["classic".into()],
                auto_scaling_groups: vec!["blue".into()],
                deployment_config_name: Some("CodeDeployDefault.OneAtATime".into()),
                success_trigger_topics: Vec::new(),
            })),
            target_groups: Some(Ok(BTreeMap::from([("web".to_owned(), TG.to_owned())]))),
            load_balancers: vec![("classic".into(), Ok(true))],
            original_groups: Some(Ok(vec![(
                GroupState {
                    name: "blue".into(),
                    target_group_arns: vec![TG.into()],
                    load_balancer_names: vec!["classic".into()],
                    ..GroupState::default()
                },
                LaunchSource::LaunchConfiguration("lc".into()),
            )])),
            function: Ok(Some(function)),
            invokers: Some(Ok(Vec::new())),
            audit_function: Some(Ok(None)),
            function_role: Some(Ok(allowed(&function_simulations_here()))),
            instance_role: InstanceRole::Simulated {
                profile: "web".into(),
                binary: false,
                roles: vec![(
                    "arn:aws:iam::123456789012:role/web".into(),
                    Ok(allowed(&[invoke])),
                )],
            },
            appspec: Some((
                "appspec.yml".into(),
                Ok(Appspec {
                    hooks: vec![HookScript {
                        location: "scripts/after-allow-traffic.sh".into(),
                        timeout: Some(120),
                        script: Some(Script {
                            shipped: true,
                            mode: Some("lambda".into()),
                            function_name: Some(DEFAULT_FUNCTION_NAME.into()),
                            read_timeout: Some(90),
                            binary_timeout: Some(100),
                        }),
                    }],
                }),
            )),
        }
    }

    fn problems(facts: &Facts) -> Vec<Check> {
        checklist(facts)
            .into_iter()
            .filter(|c| c.status == Status::Problem)
            .collect()
    }

    fn one_problem(facts: &Facts) -> String {
        let problems = problems(facts);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].fix.is_some());
        problems[0].finding.clone()
    }

    #[test]
    fn a_good_setup_holds_and_exits_0() {
        let checks = checklist(&good());
        assert!(
            checks.iter().all(|c| c.status <= Status::Info),
            "{checks:#?}"
        );
        assert_eq!(exit_code(&checks), 0);
    }

    #[test]
    fn the_simulations_cover_every_call_once_on_the_resource_its_type_names() {
        let simulations = function_simulations_here();
        let mut actions: Vec<&str> = simulations.iter().flat_map(|s| s.actions.clone()).collect();
        actions.sort_unstable();
        let mut expected: Vec<&str> = FUNCTION_ACTIONS.iter().map(|(a, _)| *a).collect();
        expected.sort_unstable();
        assert_eq!(actions, expected);
        let on = |action: &str| {
            simulations
                .iter()
                .find(|s| s.actions.contains(&action))
                .unwrap()
        };
        assert_eq!(on("codedeploy:ListDeploymentTargets").resource, "*");
        assert_eq!(
            on("codedeploy:GetDeployment").resource,
            "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:web/dg"
        );
        let attach = on("autoscaling:AttachTrafficSources");
        assert!(attach
            .resource
            .ends_with(":autoScalingGroupName/CodeDeploy_dg_d-EXAMPLE01"));
        assert_eq!(
            attach.context,
            vec![(
                "autoscaling:TrafficSourceIdentifiers",
                vec![TG.to_owned(), "classic".to_owned()]
            )]
        );
        assert_eq!(on("elasticloadbalancing:RegisterTargets").resource, TG);
        assert_eq!(
            on("elasticloadbalancing:RegisterInstancesWithLoadBalancer").resource,
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/classic"
        );
        assert!(function_simulations("not an arn", "web", "dg", &[], &[]).is_empty());
    }

    #[test]
    fn each_denied_action_is_one_problem_with_the_fix_its_resource_type_needs() {
        let mut facts = good();
        let mut decisions = allowed(&function_simulations_here());
        for d in &mut decisions {
            if d.action == "codedeploy:BatchGetDeploymentTargets" {
                d.decision = "implicitDeny".into();
            }
        }
        facts.function_role = Some(Ok(decisions.clone()));
        assert!(one_problem(&facts)
            .contains("may not call codedeploy:BatchGetDeploymentTargets on * (implicitDeny)"));
        let fix = problems(&facts)[0].fix.clone().unwrap();
        assert!(fix.contains("no resource type"), "{fix}");
        for d in &mut decisions {
            if d.action == "elasticloadbalancing:RegisterTargets" {
                d.decision = "explicitDeny".into();
            }
        }
        facts.function_role = Some(Ok(decisions));
        let found = problems(&facts);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(found[1]
            .fix
            .as_deref()
            .unwrap()
            .contains("a Deny statement"));
    }

    #[test]
    fn setup_faults_are_each_one_problem() {
        let mut facts = good();
        facts
            .setup
            .as_mut()
            .unwrap()
            .as_mut()
            .unwrap()
            .green_fleet_action = Some("DISCOVER_EXISTING".into());
        assert!(one_problem(&facts).contains("DISCOVER_EXISTING"));

        let mut facts = good();
        facts
            .setup
            .as_mut()
            .unwrap()
            .as_mut()
            .unwrap()
            .compute_platform = Some("ECS".into());
        assert!(one_problem(&facts).contains("ECS deployment group"));

        let mut facts = good();
        facts.load_balancers = vec![("classic".into(), Ok(false))];
        assert!(one_problem(&facts).contains("classic load balancer classic"));

        let mut facts = good();
        if let Some(Ok(groups)) = &mut facts.original_groups {
            groups[0].0.target_group_arns.clear();
        }
        assert!(one_problem(&facts).contains("blue lacks target group web"));

        let mut facts = good();
        facts.original_groups = Some(Ok(Vec::new()));
        assert!(one_problem(&facts).contains("Auto Scaling group blue"));

        let mut facts = good();
        facts.function = Ok(None);
        facts.function_role = None;
        facts.instance_role = InstanceRole::NotChecked;
        assert!(one_problem(&facts).contains("Lambda has no function codedeploy-tg-hook"));

        let mut facts = good();
        if let Ok(Some(f)) = &mut facts.function {
            f.environment
                .insert("DEPLOYMENT_GROUP_PATTERN".into(), "shop/*".into());
        }
        assert!(one_problem(&facts).contains("DEPLOYMENT_GROUP_PATTERN shop/* leaves out web/dg"));

        let mut facts = good();
        facts.instance_role = InstanceRole::NoProfile {
            group: "blue".into(),
            configuration: "lc".into(),
        };
        assert!(one_problem(&facts).contains("gives its instances no instance profile"));
    }

    fn with_hook(timeout: Option<u32>, script: Option<Script>) -> Facts {
        let mut facts = good();
        facts.appspec = Some((
            "appspec.yml".into(),
            Ok(Appspec {
                hooks: vec![HookScript {
                    location: "scripts/hook.sh".into(),
                    timeout,
                    script,
                }],
            }),
        ));
        facts
    }

    fn shipped(mode: &str, function: &str, read: u32) -> Option<Script> {
        Some(Script {
            shipped: true,
            mode: Some(mode.into()),
            function_name: Some(function.into()),
            read_timeout: Some(read),
            binary_timeout: Some(100),
        })
    }

    #[test]
    fn appspec_faults_are_each_one_problem() {
        let hook = |timeout, script| one_problem(&with_hook(timeout, script));
        let both = problems(&with_hook(
            Some(60),
            shipped("lambda", DEFAULT_FUNCTION_NAME, 50),
        ));
        assert_eq!(both.len(), 2, "{both:#?}");
        assert!(both[0]
            .finding
            .contains("the hook's timeout 60 s is not above the function's 60 s"));
        assert!(both[1]
            .finding
            .contains("HOOK_READ_TIMEOUT 50 s is not above"));
        assert!(
            hook(Some(120), shipped("lambda", DEFAULT_FUNCTION_NAME, 30))
                .contains("HOOK_READ_TIMEOUT 30 s is not above the function's timeout 60 s")
        );
        assert!(hook(Some(80), shipped("lambda", DEFAULT_FUNCTION_NAME, 90))
            .contains("HOOK_READ_TIMEOUT 90 s is not below the hook's timeout 80 s"));
        assert!(hook(Some(120), shipped("lambda", "other", 90))
            .contains("invokes other, not codedeploy-tg-hook"));
        assert!(hook(Some(90), shipped("binary", DEFAULT_FUNCTION_NAME, 90))
            .contains("HOOK_TIMEOUT 100 s is not below the hook's timeout 90 s"));
        assert!(hook(Some(120), None).contains("not in the revision"));
        let mut not_ours = shipped("lambda", DEFAULT_FUNCTION_NAME, 90);
        not_ours.as_mut().unwrap().shipped = false;
        assert!(hook(Some(120), not_ours)
            .contains("no AfterAllowTraffic script is infra/hooks/after-allow-traffic.sh"));
        // Without a timeout, CodeDeploy's 3600 s holds.
        assert!(problems(&with_hook(
            None,
            shipped("lambda", DEFAULT_FUNCTION_NAME, 90)
        ))
        .is_empty());
        let mut facts = good();
        facts.appspec = Some(("appspec.yml".into(), Ok(Appspec { hooks: Vec::new() })));
        assert!(one_problem(&facts).contains("has no AfterAllowTraffic hook"));
        facts.appspec = Some(("appspec.yml".into(), Err("not YAML: oops".into())));
        assert!(one_problem(&facts).contains("appspec.yml: not YAML: oops"));
    }

    #[test]
    fn a_problem_wins_over_what_could_not_be_checked_and_unknown_alone_exits_1() {
        let mut facts = good();
        facts.instance_role = InstanceRole::LaunchTemplate {
            group: "blue".into(),
            template: "lt".into(),
        };
        assert_eq!(exit_code(&checklist(&facts)), 1);
        facts.load_balancers = vec![("classic".into(), Ok(false))];
        assert_eq!(exit_code(&checklist(&facts)), 3);
        let denied = AwsError {
            action: "iam:SimulatePrincipalPolicy",
            code: "AccessDenied".into(),
            message: "no".into(),
        };
        let mut facts = good();
        facts.function_role = Some(Err(denied));
        let checks = checklist(&facts);
        assert_eq!(exit_code(&checks), 1);
        assert!(checks.iter().any(|c| c.status == Status::Unknown
            && c.finding
                .contains("may not call iam:SimulatePrincipalPolicy")));
    }

    #[test]
    fn safety_nets_are_reported_never_problems() {
        let mut facts = good();
        facts
            .setup
            .as_mut()
            .unwrap()
            .as_mut()
            .unwrap()
            .success_trigger_topics = vec!["arn:aws:sns:us-east-1:1:t".into()];
        facts.invokers = Some(Ok(vec![Invoker {
            service: "events.amazonaws.com".into(),
            source_arn: Some("arn:aws:events:us-east-1:1:rule/r".into()),
        }]));
        let checks = checklist(&facts);
        assert_eq!(exit_code(&checks), 0);
        let nets: Vec<&Check> = checks
            .iter()
            .filter(|c| c.topic == Topic::SafetyNets)
            .collect();
        assert!(nets.iter().all(|c| c.status == Status::Info));
        assert!(nets[0]
            .finding
            .contains("which the function's policy does not let invoke it"));
        assert!(nets[1].finding.contains("rule/r"));
    }
}
