//! Decodes the four event shapes into `Trigger`s: what to act on, what to ignore and why. No AWS, no I/O.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sns::SnsEvent;
use serde_json::{Map, Value};

/// Where a trigger came from; decides how its outcome is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// CodeDeploy's lifecycle hook invocation (`AfterAllowTraffic`): report with
    /// `PutLifecycleEventHookExecutionStatus`.
    LifecycleHook,
    /// `{"DeploymentId"}` from an appspec hook script or an operator: failure is an error.
    Direct,
    /// A CodeDeploy trigger notification delivered through SNS.
    SnsTrigger,
    /// An EventBridge `CodeDeploy Deployment State-change Notification`.
    EventBridge,
}

/// One deployment to repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub deployment_id: String,
    pub source: Source,
    /// Present only for `Source::LifecycleHook`.
    pub hook_execution_id: Option<String>,
    /// The deployment's application and deployment group, where the event names them (SNS and
    /// EventBridge notifications do): its scope is judged before any AWS call.
    pub deployment_group: Option<DeploymentGroupName>,
}

/// A deployment group as a notification names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentGroupName {
    pub application: String,
    pub deployment_group: String,
}

impl DeploymentGroupName {
    /// Both names, when both are non-empty strings of `object`.
    fn from_fields(object: &Map<String, Value>, application: &str, group: &str) -> Option<Self> {
        let name = |key: &str| {
            object
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Some(DeploymentGroupName {
            application: name(application)?,
            deployment_group: name(group)?,
        })
    }
}

/// What one event (or one SNS record) asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    Act(Trigger),
    Ignore {
        source: Source,
        deployment_id: Option<String>,
        reason: String,
    },
}

/// Input that is none of the shapes we serve. Each variant says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event is not JSON: {0}")]
    NotJson(String),
    #[error("event must be a JSON object, got {0}; {EXPECTED}")]
    NotAnObject(&'static str),
    #[error("unrecognised event with keys [{keys}]; {EXPECTED}")]
    Unrecognised { keys: String },
    #[error("{field} must be a non-empty string, got {got}")]
    InvalidField { field: String, got: String },
    #[error("SNS event envelope is malformed: {0}")]
    SnsEnvelope(String),
    #[error("SNS event has no records")]
    NoRecords,
    #[error("SNS record {index}: Message is not a CodeDeploy trigger message: {problem}")]
    SnsMessage { index: usize, problem: String },
    #[error("EventBridge event envelope is malformed: {0}")]
    EventBridgeEnvelope(String),
    #[error("EventBridge event from source {0:?}, expected \"aws.codedeploy\"")]
    EventBridgeSource(String),
}

const EXPECTED: &str = "expected a CodeDeploy lifecycle hook invocation {\"DeploymentId\", \"LifecycleEventHookExecutionId\"}, \
a direct invocation {\"DeploymentId\"}, an SNS event whose Records[].Sns.Message is a CodeDeploy trigger message, \
or an EventBridge \"CodeDeploy Deployment State-change Notification\"";

const DEPLOYMENT_STATE_CHANGE: &str = "CodeDeploy Deployment State-change Notification";
const INSTANCE_STATE_CHANGE: &str = "CodeDeploy Instance State-change Notification";

/// What one invocation asks for: work on deployments, or the account audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Deployments(Vec<Decoded>),
    /// An EventBridge `Scheduled Event` (`source: aws.events`): audit the account in this region.
    ScheduledAudit,
}

/// `request` from bytes (the CLI's `handle`).
pub fn request_bytes(bytes: &[u8]) -> Result<Request, EventError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| EventError::NotJson(e.to_string()))?;
    request(value)
}

/// A scheduled event (`source: aws.events`, `detail-type: Scheduled Event`) asks for the audit;
/// anything else is decoded as deployment events.
pub fn request(value: Value) -> Result<Request, EventError> {
    let scheduled = value.get("source").and_then(Value::as_str) == Some("aws.events")
        && value.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event");
    if scheduled {
        Ok(Request::ScheduledAudit)
    } else {
        decode(value).map(Request::Deployments)
    }
}

