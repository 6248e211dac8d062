#!/usr/bin/env python3
"""Runs moto_server on 127.0.0.1 with what our tests need and moto lacks.

Additions and corrections, all behind the real AWS wire protocol except the /_harness/ control
routes (../shared/MOTO.md lists where moto differs from AWS):
- CodeDeploy PutLifecycleEventHookExecutionStatus (recorded; a second report of the same
  hook execution gets LifecycleEventAlreadyCompletedException, as in AWS).
- CodeDeploy deployment ids of AWS's shape (`d-` and nine upper-case letters or digits), not UUIDs.
- CodeDeploy ListDeploymentTargets (ServerInstanceLabel / TargetStatus filters, nextToken pages)
  and BatchGetDeploymentTargets (at most 25 ids), over instance targets and lifecycle events the
  harness sets (POST /_harness/deployment-targets, /_harness/lifecycle-event).
- GetDeploymentGroup autoScalingGroups as AWS's structures (name, hook), and a fleet the
  harness can change (POST /_harness/deployment-group-fleet), as a successful deployment does;
  lastAttemptedDeployment and lastSuccessfulDeployment filled from the group's deployments.
- Attaching a classic load balancer to one group no longer deregisters other groups' instances.
- Auto Scaling AttachLoadBalancers rejects unknown classic load balancer names with
  ValidationError, as AWS does (moto accepts any name).
- Auto Scaling AttachTrafficSources and DescribeTrafficSources (target groups and classic load
  balancers): listed in the group's TrafficSources only, instances registered as the group
  scales, unknown sources rejected with ValidationError; DescribeTrafficSources lists every
  source of the group, however it was attached, in pages of at most 50. Per group, a lag
  (POST /_harness/attach-lag): a just-attached source is not listed for a while, then `Adding`,
  then `Added`, as AWS may answer (no read-after-write consistency is documented).
- A deployment's `creator` and `rollbackInfo` can be set (POST /_harness/deployment-status), as
  AWS reports them (moto models no rollback: a rollback is a new deployment CodeDeploy creates).
- Rate limits (POST /_harness/rate-limit): a token bucket per action, answering throttling in
  each protocol's own shape (JSON: ThrottlingException; query: Throttling), as AWS does.
- Fault injection per action and body substring (and, with `region`, only for calls signed for
  that region): throttling, 5xx, access denied, a hang,
  an attach that is accepted but does nothing, attachment states held at `Adding`, and answers
  no AWS endpoint gives (an HTML page, an empty 200, a body of another shape, bytes that are not
  the protocol, half of moto's answer, a bare 500, an 8 MiB body); any of them may answer late,
  and may let the first `skip` matching requests through. Two more kinds stand in for races:
  `barrier` holds matching calls until a round of them has arrived (POST /_harness/barriers
  says whether each round met), and `trigger` runs a harness route when the call arrives (a
  later deployment superseding the fleet), then answers it.
- A request log (action, start, end, status, the client's connection, the body's first 8000
  bytes) for the call-graph test and the benchmark: a request is logged when it arrives (`end`
  and `status` stay null until its answer goes out), so a call the client abandoned still counts.
- HTTP/1.1 connections kept open between requests, as AWS endpoints keep them (werkzeug's
  development server closes each one after its response; see `KeepAliveRequestHandler`).
- IAM SimulatePrincipalPolicy for the roles moto holds (moto has the evaluator, not the call):
  each action on each resource against the role's inline and attached policies, with moto's own
  matching (`*` wildcards; of the conditions, only StringEquals on a key the request gives is
  evaluated, the rest pass; an Allow whose condition fails does not allow, a Deny that matches
  denies explicitly).
  AWS's simulator also applies permissions boundaries and service control policies; this one
  does not.
- Lambda's JSON answers labelled application/json, as Lambda labels them, and JSON protocols'
  answers application/x-amz-json-1.1 (moto labels Lambda's and Organizations' text/html).
- Lambda Invoke passed to a local Lambda emulator (POST /_harness/lambda-proxy), its function
  errors answered as Lambda answers them (200, X-Amz-Function-Error); a `throttle` fault on
  `Invoke` answers 429 TooManyRequestsException, as Lambda does past its concurrency.
- Instance metadata (IMDSv2: token, then the region) on the same port, for the appspec script.
- Several accounts: a world (and a bulk world) is built in `account` through a role assumed
  there (moto maps an assumed role's credentials to the role's account, as AWS does); the
  harness routes take `account` too. POST /_harness/organization makes the default account an
  organization's management account with member accounts (moto's Organizations, paged by its
  own ListAccounts), and a fault can be limited to one account's calls (`account`).
- The Account Management API's ListRegions (moto has none): each account's regions and their
  opt-in status as the harness sets them (POST /_harness/account-regions; default: us-east-1,
  ENABLED_BY_DEFAULT), filtered by RegionOptStatusContains, in pages of `pageSize`.
- POST /_harness/world builds a blue/green world (see `build_world`); POST
  /_harness/doctor-world adds what `doctor` reads: the function and its role (the template's own
  policy, rendered), an instance profile whose role has the template's invoke policy, and one
  fault at a time (see `build_doctor_world`).

Prints one JSON line `{"port": N}` when ready. With --exit-on-stdin-eof it exits when its
parent closes stdin, so a test process that dies never leaves it behind.
"""

import argparse
import io
import json
import logging
import os
import random
import selectors
import string
import sys
import threading
import time
import uuid
from urllib.parse import parse_qs

import werkzeug.serving
from werkzeug.serving import make_server

from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import AutoScalingBackend, autoscaling_backends
from moto.autoscaling.responses import AutoScalingResponse
from moto.codedeploy import responses as codedeploy_responses
from moto.codedeploy.exceptions import CodeDeployException
from moto.codedeploy.models import DeploymentInfo, codedeploy_backends
from moto.codedeploy.responses import CodeDeployResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.elb.models import ELBBackend
from moto.elbv2.models import ELBv2Backend, FakeHealthStatus
from moto.iam.responses import IamResponse
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

ACCOUNT = "123456789012"
LOCK = threading.Lock()
HOOK_REPORTS = []  # every PutLifecycleEventHookExecutionStatus accepted
COMPLETED_HOOKS = set()
FAULTS = []  # dicts: action, match (list of substrings), kind, count, seconds, state
REQUESTS = []  # dicts: action, start, end, status
RATE_LIMIT = {"rate": 0.0, "burst": 0.0}  # requests per second per action; 0: no limit
BUCKETS = {}  # action -> [tokens, last refill time]
# deployment id -> {"pageSize": n, "targets": {target id: {"instanceLabel", "events": {name: status}}}}
TARGETS = {}
TARGETS_PER_BATCH = 25
GREEN_EVENTS = [
    "ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall",
    "ApplicationStart", "ValidateService", "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic",
]
BLUE_EVENTS = ["BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic"]


# --- CodeDeploy: PutLifecycleEventHookExecutionStatus -------------------------------------


class LifecycleEventAlreadyCompletedException(CodeDeployException):
    code = 400

    def __init__(self, message):
        super().__init__("LifecycleEventAlreadyCompletedException", message)


class InvalidLifecycleEventHookExecutionStatusException(CodeDeployException):
    code = 400

    def __init__(self, message):
        super().__init__("InvalidLifecycleEventHookExecutionStatusException", message)


def put_lifecycle_event_hook_execution_status(self):
    deployment_id = self._get_param("deploymentId")
    execution_id = self._get_param("lifecycleEventHookExecutionId")
    status = self._get_param("status")
    backend = codedeploy_backends[self.current_account][self.region]
    backend.get_deployment(deployment_id)  # DeploymentDoesNotExistException, as in AWS
    if status not in ("Succeeded", "Failed"):
        raise InvalidLifecycleEventHookExecutionStatusException(
            f"Status {status} is not valid; use Succeeded or Failed"
        )
    with LOCK:
        key = (deployment_id, execution_id)
        if key in COMPLETED_HOOKS:
            raise LifecycleEventAlreadyCompletedException(
                f"The lifecycle event hook execution {execution_id} is already completed"
            )
        COMPLETED_HOOKS.add(key)
        HOOK_REPORTS.append(
            {
                "deploymentId": deployment_id,
                "lifecycleEventHookExecutionId": execution_id,
                "status": status,
            }
        )
    return ActionResult({"lifecycleEventHookExecutionId": execution_id})


CodeDeployResponse.put_lifecycle_event_hook_execution_status = (
    put_lifecycle_event_hook_execution_status
)


# --- CodeDeploy: deployment ids of AWS's shape ----------------------------------------------

_moto_deployment_init = DeploymentInfo.__init__


def deployment_init(self, *args, **kwargs):
    _moto_deployment_init(self, *args, **kwargs)
    self.deployment_id = "d-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=9))


DeploymentInfo.__init__ = deployment_init


# --- CodeDeploy: a deployment group's fleet, as AWS's structures ---------------------------

_moto_deployment_group_info = codedeploy_responses._deployment_group_info


