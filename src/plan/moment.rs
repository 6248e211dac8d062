//! Whether now is the moment to act: the reroute complete (a deployment under way), or the group still the live fleet (a finished one).

use std::fmt;

use super::deployment::{replaces_fleet, Skip, Work};

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
    /// Its `creator` (GetDeployment), read for the active ones; `None` when not read.
    pub creator: Option<String>,
}

impl LastDeployment {
    /// Still running, so it may yet move traffic (or be moving it).
    pub fn is_active(&self) -> bool {
        ACTIVE.contains(&self.status.as_str())
    }
}

impl DeploymentGroupState {
    /// An active deployment other than `own` that replaces the fleet (`replaces_fleet`), if any:
    /// the deployment group's active deployments as listed, and the newest one
    /// (`lastAttemptedDeployment`) where the list does not have it (it became active since; its
    /// creator not read, so it counts as replacing).
    pub fn replacing(&self, own: &str) -> Option<&LastDeployment> {
        let listed = |id: &str| self.active.iter().any(|d| d.id == id);
        self.active
            .iter()
            .chain(
                self.last_attempted
                    .iter()
                    .filter(|d| d.is_active() && !listed(&d.id)),
            )
            .find(|d| d.id != own && replaces_fleet(d.creator.as_deref()))
    }
}

/// What GetDeploymentGroup (and ListDeployments) say of where traffic lives now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentGroupState {
    /// `autoScalingGroups[].name`: the fleet (after a successful copy, its replacement group).
    pub fleet: Vec<String>,
    pub last_attempted: Option<LastDeployment>,
    /// Every active deployment of the deployment group, with its creator: a follow-on newer than
    /// a deployment that is still replacing the fleet would hide it as `lastAttemptedDeployment`.
    pub active: Vec<LastDeployment>,
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
            if let Some(later) = state.replacing(&work.deployment_id) {
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
