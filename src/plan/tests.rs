//! The planner's decisions, without a client.

use std::collections::BTreeMap;

use super::*;

fn blue_green() -> Deployment {
    Deployment {
        id: "d-ABC".into(),
        application_name: "web".into(),
        deployment_group_name: "web_dg".into(),
        status: "InProgress".into(),
        compute_platform: Some("Server".into()),
        deployment_type: Some("BLUE_GREEN".into()),
        deployment_option: Some("WITH_TRAFFIC_CONTROL".into()),
        green_fleet_action: Some("COPY_AUTO_SCALING_GROUP".into()),
        target_group_names: vec!["tg-a".into(), "tg-b".into()],
        load_balancer_names: vec!["clb".into()],
        target_instance_groups: vec![],
        creator: Some("user".into()),
        rolled_back_deployment: None,
    }
}

fn resolved() -> BTreeMap<String, String> {
    [("tg-a", "arn:a"), ("tg-b", "arn:b")]
        .into_iter()
        .map(|(n, a)| (n.to_owned(), a.to_owned()))
        .collect()
}

fn group(name: &str, tgs: &[&str], lbs: &[&str]) -> GroupState {
    GroupState {
        name: name.into(),
        target_group_arns: tgs.iter().map(|s| s.to_string()).collect(),
        load_balancer_names: lbs.iter().map(|s| s.to_string()).collect(),
        traffic_sources: vec![],
        instances: vec![],
    }
}

#[test]
fn copied_blue_green_deployment_targets_the_codedeploy_named_group() {
    let work = assess(&blue_green()).unwrap();
    assert_eq!(work.replacement_groups, vec!["CodeDeploy_web_dg_d-ABC"]);
    assert_eq!(work.target_group_names, vec!["tg-a", "tg-b"]);
    assert_eq!(work.load_balancer_names, vec!["clb"]);
}

#[test]
fn target_instances_groups_take_precedence_over_the_derived_name() {
    let mut d = blue_green();
    d.target_instance_groups = vec!["green-1".into(), "green-2".into(), "green-1".into()];
    assert_eq!(
        assess(&d).unwrap().replacement_groups,
        vec!["green-1", "green-2"]
    );
}

#[test]
fn in_progress_waits_for_the_reroute_and_finished_deployments_for_the_live_fleet() {
    for (status, moment) in [
        ("InProgress", Moment::RerouteComplete),
        ("Baking", Moment::LiveFleet),
        ("Succeeded", Moment::LiveFleet),
    ] {
        let mut d = blue_green();
        d.status = status.into();
        let work = assess(&d).unwrap();
        assert_eq!(work.moment, moment, "{status}");
        assert_eq!(work.application_name, "web");
        assert_eq!(work.deployment_group_name, "web_dg");
    }
}

fn instance(id: &str, allow_traffic: Option<&str>) -> InstanceTarget {
    InstanceTarget {
        instance_id: id.into(),
        label: Some("Green".into()),
        allow_traffic: allow_traffic.map(str::to_owned),
    }
}

fn fleet(groups: &[&str]) -> MomentFacts {
    MomentFacts::Fleet(DeploymentGroupState {
        fleet: groups.iter().map(|g| g.to_string()).collect(),
        last_attempted: None,
        active: vec![],
    })
}

fn waiting(work: Work, instances: Vec<InstanceTarget>) -> Waiting {
    match at_moment(work, &MomentFacts::Reroute(instances)) {
        Err(Hold::Waiting(w)) => w,
        other => panic!("expected to wait, got {other:?}"),
    }
}

#[test]
fn reroute_is_complete_only_when_no_replacement_instance_is_waiting_for_or_inside_allow_traffic() {
    let work = assess(&blue_green()).unwrap();
    let done = vec![
        instance("i-1", Some("Succeeded")),
        instance("i-2", Some("Succeeded")),
    ];
    assert_eq!(
        at_moment(work.clone(), &MomentFacts::Reroute(done)),
        Ok(work.clone())
    );
    for unfinished in [
        Some("Pending"),
        Some("InProgress"),
        Some("Unknown"),
        Some("SomethingNew"),
        None,
    ] {
        let w = waiting(
            work.clone(),
            vec![
                instance("i-1", Some("Succeeded")),
                instance("i-2", unfinished),
                instance("i-3", Some("Pending")),
            ],
        );
        assert_eq!(w.still_to_reroute, vec!["i-2", "i-3"]);
        assert_eq!(w.replacement_instances, 3);
        let reason = w.to_string();
        assert!(
            reason.contains(
                "2 of 3 replacement instances are still to be rerouted (AllowTraffic not finished: i-2, i-3)"
            ),
            "{reason}"
        );
        assert!(reason.contains("d-ABC"), "{reason}");
    }
}

