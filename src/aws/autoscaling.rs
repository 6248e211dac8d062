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

/// Every group, and the account they are in, read off their ARNs (`None` when no group is
/// listed): the audit's rows say the account without a call to ask it.
pub async fn describe_all_groups_and_account(
    client: &Client,
) -> Result<(Vec<GroupState>, Option<String>), AwsError> {
    let groups = describe_raw(client, None).await?;
    let account = groups
        .iter()
        .filter_map(|group| group.auto_scaling_group_arn())
        // arn:<partition>:autoscaling:<region>:<account>:autoScalingGroup:...
        .filter_map(|arn| arn.split(':').nth(4))
        .find(|account| !account.is_empty())
        .map(str::to_owned);
    Ok((groups.iter().map(group_state).collect(), account))
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
    /// The launch template (directly, or a mixed instances policy's), then each other template
    /// a mixed instances policy's overrides launch some instance types from.
    LaunchTemplates(Vec<LaunchTemplate>),
    /// Neither named (Auto Scaling always names one of them).
    Unknown,
}

/// A launch template as a group names it: by id or name (Auto Scaling's answer usually carries
/// both), and the version it launches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchTemplate {
    pub id: Option<String>,
    pub name: Option<String>,
    /// `$Default`, `$Latest` or a version number. Auto Scaling's API reference
    /// (LaunchTemplateSpecification): "The default value is `$Default`".
    pub version: String,
}

impl LaunchTemplate {
    /// The name, else the id: how a line names it.
    pub fn shown(&self) -> &str {
        self.name.as_deref().or(self.id.as_deref()).unwrap_or("")
    }

    /// The same template and version, however each names the template (one by id, the other
    /// by name only is taken as the same when either matches).
    fn same_as(&self, other: &LaunchTemplate) -> bool {
        let matches = |a: &Option<String>, b: &Option<String>| a.is_some() && a == b;
        self.version == other.version
            && (matches(&self.id, &other.id) || matches(&self.name, &other.name))
    }

    fn from_specification(
        t: &aws_sdk_autoscaling::types::LaunchTemplateSpecification,
    ) -> Option<Self> {
        let present = |v: Option<&str>| v.filter(|v| !v.is_empty()).map(str::to_owned);
        let (id, name) = (
            present(t.launch_template_id()),
            present(t.launch_template_name()),
        );
        (id.is_some() || name.is_some()).then(|| LaunchTemplate {
            id,
            name,
            version: present(t.version()).unwrap_or_else(|| "$Default".to_owned()),
        })
    }
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
        .map(|group| GroupSetup {
            state: group_state(group),
            arn: group.auto_scaling_group_arn().map(str::to_owned),
            launch: launch_source(group),
        })
        .collect())
}

