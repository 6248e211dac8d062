//! `doctor`'s checks, unit by unit: a good setup holds; each single fault is one named problem.

use std::collections::BTreeMap;

use super::appspec::{Appspec, HookScript, ScriptFile};
use super::checklist;
use super::checks::*;
use super::questions::{function_simulations, Simulation};
use super::script::{Script, Unsettled};
use crate::aws::actions::{FUNCTION_ACTIONS, INVOKE_FUNCTION};
use crate::aws::autoscaling::{GroupSetup, LaunchSource, LaunchTemplate};
use crate::aws::codedeploy::DeploymentGroupSetup;
use crate::aws::iam::{Decision, Eval};
use crate::aws::lambda::{FunctionConfiguration, Invoker};
use crate::aws::AwsError;
use crate::plan::GroupState;

const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:codedeploy-tg-hook";
const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1";

fn allowed(simulations: &[Simulation]) -> Vec<Decision> {
    simulations
        .iter()
        .flat_map(|s| {
            s.actions.iter().map(|a| Decision {
                action: (*a).to_owned(),
                resource: s.resource.clone(),
                decision: Eval::Allowed,
                missing_context: Vec::new(),
                boundary_allows: None,
                organizations_allow: None,
            })
        })
        .collect()
}

fn function_simulations_here() -> Vec<Simulation> {
    function_simulations(
        FUNCTION_ARN,
        "web",
        "dg",
        &[TG.to_owned()],
        &["classic".to_owned()],
    )
}

fn good() -> Facts {
    let function = FunctionConfiguration {
        arn: FUNCTION_ARN.to_owned(),
        role: "arn:aws:iam::123456789012:role/hook".to_owned(),
        timeout_seconds: 60,
        environment: BTreeMap::from([("DEPLOYMENT_GROUP_PATTERN".to_owned(), "web/*".to_owned())]),
    };
    let invoke = Simulation {
        resource: FUNCTION_ARN.to_owned(),
        actions: vec![INVOKE_FUNCTION],
        context: Vec::new(),
    };
    Facts {
        application: "web".into(),
        deployment_group: "dg".into(),
        function_name: DEFAULT_FUNCTION_NAME.into(),
        function_untold: None,
        binary: false,
        setup: Lookup::Found(DeploymentGroupSetup {
            compute_platform: Some("Server".into()),
            deployment_type: Some("BLUE_GREEN".into()),
            deployment_option: Some("WITH_TRAFFIC_CONTROL".into()),
            green_fleet_action: Some("COPY_AUTO_SCALING_GROUP".into()),
            target_group_names: vec!["web".into()],
            load_balancer_names: vec!["classic".into()],
            auto_scaling_groups: vec!["blue".into()],
            deployment_config_name: Some("CodeDeployDefault.OneAtATime".into()),
            success_trigger_topics: Vec::new(),
        }),
        target_groups: Some(Ok((
            BTreeMap::from([("web".to_owned(), TG.to_owned())]),
            Vec::new(),
        ))),
        load_balancers: vec![("classic".into(), Ok(true))],
        original_groups: Some(Ok(vec![GroupSetup {
            state: GroupState {
                name: "blue".into(),
                target_group_arns: vec![TG.into()],
                load_balancer_names: vec!["classic".into()],
                ..GroupState::default()
            },
            arn: None,
            launch: LaunchSource::LaunchConfiguration("lc".into()),
        }])),
        function: Lookup::Found(function),
        invokers: Some(Ok(Vec::new())),
        audit_function: AuditFunctionRead::Missing,
        function_role: RoleCheck::Simulated(allowed(&function_simulations_here()).into()),
        instance_roles: vec![InstanceRole::Simulated {
            profile: "web".into(),
            source: ProfileSource::Groups(vec!["blue".into()]),
            roles: vec![(
                "arn:aws:iam::123456789012:role/web".into(),
                allowed(&[invoke]).into(),
            )],
        }],
        appspec: Some((
            "appspec.yml".into(),
            AppspecRead::Read(Ok(Appspec {
                hooks: vec![HookScript {
                    location: "scripts/after-allow-traffic.sh".into(),
                    timeout: Some(120),
                    script: ScriptFile::Read(Script {
                        shipped: true,
                        mode: Some("lambda".into()),
                        function_name: Some(DEFAULT_FUNCTION_NAME.into()),
                        read_timeout: Some(70),
                        connect_timeout: Some(5),
                        script_timeout: Some(100),
                        unsettled: Vec::new(),
                        crlf: false,
                        no_shebang: None,
                    }),
                }],
            })),
        )),
    }
}

fn problems(facts: &Facts) -> Vec<Check> {
    checklist(facts)
        .into_iter()
        .filter(|c| c.status == Status::Problem)
        .collect()
}

fn one_problem(facts: &Facts) -> String {
    let problems = problems(facts);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(problems[0].fix.is_some());
    problems[0].finding.clone()
}

#[test]
fn a_good_setup_holds_and_exits_0() {
    let checks = checklist(&good());
    assert!(
        checks.iter().all(|c| c.status <= Status::Info),
        "{checks:#?}"
    );
    assert_eq!(verdict(&checks), Verdict::Ready);
}