#[test]
fn a_failed_or_skipped_instance_does_not_hold_the_group_back_once_none_is_waiting() {
    let work = assess(&blue_green()).unwrap();
    let instances = vec![
        instance("i-1", Some("Succeeded")),
        instance("i-2", Some("Failed")),
        instance("i-3", Some("Skipped")),
    ];
    assert!(at_moment(work, &MomentFacts::Reroute(instances)).is_ok());
}

#[test]
fn blue_targets_are_not_replacement_instances() {
    let work = assess(&blue_green()).unwrap();
    let mut blue = instance("i-blue", Some("Pending"));
    blue.label = Some("Blue".into());
    let targets = vec![instance("i-1", Some("Succeeded")), blue];
    assert!(at_moment(work.clone(), &MomentFacts::Reroute(targets)).is_ok());
    let mut only_blue = instance("i-blue", Some("Succeeded"));
    only_blue.label = Some("Blue".into());
    assert_eq!(waiting(work, vec![only_blue]).replacement_instances, 0);
}

#[test]
fn waiting_reason_names_five_instances_and_counts_the_rest() {
    let targets = (0..8)
        .map(|i| instance(&format!("i-{i}"), Some("Pending")))
        .collect();
    let reason = waiting(assess(&blue_green()).unwrap(), targets).to_string();
    assert!(
        reason.contains("8 of 8") && reason.contains("i-0, i-1, i-2, i-3, i-4 and 3 more"),
        "{reason}"
    );
}

#[test]
fn a_reroute_where_no_instance_succeeded_moved_no_traffic() {
    let work = assess(&blue_green()).unwrap();
    let targets = vec![
        instance("i-1", Some("Failed")),
        instance("i-2", Some("Skipped")),
    ];
    let Err(Hold::Skipped(skip)) = at_moment(work, &MomentFacts::Reroute(targets)) else {
        panic!("nothing was rerouted");
    };
    assert_eq!(
        skip,
        Skip::NothingRerouted {
            replacement_instances: 2
        }
    );
    assert!(skip.to_string().contains("traffic did not move"), "{skip}");
}

#[test]
fn a_later_deployment_under_way_takes_the_fleet_out_of_play() {
    let mut d = blue_green();
    d.status = "Succeeded".into();
    let work = assess(&d).unwrap();
    let state = |id: &str, status: &str| {
        MomentFacts::Fleet(DeploymentGroupState {
            fleet: vec!["CodeDeploy_web_dg_d-ABC".into()],
            last_attempted: Some(LastDeployment {
                id: id.into(),
                status: status.into(),
                creator: Some("user".into()),
            }),
            active: vec![],
        })
    };
    for status in ["Created", "Queued", "InProgress", "Ready", "Baking"] {
        let Err(Hold::Skipped(skip)) = at_moment(work.clone(), &state("d-NEXT", status)) else {
            panic!("{status}: a later deployment is under way");
        };
        assert!(
            skip.to_string()
                .contains(&format!("a later deployment, d-NEXT, is {status}")),
            "{skip}"
        );
    }
    // A later deployment that failed or stopped leaves this fleet live; so does this one.
    for (id, status) in [
        ("d-NEXT", "Failed"),
        ("d-NEXT", "Stopped"),
        ("d-ABC", "Succeeded"),
    ] {
        assert!(
            at_moment(work.clone(), &state(id, status)).is_ok(),
            "{id} {status}"
        );
    }
}

#[test]
fn no_replacement_instance_listed_means_the_reroute_has_not_begun() {
    let w = waiting(assess(&blue_green()).unwrap(), vec![]);
    assert!(w.still_to_reroute.is_empty());
    assert_eq!(w.replacement_instances, 0);
    assert!(w.to_string().contains("the reroute has not begun"), "{w}");
}

