//! `doctor`: reads one deployment group's setup (the deployment group, the function, IAM's own
//! decisions for the roles, the appspec) and reports a checklist before its first deployment.
//! The reads are here; every decision is in `checks` and the topic files beside it.

pub mod appspec;
pub mod checks;
mod group;
mod hook;
mod nets;
pub mod permissions;
pub mod print;
mod questions;
pub mod script;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use futures_util::future::join_all;

use crate::aws::actions::{HOOK_REPORT_ACTION, INVOKE_FUNCTION};
use crate::aws::autoscaling::{self, GroupSetup, LaunchSource, LaunchTemplate};
use crate::aws::lambda::FunctionConfiguration;
use crate::aws::{codedeploy, elb, elbv2, iam, lambda, Clients};
pub use checks::{verdict, Check, Status, Topic, Verdict};
use checks::{
    AppspecRead, AuditFunctionRead, Facts, InstanceRole, Lookup, ProfileSource, RoleCheck,
    RoleDecisions,
};
use questions::Simulation;

/// What doctor examines, as its command line names it: the deployment group, and what to take
/// in place of what it would find.
#[derive(Debug, Clone)]
pub struct Subject {
    pub application: String,
    pub deployment_group: String,
    /// The hook function; default: the one the appspec's script invokes, else the template's.
    pub function: Option<String>,
    pub appspec: Option<PathBuf>,
    /// The replacement instances' instance profile, in place of what each group's launch
    /// source gives.
    pub instance_profile: Option<String>,
}

/// Reads everything and returns the checklist.
pub async fn doctor(clients: &Clients, request: &Subject) -> Vec<Check> {
    checklist(&read(clients, request).await)
}

/// The checklist: every line, in the order of the topics.
pub fn checklist(facts: &Facts) -> Vec<Check> {
    let mut checks = Vec::new();
    group::deployment_group(facts, &mut checks);
    group::function(facts, &mut checks);
    permissions::permissions(facts, &mut checks);
    hook::appspec(facts, &mut checks);
    nets::safety_nets(facts, &mut checks);
    checks
}