def last_deployment_info(deployment):
    return {"deploymentId": deployment.deployment_id, "status": deployment.status, "createTime": deployment.create_time}


def backend_of(deployment_group):
    """The CodeDeploy backend (account and region) that holds `deployment_group`."""
    application = deployment_group.application.application_name
    for account in list(codedeploy_backends.keys()):
        for backend in list(codedeploy_backends[account].values()):
            if backend.deployment_groups.get(application, {}).get(deployment_group.deployment_group_name) is deployment_group:
                return backend
    return codedeploy_backends[ACCOUNT]["us-east-1"]


def deployment_group_info(deployment_group):
    info = _moto_deployment_group_info(deployment_group)
    info["autoScalingGroups"] = [
        {"name": name, "hook": f"CodeDeploy-managed-automatic-launch-deployment-hook-{deployment_group.deployment_group_name}"}
        for name in deployment_group.auto_scaling_groups
    ]
    # As AWS fills them: the group's newest deployment, and its newest successful one (moto
    # leaves both empty). Creation order is the backend's insertion order.
    backend = backend_of(deployment_group)
    mine = [d for d in list(backend.deployments.values()) if d.deployment_group is deployment_group]
    info.pop("lastAttemptedDeployment", None)
    info.pop("lastSuccessfulDeployment", None)
    if mine:
        info["lastAttemptedDeployment"] = last_deployment_info(mine[-1])
    succeeded = [d for d in mine if d.status == "Succeeded"]
    if succeeded:
        info["lastSuccessfulDeployment"] = last_deployment_info(succeeded[-1])
    return info


codedeploy_responses._deployment_group_info = deployment_group_info

# --- CodeDeploy: a rollback's rollbackInfo (moto has no rollbacks) ---------------------------

_moto_deployment_info = codedeploy_responses._deployment_info


def deployment_info(deployment):
    info = _moto_deployment_info(deployment)
    if getattr(deployment, "rollback_info", None):
        info["rollbackInfo"] = dict(deployment.rollback_info)
    return info


codedeploy_responses._deployment_info = deployment_info


# --- CodeDeploy: deployment targets -----------------------------------------------------------


class CodeDeployError(CodeDeployException):
    code = 400

    def __init__(self, error_type, message):
        super().__init__(error_type, message)


def target_status(events):
    statuses = list(events.values())
    if "Failed" in statuses:
        return "Failed"
    if all(s in ("Succeeded", "Skipped") for s in statuses):
        return "Succeeded"
    if all(s == "Pending" for s in statuses):
        return "Pending"
    return "InProgress"


