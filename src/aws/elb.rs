//! Classic Elastic Load Balancing: read and add registered instances. Never deregisters.

use aws_sdk_elasticloadbalancing::types::Instance;
use aws_sdk_elasticloadbalancing::Client;

use super::AwsError;
use crate::plan::RegisteredTarget;

/// Every instance the load balancer has registered (no `Instances` filter), with its state.
pub async fn registered_instances(
    client: &Client,
    load_balancer_name: &str,
) -> Result<Vec<RegisteredTarget>, AwsError> {
    let output = client
        .describe_instance_health()
        .load_balancer_name(load_balancer_name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("elasticloadbalancing:DescribeInstanceHealth", e))?;
    Ok(output
        .instance_states()
        .iter()
        .filter_map(|s| {
            Some(RegisteredTarget {
                instance_id: s.instance_id()?.to_owned(),
                state: s.state().unwrap_or_default().to_owned(),
            })
        })
        .collect())
}

pub async fn register_instances(
    client: &Client,
    load_balancer_name: &str,
    instance_ids: &[String],
) -> Result<(), AwsError> {
    client
        .register_instances_with_load_balancer()
        .load_balancer_name(load_balancer_name)
        .set_instances(Some(
            instance_ids
                .iter()
                .map(|id| Instance::builder().instance_id(id).build())
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk("elasticloadbalancing:RegisterInstancesWithLoadBalancer", e)
        })?;
    Ok(())
}

/// Whether a classic load balancer of that name exists (`DescribeLoadBalancers`, which answers
/// `LoadBalancerNotFound` for an unknown name:
/// https://docs.aws.amazon.com/elasticloadbalancing/2012-06-01/APIReference/API_DescribeLoadBalancers.html).
/// An answer that lists the name is yes; one that does not, without that error, is not AWS's
/// whole answer (as for target groups in `elbv2`) and says nothing about it.
pub async fn load_balancer_exists(client: &Client, name: &str) -> Result<bool, AwsError> {
    use aws_sdk_elasticloadbalancing::error::ProvideErrorMetadata;
    const ACTION: &str = "elasticloadbalancing:DescribeLoadBalancers";
    match client
        .describe_load_balancers()
        .load_balancer_names(name)
        .send()
        .await
    {
        Ok(output)
            if output
                .load_balancer_descriptions()
                .iter()
                .any(|d| d.load_balancer_name() == Some(name)) =>
        {
            Ok(true)
        }
        Ok(_) => Err(AwsError {
            action: ACTION,
            code: "IncompleteAnswer".into(),
            message: format!(
                "answered without {name} (and without LoadBalancerNotFound, AWS's answer for a name it does not know)"
            ),
        }),
        Err(e)
            if matches!(
                e.code(),
                Some("LoadBalancerNotFound" | "AccessPointNotFound")
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(AwsError::from_sdk(
            ACTION,
            e,
        )),
    }
}