#[test]
fn the_simulations_cover_every_call_once_on_the_resource_its_type_names() {
    let simulations = function_simulations_here();
    let mut actions: Vec<&str> = simulations.iter().flat_map(|s| s.actions.clone()).collect();
    actions.sort_unstable();
    let mut expected: Vec<&str> = FUNCTION_ACTIONS.iter().map(|(a, _)| *a).collect();
    expected.sort_unstable();
    assert_eq!(actions, expected);
    let on = |action: &str| {
        simulations
            .iter()
            .find(|s| s.actions.contains(&action))
            .unwrap()
    };
    assert_eq!(on("codedeploy:ListDeploymentTargets").resource, "*");
    assert_eq!(
        on("codedeploy:GetDeployment").resource,
        "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:web/dg"
    );
    let attach = on("autoscaling:AttachTrafficSources");
    assert!(attach
        .resource
        .ends_with(":autoScalingGroupName/CodeDeploy_dg_d-EXAMPLE01"));
    assert_eq!(
        attach.context,
        vec![(
            "autoscaling:TrafficSourceIdentifiers",
            vec![TG.to_owned(), "classic".to_owned()]
        )]
    );
    assert_eq!(on("elasticloadbalancing:RegisterTargets").resource, TG);
    assert_eq!(
        on("elasticloadbalancing:RegisterInstancesWithLoadBalancer").resource,
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/classic"
    );
    assert!(function_simulations("not an arn", "web", "dg", &[], &[]).is_empty());
}

#[test]
fn each_denied_action_is_one_problem_with_the_fix_its_resource_type_needs() {
    let mut facts = good();
    let mut decisions = allowed(&function_simulations_here());
    for d in &mut decisions {
        if d.action == "codedeploy:BatchGetDeploymentTargets" {
            d.decision = Eval::ImplicitDeny;
        }
    }
    facts.function_role = RoleCheck::Simulated(decisions.clone().into());
    assert!(one_problem(&facts)
        .contains("may not call codedeploy:BatchGetDeploymentTargets on * (implicitDeny)"));
    let fix = problems(&facts)[0].fix.clone().unwrap();
    assert!(fix.contains("no resource type"), "{fix}");
    for d in &mut decisions {
        if d.action == "elasticloadbalancing:RegisterTargets" {
            d.decision = Eval::ExplicitDeny;
        }
    }
    facts.function_role = RoleCheck::Simulated(decisions.into());
    let found = problems(&facts);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found
        .iter()
        .any(|p| p.fix.as_deref().unwrap().contains("a Deny statement")));
}

#[test]
fn setup_faults_are_each_one_problem() {
    let mut facts = good();
    facts.setup.found_mut().unwrap().green_fleet_action = Some("DISCOVER_EXISTING".into());
    assert!(one_problem(&facts).contains("DISCOVER_EXISTING"));

    let mut facts = good();
    facts.setup.found_mut().unwrap().compute_platform = Some("ECS".into());
    assert!(one_problem(&facts).contains("ECS deployment group"));

    let mut facts = good();
    facts.load_balancers = vec![("classic".into(), Ok(false))];
    assert!(one_problem(&facts).contains("classic load balancer classic"));

    let mut facts = good();
    if let Some(Ok(groups)) = &mut facts.original_groups {
        groups[0].state.target_group_arns.clear();
    }
    assert!(one_problem(&facts).contains("blue lacks target group web"));

    let mut facts = good();
    facts.original_groups = Some(Ok(Vec::new()));
    assert!(one_problem(&facts).contains("Auto Scaling group blue"));

    let mut facts = good();
    facts.function = Lookup::Missing;
    facts.function_role = RoleCheck::NotChecked(None);
    facts.instance_roles = vec![InstanceRole::NotChecked(None)];
    assert!(one_problem(&facts).contains("Lambda has no function codedeploy-tg-hook"));

    // The template scopes the role by the same pattern: its deployment-group denials are the
    // same cause, one problem.
    let mut facts = good();
    if let Lookup::Found(f) = &mut facts.function {
        f.environment
            .insert("DEPLOYMENT_GROUP_PATTERN".into(), "shop/*".into());
    }
    let mut decisions = allowed(&function_simulations_here());
    for d in &mut decisions {
        if d.resource.contains(":deploymentgroup:") {
            d.decision = Eval::ImplicitDeny;
        }
    }
    facts.function_role = RoleCheck::Simulated(decisions.into());
    assert!(one_problem(&facts).contains("DEPLOYMENT_GROUP_PATTERN shop/* leaves out web/dg"));

    let mut facts = good();
    facts.instance_roles = vec![InstanceRole::NoProfile {
        group: "blue".into(),
        source: "launch configuration lc".into(),
    }];
    assert!(one_problem(&facts).contains("gives its instances no instance profile"));
}

