//! After success, the live fleet is served: every `InService` instance of the live replacement
//! group is registered with each of its traffic sources, checked and repaired on the wire.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::{audit, block_on, event, handle_event, row, Moto, World};
use codedeploy_tg_hook::aws::Clients;
use codedeploy_tg_hook::plan::TrafficSource;
use codedeploy_tg_hook::report::{Outcome, OutcomeKind};
use codedeploy_tg_hook::run::Settings;
use serde_json::{json, Value};
use tokio::time::Instant;

/// A live replacement group (its deployment `Succeeded`, its deployment group's fleet) that has
/// every traffic source, after the documented failure: one instance went to `Standby`, and every
/// instance was dropped from the first target group and from the classic load balancer.
struct Dropped {
    world: World,
    in_service: BTreeSet<String>,
    standby: String,
}

async fn dropped(moto: &Moto, name: &str, status: &str) -> Dropped {
    let world = moto.world(json!({
        "name": name, "status": status, "instances": 3,
        "targetGroups": 2, "classicLoadBalancers": 1,
        "attachedTargetGroups": 2, "attachedLoadBalancers": 1,
    }));
    let clients = moto.clients().await;
    let ids = moto.instance_ids(&clients, &world.replacement_group).await;
    assert_eq!(ids.len(), 3, "three instances: {ids:?}");
    let standby = ids[2].clone();
    clients
        .autoscaling()
        .enter_standby()
        .auto_scaling_group_name(&world.replacement_group)
        .instance_ids(&standby)
        .should_decrement_desired_capacity(true)
        .send()
        .await
        .expect("EnterStandby");
    moto.deregister_targets(&clients, &world.target_group_arns[0], &ids)
        .await;
    let instances: Vec<_> = ids
        .iter()
        .map(|id| {
            aws_sdk_elasticloadbalancing::types::Instance::builder()
                .instance_id(id)
                .build()
        })
        .collect();
    clients
        .elb()
        .deregister_instances_from_load_balancer()
        .load_balancer_name(&world.load_balancers[0])
        .set_instances(Some(instances))
        .send()
        .await
        .expect("DeregisterInstancesFromLoadBalancer");
    let dropped = Dropped {
        in_service: ids[..2].iter().cloned().collect(),
        standby,
        world,
    };
    // The first target group still lists them, as draining: the check must not count those.
    assert_eq!(
        draining(&clients, &dropped.world.target_group_arns[0]).await,
        ids.iter().cloned().collect::<BTreeSet<_>>(),
        "a deregistered target is listed as draining"
    );
    dropped
}

async fn draining(clients: &Clients, target_group_arn: &str) -> BTreeSet<String> {
    clients
        .elbv2()
        .describe_target_health()
        .target_group_arn(target_group_arn)
        .send()
        .await
        .expect("DescribeTargetHealth")
        .target_health_descriptions()
        .iter()
        .filter(|d| {
            d.target_health()
                .and_then(|h| h.state())
                .map(|s| s.as_str())
                == Some("draining")
        })
        .filter_map(|d| d.target()?.id().map(str::to_owned))
        .collect()
}

/// The instances registered now with each source of the world, by ARN or name.
fn registered(moto: &Moto, world: &World) -> Vec<(String, BTreeSet<String>)> {
    moto.registered(world)
        .into_iter()
        .map(|(source, ids)| (source, ids.into_iter().collect()))
        .collect()
}

/// Every InService instance of the group is registered with every source, and the Standby one
/// with none of the sources it was dropped from.
fn assert_served(moto: &Moto, dropped: &Dropped) {
    for (source, ids) in registered(moto, &dropped.world) {
        assert!(
            dropped.in_service.is_subset(&ids),
            "{source} must list every InService instance {:?}: {ids:?}",
            dropped.in_service
        );
    }
    let world = &dropped.world;
    for source in [&world.target_group_arns[0], &world.load_balancers[0]] {
        let ids = &registered(moto, world)
            .into_iter()
            .find(|(s, _)| s == source)
            .unwrap()
            .1;
        assert!(
            !ids.contains(&dropped.standby),
            "the Standby instance is never registered with {source}"
        );
    }
}

/// The calls of the request log whose action starts with `prefix`.
fn calls(moto: &Moto, prefix: &str) -> Vec<Value> {
    moto.requests()
        .into_iter()
        .filter(|r| r["action"].as_str().unwrap_or("").starts_with(prefix))
        .collect()
}