def list_deployment_targets(self):
    deployment_id = self._get_param("deploymentId")
    codedeploy_backends[self.current_account][self.region].get_deployment(deployment_id)
    filters = self._get_param("targetFilters") or {}
    labels, statuses = filters.get("ServerInstanceLabel"), filters.get("TargetStatus")
    with LOCK:
        entry = TARGETS.get(deployment_id, {"pageSize": 100, "targets": {}})
        ids = [
            target_id
            for target_id, t in entry["targets"].items()
            if (not labels or t["instanceLabel"] in labels)
            and (not statuses or target_status(t["events"]) in statuses)
        ]
        size = entry["pageSize"]
    token = self._get_param("nextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise CodeDeployError("InvalidNextTokenException", "The next token is not valid")
    result = {"targetIds": ids[start : start + size]}
    if start + size < len(ids):
        result["nextToken"] = str(start + size)
    return ActionResult(result)


def batch_get_deployment_targets(self):
    deployment_id = self._get_param("deploymentId")
    codedeploy_backends[self.current_account][self.region].get_deployment(deployment_id)
    target_ids = self._get_param("targetIds") or []
    if len(target_ids) > TARGETS_PER_BATCH:
        raise CodeDeployError(
            "DeploymentTargetListSizeExceededException",
            f"The maximum number of targets that can be requested is {TARGETS_PER_BATCH}",
        )
    out = []
    with LOCK:
        known = TARGETS.get(deployment_id, {"targets": {}})["targets"]
        for target_id in target_ids:
            if target_id not in known:
                raise CodeDeployError("DeploymentTargetDoesNotExistException", f"Target {target_id} does not exist")
            t = known[target_id]
            out.append(
                {
                    "deploymentTargetType": "InstanceTarget",
                    "instanceTarget": {
                        "deploymentId": deployment_id,
                        "targetId": target_id,
                        "targetArn": f"arn:aws:ec2:{self.region}:{ACCOUNT}:instance/{target_id}",
                        "status": target_status(t["events"]),
                        "lastUpdatedAt": utcnow(),
                        "lifecycleEvents": [
                            {"lifecycleEventName": name, "status": status} for name, status in t["events"].items()
                        ],
                        "instanceLabel": t["instanceLabel"],
                    },
                }
            )
    return ActionResult({"deploymentTargets": out})


CodeDeployResponse.list_deployment_targets = list_deployment_targets
CodeDeployResponse.batch_get_deployment_targets = batch_get_deployment_targets


def set_deployment_targets(payload):
    """Replaces a deployment's targets: [{targetId, instanceLabel, events: {name: status}}]."""
    targets = {}
    for t in payload["targets"]:
        names = GREEN_EVENTS if t.get("instanceLabel", "Green") == "Green" else BLUE_EVENTS
        events = {name: "Pending" for name in names}
        events.update(t.get("events", {}))
        targets[t["targetId"]] = {"instanceLabel": t.get("instanceLabel", "Green"), "events": events}
    with LOCK:
        TARGETS[payload["deploymentId"]] = {"pageSize": payload.get("pageSize", 100), "targets": targets}


def set_lifecycle_event(payload):
    """Sets one lifecycle event of some (default: all Green) targets of a deployment."""
    with LOCK:
        targets = TARGETS[payload["deploymentId"]]["targets"]
        ids = payload.get("targetIds")
        if ids is None:  # absent: every Green target; an empty list: none
            ids = [i for i, t in targets.items() if t["instanceLabel"] == "Green"]
        for target_id in ids:
            targets[target_id]["events"][payload["event"]] = payload["status"]


# --- Auto Scaling: AttachLoadBalancers validates names, as AWS does -----------------------

_moto_attach_load_balancers = AutoScalingBackend.attach_load_balancers


def attach_load_balancers(self, group_name, load_balancer_names):
    known = {lb.name for lb in self.elb_backend.describe_load_balancers(names=None)}
    if any(name not in known for name in load_balancer_names):
        raise ValidationError(
            "Provided Load Balancers may not be valid. Please ensure they exist and try again."
        )
    return _moto_attach_load_balancers(self, group_name, load_balancer_names)


AutoScalingBackend.attach_load_balancers = attach_load_balancers


# --- Auto Scaling: the traffic-source API (AttachTrafficSources, DescribeTrafficSources) -----
# moto lacks both. As in AWS: an attachment made this way is listed in the group's
# TrafficSources only (not in TargetGroupARNs / LoadBalancerNames, nor by the legacy describe
# calls); Auto Scaling registers the group's instances with it, now and as the group scales;
# DescribeTrafficSources lists every traffic source of the group, however it was attached.

TRAFFIC_SOURCES_PER_CALL = 10
TRAFFIC_SOURCE_STATES_PER_PAGE = 50
# AWS documents no read-after-write consistency for DescribeTrafficSources, and an attachment is
# `Adding` before it is `Added`. Per group (POST /_harness/attach-lag): a source attached through
# AttachTrafficSources is left out of DescribeTrafficSources for `absentSeconds`, then `Adding`
# for `addingSeconds`, then `Added`. Groups without a lag answer `Added` at once.
ATTACH_LAG = {}  # group name -> (absent seconds, adding seconds)
ATTACHED_AT = {}  # (group name, identifier) -> time.monotonic() of the attach


def traffic_source_type(source):
    # Stricter than AWS, which infers an ARN's type: our code always names the type, and a
    # request without it must not pass here.
    kind = source.get("Type")
    if kind not in ("elb", "elbv2", "vpc-lattice"):
        raise ValidationError(f"Traffic source type {kind} is not valid")
    return kind


def sources_of(group, kind):
    """The group's sources of one type, legacy attachments first, each once."""
    legacy = list(group.target_group_arns if kind == "elbv2" else group.load_balancer_names)
    extra = [
        s["Identifier"]
        for s in getattr(group, "traffic_sources", None) or []
        if s.get("Type") == kind and s["Identifier"] not in legacy
    ]
    return legacy + extra


def group_named(backend, group_name):
    group = backend.autoscaling_groups.get(group_name)
    if group is None:
        raise ValidationError(f"AutoScalingGroup name not found - {group_name}")
    return group


def attach_traffic_sources(self):
    backend = self.autoscaling_backend
    group = group_named(backend, self._get_param("AutoScalingGroupName"))
    sources = self._get_param("TrafficSources", [])
    if not sources or len(sources) > TRAFFIC_SOURCES_PER_CALL:
        raise ValidationError(f"Specify 1 to {TRAFFIC_SOURCES_PER_CALL} traffic sources")
    known_target_groups = set(backend.elbv2_backend.target_groups)
    known_load_balancers = {lb.name for lb in backend.elb_backend.describe_load_balancers(names=None)}
    wanted = []
    for source in sources:
        kind = traffic_source_type(source)
        known = known_target_groups if kind == "elbv2" else known_load_balancers
        if source["Identifier"] not in known:
            raise ValidationError(
                "Provided Traffic Sources may not be valid. Please ensure they exist and try again."
            )
        wanted.append({"Identifier": source["Identifier"], "Type": kind})
    current = list(getattr(group, "traffic_sources", None) or [])
    for source in wanted:
        if source["Identifier"] not in sources_of(group, source["Type"]):
            current.append(source)
            with LOCK:
                ATTACHED_AT[(group.name, source["Identifier"])] = time.monotonic()
    group.traffic_sources = current
    backend.update_attached_target_groups(group.name)
    backend.update_attached_elbs(group.name)
    return EmptyResult()


def describe_traffic_sources(self):
    group = group_named(self.autoscaling_backend, self._get_param("AutoScalingGroupName"))
    only = self._get_param("TrafficSourceType")
    page = int(self._get_param("MaxRecords") or TRAFFIC_SOURCE_STATES_PER_PAGE)
    if not 1 <= page <= TRAFFIC_SOURCE_STATES_PER_PAGE:
        raise ValidationError(f"MaxRecords must be 1 to {TRAFFIC_SOURCE_STATES_PER_PAGE}")
    states = [
        {"TrafficSource": identifier, "State": state, "Identifier": identifier, "Type": kind}
        for kind in ("elbv2", "elb")
        if only in (None, kind)
        for identifier in sources_of(group, kind)
        for state in [lagged_state(group.name, identifier)]
        if state is not None
    ]
    start = int(self._get_param("NextToken") or 0)
    result = {"TrafficSources": states[start : start + page]}
    if start + page < len(states):
        result["NextToken"] = str(start + page)
    return ActionResult(result)


def lagged_state(group_name, identifier):
    """The state DescribeTrafficSources shows for a source, or None while it is not listed yet."""
    with LOCK:
        lag = ATTACH_LAG.get(group_name)
        attached_at = ATTACHED_AT.get((group_name, identifier))
    if lag is None or attached_at is None:
        return "Added"
    absent, adding = lag
    elapsed = time.monotonic() - attached_at
    if elapsed < absent:
        return None
    return "Adding" if elapsed < absent + adding else "Added"


AutoScalingResponse.attach_traffic_sources = attach_traffic_sources
AutoScalingResponse.describe_traffic_sources = describe_traffic_sources


def update_attached_target_groups(self, group_name):
    group = self.autoscaling_groups[group_name]
    group_ids = {state.instance.id for state in group.instance_states}
    for arn in sources_of(group, "elbv2"):
        target_group = self.elbv2_backend.target_groups.get(arn)
        if target_group is not None:
            self.elbv2_backend.register_targets(arn, [{"Id": i, "Port": target_group.port} for i in group_ids])


AutoScalingBackend.update_attached_target_groups = update_attached_target_groups


# --- Auto Scaling: a classic load balancer shared by several groups keeps every group's ----
# instances (moto deregisters every instance not in the group being updated).


def update_attached_elbs(self, group_name):
    group = self.autoscaling_groups[group_name]
    group_ids = {state.instance.id for state in group.active_instances()}
    # Snapshots: another request's thread may create a group meanwhile (seen in CI: "OrderedDict
    # mutated during iteration", a 500 to a concurrent test's world).
    other_ids = {
        state.instance.id
        for name, other in list(self.autoscaling_groups.items())
        if name != group_name
        for state in list(other.instance_states)
    }
    names = sources_of(group, "elb")
    if not names:
        return
    for elb in self.elb_backend.describe_load_balancers(names=names):
        registered = set(elb.instance_ids)
        self.elb_backend.register_instances(elb.name, group_ids - registered, from_autoscaling=True)
        gone = registered - group_ids - other_ids
        if gone:
            self.elb_backend.deregister_instances(elb.name, gone, from_autoscaling=True)


AutoScalingBackend.update_attached_elbs = update_attached_elbs


# --- ELBv2: a deregistered target stays listed as `draining` (AWS keeps it for the target -----
# group's deregistration delay, 300 s by default; moto drops it at once).

_moto_describe_target_health = ELBv2Backend.describe_target_health


def describe_target_health(self, target_group_arn, targets):
    described = _moto_describe_target_health(self, target_group_arn, targets)
    target_group = self.target_groups.get(target_group_arn)
    if targets or target_group is None:
        return described
    return described + [
        FakeHealthStatus(
            target_id,
            target.get("Port", target_group.port),
            target_group.health_check_port,
            "draining",
            "Target.DeregistrationInProgress",
            "Target deregistration is in progress",
        )
        for target_id, target in target_group.deregistered_targets.items()
        if target_id not in target_group.targets
    ]


ELBv2Backend.describe_target_health = describe_target_health


# --- Classic ELB: one list of registered instances. moto keeps the ones Auto Scaling registered
# apart, and DeregisterInstancesFromLoadBalancer does not remove those; AWS removes any.

_moto_deregister_instances = ELBBackend.deregister_instances


def deregister_instances(self, load_balancer_name, instance_ids, from_autoscaling=False):
    if not from_autoscaling:
        _moto_deregister_instances(self, load_balancer_name, instance_ids, from_autoscaling=True)
    return _moto_deregister_instances(self, load_balancer_name, instance_ids, from_autoscaling)


ELBBackend.deregister_instances = deregister_instances


# --- IAM: SimulatePrincipalPolicy, over the roles and policies moto holds --------------------


def simulate_principal_policy(self):
    from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT]["global"]
    role = backend.get_role_by_arn(self._get_param("PolicySourceArn"))  # NoSuchEntity if unknown
    actions = self._get_param("ActionNames") or []
    resources = self._get_param("ResourceArns") or ["*"]
    # moto's evaluator compares one value a key: a list is matched whole, as one string.
    context = {
        entry["ContextKeyName"]: ",".join(entry.get("ContextKeyValues") or [])
        for entry in (self._get_param("ContextEntries") or [])
    }
    documents = list(role.policies.values()) + list(role.managed_policies.values())

    def statements(document):
        policy = IAMPolicy(document)._policy_json["Statement"]
        return policy if isinstance(policy, list) else [policy]

    def decide(action, resource):
        # Statement by statement: moto answers DENIED for an Allow whose condition fails, where
        # IAM would only not allow (an implicit deny); only a Deny statement denies explicitly.
        allowed = False
        for document in documents:
            for statement in statements(document):
                answer = IAMPolicyStatement(statement).is_action_permitted(
                    action, resource, incoming_condition_values=context
                )
                if statement.get("Effect") == "Deny" and answer == PermissionResult.DENIED:
                    return "explicitDeny"
                if statement.get("Effect") == "Allow" and answer == PermissionResult.PERMITTED:
                    allowed = True
        return "allowed" if allowed else "implicitDeny"

    order = ["allowed", "implicitDeny", "explicitDeny"]
    results = []
    for action in actions:
        per_resource = [(resource, decide(action, resource)) for resource in resources]
        # One result per action, its decision the most restrictive (AWS's EvaluationResult).
        result = {
            "EvalActionName": action,
            "EvalResourceName": resources[0] if len(resources) == 1 else "*",
            "EvalDecision": max((d for _, d in per_resource), key=order.index),
            "MatchedStatements": [],
            "MissingContextValues": [],
        }
        if len(resources) > 1:
            result["ResourceSpecificResults"] = [
                {"EvalResourceName": r, "EvalResourceDecision": d} for r, d in per_resource
            ]
        results.append(result)
    return ActionResult({"EvaluationResults": results, "IsTruncated": False})


IamResponse.simulate_principal_policy = simulate_principal_policy


# --- Faults, on the wire ---------------------------------------------------------------------


def action_of(environ, body):
    path = environ.get("PATH_INFO", "")
    if path.startswith("/2015-03-31/functions/") and path.endswith("/invocations"):
        return "Invoke", "rest-json"
    if path == "/listRegions":
        return "ListRegions", "rest-json"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1], "json"
    form = parse_qs(body.decode("utf-8", "replace"))
    return (form.get("Action") or ["?"])[0], "query"


def error_response(protocol, status, code, message):
    if protocol == "rest-json":  # the code in x-amzn-ErrorType, as REST-JSON services answer
        body = json.dumps({"message": message}).encode()
        return status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)], body
    if protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        return status, [("Content-Type", "application/x-amz-json-1.1")], body
    body = (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    ).encode()
    return status, [("Content-Type", "text/xml")], body


def rate_limited(action):
    """Takes a token from the action's bucket; True when none is left (the request is throttled)."""
    with LOCK:
        rate, burst = RATE_LIMIT["rate"], RATE_LIMIT["burst"]
        if rate <= 0:
            return False
        now = time.monotonic()
        tokens, last = BUCKETS.get(action, [burst, now])
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens >= 1:
            BUCKETS[action] = [tokens - 1, now]
            return False
        BUCKETS[action] = [tokens, now]
        return True


