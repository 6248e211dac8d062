//! The event decoder's unit tests.

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
    let got =
        decode(json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "abc=="})).unwrap();
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
    let err =
        decode(json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": ""})).unwrap_err();
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
