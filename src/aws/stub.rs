//! AWS's endpoints stood in for inside the process, for tests of deadlines, windows and retries
//! under tokio's paused clock (no socket, so no real time passes): each call is answered as the
//! test says for its operation, at once, after a (virtual) while, or never; every call is kept
//! with the virtual time it arrived. Behaviour against the real wire is the emulator's job
//! (tests/); this only makes time exact.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use tokio::time::Instant;

use super::Clients;

/// How one call is answered.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with this body (JSON for CodeDeploy, the query protocol's XML for the others).
    Ok(String),
    /// An AWS error: the status and the error code, in the operation's protocol.
    Error(u16, &'static str),
    /// No answer, ever (the attempt timeout ends each attempt).
    Hang,
    /// This answer, after a while.
    After(Duration, Box<Answer>),
}

type Rule = Arc<dyn Fn(usize) -> Answer + Send + Sync>;

/// The stand-in: rules by operation name, and the calls it received.
#[derive(Clone, Default)]
pub struct Stub {
    rules: Arc<Mutex<HashMap<String, Rule>>>,
    calls: Arc<Mutex<Vec<(String, Instant)>>>,
}

impl std::fmt::Debug for Stub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stub")
    }
}

impl Stub {
    /// Answers the `n`th call (from 0) of `operation` with `rule(n)`.
    pub fn on(
        &self,
        operation: &str,
        rule: impl Fn(usize) -> Answer + Send + Sync + 'static,
    ) -> &Self {
        self.rules
            .lock()
            .unwrap()
            .insert(operation.to_owned(), Arc::new(rule));
        self
    }

    /// Every call of `operation` answered the same.
    pub fn always(&self, operation: &str, answer: Answer) -> &Self {
        self.on(operation, move |_| answer.clone())
    }

    /// The operations called, with when, in order.
    pub fn calls(&self) -> Vec<(String, Instant)> {
        self.calls.lock().unwrap().clone()
    }

    /// How many calls `operation` got.
    pub fn count(&self, operation: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(o, _)| o == operation)
            .count()
    }

    /// Clients with the product's retry and timeout policy, talking to this stand-in.
    pub async fn clients(&self) -> Clients {
        let config = super::config_loader(&super::ClientSettings::default(), false)
            .http_client(SharedHttpClient::new(self.clone()))
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_codedeploy::config::Credentials::new(
                "testing", "testing", None, None, "stub",
            ))
            .behavior_version(BehaviorVersion::latest())
            .load()
            .await;
        Clients::from_config(&config)
    }

    fn answer(&self, request: &HttpRequest) -> (bool, Answer) {
        let (json, operation) = operation_of(request);
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.iter().filter(|(o, _)| *o == operation).count();
            calls.push((operation.clone(), Instant::now()));
            n
        };
        let rule = self.rules.lock().unwrap().get(&operation).cloned();
        let answer = match rule {
            Some(rule) => rule(n),
            None => Answer::Error(400, "UnexpectedCallInTest"),
        };
        (json, answer)
    }
}

/// Whether the call is a JSON protocol one (CodeDeploy; Lambda's REST calls), and its
/// operation's name.
fn operation_of(request: &HttpRequest) -> (bool, String) {
    let path = request.uri().split('?').next().unwrap_or_default();
    if path.contains("/2015-03-31/functions/") {
        let operation = match path.rsplit('/').next() {
            Some("configuration") => "GetFunctionConfiguration",
            Some("policy") => "GetPolicy",
            _ => "?",
        };
        return (true, operation.to_owned());
    }
    if let Some(target) = request.headers().get("x-amz-target") {
        let name = target.rsplit('.').next().unwrap_or(target);
        return (true, name.to_owned());
    }
    let body = request
        .body()
        .bytes()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let action = body
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or("?");
    (false, action.to_owned())
}

fn respond(json: bool, answer: Answer) -> HttpConnectorFuture {
    HttpConnectorFuture::new(async move {
        let mut answer = answer;
        loop {
            match answer {
                Answer::After(pause, then) => {
                    tokio::time::sleep(pause).await;
                    answer = *then;
                }
                Answer::Hang => std::future::pending::<()>().await,
                Answer::Ok(body) => return Ok(response(200, json, body)),
                Answer::Error(status, code) => {
                    let body = if json {
                        format!(r#"{{"__type":"{code}","message":"{code} from the stub"}}"#)
                    } else {
                        format!(
                            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{code} from the stub</Message></Error><RequestId>stub</RequestId></ErrorResponse>"
                        )
                    };
                    return Ok(response(status, json, body));
                }
            }
        }
    })
}

fn response(status: u16, json: bool, body: String) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).expect("a status code"),
        SdkBody::from(body),
    );
    response.headers_mut().insert(
        "content-type",
        if json {
            "application/x-amz-json-1.1"
        } else {
            "text/xml"
        },
    );
    response
        .headers_mut()
        .insert("x-amzn-requestid", "stub-request");
    response
}

impl HttpConnector for Stub {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (json, answer) = self.answer(&request);
        respond(json, answer)
    }
}

impl HttpClient for Stub {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// GetDeployment's answer for a blue/green deployment with two target groups, `status`.
pub fn deployment(id: &str, status: &str) -> Answer {
    Answer::Ok(format!(
        r#"{{"deploymentInfo":{{"deploymentId":"{id}","applicationName":"web","deploymentGroupName":"web-dg","status":"{status}","computePlatform":"Server","creator":"user","deploymentStyle":{{"deploymentType":"BLUE_GREEN","deploymentOption":"WITH_TRAFFIC_CONTROL"}},"blueGreenDeploymentConfiguration":{{"greenFleetProvisioningOption":{{"action":"COPY_AUTO_SCALING_GROUP"}}}},"loadBalancerInfo":{{"targetGroupInfoList":[{{"name":"tg-a"}}]}}}}}}"#
    ))
}

/// GetDeployment's answer for an in-place deployment: skipped at once, nothing else read.
pub fn in_place_deployment(id: &str) -> Answer {
    Answer::Ok(format!(
        r#"{{"deploymentInfo":{{"deploymentId":"{id}","applicationName":"web","deploymentGroupName":"web-dg","status":"InProgress","computePlatform":"Server","creator":"user","deploymentStyle":{{"deploymentType":"IN_PLACE","deploymentOption":"WITHOUT_TRAFFIC_CONTROL"}}}}}}"#
    ))
}

/// PutLifecycleEventHookExecutionStatus accepted.
pub fn hook_status_accepted() -> Answer {
    Answer::Ok(r#"{"lifecycleEventHookExecutionId":"exec-1"}"#.to_owned())
}

/// DescribeTrafficSources listing these target groups (by ARN) in `state`.
pub fn traffic_sources(sources: &[(&str, &str)]) -> Answer {
    let members: String = sources
        .iter()
        .map(|(arn, state)| {
            format!(
                "<member><TrafficSource>{arn}</TrafficSource><State>{state}</State><Identifier>{arn}</Identifier><Type>elbv2</Type></member>"
            )
        })
        .collect();
    Answer::Ok(format!(
        "<DescribeTrafficSourcesResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\"><DescribeTrafficSourcesResult><TrafficSources>{members}</TrafficSources></DescribeTrafficSourcesResult><ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></DescribeTrafficSourcesResponse>"
    ))
}