fn with_hook(timeout: Option<u32>, script: Option<Script>) -> Facts {
    let mut facts = good();
    facts.appspec = Some((
        "appspec.yml".into(),
        AppspecRead::Read(Ok(Appspec {
            hooks: vec![HookScript {
                location: "scripts/hook.sh".into(),
                timeout,
                script: script.map_or(ScriptFile::Missing, ScriptFile::Read),
            }],
        })),
    ));
    facts
}

fn shipped(mode: &str, function: &str, read: u32) -> Option<Script> {
    Some(Script {
        shipped: true,
        mode: Some(mode.into()),
        function_name: Some(function.into()),
        read_timeout: Some(read),
        connect_timeout: Some(5),
        script_timeout: Some(100),
        unsettled: Vec::new(),
        crlf: false,
        no_shebang: None,
    })
}

#[test]
fn appspec_faults_are_each_one_problem() {
    let hook = |timeout, script| one_problem(&with_hook(timeout, script));
    let both = problems(&with_hook(
        Some(60),
        shipped("lambda", DEFAULT_FUNCTION_NAME, 50),
    ));
    assert_eq!(both.len(), 2, "{both:#?}");
    assert!(both[0]
        .finding
        .contains("the hook's timeout 60 s is not above the function's 60 s"));
    assert!(both[1]
        .finding
        .contains("HOOK_READ_TIMEOUT 50 s is not above"));
    assert!(
        hook(Some(120), shipped("lambda", DEFAULT_FUNCTION_NAME, 30))
            .contains("HOOK_READ_TIMEOUT 30 s is not above the function's timeout 60 s")
    );
    // The script's worst case: the first invoke (4 s for the region, 5 to connect, 90 to read),
    // retries within HOOK_TIMEOUT 100.
    let worst = hook(Some(80), shipped("lambda", DEFAULT_FUNCTION_NAME, 90));
    assert!(
        worst.contains("may run 100 s (up to 4 s for the region, HOOK_CONNECT_TIMEOUT 5 s and HOOK_READ_TIMEOUT 90 s; retries within HOOK_TIMEOUT 100 s), less than 5 s below the hook's timeout 80 s"),
        "{worst}"
    );
    let mut long_read = shipped("lambda", DEFAULT_FUNCTION_NAME, 110);
    long_read.as_mut().unwrap().connect_timeout = None;
    let worst = hook(Some(150), long_read);
    assert!(
        worst.contains("may run 174 s (up to 4 s for the region, HOOK_CONNECT_TIMEOUT 60 s (the AWS CLI's default)"),
        "a copy without a connect timeout has the CLI's: {worst}"
    );
    assert!(hook(Some(120), shipped("lambda", "other", 90))
        .contains("invokes other, not codedeploy-tg-hook"));
    assert!(
        hook(Some(90), shipped("binary", DEFAULT_FUNCTION_NAME, 90)).contains(
            "may run 100 s (HOOK_TIMEOUT 100 s), less than 5 s below the hook's timeout 90 s"
        )
    );
    // Within the 5 s the script's own time does not count: still a problem.
    assert!(
        hook(Some(104), shipped("lambda", DEFAULT_FUNCTION_NAME, 70)).contains("may run 100 s")
    );
    assert!(problems(&with_hook(
        Some(105),
        shipped("lambda", DEFAULT_FUNCTION_NAME, 70)
    ))
    .is_empty());
    assert!(hook(Some(120), None).contains("not in the revision"));
    let mut not_ours = shipped("lambda", DEFAULT_FUNCTION_NAME, 90);
    not_ours.as_mut().unwrap().shipped = false;
    assert!(hook(Some(120), not_ours)
        .contains("no AfterAllowTraffic script is infra/hooks/after-allow-traffic.sh"));
    // Without a timeout, CodeDeploy's 3600 s holds.
    assert!(problems(&with_hook(
        None,
        shipped("lambda", DEFAULT_FUNCTION_NAME, 90)
    ))
    .is_empty());
    let mut facts = good();
    facts.appspec = Some((
        "appspec.yml".into(),
        AppspecRead::Read(Ok(Appspec { hooks: Vec::new() })),
    ));
    assert!(one_problem(&facts).contains("has no AfterAllowTraffic hook"));
    facts.appspec = Some((
        "appspec.yml".into(),
        AppspecRead::Read(Err("not YAML: oops".into())),
    ));
    assert!(one_problem(&facts).contains("appspec.yml: not YAML: oops"));
}

