//! Property tests over the event decoder: no input makes it panic, and every rejection says what
//! was wrong. Runs without AWS; the case counts are the figures in the README.

use codedeploy_tg_hook::event::{decode, Decoded, EventError};
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
            let message = e.to_string();
            assert!(message.len() > 10, "rejection says too little: {message:?}");
            if let EventError::InvalidField { field, .. } = &e {
                assert!(message.contains(field.as_str()), "{message}");
            }
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
        check(decode_bytes(&bytes));
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

/// Raw bytes as the Lambda and `handle` decode them: JSON, then the event shapes.
fn decode_bytes(bytes: &[u8]) -> Result<Vec<Decoded>, EventError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| EventError::NotJson(e.to_string()))?;
    decode(value)
}
