//! CodeDeploy: read a deployment, its replacement instances and its deployment group's fleet;
//! report a lifecycle hook's status.

use aws_sdk_codedeploy::error::ProvideErrorMetadata;
use aws_sdk_codedeploy::types::{LifecycleEventStatus, TargetFilterName, TargetLabel};
use aws_sdk_codedeploy::Client;
use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::AwsError;
use crate::plan::{Deployment, DeploymentGroupState, InstanceTarget, LastDeployment};

/// BatchGetDeploymentTargets takes at most this many target ids a call.
pub const TARGETS_PER_BATCH: usize = 25;
/// BatchGetDeploymentTargets calls in flight at once: a large fleet's reads, times every
/// instance's hook running at once, must not become a burst against CodeDeploy's rate limits.
const BATCHES_AT_ONCE: usize = 4;

/// The deployment's facts, or the error (an unknown deployment keeps AWS's
/// `DeploymentDoesNotExistException` code).
pub async fn get_deployment(client: &Client, deployment_id: &str) -> Result<Deployment, AwsError> {
    let output = client
        .get_deployment()
        .deployment_id(deployment_id)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("codedeploy:GetDeployment", e))?;
    let info = output.deployment_info.ok_or_else(|| AwsError {
        action: "codedeploy:GetDeployment",
        code: "EmptyResponse".into(),
        message: format!("no deploymentInfo returned for {deployment_id}"),
    })?;
    let style = style_of(
        info.deployment_style(),
        info.blue_green_deployment_configuration(),
        info.load_balancer_info(),
    );
    Ok(Deployment {
        id: info.deployment_id().unwrap_or(deployment_id).to_owned(),
        application_name: info.application_name().unwrap_or_default().to_owned(),
        deployment_group_name: info.deployment_group_name().unwrap_or_default().to_owned(),
        status: info
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        compute_platform: info.compute_platform().map(|p| p.as_str().to_owned()),
        deployment_type: style.deployment_type,
        deployment_option: style.deployment_option,
        green_fleet_action: style.green_fleet_action,
        target_group_names: style.target_group_names,
        load_balancer_names: style.load_balancer_names,
        target_instance_groups: info
            .target_instances()
            .map(|t| t.auto_scaling_groups().to_vec())
            .unwrap_or_default(),
        creator: info.creator().map(|c| c.as_str().to_owned()),
        rolled_back_deployment: info
            .rollback_info()
            .and_then(|r| r.rollback_triggering_deployment_id())
            .map(str::to_owned),
    })
}

/// A deployment's or a deployment group's style, green fleet and load balancers, as names.
struct Style {
    deployment_type: Option<String>,
    deployment_option: Option<String>,
    green_fleet_action: Option<String>,
    target_group_names: Vec<String>,
    load_balancer_names: Vec<String>,
}

