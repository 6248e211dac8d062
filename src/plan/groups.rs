//! What each replacement group has, and lacks: the plan, in attach calls of at most ten.

use std::collections::BTreeMap;
use std::fmt;

use super::deployment::Work;

/// Auto Scaling accepts at most this many traffic sources (target groups and classic load
/// balancers together) per AttachTrafficSources call.
pub const ATTACH_BATCH: usize = 10;

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
    pub(super) fn is_serving(&self) -> bool {
        self.lifecycle_state == "InService" && self.health_status.eq_ignore_ascii_case("Healthy")
    }
}

impl GroupState {
    /// Whether the group has the source (a target group's ARN, a classic load balancer's name)
    /// in any of its three lists.
    pub fn has(&self, source: &str) -> bool {
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

/// Where instances are registered to receive traffic: a target group (by ARN) or a classic load
/// balancer (by name). Serialised as `{"targetGroup": ...}` or `{"loadBalancer": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TrafficSource {
    TargetGroup(String),
    LoadBalancer(String),
}

impl TrafficSource {
    /// Its identifier and its type, as `AttachTrafficSources` takes them: `elbv2` for a target
    /// group's ARN, `elb` for a classic load balancer's name.
    pub fn identifier_and_type(&self) -> (&str, &'static str) {
        match self {
            TrafficSource::TargetGroup(arn) => (arn, "elbv2"),
            TrafficSource::LoadBalancer(name) => (name, "elb"),
        }
    }
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
