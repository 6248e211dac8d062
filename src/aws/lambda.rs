//! Lambda, for `doctor` only: a function's configuration and who its resource policy lets
//! invoke it.

use std::collections::BTreeMap;

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::Client;
use serde_json::Value;

use super::AwsError;

/// A function as `GetFunctionConfiguration` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfiguration {
    pub arn: String,
    /// The execution role's ARN.
    pub role: String,
    pub timeout_seconds: u32,
    pub environment: BTreeMap<String, String>,
}

/// One allowed invoker in a function's resource policy: a service principal
/// (`sns.amazonaws.com`, `events.amazonaws.com`), and the source it is limited to, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoker {
    pub service: String,
    pub source_arn: Option<String>,
}

/// The function's configuration, or `None` when Lambda knows no such function.
pub async fn function_configuration(
    client: &Client,
    name: &str,
) -> Result<Option<FunctionConfiguration>, AwsError> {
    const ACTION: &str = "lambda:GetFunctionConfiguration";
    let output = match client
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        Ok(output) => output,
        Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => return Err(AwsError::from_sdk(ACTION, e)),
    };
    let (Some(arn), Some(role)) = (output.function_arn(), output.role()) else {
        return Err(AwsError::incomplete(
            ACTION,
            format!("answered without the FunctionArn or Role of {name}"),
        ));
    };
    Ok(Some(FunctionConfiguration {
        arn: arn.to_owned(),
        role: role.to_owned(),
        // Lambda answers every function's Timeout (3 s when none was set): an answer without
        // one is incomplete, never Lambda's default.
        timeout_seconds: output
            .timeout()
            .and_then(|t| u32::try_from(t).ok())
            .ok_or_else(|| {
                AwsError::incomplete(ACTION, format!("answered without the Timeout of {name}"))
            })?,
        environment: output
            .environment()
            .and_then(|e| e.variables())
            .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }))
}

/// The services the function's resource policy allows to invoke it (none when it has no policy:
/// Lambda answers `ResourceNotFoundException`).
pub async fn invokers(client: &Client, name: &str) -> Result<Vec<Invoker>, AwsError> {
    const ACTION: &str = "lambda:GetPolicy";
    let output = match client.get_policy().function_name(name).send().await {
        Ok(output) => output,
        Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(Vec::new()),
        Err(e) => return Err(AwsError::from_sdk(ACTION, e)),
    };
    // An answer without a policy, or one that is not a policy document, says nothing of who
    // may invoke: never "no invokers".
    let incomplete = |message: String| AwsError::incomplete(ACTION, message);
    let policy = output
        .policy()
        .ok_or_else(|| incomplete(format!("answered without the Policy of {name}")))?;
    invokers_in(policy).map_err(|why| incomplete(format!("the Policy of {name} {why}")))
}

/// The `Allow` statements for `lambda:InvokeFunction` with a service principal, from a policy
/// document (a JSON string inside GetPolicy's answer). Statements of other shapes (an account
/// principal, a `Deny`) are not invokers of ours and are left out. `Err`: not a policy document.
pub fn invokers_in(policy: &str) -> Result<Vec<Invoker>, String> {
    let document =
        serde_json::from_str::<Value>(policy).map_err(|e| format!("is not JSON ({e})"))?;
    let statements = match &document["Statement"] {
        Value::Array(items) => items.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        _ => return Err("has no Statement list".to_owned()),
    };
    let strings = |value: &Value| -> Vec<String> {
        match value {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let mut found = Vec::new();
    for statement in &statements {
        let allows_invoke = statement["Effect"] == "Allow"
            && strings(&statement["Action"])
                .iter()
                .any(|a| a == super::actions::INVOKE_FUNCTION || a == "lambda:*" || a == "*");
        if !allows_invoke {
            continue;
        }
        // ArnLike or ArnEquals on aws:SourceArn (condition keys are case-insensitive).
        let source_arn = statement["Condition"].as_object().and_then(|operators| {
            operators.values().find_map(|keys| {
                keys.as_object()?.iter().find_map(|(key, value)| {
                    key.eq_ignore_ascii_case("aws:SourceArn")
                        .then(|| strings(value).into_iter().next())
                        .flatten()
                })
            })
        });
        for service in strings(&statement["Principal"]["Service"]) {
            found.push(Invoker {
                service,
                source_arn: source_arn.clone(),
            });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::stub::{Answer, Stub};

    /// An answer that leaves out what doctor reads is an incomplete answer naming the call,
    /// never Lambda's default timeout or "no invokers".
    #[tokio::test]
    async fn answers_without_the_timeout_or_the_policy_are_incomplete() {
        let stub = Stub::default();
        stub.always(
            "GetFunctionConfiguration",
            Answer::Ok(
                r#"{"FunctionName":"f","FunctionArn":"arn:aws:lambda:us-east-1:1:function:f","Role":"arn:aws:iam::1:role/r"}"#.into(),
            ),
        );
        let clients = stub.clients().await;
        let error = function_configuration(clients.lambda(), "f")
            .await
            .unwrap_err();
        assert_eq!(
            (error.action, error.code.as_str()),
            ("lambda:GetFunctionConfiguration", "IncompleteAnswer")
        );
        assert!(
            error.message.contains("without the Timeout of f"),
            "{error}"
        );

        // Without Policy, the answer check (aws::answers) refuses it before this module sees it.
        for (policy, code, says) in [
            (r#"{"RevisionId":"1"}"#, "MalformedAnswer", "Policy"),
            (
                r#"{"Policy":"not a document"}"#,
                "IncompleteAnswer",
                "the Policy of f is not JSON",
            ),
        ] {
            let stub = Stub::default();
            stub.always("GetPolicy", Answer::Ok(policy.into()));
            let clients = stub.clients().await;
            let error = invokers(clients.lambda(), "f").await.unwrap_err();
            assert_eq!(
                (error.action, error.code.as_str()),
                ("lambda:GetPolicy", code)
            );
            assert!(error.message.contains(says), "{error}");
        }
    }

    #[test]
    fn a_policy_names_its_service_invokers_and_their_sources() {
        let policy = r#"{"Version":"2012-10-17","Id":"default","Statement":[
            {"Sid":"sns","Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"lambda:InvokeFunction",
             "Resource":"arn:aws:lambda:us-east-1:1:function:f","Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:sns:us-east-1:1:deployments"}}},
            {"Sid":"rule","Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":["lambda:InvokeFunction"],
             "Resource":"arn:aws:lambda:us-east-1:1:function:f","Condition":{"ArnEquals":{"aws:sourcearn":"arn:aws:events:us-east-1:1:rule/r"}}},
            {"Sid":"deny","Effect":"Deny","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"*"},
            {"Sid":"account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::2:root"},"Action":"lambda:InvokeFunction","Resource":"*"}]}"#;
        assert_eq!(
            invokers_in(policy).unwrap(),
            vec![
                Invoker {
                    service: "sns.amazonaws.com".into(),
                    source_arn: Some("arn:aws:sns:us-east-1:1:deployments".into())
                },
                Invoker {
                    service: "events.amazonaws.com".into(),
                    source_arn: Some("arn:aws:events:us-east-1:1:rule/r".into())
                },
            ]
        );
        assert!(invokers_in("not json")
            .unwrap_err()
            .starts_with("is not JSON"));
        assert_eq!(
            invokers_in(r#"{"Statement": 3}"#).unwrap_err(),
            "has no Statement list"
        );
    }
}
