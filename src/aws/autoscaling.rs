//! Auto Scaling: read groups and their attachments, attach what is missing. Never detaches.

use aws_sdk_autoscaling::types::TrafficSourceIdentifier;
use aws_sdk_autoscaling::Client;

use super::AwsError;
use crate::plan::{Attachment, GroupInstance, GroupState, TrafficSource};

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
    Ok(describe_raw(client, names)
        .await?
        .iter()
        .map(group_state)
        .collect())
}

async fn describe_raw(
    client: &Client,
    names: Option<Vec<String>>,
) -> Result<Vec<aws_sdk_autoscaling::types::AutoScalingGroup>, AwsError> {
    client
        .describe_auto_scaling_groups()
        .set_auto_scaling_group_names(names)
        .max_records(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::from_sdk("autoscaling:DescribeAutoScalingGroups", e))
}

/// What a group launches its instances from (where their instance profile is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchSource {
    LaunchConfiguration(String),
    /// A launch template's name or id (directly, or in a mixed instances policy), and the
    /// version the group uses (`$Default`, `$Latest` or a number).
    LaunchTemplate {
        template: String,
        version: String,
    },
    /// Neither named (Auto Scaling always names one of them).
    Unknown,
}

/// A group as `doctor` reads it: its state, its ARN, and what it launches from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSetup {
    pub state: GroupState,
    pub arn: Option<String>,
    pub launch: LaunchSource,
}

/// The named groups that exist, each with what it launches from, for `doctor`.
pub async fn describe_groups_and_launch_sources(
    client: &Client,
    names: &[String],
) -> Result<Vec<GroupSetup>, AwsError> {
    let groups = describe_raw(client, Some(names.to_vec())).await?;
    Ok(groups
        .iter()
        .map(|group| {
            let template = group.launch_template().or_else(|| {
                group
                    .mixed_instances_policy()
                    .and_then(|m| m.launch_template())
                    .and_then(|t| t.launch_template_specification())
            });
            let launch = match (group.launch_configuration_name(), template) {
                (Some(name), _) => LaunchSource::LaunchConfiguration(name.to_owned()),
                (None, Some(t)) => match t.launch_template_name().or(t.launch_template_id()) {
                    Some(template) if !template.is_empty() => LaunchSource::LaunchTemplate {
                        template: template.to_owned(),
                        version: t.version().unwrap_or("$Default").to_owned(),
                    },
                    _ => LaunchSource::Unknown,
                },
                (None, None) => LaunchSource::Unknown,
            };
            GroupSetup {
                state: group_state(group),
                arn: group.auto_scaling_group_arn().map(str::to_owned),
                launch,
            }
        })
        .collect())
}

/// The instance profile (name or ARN) a launch configuration gives its instances: `Ok(None)`
/// when it gives none, `Err` naming the configuration when it does not exist.
pub async fn launch_configuration_profile(
    client: &Client,
    name: &str,
) -> Result<Option<String>, AwsError> {
    const ACTION: &str = "autoscaling:DescribeLaunchConfigurations";
    let output = client
        .describe_launch_configurations()
        .launch_configuration_names(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(ACTION, e))?;
    let configuration = output
        .launch_configurations()
        .iter()
        .find(|c| c.launch_configuration_name() == Some(name))
        .ok_or_else(|| AwsError {
            action: ACTION,
            code: "NotFound".into(),
            message: format!("no launch configuration {name}"),
        })?;
    Ok(configuration
        .iam_instance_profile()
        .filter(|p| !p.is_empty())
        .map(str::to_owned))
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

/// Attaches target groups (`elbv2`) and classic load balancers (`elb`) in one call: at most
/// `plan::ATTACH_BATCH` of them. Additive: nothing the group has is detached.
pub async fn attach_traffic_sources(
    client: &Client,
    group: &str,
    sources: &[TrafficSource],
) -> Result<(), AwsError> {
    let identifiers = sources
        .iter()
        .map(|source| {
            let (identifier, kind) = source.identifier_and_type();
            TrafficSourceIdentifier::builder()
                .identifier(identifier)
                .r#type(kind)
                .build()
        })
        .collect();
    client
        .attach_traffic_sources()
        .auto_scaling_group_name(group)
        .set_traffic_sources(Some(identifiers))
        // The legacy attach calls (AttachLoadBalancerTargetGroups, AttachLoadBalancers) take no
        // such check. It refuses a load balancer with cross-zone load balancing off when the
        // group has zonal shift on; that pairing is the operator's, named by their deployment
        // group, and refusing it here would fail the deployment at its last step.
        .skip_zonal_shift_validation(true)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("autoscaling:AttachTrafficSources", e))?;
    Ok(())
}

/// Every traffic source of one group with its state, however it was attached (the traffic-source
/// API or the legacy target group and load balancer calls): one call for up to 50 of them.
pub async fn describe_attachments(
    client: &Client,
    group: &str,
) -> Result<Vec<Attachment>, AwsError> {
    let pages: Vec<_> = client
        .describe_traffic_sources()
        .auto_scaling_group_name(group)
        .max_records(50)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::from_sdk("autoscaling:DescribeTrafficSources", e))?;
    Ok(pages
        .iter()
        .flat_map(|page| page.traffic_sources())
        .map(|s| Attachment {
            source: s.identifier().unwrap_or_default().to_owned(),
            state: s.state().unwrap_or_default().to_owned(),
        })
        .collect())
}