#[test]
fn finished_deployment_acts_only_on_groups_the_deployment_group_still_names() {
    let mut d = blue_green();
    d.status = "Succeeded".into();
    let work = assess(&d).unwrap();
    let live = fleet(&["CodeDeploy_web_dg_d-ABC"]);
    assert_eq!(at_moment(work.clone(), &live), Ok(work.clone()));

    let later = fleet(&["CodeDeploy_web_dg_d-LATER"]);
    let Err(Hold::Skipped(skip)) = at_moment(work.clone(), &later) else {
        panic!("a superseded group must be skipped");
    };
    assert_eq!(
        skip,
        Skip::Superseded {
            groups: vec!["CodeDeploy_web_dg_d-ABC".into()],
            fleet: vec!["CodeDeploy_web_dg_d-LATER".into()],
        }
    );
    let reason = skip.to_string();
    assert!(reason.contains("superseded"), "{reason}");
    assert!(reason.contains("not live"), "{reason}");
    assert!(reason.contains("CodeDeploy_web_dg_d-LATER"), "{reason}");

    let Err(Hold::Skipped(Skip::Superseded { fleet, .. })) = at_moment(work, &fleet(&[])) else {
        panic!("an empty fleet names no live group");
    };
    assert!(fleet.is_empty());
}

#[test]
fn only_the_live_ones_of_several_replacement_groups_are_kept() {
    let mut d = blue_green();
    d.status = "Succeeded".into();
    d.target_instance_groups = vec!["green-1".into(), "green-2".into()];
    let work = assess(&d).unwrap();
    let kept = at_moment(work, &fleet(&["green-2"])).unwrap();
    assert_eq!(kept.replacement_groups, vec!["green-2"]);
}

#[test]
fn deployment_ids_have_codedeploys_shape() {
    for good in ["d-1A2B3C4D5", "d-ABCDEFGHI", "d-123456789"] {
        assert!(is_deployment_id(good), "{good}");
    }
    for bad in [
        "d-1a2b3c4d5",
        "d-1A2B3C4D",
        "d-1A2B3C4D56",
        "x-1A2B3C4D5",
        "d_1A2B3C4D5",
        "6f1c2d9e-moto-uuid",
        "",
        "d-",
        "d-1A2B3C4D\u{e9}",
    ] {
        assert!(!is_deployment_id(bad), "{bad}");
    }
}

#[test]
fn skips_before_the_reroute_including_ready() {
    for status in ["Created", "Queued", "Ready"] {
        let mut d = blue_green();
        d.status = status.into();
        let skip = assess(&d).unwrap_err();
        assert_eq!(
            skip,
            Skip::TrafficNotRerouted {
                status: status.into()
            }
        );
        assert!(skip.to_string().contains("traffic has not been rerouted"));
    }
}

#[test]
fn skips_failed_and_stopped_deployments() {
    for status in ["Failed", "Stopped"] {
        let mut d = blue_green();
        d.status = status.into();
        assert_eq!(
            assess(&d).unwrap_err(),
            Skip::DeploymentEnded {
                status: status.into()
            }
        );
    }
}

#[test]
fn skips_every_shape_that_copies_no_group() {
    let mut d = blue_green();
    d.compute_platform = Some("Lambda".into());
    assert_eq!(
        assess(&d).unwrap_err(),
        Skip::NotServer {
            compute_platform: "Lambda".into()
        }
    );

    let mut d = blue_green();
    d.deployment_type = Some("IN_PLACE".into());
    assert_eq!(
        assess(&d).unwrap_err(),
        Skip::NotBlueGreen {
            deployment_type: "IN_PLACE".into()
        }
    );

    let mut d = blue_green();
    d.deployment_option = Some("WITHOUT_TRAFFIC_CONTROL".into());
    assert_eq!(assess(&d).unwrap_err(), Skip::WithoutTrafficControl);

    let mut d = blue_green();
    d.green_fleet_action = Some("DISCOVER_EXISTING".into());
    assert_eq!(
        assess(&d).unwrap_err(),
        Skip::NotCopiedGroup {
            action: "DISCOVER_EXISTING".into()
        }
    );

    let mut d = blue_green();
    d.target_group_names.clear();
    d.load_balancer_names.clear();
    assert_eq!(assess(&d).unwrap_err(), Skip::NoLoadBalancer);
}

#[test]
fn missing_deployment_style_is_treated_as_in_place() {
    let mut d = blue_green();
    d.deployment_type = None;
    assert!(matches!(assess(&d).unwrap_err(), Skip::NotBlueGreen { .. }));
}

#[test]
fn plans_only_what_is_missing() {
    let work = assess(&blue_green()).unwrap();
    let groups = [group("CodeDeploy_web_dg_d-ABC", &["arn:a"], &[])];
    let plans = plan(&work, &resolved(), &groups).unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].missing_target_group_arns, vec!["arn:b"]);
    assert_eq!(plans[0].missing_load_balancer_names, vec!["clb"]);
    assert!(!plans[0].is_complete());
}

