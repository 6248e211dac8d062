//! The IAM actions of the code's calls, with the resource type each takes: what `doctor` asks
//! IAM's simulator about, and what docs/iam-actions.md lists (tests/suite/iam.rs holds the table, this
//! list, the template and the calls in src/aws/ to each other).

/// The resource type an action takes in the Service Authorization Reference
/// (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
/// With none, IAM allows the action only through a statement on `"*"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ResourceType {
    None,
    /// `arn:${Partition}:codedeploy:${Region}:${Account}:deploymentgroup:${ApplicationName}/${DeploymentGroupName}`
    DeploymentGroup,
    /// `arn:${Partition}:autoscaling:${Region}:${Account}:autoScalingGroup:${GroupId}:autoScalingGroupName/${GroupFriendlyName}`
    AutoScalingGroup,
    /// `arn:${Partition}:elasticloadbalancing:${Region}:${Account}:targetgroup/${TargetGroupName}/${TargetGroupId}`
    TargetGroup,
    /// `arn:${Partition}:elasticloadbalancing:${Region}:${Account}:loadbalancer/${LoadBalancerName}`
    LoadBalancer,
}

impl ResourceType {
    /// The name the reference gives the type (`none` where it lists none).
    pub fn name(self) -> &'static str {
        match self {
            ResourceType::None => "none",
            ResourceType::DeploymentGroup => "deploymentgroup",
            ResourceType::AutoScalingGroup => "autoScalingGroup",
            ResourceType::TargetGroup => "targetgroup",
            ResourceType::LoadBalancer => "loadbalancer",
        }
    }
}

/// Every action the function calls (the hook function makes all of them; the audit function
/// all but the hook report), with its resource type.
pub const FUNCTION_ACTIONS: &[(&str, ResourceType)] = &[
    ("codedeploy:GetDeployment", ResourceType::DeploymentGroup),
    (
        "codedeploy:GetDeploymentGroup",
        ResourceType::DeploymentGroup,
    ),
    ("codedeploy:ListDeployments", ResourceType::DeploymentGroup),
    ("codedeploy:ListDeploymentTargets", ResourceType::None),
    ("codedeploy:BatchGetDeploymentTargets", ResourceType::None),
    (
        "codedeploy:PutLifecycleEventHookExecutionStatus",
        ResourceType::None,
    ),
    ("autoscaling:DescribeAutoScalingGroups", ResourceType::None),
    ("autoscaling:DescribeTrafficSources", ResourceType::None),
    (
        "autoscaling:AttachTrafficSources",
        ResourceType::AutoScalingGroup,
    ),
    (
        "elasticloadbalancing:DescribeTargetGroups",
        ResourceType::None,
    ),
    (
        "elasticloadbalancing:DescribeTargetHealth",
        ResourceType::None,
    ),
    (
        "elasticloadbalancing:RegisterTargets",
        ResourceType::TargetGroup,
    ),
    (
        "elasticloadbalancing:DescribeInstanceHealth",
        ResourceType::None,
    ),
    (
        "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
        ResourceType::LoadBalancer,
    ),
];

/// The calls only `doctor` makes, with an operator's credentials (never the function's).
pub const DOCTOR_ONLY_ACTIONS: &[&str] = &[
    "iam:SimulatePrincipalPolicy",
    "iam:GetInstanceProfile",
    "lambda:GetFunctionConfiguration",
    "lambda:GetPolicy",
    "autoscaling:DescribeLaunchConfigurations",
    "ec2:DescribeLaunchTemplateVersions",
    "elasticloadbalancing:DescribeLoadBalancers",
];

/// The function's calls `doctor` makes too, reading the deployment group's setup.
pub const DOCTOR_SHARED_ACTIONS: &[&str] = &[
    "codedeploy:GetDeploymentGroup",
    "elasticloadbalancing:DescribeTargetGroups",
    "autoscaling:DescribeAutoScalingGroups",
];

/// What the appspec script's `lambda` mode needs of the instance role: `doctor` asks IAM about
/// it on the function (resource type `function`).
pub const INVOKE_FUNCTION: &str = "lambda:InvokeFunction";

/// The calls only the audit across accounts and regions makes (`audit --accounts`, `--regions
/// all`; the scheduled audit's `AUDIT_ACCOUNTS`, `AUDIT_REGIONS`), with their resource types in
/// docs/iam-actions.md: the audit function's, and `account:ListRegions` also each audited
/// account's role's (infra/audit-role.yaml).
pub const AUDIT_ACROSS_ACTIONS: &[&str] = &[
    "sts:AssumeRole",
    "organizations:ListAccounts",
    "account:ListRegions",
];

/// The one call only a lifecycle hook makes: `attach` (the appspec script's `binary` mode) has
/// no hook execution to report on.
pub const HOOK_REPORT_ACTION: &str = "codedeploy:PutLifecycleEventHookExecutionStatus";

/// The IAM action for an operation of one of our services (`Auto Scaling` is `autoscaling`; both
/// load balancing services are `elasticloadbalancing`).
pub fn iam_action(service: &str, operation: &str) -> String {
    let prefix = match service {
        "CodeDeploy" => "codedeploy",
        "Auto Scaling" => "autoscaling",
        "IAM" => "iam",
        "Lambda" => "lambda",
        "EC2" => "ec2",
        "Account" => "account",
        "Organizations" => "organizations",
        "STS" => "sts",
        s if s.starts_with("Elastic Load Balancing") => "elasticloadbalancing",
        other => return format!("{other}:{operation}"),
    };
    format!("{prefix}:{operation}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_named_as_iam_names_them() {
        assert_eq!(
            iam_action("CodeDeploy", "GetDeployment"),
            "codedeploy:GetDeployment"
        );
        assert_eq!(
            iam_action("Auto Scaling", "AttachTrafficSources"),
            "autoscaling:AttachTrafficSources"
        );
        assert_eq!(
            iam_action("Elastic Load Balancing v2", "DescribeTargetGroups"),
            "elasticloadbalancing:DescribeTargetGroups"
        );
        assert_eq!(
            iam_action("EC2", "DescribeLaunchTemplateVersions"),
            "ec2:DescribeLaunchTemplateVersions"
        );
        assert_eq!(iam_action("Account", "ListRegions"), "account:ListRegions");
        assert_eq!(
            iam_action("Organizations", "ListAccounts"),
            "organizations:ListAccounts"
        );
        assert_eq!(
            iam_action("Elastic Load Balancing", "DescribeInstanceHealth"),
            "elasticloadbalancing:DescribeInstanceHealth"
        );
    }
}
