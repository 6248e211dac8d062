//! IAM, for `doctor` only: a role's decisions from IAM's own policy simulator, and the roles of
//! an instance profile.

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType};
use aws_sdk_iam::Client;

use super::AwsError;

/// IAM's evaluation of one action on one resource (`EvalDecision`), least restrictive first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Eval {
    Allowed,
    /// No statement allows it.
    ImplicitDeny,
    /// A Deny statement refuses it.
    ExplicitDeny,
}

impl Eval {
    /// IAM's own word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Eval::Allowed => "allowed",
            Eval::ImplicitDeny => "implicitDeny",
            Eval::ExplicitDeny => "explicitDeny",
        }
    }
}

/// IAM's answer for one action on one resource, as `SimulatePrincipalPolicy` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: String,
    pub resource: String,
    pub decision: Eval,
    /// Condition keys a statement needed that the request did not give: the decision, `allowed`
    /// included, is then only as far as IAM could tell without them
    /// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html).
    pub missing_context: Vec<String>,
    /// `Some(false)`: the role's permissions boundary does not allow the action.
    pub boundary_allows: Option<bool>,
    /// `Some(false)`: a service control policy does not allow the action.
    pub organizations_allow: Option<bool>,
}

/// What a role may do: `actions` on the one `resource` ("*" for actions with no resource type),
/// with `context` (condition keys and their values), every page. One resource a call, so each
/// result is that resource's (with several, AWS now answers one result per action carrying the
/// most restrictive decision: https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html).
/// IAM evaluates the role's identity policies, its permissions boundary and, in an organization,
/// the service control policies (same page).
pub async fn simulate(
    client: &Client,
    role_arn: &str,
    actions: &[&str],
    resource: &str,
    context: &[(&str, Vec<String>)],
) -> Result<Vec<Decision>, AwsError> {
    let context: Vec<ContextEntry> = context
        .iter()
        .map(|(key, values)| {
            ContextEntry::builder()
                .context_key_name(*key)
                .set_context_key_values(Some(values.clone()))
                .context_key_type(ContextKeyTypeEnum::StringList)
                .build()
        })
        .collect();
    let results: Vec<_> = client
        .simulate_principal_policy()
        .policy_source_arn(role_arn)
        .set_action_names(Some(actions.iter().map(|a| (*a).to_owned()).collect()))
        .resource_arns(resource)
        .set_context_entries((!context.is_empty()).then_some(context))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::from_sdk("iam:SimulatePrincipalPolicy", e))?;
    let decisions: Vec<Decision> = results
        .iter()
        .map(|result| {
            let decision = match result.eval_decision() {
                PolicyEvaluationDecisionType::Allowed => Eval::Allowed,
                PolicyEvaluationDecisionType::ImplicitDeny => Eval::ImplicitDeny,
                PolicyEvaluationDecisionType::ExplicitDeny => Eval::ExplicitDeny,
                other => {
                    return Err(AwsError::incomplete(
                        "iam:SimulatePrincipalPolicy",
                        format!(
                            "a decision doctor does not know for {}: {}",
                            result.eval_action_name(),
                            other.as_str()
                        ),
                    ))
                }
            };
            Ok(Decision {
                action: result.eval_action_name().to_owned(),
                resource: result.eval_resource_name().unwrap_or(resource).to_owned(),
                decision,
                missing_context: result.missing_context_values().to_vec(),
                boundary_allows: result
                    .permissions_boundary_decision_detail()
                    .map(|d| d.allowed_by_permissions_boundary()),
                organizations_allow: result
                    .organizations_decision_detail()
                    .map(|d| d.allowed_by_organizations()),
            })
        })
        .collect::<Result<_, _>>()?;
    // An answer without a decision for each action asked is not a whole answer: never "allowed".
    let unanswered: Vec<&str> = actions
        .iter()
        .copied()
        .filter(|action| {
            !decisions
                .iter()
                .any(|d| d.action.eq_ignore_ascii_case(action))
        })
        .collect();
    if !unanswered.is_empty() {
        return Err(AwsError::incomplete(
            "iam:SimulatePrincipalPolicy",
            format!("answered without a decision for {}", unanswered.join(", ")),
        ));
    }
    Ok(decisions)
}

/// The ARNs of the roles in an instance profile (given by name or ARN), or `None` when IAM
/// knows no such profile.
pub async fn instance_profile_roles(
    client: &Client,
    profile: &str,
) -> Result<Option<Vec<String>>, AwsError> {
    // An instance profile ARN ends in `instance-profile/<path><name>`; the call takes the name.
    let name = profile.rsplit('/').next().unwrap_or(profile);
    match client
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
    {
        // Without the profile, the answer says nothing of its roles: not "no role". (The SDK
        // fills a required member AWS left out with an empty one, so an empty name is the sign.)
        Ok(output) => match output
            .instance_profile()
            .filter(|p| !p.instance_profile_name().is_empty())
        {
            Some(p) => Ok(Some(p.roles().iter().map(|r| r.arn().to_owned()).collect())),
            None => Err(AwsError::incomplete(
                "iam:GetInstanceProfile",
                format!("answered without InstanceProfile for {name}"),
            )),
        },
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(AwsError::from_sdk("iam:GetInstanceProfile", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::stub::{Answer, Stub};

    /// GetInstanceProfile answered without the profile says nothing of its roles: an
    /// incomplete answer, not "holds no role".
    #[tokio::test]
    async fn an_instance_profile_answer_without_the_profile_is_incomplete() {
        let stub = Stub::default();
        stub.always(
            "GetInstanceProfile",
            Answer::Ok(
                "<GetInstanceProfileResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetInstanceProfileResult></GetInstanceProfileResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetInstanceProfileResponse>".into(),
            ),
        );
        let clients = stub.clients().await;
        let error = instance_profile_roles(clients.iam(), "web")
            .await
            .unwrap_err();
        assert_eq!(
            (error.action, error.code.as_str()),
            ("iam:GetInstanceProfile", "IncompleteAnswer")
        );
        assert!(
            error.message.contains("without InstanceProfile for web"),
            "{error}"
        );
    }
}