#[test]
fn several_replacement_groups_each_get_their_own_plan() {
    let mut d = blue_green();
    d.target_instance_groups = vec!["green-1".into(), "green-2".into()];
    let work = assess(&d).unwrap();
    let groups = [
        group("green-2", &["arn:a", "arn:b"], &["clb"]),
        group("green-1", &["arn:b"], &[]),
    ];
    let plans = plan(&work, &resolved(), &groups).unwrap();
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[0].auto_scaling_group, "green-1");
    assert_eq!(plans[0].missing_target_group_arns, vec!["arn:a"]);
    assert_eq!(plans[0].missing_load_balancer_names, vec!["clb"]);
    assert_eq!(plans[1].auto_scaling_group, "green-2");
    assert!(plans[1].is_complete());
    let missing = plan(&work, &resolved(), &groups[..1]).unwrap_err();
    assert_eq!(missing, PlanFault::MissingGroups(vec!["green-1".into()]));
}

#[test]
fn complete_group_plans_nothing() {
    let work = assess(&blue_green()).unwrap();
    let groups = [group(
        "CodeDeploy_web_dg_d-ABC",
        &["arn:b", "arn:a", "arn:other"],
        &["clb"],
    )];
    assert!(plan(&work, &resolved(), &groups).unwrap()[0].is_complete());
}

#[test]
fn traffic_sources_count_as_attached() {
    let work = assess(&blue_green()).unwrap();
    let mut g = group("CodeDeploy_web_dg_d-ABC", &[], &[]);
    g.traffic_sources = vec!["arn:a".into(), "arn:b".into(), "clb".into()];
    assert!(plan(&work, &resolved(), &[g]).unwrap()[0].is_complete());
}

#[test]
fn missing_replacement_group_is_named() {
    let work = assess(&blue_green()).unwrap();
    assert_eq!(
        plan(&work, &resolved(), &[group("other", &[], &[])]).unwrap_err(),
        PlanFault::MissingGroups(vec!["CodeDeploy_web_dg_d-ABC".into()])
    );
}

#[test]
fn unresolved_target_group_is_named() {
    let work = assess(&blue_green()).unwrap();
    let mut tgs = resolved();
    tgs.remove("tg-b");
    assert_eq!(
        plan(&work, &tgs, &[group("CodeDeploy_web_dg_d-ABC", &[], &[])]).unwrap_err(),
        PlanFault::UnresolvedTargetGroups(vec!["tg-b".into()])
    );
}

#[test]
fn attach_batches_respect_the_per_call_limit_target_groups_first() {
    let mut d = blue_green();
    d.target_group_names = (0..23).map(|i| format!("tg{i}")).collect();
    d.load_balancer_names = (0..11).map(|i| format!("clb{i}")).collect();
    let work = assess(&d).unwrap();
    let tgs = d
        .target_group_names
        .iter()
        .map(|n| (n.clone(), format!("arn:{n}")))
        .collect();
    let plans = plan(&work, &tgs, &[group("CodeDeploy_web_dg_d-ABC", &[], &[])]).unwrap();
    let batches = plans[0].attach_batches();
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![10, 10, 10, 4]);
    assert_eq!(batches[2][2], TrafficSource::TargetGroup("arn:tg22".into()));
    assert_eq!(batches[2][3], TrafficSource::LoadBalancer("clb0".into()));
    assert_eq!(batches[3][3], TrafficSource::LoadBalancer("clb10".into()));
}

#[test]
fn attach_batches_hold_only_what_is_missing() {
    let work = assess(&blue_green()).unwrap();
    let plans = plan(
        &work,
        &resolved(),
        &[group("CodeDeploy_web_dg_d-ABC", &["arn:a"], &[])],
    )
    .unwrap();
    assert_eq!(
        plans[0].attach_batches(),
        vec![vec![
            TrafficSource::TargetGroup("arn:b".into()),
            TrafficSource::LoadBalancer("clb".into()),
        ]]
    );
    let complete = plan(
        &work,
        &resolved(),
        &[group(
            "CodeDeploy_web_dg_d-ABC",
            &["arn:a", "arn:b"],
            &["clb"],
        )],
    )
    .unwrap();
    assert!(complete[0].attach_batches().is_empty());
}

fn attached(source: &str, state: &str) -> Attachment {
    Attachment {
        source: source.into(),
        state: state.into(),
    }
}