def signed_region(environ):
    """The region a request is signed for: its SigV4 credential scope's (`Credential=AKID/20261207/
    eu-west-1/autoscaling/aws4_request`), which is how moto tells regions apart too."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    scope = authorization.split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    return scope[2] if len(scope) > 2 else None


def request_account(environ):
    """The account a request is made as: moto's own mapping of its access key (an assumed role's
    key is the role's account; any other, the default account)."""
    from moto.iam.models import get_account_id_from

    authorization = environ.get("HTTP_AUTHORIZATION", "")
    access_key = authorization.split("Credential=", 1)[-1].split("/", 1)[0] if "Credential=" in authorization else ""
    return get_account_id_from(access_key) if access_key else ACCOUNT


def take_fault(action, body, region=None, account=None):
    text = body.decode("utf-8", "replace")
    with LOCK:
        for fault in FAULTS:
            if fault["count"] <= 0 or fault["action"] != action:
                continue
            if fault["match"] and not any(m in text for m in fault["match"]):
                continue
            if fault.get("region") and fault["region"] != region:  # only that region's calls
                continue
            if fault.get("account") and fault["account"] != account:  # only that account's calls
                continue
            if fault.get("skip", 0) > 0:  # this many matching requests pass first
                fault["skip"] -= 1
                continue
            fault["count"] -= 1
            return dict(fault)
    return None


# Answers no AWS endpoint gives, but proxies, outages and partial reads do (fault kinds; the
# `truncated` one cuts moto's own answer in half, in `Harness`).
BAD_ANSWERS = {
    # A proxy's or a captive portal's page.
    "html": lambda action, protocol: (
        "200 OK",
        [("Content-Type", "text/html")],
        b"<!DOCTYPE html><html><head><title>Gateway</title></head><body><h1>Service unavailable</h1></body></html>",
    ),
    "empty": lambda action, protocol: (
        "200 OK",
        [("Content-Type", "application/x-amz-json-1.1" if protocol == "json" else "text/xml")],
        b"",
    ),
    # Well-formed, but not this action's answer.
    "other-shape": lambda action, protocol: (
        "200 OK",
        [("Content-Type", "application/x-amz-json-1.1" if protocol == "json" else "text/xml")],
        b'{"items": [{"id": 1}], "status": "ok"}'
        if protocol == "json"
        else f"<OtherResponse><Items><member>1</member></Items><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></OtherResponse>".encode(),
    ),
    "garbage": lambda action, protocol: (
        "200 OK",
        [("Content-Type", "application/octet-stream")],
        b"\x00\x01\xfe\xff not the protocol \x7f" * 8,
    ),
    "bare-500": lambda action, protocol: ("500 Internal Server Error", [], b""),
    # 8 MiB of filler after a start that looks right.
    "huge": lambda action, protocol: (
        "200 OK",
        [("Content-Type", "application/x-amz-json-1.1" if protocol == "json" else "text/xml")],
        (b'{"x": "' if protocol == "json" else f"<{action}Response><x>".encode()) + b"a" * (8 << 20),
    ),
}


def injected(fault, action, protocol):
    kind = fault["kind"]
    if kind == "throttle" and protocol == "rest-json":
        # Lambda's answer to an invoke past the function's or the account's concurrency.
        body = json.dumps({"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User",
                           "message": "Rate Exceeded."}).encode()
        return "429 Too Many Requests", [("Content-Type", "application/json"),
                                         ("x-amzn-ErrorType", "TooManyRequestsException")], body
    if kind == "throttle":
        code = "ThrottlingException" if protocol == "json" else "Throttling"
        return error_response(protocol, "400 Bad Request", code, "Rate exceeded")
    if kind == "region-disabled":
        # What a region that does not take the session's token answers (a region not enabled by
        # default, reached with a token it does not accept: AWS's knowledge center,
        # https://repost.aws/knowledge-center/iam-validate-access-credentials, gives EC2's
        # AuthFailure; for the query protocols' services the code reported is InvalidClientTokenId,
        # "The security token included in the request is invalid", as in
        # https://github.com/grafana/grafana-aws-sdk/pull/129; UnrecognizedClientException is the
        # JSON protocols' word for it). The audit only needs it to be an error that names itself.
        code = "UnrecognizedClientException" if protocol in ("json", "rest-json") else "InvalidClientTokenId"
        return error_response(protocol, "403 Forbidden", code, "The security token included in the request is invalid.")
    if kind == "server-error":
        code = "InternalFailure" if protocol == "json" else "InternalFailure"
        return error_response(protocol, "500 Internal Server Error", code, "We encountered an internal error")
    if kind == "access-denied" and fault.get("service") == "ec2":
        # EC2's own error shape and code (EC2 API reference, "Error codes": UnauthorizedOperation).
        message = (
            f"You are not authorized to perform this operation. User: arn:aws:sts::{ACCOUNT}:assumed-role/operator/me "
            f"is not authorized to perform: ec2:{action} because no identity-based policy allows the ec2:{action} action"
        )
        body = (
            f"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
        ).encode()
        return "403 Forbidden", [("Content-Type", "text/xml")], body
    if kind == "access-denied":
        service = {"json": "codedeploy"}.get(protocol, fault.get("service", "autoscaling"))
        code = "AccessDeniedException" if protocol == "json" else "AccessDenied"
        message = (
            f"User: arn:aws:sts::{ACCOUNT}:assumed-role/hook/fn is not authorized to perform: "
            f"{service}:{action} because no identity-based policy allows the {service}:{action} action"
        )
        return error_response(protocol, "403 Forbidden", code, message)
    if kind in BAD_ANSWERS:
        return BAD_ANSWERS[kind](action, protocol)
    if kind == "answer":  # a well-formed answer with the given body: JSON, or a query protocol's XML text
        if isinstance(fault["body"], str):
            return "200 OK", [("Content-Type", "text/xml")], fault["body"].encode()
        return "200 OK", [("Content-Type", "application/x-amz-json-1.1")], json.dumps(fault["body"]).encode()
    if kind == "swallow":
        if protocol == "json":
            return "200 OK", [("Content-Type", "application/x-amz-json-1.1")], b"{}"
        body = (
            f"<{action}Response><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId>"
            f"</ResponseMetadata></{action}Response>"
        ).encode()
        return "200 OK", [("Content-Type", "text/xml")], body
    return None


# --- Barriers: calls held until a whole round has arrived -------------------------------------
# A `barrier` fault holds each matching call at its gate until `size` calls have arrived there,
# then lets them all through: calls made together pass at once, a call made only after another
# answered never arrives while that one is held, so the gate times out (`timeout`, below the
# client's 5 s attempt timeout) and says so. POST /_harness/barriers reads every gate.

BARRIERS = {}  # gate -> {"size", "arrived", "event", "met"}


def pass_barrier(fault):
    gate = fault["gate"]
    with LOCK:
        barrier = BARRIERS.setdefault(
            gate, {"size": int(fault["size"]), "arrived": 0, "event": threading.Event(), "met": None}
        )
        barrier["arrived"] += 1
        if barrier["arrived"] >= barrier["size"] and barrier["met"] is None:
            barrier["met"] = True
            barrier["event"].set()
    if not barrier["event"].wait(float(fault.get("timeout", 4))):
        with LOCK:
            if barrier["met"] is None:
                barrier["met"] = False
            barrier["event"].set()


def finished(entry, status):
    with LOCK:
        entry["end"] = time.time()
        entry["status"] = int(status.split()[0])


# --- Lambda Invoke, passed to a local Lambda emulator (POST /_harness/lambda-proxy) ----------
# moto runs functions only in Docker. With a target set, an Invoke that no fault answers goes to
# it (`cargo lambda watch`), addressed to the emulator's name for the function when one is given
# (the binary it runs, or `_`), and its answer comes back as Lambda's: a function error is 200
# with X-Amz-Function-Error: Unhandled and the error document as payload (the emulator answers
# 500).

LAMBDA_PROXY = {}


def proxy_invoke(environ, path, body):
    import http.client
    from urllib.parse import urlsplit

    target = urlsplit(LAMBDA_PROXY["target"])
    # Only the function the emulator serves (codedeploy-tg-hook, any qualifier) is renamed; an
    # invoke of any other name reaches the emulator as it is, and fails there as Lambda would.
    from urllib.parse import unquote

    named = unquote(path.split("/")[3])
    if LAMBDA_PROXY.get("function") and named.split(":function:")[-1].split(":")[0] == "codedeploy-tg-hook":
        path = f"/2015-03-31/functions/{LAMBDA_PROXY['function']}/invocations"
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=300)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        status, out = answer.status, answer.read()
        function_error = answer.getheader("X-Amz-Function-Error")
    finally:
        connection.close()
    headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
    try:
        document = json.loads(out or b"null")
    except ValueError:
        document = None
    if function_error or (status >= 500 and isinstance(document, dict) and "errorType" in document):
        return "200 OK", headers + [("X-Amz-Function-Error", function_error or "Unhandled")], out
    return f"{status} {'OK' if status == 200 else 'Error'}", headers, out


