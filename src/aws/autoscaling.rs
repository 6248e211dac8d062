//! Auto Scaling: read groups and their attachments, attach what is missing. Never detaches.

use aws_sdk_autoscaling::Client;

use super::AwsError;
use crate::plan::{Attachment, GroupInstance, GroupState};

/// The named groups that exist (absent names are simply not returned).
pub async fn describe_groups(
    client: &Client,
    names: &[String],
) -> Result<Vec<GroupState>, AwsError> {
    describe(client, Some(names.to_vec())).await
}

/// Every group in the account and region, for the audit.
pub async fn describe_all_groups(client: &Client) -> Result<Vec<GroupState>, AwsError> {
    describe(client, None).await
}

async fn describe(
    client: &Client,
    names: Option<Vec<String>>,
) -> Result<Vec<GroupState>, AwsError> {
    let groups = client
        .describe_auto_scaling_groups()
        .set_auto_scaling_group_names(names)
        .max_records(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::from_sdk("autoscaling:DescribeAutoScalingGroups", e))?;
    Ok(groups.iter().map(group_state).collect())
}

fn group_state(group: &aws_sdk_autoscaling::types::AutoScalingGroup) -> GroupState {
    GroupState {
        name: group
            .auto_scaling_group_name()
            .unwrap_or_default()
            .to_owned(),
        target_group_arns: group.target_group_arns().to_vec(),
        load_balancer_names: group.load_balancer_names().to_vec(),
        traffic_sources: group
            .traffic_sources()
            .iter()
            .filter_map(|t| t.identifier().map(str::to_owned))
            .collect(),
        // An instance without an id cannot be registered: left out.
        instances: group
            .instances()
            .iter()
            .filter_map(|i| {
                Some(GroupInstance {
                    instance_id: i.instance_id().filter(|id| !id.is_empty())?.to_owned(),
                    lifecycle_state: i
                        .lifecycle_state()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    health_status: i.health_status().unwrap_or_default().to_owned(),
                })
            })
            .collect(),
    }
}

/// At most `plan::ATTACH_BATCH` ARNs per call.
pub async fn attach_target_groups(
    client: &Client,
    group: &str,
    arns: &[String],
) -> Result<(), AwsError> {
    client
        .attach_load_balancer_target_groups()
        .auto_scaling_group_name(group)
        .set_target_group_arns(Some(arns.to_vec()))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("autoscaling:AttachLoadBalancerTargetGroups", e))?;
    Ok(())
}

/// At most `plan::ATTACH_BATCH` names per call.
pub async fn attach_load_balancers(
    client: &Client,
    group: &str,
    names: &[String],
) -> Result<(), AwsError> {
    client
        .attach_load_balancers()
        .auto_scaling_group_name(group)
        .set_load_balancer_names(Some(names.to_vec()))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("autoscaling:AttachLoadBalancers", e))?;
    Ok(())
}

/// Target group and classic load balancer attachments of one group with their states, read concurrently.
pub async fn describe_attachments(
    client: &Client,
    group: &str,
) -> Result<Vec<Attachment>, AwsError> {
    let target_groups = async {
        client
            .describe_load_balancer_target_groups()
            .auto_scaling_group_name(group)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::from_sdk("autoscaling:DescribeLoadBalancerTargetGroups", e))
    };
    let load_balancers = async {
        client
            .describe_load_balancers()
            .auto_scaling_group_name(group)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::from_sdk("autoscaling:DescribeLoadBalancers", e))
    };
    let (tg_pages, lb_pages) = tokio::try_join!(target_groups, load_balancers)?;
    let mut attachments = Vec::new();
    for page in &tg_pages {
        attachments.extend(page.load_balancer_target_groups().iter().map(|t| {
            Attachment {
                source: t
                    .load_balancer_target_group_arn()
                    .unwrap_or_default()
                    .to_owned(),
                state: t.state().unwrap_or_default().to_owned(),
            }
        }));
    }
    for page in &lb_pages {
        attachments.extend(page.load_balancers().iter().map(|l| Attachment {
            source: l.load_balancer_name().unwrap_or_default().to_owned(),
            state: l.state().unwrap_or_default().to_owned(),
        }));
    }
    Ok(attachments)
}
