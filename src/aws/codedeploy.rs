//! CodeDeploy: read a deployment, report a lifecycle hook's status.

use aws_sdk_codedeploy::error::ProvideErrorMetadata;
use aws_sdk_codedeploy::types::LifecycleEventStatus;
use aws_sdk_codedeploy::Client;

use super::AwsError;
use crate::plan::Deployment;

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