async fn read(clients: &Clients, request: &Subject) -> Facts {
    let appspec = request.appspec.as_deref().map(read_appspec);
    let shipped_script = match &appspec {
        Some((_, AppspecRead::Read(Ok(a)))) => a
            .hooks
            .iter()
            .find_map(|h| h.script.read().filter(|s| s.shipped).cloned()),
        _ => None,
    };
    let function_name = request
        .function
        .clone()
        .or_else(|| {
            shipped_script
                .as_ref()
                .and_then(|s| s.function_name.clone())
        })
        .unwrap_or_else(|| checks::DEFAULT_FUNCTION_NAME.to_owned());
    let binary = shipped_script
        .as_ref()
        .is_some_and(|s| s.mode.as_deref() == Some("binary"));
    // What the script leaves untold that a check needs is never taken as its default: which
    // function it invokes (unless --function says), and how it runs (the instance role's needs).
    let untold = |name: &str| {
        shipped_script
            .as_ref()
            .and_then(|s| s.unsettled.iter().find(|u| u.name == name))
            .map(|u| {
                format!(
                    "the appspec script's {} cannot be told (line {}: {})",
                    u.name, u.line, u.why
                )
            })
    };
    let function_untold = untold("HOOK_FUNCTION_NAME").filter(|_| request.function.is_none());
    let mode_untold = untold("HOOK_MODE");

    let (setup, function) = tokio::join!(
        async {
            Lookup::from(
                codedeploy::deployment_group_setup(
                    clients.codedeploy(),
                    &request.application,
                    &request.deployment_group,
                )
                .await,
            )
        },
        async {
            if function_untold.is_some() {
                // Not looked for: the line on the untold name says why.
                return Lookup::Missing;
            }
            Lookup::from(lambda::function_configuration(clients.lambda(), &function_name).await)
        },
    );
    let named = setup.found();
    let audit_name = format!(
        "{}{}",
        checks::bare_function_name(&function_name),
        checks::AUDIT_FUNCTION_SUFFIX
    );
    let function_found = function.found().is_some();
    let (target_groups, load_balancers, original_groups, invokers, audit_function) = tokio::join!(
        async {
            match named {
                Some(s) if !s.target_group_names.is_empty() => Some(
                    elbv2::existing_target_groups(clients.elbv2(), &s.target_group_names).await,
                ),
                _ => None,
            }
        },
        async {
            let names = named
                .map(|s| s.load_balancer_names.clone())
                .unwrap_or_default();
            let exists = join_all(
                names
                    .iter()
                    .map(|n| elb::load_balancer_exists(clients.elb(), n)),
            )
            .await;
            names.into_iter().zip(exists).collect::<Vec<_>>()
        },
        async {
            match named {
                Some(s) if !s.auto_scaling_groups.is_empty() => Some(
                    autoscaling::describe_groups_and_launch_sources(
                        clients.autoscaling(),
                        &s.auto_scaling_groups,
                    )
                    .await,
                ),
                _ => None,
            }
        },
        async {
            if function_found {
                Some(lambda::invokers(clients.lambda(), &function_name).await)
            } else {
                None
            }
        },
        async {
            if function_untold.is_some() {
                return AuditFunctionRead::NotAsked;
            }
            match lambda::function_configuration(clients.lambda(), &audit_name).await {
                Ok(Some(audit)) => match lambda::invokers(clients.lambda(), &audit_name).await {
                    Ok(invokers) => AuditFunctionRead::Found((audit, invokers)),
                    Err(e) => AuditFunctionRead::Unread(e),
                },
                Ok(None) => AuditFunctionRead::Missing,
                Err(e) => AuditFunctionRead::Unread(e),
            }
        },
    );

    let target_group_arns: Vec<String> = match &target_groups {
        Some(Ok((found, _))) => found.values().cloned().collect(),
        _ => Vec::new(),
    };
    let existing_load_balancers: Vec<String> = load_balancers
        .iter()
        .filter(|(_, exists)| matches!(exists, Ok(true)))
        .map(|(name, _)| name.clone())
        .collect();
    let function_config = function.found();
    let groups = match &original_groups {
        Some(Ok(groups)) => groups.as_slice(),
        _ => &[],
    };
    // Any ARN of the account and region: the function's, else the original group's (binary mode
    // needs no function), else a target group's.
    let regional_arn = function_config
        .map(|f| f.arn.clone())
        .or_else(|| groups.iter().find_map(|g| g.arn.clone()))
        .or_else(|| target_group_arns.first().cloned());
    let simulations = regional_arn
        .map(|arn| {
            questions::function_simulations(
                &arn,
                &request.application,
                &request.deployment_group,
                &target_group_arns,
                &existing_load_balancers,
            )
        })
        .unwrap_or_default();
    let (function_role, instance_roles) = tokio::join!(
        async {
            match &function {
                Lookup::Found(f) => {
                    RoleCheck::Simulated(simulate_all(clients, &f.role, &simulations).await)
                }
                Lookup::Unread(_) => {
                    RoleCheck::NotChecked(Some("the function could not be read".to_owned()))
                }
                // No function: its own line says so.
                Lookup::Missing => RoleCheck::NotChecked(None),
            }
        },
        async {
            match &mode_untold {
                Some(why) => vec![InstanceRole::NotChecked(Some(format!(
                    "{why}, and what the role needs depends on it"
                )))],
                None => {
                    instance_roles(
                        clients,
                        request,
                        groups,
                        function_config,
                        binary,
                        &simulations,
                    )
                    .await
                }
            }
        },
    );
    Facts {
        application: request.application.clone(),
        deployment_group: request.deployment_group.clone(),
        function_name,
        function_untold,
        binary,
        setup,
        target_groups,
        load_balancers,
        original_groups,
        function,
        invokers,
        audit_function,
        function_role,
        instance_roles,
        appspec,
    }
}