#[test]
fn confirm_accepts_added_and_in_service_and_reports_adding_as_pending() {
    let work = assess(&blue_green()).unwrap();
    let p = &plan(
        &work,
        &resolved(),
        &[group("CodeDeploy_web_dg_d-ABC", &[], &[])],
    )
    .unwrap()[0];
    let c = confirm(
        p,
        &[
            attached("arn:a", "Added"),
            attached("arn:b", "Adding"),
            attached("clb", "InService"),
        ],
    );
    assert_eq!(
        c,
        Confirmation {
            absent: vec![],
            unlisted: vec![],
            pending: vec!["arn:b".into()]
        }
    );
}

#[test]
fn confirm_names_removing_sources_absent_and_unlisted_attached_ones_unlisted() {
    let work = assess(&blue_green()).unwrap();
    let p = &plan(
        &work,
        &resolved(),
        &[group("CodeDeploy_web_dg_d-ABC", &[], &[])],
    )
    .unwrap()[0];
    let c = confirm(
        p,
        &[attached("arn:a", "Removing"), attached("clb", "Removed")],
    );
    assert_eq!(c.absent, vec!["arn:a", "clb"]);
    // Attached by this run and not listed yet: read again, not a failure yet.
    assert_eq!(c.unlisted, vec!["arn:b"]);
    assert!(c.pending.is_empty());
}

#[test]
fn confirm_counts_a_source_the_group_already_had_as_present_unless_it_is_leaving() {
    // DescribeAutoScalingGroups listed arn:a before the run: a read-back that does not list
    // it yet (no read-after-write consistency is documented) does not make it absent.
    let work = assess(&blue_green()).unwrap();
    let mut g = group("CodeDeploy_web_dg_d-ABC", &[], &[]);
    g.traffic_sources = vec!["arn:a".into()];
    let p = &plan(&work, &resolved(), &[g]).unwrap()[0];
    let c = confirm(p, &[attached("arn:b", "Added"), attached("clb", "Added")]);
    assert_eq!(c, Confirmation::default());
    let c = confirm(
        p,
        &[
            attached("arn:a", "Removing"),
            attached("arn:b", "Added"),
            attached("clb", "Adding"),
        ],
    );
    assert_eq!(c.absent, vec!["arn:a"]);
    assert_eq!(c.pending, vec!["clb"]);
    // Not yet listed, attached by this run: unlisted, never pending.
    let c = confirm(p, &[attached("arn:b", "Added")]);
    assert_eq!(c.unlisted, vec!["clb"]);
}

#[test]
fn registration_is_ours_only_where_auto_scaling_is_done_adding() {
    let gap = |source: TrafficSource| Registration {
        traffic_source: source,
        instance_ids: vec!["i-1".into()],
    };
    let gaps = vec![
        gap(TrafficSource::TargetGroup("arn:a".into())),
        gap(TrafficSource::TargetGroup("arn:b".into())),
        gap(TrafficSource::LoadBalancer("clb".into())),
        gap(TrafficSource::LoadBalancer("gone".into())),
        gap(TrafficSource::TargetGroup("arn:leaving".into())),
    ];
    let split = registrable(
        gaps,
        &[
            attached("arn:a", "Added"),
            attached("arn:b", "Adding"),
            attached("clb", "InService"),
            attached("arn:leaving", "Removing"),
        ],
    );
    assert_eq!(
        split.to_register,
        vec![
            gap(TrafficSource::TargetGroup("arn:a".into())),
            gap(TrafficSource::LoadBalancer("clb".into())),
        ]
    );
    assert_eq!(split.pending, vec!["arn:b", "gone"]);
}

#[test]
fn a_target_unhealthy_and_draining_is_leaving_like_a_draining_one() {
    let g = GroupState {
        name: "g".into(),
        instances: vec![GroupInstance {
            instance_id: "i-1".into(),
            lifecycle_state: "InService".into(),
            health_status: "Healthy".into(),
        }],
        ..GroupState::default()
    };
    let tg = TrafficSource::TargetGroup("arn:a".into());
    for (state, lacking) in [
        ("healthy", false),
        ("initial", false),
        ("unhealthy", false),
        ("draining", true),
        ("unhealthy.draining", true),
    ] {
        let registered = BTreeMap::from([(
            tg.clone(),
            vec![RegisteredTarget {
                instance_id: "i-1".into(),
                state: state.into(),
            }],
        )]);
        let gaps = unregistered(&g, std::slice::from_ref(&tg), &registered);
        assert_eq!(!gaps.is_empty(), lacking, "{state}");
    }
}