#[test]
fn a_script_bash_cannot_start_is_a_problem_and_an_unsettled_setting_is_unknown() {
    let mut crlf = shipped("lambda", DEFAULT_FUNCTION_NAME, 70);
    crlf.as_mut().unwrap().crlf = true;
    let finding = one_problem(&with_hook(Some(120), crlf));
    assert!(
        finding.contains("scripts/hook.sh has Windows line endings (CR LF)"),
        "{finding}"
    );
    let mut bare = shipped("lambda", DEFAULT_FUNCTION_NAME, 70);
    bare.as_mut().unwrap().no_shebang = Some("HOOK_MODE=lambda".into());
    let finding = one_problem(&with_hook(Some(120), bare));
    assert!(
        finding.contains("first line is not a #! line (\"HOOK_MODE=lambda\")"),
        "{finding}"
    );

    // An unsettled mode: unknown naming the line, and nothing said about the rest of the script.
    let mut mode = shipped("lambda", DEFAULT_FUNCTION_NAME, 70);
    let script = mode.as_mut().unwrap();
    script.mode = None;
    script.unsettled = vec![Unsettled {
        name: "HOOK_MODE",
        line: 2,
        why: "it sources a file, which may set it".into(),
    }];
    let facts = with_hook(Some(120), mode);
    let checks = checklist(&facts);
    let appspec: Vec<_> = checks
        .iter()
        .filter(|c| c.topic == Topic::Appspec)
        .collect();
    assert_eq!(appspec.len(), 1, "{appspec:#?}");
    assert_eq!(appspec[0].status, Status::Unknown);
    assert!(appspec[0]
        .finding
        .contains("scripts/hook.sh: HOOK_MODE cannot be told from line 2: it sources a file"));
    assert_eq!(verdict(&checks), Verdict::Unchecked);

    // An unsettled read timeout under a hook timeout that the default would fail: unknown, not
    // a problem computed from a default.
    let mut read = shipped("lambda", DEFAULT_FUNCTION_NAME, 70);
    let script = read.as_mut().unwrap();
    script.read_timeout = None;
    script.unsettled = vec![Unsettled {
        name: "HOOK_READ_TIMEOUT",
        line: 3,
        why: "$(cat /etc/t) is a command substitution".into(),
    }];
    let checks = checklist(&with_hook(Some(80), read));
    assert!(
        checks.iter().all(|c| c.status != Status::Problem),
        "{checks:#?}"
    );
    assert!(checks.iter().any(|c| c.status == Status::Unknown
        && c.finding
            .contains("HOOK_READ_TIMEOUT cannot be told from line 3")));
}

#[test]
fn a_problem_wins_over_what_could_not_be_checked_and_unknown_alone_exits_1() {
    let mut facts = good();
    facts.instance_roles = vec![InstanceRole::LaunchTemplateNotRead {
        group: "blue".into(),
        template: LaunchTemplate {
            id: Some("lt-0abc".into()),
            name: Some("lt-web".into()),
            version: "$Default".into(),
        },
    }];
    // The template is found by its id, whatever its name looks like.
    assert!(checklist(&facts).iter().any(|c| c
        .fix
        .as_deref()
        .is_some_and(|f| f.contains("--launch-template-id lt-0abc --versions '$Default'"))));
    assert_eq!(verdict(&checklist(&facts)), Verdict::Unchecked);
    facts.load_balancers = vec![("classic".into(), Ok(false))];
    assert_eq!(verdict(&checklist(&facts)), Verdict::NotReady);
    let denied = AwsError {
        action: "iam:SimulatePrincipalPolicy",
        code: "AccessDenied".into(),
        message: "no".into(),
    };
    let mut facts = good();
    facts.function_role = RoleCheck::Simulated(RoleDecisions::failed("*", denied));
    let checks = checklist(&facts);
    assert_eq!(verdict(&checks), Verdict::Unchecked);
    assert!(checks.iter().any(|c| c.status == Status::Unknown
        && c.finding
            .contains("may not call iam:SimulatePrincipalPolicy")));
}

#[test]
fn safety_nets_are_reported_never_problems() {
    let mut facts = good();
    facts.setup.found_mut().unwrap().success_trigger_topics =
        vec!["arn:aws:sns:us-east-1:1:t".into()];
    facts.invokers = Some(Ok(vec![Invoker {
        service: "events.amazonaws.com".into(),
        source_arn: Some("arn:aws:events:us-east-1:1:rule/r".into()),
    }]));
    let checks = checklist(&facts);
    assert_eq!(verdict(&checks), Verdict::Ready);
    let nets: Vec<&Check> = checks
        .iter()
        .filter(|c| c.topic == Topic::SafetyNets)
        .collect();
    assert!(nets.iter().all(|c| c.status == Status::Info));
    assert!(nets[0]
        .finding
        .contains("which the function's policy does not let invoke it"));
    assert!(nets[1].finding.contains("rule/r"));
}

#[test]
fn a_missing_target_group_is_one_problem_and_the_others_are_still_checked() {
    let mut facts = good();
    facts.setup.found_mut().unwrap().target_group_names = vec!["web".into(), "gone".into()];
    facts.target_groups = Some(Ok((
        BTreeMap::from([("web".to_owned(), TG.to_owned())]),
        vec!["gone".to_owned()],
    )));
    assert!(one_problem(&facts).contains("do not exist: gone"));
    let checks = checklist(&facts);
    assert!(checks
        .iter()
        .any(|c| c.status == Status::Ok && c.finding.contains("target groups exist: web")));
    assert!(checks.iter().any(|c| c.status == Status::Ok
        && c.finding
            .contains("blue exists and has its 1 target group(s) and 1 classic")));
    // The one that exists is still compared: detached from the original group, it is a problem.
    if let Some(Ok(groups)) = &mut facts.original_groups {
        groups[0].state.target_group_arns.clear();
    }
    assert_eq!(problems(&facts).len(), 2);
}