# --- Instance metadata (IMDSv2), a stand-in on the launcher's port ---------------------------
# For the appspec script: a session token first (PUT /latest/api/token), then the region with
# the token; a read without one is refused (401), as IMDSv2 does. Each request is logged with
# action `IMDS`.

IMDS_TOKEN = "harness-imds-token"
IMDS_REGION = "us-east-1"


def instance_metadata(environ, path, start_response):
    method = environ.get("REQUEST_METHOD")
    if method == "PUT" and path == "/latest/api/token" and environ.get("HTTP_X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS"):
        status, out = "200 OK", IMDS_TOKEN.encode()
    elif environ.get("HTTP_X_AWS_EC2_METADATA_TOKEN") != IMDS_TOKEN:
        status, out = "401 Unauthorized", b""
    elif method == "GET" and path == "/latest/meta-data/placement/region":
        status, out = "200 OK", IMDS_REGION.encode()
    else:
        status, out = "404 Not Found", b""
    with LOCK:
        REQUESTS.append({"action": "IMDS", "start": time.time(), "end": time.time(),
                         "status": int(status.split()[0]), "body": f"{method} {path}", "connection": ""})
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(out)))])
    return [out]


# --- Account Management: ListRegions (moto has none) -------------------------------------------

ACCOUNT_REGIONS = {}  # account -> {"regions": {name: opt-in status}, "pageSize": n}


def list_regions(account, body):
    """ListRegions for `account`: its regions as the harness set them, filtered by
    RegionOptStatusContains, sorted by name, `pageSize` (or MaxResults, the smaller) at a time."""
    request = json.loads(body or b"{}")
    with LOCK:
        setup = ACCOUNT_REGIONS.get(account, {"regions": {"us-east-1": "ENABLED_BY_DEFAULT"}, "pageSize": 50})
    wanted = request.get("RegionOptStatusContains")
    regions = [
        {"RegionName": name, "RegionOptStatus": status}
        for name, status in sorted(setup["regions"].items())
        if not wanted or status in wanted
    ]
    size = min(int(request.get("MaxResults") or 50), int(setup.get("pageSize", 50)))
    start = int(request.get("NextToken") or 0)
    answer = {"Regions": regions[start:start + size]}
    if start + size < len(regions):
        answer["NextToken"] = str(start + size)
    return "200 OK", [("Content-Type", "application/json")], json.dumps(answer).encode()


class Harness:
    """WSGI middleware: control routes, fault injection and the request log around moto."""

    def __init__(self, app, port_ref):
        self.app = app
        self.port_ref = port_ref

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        # Every body is read whole before anything answers: the connection is kept for the
        # client's next request (see KeepAliveRequestHandler), which starts after this body.
        if environ.get("wsgi.input_terminated"):  # a chunked body: read to its last chunk
            body = environ["wsgi.input"].read()
        else:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        if path.startswith("/_harness/"):
            return self.control(path, body, start_response)
        if path.startswith("/latest/"):
            return instance_metadata(environ, path, start_response)
        action, protocol = action_of(environ, body)
        start = time.time()
        # Logged as it arrives (a call the client gives up on still counts), finished below.
        entry = self.arrived(action, start, body, environ)
        fault = (
            {"kind": "throttle"}
            if rate_limited(action)
            else take_fault(action, body, signed_region(environ), request_account(environ))
        )
        if fault and fault["kind"] == "barrier":
            pass_barrier(fault)
            fault = None
        elif fault and fault["kind"] == "trigger":
            # What the world does when this call arrives (a later deployment supersedes the
            # fleet, say), before the call is answered: the test's barrier in place of a race.
            self.route(f"/_harness/{fault['route']}", fault.get("payload", {}))
            fault = None
        if fault and fault["kind"] == "hang":
            time.sleep(min(float(fault.get("seconds", 30)), 120))
        elif fault and fault.get("delay"):  # any other fault may also answer late
            time.sleep(min(float(fault["delay"]), 120))
        answer = injected(fault, action, protocol) if fault else None
        if answer is not None:
            status, headers, out = answer
            start_response(status, headers + [("Content-Length", str(len(out)))])
            finished(entry, status)
            return [out]

        if action == "ListRegions":
            status, headers, out = list_regions(request_account(environ), body)
            start_response(status, headers + [("Content-Length", str(len(out)))])
            finished(entry, status)
            return [out]

        if action == "Invoke" and LAMBDA_PROXY.get("target"):
            status, headers, out = proxy_invoke(environ, path, body)
            start_response(status, headers + [("Content-Length", str(len(out)))])
            finished(entry, status)
            return [out]

        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = b"".join(self.app(environ, capture))
        if fault and fault["kind"] == "truncated":
            chunks = chunks[: len(chunks) // 2]
        if fault and fault["kind"] == "state":
            chunks = chunks.replace(b"<State>Added</State>", f"<State>{fault['state']}</State>".encode())
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        if path.startswith("/2015-03-31/") and chunks.lstrip().startswith(b"{"):
            # Lambda answers JSON as application/json; moto labels it text/html.
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("Content-Type", "application/json"))
        elif protocol == "json" and chunks.lstrip().startswith(b"{") and any(
            k.lower() == "content-type" and v.startswith("text/html") for k, v in headers
        ):
            # A JSON protocol's answer is application/x-amz-json-1.1; moto labels some of them
            # (Organizations') text/html.
            headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
            headers.append(("Content-Type", "application/x-amz-json-1.1"))
        start_response(captured["status"], headers + [("Content-Length", str(len(chunks)))])
        finished(entry, captured["status"])
        return [chunks]

    def arrived(self, action, start, body, environ):
        entry = {
            "action": action,
            # The client's end of the TCP connection: calls with the same one shared a
            # connection.
            "connection": f"{environ.get('REMOTE_ADDR')}:{environ.get('REMOTE_PORT')}",
            "start": start,
            # Set when the answer goes out (still None for a call being held or hung).
            "end": None,
            "status": None,
            "body": body[:8000].decode("utf-8", "replace"),
        }
        with LOCK:
            if len(REQUESTS) < 100_000:
                REQUESTS.append(entry)
        return entry

    def control(self, path, body, start_response):
        payload = json.loads(body or b"{}")
        try:
            result = self.route(path, payload)
            status = "200 OK"
        except Exception as error:  # a harness error goes back to the test, readable
            result, status = {"error": f"{type(error).__name__}: {error}"}, "500 Internal Server Error"
        out = json.dumps(result, default=str).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
        return [out]

    def route(self, path, payload):
        if path == "/_harness/world":
            return build_world(f"http://127.0.0.1:{self.port_ref[0]}", payload)
        if path == "/_harness/doctor-world":
            return build_doctor_world(f"http://127.0.0.1:{self.port_ref[0]}", payload)
        if path == "/_harness/bulk":
            return build_bulk(f"http://127.0.0.1:{self.port_ref[0]}", payload)
        if path == "/_harness/group":
            return build_group(f"http://127.0.0.1:{self.port_ref[0]}", payload)
        if path == "/_harness/traffic-sources":
            # As AttachTrafficSources leaves a group: listed in TrafficSources only, not in
            # TargetGroupARNs nor in DescribeLoadBalancerTargetGroups.
            backend = autoscaling_backends[payload.get("account", ACCOUNT)][payload.get("region", "us-east-1")]
            group = backend.autoscaling_groups[payload["group"]]
            group.traffic_sources = [{"Identifier": i, "Type": "elbv2"} for i in payload["identifiers"]]
            return {"ok": True}
        if path == "/_harness/deployment-status":
            # As CodeDeploy moves a deployment along; `creator` as AWS reports who started it
            # (moto always says `user`): `autoscaling` for CodeDeploy's own follow-on deployment
            # to instances a scale-out launched, `codeDeployRollback`, ...
            deployment = codedeploy_backends[payload.get("account", ACCOUNT)][payload.get("region", "us-east-1")].deployments[payload["deploymentId"]]
            if "status" in payload:
                deployment.status = payload["status"]
            if "creator" in payload:
                deployment.creator = payload["creator"]
            if "rollbackInfo" in payload:  # as GetDeployment reports a rollback's
                deployment.rollback_info = payload["rollbackInfo"]
            return {"ok": True}
        if path == "/_harness/barriers":
            with LOCK:
                return {gate: {"size": b["size"], "arrived": b["arrived"], "met": b["met"]} for gate, b in BARRIERS.items()}
        if path == "/_harness/lambda-proxy":
            with LOCK:
                LAMBDA_PROXY["target"] = payload.get("target")
                LAMBDA_PROXY["function"] = payload.get("function")
            return {"ok": True}
        if path == "/_harness/attach-lag":
            with LOCK:
                ATTACH_LAG[payload["group"]] = (float(payload.get("absentSeconds", 0)), float(payload.get("addingSeconds", 0)))
            return {"ok": True}
        if path == "/_harness/deployment-targets":
            set_deployment_targets(payload)
            return {"ok": True}
        if path == "/_harness/lifecycle-event":
            set_lifecycle_event(payload)
            return {"ok": True}
        if path == "/_harness/deployment-group-fleet":
            backend = codedeploy_backends[payload.get("account", ACCOUNT)][payload.get("region", "us-east-1")]
            group = backend.get_deployment_group(payload["applicationName"], payload["deploymentGroupName"])
            group.auto_scaling_groups = list(payload["autoScalingGroups"])
            return {"ok": True}
        if path == "/_harness/register":
            # What CodeDeploy does during AllowTraffic: registers instances with the target
            # groups and classic load balancers directly, not through the Auto Scaling group.
            region = payload.get("region", "us-east-1")
            from moto.elb.models import elb_backends
            from moto.elbv2.models import elbv2_backends

            for arn in payload.get("targetGroupArns", []):
                port = elbv2_backends[payload.get("account", ACCOUNT)][region].target_groups[arn].port
                elbv2_backends[payload.get("account", ACCOUNT)][region].register_targets(arn, [{"Id": i, "Port": port} for i in payload["instanceIds"]])
            for name in payload.get("loadBalancerNames", []):
                elb_backends[payload.get("account", ACCOUNT)][region].register_instances(name, payload["instanceIds"])
            return {"ok": True}
        if path == "/_harness/registered":
            # Instances registered now, per target group ARN and classic load balancer name.
            region = payload.get("region", "us-east-1")
            from moto.elb.models import elb_backends
            from moto.elbv2.models import elbv2_backends

            out = {}
            for arn in payload.get("targetGroupArns", []):
                out[arn] = sorted(elbv2_backends[payload.get("account", ACCOUNT)][region].target_groups[arn].targets.keys())
            for name in payload.get("loadBalancerNames", []):
                out[name] = sorted(elb_backends[payload.get("account", ACCOUNT)][region].get_load_balancer(name).instance_ids)
            return out
        if path == "/_harness/hook-reports":
            with LOCK:
                return [r for r in HOOK_REPORTS if payload.get("deploymentId") in (None, r["deploymentId"])]
        if path == "/_harness/rate-limit":
            with LOCK:
                RATE_LIMIT["rate"] = float(payload.get("rate", 0))
                RATE_LIMIT["burst"] = float(payload.get("burst", payload.get("rate", 0)))
                BUCKETS.clear()
            return {"ok": True}
        if path == "/_harness/account-regions":
            with LOCK:
                ACCOUNT_REGIONS[payload.get("account", ACCOUNT)] = {
                    "regions": dict(payload["regions"]), "pageSize": int(payload.get("pageSize", 50))
                }
            return {"ok": True}
        if path == "/_harness/organization":
            return build_organization(f"http://127.0.0.1:{self.port_ref[0]}", payload)
        if path == "/_harness/fault":
            fault = {"match": [], "count": 1, **payload}
            with LOCK:
                FAULTS.append(fault)
            return {"ok": True}
        if path == "/_harness/requests":
            with LOCK:
                if payload.get("clear"):
                    REQUESTS.clear()
                    return []
                return [dict(entry) for entry in REQUESTS]
        raise KeyError(f"no harness route {path}")