#[test]
fn a_rollback_is_skipped_whatever_its_targets_and_status_naming_what_it_rolls_back() {
    // Every status a deployment passes through, with the failed deployment's replacement group
    // named in targetInstances or not: never work, so nothing is attached or registered.
    for status in [
        "Created",
        "InProgress",
        "Baking",
        "Succeeded",
        "Failed",
        "Ready",
    ] {
        for targets in [vec![], vec!["CodeDeploy_web_dg_d-FAILED001".to_owned()]] {
            let mut d = blue_green();
            d.id = "d-ROLLBACK1".into();
            d.status = status.into();
            d.creator = Some("codeDeployRollback".into());
            d.target_instance_groups = targets.clone();
            d.rolled_back_deployment = Some("d-FAILED001".into());
            let skip = assess(&d).unwrap_err();
            assert_eq!(
                skip,
                Skip::Rollback {
                    rolled_back_deployment: Some("d-FAILED001".into())
                },
                "{status} {targets:?}"
            );
            assert!(
                skip.to_string().contains("rolling back d-FAILED001"),
                "{skip}"
            );
        }
    }
    // rollbackInfo not reported: still a rollback, the reason names nothing it did not see.
    let mut d = blue_green();
    d.creator = Some("codeDeployRollback".into());
    let skip = assess(&d).unwrap_err();
    assert_eq!(
        skip,
        Skip::Rollback {
            rolled_back_deployment: None
        }
    );
    assert!(!skip.to_string().contains("rolling back"), "{skip}");
    // Only the creator decides: rollback information on a user's deployment is not a rollback.
    let mut d = blue_green();
    d.rolled_back_deployment = Some("d-OTHER0001".into());
    assert!(assess(&d).is_ok());
}

#[test]
fn follow_on_deployments_are_skipped_and_do_not_supersede_the_live_fleet() {
    for creator in [
        "autoscaling",
        "CodeDeployAutoUpdate",
        "autoscalingTermination",
    ] {
        let mut d = blue_green();
        d.creator = Some(creator.into());
        assert_eq!(
            assess(&d),
            Err(Skip::FollowOn {
                creator: creator.into()
            })
        );
    }
    let mut d = blue_green();
    d.status = "Succeeded".into();
    let work = assess(&d).unwrap();
    let later = |creator: Option<&str>| {
        MomentFacts::Fleet(DeploymentGroupState {
            fleet: vec!["CodeDeploy_web_dg_d-ABC".into()],
            last_attempted: Some(LastDeployment {
                id: "d-NEXT".into(),
                status: "InProgress".into(),
                creator: creator.map(str::to_owned),
            }),
            active: vec![],
        })
    };
    for creator in [
        "autoscaling",
        "CodeDeployAutoUpdate",
        "autoscalingTermination",
    ] {
        assert_eq!(
            at_moment(work.clone(), &later(Some(creator))),
            Ok(work.clone()),
            "{creator}"
        );
    }
    // Replacing the fleet, or not known to leave it alone: the fleet is out of play.
    for creator in [
        Some("user"),
        Some("codeDeployRollback"),
        Some("CloudFormation"),
        Some(""),
        None,
    ] {
        assert!(
            matches!(
                at_moment(work.clone(), &later(creator)),
                Err(Hold::Skipped(Skip::LaterDeploymentUnderWay { .. }))
            ),
            "{creator:?}"
        );
    }
}

#[test]
fn an_active_deployment_that_replaces_the_fleet_counts_even_behind_a_newer_follow_on() {
    let deployment = |id: &str, status: &str, creator: Option<&str>| LastDeployment {
        id: id.into(),
        status: status.into(),
        creator: creator.map(str::to_owned),
    };
    // The newest is a follow-on (finished or not); a user's deployment is still active.
    for status in ["Succeeded", "InProgress"] {
        let state = DeploymentGroupState {
            fleet: vec![],
            last_attempted: Some(deployment("d-FOLLOW", status, Some("autoscaling"))),
            active: vec![
                deployment("d-USER", "Ready", Some("user")),
                deployment("d-FOLLOW", "InProgress", Some("autoscaling")),
            ],
        };
        assert_eq!(
            state.replacing("d-ABC").map(|d| d.id.as_str()),
            Some("d-USER"),
            "{status}"
        );
        // The run's own deployment is never "a later one".
        assert_eq!(state.replacing("d-USER"), None);
    }
    // Only follow-ons active: nothing replaces the fleet.
    let state = DeploymentGroupState {
        fleet: vec![],
        last_attempted: Some(deployment("d-FOLLOW", "InProgress", Some("autoscaling"))),
        active: vec![deployment("d-FOLLOW", "InProgress", Some("autoscaling"))],
    };
    assert_eq!(state.replacing("d-ABC"), None);
    // A newest deployment active but not listed (it started since) counts as replacing.
    let state = DeploymentGroupState {
        fleet: vec![],
        last_attempted: Some(deployment("d-NEW", "Created", None)),
        active: vec![],
    };
    assert_eq!(
        state.replacing("d-ABC").map(|d| d.id.as_str()),
        Some("d-NEW")
    );
}