#[test]
fn unread_target_groups_leave_the_attachment_comparison_unknown_not_ok() {
    let mut facts = good();
    facts.target_groups = Some(Err(AwsError {
        action: "elasticloadbalancing:DescribeTargetGroups",
        code: "Throttling".into(),
        message: "Rate exceeded".into(),
    }));
    let checks = checklist(&facts);
    assert_eq!(verdict(&checks), Verdict::Unchecked);
    assert!(!checks
        .iter()
        .any(|c| c.status == Status::Ok && c.finding.contains("blue exists")));
    assert!(checks.iter().any(|c| c.status == Status::Unknown
        && c.finding
            .contains("blue exists; whether it has every target group")));
    // And IAM was not asked about every load balancer: said so.
    // (derived from the unread target groups above)
    assert!(checklist(&facts).iter().any(|c| c.status == Status::Unknown
        && c.finding
            .contains("the function's role was not asked about RegisterTargets")));
}

#[test]
fn an_in_place_deployment_group_is_one_problem_whatever_else_it_says() {
    let mut facts = good();
    let setup = facts.setup.found_mut().unwrap();
    setup.deployment_type = Some("IN_PLACE".into());
    setup.deployment_option = Some("WITHOUT_TRAFFIC_CONTROL".into());
    setup.green_fleet_action = None;
    setup.target_group_names.clear();
    setup.load_balancer_names.clear();
    assert!(one_problem(&facts).starts_with("deployment type IN_PLACE WITHOUT_TRAFFIC_CONTROL"));
}

#[test]
fn in_binary_mode_a_missing_function_is_reported_and_the_instance_role_needs_every_call() {
    let mut facts = good();
    facts.binary = true;
    facts.function = Lookup::Missing;
    facts.function_role = RoleCheck::NotChecked(None);
    let sims = function_simulations(
        "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1:autoScalingGroupName/blue",
        "web",
        "dg",
        &[TG.to_owned()],
        &["classic".to_owned()],
    );
    let mut decisions = allowed(&sims);
    decisions[0].decision = Eval::ImplicitDeny;
    facts.instance_roles = vec![InstanceRole::Simulated {
        profile: "web".into(),
        source: ProfileSource::Given,
        roles: vec![(
            "arn:aws:iam::123456789012:role/web".into(),
            decisions.into(),
        )],
    }];
    facts.appspec = None;
    let finding = one_problem(&facts);
    assert!(
        finding.contains("instance profile web, as given by --instance-profile")
            && finding.contains("may not call codedeploy:GetDeployment"),
        "{finding}"
    );
    let checks = checklist(&facts);
    assert!(checks.iter().any(|c| c.status == Status::Info
        && c.finding
            .contains("runs the binary on the instance (HOOK_MODE=binary)")));
}

#[test]
fn a_denial_for_want_of_a_condition_key_is_unknown_and_boundaries_and_scps_get_their_own_fix() {
    let mut facts = good();
    let mut decisions = allowed(&function_simulations_here());
    decisions[0].decision = Eval::ImplicitDeny;
    decisions[0].missing_context = vec!["aws:ResourceTag/team".into()];
    facts.function_role = RoleCheck::Simulated(decisions.clone().into());
    let checks = checklist(&facts);
    assert_eq!(verdict(&checks), Verdict::Unchecked, "{checks:#?}");
    assert!(checks.iter().any(|c| c.status == Status::Unknown
        && c.finding
            .contains("for want of condition key(s) aws:ResourceTag/team")));

    decisions[0].missing_context.clear();
    decisions[0].boundary_allows = Some(false);
    facts.function_role = RoleCheck::Simulated(decisions.clone().into());
    let found = problems(&facts);
    assert!(found[0]
        .fix
        .as_deref()
        .unwrap()
        .contains("permissions boundary"));
    decisions[0].boundary_allows = None;
    decisions[0].organizations_allow = Some(false);
    facts.function_role = RoleCheck::Simulated(decisions.into());
    let found = problems(&facts);
    assert!(found[0]
        .fix
        .as_deref()
        .unwrap()
        .contains("service control policy"));
}

#[test]
fn the_attach_denial_names_the_sample_group_and_the_condition_parameters() {
    let mut facts = good();
    let mut decisions = allowed(&function_simulations_here());
    for d in &mut decisions {
        if d.action == "autoscaling:AttachTrafficSources" {
            d.decision = Eval::ImplicitDeny;
        }
    }
    facts.function_role = RoleCheck::Simulated(decisions.into());
    let found = problems(&facts);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].finding.contains(
        "CodeDeploy_dg_d-EXAMPLE01 (a replacement group named as CodeDeploy names them)"
    ));
    let fix = found[0].fix.as_deref().unwrap();
    assert!(
        fix.contains("ReplacementGroupNamePattern")
            && fix.contains("autoscaling:TrafficSourceIdentifiers")
            && fix.contains("TargetGroupNamePattern"),
        "{fix}"
    );
}