/// Every simulation for one role, at once: each decision made, and each question that failed.
async fn simulate_all(clients: &Clients, role: &str, simulations: &[Simulation]) -> RoleDecisions {
    let answers = join_all(
        simulations
            .iter()
            .map(|s| iam::simulate(clients.iam(), role, &s.actions, &s.resource, &s.context)),
    )
    .await;
    let mut all = RoleDecisions::default();
    for (simulation, answer) in simulations.iter().zip(answers) {
        match answer {
            Ok(decisions) => all.decisions.extend(decisions),
            Err(e) => all.failed.push((simulation.resource.clone(), e)),
        }
    }
    all
}

/// The instance profiles the replacement instances get (`--instance-profile`, else each original
/// group's launch configuration's or launch templates'), their roles, and IAM's decisions for
/// each: on the function's invoke, or in binary mode on every call the function makes.
async fn instance_roles(
    clients: &Clients,
    request: &Subject,
    groups: &[GroupSetup],
    function: Option<&FunctionConfiguration>,
    binary: bool,
    function_simulations: &[Simulation],
) -> Vec<InstanceRole> {
    let simulations = match (binary, function) {
        (true, _) if function_simulations.is_empty() => {
            return vec![InstanceRole::NotChecked(Some(
                "no ARN of the account and region was read to ask IAM about".to_owned(),
            ))]
        }
        // `attach` makes every call of the function but the hook report (it has no hook
        // execution to report on).
        (true, _) => function_simulations
            .iter()
            .map(|s| Simulation {
                actions: s
                    .actions
                    .iter()
                    .copied()
                    .filter(|a| *a != HOOK_REPORT_ACTION)
                    .collect(),
                ..s.clone()
            })
            .collect(),
        (false, Some(f)) => vec![Simulation {
            resource: f.arn.clone(),
            actions: vec![INVOKE_FUNCTION],
            context: Vec::new(),
        }],
        // No function to invoke: its own line says so.
        (false, None) => return vec![InstanceRole::NotChecked(None)],
    };
    let mut lines = Vec::new();
    let profiles = match &request.instance_profile {
        Some(profile) => vec![(profile.clone(), ProfileSource::Given)],
        // A missing or unread group has its own line.
        None if groups.is_empty() => return vec![InstanceRole::NotChecked(None)],
        None => {
            // Each profile once (by its name: a launch source may give the ARN), with the
            // groups that launch with it.
            let mut profiles: Vec<(String, ProfileSource)> = Vec::new();
            let found = join_all(groups.iter().map(|g| launch_profiles(clients, g))).await;
            for (profile, group) in found.into_iter().flatten().filter_map(|found| match found {
                Ok(found) => Some(found),
                Err(line) => {
                    lines.push(line);
                    None
                }
            }) {
                let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
                match profiles.iter_mut().find(|(p, _)| name(p) == name(&profile)) {
                    Some((_, ProfileSource::Groups(named))) if !named.contains(&group) => {
                        named.push(group)
                    }
                    Some(_) => {}
                    None => profiles.push((profile, ProfileSource::Groups(vec![group]))),
                }
            }
            profiles
        }
    };
    let checked = join_all(
        profiles
            .into_iter()
            .map(|(profile, source)| check_profile(clients, profile, source, &simulations)),
    )
    .await;
    lines.extend(checked);
    lines
}

