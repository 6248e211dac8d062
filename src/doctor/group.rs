//! `doctor`'s checks of the deployment group (its style, its load balancers, the original group)
//! and of the function (no I/O).

use super::checks::{
    bare_function_name, line, problem, unread, Check, Facts, Lookup, Status, Topic,
    DEFAULT_FUNCTION_NAME,
};
use crate::aws::codedeploy::DeploymentGroupSetup;
use crate::plan::{deployment_group_in_scope, TrafficSource};

pub(super) fn deployment_group(facts: &Facts, checks: &mut Vec<Check>) {
    let topic = Topic::DeploymentGroup;
    let name = format!("{}/{}", facts.application, facts.deployment_group);
    let setup = match &facts.setup {
        Lookup::Unread(e) => {
            return checks.push(unread(topic, &format!("deployment group {name}"), e))
        }
        Lookup::Missing => return checks.push(problem(
            topic,
            format!("CodeDeploy has no deployment group {name}"),
            "check --application and --deployment-group (names are case-sensitive) and the region"
                .to_owned(),
        )),
        Lookup::Found(setup) => setup,
    };
    // A deployment group of another platform or style has no replacement group at all: that one
    // line is the finding, and the rest would only repeat it.
    let Some(platform) = setup.compute_platform.as_deref() else {
        return checks.push(line(
            topic,
            Status::Unknown,
            format!("deployment group {name}: codedeploy:GetDeploymentGroup answered without computePlatform (an incomplete answer), so its platform is not known"),
        ));
    };
    if platform != "Server" {
        return checks.push(problem(
            topic,
            format!("{name} is a {platform} deployment group; only Server (EC2/On-Premises) ones copy an Auto Scaling group"),
            "use this tool with an EC2/On-Premises blue/green deployment group".to_owned(),
        ));
    }
    let style = (
        setup.deployment_type.as_deref(),
        setup.deployment_option.as_deref(),
    );
    if style != (Some("BLUE_GREEN"), Some("WITH_TRAFFIC_CONTROL")) {
        return checks.push(problem(
            topic,
            format!(
                "deployment type {} {}: the replacement fleet and its reroute exist only in BLUE_GREEN deployments WITH_TRAFFIC_CONTROL",
                style.0.unwrap_or("IN_PLACE"),
                style.1.unwrap_or("WITHOUT_TRAFFIC_CONTROL")
            ),
            "set the deployment group's deployment type to blue/green with a load balancer".to_owned(),
        ));
    }
    checks.push(line(
        topic,
        Status::Ok,
        format!("{name}: Server (EC2/On-Premises), blue/green with traffic control"),
    ));
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
        Some(Ok((found, missing))) => {
            if !found.is_empty() {
                checks.push(line(
                    topic,
                    Status::Ok,
                    format!(
                        "target groups exist: {}",
                        found.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if !missing.is_empty() {
                checks.push(problem(
                    topic,
                    format!(
                        "target group(s) named by the deployment group do not exist: {}",
                        missing.join(", ")
                    ),
                    "create them, or remove them from the deployment group's load balancer settings".to_owned(),
                ));
            }
        }
        Some(Err(e)) => checks.push(unread(topic, "the target groups", e)),
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
        Status::Info,
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
    // What each group must have: the target groups that exist (a missing one has its own line)
    // and the classic load balancers that exist. Unread, the comparison cannot be made.
    let (target_group_arns, target_groups_read): (Vec<&String>, bool) = match &facts.target_groups {
        Some(Ok((found, _))) => (found.values().collect(), true),
        Some(Err(_)) => (Vec::new(), false),
        None => (Vec::new(), true),
    };
    let unread_load_balancers = facts.load_balancers.iter().any(|(_, e)| e.is_err());
    let load_balancers: Vec<&String> = facts
        .load_balancers
        .iter()
        .filter(|(_, exists)| matches!(exists, Ok(true)))
        .map(|(name, _)| name)
        .collect();
    for name in &setup.auto_scaling_groups {
        let Some(group) = groups.iter().find(|g| &g.state.name == name) else {
            checks.push(problem(
                topic,
                format!("Auto Scaling group {name}, named by the deployment group, does not exist"),
                "name the group that serves the application in the deployment group".to_owned(),
            ));
            continue;
        };
        let state = &group.state;
        let missing_target_groups: Vec<&String> = target_group_arns
            .iter()
            .copied()
            .filter(|arn| !state.has(arn))
            .collect();
        let missing_load_balancers: Vec<&String> = load_balancers
            .iter()
            .copied()
            .filter(|lb| !state.has(lb))
            .collect();
        if !missing_target_groups.is_empty() || !missing_load_balancers.is_empty() {
            let shown: Vec<String> = missing_target_groups
                .iter()
                .chain(&missing_load_balancers)
                .map(|source| short_source(source))
                .collect();
            let sources: Vec<String> = missing_target_groups
                .iter()
                .map(|arn| TrafficSource::TargetGroup((*arn).clone()))
                .chain(
                    missing_load_balancers
                        .iter()
                        .map(|lb| TrafficSource::LoadBalancer((*lb).clone())),
                )
                .map(|source| {
                    let (identifier, kind) = source.identifier_and_type();
                    format!("Identifier={identifier},Type={kind}")
                })
                .collect();
            checks.push(problem(
                topic,
                format!("{name} lacks {}: it scales in without draining, and ELB health checks do not reach it", shown.join(", ")),
                format!("attach them: aws autoscaling attach-traffic-sources --auto-scaling-group-name {name} --traffic-sources {}", sources.join(" ")),
            ));
        } else if unread_load_balancers || !target_groups_read {
            checks.push(line(
                topic,
                Status::Unknown,
                format!("{name} exists; whether it has every target group and classic load balancer attached could not be checked (they could not all be read)"),
            ));
        } else if target_group_arns.is_empty() && load_balancers.is_empty() {
            checks.push(line(topic, Status::Ok, format!("{name} exists")));
        } else {
            checks.push(line(
                topic,
                Status::Ok,
                format!(
                    "{name} exists and has {} attached (what a copy loses, and the hook gives back)",
                    count(target_group_arns.len(), load_balancers.len())
                ),
            ));
        }
    }
}

/// "2 target group(s) and 1 classic load balancer(s)", for what was compared.
fn count(target_groups: usize, load_balancers: usize) -> String {
    format!("its {target_groups} target group(s) and {load_balancers} classic load balancer(s)")
}

/// What the deployment configuration means for when the attach happens
/// (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html).
pub(super) fn deployment_configuration(name: Option<&str>) -> String {
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

pub(super) fn function(facts: &Facts, checks: &mut Vec<Check>) {
    let topic = Topic::Function;
    let name = &facts.function_name;
    if let Some(why) = &facts.function_untold {
        return checks.push(Check {
            topic,
            status: Status::Unknown,
            finding: format!("{why}: which function it invokes is not known, so none was checked"),
            fix: Some(
                "pass --function NAME, or set HOOK_FUNCTION_NAME plainly at the script's top"
                    .to_owned(),
            ),
        });
    }
    match &facts.function {
        Lookup::Unread(e) => checks.push(unread(topic, &format!("function {name}"), e)),
        // In binary mode the instances run the binary; the function only serves the safety nets.
        Lookup::Missing if facts.binary => checks.push(line(
            topic,
            Status::Info,
            format!("Lambda has no function {name}: the appspec script runs the binary on the instance (HOOK_MODE=binary), so only the safety nets would use it"),
        )),
        Lookup::Missing => checks.push(problem(
            topic,
            format!("Lambda has no function {name}"),
            format!("deploy infra/template.yaml (its FunctionName parameter, default {DEFAULT_FUNCTION_NAME}), or pass --function NAME"),
        )),
        Lookup::Found(function) => {
            checks.push(line(
                topic,
                Status::Ok,
                format!(
                    "{} exists: timeout {} s, role {}",
                    bare_function_name(name),
                    function.timeout_seconds,
                    function.role
                ),
            ));
            if let Some(pattern) = function.environment.get("DEPLOYMENT_GROUP_PATTERN") {
                if !deployment_group_in_scope(pattern, &facts.application, &facts.deployment_group)
                {
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

/// A target group ARN as its name (`targetgroup/<name>/<id>`), a load balancer name as itself.
fn short_source(source: &str) -> String {
    source
        .split_once(":targetgroup/")
        .and_then(|(_, rest)| rest.split('/').next())
        .map_or_else(|| source.to_owned(), |name| format!("target group {name}"))
}