#[test]
fn a_role_that_does_not_exist_is_a_problem_and_no_answer_is_never_ok() {
    let mut facts = good();
    facts.function_role = RoleCheck::Simulated(RoleDecisions::failed(
        "*",
        AwsError {
            action: "iam:SimulatePrincipalPolicy",
            code: "NoSuchEntity".into(),
            message: "no role".into(),
        },
    ));
    assert!(one_problem(&facts).contains("role/hook does not exist"));
    facts.function_role = RoleCheck::Simulated(Vec::new().into());
    let checks = checklist(&facts);
    assert_eq!(verdict(&checks), Verdict::Unchecked);
}

#[test]
fn a_function_given_as_an_arn_is_the_one_the_script_invokes_by_name() {
    let mut facts = good();
    facts.function_name = FUNCTION_ARN.to_owned();
    assert!(problems(&facts).is_empty(), "{:#?}", problems(&facts));
    assert_eq!(
        bare_function_name("arn:aws:lambda:us-east-1:1:function:f:live"),
        "f"
    );
    assert_eq!(bare_function_name("f"), "f");
}

#[test]
fn a_script_that_invokes_an_alias_is_checked_against_that_alias() {
    let live = || shipped("lambda", &format!("{DEFAULT_FUNCTION_NAME}:live"), 70);
    // The unqualified function was read: the script invokes another one.
    let finding = one_problem(&with_hook(Some(120), live()));
    assert!(
        finding.contains("invokes codedeploy-tg-hook:live, not codedeploy-tg-hook"),
        "{finding}"
    );
    // The alias was read (as doctor does when the script names it): no problem.
    let mut facts = with_hook(Some(120), live());
    facts.function_name = format!("{FUNCTION_ARN}:live");
    assert!(problems(&facts).is_empty(), "{:#?}", problems(&facts));
    assert_eq!(
        invoked_function_name("arn:aws:lambda:us-east-1:1:function:f:live"),
        "f:live"
    );
}

#[test]
fn an_appspec_that_cannot_be_read_is_unknown_not_a_problem() {
    let mut facts = good();
    facts.appspec = Some((
        "nowhere/appspec.yml".into(),
        AppspecRead::Unreadable("No such file or directory".into()),
    ));
    let checks = checklist(&facts);
    assert_eq!(verdict(&checks), Verdict::Unchecked);
    assert!(problems(&facts).is_empty());
}

#[test]
fn denials_of_one_cause_are_one_problem() {
    // Two actions with no resource type scoped to an ARN: one fix, one problem.
    let mut facts = good();
    let mut decisions = allowed(&function_simulations_here());
    for d in &mut decisions {
        if d.action.ends_with("DeploymentTargets") {
            d.decision = Eval::ImplicitDeny;
        }
    }
    facts.function_role = RoleCheck::Simulated(decisions.clone().into());
    let finding = one_problem(&facts);
    assert!(
        finding.contains(
            "codedeploy:BatchGetDeploymentTargets, codedeploy:ListDeploymentTargets on *"
        ),
        "{finding}"
    );
    // A role with none of the function's permissions: one problem, not fourteen.
    for d in &mut decisions {
        d.decision = Eval::ImplicitDeny;
    }
    facts.function_role = RoleCheck::Simulated(decisions.into());
    assert!(one_problem(&facts).contains("may make none of the 14 calls"));
}

#[test]
fn an_unknown_hook_mode_is_a_problem_and_the_read_timeout_is_checked_without_a_function() {
    let mut script = shipped("lambda", DEFAULT_FUNCTION_NAME, 90);
    script.as_mut().unwrap().mode = Some("lamda".into());
    assert!(one_problem(&with_hook(Some(120), script)).contains("HOOK_MODE=lamda"));
    let mut facts = with_hook(Some(80), shipped("lambda", DEFAULT_FUNCTION_NAME, 90));
    facts.function = Lookup::Unread(AwsError {
        action: "lambda:GetFunctionConfiguration",
        code: "Throttling".into(),
        message: "slow down".into(),
    });
    facts.function_role = RoleCheck::NotChecked(Some("the function could not be read".into()));
    facts.instance_roles = vec![InstanceRole::NotChecked(None)];
    assert!(one_problem(&facts).contains("may run 100 s"));
    assert!(one_problem(&facts).contains("less than 5 s below the hook's timeout 80 s"));
}

#[test]
fn a_group_without_its_load_balancers_gets_the_exact_attach_command() {
    let mut facts = good();
    if let Some(Ok(groups)) = &mut facts.original_groups {
        groups[0].state.target_group_arns.clear();
        groups[0].state.load_balancer_names.clear();
    }
    let found = problems(&facts);
    assert_eq!(found.len(), 1, "{found:#?}");
    let fix = found[0].fix.as_deref().unwrap();
    assert!(
        fix.ends_with(&format!(
            "--traffic-sources Identifier={TG},Type=elbv2 Identifier=classic,Type=elb"
        )),
        "{fix}"
    );
}

