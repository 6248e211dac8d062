//! EC2, for `doctor` alone (feature `launch-templates`): the instance profile a launch template
//! version gives its instances. The function never calls EC2.

use aws_sdk_ec2::Client;

use super::autoscaling::LaunchTemplate;
use super::AwsError;

const ACTION: &str = "ec2:DescribeLaunchTemplateVersions";

/// The instance profile (ARN or name) the launch template's version gives its instances:
/// `Ok(None)` when it gives none. The version is the group's own: EC2's
/// DescribeLaunchTemplateVersions takes `$Latest`, `$Default` or a number as it is (EC2 API
/// reference: "for `--versions` specify one or more of the following values: `$Latest`,
/// `$Default`, or one or more version numbers"). A template or version EC2 does not know is
/// the error EC2 answered, naming them.
pub async fn launch_template_profile(
    client: &Client,
    template: &LaunchTemplate,
) -> Result<Option<String>, AwsError> {
    // By id when the group gives it (a name can be reused after a delete; the id cannot).
    let request = match (&template.id, &template.name) {
        (Some(id), _) => client
            .describe_launch_template_versions()
            .launch_template_id(id),
        (None, Some(name)) => client
            .describe_launch_template_versions()
            .launch_template_name(name),
        (None, None) => {
            return Err(AwsError {
                action: ACTION,
                code: "NoTemplate".into(),
                message: "the group names its launch template by neither id nor name".into(),
            })
        }
    };
    let output = request
        .versions(&template.version)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(ACTION, e))?;
    let incomplete = |what: &str| AwsError {
        action: ACTION,
        code: "IncompleteAnswer".into(),
        message: format!(
            "answered {what} for launch template {} version {}",
            template.shown(),
            template.version
        ),
    };
    // One version asked for, one answered; its data is what the instances launch with (an
    // answer without it says nothing of the profile: not "no profile").
    let [version] = output.launch_template_versions() else {
        return Err(incomplete(&format!(
            "{} versions",
            output.launch_template_versions().len()
        )));
    };
    // An answer for another template or another numbered version is not this one's.
    let asked_number = template.version.parse::<i64>().ok();
    if template
        .id
        .as_deref()
        .is_some_and(|id| version.launch_template_id() != Some(id))
        || asked_number.is_some_and(|n| version.version_number() != Some(n))
    {
        return Err(incomplete(&format!(
            "template {} version {}",
            version.launch_template_id().unwrap_or("(none)"),
            version
                .version_number()
                .map_or("(none)".to_owned(), |n| n.to_string())
        )));
    }
    let data = version
        .launch_template_data()
        .ok_or_else(|| incomplete("without LaunchTemplateData"))?;
    Ok(data.iam_instance_profile().and_then(|p| {
        p.arn()
            .filter(|a| !a.is_empty())
            .or(p.name().filter(|n| !n.is_empty()))
            .map(str::to_owned)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::stub::{Answer, Stub};

    fn template() -> LaunchTemplate {
        LaunchTemplate {
            id: Some("lt-0abc".into()),
            name: Some("web".into()),
            version: "$Latest".into(),
        }
    }

    fn answer(versions: &str) -> Answer {
        Answer::Ok(format!(
            "<DescribeLaunchTemplateVersionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><launchTemplateVersionSet>{versions}</launchTemplateVersionSet></DescribeLaunchTemplateVersionsResponse>"
        ))
    }

    /// A version answered without its data says nothing of the profile; no version at all is
    /// not the template's: both incomplete, never "no instance profile".
    #[tokio::test]
    async fn an_answer_without_the_version_s_data_is_incomplete_not_no_profile() {
        for (versions, said) in [
            (
                "<item><launchTemplateId>lt-0abc</launchTemplateId><versionNumber>3</versionNumber></item>",
                "without LaunchTemplateData for launch template web version $Latest",
            ),
            ("", "0 versions for launch template web version $Latest"),
            (
                "<item><launchTemplateId>lt-0other</launchTemplateId><versionNumber>3</versionNumber><launchTemplateData/></item>",
                "template lt-0other version 3 for launch template web version $Latest",
            ),
        ] {
            let stub = Stub::default();
            stub.always("DescribeLaunchTemplateVersions", answer(versions));
            let clients = stub.clients().await;
            let error = launch_template_profile(clients.ec2(), &template())
                .await
                .unwrap_err();
            assert_eq!((error.action, error.code.as_str()), (ACTION, "IncompleteAnswer"));
            assert!(error.message.contains(said), "{error}");
        }
    }

    #[tokio::test]
    async fn a_numbered_version_answered_with_another_number_is_incomplete() {
        let stub = Stub::default();
        stub.always(
            "DescribeLaunchTemplateVersions",
            answer("<item><launchTemplateId>lt-0abc</launchTemplateId><versionNumber>4</versionNumber><launchTemplateData/></item>"),
        );
        let clients = stub.clients().await;
        let asked = LaunchTemplate {
            version: "3".into(),
            ..template()
        };
        let error = launch_template_profile(clients.ec2(), &asked)
            .await
            .unwrap_err();
        assert_eq!(error.code, "IncompleteAnswer");
        assert!(
            error
                .message
                .contains("answered template lt-0abc version 4 for launch template web version 3"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn the_profile_is_its_arn_else_its_name_and_none_without_one() {
        for (data, profile) in [
            (
                "<iamInstanceProfile><arn>arn:aws:iam::123456789012:instance-profile/web</arn><name>web</name></iamInstanceProfile>",
                Some("arn:aws:iam::123456789012:instance-profile/web"),
            ),
            ("<iamInstanceProfile><name>web</name></iamInstanceProfile>", Some("web")),
            ("<imageId>ami-1</imageId>", None),
        ] {
            let stub = Stub::default();
            stub.always(
                "DescribeLaunchTemplateVersions",
                answer(&format!(
                    "<item><launchTemplateId>lt-0abc</launchTemplateId><versionNumber>3</versionNumber><launchTemplateData>{data}</launchTemplateData></item>"
                )),
            );
            let clients = stub.clients().await;
            let found = launch_template_profile(clients.ec2(), &template())
                .await
                .unwrap();
            assert_eq!(found.as_deref(), profile);
        }
    }
}
