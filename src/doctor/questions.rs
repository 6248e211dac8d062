//! `doctor`'s questions for IAM's policy simulator: every call the function makes for a
//! deployment group, on the resources it makes them on (no I/O).

use crate::aws::actions::{ResourceType, FUNCTION_ACTIONS};
use crate::plan::replacement_group_name;

/// A replacement group's name as CodeDeploy would give it, for asking IAM about the attach.
pub const SAMPLE_DEPLOYMENT_ID: &str = "d-EXAMPLE01";
const SAMPLE_GROUP_ID: &str = "00000000-0000-0000-0000-000000000000";
const TRAFFIC_SOURCE_IDENTIFIERS: &str = "autoscaling:TrafficSourceIdentifiers";

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
    let (region, account) = (parts.next()?, parts.next()?);
    (!region.is_empty() && !account.is_empty()).then_some((partition, region, account))
}

/// Every call the function makes for this deployment group, as questions for IAM's simulator:
/// on the deployment group's ARN, on `"*"` for the actions with no resource type, on a
/// replacement group named as CodeDeploy names them (with the attach's condition key), on each
/// target group and each classic load balancer. `regional_arn` is any ARN of the account and
/// region (the function's, the original group's): it gives the partition, region and account.
pub fn function_simulations(
    regional_arn: &str,
    application: &str,
    deployment_group: &str,
    target_group_arns: &[String],
    load_balancer_names: &[String],
) -> Vec<Simulation> {
    let Some((partition, region, account)) = arn_parts(regional_arn) else {
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
            "arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:{SAMPLE_GROUP_ID}:autoScalingGroupName/{}",
            replacement_group_name(deployment_group, SAMPLE_DEPLOYMENT_ID)
        ),
        actions: of(ResourceType::AutoScalingGroup),
        context: if identifiers.is_empty() {
            Vec::new()
        } else {
            vec![(TRAFFIC_SOURCE_IDENTIFIERS, identifiers)]
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