fn ids_of(registrations: &Value) -> BTreeSet<String> {
    registrations
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["instanceIds"].as_array().unwrap().clone())
        .map(|i| i.as_str().unwrap().to_owned())
        .collect()
}

async fn run(moto: &Moto, payload: Value) -> Outcome {
    let clients = moto.clients().await;
    let settings = Settings {
        confirm_window: Duration::from_secs(5),
        poll_interval: Duration::from_millis(100),
        dry_run: false,
    };
    let mut outcomes = handle_event(
        &clients,
        payload,
        Instant::now() + Duration::from_secs(60),
        &settings,
    )
    .await
    .expect("a valid event");
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0)
}

#[test]
fn audit_reports_unregistered_instances_and_fix_registers_exactly_the_in_service_ones() {
    let moto = Moto::start();
    let dropped = block_on(dropped(&moto, "au", "Succeeded"));
    let world = &dropped.world;

    let (code, report) = audit(&moto, &[]);
    assert_eq!(
        code,
        Some(3),
        "unregistered instances make the audit exit 3: {report}"
    );
    let r = row(&report, &world.replacement_group);
    assert_eq!(r["status"], "unregistered", "{r}");
    let unregistered = r["unregistered"].as_array().unwrap();
    assert_eq!(
        unregistered
            .iter()
            .map(|u| (u["targetGroup"].clone(), u["loadBalancer"].clone()))
            .collect::<Vec<_>>(),
        vec![
            (json!(world.target_group_names[0]), Value::Null),
            (Value::Null, json!(world.load_balancers[0])),
        ],
        "the first target group (by name) and the classic load balancer, not the complete one: {r}"
    );
    for u in unregistered {
        assert_eq!(ids_of(&json!([u])), dropped.in_service, "{u}");
    }
    assert!(
        calls(&moto, "Register").is_empty(),
        "the audit alone registers nothing"
    );

    let (code, table) = {
        let out = moto
            .cli()
            .args(["audit", "--output", "table"])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(code, Some(3));
    // The header is two lines: "instances" over "unregistered".
    let header = table.lines().take(4).collect::<Vec<_>>().join("\n");
    assert!(
        header.contains("instances") && header.contains("unregistered"),
        "{table}"
    );
    assert!(
        table.contains("1 unregistered"),
        "the summary counts the group: {table}"
    );
    let line = table
        .lines()
        .find(|l| l.contains(&world.replacement_group))
        .unwrap();
    assert!(
        line.contains(" 2 "),
        "the row counts its 2 instances: {line}"
    );

    moto.clear_requests();
    let (code, fixed) = audit(&moto, &["--fix"]);
    assert_eq!(code, Some(0), "{fixed}");
    let r = row(&fixed, &world.replacement_group);
    assert_eq!(r["status"], "repaired", "{r}");
    assert_eq!(ids_of(&r["unregistered"]), dropped.in_service, "{r}");
    assert_served(&moto, &dropped);
    let registrations = calls(&moto, "Register");
    assert_eq!(
        registrations.len(),
        2,
        "one call per source: {registrations:?}"
    );
    for call in &registrations {
        let body = call["body"].as_str().unwrap();
        assert!(
            !body.contains(&dropped.standby),
            "never the Standby instance: {body}"
        );
    }
    assert!(calls(&moto, "Deregister").is_empty());

    let (code, again) = audit(&moto, &[]);
    assert_eq!(code, Some(0), "a second audit is clean: {again}");
    assert_eq!(row(&again, &world.replacement_group)["status"], "ok");
}

#[test]
fn success_notifications_and_direct_calls_register_the_in_service_instances_a_source_lacks() {
    let moto = Moto::start();
    for (name, shape, status) in [
        ("sn", "sns", "SUCCEEDED"),
        ("eb", "eventbridge", "SUCCESS"),
        ("dc", "direct", ""),
    ] {
        let dropped = block_on(dropped(&moto, name, "Succeeded"));
        let outcome = block_on(run(
            &moto,
            event(shape, &dropped.world.deployment_id, status),
        ));
        assert_eq!(
            outcome.outcome,
            OutcomeKind::AlreadyAttached,
            "{shape}: {outcome:?}"
        );
        let registered = serde_json::to_value(&outcome.registered).unwrap();
        assert_eq!(
            outcome
                .registered
                .iter()
                .map(|r| r.traffic_source.clone())
                .collect::<BTreeSet<_>>(),
            BTreeSet::from([
                TrafficSource::TargetGroup(dropped.world.target_group_arns[0].clone()),
                TrafficSource::LoadBalancer(dropped.world.load_balancers[0].clone()),
            ]),
            "{shape}: the outcome lists each source's registration: {registered}"
        );
        assert_eq!(ids_of(&registered), dropped.in_service, "{shape}");
        let reason = outcome.reason.clone().unwrap_or_default();
        assert!(reason.starts_with("registered "), "{shape}: {reason}");
        assert_served(&moto, &dropped);
    }
}

#[test]
fn a_refused_registration_fails_naming_the_instances_and_the_target_group() {
    let moto = Moto::start();
    let dropped = block_on(dropped(&moto, "rf", "Succeeded"));
    moto.fault_with(
        "RegisterTargets",
        "access-denied",
        1000,
        &[],
        json!({"service": "elasticloadbalancing"}),
    );
    moto.clear_requests();
    let outcome = block_on(run(
        &moto,
        event("sns", &dropped.world.deployment_id, "SUCCEEDED"),
    ));
    assert_eq!(outcome.outcome, OutcomeKind::Failed, "{outcome:?}");
    assert!(
        outcome.is_function_error(),
        "a failed notification is a function error"
    );
    // The refusal stops nothing else: the classic load balancer's registration is carried to
    // its end and stays on the outcome.
    assert_eq!(calls(&moto, "RegisterInstancesWithLoadBalancer").len(), 1);
    assert_eq!(
        outcome
            .registered
            .iter()
            .map(|r| r.traffic_source.clone())
            .collect::<Vec<_>>(),
        vec![TrafficSource::LoadBalancer(
            dropped.world.load_balancers[0].clone()
        )],
        "{outcome:?}"
    );
    let reason = outcome.reason.clone().unwrap();
    for needed in dropped.in_service.iter().chain([
        &dropped.world.target_group_arns[0],
        &dropped.world.replacement_group,
    ]) {
        assert!(
            reason.contains(needed.as_str()),
            "{reason} must name {needed}"
        );
    }
    assert!(
        reason.contains("elasticloadbalancing:RegisterTargets"),
        "{reason}"
    );
    assert!(!reason.contains(&dropped.standby), "{reason}");
    assert_eq!(outcome.error_code.as_deref(), Some("AccessDenied"));
}

#[test]
fn a_superseded_group_and_a_deployment_under_way_are_never_checked_or_registered() {
    let moto = Moto::start();
    let superseded = block_on(dropped(&moto, "ss", "Succeeded"));
    moto.supersede(&superseded.world);
    let under_way = block_on(dropped(&moto, "uw", "InProgress"));
    moto.clear_requests();

    let outcome = block_on(run(
        &moto,
        event("sns", &superseded.world.deployment_id, "SUCCEEDED"),
    ));
    assert_eq!(outcome.outcome, OutcomeKind::Skipped, "{outcome:?}");
    let hook = event("lifecycle-hook", &under_way.world.deployment_id, "");
    let outcome = block_on(run(&moto, hook));
    assert_eq!(outcome.outcome, OutcomeKind::AlreadyAttached, "{outcome:?}");
    assert!(outcome.registered.is_empty());
    let (_, fixed) = audit(&moto, &["--fix"]);
    assert_eq!(
        row(&fixed, &superseded.world.replacement_group)["status"],
        "skipped"
    );
    assert_eq!(
        row(&fixed, &under_way.world.replacement_group)["status"],
        "ok"
    );

    for prefix in ["Register", "DescribeTargetHealth", "DescribeInstanceHealth"] {
        assert!(
            calls(&moto, prefix).is_empty(),
            "no {prefix} call: {:?}",
            calls(&moto, prefix)
        );
    }
}

#[test]
fn attach_on_a_succeeded_deployment_registers_and_its_dry_run_only_says_what_it_would() {
    let moto = Moto::start();
    let dropped = block_on(dropped(&moto, "at", "Succeeded"));
    let attach = |extra: &[&str]| {
        let out = moto
            .cli()
            .args(["attach", "--deployment-id", &dropped.world.deployment_id])
            .args(extra)
            .output()
            .unwrap();
        let outcome: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
        });
        (out.status.code(), outcome)
    };
    moto.clear_requests();
    let (code, planned) = attach(&["--dry-run"]);
    assert_eq!(code, Some(0), "{planned}");
    assert_eq!(planned["outcome"], "planned");
    let reason = planned["reason"].as_str().unwrap();
    assert!(reason.starts_with("would register "), "{reason}");
    for id in &dropped.in_service {
        assert!(reason.contains(id.as_str()), "{reason} must name {id}");
    }
    assert!(
        calls(&moto, "Register").is_empty(),
        "a dry run registers nothing"
    );

    let (code, outcome) = attach(&[]);
    assert_eq!(code, Some(0), "{outcome}");
    assert_eq!(
        ids_of(&outcome["registered"]),
        dropped.in_service,
        "{outcome}"
    );
    assert_served(&moto, &dropped);
}

