//! CodeDeploy: read a deployment, its replacement instances and its deployment group's fleet;
//! report a lifecycle hook's status.

use aws_sdk_codedeploy::error::ProvideErrorMetadata;
use aws_sdk_codedeploy::types::{LifecycleEventStatus, TargetFilterName, TargetLabel};
use aws_sdk_codedeploy::Client;
use futures_util::future::try_join_all;

use super::AwsError;
use crate::plan::{Deployment, ReplacementInstance};

/// BatchGetDeploymentTargets takes at most this many target ids a call.
pub const TARGETS_PER_BATCH: usize = 25;

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
    let style = info.deployment_style();
    let load_balancers = info.load_balancer_info();
    Ok(Deployment {
        id: info.deployment_id().unwrap_or(deployment_id).to_owned(),
        application_name: info.application_name().unwrap_or_default().to_owned(),
        deployment_group_name: info.deployment_group_name().unwrap_or_default().to_owned(),
        status: info
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        compute_platform: info.compute_platform().map(|p| p.as_str().to_owned()),
        deployment_type: style
            .and_then(|s| s.deployment_type())
            .map(|t| t.as_str().to_owned()),
        deployment_option: style
            .and_then(|s| s.deployment_option())
            .map(|o| o.as_str().to_owned()),
        green_fleet_action: info
            .blue_green_deployment_configuration()
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
        target_instance_groups: info
            .target_instances()
            .map(|t| t.auto_scaling_groups().to_vec())
            .unwrap_or_default(),
    })
}

/// The deployment's replacement (`Green`) instance targets with their `AllowTraffic` status:
/// ListDeploymentTargets filtered on the label (every page), then BatchGetDeploymentTargets,
/// `TARGETS_PER_BATCH` ids a call, the batches concurrently.
pub async fn replacement_instances(
    client: &Client,
    deployment_id: &str,
) -> Result<Vec<ReplacementInstance>, AwsError> {
    let mut target_ids = Vec::new();
    let mut next_token = None;
    loop {
        let page = client
            .list_deployment_targets()
            .deployment_id(deployment_id)
            .target_filters(
                TargetFilterName::ServerInstanceLabel,
                vec![TargetLabel::Green.as_str().to_owned()],
            )
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("codedeploy:ListDeploymentTargets", e))?;
        target_ids.extend(page.target_ids().iter().cloned());
        next_token = page
            .next_token()
            .filter(|token| !token.is_empty())
            .map(str::to_owned);
        if next_token.is_none() {
            break;
        }
    }
    let batches = target_ids.chunks(TARGETS_PER_BATCH).map(|ids| async move {
        client
            .batch_get_deployment_targets()
            .deployment_id(deployment_id)
            .set_target_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("codedeploy:BatchGetDeploymentTargets", e))
    });
    let outputs = try_join_all(batches).await?;
    Ok(outputs
        .iter()
        .flat_map(|out| out.deployment_targets())
        .filter_map(|target| target.instance_target())
        // The filter already asked for Green; a target that says otherwise is not counted.
        .filter(|t| t.instance_label().is_none_or(|l| *l == TargetLabel::Green))
        .map(|t| ReplacementInstance {
            instance_id: t.target_id().unwrap_or_default().to_owned(),
            allow_traffic: t
                .lifecycle_events()
                .iter()
                .find(|e| e.lifecycle_event_name() == Some("AllowTraffic"))
                .and_then(|e| e.status())
                .map(|s| s.as_str().to_owned()),
        })
        .collect())
}

/// The Auto Scaling groups a deployment group names now (its fleet): after a successful
/// `COPY_AUTO_SCALING_GROUP` deployment, that deployment's replacement group.
pub async fn deployment_group_fleet(
    client: &Client,
    application_name: &str,
    deployment_group_name: &str,
) -> Result<Vec<String>, AwsError> {
    let output = client
        .get_deployment_group()
        .application_name(application_name)
        .deployment_group_name(deployment_group_name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("codedeploy:GetDeploymentGroup", e))?;
    Ok(output
        .deployment_group_info()
        .map(|info| {
            info.auto_scaling_groups()
                .iter()
                .filter_map(|g| g.name().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
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
