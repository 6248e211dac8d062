//! `doctor`'s decisions: the facts read about one deployment group's setup in, a checklist out
//! (no I/O). This file holds the facts, the line and the verdict; each topic's checks are in a
//! file of their own (`group`, `permissions`, `hook`, `nets`), unit-tested in `tests`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::appspec::Appspec;
use crate::aws::autoscaling::{GroupSetup, LaunchTemplate};
use crate::aws::codedeploy::DeploymentGroupSetup;
use crate::aws::iam::Decision;
use crate::aws::lambda::{FunctionConfiguration, Invoker};
use crate::aws::AwsError;

/// The function name the template gives (its `FunctionName` parameter's default) and the
/// appspec script invokes by default.
pub const DEFAULT_FUNCTION_NAME: &str = "codedeploy-tg-hook";
/// The scheduled audit's function: the template names it after the hook function.
pub const AUDIT_FUNCTION_SUFFIX: &str = "-audit";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Reported only (what the deployment configuration means, a safety net): never a problem.
    Info,
    /// Could not be checked: the finding says why.
    Unknown,
    Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topic {
    DeploymentGroup,
    Function,
    Permissions,
    Appspec,
    SafetyNets,
}

impl Topic {
    pub fn title(self) -> &'static str {
        match self {
            Topic::DeploymentGroup => "deployment group",
            Topic::Function => "function",
            Topic::Permissions => "permissions (IAM's policy simulator)",
            Topic::Appspec => "appspec",
            Topic::SafetyNets => "safety nets",
        }
    }
}

/// One line of the checklist: what was found and, for a problem, the fix in one sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub topic: Topic,
    pub status: Status,
    pub finding: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// Everything `doctor` read. `None` where a read was not made because what it needs was not
/// found (the line that says so is enough).
#[derive(Debug, Clone)]
pub struct Facts {
    pub application: String,
    pub deployment_group: String,
    /// The function checked, as given (a name or an ARN).
    pub function_name: String,
    /// Why the function checked is not known (the appspec script's `HOOK_FUNCTION_NAME` cannot
    /// be evaluated and `--function` was not given): then no function was read.
    pub function_untold: Option<String>,
    /// The appspec script runs the binary on the instance (`HOOK_MODE=binary`), not the function.
    pub binary: bool,
    pub setup: Lookup<DeploymentGroupSetup>,
    /// The target groups the deployment group names: name -> ARN of those that exist, and the
    /// names of those that do not.
    pub target_groups: Option<Result<TargetGroups, AwsError>>,
    /// Each classic load balancer it names, and whether it exists.
    pub load_balancers: Vec<(String, Result<bool, AwsError>)>,
    /// The Auto Scaling groups it names that exist.
    pub original_groups: Option<Result<Vec<GroupSetup>, AwsError>>,
    pub function: Lookup<FunctionConfiguration>,
    /// Who the function's resource policy lets invoke it.
    pub invokers: Option<Result<Vec<Invoker>, AwsError>>,
    /// The scheduled audit's function (`<function>-audit`) and its invokers.
    pub audit_function: AuditFunctionRead,
    /// IAM's decisions for the function's role on every call the function makes here.
    pub function_role: RoleCheck,
    /// The instance role of every group the deployment group names (one line of reasoning per
    /// launch source, then per instance profile), or the one `--instance-profile` gives.
    pub instance_roles: Vec<InstanceRole>,
    /// `--appspec`: its path and what it says.
    pub appspec: Option<(String, AppspecRead)>,
}

/// One thing doctor looked up by name, as read: there, not there, or not read (why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    Found(T),
    Missing,
    Unread(AwsError),
}

impl<T> Lookup<T> {
    pub fn found(&self) -> Option<&T> {
        match self {
            Lookup::Found(found) => Some(found),
            _ => None,
        }
    }

    pub fn found_mut(&mut self) -> Option<&mut T> {
        match self {
            Lookup::Found(found) => Some(found),
            _ => None,
        }
    }
}

impl<T> From<Result<Option<T>, AwsError>> for Lookup<T> {
    /// An adapter's answer: `Ok(None)` is AWS saying there is no such thing.
    fn from(read: Result<Option<T>, AwsError>) -> Self {
        match read {
            Ok(Some(found)) => Lookup::Found(found),
            Ok(None) => Lookup::Missing,
            Err(e) => Lookup::Unread(e),
        }
    }
}

/// The scheduled audit's function (`<function>-audit`) as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditFunctionRead {
    /// Not looked for (the appspec script leaves the function's name untold).
    NotAsked,
    /// Lambda has no such function.
    Missing,
    Found(AuditFunction),
    Unread(AwsError),
}

