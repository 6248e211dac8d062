//! Pure decisions: deployment facts and the replacement groups' state in, a plan (or why not) out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Auto Scaling accepts at most this many traffic sources (target groups and classic load
/// balancers together) per AttachTrafficSources call.
pub const ATTACH_BATCH: usize = 10;

/// What GetDeployment tells us, in CodeDeploy's own words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployment {
    pub id: String,
    pub application_name: String,
    pub deployment_group_name: String,
    /// `Created`, `Queued`, `InProgress`, `Baking`, `Succeeded`, `Failed`, `Stopped`, `Ready`.
    pub status: String,
    pub compute_platform: Option<String>,
    /// `BLUE_GREEN` or `IN_PLACE`.
    pub deployment_type: Option<String>,
    /// `WITH_TRAFFIC_CONTROL` or `WITHOUT_TRAFFIC_CONTROL`.
    pub deployment_option: Option<String>,
    /// `greenFleetProvisioningOption.action`: `COPY_AUTO_SCALING_GROUP` or `DISCOVER_EXISTING`.
    pub green_fleet_action: Option<String>,
    /// `loadBalancerInfo.targetGroupInfoList[].name`.
    pub target_group_names: Vec<String>,
    /// `loadBalancerInfo.elbInfoList[].name`: classic load balancers.
    pub load_balancer_names: Vec<String>,
    /// `targetInstances.autoScalingGroups`.
    pub target_instance_groups: Vec<String>,
    /// Who started it: `user`, `autoscaling`, `codeDeployRollback`, `CodeDeployAutoUpdate`, ...
    /// (`None` when not reported).
    pub creator: Option<String>,
}

/// Why a deployment is left alone (a success: nothing of ours to do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    NotServer {
        compute_platform: String,
    },
    NotBlueGreen {
        deployment_type: String,
    },
    WithoutTrafficControl,
    NotCopiedGroup {
        action: String,
    },
    NoLoadBalancer,
    TrafficNotRerouted {
        status: String,
    },
    DeploymentEnded {
        status: String,
    },
    /// The deployment group names other Auto Scaling groups as its fleet now.
    Superseded {
        groups: Vec<String>,
        fleet: Vec<String>,
    },
    /// A later deployment of the deployment group is under way: it is replacing these groups.
    LaterDeploymentUnderWay {
        groups: Vec<String>,
        deployment_id: String,
        status: String,
    },
    /// Every replacement instance is through `AllowTraffic`, none of them successfully.
    NothingRerouted {
        replacement_instances: usize,
    },
    /// CodeDeploy started it itself, for instances Auto Scaling launched or that missed the
    /// last deployment: it deploys to instances of the fleet in place and copies no group.
    FollowOn {
        creator: String,
    },
    /// The audit found a group named like this deployment's replacement group, but the
    /// deployment names others (`targetInstances.autoScalingGroups`).
    OtherReplacementGroups {
        deployment_id: String,
        groups: Vec<String>,
    },
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::NotServer { compute_platform } => write!(
                f,
                "compute platform is {compute_platform}, not Server: no Auto Scaling group is copied"
            ),
            Skip::NotBlueGreen { deployment_type } => write!(
                f,
                "deployment type is {deployment_type}, not BLUE_GREEN: the Auto Scaling group is not replaced"
            ),
            Skip::WithoutTrafficControl => write!(
                f,
                "deployment runs WITHOUT_TRAFFIC_CONTROL: no load balancer routes to the replacement"
            ),
            Skip::NotCopiedGroup { action } => write!(
                f,
                "green fleet is {action}, not COPY_AUTO_SCALING_GROUP: the replacement instances are the user's own, not a copied group"
            ),
            Skip::NoLoadBalancer => write!(
                f,
                "the deployment group names no target group or classic load balancer"
            ),
            Skip::TrafficNotRerouted { status } => write!(
                f,
                "deployment is {status}: traffic has not been rerouted to the replacement fleet yet, and attaching \
                 would register every new instance with the load balancer before the reroute"
            ),
            Skip::DeploymentEnded { status } => write!(
                f,
                "deployment is {status}: CodeDeploy rolls traffic back to the original fleet, so its replacement group is not ours to change"
            ),
            Skip::Superseded { groups, fleet } => write!(
                f,
                "a later deployment superseded this one: its deployment group's fleet is now {}, not {}, so these \
                 instances are not live (no longer behind the load balancer) and are not attached",
                if fleet.is_empty() { "empty".to_owned() } else { fleet.join(", ") },
                groups.join(", ")
            ),
            Skip::LaterDeploymentUnderWay {
                groups,
                deployment_id,
                status,
            } => write!(
                f,
                "a later deployment, {deployment_id}, is {status}: it is replacing {}, so that fleet is on its way out \
                 of the load balancer and is not attached",
                groups.join(", ")
            ),
            Skip::NothingRerouted {
                replacement_instances,
            } => write!(
                f,
                "none of the {replacement_instances} replacement instances passed AllowTraffic: traffic did not move to \
                 the replacement fleet, so it is not attached"
            ),
            Skip::OtherReplacementGroups {
                deployment_id,
                groups,
            } => write!(
                f,
                "deployment {deployment_id} names other replacement groups ({}), not this one",
                groups.join(", ")
            ),
            Skip::FollowOn { creator } => write!(
                f,
                "created by {creator}: a deployment CodeDeploy started itself for new or outdated instances of the \
                 live fleet, which copies no Auto Scaling group"
            ),
        }
    }
}

/// When a qualifying deployment may be acted on, chosen by its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// `InProgress`: once the reroute is complete, i.e. no replacement instance is still waiting
    /// for or inside `AllowTraffic` (attaching registers every instance of the group at once).
    RerouteComplete,
    /// `Baking` or `Succeeded`: while the deployment group still names the replacement group as
    /// its fleet (a later deployment's success moves the fleet, and the load balancer, away).
    LiveFleet,
}

/// What a deployment asks for once it qualifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Work {
    pub deployment_id: String,
    pub application_name: String,
    pub deployment_group_name: String,
    pub moment: Moment,
    /// The deployment `Succeeded`: it is over, so whether its live fleet is registered with the
    /// load balancers is ours to check (during a deployment CodeDeploy owns registration).
    pub succeeded: bool,
    pub replacement_groups: Vec<String>,
    pub target_group_names: Vec<String>,
    pub load_balancer_names: Vec<String>,
}

/// The replacement group CodeDeploy creates for a `COPY_AUTO_SCALING_GROUP` deployment.
pub fn replacement_group_name(deployment_group_name: &str, deployment_id: &str) -> String {
    format!("CodeDeploy_{deployment_group_name}_{deployment_id}")
}

/// CodeDeploy's deployment-id shape: `d-` and nine upper-case letters or digits (`d-1A2B3C4D5`).
pub fn is_deployment_id(id: &str) -> bool {
    id.strip_prefix("d-").is_some_and(|rest| {
        rest.len() == 9
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    })
}

/// Splits `CodeDeploy_<deployment-group>_<deployment-id>` into its two names. Deployment group
/// names may contain `_`; deployment ids do not, so the id is what follows the last `_`.
pub fn parse_replacement_group_name(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("CodeDeploy_")?;
    let (group, id) = rest.rsplit_once('_')?;
    (!group.is_empty() && !id.is_empty()).then_some((group, id))
}

/// Whether a deployment group is inside `DeploymentGroupPattern`, the
/// `<application>/<deployment-group>` IAM resource pattern that limits what a role may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every deployment group of this name is inside it: a denial is a fault, not the scope.
    Inside,
    /// No deployment group of this name is inside it.
    Outside,
    /// It depends on the application, which a replacement group's name does not hold.
    Unknown,
}