#[test]
fn a_notification_is_in_scope_as_iam_would_match_its_deployment_group_arn() {
    for (pattern, expected) in [
        ("*", true),
        ("web/*", true),
        ("web/prod-*", true),
        ("*/prod-?", true),
        ("web*", true),
        ("shop/*", false),
        ("web/staging-*", false),
        ("Web/*", false),
    ] {
        assert_eq!(
            deployment_group_in_scope(pattern, "web", "prod-1"),
            expected,
            "{pattern}"
        );
    }
}

#[test]
fn wildcards_match_as_iam_matches_them() {
    for (pattern, text, expected) in [
        ("*", "", true),
        ("*", "prod", true),
        ("prod", "prod", true),
        ("prod", "Prod", false),
        ("prod-*", "prod-web", true),
        ("prod-*", "prod-", true),
        ("prod-*", "staging-web", false),
        ("*-web", "prod-web", true),
        ("*-web", "prod-api", false),
        ("p?od", "prod", true),
        ("p?od", "pod", false),
        ("a*b*c", "aXbYc", true),
        ("a*b*c", "aXbY", false),
        ("a*a", "aaa", true),
        ("**", "x", true),
        ("a*", "a*b", true),
        ("prod-*", "prod-*x", true),
        ("a?c", "a*c", true),
    ] {
        assert_eq!(
            wildcard_match(pattern, text),
            expected,
            "{pattern} against {text}"
        );
    }
}

#[test]
fn scope_is_judged_from_the_deployment_group_part_of_the_pattern() {
    assert_eq!(scope("*", "web_dg"), Scope::Inside);
    assert_eq!(scope("*/*", "web_dg"), Scope::Inside);
    assert_eq!(scope("*/web_*", "web_dg"), Scope::Inside);
    assert_eq!(scope("*/api_*", "web_dg"), Scope::Outside);
    assert_eq!(scope("shop/prod-*", "staging-web"), Scope::Outside);
    // The application is not in a replacement group's name: it may or may not match.
    assert_eq!(scope("shop/*", "web_dg"), Scope::Unknown);
    assert_eq!(scope("shop/prod-*", "prod-web"), Scope::Unknown);
    // No `/`: a `*` may span the application and the group.
    assert_eq!(scope("shop*", "web_dg"), Scope::Unknown);
    assert_eq!(scope("*/web", "a/web"), Scope::Unknown);
}

#[test]
fn replacement_group_names_parse_with_underscores_in_the_deployment_group() {
    assert_eq!(
        parse_replacement_group_name("CodeDeploy_web_dg_d-ABC"),
        Some(("web_dg", "d-ABC"))
    );
    assert_eq!(
        parse_replacement_group_name("CodeDeploy_a_b_c_d-1"),
        Some(("a_b_c", "d-1"))
    );
    assert_eq!(parse_replacement_group_name("CodeDeploy_web"), None);
    assert_eq!(parse_replacement_group_name("CodeDeploy__d-1"), None);
    assert_eq!(parse_replacement_group_name("CodeDeploy_web_"), None);
    assert_eq!(parse_replacement_group_name("web_dg_d-ABC"), None);
    let name = replacement_group_name("my_dg", "d-XYZ");
    assert_eq!(
        parse_replacement_group_name(&name),
        Some(("my_dg", "d-XYZ"))
    );
}

fn group_instance(id: &str, lifecycle_state: &str) -> GroupInstance {
    GroupInstance {
        instance_id: id.into(),
        lifecycle_state: lifecycle_state.into(),
        health_status: "Healthy".into(),
    }
}

fn listed(id: &str, state: &str) -> RegisteredTarget {
    RegisteredTarget {
        instance_id: id.into(),
        state: state.into(),
    }
}