fn style_of(
    style: Option<&aws_sdk_codedeploy::types::DeploymentStyle>,
    blue_green: Option<&aws_sdk_codedeploy::types::BlueGreenDeploymentConfiguration>,
    load_balancers: Option<&aws_sdk_codedeploy::types::LoadBalancerInfo>,
) -> Style {
    Style {
        deployment_type: style
            .and_then(|s| s.deployment_type())
            .map(|t| t.as_str().to_owned()),
        deployment_option: style
            .and_then(|s| s.deployment_option())
            .map(|o| o.as_str().to_owned()),
        green_fleet_action: blue_green
            .and_then(|c| c.green_fleet_provisioning_option())
            .and_then(|o| o.action())
            .map(|a| a.as_str().to_owned()),
        target_group_names: load_balancers
            .map(|l| {
                l.target_group_info_list()
                    .iter()
                    .filter_map(|t| t.name().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        load_balancer_names: load_balancers
            .map(|l| {
                l.elb_info_list()
                    .iter()
                    .filter_map(|e| e.name().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// The deployment's replacement (`Green`) instance targets with their `AllowTraffic` status:
/// ListDeploymentTargets filtered on the label (every page), then BatchGetDeploymentTargets,
/// `TARGETS_PER_BATCH` ids a call, `BATCHES_AT_ONCE` calls at a time.
pub async fn replacement_instances(
    client: &Client,
    deployment_id: &str,
) -> Result<Vec<InstanceTarget>, AwsError> {
    const LIST: &str = "codedeploy:ListDeploymentTargets";
    let mut target_ids = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let page = client
            .list_deployment_targets()
            .deployment_id(deployment_id)
            .target_filters(
                TargetFilterName::ServerInstanceLabel,
                vec![TargetLabel::Green.as_str().to_owned()],
            )
            .set_next_token(next_token.clone())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(LIST, e))?;
        target_ids.extend(page.target_ids().iter().cloned());
        match page.next_token().filter(|token| !token.is_empty()) {
            None => break,
            Some(token) if next_token.as_deref() == Some(token) => {
                return Err(AwsError {
                    action: LIST,
                    code: "RepeatedNextToken".into(),
                    message: format!("the same nextToken came back twice for {deployment_id}"),
                })
            }
            Some(token) => next_token = Some(token.to_owned()),
        }
    }
    // Owned batches: a stream over borrowed chunks is not provably Send to the spawned work.
    let batches: Vec<Vec<String>> = target_ids
        .chunks(TARGETS_PER_BATCH)
        .map(<[String]>::to_vec)
        .collect();
    let outputs: Vec<_> = stream::iter(batches)
        .map(|ids| {
            client
                .batch_get_deployment_targets()
                .deployment_id(deployment_id)
                .set_target_ids(Some(ids))
                .send()
        })
        .buffered(BATCHES_AT_ONCE)
        .map_err(|e| AwsError::from_sdk("codedeploy:BatchGetDeploymentTargets", e))
        .try_collect()
        .await?;
    let mut targets: Vec<InstanceTarget> = outputs
        .iter()
        .flat_map(|out| out.deployment_targets())
        .filter_map(|target| target.instance_target())
        .map(|t| InstanceTarget {
            instance_id: t.target_id().unwrap_or_default().to_owned(),
            label: t.instance_label().map(|l| l.as_str().to_owned()),
            allow_traffic: t
                .lifecycle_events()
                .iter()
                .find(|e| e.lifecycle_event_name() == Some("AllowTraffic"))
                .and_then(|e| e.status())
                .map(|s| s.as_str().to_owned()),
        })
        .collect();
    // A listed replacement instance the batch read did not describe is not known to be through
    // AllowTraffic: it counts as still waiting, never as rerouted.
    let described: std::collections::HashSet<String> =
        targets.iter().map(|t| t.instance_id.clone()).collect();
    let undescribed: Vec<InstanceTarget> = target_ids
        .iter()
        .filter(|id| !described.contains(*id))
        .map(|id| InstanceTarget {
            instance_id: id.clone(),
            label: Some(TargetLabel::Green.as_str().to_owned()),
            allow_traffic: None,
        })
        .collect();
    targets.extend(undescribed);
    Ok(targets)
}

/// `GetDeploymentGroup`'s `deploymentGroupInfo` (an answer without it is an error, never an
/// empty deployment group); AWS's error code kept, for an unknown one.
async fn get_deployment_group(
    client: &Client,
    application_name: &str,
    deployment_group_name: &str,
) -> Result<aws_sdk_codedeploy::types::DeploymentGroupInfo, AwsError> {
    const ACTION: &str = "codedeploy:GetDeploymentGroup";
    let output = client
        .get_deployment_group()
        .application_name(application_name)
        .deployment_group_name(deployment_group_name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(ACTION, e))?;
    output.deployment_group_info.ok_or_else(|| AwsError {
        action: ACTION,
        code: "EmptyResponse".into(),
        message: format!(
            "no deploymentGroupInfo returned for {application_name}/{deployment_group_name}"
        ),
    })
}

/// The deployment group as it is now: the Auto Scaling groups it names (its fleet; after a
/// successful `COPY_AUTO_SCALING_GROUP` deployment, that deployment's replacement group) and
/// its newest deployment.
pub async fn deployment_group_state(
    client: &Client,
    application_name: &str,
    deployment_group_name: &str,
) -> Result<DeploymentGroupState, AwsError> {
    let info = get_deployment_group(client, application_name, deployment_group_name).await?;
    Ok(DeploymentGroupState {
        fleet: info
            .auto_scaling_groups()
            .iter()
            .filter_map(|g| g.name().map(str::to_owned))
            .collect(),
        last_attempted: info.last_attempted_deployment().and_then(|d| {
            Some(LastDeployment {
                id: d.deployment_id()?.to_owned(),
                status: d.status()?.as_str().to_owned(),
                creator: None,
            })
        }),
        active: Vec::new(),
    })
}

/// The deployment group's deployments still active (`Created`, `Queued`, `InProgress`,
/// `Ready`, `Baking`), every page.
pub async fn active_deployments(
    client: &Client,
    application_name: &str,
    deployment_group_name: &str,
) -> Result<Vec<String>, AwsError> {
    use aws_sdk_codedeploy::types::DeploymentStatus;
    let active = [
        DeploymentStatus::Created,
        DeploymentStatus::Queued,
        DeploymentStatus::InProgress,
        DeploymentStatus::Ready,
        DeploymentStatus::Baking,
    ];
    let pages: Vec<_> = client
        .list_deployments()
        .application_name(application_name)
        .deployment_group_name(deployment_group_name)
        .set_include_only_statuses(Some(active.to_vec()))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::from_sdk("codedeploy:ListDeployments", e))?;
    Ok(pages
        .iter()
        .flat_map(|page| page.deployments().iter().cloned())
        .collect())
}

/// How CodeDeploy took a hook status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookReport {
    Accepted,
    /// The hook execution had already been completed (a retried invocation): not a failure.
    AlreadyCompleted,
}

pub async fn put_hook_status(
    client: &Client,
    deployment_id: &str,
    hook_execution_id: &str,
    succeeded: bool,
) -> Result<HookReport, AwsError> {
    let status = if succeeded {
        LifecycleEventStatus::Succeeded
    } else {
        LifecycleEventStatus::Failed
    };
    match client
        .put_lifecycle_event_hook_execution_status()
        .deployment_id(deployment_id)
        .lifecycle_event_hook_execution_id(hook_execution_id)
        .status(status)
        .send()
        .await
    {
        Ok(_) => Ok(HookReport::Accepted),
        Err(e) if e.code() == Some("LifecycleEventAlreadyCompletedException") => {
            Ok(HookReport::AlreadyCompleted)
        }
        Err(e) => Err(AwsError::from_sdk(
            "codedeploy:PutLifecycleEventHookExecutionStatus",
            e,
        )),
    }
}

/// A deployment group's settings as `doctor` checks them (`GetDeploymentGroup`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeploymentGroupSetup {
    pub compute_platform: Option<String>,
    pub deployment_type: Option<String>,
    pub deployment_option: Option<String>,
    pub green_fleet_action: Option<String>,
    pub target_group_names: Vec<String>,
    pub load_balancer_names: Vec<String>,
    /// The Auto Scaling groups it names: before its first blue/green deployment, the original.
    pub auto_scaling_groups: Vec<String>,
    pub deployment_config_name: Option<String>,
    /// SNS topics of its triggers on `DeploymentSuccess`.
    pub success_trigger_topics: Vec<String>,
}

/// The deployment group's settings, or `None` when CodeDeploy knows no such application or
/// deployment group.
pub async fn deployment_group_setup(
    client: &Client,
    application_name: &str,
    deployment_group_name: &str,
) -> Result<Option<DeploymentGroupSetup>, AwsError> {
    use aws_sdk_codedeploy::types::TriggerEventType;
    let info = match get_deployment_group(client, application_name, deployment_group_name).await {
        Ok(info) => info,
        Err(e)
            if e.code == "DeploymentGroupDoesNotExistException"
                || e.code == "ApplicationDoesNotExistException" =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    let style = style_of(
        info.deployment_style(),
        info.blue_green_deployment_configuration(),
        info.load_balancer_info(),
    );
    Ok(Some(DeploymentGroupSetup {
        compute_platform: info.compute_platform().map(|p| p.as_str().to_owned()),
        deployment_type: style.deployment_type,
        deployment_option: style.deployment_option,
        green_fleet_action: style.green_fleet_action,
        target_group_names: style.target_group_names,
        load_balancer_names: style.load_balancer_names,
        auto_scaling_groups: info
            .auto_scaling_groups()
            .iter()
            .filter_map(|g| g.name().map(str::to_owned))
            .collect(),
        deployment_config_name: info.deployment_config_name().map(str::to_owned),
        success_trigger_topics: info
            .trigger_configurations()
            .iter()
            .filter(|t| {
                t.trigger_events()
                    .contains(&TriggerEventType::DeploymentSuccess)
            })
            .filter_map(|t| t.trigger_target_arn().map(str::to_owned))
            .collect(),
    }))
}