/// Judges `deployment_group` (the name in a replacement group's name) against `pattern`, with
/// IAM's wildcards (`*` any run of characters, `?` one), case-sensitive as IAM matches ARNs.
/// Only a pattern whose application part is `*` can say `Inside`. Two limits: a deployment group
/// renamed since its deployment keeps its old name in the replacement group's name, and
/// `Outside` assumes an application name holds no `/` (IAM's `*` would span it).
pub fn scope(pattern: &str, deployment_group: &str) -> Scope {
    if pattern == "*" {
        return Scope::Inside;
    }
    // A `*` in the application part could also take a `/` of the group's own name.
    let Some((application, group)) = pattern
        .rsplit_once('/')
        .filter(|_| !deployment_group.contains('/'))
    else {
        return Scope::Unknown;
    };
    match (wildcard_match(group, deployment_group), application == "*") {
        (false, _) => Scope::Outside,
        (true, true) => Scope::Inside,
        (true, false) => Scope::Unknown,
    }
}

/// Whether `<application>/<deployment-group>` is inside `pattern` (`DeploymentGroupPattern`),
/// matched as IAM matches the resource part of the deployment group's ARN
/// (`deploymentgroup:${DeploymentGroupPattern}`): `*` and `?` as wildcards, case-sensitive.
pub fn deployment_group_in_scope(pattern: &str, application: &str, deployment_group: &str) -> bool {
    wildcard_match(pattern, &format!("{application}/{deployment_group}"))
}

/// `*` matches any run of characters (none included), `?` exactly one.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen, and where in the text its run ends so far.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        // A `*` in the pattern is a wildcard even where the text has a `*` of its own.
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((star_at, run_end)) = star {
            // Let the `*` take one more character and try again after it.
            star = Some((star_at, run_end + 1));
            pi = star_at + 1;
            ti = run_end + 1;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Who starts deployments that replace the fleet: a person or a pipeline (`user`), and
/// CodeDeploy rolling a failed one back (`codeDeployRollback`). The deployments CodeDeploy starts
/// itself for instances Auto Scaling launched (`autoscaling`) or that missed the last one
/// (`CodeDeployAutoUpdate`) go to instances of the fleet where it is. Per the CodeDeploy API
/// reference, `DeploymentInfo.creator`:
/// <https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentInfo.html>.
/// `autoscalingTermination` (listed there without a description) is CodeDeploy's termination
/// deployment to an instance a scale-in is removing, with the termination hook installed
/// (`terminationHookEnabled`, "Enabling termination deployments during Auto Scaling scale-in
/// events" in the CodeDeploy User Guide,
/// <https://docs.aws.amazon.com/codedeploy/latest/userguide/integrations-aws-auto-scaling.html#integrations-aws-auto-scaling-behaviors-hook-enable>).
const FOLLOW_ON_CREATORS: [&str; 3] = [
    "autoscaling",
    "CodeDeployAutoUpdate",
    "autoscalingTermination",
];

/// Whether a deployment started by `creator` replaces the fleet. Not known (not reported, or a
/// creator this code does not know) counts as replacing: the fleet is then left alone.
pub fn replaces_fleet(creator: Option<&str>) -> bool {
    !creator.is_some_and(|c| FOLLOW_ON_CREATORS.contains(&c))
}

/// Decides whether a deployment is ours to repair and, if so, what it asks for.
pub fn assess(deployment: &Deployment) -> Result<Work, Skip> {
    if let Some(creator) = deployment
        .creator
        .as_deref()
        .filter(|c| !replaces_fleet(Some(c)))
    {
        return Err(Skip::FollowOn {
            creator: creator.to_owned(),
        });
    }
    let platform = deployment.compute_platform.as_deref().unwrap_or("Server");
    if platform != "Server" {
        return Err(Skip::NotServer {
            compute_platform: platform.to_owned(),
        });
    }
    let deployment_type = deployment.deployment_type.as_deref().unwrap_or("IN_PLACE");
    if deployment_type != "BLUE_GREEN" {
        return Err(Skip::NotBlueGreen {
            deployment_type: deployment_type.to_owned(),
        });
    }
    if deployment.deployment_option.as_deref() != Some("WITH_TRAFFIC_CONTROL") {
        return Err(Skip::WithoutTrafficControl);
    }
    let action = deployment
        .green_fleet_action
        .as_deref()
        .unwrap_or("DISCOVER_EXISTING");
    if action != "COPY_AUTO_SCALING_GROUP" {
        return Err(Skip::NotCopiedGroup {
            action: action.to_owned(),
        });
    }
    if deployment.target_group_names.is_empty() && deployment.load_balancer_names.is_empty() {
        return Err(Skip::NoLoadBalancer);
    }
    let moment = match deployment.status.as_str() {
        "InProgress" => Moment::RerouteComplete,
        "Baking" | "Succeeded" => Moment::LiveFleet,
        "Failed" | "Stopped" => {
            return Err(Skip::DeploymentEnded {
                status: deployment.status.clone(),
            })
        }
        other => {
            return Err(Skip::TrafficNotRerouted {
                status: other.to_owned(),
            })
        }
    };
    let replacement_groups = if deployment.target_instance_groups.is_empty() {
        vec![replacement_group_name(
            &deployment.deployment_group_name,
            &deployment.id,
        )]
    } else {
        dedup(&deployment.target_instance_groups)
    };
    Ok(Work {
        deployment_id: deployment.id.clone(),
        application_name: deployment.application_name.clone(),
        deployment_group_name: deployment.deployment_group_name.clone(),
        moment,
        succeeded: deployment.status == "Succeeded",
        replacement_groups,
        target_group_names: dedup(&deployment.target_group_names),
        load_balancer_names: dedup(&deployment.load_balancer_names),
    })
}

/// One instance target of a deployment, as BatchGetDeploymentTargets reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceTarget {
    pub instance_id: String,
    /// `Green` (replacement) or `Blue` (original); `None` when not reported.
    pub label: Option<String>,
    /// The status of its `AllowTraffic` lifecycle event (`Pending`, `InProgress`, `Succeeded`,
    /// `Failed`, `Skipped`, `Unknown`); `None` when the target lists no such event.
    pub allow_traffic: Option<String>,
}

impl InstanceTarget {
    fn is_replacement(&self) -> bool {
        self.label.as_deref().is_none_or(|l| l == "Green")
    }

    /// Done with `AllowTraffic`, one way or the other: a failed instance does not hold the
    /// others back once nothing is still waiting.
    fn rerouted(&self) -> bool {
        matches!(
            self.allow_traffic.as_deref(),
            Some("Succeeded" | "Failed" | "Skipped")
        )
    }
}

/// A deployment group's newest deployment (`lastAttemptedDeployment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastDeployment {
    pub id: String,
    pub status: String,
    /// Its `creator` (GetDeployment), read only while it is active; `None` when not read.
    pub creator: Option<String>,
}

impl LastDeployment {
    /// Still running, so it may yet move traffic (or be moving it).
    pub fn is_active(&self) -> bool {
        ACTIVE.contains(&self.status.as_str())
    }
}

impl DeploymentGroupState {
    /// The newest deployment, when it is active, is not `own` (the run's own deployment) and its
    /// creator has not been read: whether it replaces the fleet depends on who started it
    /// (`replaces_fleet`).
    pub fn creator_to_read(&self, own: &str) -> Option<&str> {
        self.last_attempted
            .as_ref()
            .filter(|d| d.is_active() && d.id != own && d.creator.is_none())
            .map(|d| d.id.as_str())
    }

    /// The newest deployment is active and one CodeDeploy started itself (a follow-on): it may
    /// have started after another active deployment that does replace the fleet, which
    /// `lastAttemptedDeployment` then hides. The deployment group's other active deployments
    /// must be read.
    pub fn newest_is_active_follow_on(&self) -> bool {
        self.last_attempted.as_ref().is_some_and(|d| {
            d.is_active() && d.creator.is_some() && !replaces_fleet(d.creator.as_deref())
        })
    }
}

/// What GetDeploymentGroup says of where traffic lives now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentGroupState {
    /// `autoScalingGroups[].name`: the fleet (after a successful copy, its replacement group).
    pub fleet: Vec<String>,
    pub last_attempted: Option<LastDeployment>,
}

/// What the moment of a deployment is judged on, as read for its `Moment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MomentFacts {
    /// `RerouteComplete`: the deployment's instance targets (the read asks for `Green` ones).
    Reroute(Vec<InstanceTarget>),
    /// `LiveFleet`: the deployment group as it is now.
    Fleet(DeploymentGroupState),
}

