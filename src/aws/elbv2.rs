//! Elastic Load Balancing v2: resolve target group names to ARNs; read and add registered targets.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
use aws_sdk_elasticloadbalancingv2::Client;

use super::AwsError;
use crate::plan::RegisteredTarget;

const ACTION: &str = "elasticloadbalancing:DescribeTargetGroups";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("target group(s) not found: {}", .0.join(", "))]
    NotFound(Vec<String>),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// Name -> ARN for every name, in one DescribeTargetGroups call. That call fails whole on an
/// unknown name without saying which, so only on that path each name is looked up alone.
pub async fn resolve_target_groups(
    client: &Client,
    names: &[String],
) -> Result<BTreeMap<String, String>, ResolveError> {
    if names.is_empty() {
        return Ok(BTreeMap::new());
    }
    match describe(client, names).await {
        Ok(found) => Ok(found),
        Err(e) if e.code == "TargetGroupNotFound" => Err(find_unknown(client, names).await),
        Err(e) => Err(e.into()),
    }
}

async fn describe(client: &Client, names: &[String]) -> Result<BTreeMap<String, String>, AwsError> {
    let output = client
        .describe_target_groups()
        .set_names(Some(names.to_vec()))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(ACTION, e))?;
    let found: BTreeMap<String, String> = output
        .target_groups()
        .iter()
        .filter_map(|tg| {
            Some((
                tg.target_group_name()?.to_owned(),
                tg.target_group_arn()?.to_owned(),
            ))
        })
        .collect();
    // AWS answers an unknown name with TargetGroupNotFound, never with a shorter list: an answer
    // that lacks a name is not AWS's whole answer, and says nothing about that target group.
    let unanswered: Vec<&str> = names
        .iter()
        .filter(|name| !found.contains_key(*name))
        .map(String::as_str)
        .collect();
    if !unanswered.is_empty() {
        return Err(AwsError::incomplete(ACTION, format!(
                "answered without {} (and without TargetGroupNotFound, AWS's answer for a name it does not know)",
                unanswered.join(", ")
            )));
    }
    Ok(found)
}

async fn find_unknown(client: &Client, names: &[String]) -> ResolveError {
    let mut unknown = Vec::new();
    for name in names {
        match client.describe_target_groups().names(name).send().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("TargetGroupNotFound") => unknown.push(name.clone()),
            Err(e) => return AwsError::from_sdk(ACTION, e).into(),
        }
    }
    if unknown.is_empty() {
        // Gone and back between the calls: still not resolvable as one set; name them all.
        unknown = names.to_vec();
    }
    ResolveError::NotFound(unknown)
}

/// Name -> ARN for the names that exist, and the names that do not (`doctor` checks the rest
/// when one is gone).
pub async fn existing_target_groups(
    client: &Client,
    names: &[String],
) -> Result<(BTreeMap<String, String>, Vec<String>), AwsError> {
    match resolve_target_groups(client, names).await {
        Ok(found) => Ok((found, Vec::new())),
        Err(ResolveError::Aws(e)) => Err(e),
        Err(ResolveError::NotFound(missing)) => {
            let rest: Vec<String> = names
                .iter()
                .filter(|n| !missing.contains(n))
                .cloned()
                .collect();
            match resolve_target_groups(client, &rest).await {
                Ok(found) => Ok((found, missing)),
                Err(ResolveError::Aws(e)) => Err(e),
                // Another one went between the calls: name them all as missing.
                Err(ResolveError::NotFound(_)) => Ok((BTreeMap::new(), names.to_vec())),
            }
        }
    }
}

/// Every target the target group lists (no `Targets` filter), with its state.
pub async fn registered_targets(
    client: &Client,
    target_group_arn: &str,
) -> Result<Vec<RegisteredTarget>, AwsError> {
    let output = client
        .describe_target_health()
        .target_group_arn(target_group_arn)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("elasticloadbalancing:DescribeTargetHealth", e))?;
    Ok(output
        .target_health_descriptions()
        .iter()
        .filter_map(|d| {
            Some(RegisteredTarget {
                instance_id: d.target()?.id()?.to_owned(),
                state: d
                    .target_health()
                    .and_then(|h| h.state())
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            })
        })
        .collect())
}

/// Registers instances on the target group's own port (no port override). Never deregisters.
pub async fn register_targets(
    client: &Client,
    target_group_arn: &str,
    instance_ids: &[String],
) -> Result<(), AwsError> {
    let targets = instance_ids
        .iter()
        .map(|id| TargetDescription::builder().id(id).build())
        .collect();
    client
        .register_targets()
        .target_group_arn(target_group_arn)
        .set_targets(Some(targets))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("elasticloadbalancing:RegisterTargets", e))?;
    Ok(())
}