# --- Worlds ------------------------------------------------------------------------------------


def aws_client(endpoint, service, region="us-east-1", account=None):
    """A boto3 client for this very server (the harness builds worlds through the real API), in
    `region` (moto keeps each region's resources apart, as AWS does), as `account` (through a
    role assumed there; default: the default account)."""
    import boto3

    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    if account and account != ACCOUNT:
        sts = boto3.client("sts", region_name=region, endpoint_url=endpoint, **keys)
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/world-builder", RoleSessionName="harness"
        )["Credentials"]
        keys = {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }
    return boto3.client(service, region_name=region, endpoint_url=endpoint, **keys)


def build_organization(endpoint, spec):
    """The default account as an organization's management account, with `members` member
    accounts (moto gives them ids) and `closed` more that CloseAccount left SUSPENDED; returns
    the ids, the management account's apart."""
    organizations = aws_client(endpoint, "organizations")
    organizations.create_organization(FeatureSet="ALL")

    def member(i):
        created = organizations.create_account(Email=f"member{i}@example.com", AccountName=f"member{i}")
        return created["CreateAccountStatus"]["AccountId"]

    members = [member(i) for i in range(int(spec.get("members", 0)))]
    closed = [member(f"closed{i}") for i in range(int(spec.get("closed", 0)))]
    for account in closed:
        organizations.close_account(AccountId=account)
    return {"management": ACCOUNT, "members": members, "closed": closed}


def build_world(endpoint, spec):
    """Creates a CodeDeploy EC2 blue/green deployment whose replacement group lacks its
    load balancers, plus an unrelated group, and returns the names and ids; in `region`
    (default us-east-1)."""
    region = spec.get("region", "us-east-1")
    account = spec.get("account", ACCOUNT)

    def client(service):
        return aws_client(endpoint, service, region, account)

    name = spec["name"]
    n_target_groups = spec.get("targetGroups", 2)
    n_classic = spec.get("classicLoadBalancers", 1)
    ec2, elbv2, elb = client("ec2"), client("elbv2"), client("elb")
    autoscaling, codedeploy = client("autoscaling"), client("codedeploy")

    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    target_groups = []
    for i in range(n_target_groups):
        tg = elbv2.create_target_group(Name=f"{name}-tg{i}", Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="instance")
        target_groups.append({"name": f"{name}-tg{i}", "arn": tg["TargetGroups"][0]["TargetGroupArn"]})
    classic = []
    for i in range(n_classic):
        lb_name = f"{name}-clb{i}"
        elb.create_load_balancer(
            LoadBalancerName=lb_name,
            Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
            AvailabilityZones=[f"{region}a"],
        )
        classic.append(lb_name)

    launch_configuration = {"LaunchConfigurationName": f"{name}-lc", "ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
    if spec.get("instanceProfile"):
        launch_configuration["IamInstanceProfile"] = spec["instanceProfile"]
    autoscaling.create_launch_configuration(**launch_configuration)
    launch = {"LaunchConfigurationName": f"{name}-lc"}
    if spec.get("launchTemplate"):
        launch = launch_from_template(ec2, f"{name}-lt", spec.get("instanceProfile"), spec["launchTemplate"])

    def group(group_name, tgs, lbs):
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=group_name,
            **launch,
            MinSize=0,
            MaxSize=max(4, spec.get("instances", 1)),
            DesiredCapacity=spec.get("instances", 1),
            AvailabilityZones=[f"{region}a"],
            TargetGroupARNs=tgs,
            LoadBalancerNames=lbs,
        )

    original = f"{name}-blue"
    group(original, [t["arn"] for t in target_groups], classic)
    unrelated = f"{name}-unrelated"
    group(unrelated, [], [])

    app, dg = f"{name}-app", spec.get("deploymentGroupName", f"{name}_dg")
    codedeploy.create_application(applicationName=app, computePlatform=spec.get("computePlatform", "Server"))
    load_balancer_info = {
        "targetGroupInfoList": [{"name": t["name"]} for t in target_groups]
        + [{"name": n} for n in spec.get("extraTargetGroupNames", [])],
        "elbInfoList": [{"name": n} for n in classic + spec.get("extraLoadBalancerNames", [])],
    }
    if not spec.get("loadBalancerInfo", True):
        load_balancer_info = {}
    codedeploy.create_deployment_group(
        applicationName=app,
        deploymentGroupName=dg,
        serviceRoleArn=f"arn:aws:iam::{account}:role/CodeDeployServiceRole",
        autoScalingGroups=[original],
        deploymentStyle={
            "deploymentType": spec.get("deploymentType", "BLUE_GREEN"),
            "deploymentOption": spec.get("deploymentOption", "WITH_TRAFFIC_CONTROL"),
        },
        # An in-place deployment group made as the console makes one has no blue/green settings.
        **({} if not spec.get("blueGreenConfiguration", True) else {"blueGreenDeploymentConfiguration": {
            "terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5},
            "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
            "greenFleetProvisioningOption": {"action": spec.get("greenFleet", "COPY_AUTO_SCALING_GROUP")},
        }}),
        loadBalancerInfo=load_balancer_info,
        triggerConfigurations=spec.get("triggerConfigurations", []),
    )
    create = {
        "applicationName": app,
        "deploymentGroupName": dg,
        "revision": {"revisionType": "S3", "s3Location": {"bucket": "b", "key": "k.zip", "bundleType": "zip"}},
    }
    named_replacement = spec.get("replacementInTargetInstances")
    if named_replacement:
        create["targetInstances"] = {"autoScalingGroups": [spec.get("replacementName", f"{name}-green")]}
    deployment_id = codedeploy.create_deployment(**create)["deploymentId"]
    if named_replacement:
        replacement = spec.get("replacementName", f"{name}-green")
    else:
        replacement = f"CodeDeploy_{dg}_{deployment_id}"
    if spec.get("createReplacement", True):
        attached_tgs = [t["arn"] for t in target_groups[: spec.get("attachedTargetGroups", 0)]]
        attached_lbs = classic[: spec.get("attachedLoadBalancers", 0)]
        group(replacement, attached_tgs, attached_lbs)
    status = spec.get("status", "InProgress")
    codedeploy_backends[account][region].deployments[deployment_id].status = status
    set_world_targets(autoscaling, deployment_id, original, replacement, spec)
    # After a success, CodeDeploy names the replacement group as the deployment group's fleet.
    if status in ("Succeeded", "Baking") and spec.get("live", True):
        codedeploy_backends[account][region].deployment_groups[app][dg].auto_scaling_groups = [replacement]
    return {
        "deploymentId": deployment_id,
        "applicationName": app,
        "deploymentGroupName": dg,
        "originalGroup": original,
        "replacementGroup": replacement,
        "unrelatedGroup": unrelated,
        # The group's launch template's id (what doctor reads it by), with `launchTemplate`.
        **({"launchTemplateId": ec2.describe_launch_templates(LaunchTemplateNames=[f"{name}-lt"])["LaunchTemplates"][0]["LaunchTemplateId"]}
           if spec.get("launchTemplate") else {}),
        "targetGroups": target_groups,
        "loadBalancers": classic,
    }