/// An `InProgress` deployment whose reroute is not complete: nothing to do yet, a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub deployment_id: String,
    pub replacement_groups: Vec<String>,
    /// Replacement instances still waiting for or inside `AllowTraffic`.
    pub still_to_reroute: Vec<String>,
    pub replacement_instances: usize,
}

/// How many waiting instances a reason names before it only counts the rest.
const NAMED_INSTANCES: usize = 5;

impl fmt::Display for Waiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.replacement_instances == 0 {
            return write!(
                f,
                "deployment {} is InProgress and lists no replacement (Green) instance yet: the reroute has not begun, \
                 so nothing is attached now",
                self.deployment_id
            );
        }
        let waiting = &self.still_to_reroute;
        let named = waiting[..waiting.len().min(NAMED_INSTANCES)].join(", ");
        let more = waiting.len().saturating_sub(NAMED_INSTANCES);
        write!(
            f,
            "deployment {} is InProgress: {} of {} replacement instances are still to be rerouted (AllowTraffic not finished: {named}{}); \
             nothing is attached now, the instance that completes the reroute does it",
            self.deployment_id,
            waiting.len(),
            self.replacement_instances,
            if more > 0 { format!(" and {more} more") } else { String::new() },
        )
    }
}

/// Why a qualifying deployment is not acted on at this moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    Waiting(Waiting),
    Skipped(Skip),
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hold::Waiting(waiting) => waiting.fmt(f),
            Hold::Skipped(skip) => skip.fmt(f),
        }
    }
}

/// Statuses of a deployment that may still move traffic.
const ACTIVE: [&str; 5] = ["Created", "Queued", "InProgress", "Ready", "Baking"];

/// Decides whether now is the moment: for an `InProgress` deployment, every replacement instance
/// is done with `AllowTraffic` (there is at least one, and at least one succeeded); for a
/// finished one, its replacement groups are still the deployment group's fleet and no later
/// deployment that replaces the fleet is under way (one CodeDeploy started itself for new
/// instances leaves the fleet where it is). Returns the work narrowed to the live groups.
pub fn at_moment(mut work: Work, facts: &MomentFacts) -> Result<Work, Hold> {
    match facts {
        MomentFacts::Reroute(targets) => {
            let replacements: Vec<&InstanceTarget> =
                targets.iter().filter(|t| t.is_replacement()).collect();
            let still_to_reroute: Vec<String> = replacements
                .iter()
                .filter(|t| !t.rerouted())
                .map(|t| t.instance_id.clone())
                .collect();
            if replacements.is_empty() || !still_to_reroute.is_empty() {
                return Err(Hold::Waiting(Waiting {
                    deployment_id: work.deployment_id,
                    replacement_groups: work.replacement_groups,
                    still_to_reroute,
                    replacement_instances: replacements.len(),
                }));
            }
            if !replacements
                .iter()
                .any(|t| t.allow_traffic.as_deref() == Some("Succeeded"))
            {
                return Err(Hold::Skipped(Skip::NothingRerouted {
                    replacement_instances: replacements.len(),
                }));
            }
            Ok(work)
        }
        MomentFacts::Fleet(state) => {
            if let Some(later) = state.last_attempted.as_ref().filter(|d| {
                d.id != work.deployment_id && d.is_active() && replaces_fleet(d.creator.as_deref())
            }) {
                return Err(Hold::Skipped(Skip::LaterDeploymentUnderWay {
                    groups: work.replacement_groups,
                    deployment_id: later.id.clone(),
                    status: later.status.clone(),
                }));
            }
            let (live, superseded): (Vec<String>, Vec<String>) = work
                .replacement_groups
                .iter()
                .cloned()
                .partition(|group| state.fleet.contains(group));
            if live.is_empty() {
                return Err(Hold::Skipped(Skip::Superseded {
                    groups: superseded,
                    fleet: state.fleet.clone(),
                }));
            }
            work.replacement_groups = live;
            Ok(work)
        }
    }
}

/// What an Auto Scaling group already has, from DescribeAutoScalingGroups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupState {
    pub name: String,
    pub target_group_arns: Vec<String>,
    pub load_balancer_names: Vec<String>,
    /// `TrafficSources[].Identifier`: target group ARNs and load balancer names attached
    /// through the traffic-source API, which the two lists above do not show.
    pub traffic_sources: Vec<String>,
    /// The group's instances, in the order Auto Scaling lists them.
    pub instances: Vec<GroupInstance>,
}

/// One instance of an Auto Scaling group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInstance {
    pub instance_id: String,
    /// `InService`, `Pending`, `Standby`, `Terminating`, ...: only `InService` instances are
    /// expected behind the load balancer.
    pub lifecycle_state: String,
    /// `Healthy` or `Unhealthy` (Auto Scaling is about to replace an unhealthy one).
    pub health_status: String,
}

impl GroupInstance {
    /// What a load balancer should serve: `InService` and `Healthy`.
    fn is_serving(&self) -> bool {
        self.lifecycle_state == "InService" && self.health_status.eq_ignore_ascii_case("Healthy")
    }
}

impl GroupState {
    fn has(&self, source: &str) -> bool {
        self.target_group_arns.iter().any(|s| s == source)
            || self.load_balancer_names.iter().any(|s| s == source)
            || self.traffic_sources.iter().any(|s| s == source)
    }
}

/// What one replacement group should end up with, and what it lacks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPlan {
    pub auto_scaling_group: String,
    pub target_group_arns: Vec<String>,
    pub load_balancer_names: Vec<String>,
    /// Desired target group ARNs the group does not have yet.
    pub missing_target_group_arns: Vec<String>,
    /// Desired classic load balancers the group does not have yet.
    pub missing_load_balancer_names: Vec<String>,
}

impl GroupPlan {
    pub fn is_complete(&self) -> bool {
        self.missing_target_group_arns.is_empty() && self.missing_load_balancer_names.is_empty()
    }

    /// The missing sources, target groups first, in AttachTrafficSources calls of at most
    /// `ATTACH_BATCH` each.
    pub fn attach_batches(&self) -> Vec<Vec<TrafficSource>> {
        let missing: Vec<TrafficSource> = self
            .missing_target_group_arns
            .iter()
            .map(|arn| TrafficSource::TargetGroup(arn.clone()))
            .chain(
                self.missing_load_balancer_names
                    .iter()
                    .map(|name| TrafficSource::LoadBalancer(name.clone())),
            )
            .collect();
        missing.chunks(ATTACH_BATCH).map(<[_]>::to_vec).collect()
    }
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanFault {
    MissingGroups(Vec<String>),
    UnresolvedTargetGroups(Vec<String>),
}

/// Compares what the deployment names with what each replacement group has.
/// `target_groups` maps target group names to ARNs (DescribeTargetGroups).
pub fn plan(
    work: &Work,
    target_groups: &BTreeMap<String, String>,
    groups: &[GroupState],
) -> Result<Vec<GroupPlan>, PlanFault> {
    let unresolved: Vec<String> = work
        .target_group_names
        .iter()
        .filter(|name| !target_groups.contains_key(*name))
        .cloned()
        .collect();
    if !unresolved.is_empty() {
        return Err(PlanFault::UnresolvedTargetGroups(unresolved));
    }
    let desired_arns: Vec<String> = work
        .target_group_names
        .iter()
        .map(|name| target_groups[name].clone())
        .collect();
    let missing_groups: Vec<String> = work
        .replacement_groups
        .iter()
        .filter(|name| !groups.iter().any(|g| &g.name == *name))
        .cloned()
        .collect();
    if !missing_groups.is_empty() {
        return Err(PlanFault::MissingGroups(missing_groups));
    }
    Ok(work
        .replacement_groups
        .iter()
        .filter_map(|name| groups.iter().find(|g| &g.name == name))
        .map(|group| GroupPlan {
            auto_scaling_group: group.name.clone(),
            missing_target_group_arns: desired_arns
                .iter()
                .filter(|arn| !group.has(arn))
                .cloned()
                .collect(),
            missing_load_balancer_names: work
                .load_balancer_names
                .iter()
                .filter(|name| !group.has(name))
                .cloned()
                .collect(),
            target_group_arns: desired_arns.clone(),
            load_balancer_names: work.load_balancer_names.clone(),
        })
        .collect())
}

/// One attachment as Auto Scaling reports it (DescribeTrafficSources, which lists every traffic
/// source of the group, however it was attached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Target group ARN or classic load balancer name.
    pub source: String,
    /// `Adding`, `Added`, `InService`, `Removing`, `Removed`.
    pub state: String,
}