/// Decodes one event into what it asks for; SNS may carry several records.
pub fn decode(value: Value) -> Result<Vec<Decoded>, EventError> {
    let Value::Object(object) = &value else {
        return Err(EventError::NotAnObject(kind_of(&value)));
    };
    if object.contains_key("Records") {
        return decode_sns(value);
    }
    if object.contains_key("detail-type") {
        return decode_eventbridge(value).map(|d| vec![d]);
    }
    if object.contains_key("DeploymentId") {
        return decode_invocation(object).map(|d| vec![d]);
    }
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    Err(EventError::Unrecognised {
        keys: keys.join(", "),
    })
}

fn decode_invocation(object: &Map<String, Value>) -> Result<Decoded, EventError> {
    let deployment_id = required_string(object, "DeploymentId", "DeploymentId")?;
    match object.get("LifecycleEventHookExecutionId") {
        None => Ok(Decoded::Act(Trigger {
            deployment_id,
            source: Source::Direct,
            hook_execution_id: None,
            deployment_group: None,
        })),
        Some(_) => Ok(Decoded::Act(Trigger {
            deployment_id,
            source: Source::LifecycleHook,
            hook_execution_id: Some(required_string(
                object,
                "LifecycleEventHookExecutionId",
                "LifecycleEventHookExecutionId",
            )?),
            deployment_group: None,
        })),
    }
}

fn decode_sns(value: Value) -> Result<Vec<Decoded>, EventError> {
    let event: SnsEvent =
        serde_json::from_value(value).map_err(|e| EventError::SnsEnvelope(e.to_string()))?;
    if event.records.is_empty() {
        return Err(EventError::NoRecords);
    }
    event
        .records
        .iter()
        .enumerate()
        .map(|(index, record)| decode_trigger_message(index, &record.sns.message))
        .collect()
}

/// A CodeDeploy trigger message. Only the fields we need are read: others vary in shape
/// (`deploymentOverview` is a JSON string live and an object in AWS's documentation).
fn decode_trigger_message(index: usize, message: &str) -> Result<Decoded, EventError> {
    let problem = |problem: String| EventError::SnsMessage { index, problem };
    let value: Value = serde_json::from_str(message).map_err(|e| problem(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(problem(format!(
            "expected a JSON object, got {}",
            kind_of(&value)
        )));
    };
    let deployment_id = match object.get("deploymentId") {
        Some(Value::String(id)) if !id.trim().is_empty() => Some(id.clone()),
        None => None,
        Some(other) => {
            return Err(EventError::InvalidField {
                field: format!("Records[{index}].Sns.Message.deploymentId"),
                got: describe(other),
            })
        }
    };
    match object.get("status") {
        Some(Value::String(status)) => {
            if status.eq_ignore_ascii_case("SUCCEEDED") {
                let deployment_id = deployment_id.ok_or_else(|| EventError::InvalidField {
                    field: format!("Records[{index}].Sns.Message.deploymentId"),
                    got: "nothing".into(),
                })?;
                Ok(Decoded::Act(Trigger {
                    deployment_id,
                    source: Source::SnsTrigger,
                    hook_execution_id: None,
                    deployment_group: DeploymentGroupName::from_fields(
                        &object,
                        "applicationName",
                        "deploymentGroupName",
                    ),
                }))
            } else {
                Ok(Decoded::Ignore {
                    source: Source::SnsTrigger,
                    deployment_id,
                    reason: not_yet_reason("SNS trigger status", status, "SUCCEEDED"),
                })
            }
        }
        Some(other) => Err(EventError::InvalidField {
            field: format!("Records[{index}].Sns.Message.status"),
            got: describe(other),
        }),
        None if object.contains_key("instanceId") || object.contains_key("instanceStatus") => {
            Ok(Decoded::Ignore {
                source: Source::SnsTrigger,
                deployment_id,
                reason: "instance-level trigger message: one instance's progress, not a sign that traffic moved".into(),
            })
        }
        None => Err(problem(
            "no \"status\" (deployment trigger) nor \"instanceStatus\" (instance trigger)".into(),
        )),
    }
}

fn decode_eventbridge(value: Value) -> Result<Decoded, EventError> {
    let event: EventBridgeEvent<Value> = serde_json::from_value(value)
        .map_err(|e| EventError::EventBridgeEnvelope(e.to_string()))?;
    if event.source != "aws.codedeploy" {
        return Err(EventError::EventBridgeSource(event.source));
    }
    let Value::Object(detail) = &event.detail else {
        return Err(EventError::EventBridgeEnvelope(format!(
            "detail must be an object, got {}",
            kind_of(&event.detail)
        )));
    };
    let deployment_id = detail
        .get("deploymentId")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned);
    if event.detail_type != DEPLOYMENT_STATE_CHANGE {
        let reason = if event.detail_type == INSTANCE_STATE_CHANGE {
            "instance state-change notification: one instance's progress, not a sign that traffic moved".to_owned()
        } else {
            format!(
                "EventBridge detail-type {:?} is not a deployment state change",
                event.detail_type
            )
        };
        return Ok(Decoded::Ignore {
            source: Source::EventBridge,
            deployment_id,
            reason,
        });
    }
    let state = required_string(detail, "state", "detail.state")?;
    if !state.eq_ignore_ascii_case("SUCCESS") {
        return Ok(Decoded::Ignore {
            source: Source::EventBridge,
            deployment_id,
            reason: not_yet_reason("EventBridge deployment state", &state, "SUCCESS"),
        });
    }
    Ok(Decoded::Act(Trigger {
        deployment_id: required_string(detail, "deploymentId", "detail.deploymentId")?,
        source: Source::EventBridge,
        hook_execution_id: None,
        deployment_group: DeploymentGroupName::from_fields(
            detail,
            "application",
            "deploymentGroup",
        ),
    }))
}