#[test]
fn every_topic_of_a_good_setup_has_its_ok_lines() {
    let checks = checklist(&good());
    for topic in [
        Topic::DeploymentGroup,
        Topic::Function,
        Topic::Permissions,
        Topic::Appspec,
    ] {
        assert!(
            checks
                .iter()
                .any(|c| c.topic == topic && c.status == Status::Ok),
            "{topic:?}: {checks:#?}"
        );
    }
    // The function's role and the instance role each have their line.
    assert_eq!(
        checks
            .iter()
            .filter(|c| c.topic == Topic::Permissions && c.status == Status::Ok)
            .count(),
        2
    );
}

#[test]
fn after_allow_traffic_scripts_past_codedeploys_3600_s_are_a_problem() {
    let mut facts = good();
    if let Some((_, AppspecRead::Read(Ok(appspec)))) = &mut facts.appspec {
        let mut second = appspec.hooks[0].clone();
        second.location = "scripts/other.sh".into();
        second.timeout = None; // CodeDeploy's default: 3600 s
        second.script = ScriptFile::Missing;
        appspec.hooks.push(second);
    }
    assert!(one_problem(&facts).contains("add up to 3720 s, above the 3600 s"));
}

#[test]
fn an_allow_decided_without_a_condition_key_is_unknown_naming_the_keys() {
    let mut facts = good();
    let mut decisions = allowed(&function_simulations_here());
    // A Deny conditioned on aws:ResourceTag/env that the simulator could not evaluate.
    decisions[1].missing_context = vec!["aws:ResourceTag/env".into()];
    let (action, resource) = (decisions[1].action.clone(), decisions[1].resource.clone());
    facts.function_role = RoleCheck::Simulated(decisions.into());
    let checks = checklist(&facts);
    assert_eq!(verdict(&checks), Verdict::Unchecked, "{checks:#?}");
    let unknown: Vec<_> = checks
        .iter()
        .filter(|c| c.status == Status::Unknown)
        .collect();
    assert_eq!(unknown.len(), 1, "{unknown:#?}");
    assert!(
        unknown[0].finding.contains(&format!(
            "may call {action} on {resource} only as far as IAM could tell without condition key(s) aws:ResourceTag/env"
        )),
        "{unknown:#?}"
    );
    assert!(
        !checks
            .iter()
            .any(|c| c.status == Status::Ok && c.finding.contains("the function's role")),
        "no ok line for a role not settled: {checks:#?}"
    );
}

#[test]
fn a_pattern_that_leaves_the_group_out_still_checks_the_roles_other_calls() {
    let excluded = || {
        let mut facts = good();
        if let Lookup::Found(f) = &mut facts.function {
            f.environment
                .insert("DEPLOYMENT_GROUP_PATTERN".into(), "shop/*".into());
        }
        let mut decisions = allowed(&function_simulations_here());
        for d in &mut decisions {
            if d.resource.contains(":deploymentgroup:") {
                d.decision = Eval::ImplicitDeny;
            }
        }
        (facts, decisions)
    };
    // The other calls allowed: a line says so, and the pattern is the one problem.
    let (mut facts, decisions) = excluded();
    facts.function_role = RoleCheck::Simulated(decisions.into());
    let checks = checklist(&facts);
    assert!(
        checks.iter().any(|c| c.status == Status::Ok
            && c.finding
                .contains("role/hook may make the function's other calls")
            && c.finding.contains("wait on DEPLOYMENT_GROUP_PATTERN")),
        "{checks:#?}"
    );
    // Another grant missing too: its own problem, beside the pattern's.
    let (mut facts, mut decisions) = excluded();
    let other = decisions
        .iter_mut()
        .find(|d| d.resource == TG)
        .expect("a target group decision");
    other.decision = Eval::ImplicitDeny;
    let action = other.action.clone();
    facts.function_role = RoleCheck::Simulated(decisions.into());
    let problems = problems(&facts);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0]
        .finding
        .contains("DEPLOYMENT_GROUP_PATTERN shop/* leaves out web/dg"));
    assert!(
        problems[1]
            .finding
            .contains(&format!("may not call {action} on {TG}")),
        "{problems:#?}"
    );
}

#[test]
fn a_failed_simulator_call_keeps_the_decisions_the_others_made() {
    let mut facts = good();
    let mut decisions: Vec<Decision> = allowed(&function_simulations_here())
        .into_iter()
        .filter(|d| d.resource != TG)
        .collect();
    let denied = decisions
        .iter_mut()
        .find(|d| d.resource == "*")
        .expect("an action on *");
    denied.decision = Eval::ImplicitDeny;
    let action = denied.action.clone();
    facts.function_role = RoleCheck::Simulated(RoleDecisions {
        decisions,
        failed: vec![(
            TG.to_owned(),
            AwsError {
                action: "iam:SimulatePrincipalPolicy",
                code: "Throttling".into(),
                message: "Rate exceeded".into(),
            },
        )],
    });
    let checks = checklist(&facts);
    // The certain problem stands (exit 3), and the unanswered question is unknown beside it.
    assert_eq!(verdict(&checks), Verdict::NotReady, "{checks:#?}");
    assert!(checks.iter().any(|c| c.status == Status::Problem
        && c.finding.contains(&format!("may not call {action} on *"))));
    assert!(
        checks.iter().any(|c| c.status == Status::Unknown
            && c.finding.contains(&format!("on {TG}"))
            && c.finding.contains("Throttling")),
        "{checks:#?}"
    );
}