/// The instance profile of each of the group's launch sources, with the group's name, or the
/// line saying why there is none to check.
async fn launch_profiles(
    clients: &Clients,
    group: &GroupSetup,
) -> Vec<Result<(String, String), InstanceRole>> {
    let name = group.state.name.clone();
    match &group.launch {
        LaunchSource::LaunchConfiguration(configuration) => {
            vec![match autoscaling::launch_configuration_profile(
                clients.autoscaling(),
                configuration,
            )
            .await
            {
                Ok(Some(profile)) => Ok((profile, name)),
                Ok(None) => Err(InstanceRole::NoProfile {
                    group: name,
                    source: format!("launch configuration {configuration}"),
                }),
                Err(error) => Err(InstanceRole::Unread {
                    what: format!("the instance role of {name}"),
                    error,
                }),
            }]
        }
        LaunchSource::LaunchTemplates(templates) => {
            let several = templates.len() > 1;
            join_all(
                templates
                    .iter()
                    .map(|t| template_profile(clients, &name, t, several)),
            )
            .await
        }
        LaunchSource::Unknown => vec![Err(InstanceRole::NoLaunchSource { group: name })],
    }
}

/// How a line names a launch template version.
#[cfg(feature = "launch-templates")]
fn template_shown(template: &LaunchTemplate) -> String {
    format!(
        "launch template {} (version {})",
        template.shown(),
        template.version
    )
}

/// The instance profile the group's launch template version gives, with the group's name (and
/// the template's, when the group launches from `several`).
#[cfg(feature = "launch-templates")]
async fn template_profile(
    clients: &Clients,
    group: &str,
    template: &LaunchTemplate,
    several: bool,
) -> Result<(String, String), InstanceRole> {
    match crate::aws::ec2::launch_template_profile(clients.ec2(), template).await {
        Ok(Some(profile)) if several => {
            Ok((profile, format!("{group}'s {}", template_shown(template))))
        }
        Ok(Some(profile)) => Ok((profile, group.to_owned())),
        Ok(None) => Err(InstanceRole::NoProfile {
            group: group.to_owned(),
            source: template_shown(template),
        }),
        Err(error) => Err(InstanceRole::Unread {
            what: format!(
                "the instance role of {group} ({})",
                template_shown(template)
            ),
            error,
        }),
    }
}

/// Built without EC2 (feature `launch-templates`): the template is not read.
#[cfg(not(feature = "launch-templates"))]
async fn template_profile(
    _: &Clients,
    group: &str,
    template: &LaunchTemplate,
    _: bool,
) -> Result<(String, String), InstanceRole> {
    Err(InstanceRole::LaunchTemplateNotRead {
        group: group.to_owned(),
        template: template.clone(),
    })
}

/// The instance profile's roles, and IAM's decisions for each.
async fn check_profile(
    clients: &Clients,
    profile: String,
    source: ProfileSource,
    simulations: &[Simulation],
) -> InstanceRole {
    let roles = match iam::instance_profile_roles(clients.iam(), &profile).await {
        Ok(Some(roles)) if roles.is_empty() => return InstanceRole::NoRole { profile, source },
        Ok(Some(roles)) => roles,
        Ok(None) => return InstanceRole::ProfileNotFound { profile, source },
        Err(error) => {
            return InstanceRole::Unread {
                what: format!("instance profile {profile}"),
                error,
            }
        }
    };
    let decisions = join_all(
        roles
            .iter()
            .map(|role| simulate_all(clients, role, simulations)),
    )
    .await;
    InstanceRole::Simulated {
        profile,
        source,
        roles: roles.into_iter().zip(decisions).collect(),
    }
}

/// The appspec's text and each hook script's, from the revision (the appspec's folder, where
/// CodeDeploy finds the scripts' locations).
fn read_appspec(path: &Path) -> (String, AppspecRead) {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => return (shown, AppspecRead::Unreadable(e.to_string())),
    };
    let root = path.parent().unwrap_or(Path::new("."));
    let appspec = appspec::read(&text, |location| {
        match std::fs::read(root.join(location.trim_start_matches('/'))) {
            Ok(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|e| format!("not UTF-8 text ({e})")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    });
    (shown, AppspecRead::Read(appspec))
}