/// What the group launches from: its launch configuration, else its launch templates (the group's
/// own or its mixed instances policy's, then each other one an override names), else `Unknown`.
fn launch_source(group: &aws_sdk_autoscaling::types::AutoScalingGroup) -> LaunchSource {
    if let Some(name) = group.launch_configuration_name().filter(|n| !n.is_empty()) {
        return LaunchSource::LaunchConfiguration(name.to_owned());
    }
    let mixed = group
        .mixed_instances_policy()
        .and_then(|m| m.launch_template());
    let base = group
        .launch_template()
        .or_else(|| mixed.and_then(|t| t.launch_template_specification()));
    let overrides = mixed
        .map(|t| t.overrides())
        .unwrap_or_default()
        .iter()
        .filter_map(|o| o.launch_template_specification());
    // An override without a template launches from the base one (Auto Scaling API reference,
    // LaunchTemplateOverrides.LaunchTemplateSpecification: "If not provided, Amazon EC2 Auto
    // Scaling uses the launch template that's specified in the LaunchTemplate definition").
    let mut templates: Vec<LaunchTemplate> = Vec::new();
    for specification in base.into_iter().chain(overrides) {
        match LaunchTemplate::from_specification(specification) {
            Some(t) if !templates.iter().any(|known| known.same_as(&t)) => templates.push(t),
            Some(_) => {}
            // A template named by neither id nor name: nothing to read it by.
            None => return LaunchSource::Unknown,
        }
    }
    if templates.is_empty() {
        LaunchSource::Unknown
    } else {
        LaunchSource::LaunchTemplates(templates)
    }
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

#[cfg(test)]
mod tests {
    use aws_sdk_autoscaling::types::{
        AutoScalingGroup, LaunchTemplate as MixedTemplate, LaunchTemplateOverrides,
        LaunchTemplateSpecification, MixedInstancesPolicy,
    };

    use super::*;

    fn spec(
        id: Option<&str>,
        name: Option<&str>,
        version: Option<&str>,
    ) -> LaunchTemplateSpecification {
        LaunchTemplateSpecification::builder()
            .set_launch_template_id(id.map(str::to_owned))
            .set_launch_template_name(name.map(str::to_owned))
            .set_version(version.map(str::to_owned))
            .build()
    }

    fn template(id: Option<&str>, name: Option<&str>, version: &str) -> LaunchTemplate {
        LaunchTemplate {
            id: id.map(str::to_owned),
            name: name.map(str::to_owned),
            version: version.to_owned(),
        }
    }

    fn mixed(
        base: LaunchTemplateSpecification,
        overrides: Vec<LaunchTemplateOverrides>,
    ) -> AutoScalingGroup {
        AutoScalingGroup::builder()
            .mixed_instances_policy(
                MixedInstancesPolicy::builder()
                    .launch_template(
                        MixedTemplate::builder()
                            .launch_template_specification(base)
                            .set_overrides(Some(overrides))
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    #[test]
    fn a_group_launches_from_its_configuration_else_its_templates_else_unknown() {
        let group = AutoScalingGroup::builder()
            .launch_configuration_name("lc")
            .launch_template(spec(Some("lt-1"), None, None))
            .build();
        assert_eq!(
            launch_source(&group),
            LaunchSource::LaunchConfiguration("lc".into())
        );
        // Without a version, Auto Scaling's default: $Default.
        let group = AutoScalingGroup::builder()
            .launch_template(spec(Some("lt-1"), Some("web"), None))
            .build();
        assert_eq!(
            launch_source(&group),
            LaunchSource::LaunchTemplates(vec![template(Some("lt-1"), Some("web"), "$Default")])
        );
        assert_eq!(
            launch_source(&AutoScalingGroup::builder().build()),
            LaunchSource::Unknown
        );
        // A template named by neither id nor name has nothing to be read by.
        let group = AutoScalingGroup::builder()
            .launch_template(spec(None, None, Some("3")))
            .build();
        assert_eq!(launch_source(&group), LaunchSource::Unknown);
    }

    #[test]
    fn a_mixed_instances_policy_launches_from_its_template_and_each_other_one_an_override_names() {
        let group = mixed(
            spec(Some("lt-1"), Some("web"), Some("$Latest")),
            vec![
                // No template: the base one.
                LaunchTemplateOverrides::builder()
                    .instance_type("t3.micro")
                    .build(),
                // The base template again, by name only: read once.
                LaunchTemplateOverrides::builder()
                    .instance_type("t3.small")
                    .launch_template_specification(spec(None, Some("web"), Some("$Latest")))
                    .build(),
                LaunchTemplateOverrides::builder()
                    .instance_type("m7g.large")
                    .launch_template_specification(spec(Some("lt-2"), None, None))
                    .build(),
            ],
        );
        assert_eq!(
            launch_source(&group),
            LaunchSource::LaunchTemplates(vec![
                template(Some("lt-1"), Some("web"), "$Latest"),
                template(Some("lt-2"), None, "$Default"),
            ])
        );
    }
}