/// What a read-back shows about one group's desired traffic sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confirmation {
    /// Desired sources on their way off the group (`Removing`, `Removed`): a failure.
    pub absent: Vec<String>,
    /// Sources this run attached that the read-back does not list yet. AWS documents no
    /// read-after-write consistency for DescribeTrafficSources, so they are read again until the
    /// confirm window closes; only then are they a failure.
    pub unlisted: Vec<String>,
    /// Attached, still `Adding`: the group already registers through them.
    pub pending: Vec<String>,
}

/// Checks every desired source of a plan against what Auto Scaling reports now. A source the
/// group already had before the run (DescribeAutoScalingGroups listed it) counts as present when
/// the read-back leaves it out; one this run attached must be listed.
pub fn confirm(plan: &GroupPlan, observed: &[Attachment]) -> Confirmation {
    let mut confirmation = Confirmation::default();
    for source in plan
        .target_group_arns
        .iter()
        .chain(&plan.load_balancer_names)
    {
        let attached_now = plan.missing_target_group_arns.contains(source)
            || plan.missing_load_balancer_names.contains(source);
        match observed.iter().find(|a| &a.source == source) {
            Some(a) if a.state == "Adding" => confirmation.pending.push(source.clone()),
            Some(a) if a.is_done() => {}
            Some(_) => confirmation.absent.push(source.clone()),
            None if attached_now => confirmation.unlisted.push(source.clone()),
            None => {}
        }
    }
    confirmation
}

impl Attachment {
    /// Auto Scaling is done attaching it (`Added`, or `InService` once the group's instances
    /// passed its health checks): it has registered the group's instances with the source.
    fn is_done(&self) -> bool {
        self.state == "Added" || self.state == "InService"
    }
}

/// Where instances are registered to receive traffic: a target group (by ARN) or a classic load
/// balancer (by name). Serialised as `{"targetGroup": ...}` or `{"loadBalancer": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TrafficSource {
    TargetGroup(String),
    LoadBalancer(String),
}

impl fmt::Display for TrafficSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrafficSource::TargetGroup(arn) => write!(f, "target group {arn}"),
            TrafficSource::LoadBalancer(name) => write!(f, "classic load balancer {name}"),
        }
    }
}

impl GroupPlan {
    /// The sources the group has once the plan is carried out (`attached: true`), or only those
    /// it already had (`attached: false`), in the deployment group's order.
    pub fn traffic_sources(&self, attached: bool) -> Vec<TrafficSource> {
        let target_groups = self
            .target_group_arns
            .iter()
            .filter(|arn| attached || !self.missing_target_group_arns.contains(arn))
            .map(|arn| TrafficSource::TargetGroup(arn.clone()));
        let load_balancers = self
            .load_balancer_names
            .iter()
            .filter(|name| attached || !self.missing_load_balancer_names.contains(name))
            .map(|name| TrafficSource::LoadBalancer(name.clone()));
        target_groups.chain(load_balancers).collect()
    }
}

/// One instance a traffic source lists (`DescribeTargetHealth`, `DescribeInstanceHealth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredTarget {
    pub instance_id: String,
    /// `initial`, `healthy`, `unhealthy`, `unused`, `draining`, ... (classic: `InService`,
    /// `OutOfService`, `Unknown`).
    pub state: String,
}

impl RegisteredTarget {
    /// Listed, in any state but `draining` or `unhealthy.draining` (on its way out).
    fn is_registered(&self) -> bool {
        self.state != "draining" && self.state != "unhealthy.draining"
    }
}

/// Instances of one traffic source: the ones it lacks (a check) or the ones registered (a repair).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    #[serde(flatten)]
    pub traffic_source: TrafficSource,
    pub instance_ids: Vec<String>,
}

/// The group's `InService`, `Healthy` instances that each source does not list, or lists as
/// `draining`; sources that lack none are left out. Instances in any other lifecycle state (or
/// unhealthy, about to be replaced) are never expected behind the load balancer. `registered`
/// maps each source to what it lists now.
pub fn unregistered(
    group: &GroupState,
    sources: &[TrafficSource],
    registered: &BTreeMap<TrafficSource, Vec<RegisteredTarget>>,
) -> Vec<Registration> {
    let in_service: Vec<&str> = group
        .instances
        .iter()
        .filter(|i| i.is_serving())
        .map(|i| i.instance_id.as_str())
        .collect();
    sources
        .iter()
        .filter_map(|source| {
            let listed = registered.get(source).map_or(&[][..], Vec::as_slice);
            let instance_ids: Vec<String> = in_service
                .iter()
                .filter(|id| {
                    !listed
                        .iter()
                        .any(|t| t.instance_id == **id && t.is_registered())
                })
                .map(|id| (*id).to_owned())
                .collect();
            (!instance_ids.is_empty()).then(|| Registration {
                traffic_source: source.clone(),
                instance_ids,
            })
        })
        .collect()
}

/// Registration gaps split by where Auto Scaling stands with each source: a source it is still
/// `Adding` to the group is registering the group's instances itself (pending); a source it is
/// done with (`Added`, `InService`) and that still lacks instances is ours to register. A source
/// the read-back does not list yet is pending too; one on its way off (`Removing`, `Removed`)
/// is neither: nothing is registered with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationGaps {
    pub to_register: Vec<Registration>,
    /// Sources (target group ARN or load balancer name) still `Adding`.
    pub pending: Vec<String>,
}

/// `gaps` of one group, against that group's read-back (`DescribeTrafficSources`).
pub fn registrable(gaps: Vec<Registration>, observed: &[Attachment]) -> RegistrationGaps {
    let mut split = RegistrationGaps::default();
    for gap in gaps {
        let identifier = match &gap.traffic_source {
            TrafficSource::TargetGroup(arn) => arn,
            TrafficSource::LoadBalancer(name) => name,
        };
        match observed.iter().find(|a| &a.source == identifier) {
            Some(a) if a.is_done() => split.to_register.push(gap),
            // Not listed yet (no read-after-write consistency is documented) counts as Adding.
            None => split.pending.push(identifier.clone()),
            Some(a) if a.state == "Adding" => split.pending.push(identifier.clone()),
            Some(_) => {}
        }
    }
    split
}

/// Several groups' gaps as one registration per source (each source's instances once, in order).
pub fn merge_registrations(gaps: impl IntoIterator<Item = Registration>) -> Vec<Registration> {
    let mut merged: Vec<Registration> = Vec::new();
    for gap in gaps {
        match merged
            .iter_mut()
            .find(|m| m.traffic_source == gap.traffic_source)
        {
            Some(m) => {
                for id in gap.instance_ids {
                    if !m.instance_ids.contains(&id) {
                        m.instance_ids.push(id);
                    }
                }
            }
            None => merged.push(gap),
        }
    }
    merged
}