#[test]
fn only_a_succeeded_deployment_is_checked_for_registration() {
    for (status, succeeded) in [
        ("Succeeded", true),
        ("Baking", false),
        ("InProgress", false),
    ] {
        let mut deployment = blue_green();
        deployment.status = status.into();
        assert_eq!(
            assess(&deployment).unwrap().succeeded,
            succeeded,
            "{status}"
        );
    }
}

#[test]
fn unregistered_names_each_sources_missing_in_service_instances_only() {
    let tg = TrafficSource::TargetGroup("arn:tg".into());
    let lb = TrafficSource::LoadBalancer("clb".into());
    let complete = TrafficSource::TargetGroup("arn:complete".into());
    let mut group = group("g", &[], &[]);
    group.instances = vec![
        group_instance("i-1", "InService"),
        group_instance("i-2", "InService"),
        group_instance("i-3", "Standby"),
        group_instance("i-4", "Pending"),
        group_instance("i-5", "Terminating"),
        GroupInstance {
            health_status: "Unhealthy".into(),
            ..group_instance("i-6", "InService")
        },
    ];
    let registered = BTreeMap::from([
        // i-1 on its way out counts as not registered; any other state counts as registered.
        (
            tg.clone(),
            vec![listed("i-1", "draining"), listed("i-2", "unhealthy")],
        ),
        (lb.clone(), vec![listed("i-9", "InService")]),
        (
            complete.clone(),
            vec![listed("i-1", "initial"), listed("i-2", "unused")],
        ),
    ]);
    assert_eq!(
        unregistered(&group, &[tg.clone(), lb.clone(), complete], &registered),
        vec![
            Registration {
                traffic_source: tg,
                instance_ids: vec!["i-1".into()]
            },
            Registration {
                traffic_source: lb,
                instance_ids: vec!["i-1".into(), "i-2".into()]
            },
        ]
    );
}

#[test]
fn a_source_that_lists_nothing_lacks_every_in_service_instance() {
    let tg = TrafficSource::TargetGroup("arn:tg".into());
    let mut group = group("g", &[], &[]);
    group.instances = vec![
        group_instance("i-1", "InService"),
        group_instance("i-2", "Standby"),
    ];
    assert_eq!(
        unregistered(&group, std::slice::from_ref(&tg), &BTreeMap::new()),
        vec![Registration {
            traffic_source: tg,
            instance_ids: vec!["i-1".into()]
        }]
    );
    group.instances = vec![group_instance("i-2", "Standby")];
    assert_eq!(
        unregistered(
            &group,
            &[TrafficSource::LoadBalancer("clb".into())],
            &BTreeMap::new()
        ),
        vec![],
        "a group with no InService instance lacks nothing"
    );
}

#[test]
fn traffic_sources_before_the_plan_leave_out_what_it_attaches() {
    let plan = GroupPlan {
        auto_scaling_group: "g".into(),
        target_group_arns: vec!["arn:a".into(), "arn:b".into()],
        load_balancer_names: vec!["clb".into()],
        missing_target_group_arns: vec!["arn:b".into()],
        missing_load_balancer_names: vec!["clb".into()],
    };
    assert_eq!(
        plan.traffic_sources(false),
        vec![TrafficSource::TargetGroup("arn:a".into())]
    );
    assert_eq!(
        plan.traffic_sources(true),
        vec![
            TrafficSource::TargetGroup("arn:a".into()),
            TrafficSource::TargetGroup("arn:b".into()),
            TrafficSource::LoadBalancer("clb".into()),
        ]
    );
}

#[test]
fn registrations_of_several_groups_merge_per_source() {
    let tg = TrafficSource::TargetGroup("arn:tg".into());
    let lb = TrafficSource::LoadBalancer("clb".into());
    let gap = |source: &TrafficSource, ids: &[&str]| Registration {
        traffic_source: source.clone(),
        instance_ids: ids.iter().map(|i| i.to_string()).collect(),
    };
    assert_eq!(
        merge_registrations([
            gap(&tg, &["i-1"]),
            gap(&lb, &["i-1"]),
            gap(&tg, &["i-2", "i-1"]),
        ]),
        vec![gap(&tg, &["i-1", "i-2"]), gap(&lb, &["i-1"])]
    );
}

#[test]
fn a_registration_serialises_with_its_source_kind_as_the_key() {
    let registration = Registration {
        traffic_source: TrafficSource::LoadBalancer("clb".into()),
        instance_ids: vec!["i-1".into()],
    };
    assert_eq!(
        serde_json::to_value(&registration).unwrap(),
        serde_json::json!({"loadBalancer": "clb", "instanceIds": ["i-1"]})
    );
}
