//! Starts moto (through tests/suite/support/moto_launcher.py) and talks to its harness routes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_codedeploy::config::Credentials;
use codedeploy_tg_hook::aws::{config_loader, ClientSettings, Clients};
use codedeploy_tg_hook::event::{Source, Trigger};
use codedeploy_tg_hook::report::Outcome;
use codedeploy_tg_hook::run::{execute, Settings};
use serde::Deserialize;
use serde_json::{json, Value};

pub const REGION: &str = "us-east-1";

/// The run's settings the tests use: a `confirm_window` and a 100 ms first pause between reads.
pub fn settings(confirm_window: Duration) -> Settings {
    Settings {
        confirm_window,
        poll_interval: Duration::from_millis(100),
        dry_run: false,
    }
}

/// The world's deployment as a lifecycle hook names it, with its execution id.
pub fn hook_trigger(world: &World, execution: &str) -> Trigger {
    Trigger {
        deployment_id: world.deployment_id.clone(),
        source: Source::LifecycleHook,
        hook_execution_id: Some(execution.to_owned()),
        deployment_group: None,
    }
}

/// The world's lifecycle hook (execution `exec-1`) with `deadline` to go and a `window` confirm
/// window, through `run::execute`, against `moto`.
pub async fn run_hook(moto: &Moto, world: &World, deadline: Duration, window: Duration) -> Outcome {
    let clients = moto.clients().await;
    execute(
        &clients,
        &hook_trigger(world, "exec-1"),
        tokio::time::Instant::now() + deadline,
        &settings(window),
    )
    .await
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Installs moto into .venv (scripts/setup-moto) unless MOTO_PYTHON names a Python that has it.
fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("MOTO_PYTHON") {
                return PathBuf::from(p);
            }
            let status = Command::new(repo().join("scripts/setup-moto"))
                .status()
                .expect("run scripts/setup-moto");
            assert!(
                status.success(),
                "scripts/setup-moto failed: moto could not be installed"
            );
            repo().join(".venv/bin/python")
        })
        .clone()
}

/// Runs async AWS reads from a synchronous test, on a runtime of their own.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(future)
}

/// One Auto Scaling group as DescribeAutoScalingGroups returns it.
async fn describe_group(
    clients: &Clients,
    group: &str,
) -> aws_sdk_autoscaling::types::AutoScalingGroup {
    let out = clients
        .autoscaling()
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(group)
        .send()
        .await
        .expect("describe group");
    out.auto_scaling_groups()
        .first()
        .unwrap_or_else(|| panic!("no group {group}"))
        .clone()
}

/// Where a launcher's own messages go (a server error's traceback, say):
/// target/moto-launcher-<test process>.log, one file for every launcher of the run.
fn launcher_log() -> Stdio {
    let path = repo().join(format!("target/moto-launcher-{}.log", std::process::id()));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null())
}

pub struct Moto {
    pub port: u16,
    /// HTTPS port on the same state, when started with `start_tls`.
    pub tls_port: Option<u16>,
    child: Child,
    // Held open: the launcher exits when it closes, so a dying test never leaves moto behind.
    _stdin: ChildStdin,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The suite's shared moto (each test builds its own uniquely named world, and finds its calls
/// in the request log by its world's names).
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

#[derive(Debug, Clone)]
pub struct World {
    pub deployment_id: String,
    pub application_name: String,
    pub deployment_group_name: String,
    pub original_group: String,
    pub replacement_group: String,
    pub unrelated_group: String,
    pub target_group_arns: Vec<String>,
    pub target_group_names: Vec<String>,
    pub load_balancers: Vec<String>,
}

impl Moto {
    /// A moto of the test's own (for request logs and faults that must not be shared).
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// Also serves HTTPS with this certificate (for the production TLS stack).
    pub fn start_tls(cert: &Path, key: &Path) -> Moto {
        let (cert, key) = (cert.display().to_string(), key.display().to_string());
        Moto::start_with(&["--tls-cert", &cert, "--tls-key", &key])
    }