def launch_from_template(ec2, template_name, profile, options):
    """A launch template and how a group names it. `options` (or `true`: one version giving
    `profile` by name, the group naming it by name at `$Default`): `versions`, each `profile`,
    `arn` (the profile by ARN) or `none` (no profile), in order, version 1 first (the default
    version); `by`: `name` or `id`; `version`: what the group names (`$Default`, `$Latest`, a
    number; None leaves it out, as AWS's default); `mixed`: through a mixed instances policy,
    with `override` the name of a second template (no profile) one instance type launches
    from."""
    options = options if isinstance(options, dict) else {}

    def data(kind):
        data = {"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
        if kind == "profile" and profile:
            data["IamInstanceProfile"] = {"Name": profile}
        elif kind == "arn" and profile:
            data["IamInstanceProfile"] = {"Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{profile}"}
        return data

    versions = options.get("versions", ["profile"])
    template = ec2.create_launch_template(LaunchTemplateName=template_name, LaunchTemplateData=data(versions[0]))["LaunchTemplate"]
    for kind in versions[1:]:
        ec2.create_launch_template_version(LaunchTemplateName=template_name, LaunchTemplateData=data(kind))
    named = {"LaunchTemplateId": template["LaunchTemplateId"]} if options.get("by") == "id" else {"LaunchTemplateName": template_name}
    version = options.get("version", "$Default")
    if version is not None:
        named["Version"] = version
    if not options.get("mixed"):
        return {"LaunchTemplate": named}
    overrides = [{"InstanceType": "t3.micro"}]
    if options.get("override"):
        ec2.create_launch_template(LaunchTemplateName=options["override"], LaunchTemplateData=data("none"))
        overrides.append({"InstanceType": "t3.small", "LaunchTemplateSpecification": {"LaunchTemplateName": options["override"], "Version": "$Latest"}})
    return {"MixedInstancesPolicy": {"LaunchTemplate": {"LaunchTemplateSpecification": named, "Overrides": overrides}}}


def instance_ids(autoscaling, group_name):
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group_name])["AutoScalingGroups"]
    return sorted(i["InstanceId"] for g in groups for i in g["Instances"])


def set_world_targets(autoscaling, deployment_id, original, replacement, spec):
    """The deployment's targets as CodeDeploy lists them: the original group's instances Blue,
    the replacement group's Green. `reroute`: `complete` (default: every Green instance is past
    AllowTraffic, inside AfterAllowTraffic), `pending` (installed, none rerouted yet) or `none`
    (no Green target listed yet)."""
    reroute = spec.get("reroute", "complete")
    installed = {name: "Succeeded" for name in GREEN_EVENTS[: GREEN_EVENTS.index("BeforeAllowTraffic")]}
    if reroute == "complete":
        installed.update(BeforeAllowTraffic="Succeeded", AllowTraffic="Succeeded", AfterAllowTraffic="InProgress")
    targets = [{"targetId": i, "instanceLabel": "Blue"} for i in instance_ids(autoscaling, original)]
    if reroute != "none" and spec.get("createReplacement", True):
        targets += [
            {"targetId": i, "instanceLabel": "Green", "events": dict(installed)}
            for i in instance_ids(autoscaling, replacement)
        ]
    set_deployment_targets({"deploymentId": deployment_id, "targets": targets, "pageSize": spec.get("targetsPageSize", 100)})


def build_bulk(endpoint, spec):
    """`count` live replacement groups, each the fleet of its own deployment group after its
    deployment succeeded, none with its load balancers (the account the audit benchmark scans);
    each but the first has `groupInstances` instances (default none); in `region` and `account`
    (defaults: us-east-1, the default account)."""
    region = spec.get("region", "us-east-1")
    account = spec.get("account", ACCOUNT)

    def client(service):
        return aws_client(endpoint, service, region, account)

    name = spec["name"]
    world = build_world(endpoint, {**spec, "createReplacement": True, "status": "Succeeded"})
    codedeploy, autoscaling = client("codedeploy"), client("autoscaling")
    backend = codedeploy_backends[account][region]
    template = backend.deployment_groups[world["applicationName"]][world["deploymentGroupName"]]
    groups = [world["replacementGroup"]]
    for i in range(spec.get("count", 1) - 1):
        dg = f"{world['deploymentGroupName']}{i}"
        codedeploy.create_deployment_group(
            applicationName=world["applicationName"],
            deploymentGroupName=dg,
            serviceRoleArn=template.service_role_arn,
            autoScalingGroups=[world["originalGroup"]],
            deploymentStyle=template.deployment_style,
            blueGreenDeploymentConfiguration=template.blue_green_deployment_configuration,
            loadBalancerInfo=template.load_balancer_info,
        )
        deployment_id = codedeploy.create_deployment(
            applicationName=world["applicationName"],
            deploymentGroupName=dg,
            revision={"revisionType": "S3", "s3Location": {"bucket": "b", "key": "k.zip", "bundleType": "zip"}},
        )["deploymentId"]
        backend.deployments[deployment_id].status = "Succeeded"
        group_name = f"CodeDeploy_{dg}_{deployment_id}"
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=group_name,
            LaunchConfigurationName=f"{name}-lc",
            MinSize=0,
            MaxSize=max(1, spec.get("groupInstances", 0)),
            DesiredCapacity=spec.get("groupInstances", 0),
            AvailabilityZones=[f"{region}a"],
        )
        backend.deployment_groups[world["applicationName"]][dg].auto_scaling_groups = [group_name]
        groups.append(group_name)
    return {"groups": len(groups)}


TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "infra", "template.yaml")


def rendered(resource, prop, parameters, function_arn):
    """A template resource's property as CloudFormation would create them in this account and
    region (Sub, Ref, GetAtt of the function's ARN), from infra/template.yaml itself."""
    import re

    from cfnlint.decode import decode_str

    with open(TEMPLATE) as f:
        template, problems = decode_str(f.read())
    assert not problems, problems
    values = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    values.update(parameters)
    values.update({"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": ACCOUNT})

    def resolve(value):
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Fn::Sub" in value:
            return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], value["Fn::Sub"])
        if "Ref" in value:
            return values[value["Ref"]]
        if "Fn::GetAtt" in value:
            assert value["Fn::GetAtt"] == ["Function", "Arn"], value
            return function_arn
        assert not any(k.startswith("Fn::") for k in value), value
        return {k: resolve(v) for k, v in value.items()}

    return resolve(template["Resources"][resource]["Properties"][prop])


