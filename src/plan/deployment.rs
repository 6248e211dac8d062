//! What a deployment is, and whether it is ours to repair: the facts `GetDeployment` gives, the work they ask for, or why it is left alone.

use std::collections::BTreeSet;
use std::fmt;

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
    /// `rollbackInfo.rollbackTriggeringDeploymentId`: for a rollback, the deployment that failed
    /// or was stopped and is being rolled back (`None` when not reported).
    pub rolled_back_deployment: Option<String>,
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
    /// CodeDeploy rolling a failed or stopped deployment back (`creator` `codeDeployRollback`):
    /// traffic goes back to the original fleet, so no replacement group is ours to touch.
    Rollback {
        rolled_back_deployment: Option<String>,
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
            Skip::Rollback {
                rolled_back_deployment,
            } => write!(
                f,
                "a rollback (created by {ROLLBACK_CREATOR}{}): CodeDeploy is moving traffic back to the original \
                 instances, so no replacement group is attached or registered",
                match rolled_back_deployment {
                    Some(id) => format!(", rolling back {id}"),
                    None => String::new(),
                }
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

/// The creator of a rollback: CodeDeploy rolls a deployment back by a new deployment of the last
/// good revision, with its own id ("These rolled-back deployments are technically new
/// deployments, with new deployment IDs", CodeDeploy User Guide, *Redeploy and roll back a
/// deployment with CodeDeploy*,
/// <https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html>).
/// For blue/green, its `AfterAllowTraffic` runs on the original instances (AppSpec 'hooks'
/// section, run order of hooks in a blue/green deployment rollback,
/// <https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html>),
/// with the rollback's own `DEPLOYMENT_ID`. What AWS reports as such a deployment's
/// `targetInstances` and instance labels is not documented, so the rule rests on `creator` alone.
pub const ROLLBACK_CREATOR: &str = "codeDeployRollback";

/// Whether a deployment started by `creator` replaces the fleet. Not known (not reported, or a
/// creator this code does not know) counts as replacing: the fleet is then left alone.
pub fn replaces_fleet(creator: Option<&str>) -> bool {
    !creator.is_some_and(|c| FOLLOW_ON_CREATORS.contains(&c))
}

/// Decides whether a deployment is ours to repair and, if so, what it asks for.
pub fn assess(deployment: &Deployment) -> Result<Work, Skip> {
    // First: a rollback is left alone whatever else it reports (its targets, its status).
    if deployment.creator.as_deref() == Some(ROLLBACK_CREATOR) {
        return Err(Skip::Rollback {
            rolled_back_deployment: deployment.rolled_back_deployment.clone(),
        });
    }
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

fn dedup(names: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    names
        .iter()
        .filter(|n| seen.insert(n.as_str()))
        .cloned()
        .collect()
}