    fn start_with(extra: &[&str]) -> Moto {
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        let mut child = Command::new(python())
            .arg(repo().join("tests/suite/support/moto_launcher.py"))
            .args(["--port", "0", "--exit-on-stdin-eof"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(launcher_log())
            .spawn()
            .expect("start moto launcher");
        let stdin = child.stdin.take().expect("launcher stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("launcher stdout"))
            .read_line(&mut line)
            .expect("read launcher port");
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("moto launcher did not report a port: {line:?}"));
        Moto {
            port: ready["port"].as_u64().expect("port") as u16,
            tls_port: ready["tlsPort"].as_u64().map(|p| p as u16),
            child,
            _stdin: stdin,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// POSTs JSON to a /_harness/ route and returns its JSON answer.
    pub fn harness(&self, route: &str, body: Value) -> Value {
        let body = body.to_string();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
        write!(
            stream,
            "POST /_harness/{route} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("write harness request");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("read harness response");
        let (head, payload) = response.split_once("\r\n\r\n").expect("HTTP response");
        assert!(head.contains(" 200 "), "harness {route} failed: {payload}");
        serde_json::from_str(payload).expect("harness JSON")
    }

    pub fn world(&self, spec: Value) -> World {
        let answer: WorldAnswer = serde_json::from_value(self.harness("world", spec))
            .unwrap_or_else(|e| panic!("the launcher's world: {e}"));
        World::from(answer)
    }

    pub fn set_status(&self, deployment_id: &str, status: &str) {
        self.harness(
            "deployment-status",
            json!({"deploymentId": deployment_id, "status": status}),
        );
    }

    /// Who started a deployment, as AWS reports it in `creator` (moto always says `user`).
    pub fn set_creator(&self, deployment_id: &str, creator: &str) {
        self.harness(
            "deployment-status",
            json!({"deploymentId": deployment_id, "creator": creator}),
        );
    }

    /// From now on, a source attached to `group` through AttachTrafficSources is left out of
    /// DescribeTrafficSources for `absent` seconds, then `Adding` for `adding`, then `Added`.
    pub fn attach_lag(&self, group: &str, absent: f64, adding: f64) {
        self.harness(
            "attach-lag",
            json!({"group": group, "absentSeconds": absent, "addingSeconds": adding}),
        );
    }

    /// What a later deployment's success does to the world: its deployment group names that
    /// deployment's replacement group as its fleet, so the world's replacement group is no
    /// longer live.
    pub fn supersede(&self, world: &World) {
        let later = format!("CodeDeploy_{}_d-LATER0001", world.deployment_group_name);
        self.harness(
            "deployment-group-fleet",
            json!({"applicationName": world.application_name,
                   "deploymentGroupName": world.deployment_group_name,
                   "autoScalingGroups": [later]}),
        );
    }

    /// The world's fleet superseded (as `supersede`) at the moment the `skip`+1th call of
    /// `action` naming the world's deployment group arrives, before it is answered: in place of
    /// a race against a sleeping thread.
    pub fn supersede_when(&self, world: &World, action: &str, skip: u32) {
        let later = format!("CodeDeploy_{}_d-LATER0001", world.deployment_group_name);
        self.fault_with(
            action,
            "trigger",
            1,
            &[&world.deployment_group_name],
            json!({"skip": skip, "route": "deployment-group-fleet",
                   "payload": {"applicationName": world.application_name,
                               "deploymentGroupName": world.deployment_group_name,
                               "autoScalingGroups": [later]}}),
        );
    }

    /// Holds the next `count` calls of `action` at `gate` until `size` calls have arrived
    /// there (see the launcher's barriers).
    pub fn barrier(&self, gate: &str, size: usize, action: &str, count: u32) {
        self.barrier_matching(gate, size, action, count, &[]);
    }

    /// `barrier` for the calls whose body names one of `matching` (a world's group, say: on the
    /// shared launcher).
    pub fn barrier_matching(
        &self,
        gate: &str,
        size: usize,
        action: &str,
        count: u32,
        matching: &[&str],
    ) {
        self.fault_with(
            action,
            "barrier",
            count,
            matching,
            json!({"gate": gate, "size": size}),
        );
    }

    /// Whether every round of calls held at a gate arrived together.
    pub fn barriers_met(&self) -> Vec<(String, bool)> {
        self.harness("barriers", json!({}))
            .as_object()
            .expect("barriers")
            .iter()
            .map(|(gate, b)| (gate.clone(), b["met"] == true))
            .collect()
    }

    /// Replaces the deployment's targets: `[{"targetId", "instanceLabel", "events": {name: status}}]`
    /// (events not given are `Pending`); `page_size` is ListDeploymentTargets' page.
    pub fn set_targets(&self, deployment_id: &str, targets: Value, page_size: usize) {
        self.harness(
            "deployment-targets",
            json!({"deploymentId": deployment_id, "targets": targets, "pageSize": page_size}),
        );
    }

    /// Sets one lifecycle event of the given targets (none when empty).
    pub fn lifecycle_event(
        &self,
        deployment_id: &str,
        targets: &[String],
        event: &str,
        status: &str,
    ) {
        self.harness(
            "lifecycle-event",
            json!({"deploymentId": deployment_id, "targetIds": targets, "event": event, "status": status}),
        );
    }

    /// Another deployment of the world's deployment group (a later one), with the given status.
    pub async fn later_deployment(&self, world: &World, status: &str) -> String {
        let clients = self.clients().await;
        let revision = aws_sdk_codedeploy::types::RevisionLocation::builder()
            .revision_type(aws_sdk_codedeploy::types::RevisionLocationType::S3)
            .build();
        let id = clients
            .codedeploy()
            .create_deployment()
            .application_name(&world.application_name)
            .deployment_group_name(&world.deployment_group_name)
            .revision(revision)
            .send()
            .await
            .expect("create deployment")
            .deployment_id()
            .expect("deployment id")
            .to_owned();
        self.set_status(&id, status);
        id
    }

    /// CodeDeploy rolling the world's deployment back, as AWS does: the world's deployment
    /// `Failed`, and a new deployment of the deployment group created by `codeDeployRollback`,
    /// its `rollbackInfo` naming the world's, `InProgress` with every target through
    /// `AllowTraffic` (traffic rerouted). What AWS reports as a rollback's `targetInstances` and
    /// instance labels is undocumented, so both shapes: `names_failed_group` has it name the
    /// world's replacement group with its instances as targets; otherwise it names no group and
    /// its targets are the original group's instances.
    pub async fn rollback(&self, world: &World, names_failed_group: bool) -> String {
        let clients = self.clients().await;
        let revision = aws_sdk_codedeploy::types::RevisionLocation::builder()
            .revision_type(aws_sdk_codedeploy::types::RevisionLocationType::S3)
            .build();
        let mut create = clients
            .codedeploy()
            .create_deployment()
            .application_name(&world.application_name)
            .deployment_group_name(&world.deployment_group_name)
            .revision(revision);
        let targets_of = if names_failed_group {
            create = create.target_instances(
                aws_sdk_codedeploy::types::TargetInstances::builder()
                    .auto_scaling_groups(&world.replacement_group)
                    .build(),
            );
            &world.replacement_group
        } else {
            &world.original_group
        };
        let id = create
            .send()
            .await
            .expect("create the rollback deployment")
            .deployment_id()
            .expect("deployment id")
            .to_owned();
        self.set_status(&world.deployment_id, "Failed");
        self.harness(
            "deployment-status",
            json!({"deploymentId": id, "status": "InProgress", "creator": "codeDeployRollback",
                   "rollbackInfo": {"rollbackTriggeringDeploymentId": world.deployment_id,
                                    "rollbackMessage": "Rolling back deployment"}}),
        );
        let rerouted: Vec<Value> = self
            .instance_ids(&clients, targets_of)
            .await
            .into_iter()
            .map(|id| {
                json!({"targetId": id, "instanceLabel": "Green",
                       "events": {"BeforeAllowTraffic": "Succeeded", "AllowTraffic": "Succeeded",
                                  "AfterAllowTraffic": "InProgress"}})
            })
            .collect();
        self.set_targets(&id, Value::Array(rerouted), 100);
        id
    }

    /// Registers instances with every target group and classic load balancer of the world, as
    /// CodeDeploy does during `AllowTraffic` (directly, not through the Auto Scaling group).
    pub fn register(&self, world: &World, instance_ids: &[String]) {
        self.harness(
            "register",
            json!({"targetGroupArns": world.target_group_arns,
                   "loadBalancerNames": world.load_balancers,
                   "instanceIds": instance_ids}),
        );
    }

    /// The instances registered now with each of the world's target groups (by ARN) and classic
    /// load balancers (by name), sorted.
    pub fn registered(&self, world: &World) -> Vec<(String, Vec<String>)> {
        let out = self.harness(
            "registered",
            json!({"targetGroupArns": world.target_group_arns,
                   "loadBalancerNames": world.load_balancers}),
        );
        world
            .target_group_arns
            .iter()
            .chain(&world.load_balancers)
            .map(|source| {
                let ids = out[source.as_str()]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_str().unwrap().to_owned())
                    .collect();
                (source.clone(), ids)
            })
            .collect()
    }

    /// The instance ids of an Auto Scaling group, sorted.
    pub async fn instance_ids(&self, clients: &Clients, group: &str) -> Vec<String> {
        let mut ids: Vec<String> = describe_group(clients, group)
            .await
            .instances()
            .iter()
            .filter_map(|i| i.instance_id().map(str::to_owned))
            .collect();
        ids.sort();
        ids
    }

    /// Takes instances out of a target group, as an operator or a scale-in might.
    pub async fn deregister_targets(
        &self,
        clients: &Clients,
        target_group_arn: &str,
        ids: &[String],
    ) {
        let targets = ids
            .iter()
            .map(|id| {
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                    .id(id)
                    .build()
            })
            .collect();
        clients
            .elbv2()
            .deregister_targets()
            .target_group_arn(target_group_arn)
            .set_targets(Some(targets))
            .send()
            .await
            .expect("DeregisterTargets");
    }

    /// The appspec hook script (infra/hooks/after-allow-traffic.sh) in `binary` mode, as the
    /// CodeDeploy agent runs it on an instance, pointed at this moto.
    pub fn hook_script(&self, deployment_id: &str) -> Command {
        let mut command = hook_script("binary", deployment_id);
        command.env("AWS_ENDPOINT_URL", self.endpoint());
        command
    }

    /// Statuses CodeDeploy (moto) accepted for this deployment, in order.
    pub fn hook_reports(&self, deployment_id: &str) -> Vec<String> {
        self.harness("hook-reports", json!({ "deploymentId": deployment_id }))
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Injects a fault for the next `count` requests of `action` whose body contains one of `matching`.
    pub fn fault(&self, action: &str, kind: &str, count: u32, matching: &[&str]) {
        self.fault_with(action, kind, count, matching, json!({}));
    }

    /// `fault` with the kind's own settings (`{"seconds": ..}` for a hang, `{"state": ..}`).
    pub fn fault_with(
        &self,
        action: &str,
        kind: &str,
        count: u32,
        matching: &[&str],
        extra: Value,
    ) {
        let mut spec = json!({"action": action, "kind": kind, "count": count, "match": matching});
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        self.harness("fault", spec);
    }

    pub fn requests(&self) -> Vec<Value> {
        self.harness("requests", json!({}))
            .as_array()
            .unwrap()
            .clone()
    }

    pub fn clear_requests(&self) {
        self.harness("requests", json!({"clear": true}));
    }

    /// Clients with the product's own retry and timeout policy, pointed at this moto.
    pub async fn clients(&self) -> Clients {
        let config = config_loader(&ClientSettings::default(), false)
            .region(aws_config::Region::new(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .load()
            .await;
        Clients::from_config(&config)
    }

    /// The real binary, with the environment a user would set to point it at this moto.
    pub fn cli(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_codedeploy-tg-hook"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("HOME", std::env::temp_dir());
        command
    }

    /// The logged requests of `action` whose body names `needle` (a group, a deployment id),
    /// in the order made.
    pub fn calls_naming(&self, action: &str, needle: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r["action"] == action && r["body"].as_str().unwrap_or_default().contains(needle)
            })
            .collect()
    }

    /// What a group has now: (target group ARNs, classic load balancer names), sorted.
    pub async fn sources(&self, group: &str) -> (Vec<String>, Vec<String>) {
        self.group_sources(&self.clients().await, group).await
    }

    /// The logged attach requests (`AttachTrafficSources`, and the older attach calls) whose
    /// body names `group`, in the order made.
    pub fn attach_calls_naming(&self, group: &str) -> Vec<Value> {
        // Form encoding leaves letters, digits, '_' and '-' as they are.
        self.requests()
            .into_iter()
            .filter(|r| {
                r["action"].as_str().unwrap_or("").starts_with("Attach")
                    && r["body"].as_str().unwrap_or("").contains(group)
            })
            .collect()
    }

    /// The world's replacement group has every target group and classic load balancer.
    pub async fn assert_fully_attached(&self, world: &World) {
        let clients = self.clients().await;
        let (tgs, lbs) = self.group_sources(&clients, &world.replacement_group).await;
        assert_eq!(tgs, world.all_target_groups_sorted());
        assert_eq!(lbs, world.load_balancers);
    }

    /// What the replacement (or any) group has now: (target group ARNs, classic load balancer names), sorted.
    pub async fn group_sources(
        &self,
        clients: &Clients,
        group: &str,
    ) -> (Vec<String>, Vec<String>) {
        let g = describe_group(clients, group).await;
        let mut tgs = g.target_group_arns().to_vec();
        let mut lbs = g.load_balancer_names().to_vec();
        // Attached through the traffic-source API: listed in TrafficSources only.
        for source in g.traffic_sources() {
            let identifier = source.identifier().unwrap_or_default().to_owned();
            match source.r#type() {
                Some("elbv2") => tgs.push(identifier),
                Some("elb") => lbs.push(identifier),
                other => panic!("traffic source {identifier} of type {other:?}"),
            }
        }
        tgs.sort();
        lbs.sort();
        (tgs, lbs)
    }
}

/// PATH with .venv/bin first (the AWS CLI, cargo-lambda).
pub fn path_with_venv() -> String {
    format!(
        "{}:{}",
        repo().join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// The appspec hook script with the environment the CodeDeploy agent and a user give it; the
/// caller adds the endpoint (`AWS_ENDPOINT_URL`, or `AWS_ENDPOINT_URL_LAMBDA` in `lambda` mode).
pub fn hook_script(mode: &str, deployment_id: &str) -> Command {
    let mut command = Command::new(repo().join("infra/hooks/after-allow-traffic.sh"));
    command
        .env_clear()
        .env("PATH", path_with_venv())
        .env("HOME", std::env::temp_dir())
        .env("HOOK_MODE", mode)
        .env("HOOK_BINARY", env!("CARGO_BIN_EXE_codedeploy-tg-hook"))
        .env("DEPLOYMENT_ID", deployment_id)
        .env("AWS_REGION", REGION)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    command
}

/// `/_harness/world`'s answer, as the launcher's `build_world` returns it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorldAnswer {
    deployment_id: String,
    application_name: String,
    deployment_group_name: String,
    original_group: String,
    replacement_group: String,
    unrelated_group: String,
    target_groups: Vec<NamedTargetGroup>,
    load_balancers: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct NamedTargetGroup {
    name: String,
    arn: String,
}

impl From<WorldAnswer> for World {
    fn from(w: WorldAnswer) -> Self {
        World {
            deployment_id: w.deployment_id,
            application_name: w.application_name,
            deployment_group_name: w.deployment_group_name,
            original_group: w.original_group,
            replacement_group: w.replacement_group,
            unrelated_group: w.unrelated_group,
            target_group_arns: w.target_groups.iter().map(|t| t.arn.clone()).collect(),
            target_group_names: w.target_groups.into_iter().map(|t| t.name).collect(),
            load_balancers: w.load_balancers,
        }
    }
}

impl World {
    pub fn all_target_groups_sorted(&self) -> Vec<String> {
        let mut v = self.target_group_arns.clone();
        v.sort();
        v
    }
}

/// A complete event of the given shape for a deployment, as Lambda delivers it: its template in
/// tests/events/ filled in (as scripts/event does), or the event itself where it needs nothing
/// filled in (`scheduled.json`).
pub fn event(shape: &str, deployment_id: &str, status: &str) -> Value {
    let events = repo().join("tests/events");
    let template = events.join(format!("{shape}.template.json"));
    let path = if template.exists() {
        template
    } else {
        events.join(format!("{shape}.json"))
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("event fixture {}: {e}", path.display()));
    let text = text
        .replace("{{DEPLOYMENT_ID}}", deployment_id)
        .replace("{{STATUS}}", status);
    serde_json::from_str(&text).expect("event fixture JSON")
}

pub fn write_temp(name: &str, value: &Value) -> PathBuf {
    let path = std::env::temp_dir().join(format!("cdtg-{}-{name}.json", std::process::id()));
    std::fs::write(&path, value.to_string()).expect("write temp event");
    path
}

/// `audit` through the real binary, its JSON report and exit code.
pub fn audit(moto: &Moto, args: &[&str]) -> (Option<i32>, Value) {
    let output = moto
        .cli()
        .arg("audit")
        .args(args)
        .args(["--output", "json"])
        .output()
        .expect("run audit");
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "audit JSON ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), report)
}

/// One group's row of an audit report.
pub fn row<'a>(report: &'a Value, group: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["autoScalingGroup"] == group)
        .unwrap_or_else(|| panic!("no row for {group}: {report}"))
}

/// Decodes one event and runs it through the one dispatch, as the Lambda does, with every
/// deployment group in scope and no scheduled audit. An invalid event makes no AWS call.
pub async fn handle_event(
    clients: &codedeploy_tg_hook::aws::Clients,
    payload: Value,
    deadline: tokio::time::Instant,
    settings: &codedeploy_tg_hook::run::Settings,
) -> Result<Vec<codedeploy_tg_hook::report::Outcome>, codedeploy_tg_hook::event::EventError> {
    use codedeploy_tg_hook::entry::dispatch::{dispatch, Handled, Rules};
    let request = codedeploy_tg_hook::event::request(payload)?;
    let rules = Rules {
        scheduled_audit: None,
        deployment_group_pattern: "*".to_owned(),
    };
    let clients = || std::future::ready(clients.clone());
    match dispatch(request, &rules, clients, clients, deadline, settings).await {
        Handled::Outcomes(outcomes) => Ok(outcomes),
        Handled::Audit(_) => unreachable!("these rules run no audit"),
    }
}