def build_doctor_world(endpoint, spec):
    """A deployment group ready for its first deployment, as the template and the README set it
    up: the world's deployment group and original group (its launch configuration, or with
    `launchTemplate` its launch template, gives the instances an instance profile), the hook
    function (`functionName`, `functionTimeout`) with a role whose policy is the template's own,
    and an instance role with the template's InvokeFunctionPolicy. One fault at a time:
    `functionRoleWithout` (actions left out of the function's policy), `scopedToDeploymentGroup`
    (actions moved to a statement on the deployment group's ARN), `instanceRoleInvoke: false`,
    `deleteTargetGroup`, `deleteLaunchTemplate`; `secondGroup` (a second original group, see
    below). Safety nets: `successTopic`, `eventBridgeRule`, `audit`."""
    import io
    import zipfile

    name = spec["name"]
    iam, lam = aws_client(endpoint, "iam"), aws_client(endpoint, "lambda")
    profile = f"{name}-profile"
    function_name = spec.get("functionName", f"{name}-hook")
    function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function_name}"
    parameters = {"FunctionName": function_name, **spec.get("parameters", {})}
    topic_arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}-deployments"

    trust = lambda service: json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})
    instance_role = iam.create_role(RoleName=f"{name}-instance", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))["Role"]
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=f"{name}-instance")
    invoke = rendered("InvokeFunctionPolicy", "PolicyDocument", parameters, function_arn)
    invoke_arn = iam.create_policy(PolicyName=f"{name}-invoke", PolicyDocument=json.dumps(invoke))["Policy"]["Arn"]
    if spec.get("instanceRoleInvoke", True):
        iam.attach_role_policy(RoleName=f"{name}-instance", PolicyArn=invoke_arn)

    triggers = []
    if spec.get("successTopic"):
        triggers = [{"triggerName": "success", "triggerTargetArn": topic_arn, "triggerEvents": ["DeploymentSuccess"]}]
    world = build_world(endpoint, {
        **spec,
        "instanceProfile": profile,
        "createReplacement": False,
        "reroute": "none",
        "triggerConfigurations": triggers,
    })

    function_role = iam.create_role(RoleName=f"{name}-function", AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))["Role"]
    policy = rendered("Function", "Policies", parameters, function_arn)[0]
    statements = policy["Statement"]
    without = set(spec.get("functionRoleWithout", [])) | set(spec.get("scopedToDeploymentGroup", []))
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [a for a in actions if a not in without]
    statements[:] = [s for s in statements if s["Action"]]
    if spec.get("scopedToDeploymentGroup"):
        statements.append({
            "Sid": "ScopedWhereAwsAllowsNoScope",
            "Effect": "Allow",
            "Action": spec["scopedToDeploymentGroup"],
            "Resource": f"arn:aws:codedeploy:us-east-1:{ACCOUNT}:deploymentgroup:{world['applicationName']}/{world['deploymentGroupName']}",
        })
    iam.put_role_policy(RoleName=f"{name}-function", PolicyName="hook", PolicyDocument=json.dumps(policy))

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n")

    def function(function_name, environment):
        lam.create_function(
            FunctionName=function_name, Runtime="provided.al2023", Role=function_role["Arn"], Handler="bootstrap",
            Code={"ZipFile": code.getvalue()}, Timeout=spec.get("functionTimeout", 60),
            Environment={"Variables": environment},
        )

    function(function_name, {"DEPLOYMENT_GROUP_PATTERN": parameters.get("DeploymentGroupPattern", "*"), "RUST_LOG": "info"})
    if spec.get("successTopic"):
        lam.add_permission(FunctionName=function_name, StatementId="topic", Action="lambda:InvokeFunction",
                           Principal="sns.amazonaws.com", SourceArn=topic_arn)
    if spec.get("eventBridgeRule"):
        lam.add_permission(FunctionName=function_name, StatementId="rule", Action="lambda:InvokeFunction",
                           Principal="events.amazonaws.com", SourceArn=f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{name}-succeeded")
    if spec.get("audit"):
        function(f"{function_name}-audit", {"SCHEDULED_AUDIT": "true", "AUDIT_FIX": "false"})
        lam.add_permission(FunctionName=f"{function_name}-audit", StatementId="schedule", Action="lambda:InvokeFunction",
                           Principal="events.amazonaws.com", SourceArn=f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{name}-audit-schedule")
    if spec.get("deleteTargetGroup"):
        aws_client(endpoint, "elbv2").delete_target_group(TargetGroupArn=world["targetGroups"][0]["arn"])
    if spec.get("secondGroup") is not None:
        # A second original group in the deployment group, its instances with their own
        # profile (`<name>-profile2`, role `<name>-instance2`), or with `sameProfile` the first
        # group's: `invoke` (default true) gives that role the invoke policy; `launchTemplate`
        # as for the first group, else a launch configuration.
        second = spec["secondGroup"]
        profile2 = profile if second.get("sameProfile") else f"{name}-profile2"
        if not second.get("sameProfile"):
            iam.create_role(RoleName=f"{name}-instance2", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
            iam.create_instance_profile(InstanceProfileName=profile2)
            iam.add_role_to_instance_profile(InstanceProfileName=profile2, RoleName=f"{name}-instance2")
            if second.get("invoke", True):
                iam.attach_role_policy(RoleName=f"{name}-instance2", PolicyArn=invoke_arn)
        autoscaling = aws_client(endpoint, "autoscaling")
        if second.get("launchTemplate"):
            launch = launch_from_template(aws_client(endpoint, "ec2"), f"{name}-lt2", profile2, second["launchTemplate"])
        else:
            autoscaling.create_launch_configuration(LaunchConfigurationName=f"{name}-lc2", ImageId="ami-12c6146b",
                                                    InstanceType="t3.micro", IamInstanceProfile=profile2)
            launch = {"LaunchConfigurationName": f"{name}-lc2"}
        # With the deployment group's load balancers, as an original group has them.
        autoscaling.create_auto_scaling_group(AutoScalingGroupName=f"{name}-blue2", **launch, MinSize=0, MaxSize=1,
                                              DesiredCapacity=0, AvailabilityZones=["us-east-1a"],
                                              TargetGroupARNs=[t["arn"] for t in world["targetGroups"]],
                                              LoadBalancerNames=world["loadBalancers"])
        group = codedeploy_backends[ACCOUNT]["us-east-1"].deployment_groups[world["applicationName"]][world["deploymentGroupName"]]
        group.auto_scaling_groups = [world["originalGroup"], f"{name}-blue2"]
        world = {**world, "secondGroup": f"{name}-blue2"}
    if spec.get("deleteLaunchTemplate"):
        # The group keeps naming it (a template deleted under a running group).
        aws_client(endpoint, "ec2").delete_launch_template(LaunchTemplateName=f"{name}-lt")
    return {
        **world,
        "functionName": function_name,
        "functionRoleArn": function_role["Arn"],
        "instanceRoleArn": instance_role["Arn"],
        "instanceProfile": profile,
        "topicArn": topic_arn,
    }


def build_group(endpoint, spec):
    """A bare Auto Scaling group (e.g. a CodeDeploy_ group whose deployment is unknown)."""
    autoscaling = aws_client(endpoint, "autoscaling")
    lc = f"{spec['name']}-lc"
    autoscaling.create_launch_configuration(LaunchConfigurationName=lc, ImageId="ami-12c6146b", InstanceType="t3.micro")
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=spec["name"],
        LaunchConfigurationName=lc,
        MinSize=0,
        MaxSize=1,
        DesiredCapacity=0,
        AvailabilityZones=["us-east-1a"],
        TargetGroupARNs=spec.get("targetGroupArns", []),
        LoadBalancerNames=spec.get("loadBalancerNames", []),
    )
    return {"name": spec["name"]}


class KeepAliveRequestHandler(MotoRequestHandler):
    """Keeps HTTP/1.1 connections open between requests, as AWS endpoints do. Werkzeug's
    development server closes every connection after one response, so a client would open a
    TCP connection per call here: work AWS does not make it do. Werkzeug closes because it
    cannot tell a body the application left unread from the client's next request; `Harness`
    reads every body whole, so there is nothing left to drain (see `NothingLeftToDrain`)."""

    # A response goes out in several writes; on a kept connection Nagle's algorithm would hold
    # the last one for the client's delayed acknowledgement (40 ms).
    disable_nagle_algorithm = True

    def send_header(self, keyword, value):
        if keyword.lower() == "connection" and value.lower() == "close":
            return
        super().send_header(keyword, value)

    def send_error(self, *args, **kwargs):
        # A request the server could not parse (a line or headers too long) leaves the stream
        # where it cannot find the next request: that connection still closes.
        super().send_error(*args, **kwargs)
        self.close_connection = True


class NothingLeftToDrain:
    """The selector werkzeug (3.1, pinned in requirements.txt) uses after each response to read
    and discard what the client sent beyond the body the application read: on a kept
    connection that would be the client's next request. Every body is read whole
    (`Harness.__call__`), so it never reports anything to read."""

    def register(self, *args):
        pass

    def select(self, timeout=None):
        return []

    def close(self):
        pass


class _Selectors:
    DefaultSelector = NothingLeftToDrain
    EVENT_READ = selectors.EVENT_READ


assert werkzeug.serving.selectors is selectors, "werkzeug.serving no longer drains through selectors: see NothingLeftToDrain"
werkzeug.serving.selectors = _Selectors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument("--tls-cert", help="also serve HTTPS (same state) on a second port with this certificate")
    parser.add_argument("--tls-key", help="the certificate's private key")
    args = parser.parse_args()
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port_ref = [args.port]
    app = Harness(DomainDispatcherApplication(create_backend_app), port_ref)
    server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=KeepAliveRequestHandler)
    port_ref[0] = server.server_address[1]
    ready = {"port": port_ref[0]}
    if args.tls_cert:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        tls = make_server("127.0.0.1", 0, app, threaded=True, request_handler=KeepAliveRequestHandler, ssl_context=context)
        threading.Thread(target=tls.serve_forever, daemon=True).start()
        ready["tlsPort"] = tls.server_address[1]
    print(json.dumps(ready), flush=True)
    if args.exit_on_stdin_eof:

        def watch():
            sys.stdin.read()
            os._exit(0)

        threading.Thread(target=watch, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