/// The target groups that exist (name -> ARN), and the names that do not.
pub type TargetGroups = (BTreeMap<String, String>, Vec<String>);

/// The scheduled audit's function and who may invoke it.
pub type AuditFunction = (FunctionConfiguration, Vec<Invoker>);

/// IAM's answers for one role: every decision it made, and each question that got no answer
/// (one simulator call failing keeps the others' decisions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleDecisions {
    pub decisions: Vec<Decision>,
    /// The resource asked about, and the error that came back.
    pub failed: Vec<(String, AwsError)>,
}

impl From<Vec<Decision>> for RoleDecisions {
    fn from(decisions: Vec<Decision>) -> Self {
        RoleDecisions {
            decisions,
            failed: Vec::new(),
        }
    }
}

impl RoleDecisions {
    /// Every question failed with `error` (or there was one question).
    pub fn failed(resource: &str, error: AwsError) -> Self {
        RoleDecisions {
            decisions: Vec::new(),
            failed: vec![(resource.to_owned(), error)],
        }
    }
}

/// IAM's decisions for one role, or why it was not asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleCheck {
    /// Why not (no function to take the role from); `None`: nothing to say (another line does).
    NotChecked(Option<String>),
    Simulated(RoleDecisions),
}

/// What is known of the role the replacement instances run the appspec script with: the
/// replacement group copies the original's launch source, so each original group's launch
/// configuration or launch templates give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceRole {
    /// Why it was not checked (no function to invoke, no original group); `None`: another line
    /// says why.
    NotChecked(Option<String>),
    /// The group launches from a launch template, which this build does not read (built
    /// without the `launch-templates` feature).
    LaunchTemplateNotRead {
        group: String,
        template: LaunchTemplate,
    },
    /// The group names neither a launch configuration nor a launch template.
    NoLaunchSource { group: String },
    /// The group's launch source (`launch configuration lc`, `launch template lt (version 3)`)
    /// gives no instance profile.
    NoProfile { group: String, source: String },
    ProfileNotFound {
        profile: String,
        source: ProfileSource,
    },
    NoRole {
        profile: String,
        source: ProfileSource,
    },
    /// What could not be read (`the instance role of blue`), and why.
    Unread { what: String, error: AwsError },
    /// Each role of the instance profile, with IAM's decisions for it.
    Simulated {
        profile: String,
        source: ProfileSource,
        roles: Vec<(String, RoleDecisions)>,
    },
}

/// Where an instance profile was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    /// `--instance-profile`.
    Given,
    /// The launch sources of these groups (`blue`; for a group that launches from several
    /// templates, `blue's launch template web (version 3)`).
    Groups(Vec<String>),
}

/// The appspec file as read: its text could not be read (`unknown`), or what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppspecRead {
    Unreadable(String),
    Read(Result<Appspec, String>),
}

/// What the checklist says as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every check holds.
    Ready,
    /// A problem: certain, whatever else could not be checked (unlike `audit`, where a group it
    /// could not check wins, since there a row it could not check may hide the worst).
    NotReady,
    /// Something could not be checked, and nothing found is wrong.
    Unchecked,
}

pub fn verdict(checks: &[Check]) -> Verdict {
    if checks.iter().any(|c| c.status == Status::Problem) {
        Verdict::NotReady
    } else if checks.iter().any(|c| c.status == Status::Unknown) {
        Verdict::Unchecked
    } else {
        Verdict::Ready
    }
}

/// A function as the script names it to Lambda: the name with its version or alias
/// (`f:live`), an ARN's prefix dropped. `f:live` is another function than `f` to check: its
/// own configuration, role and invokers.
pub fn invoked_function_name(function: &str) -> &str {
    function
        .split_once(":function:")
        .map_or(function, |(_, rest)| rest)
}

/// The function's own name, when it is given as an ARN (`arn:...:function:NAME[:QUALIFIER]`)
/// or with a qualifier (`NAME:alias`).
pub fn bare_function_name(function: &str) -> &str {
    let name = function
        .split_once(":function:")
        .map_or(function, |(_, rest)| rest);
    name.split(':').next().unwrap_or(name)
}

pub(super) fn line(topic: Topic, status: Status, finding: String) -> Check {
    Check {
        topic,
        status,
        finding,
        fix: None,
    }
}

pub(super) fn problem(topic: Topic, finding: String, fix: String) -> Check {
    Check {
        topic,
        status: Status::Problem,
        finding,
        fix: Some(fix),
    }
}

pub(super) fn unread(topic: Topic, what: &str, error: &AwsError) -> Check {
    line(
        topic,
        Status::Unknown,
        format!("could not read {what}: {error}"),
    )
}