#[test]
fn a_script_that_is_there_but_cannot_be_read_is_unknown_not_missing() {
    let mut facts = with_hook(Some(120), None);
    if let Some((_, AppspecRead::Read(Ok(appspec)))) = &mut facts.appspec {
        appspec.hooks[0].script = ScriptFile::Unreadable("Permission denied (os error 13)".into());
    }
    let checks = checklist(&facts);
    assert_eq!(verdict(&checks), Verdict::Unchecked, "{checks:#?}");
    assert!(checks.iter().any(|c| c.status == Status::Unknown
        && c.finding.contains(
            "AfterAllowTraffic runs scripts/hook.sh, which cannot be read: Permission denied"
        )));
    assert!(!checks
        .iter()
        .any(|c| c.finding.contains("not in the revision")));
}

#[test]
fn a_function_name_the_script_leaves_untold_is_unknown_never_the_default() {
    let mut facts = good();
    facts.function_untold = Some(
        "the appspec script's HOOK_FUNCTION_NAME cannot be told (line 2: it runs `.`, which may set it)"
            .into(),
    );
    // As doctor reads it then: no function, so no role or invokers either.
    facts.function = Lookup::Missing;
    facts.function_role = RoleCheck::NotChecked(None);
    facts.instance_roles = vec![InstanceRole::NotChecked(None)];
    facts.invokers = None;
    facts.audit_function = AuditFunctionRead::NotAsked;
    let checks = checklist(&facts);
    assert!(
        checks.iter().all(|c| c.status != Status::Problem),
        "no problem about a function that was never named: {checks:#?}"
    );
    assert_eq!(verdict(&checks), Verdict::Unchecked);
    assert!(checks.iter().any(|c| c.status == Status::Unknown
        && c.finding
            .contains("which function it invokes is not known, so none was checked")));
}

#[test]
fn a_deployment_group_answer_without_its_platform_is_unknown_not_server() {
    let mut facts = good();
    facts.setup.found_mut().unwrap().compute_platform = None;
    let checks = checklist(&facts);
    assert_eq!(verdict(&checks), Verdict::Unchecked, "{checks:#?}");
    assert!(checks.iter().any(|c| c.status == Status::Unknown
        && c.finding
            .contains("codedeploy:GetDeploymentGroup answered without computePlatform")));
}

#[test]
fn a_certain_denial_on_one_resource_is_a_problem_beside_an_unsettled_allow_on_another() {
    let mut facts = good();
    let mut decisions = allowed(&function_simulations_here());
    let on_tg = decisions
        .iter()
        .position(|d| d.resource == TG)
        .expect("a target group decision");
    let mut other = decisions[on_tg].clone();
    other.resource = format!("{TG}-other");
    other.missing_context = vec!["aws:ResourceTag/env".into()];
    decisions[on_tg].decision = Eval::ImplicitDeny;
    let action = decisions[on_tg].action.clone();
    decisions.push(other);
    facts.function_role = RoleCheck::Simulated(decisions.into());
    let checks = checklist(&facts);
    assert_eq!(verdict(&checks), Verdict::NotReady, "{checks:#?}");
    let problem = checks
        .iter()
        .find(|c| c.status == Status::Problem)
        .expect("the certain denial");
    assert!(
        problem
            .finding
            .ends_with(&format!("may not call {action} on {TG} (implicitDeny)")),
        "only the denied resource is named: {problem:#?}"
    );
}

/// A build without the `launch-templates` feature (the zip's) makes no EC2 call: the line says the
/// template was not read, and how to name its profile.
#[cfg(not(feature = "launch-templates"))]
#[tokio::test]
async fn without_the_launch_templates_feature_a_template_is_not_read_and_the_line_says_so() {
    let stub = crate::aws::stub::Stub::default();
    let clients = stub.clients().await;
    let group = GroupSetup {
        state: GroupState {
            name: "blue".into(),
            ..GroupState::default()
        },
        arn: None,
        launch: LaunchSource::LaunchTemplates(vec![LaunchTemplate {
            id: None,
            name: Some("web".into()),
            version: "$Latest".into(),
        }]),
    };
    let found = super::launch_profiles(&clients, &group).await;
    assert!(stub.calls().is_empty(), "{:?}", stub.calls());
    let [Err(role @ InstanceRole::LaunchTemplateNotRead { .. })] = &found[..] else {
        panic!("{found:?}");
    };
    let mut facts = good();
    facts.instance_roles = vec![role.clone()];
    let checks = checklist(&facts);
    assert!(checks.iter().any(|c| c.status == Status::Unknown
        && c.finding.contains("blue launches from launch template web (version $Latest), which this build of doctor does not read")
        && c.fix.as_deref().is_some_and(|f| f.contains("--launch-template-name web --versions '$Latest'"))));
}