/// Notifications of deployment groups outside `pattern` (`DEPLOYMENT_GROUP_PATTERN`, the
/// template's `DeploymentGroupPattern`, which also limits what the function may read) are
/// ignored, with the reason, before any AWS call: the EventBridge rule and an SNS topic may carry
/// other teams' deployments, and reading them would only be denied (a failed run, a retry, an
/// alarm for a deployment that is none of ours). Events that name no deployment group (a
/// lifecycle hook, a direct call) are judged by AWS itself.
pub fn scoped(decoded: Vec<Decoded>, pattern: &str) -> Vec<Decoded> {
    decoded
        .into_iter()
        .map(|item| match item {
            Decoded::Act(Trigger {
                source,
                deployment_id,
                deployment_group: Some(name),
                ..
            }) if !crate::plan::deployment_group_in_scope(
                pattern,
                &name.application,
                &name.deployment_group,
            ) =>
            {
                Decoded::Ignore {
                    source,
                    deployment_id: Some(deployment_id),
                    reason: format!(
                        "deployment group {}/{} is outside DeploymentGroupPattern ({pattern}): not this function's to repair",
                        name.application, name.deployment_group
                    ),
                }
            }
            other => other,
        })
        .collect()
}

/// Why a notification that is not the success one is left alone; `READY` gets the full story.
fn not_yet_reason(what: &str, status: &str, acts_on: &str) -> String {
    if status.eq_ignore_ascii_case("READY") {
        format!(
            "{what} {status}: the replacement fleet is installed but traffic has not been rerouted to it; \
             attaching now would register every new instance with the load balancer before the reroute, \
             so this acts only on {acts_on}"
        )
    } else {
        format!("{what} {status}: acts only on {acts_on}, after traffic has moved to the replacement fleet")
    }
}

fn required_string(
    object: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<String, EventError> {
    match object.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        other => Err(EventError::InvalidField {
            field: field.to_owned(),
            got: other.map_or_else(|| "nothing".to_owned(), describe),
        }),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::String(s) if s.is_empty() => "an empty string".to_owned(),
        Value::String(s) if s.trim().is_empty() => "a blank string".to_owned(),
        other => kind_of(other).to_owned(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