fn dedup(names: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    names
        .iter()
        .filter(|n| seen.insert(n.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blue_green() -> Deployment {
        Deployment {
            id: "d-ABC".into(),
            application_name: "web".into(),
            deployment_group_name: "web_dg".into(),
            status: "InProgress".into(),
            compute_platform: Some("Server".into()),
            deployment_type: Some("BLUE_GREEN".into()),
            deployment_option: Some("WITH_TRAFFIC_CONTROL".into()),
            green_fleet_action: Some("COPY_AUTO_SCALING_GROUP".into()),
            target_group_names: vec!["tg-a".into(), "tg-b".into()],
            load_balancer_names: vec!["clb".into()],
            target_instance_groups: vec![],
            creator: Some("user".into()),
        }
    }

    fn resolved() -> BTreeMap<String, String> {
        [("tg-a", "arn:a"), ("tg-b", "arn:b")]
            .into_iter()
            .map(|(n, a)| (n.to_owned(), a.to_owned()))
            .collect()
    }

    fn group(name: &str, tgs: &[&str], lbs: &[&str]) -> GroupState {
        GroupState {
            name: name.into(),
            target_group_arns: tgs.iter().map(|s| s.to_string()).collect(),
            load_balancer_names: lbs.iter().map(|s| s.to_string()).collect(),
            traffic_sources: vec![],
            instances: vec![],
        }
    }

    #[test]
    fn copied_blue_green_deployment_targets_the_codedeploy_named_group() {
        let work = assess(&blue_green()).unwrap();
        assert_eq!(work.replacement_groups, vec!["CodeDeploy_web_dg_d-ABC"]);
        assert_eq!(work.target_group_names, vec!["tg-a", "tg-b"]);
        assert_eq!(work.load_balancer_names, vec!["clb"]);
    }

    #[test]
    fn target_instances_groups_take_precedence_over_the_derived_name() {
        let mut d = blue_green();
        d.target_instance_groups = vec!["green-1".into(), "green-2".into(), "green-1".into()];
        assert_eq!(
            assess(&d).unwrap().replacement_groups,
            vec!["green-1", "green-2"]
        );
    }

    #[test]
    fn in_progress_waits_for_the_reroute_and_finished_deployments_for_the_live_fleet() {
        for (status, moment) in [
            ("InProgress", Moment::RerouteComplete),
            ("Baking", Moment::LiveFleet),
            ("Succeeded", Moment::LiveFleet),
        ] {
            let mut d = blue_green();
            d.status = status.into();
            let work = assess(&d).unwrap();
            assert_eq!(work.moment, moment, "{status}");
            assert_eq!(work.application_name, "web");
            assert_eq!(work.deployment_group_name, "web_dg");
        }
    }

    fn instance(id: &str, allow_traffic: Option<&str>) -> InstanceTarget {
        InstanceTarget {
            instance_id: id.into(),
            label: Some("Green".into()),
            allow_traffic: allow_traffic.map(str::to_owned),
        }
    }

    fn fleet(groups: &[&str]) -> MomentFacts {
        MomentFacts::Fleet(DeploymentGroupState {
            fleet: groups.iter().map(|g| g.to_string()).collect(),
            last_attempted: None,
        })
    }

    fn waiting(work: Work, instances: Vec<InstanceTarget>) -> Waiting {
        match at_moment(work, &MomentFacts::Reroute(instances)) {
            Err(Hold::Waiting(w)) => w,
            other => panic!("expected to wait, got {other:?}"),
        }
    }

    #[test]
    fn reroute_is_complete_only_when_no_replacement_instance_is_waiting_for_or_inside_allow_traffic(
    ) {
        let work = assess(&blue_green()).unwrap();
        let done = vec![
            instance("i-1", Some("Succeeded")),
            instance("i-2", Some("Succeeded")),
        ];
        assert_eq!(
            at_moment(work.clone(), &MomentFacts::Reroute(done)),
            Ok(work.clone())
        );
        for unfinished in [
            Some("Pending"),
            Some("InProgress"),
            Some("Unknown"),
            Some("SomethingNew"),
            None,
        ] {
            let w = waiting(
                work.clone(),
                vec![
                    instance("i-1", Some("Succeeded")),
                    instance("i-2", unfinished),
                    instance("i-3", Some("Pending")),
                ],
            );
            assert_eq!(w.still_to_reroute, vec!["i-2", "i-3"]);
            assert_eq!(w.replacement_instances, 3);
            let reason = w.to_string();
            assert!(
                reason.contains(
                    "2 of 3 replacement instances are still to be rerouted (AllowTraffic not finished: i-2, i-3)"
                ),
                "{reason}"
            );
            assert!(reason.contains("d-ABC"), "{reason}");
        }
    }

    #[test]
    fn a_failed_or_skipped_instance_does_not_hold_the_group_back_once_none_is_waiting() {
        let work = assess(&blue_green()).unwrap();
        let instances = vec![
            instance("i-1", Some("Succeeded")),
            instance("i-2", Some("Failed")),
            instance("i-3", Some("Skipped")),
        ];
        assert!(at_moment(work, &MomentFacts::Reroute(instances)).is_ok());
    }

    #[test]
    fn blue_targets_are_not_replacement_instances() {
        let work = assess(&blue_green()).unwrap();
        let mut blue = instance("i-blue", Some("Pending"));
        blue.label = Some("Blue".into());
        let targets = vec![instance("i-1", Some("Succeeded")), blue];
        assert!(at_moment(work.clone(), &MomentFacts::Reroute(targets)).is_ok());
        let mut only_blue = instance("i-blue", Some("Succeeded"));
        only_blue.label = Some("Blue".into());
        assert_eq!(waiting(work, vec![only_blue]).replacement_instances, 0);
    }

    #[test]
    fn waiting_reason_names_five_instances_and_counts_the_rest() {
        let targets = (0..8)
            .map(|i| instance(&format!("i-{i}"), Some("Pending")))
            .collect();
        let reason = waiting(assess(&blue_green()).unwrap(), targets).to_string();
        assert!(
            reason.contains("8 of 8") && reason.contains("i-0, i-1, i-2, i-3, i-4 and 3 more"),
            "{reason}"
        );
    }

    #[test]
    fn a_reroute_where_no_instance_succeeded_moved_no_traffic() {
        let work = assess(&blue_green()).unwrap();
        let targets = vec![
            instance("i-1", Some("Failed")),
            instance("i-2", Some("Skipped")),
        ];
        let Err(Hold::Skipped(skip)) = at_moment(work, &MomentFacts::Reroute(targets)) else {
            panic!("nothing was rerouted");
        };
        assert_eq!(
            skip,
            Skip::NothingRerouted {
                replacement_instances: 2
            }
        );
        assert!(skip.to_string().contains("traffic did not move"), "{skip}");
    }

    #[test]
    fn a_later_deployment_under_way_takes_the_fleet_out_of_play() {
        let mut d = blue_green();
        d.status = "Succeeded".into();
        let work = assess(&d).unwrap();
        let state = |id: &str, status: &str| {
            MomentFacts::Fleet(DeploymentGroupState {
                fleet: vec!["CodeDeploy_web_dg_d-ABC".into()],
                last_attempted: Some(LastDeployment {
                    id: id.into(),
                    status: status.into(),
                    creator: Some("user".into()),
                }),
            })
        };
        for status in ["Created", "Queued", "InProgress", "Ready", "Baking"] {
            let Err(Hold::Skipped(skip)) = at_moment(work.clone(), &state("d-NEXT", status)) else {
                panic!("{status}: a later deployment is under way");
            };
            assert!(
                skip.to_string()
                    .contains(&format!("a later deployment, d-NEXT, is {status}")),
                "{skip}"
            );
        }
        // A later deployment that failed or stopped leaves this fleet live; so does this one.
        for (id, status) in [
            ("d-NEXT", "Failed"),
            ("d-NEXT", "Stopped"),
            ("d-ABC", "Succeeded"),
        ] {
            assert!(
                at_moment(work.clone(), &state(id, status)).is_ok(),
                "{id} {status}"
            );
        }
    }

    #[test]
    fn no_replacement_instance_listed_means_the_reroute_has_not_begun() {
        let w = waiting(assess(&blue_green()).unwrap(), vec![]);
        assert!(w.still_to_reroute.is_empty());
        assert_eq!(w.replacement_instances, 0);
        assert!(w.to_string().contains("the reroute has not begun"), "{w}");
    }

    #[test]
    fn finished_deployment_acts_only_on_groups_the_deployment_group_still_names() {
        let mut d = blue_green();
        d.status = "Succeeded".into();
        let work = assess(&d).unwrap();
        let live = fleet(&["CodeDeploy_web_dg_d-ABC"]);
        assert_eq!(at_moment(work.clone(), &live), Ok(work.clone()));

        let later = fleet(&["CodeDeploy_web_dg_d-LATER"]);
        let Err(Hold::Skipped(skip)) = at_moment(work.clone(), &later) else {
            panic!("a superseded group must be skipped");
        };
        assert_eq!(
            skip,
            Skip::Superseded {
                groups: vec!["CodeDeploy_web_dg_d-ABC".into()],
                fleet: vec!["CodeDeploy_web_dg_d-LATER".into()],
            }
        );
        let reason = skip.to_string();
        assert!(reason.contains("superseded"), "{reason}");
        assert!(reason.contains("not live"), "{reason}");
        assert!(reason.contains("CodeDeploy_web_dg_d-LATER"), "{reason}");

        let Err(Hold::Skipped(Skip::Superseded { fleet, .. })) = at_moment(work, &fleet(&[]))
        else {
            panic!("an empty fleet names no live group");
        };
        assert!(fleet.is_empty());
    }

    #[test]
    fn only_the_live_ones_of_several_replacement_groups_are_kept() {
        let mut d = blue_green();
        d.status = "Succeeded".into();
        d.target_instance_groups = vec!["green-1".into(), "green-2".into()];
        let work = assess(&d).unwrap();
        let kept = at_moment(work, &fleet(&["green-2"])).unwrap();
        assert_eq!(kept.replacement_groups, vec!["green-2"]);
    }

    #[test]
    fn deployment_ids_have_codedeploys_shape() {
        for good in ["d-1A2B3C4D5", "d-ABCDEFGHI", "d-123456789"] {
            assert!(is_deployment_id(good), "{good}");
        }
        for bad in [
            "d-1a2b3c4d5",
            "d-1A2B3C4D",
            "d-1A2B3C4D56",
            "x-1A2B3C4D5",
            "d_1A2B3C4D5",
            "6f1c2d9e-moto-uuid",
            "",
            "d-",
            "d-1A2B3C4D\u{e9}",
        ] {
            assert!(!is_deployment_id(bad), "{bad}");
        }
    }

    #[test]
    fn skips_before_the_reroute_including_ready() {
        for status in ["Created", "Queued", "Ready"] {
            let mut d = blue_green();
            d.status = status.into();
            let skip = assess(&d).unwrap_err();
            assert_eq!(
                skip,
                Skip::TrafficNotRerouted {
                    status: status.into()
                }
            );
            assert!(skip.to_string().contains("traffic has not been rerouted"));
        }
    }

    #[test]
    fn skips_failed_and_stopped_deployments() {
        for status in ["Failed", "Stopped"] {
            let mut d = blue_green();
            d.status = status.into();
            assert_eq!(
                assess(&d).unwrap_err(),
                Skip::DeploymentEnded {
                    status: status.into()
                }
            );
        }
    }

    #[test]
    fn skips_every_shape_that_copies_no_group() {
        let mut d = blue_green();
        d.compute_platform = Some("Lambda".into());
        assert_eq!(
            assess(&d).unwrap_err(),
            Skip::NotServer {
                compute_platform: "Lambda".into()
            }
        );

        let mut d = blue_green();
        d.deployment_type = Some("IN_PLACE".into());
        assert_eq!(
            assess(&d).unwrap_err(),
            Skip::NotBlueGreen {
                deployment_type: "IN_PLACE".into()
            }
        );

        let mut d = blue_green();
        d.deployment_option = Some("WITHOUT_TRAFFIC_CONTROL".into());
        assert_eq!(assess(&d).unwrap_err(), Skip::WithoutTrafficControl);

        let mut d = blue_green();
        d.green_fleet_action = Some("DISCOVER_EXISTING".into());
        assert_eq!(
            assess(&d).unwrap_err(),
            Skip::NotCopiedGroup {
                action: "DISCOVER_EXISTING".into()
            }
        );

        let mut d = blue_green();
        d.target_group_names.clear();
        d.load_balancer_names.clear();
        assert_eq!(assess(&d).unwrap_err(), Skip::NoLoadBalancer);
    }

    #[test]
    fn missing_deployment_style_is_treated_as_in_place() {
        let mut d = blue_green();
        d.deployment_type = None;
        assert!(matches!(assess(&d).unwrap_err(), Skip::NotBlueGreen { .. }));
    }

    #[test]
    fn plans_only_what_is_missing() {
        let work = assess(&blue_green()).unwrap();
        let groups = [group("CodeDeploy_web_dg_d-ABC", &["arn:a"], &[])];
        let plans = plan(&work, &resolved(), &groups).unwrap();
        assert_eq!(plans.len(), 1);
        assert_eq!(plans[0].missing_target_group_arns, vec!["arn:b"]);
        assert_eq!(plans[0].missing_load_balancer_names, vec!["clb"]);
        assert!(!plans[0].is_complete());
    }

    #[test]
    fn several_replacement_groups_each_get_their_own_plan() {
        let mut d = blue_green();
        d.target_instance_groups = vec!["green-1".into(), "green-2".into()];
        let work = assess(&d).unwrap();
        let groups = [
            group("green-2", &["arn:a", "arn:b"], &["clb"]),
            group("green-1", &["arn:b"], &[]),
        ];
        let plans = plan(&work, &resolved(), &groups).unwrap();
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[0].auto_scaling_group, "green-1");
        assert_eq!(plans[0].missing_target_group_arns, vec!["arn:a"]);
        assert_eq!(plans[0].missing_load_balancer_names, vec!["clb"]);
        assert_eq!(plans[1].auto_scaling_group, "green-2");
        assert!(plans[1].is_complete());
        let missing = plan(&work, &resolved(), &groups[..1]).unwrap_err();
        assert_eq!(missing, PlanFault::MissingGroups(vec!["green-1".into()]));
    }

    #[test]
    fn complete_group_plans_nothing() {
        let work = assess(&blue_green()).unwrap();
        let groups = [group(
            "CodeDeploy_web_dg_d-ABC",
            &["arn:b", "arn:a", "arn:other"],
            &["clb"],
        )];
        assert!(plan(&work, &resolved(), &groups).unwrap()[0].is_complete());
    }

    #[test]
    fn traffic_sources_count_as_attached() {
        let work = assess(&blue_green()).unwrap();
        let mut g = group("CodeDeploy_web_dg_d-ABC", &[], &[]);
        g.traffic_sources = vec!["arn:a".into(), "arn:b".into(), "clb".into()];
        assert!(plan(&work, &resolved(), &[g]).unwrap()[0].is_complete());
    }

    #[test]
    fn missing_replacement_group_is_named() {
        let work = assess(&blue_green()).unwrap();
        assert_eq!(
            plan(&work, &resolved(), &[group("other", &[], &[])]).unwrap_err(),
            PlanFault::MissingGroups(vec!["CodeDeploy_web_dg_d-ABC".into()])
        );
    }

    #[test]
    fn unresolved_target_group_is_named() {
        let work = assess(&blue_green()).unwrap();
        let mut tgs = resolved();
        tgs.remove("tg-b");
        assert_eq!(
            plan(&work, &tgs, &[group("CodeDeploy_web_dg_d-ABC", &[], &[])]).unwrap_err(),
            PlanFault::UnresolvedTargetGroups(vec!["tg-b".into()])
        );
    }

    #[test]
    fn attach_batches_respect_the_per_call_limit_target_groups_first() {
        let mut d = blue_green();
        d.target_group_names = (0..23).map(|i| format!("tg{i}")).collect();
        d.load_balancer_names = (0..11).map(|i| format!("clb{i}")).collect();
        let work = assess(&d).unwrap();
        let tgs = d
            .target_group_names
            .iter()
            .map(|n| (n.clone(), format!("arn:{n}")))
            .collect();
        let plans = plan(&work, &tgs, &[group("CodeDeploy_web_dg_d-ABC", &[], &[])]).unwrap();
        let batches = plans[0].attach_batches();
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![10, 10, 10, 4]);
        assert_eq!(batches[2][2], TrafficSource::TargetGroup("arn:tg22".into()));
        assert_eq!(batches[2][3], TrafficSource::LoadBalancer("clb0".into()));
        assert_eq!(batches[3][3], TrafficSource::LoadBalancer("clb10".into()));
    }

    #[test]
    fn attach_batches_hold_only_what_is_missing() {
        let work = assess(&blue_green()).unwrap();
        let plans = plan(
            &work,
            &resolved(),
            &[group("CodeDeploy_web_dg_d-ABC", &["arn:a"], &[])],
        )
        .unwrap();
        assert_eq!(
            plans[0].attach_batches(),
            vec![vec![
                TrafficSource::TargetGroup("arn:b".into()),
                TrafficSource::LoadBalancer("clb".into()),
            ]]
        );
        let complete = plan(
            &work,
            &resolved(),
            &[group(
                "CodeDeploy_web_dg_d-ABC",
                &["arn:a", "arn:b"],
                &["clb"],
            )],
        )
        .unwrap();
        assert!(complete[0].attach_batches().is_empty());
    }

    fn attached(source: &str, state: &str) -> Attachment {
        Attachment {
            source: source.into(),
            state: state.into(),
        }
    }

    #[test]
    fn confirm_accepts_added_and_in_service_and_reports_adding_as_pending() {
        let work = assess(&blue_green()).unwrap();
        let p = &plan(
            &work,
            &resolved(),
            &[group("CodeDeploy_web_dg_d-ABC", &[], &[])],
        )
        .unwrap()[0];
        let c = confirm(
            p,
            &[
                attached("arn:a", "Added"),
                attached("arn:b", "Adding"),
                attached("clb", "InService"),
            ],
        );
        assert_eq!(
            c,
            Confirmation {
                absent: vec![],
                unlisted: vec![],
                pending: vec!["arn:b".into()]
            }
        );
    }

    #[test]
    fn confirm_names_removing_sources_absent_and_unlisted_attached_ones_unlisted() {
        let work = assess(&blue_green()).unwrap();
        let p = &plan(
            &work,
            &resolved(),
            &[group("CodeDeploy_web_dg_d-ABC", &[], &[])],
        )
        .unwrap()[0];
        let c = confirm(
            p,
            &[attached("arn:a", "Removing"), attached("clb", "Removed")],
        );
        assert_eq!(c.absent, vec!["arn:a", "clb"]);
        // Attached by this run and not listed yet: read again, not a failure yet.
        assert_eq!(c.unlisted, vec!["arn:b"]);
        assert!(c.pending.is_empty());
    }

    #[test]
    fn confirm_counts_a_source_the_group_already_had_as_present_unless_it_is_leaving() {
        // DescribeAutoScalingGroups listed arn:a before the run: a read-back that does not list
        // it yet (no read-after-write consistency is documented) does not make it absent.
        let work = assess(&blue_green()).unwrap();
        let mut g = group("CodeDeploy_web_dg_d-ABC", &[], &[]);
        g.traffic_sources = vec!["arn:a".into()];
        let p = &plan(&work, &resolved(), &[g]).unwrap()[0];
        let c = confirm(p, &[attached("arn:b", "Added"), attached("clb", "Added")]);
        assert_eq!(c, Confirmation::default());
        let c = confirm(
            p,
            &[
                attached("arn:a", "Removing"),
                attached("arn:b", "Added"),
                attached("clb", "Adding"),
            ],
        );
        assert_eq!(c.absent, vec!["arn:a"]);
        assert_eq!(c.pending, vec!["clb"]);
        // Not yet listed, attached by this run: unlisted, never pending.
        let c = confirm(p, &[attached("arn:b", "Added")]);
        assert_eq!(c.unlisted, vec!["clb"]);
    }

    #[test]
    fn registration_is_ours_only_where_auto_scaling_is_done_adding() {
        let gap = |source: TrafficSource| Registration {
            traffic_source: source,
            instance_ids: vec!["i-1".into()],
        };
        let gaps = vec![
            gap(TrafficSource::TargetGroup("arn:a".into())),
            gap(TrafficSource::TargetGroup("arn:b".into())),
            gap(TrafficSource::LoadBalancer("clb".into())),
            gap(TrafficSource::LoadBalancer("gone".into())),
            gap(TrafficSource::TargetGroup("arn:leaving".into())),
        ];
        let split = registrable(
            gaps,
            &[
                attached("arn:a", "Added"),
                attached("arn:b", "Adding"),
                attached("clb", "InService"),
                attached("arn:leaving", "Removing"),
            ],
        );
        assert_eq!(
            split.to_register,
            vec![
                gap(TrafficSource::TargetGroup("arn:a".into())),
                gap(TrafficSource::LoadBalancer("clb".into())),
            ]
        );
        assert_eq!(split.pending, vec!["arn:b", "gone"]);
    }

    #[test]
    fn a_target_unhealthy_and_draining_is_leaving_like_a_draining_one() {
        let g = GroupState {
            name: "g".into(),
            instances: vec![GroupInstance {
                instance_id: "i-1".into(),
                lifecycle_state: "InService".into(),
                health_status: "Healthy".into(),
            }],
            ..GroupState::default()
        };
        let tg = TrafficSource::TargetGroup("arn:a".into());
        for (state, lacking) in [
            ("healthy", false),
            ("initial", false),
            ("unhealthy", false),
            ("draining", true),
            ("unhealthy.draining", true),
        ] {
            let registered = BTreeMap::from([(
                tg.clone(),
                vec![RegisteredTarget {
                    instance_id: "i-1".into(),
                    state: state.into(),
                }],
            )]);
            let gaps = unregistered(&g, std::slice::from_ref(&tg), &registered);
            assert_eq!(!gaps.is_empty(), lacking, "{state}");
        }
    }

    #[test]
    fn follow_on_deployments_are_skipped_and_do_not_supersede_the_live_fleet() {
        for creator in [
            "autoscaling",
            "CodeDeployAutoUpdate",
            "autoscalingTermination",
        ] {
            let mut d = blue_green();
            d.creator = Some(creator.into());
            assert_eq!(
                assess(&d),
                Err(Skip::FollowOn {
                    creator: creator.into()
                })
            );
        }
        let mut d = blue_green();
        d.status = "Succeeded".into();
        let work = assess(&d).unwrap();
        let later = |creator: Option<&str>| {
            MomentFacts::Fleet(DeploymentGroupState {
                fleet: vec!["CodeDeploy_web_dg_d-ABC".into()],
                last_attempted: Some(LastDeployment {
                    id: "d-NEXT".into(),
                    status: "InProgress".into(),
                    creator: creator.map(str::to_owned),
                }),
            })
        };
        for creator in [
            "autoscaling",
            "CodeDeployAutoUpdate",
            "autoscalingTermination",
        ] {
            assert_eq!(
                at_moment(work.clone(), &later(Some(creator))),
                Ok(work.clone()),
                "{creator}"
            );
        }
        // Replacing the fleet, or not known to leave it alone: the fleet is out of play.
        for creator in [
            Some("user"),
            Some("codeDeployRollback"),
            Some("CloudFormation"),
            Some(""),
            None,
        ] {
            assert!(
                matches!(
                    at_moment(work.clone(), &later(creator)),
                    Err(Hold::Skipped(Skip::LaterDeploymentUnderWay { .. }))
                ),
                "{creator:?}"
            );
        }
    }

    #[test]
    fn the_creator_is_read_only_for_an_active_newest_deployment() {
        let state = |status: &str, creator: Option<&str>| DeploymentGroupState {
            fleet: vec![],
            last_attempted: Some(LastDeployment {
                id: "d-NEXT".into(),
                status: status.into(),
                creator: creator.map(str::to_owned),
            }),
        };
        assert_eq!(
            state("InProgress", None).creator_to_read("d-ABC"),
            Some("d-NEXT")
        );
        assert_eq!(
            state("Ready", None).creator_to_read("d-ABC"),
            Some("d-NEXT")
        );
        assert_eq!(
            state("InProgress", None).creator_to_read("d-NEXT"),
            None,
            "the run's own"
        );
        assert_eq!(state("Succeeded", None).creator_to_read("d-ABC"), None);
        assert_eq!(
            state("InProgress", Some("user")).creator_to_read("d-ABC"),
            None
        );
        assert_eq!(
            DeploymentGroupState::default().creator_to_read("d-ABC"),
            None
        );
        // A newest follow-on may hide an older deployment that replaces the fleet.
        assert!(state("InProgress", Some("autoscaling")).newest_is_active_follow_on());
        assert!(!state("InProgress", Some("user")).newest_is_active_follow_on());
        assert!(!state("Succeeded", Some("autoscaling")).newest_is_active_follow_on());
        assert!(!state("InProgress", None).newest_is_active_follow_on());
    }

    #[test]
    fn a_notification_is_in_scope_as_iam_would_match_its_deployment_group_arn() {
        for (pattern, expected) in [
            ("*", true),
            ("web/*", true),
            ("web/prod-*", true),
            ("*/prod-?", true),
            ("web*", true),
            ("shop/*", false),
            ("web/staging-*", false),
            ("Web/*", false),
        ] {
            assert_eq!(
                deployment_group_in_scope(pattern, "web", "prod-1"),
                expected,
                "{pattern}"
            );
        }
    }

    #[test]
    fn wildcards_match_as_iam_matches_them() {
        for (pattern, text, expected) in [
            ("*", "", true),
            ("*", "prod", true),
            ("prod", "prod", true),
            ("prod", "Prod", false),
            ("prod-*", "prod-web", true),
            ("prod-*", "prod-", true),
            ("prod-*", "staging-web", false),
            ("*-web", "prod-web", true),
            ("*-web", "prod-api", false),
            ("p?od", "prod", true),
            ("p?od", "pod", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("a*a", "aaa", true),
            ("**", "x", true),
            ("a*", "a*b", true),
            ("prod-*", "prod-*x", true),
            ("a?c", "a*c", true),
        ] {
            assert_eq!(
                wildcard_match(pattern, text),
                expected,
                "{pattern} against {text}"
            );
        }
    }

    #[test]
    fn scope_is_judged_from_the_deployment_group_part_of_the_pattern() {
        assert_eq!(scope("*", "web_dg"), Scope::Inside);
        assert_eq!(scope("*/*", "web_dg"), Scope::Inside);
        assert_eq!(scope("*/web_*", "web_dg"), Scope::Inside);
        assert_eq!(scope("*/api_*", "web_dg"), Scope::Outside);
        assert_eq!(scope("shop/prod-*", "staging-web"), Scope::Outside);
        // The application is not in a replacement group's name: it may or may not match.
        assert_eq!(scope("shop/*", "web_dg"), Scope::Unknown);
        assert_eq!(scope("shop/prod-*", "prod-web"), Scope::Unknown);
        // No `/`: a `*` may span the application and the group.
        assert_eq!(scope("shop*", "web_dg"), Scope::Unknown);
        assert_eq!(scope("*/web", "a/web"), Scope::Unknown);
    }

    #[test]
    fn replacement_group_names_parse_with_underscores_in_the_deployment_group() {
        assert_eq!(
            parse_replacement_group_name("CodeDeploy_web_dg_d-ABC"),
            Some(("web_dg", "d-ABC"))
        );
        assert_eq!(
            parse_replacement_group_name("CodeDeploy_a_b_c_d-1"),
            Some(("a_b_c", "d-1"))
        );
        assert_eq!(parse_replacement_group_name("CodeDeploy_web"), None);
        assert_eq!(parse_replacement_group_name("CodeDeploy__d-1"), None);
        assert_eq!(parse_replacement_group_name("CodeDeploy_web_"), None);
        assert_eq!(parse_replacement_group_name("web_dg_d-ABC"), None);
        let name = replacement_group_name("my_dg", "d-XYZ");
        assert_eq!(
            parse_replacement_group_name(&name),
            Some(("my_dg", "d-XYZ"))
        );
    }

    fn group_instance(id: &str, lifecycle_state: &str) -> GroupInstance {
        GroupInstance {
            instance_id: id.into(),
            lifecycle_state: lifecycle_state.into(),
            health_status: "Healthy".into(),
        }
    }

    fn listed(id: &str, state: &str) -> RegisteredTarget {
        RegisteredTarget {
            instance_id: id.into(),
            state: state.into(),
        }
    }

    #[test]
    fn only_a_succeeded_deployment_is_checked_for_registration() {
        for (status, succeeded) in [
            ("Succeeded", true),
            ("Baking", false),
            ("InProgress", false),
        ] {
            let mut deployment = blue_green();
            deployment.status = status.into();
            assert_eq!(
                assess(&deployment).unwrap().succeeded,
                succeeded,
                "{status}"
            );
        }
    }

    #[test]
    fn unregistered_names_each_sources_missing_in_service_instances_only() {
        let tg = TrafficSource::TargetGroup("arn:tg".into());
        let lb = TrafficSource::LoadBalancer("clb".into());
        let complete = TrafficSource::TargetGroup("arn:complete".into());
        let mut group = group("g", &[], &[]);
        group.instances = vec![
            group_instance("i-1", "InService"),
            group_instance("i-2", "InService"),
            group_instance("i-3", "Standby"),
            group_instance("i-4", "Pending"),
            group_instance("i-5", "Terminating"),
            GroupInstance {
                health_status: "Unhealthy".into(),
                ..group_instance("i-6", "InService")
            },
        ];
        let registered = BTreeMap::from([
            // i-1 on its way out counts as not registered; any other state counts as registered.
            (
                tg.clone(),
                vec![listed("i-1", "draining"), listed("i-2", "unhealthy")],
            ),
            (lb.clone(), vec![listed("i-9", "InService")]),
            (
                complete.clone(),
                vec![listed("i-1", "initial"), listed("i-2", "unused")],
            ),
        ]);
        assert_eq!(
            unregistered(&group, &[tg.clone(), lb.clone(), complete], &registered),
            vec![
                Registration {
                    traffic_source: tg,
                    instance_ids: vec!["i-1".into()]
                },
                Registration {
                    traffic_source: lb,
                    instance_ids: vec!["i-1".into(), "i-2".into()]
                },
            ]
        );
    }

    #[test]
    fn a_source_that_lists_nothing_lacks_every_in_service_instance() {
        let tg = TrafficSource::TargetGroup("arn:tg".into());
        let mut group = group("g", &[], &[]);
        group.instances = vec![
            group_instance("i-1", "InService"),
            group_instance("i-2", "Standby"),
        ];
        assert_eq!(
            unregistered(&group, std::slice::from_ref(&tg), &BTreeMap::new()),
            vec![Registration {
                traffic_source: tg,
                instance_ids: vec!["i-1".into()]
            }]
        );
        group.instances = vec![group_instance("i-2", "Standby")];
        assert_eq!(
            unregistered(
                &group,
                &[TrafficSource::LoadBalancer("clb".into())],
                &BTreeMap::new()
            ),
            vec![],
            "a group with no InService instance lacks nothing"
        );
    }

    #[test]
    fn traffic_sources_before_the_plan_leave_out_what_it_attaches() {
        let plan = GroupPlan {
            auto_scaling_group: "g".into(),
            target_group_arns: vec!["arn:a".into(), "arn:b".into()],
            load_balancer_names: vec!["clb".into()],
            missing_target_group_arns: vec!["arn:b".into()],
            missing_load_balancer_names: vec!["clb".into()],
        };
        assert_eq!(
            plan.traffic_sources(false),
            vec![TrafficSource::TargetGroup("arn:a".into())]
        );
        assert_eq!(
            plan.traffic_sources(true),
            vec![
                TrafficSource::TargetGroup("arn:a".into()),
                TrafficSource::TargetGroup("arn:b".into()),
                TrafficSource::LoadBalancer("clb".into()),
            ]
        );
    }

    #[test]
    fn registrations_of_several_groups_merge_per_source() {
        let tg = TrafficSource::TargetGroup("arn:tg".into());
        let lb = TrafficSource::LoadBalancer("clb".into());
        let gap = |source: &TrafficSource, ids: &[&str]| Registration {
            traffic_source: source.clone(),
            instance_ids: ids.iter().map(|i| i.to_string()).collect(),
        };
        assert_eq!(
            merge_registrations([
                gap(&tg, &["i-1"]),
                gap(&lb, &["i-1"]),
                gap(&tg, &["i-2", "i-1"]),
            ]),
            vec![gap(&tg, &["i-1", "i-2"]), gap(&lb, &["i-1"])]
        );
    }

    #[test]
    fn a_registration_serialises_with_its_source_kind_as_the_key() {
        let registration = Registration {
            traffic_source: TrafficSource::LoadBalancer("clb".into()),
            instance_ids: vec!["i-1".into()],
        };
        assert_eq!(
            serde_json::to_value(&registration).unwrap(),
            serde_json::json!({"loadBalancer": "clb", "instanceIds": ["i-1"]})
        );
    }
}
