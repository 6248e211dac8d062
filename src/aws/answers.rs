//! Whether a success answer is AWS's answer to the call: a body of the call's shape, with the
//! fields AWS always sends. One that is not (a proxy's page, an endpoint that is not AWS, a cut
//! connection) fails its attempt as `MalformedAnswer` and is retried, never read as data.

/// An answer with a success status that is not AWS's answer to the call: an HTML page, an empty
/// or cut-short body, a body of another shape, or one without a field AWS always sends. The
/// attempt watcher fails the attempt with it; `retry::RetryByCause` has it retried a few times in
/// a row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{action} answered {}, {NOT_AWS_S_ANSWER}", self.seen())]
pub struct MalformedAnswer {
    pub action: String,
    pub status: u16,
    pub problem: String,
    /// Where the call went, when known.
    pub endpoint: Option<String>,
    /// This call's `retry::UNUSABLE_IN_A_ROW`th answer in a row that was not AWS's: not retried
    /// again.
    pub last_chance: bool,
}

/// What an answer that is not AWS's is, after what was seen of it.
pub const NOT_AWS_S_ANSWER: &str =
    "not AWS's answer (a proxy, an endpoint that is not AWS, or a cut connection)";

impl MalformedAnswer {
    /// What was seen: "HTTP 200 with an HTML page".
    pub fn seen(&self) -> String {
        format!("HTTP {} with {}", self.status, self.problem)
    }
}

/// The fields AWS always sends in a success answer of these JSON calls (`a.b`: field `b` of
/// object `a`): one that is missing is a malformed answer, never "no deployment", "no targets" or
/// a deployment of no status. Per the API references' response syntax: CodeDeploy's
/// [DeploymentInfo](https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentInfo.html)
/// of an existing deployment has its id, application, deployment group and status; Lambda's
/// [GetFunctionConfiguration](https://docs.aws.amazon.com/lambda/latest/api/API_GetFunctionConfiguration.html)
/// its `FunctionArn` and `Role`, [GetPolicy](https://docs.aws.amazon.com/lambda/latest/api/API_GetPolicy.html)
/// its `Policy`.
fn required_fields(operation: &str) -> &'static [&'static str] {
    match operation {
        "GetDeployment" => &[
            "deploymentInfo",
            "deploymentInfo.deploymentId",
            "deploymentInfo.applicationName",
            "deploymentInfo.deploymentGroupName",
            "deploymentInfo.status",
        ],
        "GetFunctionConfiguration" => &["FunctionArn", "Role"],
        "GetPolicy" => &["Policy"],
        "GetDeploymentGroup" => &["deploymentGroupInfo"],
        "ListDeploymentTargets" => &["targetIds"],
        "ListDeployments" => &["deployments"],
        "BatchGetDeploymentTargets" => &["deploymentTargets"],
        "PutLifecycleEventHookExecutionStatus" => &["lifecycleEventHookExecutionId"],
        _ => &[],
    }
}

