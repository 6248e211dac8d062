//! Property tests over the event decoder: no input makes it panic, and every rejection says what
//! was wrong. Runs without AWS; the case counts are the figures in the README.

use codedeploy_tg_hook::event::{decode, request_bytes, Decoded, EventError, Request};
use proptest::prelude::*;
use serde_json::{json, Value};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("DeploymentId"),
            Just("LifecycleEventHookExecutionId"),
            Just("SUCCEEDED"),
            Just("READY"),
            Just("SUCCESS"),
            Just("aws.codedeploy"),
            Just("CodeDeploy Deployment State-change Notification"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("DeploymentId".to_owned()),
            Just("LifecycleEventHookExecutionId".to_owned()),
            Just("Records".to_owned()),
            Just("Sns".to_owned()),
            Just("Message".to_owned()),
            Just("detail-type".to_owned()),
            Just("source".to_owned()),
            Just("detail".to_owned()),
            Just("deploymentId".to_owned()),
            Just("status".to_owned()),
            Just("state".to_owned()),
            "[a-zA-Z]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Complete, valid envelopes to mutate (as Lambda delivers them).
fn envelopes() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events");
    [
        "lifecycle-hook",
        "direct",
        "sns",
        "sns-instance",
        "eventbridge",
        "eventbridge-instance",
    ]
    .iter()
    .map(|name| {
        let text = std::fs::read_to_string(dir.join(format!("{name}.template.json"))).unwrap();
        serde_json::from_str(
            &text
                .replace("{{DEPLOYMENT_ID}}", "d-ABC")
                .replace("{{STATUS}}", "SUCCEEDED"),
        )
        .unwrap()
    })
    .collect()
}

/// Replaces the value at one path (chosen by `pick`) with `replacement`.
fn mutate(value: &mut Value, mut pick: usize, replacement: Value) {
    let mut cursor = value;
    loop {
        let children: usize = match cursor {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        };
        if children == 0 || pick.is_multiple_of(3) {
            *cursor = replacement;
            return;
        }
        let index = pick % children;
        pick /= 3;
        cursor = match cursor {
            Value::Object(m) => m.values_mut().nth(index).unwrap(),
            Value::Array(a) => &mut a[index],
            _ => unreachable!(),
        };
    }
}

fn check(result: Result<Vec<Decoded>, EventError>) {
    match result {
        Ok(decoded) => {
            for d in decoded {
                if let Decoded::Act(trigger) = d {
                    assert!(
                        !trigger.deployment_id.is_empty(),
                        "acted on an empty deployment id"
                    );
                }
            }
        }
        Err(e) => {
            // Each rejection names what was wrong: its part of the message is there, and not
            // empty.
            let message = e.to_string();
            let (names, what): (String, &str) = match &e {
                EventError::NotJson(why) => ("event is not JSON: ".into(), why),
                EventError::NotAnObject(kind) => (format!("must be a JSON object, got {kind};"), kind),
                EventError::Unrecognised { keys } => (format!("unrecognised event with keys [{keys}]; expected"), "keys"),
                EventError::InvalidField { field, got } => (format!("{field} must be a non-empty string, got {got}"), field),
                EventError::SnsEnvelope(why) => ("SNS event envelope is malformed: ".into(), why),
                EventError::NoRecords => ("SNS event has no records".into(), "records"),
                EventError::SnsMessage { index, problem } => (
                    format!("SNS record {index}: Message is not a CodeDeploy trigger message: {problem}"),
                    problem,
                ),
                EventError::EventBridgeEnvelope(why) => ("EventBridge event envelope is malformed: ".into(), why),
                EventError::EventBridgeSource(source) => (format!("from source {source:?}, expected"), "source"),
            };
            assert!(
                message.contains(&names),
                "{message:?} does not say {names:?}"
            );
            assert!(
                !what.trim().is_empty(),
                "{e:?} says nothing of what was wrong: {message:?}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics_and_rejections_explain(value in any_json()) {
        check(decode(value));
    }

    #[test]
    fn mutated_real_envelopes_never_panic(which in 0usize..6, pick in any::<usize>(), replacement in any_json()) {
        let mut event = envelopes()[which].clone();
        mutate(&mut event, pick, replacement);
        check(decode(event));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check(deployments_of(request_bytes(&bytes)));
    }

    #[test]
    fn sns_message_text_of_any_shape_never_panics(message in ".{0,64}", json_message in any_json()) {
        for text in [message, json_message.to_string()] {
            let mut event = envelopes()[2].clone();
            event["Records"][0]["Sns"]["Message"] = Value::String(text);
            check(decode(event));
        }
    }
}

/// What `handle` acts on, decoded from raw bytes as it decodes them (`event::request_bytes`).
fn deployments_of(request: Result<Request, EventError>) -> Result<Vec<Decoded>, EventError> {
    request.map(|request| match request {
        Request::Deployments(decoded) => decoded,
        Request::ScheduledAudit => Vec::new(),
    })
}