#[test]
fn an_unhealthy_instance_is_not_registered_and_a_registration_is_one_call_per_source() {
    let moto = Moto::start();
    let dropped = block_on(dropped(&moto, "uh", "Succeeded"));
    let unhealthy = dropped.in_service.iter().next().unwrap().clone();
    block_on(async {
        moto.clients()
            .await
            .autoscaling()
            .set_instance_health()
            .instance_id(&unhealthy)
            .health_status("Unhealthy")
            .send()
            .await
            .expect("SetInstanceHealth");
    });
    moto.clear_requests();
    let outcome = block_on(run(
        &moto,
        event("eventbridge", &dropped.world.deployment_id, "SUCCESS"),
    ));
    assert_eq!(outcome.outcome, OutcomeKind::AlreadyAttached, "{outcome:?}");
    let healthy: BTreeSet<String> = dropped
        .in_service
        .iter()
        .filter(|id| **id != unhealthy)
        .cloned()
        .collect();
    assert_eq!(
        ids_of(&serde_json::to_value(&outcome.registered).unwrap()),
        healthy,
        "Auto Scaling is about to replace an unhealthy instance: not registered"
    );
    let registrations = calls(&moto, "Register");
    assert_eq!(
        registrations.len(),
        2,
        "one call per source: {registrations:?}"
    );
    for call in &registrations {
        assert!(!call["body"].as_str().unwrap().contains(&unhealthy));
    }
}