/// What is wrong with a success answer's body, or `None` when it is the call's answer in shape:
/// for a JSON protocol call (CodeDeploy) a JSON object with the fields AWS always sends; for a
/// query protocol call (Auto Scaling, Elastic Load Balancing) a whole `<{Operation}Response>`
/// document.
pub fn answer_problem(
    operation: &str,
    json: bool,
    content_type: Option<&str>,
    body: &[u8],
) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Some("an empty body".to_owned());
    }
    let lower = trimmed
        .get(..trimmed.len().min(64))
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.is_some_and(|c| c.to_ascii_lowercase().contains("text/html"))
        || lower.starts_with("<!doctype html")
        || lower.starts_with("<html")
    {
        return Some("an HTML page".to_owned());
    }
    if json {
        let value: serde_json::Value = match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(e) if e.is_eof() => {
                return Some(format!("half an answer (its JSON ends early: {e})"))
            }
            Err(e) => return Some(format!("a body that is not JSON ({e})")),
        };
        if !value.is_object() {
            return Some("JSON that is not an object".to_owned());
        }
        let present = |path: &str| {
            let mut value = Some(&value);
            for key in path.split('.') {
                value = value.and_then(|v| v.get(key)).filter(|v| !v.is_null());
            }
            value.is_some()
        };
        let missing: Vec<&str> = required_fields(operation)
            .iter()
            .copied()
            .filter(|field| !present(field))
            .collect();
        return (!missing.is_empty()).then(|| format!("no {}", missing.join(", ")));
    }
    // Query protocol: the document is the call's own response element, whole.
    let document = match trimmed.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, d)| d.trim_start()),
        None => trimmed,
    };
    let root = format!("<{operation}Response");
    if !document.starts_with(&root) {
        let first: String = document.chars().take(40).collect();
        return Some(format!("a body of another shape (it begins {first:?})"));
    }
    if !document.ends_with(&format!("</{operation}Response>")) {
        return Some("half an answer (the document is cut short)".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_answer_must_be_an_object_with_the_fields_aws_always_sends() {
        let json = |op: &str, body: &str| {
            answer_problem(
                op,
                true,
                Some("application/x-amz-json-1.1"),
                body.as_bytes(),
            )
        };
        assert_eq!(json("ListDeploymentTargets", r#"{"targetIds": []}"#), None);
        assert_eq!(
            json("ListDeploymentTargets", "{}").as_deref(),
            Some("no targetIds")
        );
        assert_eq!(
            json("BatchGetDeploymentTargets", r#"{"items": [1]}"#).as_deref(),
            Some("no deploymentTargets")
        );
        // An empty list of active deployments must be said, not left out: it guards the fleet.
        assert_eq!(json("ListDeployments", r#"{"deployments": []}"#), None);
        assert_eq!(
            json("ListDeployments", "{}").as_deref(),
            Some("no deployments")
        );
        // A deployment without its status is not AWS's answer: never "a deployment of no status".
        assert_eq!(
            json(
                "GetDeployment",
                r#"{"deploymentInfo": {"deploymentId": "d-1", "applicationName": "a", "deploymentGroupName": "g"}}"#
            )
            .as_deref(),
            Some("no deploymentInfo.status")
        );
        assert_eq!(
            json(
                "GetDeployment",
                r#"{"deploymentInfo": {"deploymentId": "d-1", "applicationName": "a", "deploymentGroupName": "g", "status": null}}"#
            )
            .as_deref(),
            Some("no deploymentInfo.status")
        );
        assert_eq!(
            json("GetFunctionConfiguration", r#"{"FunctionArn": "x"}"#).as_deref(),
            Some("no Role")
        );
        assert_eq!(json("GetDeployment", "").as_deref(), Some("an empty body"));
        assert!(json("GetDeployment", r#"{"deploymentInfo": {"dep"#)
            .unwrap()
            .starts_with("half an answer"));
        assert!(json("GetDeployment", "\u{0}\u{1} garbage")
            .unwrap()
            .starts_with("a body that is not JSON"));
        assert_eq!(
            json("GetDeployment", "[1, 2]").as_deref(),
            Some("JSON that is not an object")
        );
        // A call without required fields needs only an object.
        assert_eq!(json("UnknownCall", "{}"), None);
    }

    #[test]
    fn a_query_answer_must_be_the_calls_whole_response_document() {
        let xml = |body: &str| {
            answer_problem(
                "DescribeTrafficSources",
                false,
                Some("text/xml"),
                body.as_bytes(),
            )
        };
        assert_eq!(
            xml("<?xml version=\"1.0\"?>\n<DescribeTrafficSourcesResponse xmlns=\"x\"><R/></DescribeTrafficSourcesResponse>\n"),
            None
        );
        assert_eq!(
            xml("<DescribeTrafficSourcesResponse><DescribeTrafficSourcesResult><TrafficSources><member>")
                .as_deref(),
            Some("half an answer (the document is cut short)")
        );
        assert!(xml("<OtherResponse/>")
            .unwrap()
            .starts_with("a body of another shape"));
        assert_eq!(
            xml("<!DOCTYPE html><html><body>Gateway</body></html>").as_deref(),
            Some("an HTML page")
        );
        assert_eq!(
            answer_problem("DescribeTrafficSources", false, Some("text/html"), b"<x/>").as_deref(),
            Some("an HTML page")
        );
        assert_eq!(xml("  \n").as_deref(), Some("an empty body"));
    }
}
