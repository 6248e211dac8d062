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
mod tests {
    use super::*;
    use serde_json::json;

    fn sns_envelope(messages: &[&str]) -> Value {
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                json!({
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:deployments:2a1b",
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                        "TopicArn": "arn:aws:sns:us-east-1:123456789012:deployments",
                        "Subject": "SUCCEEDED: AWS CodeDeploy d-ABC in us-east-1 to web",
                        "Message": m,
                        "Timestamp": "2026-11-25T10:00:00.000Z",
                        "SignatureVersion": "1",
                        "Signature": "EXAMPLE",
                        "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                        "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                        "MessageAttributes": {}
                    }
                })
            })
            .collect();
        json!({ "Records": records })
    }

    fn live_trigger(status: &str) -> String {
        json!({
            "region": "us-east-1", "accountId": "123456789012", "eventTriggerName": "success",
            "applicationName": "web", "deploymentId": "d-ABC", "deploymentGroupName": "web-dg",
            "createTime": "Tue Nov 25 10:00:00 UTC 2026", "completeTime": "Tue Nov 25 10:05:00 UTC 2026",
            "deploymentOverview": "{\"Succeeded\":2,\"Failed\":0,\"Skipped\":0,\"InProgress\":0,\"Pending\":0}",
            "status": status
        })
        .to_string()
    }

    fn eventbridge(detail_type: &str, state: &str) -> Value {
        json!({
            "version": "0", "id": "c071bfbf-83c4-49ca-a6ff-3df053957145",
            "detail-type": detail_type, "source": "aws.codedeploy", "account": "123456789012",
            "time": "2026-11-25T10:05:00Z", "region": "us-east-1",
            "resources": ["arn:aws:codedeploy:us-east-1:123456789012:application:web"],
            "detail": {
                "instanceGroupId": "9fd2fbef", "region": "us-east-1", "application": "web",
                "deploymentId": "d-ABC", "state": state, "deploymentGroup": "web-dg"
            }
        })
    }

    fn act(id: &str, source: Source) -> Decoded {
        Decoded::Act(Trigger {
            deployment_id: id.into(),
            source,
            hook_execution_id: None,
            deployment_group: None,
        })
    }

    /// A notification's trigger, naming its deployment group.
    fn notified(id: &str, source: Source, application: &str, group: &str) -> Decoded {
        Decoded::Act(Trigger {
            deployment_group: Some(DeploymentGroupName {
                application: application.into(),
                deployment_group: group.into(),
            }),
            ..match act(id, source) {
                Decoded::Act(trigger) => trigger,
                Decoded::Ignore { .. } => unreachable!(),
            }
        })
    }

    #[test]
    fn lifecycle_hook_invocation_carries_its_execution_id() {
        let got = decode(json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "abc=="}))
            .unwrap();
        assert_eq!(
            got,
            vec![Decoded::Act(Trigger {
                deployment_id: "d-1".into(),
                source: Source::LifecycleHook,
                hook_execution_id: Some("abc==".into()),
                deployment_group: None,
            })]
        );
    }

    #[test]
    fn direct_invocation_accepts_any_non_empty_deployment_id() {
        let got = decode(json!({"DeploymentId": "6f1c-moto-uuid"})).unwrap();
        assert_eq!(got, vec![act("6f1c-moto-uuid", Source::Direct)]);
    }

    #[test]
    fn empty_or_non_string_deployment_id_is_invalid() {
        for bad in [
            json!(""),
            json!("  \t"),
            json!(42),
            json!(null),
            json!(["d-1"]),
        ] {
            let err = decode(json!({ "DeploymentId": bad })).unwrap_err();
            assert!(
                matches!(err, EventError::InvalidField { ref field, .. } if field == "DeploymentId"),
                "{err}"
            );
        }
    }

    #[test]
    fn empty_hook_execution_id_is_invalid() {
        let err = decode(json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": ""}))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "LifecycleEventHookExecutionId must be a non-empty string, got an empty string"
        );
    }

    #[test]
    fn sns_succeeded_acts_case_insensitively() {
        for status in ["SUCCEEDED", "Succeeded", "succeeded"] {
            let got = decode(sns_envelope(&[&live_trigger(status)])).unwrap();
            assert_eq!(
                got,
                vec![notified("d-ABC", Source::SnsTrigger, "web", "web-dg")]
            );
        }
    }

    #[test]
    fn sns_documentation_shape_with_object_overview_is_read() {
        let message = json!({"deploymentId": "d-DOC", "status": "Succeeded",
            "deploymentOverview": {"Succeeded": "1", "Failed": "0"}})
        .to_string();
        assert_eq!(
            decode(sns_envelope(&[&message])).unwrap(),
            vec![act("d-DOC", Source::SnsTrigger)]
        );
    }

    #[test]
    fn sns_other_statuses_are_ignored_and_ready_says_why() {
        for status in ["CREATED", "READY", "FAILED", "STOPPED", "Failed"] {
            let got = decode(sns_envelope(&[&live_trigger(status)])).unwrap();
            let [Decoded::Ignore {
                reason,
                deployment_id,
                ..
            }] = got.as_slice()
            else {
                panic!("{status} should be ignored: {got:?}");
            };
            assert_eq!(deployment_id.as_deref(), Some("d-ABC"));
            assert!(reason.contains(status));
            if status == "READY" {
                assert!(reason.contains("traffic has not been rerouted"), "{reason}");
            }
        }
    }

    #[test]
    fn sns_instance_level_messages_are_ignored() {
        let message =
            json!({"instanceId": "i-0abc", "instanceStatus": "Succeeded", "deploymentId": "d-ABC",
            "lastUpdatedAt": "2026-11-25T10:00:00Z"})
            .to_string();
        let got = decode(sns_envelope(&[&message])).unwrap();
        assert!(
            matches!(got.as_slice(), [Decoded::Ignore { reason, .. }] if reason.contains("instance-level"))
        );
    }

    #[test]
    fn sns_several_records_each_decode() {
        let got = decode(sns_envelope(&[
            &live_trigger("SUCCEEDED"),
            &live_trigger("READY"),
        ]))
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0],
            notified("d-ABC", Source::SnsTrigger, "web", "web-dg")
        );
        assert!(matches!(got[1], Decoded::Ignore { .. }));
    }

    #[test]
    fn sns_rejections_name_the_record_and_problem() {
        assert_eq!(
            decode(json!({"Records": []})).unwrap_err(),
            EventError::NoRecords
        );
        assert!(matches!(
            decode(sns_envelope(&["not json"])).unwrap_err(),
            EventError::SnsMessage { index: 0, .. }
        ));
        assert!(matches!(
            decode(sns_envelope(&["{\"hello\":1}"])).unwrap_err(),
            EventError::SnsMessage { index: 0, .. }
        ));
        let no_id = json!({"status": "SUCCEEDED"}).to_string();
        let err = decode(sns_envelope(&[&no_id])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Records[0].Sns.Message.deploymentId must be a non-empty string, got nothing"
        );
        assert!(matches!(
            decode(json!({"Records": [{"Sns": {}}]})).unwrap_err(),
            EventError::SnsEnvelope(_)
        ));
    }

    #[test]
    fn eventbridge_success_acts() {
        let got = decode(eventbridge(DEPLOYMENT_STATE_CHANGE, "SUCCESS")).unwrap();
        assert_eq!(
            got,
            vec![notified("d-ABC", Source::EventBridge, "web", "web-dg")]
        );
    }

    #[test]
    fn notifications_outside_the_deployment_group_pattern_are_ignored_naming_it() {
        let both = || {
            let mut decoded = decode(sns_envelope(&[&live_trigger("SUCCEEDED")])).unwrap();
            decoded.extend(decode(eventbridge(DEPLOYMENT_STATE_CHANGE, "SUCCESS")).unwrap());
            decoded.extend(
                decode(json!({"DeploymentId": "d-HOOK", "LifecycleEventHookExecutionId": "x"}))
                    .unwrap(),
            );
            decoded
        };
        // Inside: unchanged.
        for pattern in ["*", "web/*", "web/web-*", "*/web-dg"] {
            assert_eq!(scoped(both(), pattern), both(), "{pattern}");
        }
        let got = scoped(both(), "shop/*");
        for (item, source) in got[..2]
            .iter()
            .zip([Source::SnsTrigger, Source::EventBridge])
        {
            let Decoded::Ignore {
                source: ignored,
                deployment_id,
                reason,
            } = item
            else {
                panic!("{item:?} is outside shop/*");
            };
            assert_eq!(
                (*ignored, deployment_id.as_deref()),
                (source, Some("d-ABC"))
            );
            assert!(
                reason.contains("web/web-dg is outside DeploymentGroupPattern (shop/*)"),
                "{reason}"
            );
        }
        // A lifecycle hook names no deployment group: AWS judges it (GetDeployment).
        assert!(matches!(&got[2], Decoded::Act(t) if t.deployment_id == "d-HOOK"));
    }

    #[test]
    fn eventbridge_other_states_and_instance_events_are_ignored() {
        for state in ["START", "READY", "FAILURE", "STOP"] {
            let got = decode(eventbridge(DEPLOYMENT_STATE_CHANGE, state)).unwrap();
            assert!(
                matches!(got.as_slice(), [Decoded::Ignore { reason, .. }] if reason.contains(state)),
                "{state}"
            );
        }
        let got = decode(eventbridge(INSTANCE_STATE_CHANGE, "SUCCESS")).unwrap();
        assert!(
            matches!(got.as_slice(), [Decoded::Ignore { reason, .. }] if reason.contains("instance state-change"))
        );
    }

    #[test]
    fn eventbridge_from_another_source_is_rejected() {
        let mut event = eventbridge(DEPLOYMENT_STATE_CHANGE, "SUCCESS");
        event["source"] = json!("aws.ec2");
        assert_eq!(
            decode(event).unwrap_err(),
            EventError::EventBridgeSource("aws.ec2".into())
        );
    }

    #[test]
    fn eventbridge_success_without_deployment_id_is_rejected() {
        let mut event = eventbridge(DEPLOYMENT_STATE_CHANGE, "SUCCESS");
        event["detail"]["deploymentId"] = json!(7);
        assert_eq!(
            decode(event).unwrap_err().to_string(),
            "detail.deploymentId must be a non-empty string, got a number"
        );
    }

    #[test]
    fn unknown_shapes_say_what_was_expected() {
        let err = decode(json!({"foo": 1, "bar": 2})).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unrecognised event with keys [bar, foo]; expected"),
            "{err}"
        );
        assert!(matches!(
            decode(json!([1])).unwrap_err(),
            EventError::NotAnObject("an array")
        ));
        assert!(matches!(
            request_bytes(b"{").unwrap_err(),
            EventError::NotJson(_)
        ));
    }

    #[test]
    fn a_scheduled_event_asks_for_the_audit_and_nothing_else_does() {
        let scheduled = json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": "2026-11-27T10:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/audit"], "detail": {}
        });
        assert_eq!(request(scheduled.clone()), Ok(Request::ScheduledAudit));
        let mut other_source = scheduled.clone();
        other_source["source"] = json!("aws.ec2");
        assert!(request(other_source).is_err(), "not ours: still an error");
        let mut other_type = scheduled;
        other_type["detail-type"] = json!("Something Else");
        assert!(request(other_type).is_err());
        assert_eq!(
            request(json!({"DeploymentId": "d-1A2B3C4D5"})),
            decode(json!({"DeploymentId": "d-1A2B3C4D5"})).map(Request::Deployments)
        );
    }
}