#[test]
fn a_group_superseded_during_the_run_gets_nothing_registered() {
    let moto = Moto::start();
    let dropped = block_on(dropped(&moto, "sd", "Succeeded"));
    // The fleet moves on after the first read (live) and before the second, the one made
    // before registering.
    moto.supersede_when(&dropped.world, "GetDeploymentGroup", 1);
    moto.clear_requests();
    let payload = event("sns", &dropped.world.deployment_id, "SUCCEEDED");
    let outcome = block_on(run(&moto, payload));
    assert_eq!(outcome.outcome, OutcomeKind::AlreadyAttached, "{outcome:?}");
    assert!(outcome.registered.is_empty(), "{outcome:?}");
    assert!(
        calls(&moto, "Register").is_empty(),
        "no registration once the fleet moved on"
    );
    assert_eq!(
        calls(&moto, "GetDeploymentGroup").len(),
        2,
        "the fleet is read again before registering"
    );
}

#[test]
fn a_source_auto_scaling_is_still_adding_is_reported_pending_not_registered_with() {
    let moto = Moto::start();
    let dropped = block_on(dropped(&moto, "ad", "Succeeded"));
    let world = &dropped.world;
    // Auto Scaling still Adding every source to the group: it is registering the group's
    // instances itself.
    moto.fault_with(
        "DescribeTrafficSources",
        "state",
        100,
        &[&world.replacement_group],
        json!({"state": "Adding"}),
    );
    let outcome = block_on(run(&moto, event("sns", &world.deployment_id, "SUCCEEDED")));
    assert_eq!(outcome.outcome, OutcomeKind::AlreadyAttached, "{outcome:?}");
    assert!(outcome.registered.is_empty(), "{outcome:?}");
    let mut pending = outcome.pending.clone();
    pending.sort();
    let mut lacking = vec![
        world.target_group_arns[0].clone(),
        world.load_balancers[0].clone(),
    ];
    lacking.sort();
    assert_eq!(
        pending, lacking,
        "the sources that lack instances: {outcome:?}"
    );
    let reason = outcome.reason.clone().unwrap_or_default();
    assert!(reason.contains("still Adding"), "{reason}");
    assert!(
        calls(&moto, "Register").is_empty(),
        "nothing registered with a source still Adding"
    );
}
