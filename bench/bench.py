#!/usr/bin/env python3
"""The figures of the README's Performance section: medians (min..max) over fresh worlds.

Run through bench/run, which installs moto, builds the release binary and the zip first.
Measures whole processes of the release binary against moto on 127.0.0.1.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The command line (the hook's work through `handle`, the audit) and the Lambda binary, the
# deployment zip's bootstrap (its start to the first Runtime API poll, its size).
BINARY = ROOT / "target/release/codedeploy-tg-hook"
LAMBDA_BINARY = ROOT / "target/release/codedeploy-tg-hook-lambda"
ZIP = ROOT / "target/lambda/codedeploy-tg-hook-lambda/bootstrap.zip"
EVENTS = ROOT / "tests/events"


class Moto:
    def __init__(self):
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), str(ROOT / "tests/suite/support/moto_launcher.py"), "--port", "0", "--exit-on-stdin-eof"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = json.loads(self.process.stdout.readline())["port"]
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def harness(self, route, body):
        request = urllib.request.Request(f"{self.endpoint}/_harness/{route}", data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.loads(response.read())

    def stop(self):
        self.process.kill()


def env(moto):
    return {
        "PATH": os.environ["PATH"],
        "HOME": tempfile.gettempdir(),
        "AWS_ENDPOINT_URL": moto.endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "RUST_LOG": "warn",
    }


def event_file(shape, deployment_id, status):
    text = (EVENTS / f"{shape}.template.json").read_text().replace("{{DEPLOYMENT_ID}}", deployment_id).replace("{{STATUS}}", status)
    handle = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    handle.write(text)
    handle.close()
    return handle.name


def children_cpu_ms():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def timed(args, environment):
    """Whole-process wall time (ms), CPU time (user + sys, ms), exit code and stdout of one run."""
    cpu = children_cpu_ms()
    start = time.perf_counter()
    process = subprocess.run(args, env=environment, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    wall = (time.perf_counter() - start) * 1000
    return wall, children_cpu_ms() - cpu, process.returncode, process.stdout


def peak_rss(args, environment):
    """Peak RSS (MB) of one run, from GNU time. wait4's ru_maxrss would count the forked Python
    parent's pages too (Linux keeps the pre-exec high-water mark), so it cannot be used here."""
    process = subprocess.run(["/usr/bin/time", "-f", "%M", *args], env=environment, capture_output=True, text=True)
    assert process.returncode == 0, process.stdout
    return int(process.stderr.strip().splitlines()[-1]) / 1024


class RuntimeApiStub(BaseHTTPRequestHandler):
    """Just enough of the Lambda Runtime API to see when the function asks for its first event."""

    first_request = None
    first_request_cpu_ms = None
    pid = None
    seen = threading.Event()

    def do_GET(self):
        if self.path == "/2018-06-01/runtime/invocation/next" and not RuntimeApiStub.seen.is_set():
            RuntimeApiStub.first_request = time.perf_counter()
            RuntimeApiStub.first_request_cpu_ms = process_cpu_ms(RuntimeApiStub.pid)
            RuntimeApiStub.seen.set()
        time.sleep(5)  # long-poll: the process is killed before this answers

    def log_message(self, *args):
        pass


def process_cpu_ms(pid):
    """CPU time (ms) a running process has used so far, all its threads: the first field of each
    /proc/<pid>/task/<tid>/schedstat is nanoseconds on a CPU. None if it cannot be read."""
    if pid is None:
        return None
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
        total = 0
        for tid in tasks:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        return total / 1e6
    except OSError:
        return None


def measure_init(moto, runs):
    server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApiStub)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    environment = env(moto) | {
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "codedeploy-tg-hook",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    }
    samples = []
    for _ in range(runs):
        RuntimeApiStub.seen.clear()
        RuntimeApiStub.pid = None
        start = time.perf_counter()
        process = subprocess.Popen([str(LAMBDA_BINARY)], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        RuntimeApiStub.pid = process.pid
        if not RuntimeApiStub.seen.wait(10):
            process.kill()
            raise SystemExit("the function never asked the Runtime API for an event")
        samples.append(((RuntimeApiStub.first_request - start) * 1000, RuntimeApiStub.first_request_cpu_ms))
        process.kill()
        process.wait()
    server.shutdown()
    return samples


def rounds(calls):
    """Sequential rounds on the critical path: a round starts when a call starts after every earlier call ended."""
    count, horizon = 0, None
    for call in sorted(calls, key=lambda c: c["start"]):
        if horizon is None or call["start"] >= horizon:
            count += 1
            horizon = call["end"]
        else:
            horizon = max(horizon, call["end"])
    return count


def organization_figures(runs, groups):
    """3 accounts x 3 regions x `groups` replacement groups (each missing its sources), audited
    by one `audit --accounts organization --regions all` run, against 9 separate single-account,
    single-region runs (each through the same role): wall and CPU time, and AWS requests. Medians
    of `runs` fresh worlds."""
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    role = "codedeploy-tg-hook-audit"
    one, separate = [], []
    for run in range(runs):
        moto = Moto()
        try:
            made = moto.harness("organization", {"members": 2})
            accounts = [made["management"], *made["members"]]
            for a, account in enumerate(accounts):
                moto.harness("account-regions", {"account": account, "regions": {r: "ENABLED_BY_DEFAULT" for r in regions}})
                for r, region in enumerate(regions):
                    moto.harness("bulk", {"name": f"o{a}{r}", "count": groups, "account": account, "region": region,
                                          "targetGroups": 2, "classicLoadBalancers": 1, "groupInstances": 1})
            environment = env(moto)
            moto.harness("requests", {"clear": True})
            wall, cpu, code, out = timed(
                [str(BINARY), "audit", "--output", "json", "--accounts", "organization", "--role-name", role, "--regions", "all"],
                environment,
            )
            report = json.loads(out)
            assert code == 3 and len(report["rows"]) == 9 * groups, (code, len(report["rows"]))
            one.append((wall, cpu, len(moto.harness("requests", {}))))
            total = [0.0, 0.0, 0]
            moto.harness("requests", {"clear": True})
            for account in accounts:
                for region in regions:
                    wall, cpu, code, out = timed(
                        [str(BINARY), "audit", "--output", "json", "--accounts", account, "--role-name", role, "--regions", region],
                        environment,
                    )
                    assert code == 3 and len(json.loads(out)["rows"]) == groups, (code, out[:300])
                    total[0] += wall
                    total[1] += cpu
            total[2] = len(moto.harness("requests", {}))
            separate.append(tuple(total))
        finally:
            moto.stop()
    label = f"3 accounts x 3 regions x {groups} groups"
    return [
        (f"audit, {label}, one run, ms", stats([s[0] for s in one])),
        ("  CPU (user + sys), ms", stats([s[1] for s in one])),
        ("  AWS requests", stats([s[2] for s in one])),
        (f"audit, {label}, 9 runs (sum), ms", stats([s[0] for s in separate])),
        ("  CPU (user + sys), ms", stats([s[1] for s in separate])),
        ("  AWS requests", stats([s[2] for s in separate])),
    ]


def stats(samples):
    return f"{statistics.median(samples):8.1f} ({min(samples):.1f}..{max(samples):.1f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--audit-groups", type=int, default=500)
    parser.add_argument("--organization-only", action="store_true",
                        help="only the audit over 3 accounts x 3 regions x 20 groups (3 runs)")
    args = parser.parse_args()
    runs = max(args.runs, 1)
    if args.organization_only:
        print_rows(organization_figures(3, 20), 3)
        return 0

    moto = Moto()
    environment = env(moto)
    rows = []
    try:
        init = measure_init(moto, runs)
        rows.append(("init (exec -> first /invocation/next), ms", stats([s[0] for s in init])))
        init_cpu = [s[1] for s in init if s[1] is not None]
        if init_cpu:
            rows.append(("  CPU until then (all threads), ms", stats(init_cpu)))

        ignored = event_file("eventbridge", "d-IGNORED01", "READY")
        samples = [timed([str(BINARY), "handle", ignored], environment) for _ in range(runs)]
        rows.append(("ignored event, whole process, ms", stats([s[0] for s in samples])))
        rows.append(("  CPU (user + sys), ms", stats([s[1] for s in samples])))

        hook, hook_cpu, rss, call_log, before_calls, calls_span = [], [], [], None, [], []
        for i in range(runs):
            world = moto.harness("world", {"name": f"bh{i}", "targetGroups": 2, "classicLoadBalancers": 1})
            hook_event = event_file("lifecycle-hook", world["deploymentId"], "")
            moto.harness("requests", {"clear": True})
            launched = time.time()
            elapsed, cpu, code, out = timed([str(BINARY), "handle", hook_event], environment)
            assert code == 0 and json.loads(out)["outcome"] == "attached", out
            hook.append(elapsed)
            hook_cpu.append(cpu)
            # Every call of a finished run has been answered (a call is logged as it arrives,
            # its end set when its answer leaves).
            call_log = [c for c in moto.harness("requests", {}) if c["end"] is not None]
            before_calls.append((min(c["start"] for c in call_log) - launched) * 1000)
            calls_span.append((max(c["end"] for c in call_log) - min(c["start"] for c in call_log)) * 1000)
            # The same run again on a fresh world, under GNU time, for its peak RSS.
            world = moto.harness("world", {"name": f"br{i}", "targetGroups": 2, "classicLoadBalancers": 1})
            rss.append(peak_rss([str(BINARY), "handle", event_file("lifecycle-hook", world["deploymentId"], "")], environment))
        rows.append(("hook end to end (2 TGs + 1 CLB), whole process, ms", stats(hook)))
        rows.append(("  CPU (user + sys), ms", stats(hook_cpu)))
        rows.append(("  of which: exec -> first AWS call, ms", stats(before_calls)))
        rows.append(("  of which: first AWS call -> last one answered, ms", stats(calls_span)))
        rows.append(("hook peak RSS, MB", stats(rss)))

        def runs_of(label, spec, shape, status, outcome):
            samples = []
            for i in range(runs):
                world = moto.harness("world", {**spec, "name": f"{label}{i}"})
                wall, cpu, code, out = timed([str(BINARY), "handle", event_file(shape, world["deploymentId"], status)], environment)
                assert code == 0 and json.loads(out)["outcome"] == outcome, out
                samples.append((wall, cpu))
            return stats([s[0] for s in samples]), stats([s[1] for s in samples])

        for name, label, spec, shape, status, outcome in [
            ("hook with 10 TGs + 10 CLBs", "bs", {"targetGroups": 10, "classicLoadBalancers": 10}, "lifecycle-hook", "", "attached"),
            ("hook, reroute not complete (waiting)", "bw", {"instances": 2, "reroute": "pending"}, "lifecycle-hook", "", "waiting"),
            ("SNS success, live group (attached)", "bn", {"status": "Succeeded"}, "sns", "SUCCEEDED", "attached"),
            ("SNS success, superseded group (skipped)", "bo", {"status": "Succeeded", "live": False}, "sns", "SUCCEEDED", "skipped"),
        ]:
            wall, cpu = runs_of(label, spec, shape, status, outcome)
            rows.append((f"{name}, whole process, ms", wall))
            rows.append(("  CPU (user + sys), ms", cpu))

        audit_moto = Moto()
        try:
            audit_moto.harness(
                "bulk",
                {"name": "ba", "count": args.audit_groups, "targetGroups": 2, "classicLoadBalancers": 1, "groupInstances": 1},
            )
            elapsed, _, code, out = timed([str(BINARY), "audit", "--output", "json"], env(audit_moto))
            report = json.loads(out)
            assert code == 3 and len(report["rows"]) == args.audit_groups, (code, len(report["rows"]))
            rows.append((f"audit over {args.audit_groups} replacement groups (1 run), ms", f"{elapsed:8.1f}"))
            elapsed, _, code, out = timed([str(BINARY), "audit", "--fix", "--output", "json"], env(audit_moto))
            assert code == 0, out[:500]
            rows.append((f"audit --fix over {args.audit_groups} replacement groups (1 run), ms", f"{elapsed:8.1f}"))
            # Now every group has its sources, so every group's registration is checked (each
            # target group and classic load balancer read once for the whole audit).
            elapsed, _, code, out = timed([str(BINARY), "audit", "--output", "json"], env(audit_moto))
            report = json.loads(out)
            assert code == 0 and all(r["status"] == "ok" for r in report["rows"]), out[:500]
            rows.append(
                (f"audit over {args.audit_groups} complete live groups, registration checked (1 run), ms", f"{elapsed:8.1f}")
            )
        finally:
            audit_moto.stop()

        rows.extend(organization_figures(3, 20))

        rows.append(("binary size (command line), MB", f"{BINARY.stat().st_size / 1e6:8.2f}"))
        rows.append(("binary size (Lambda), MB", f"{LAMBDA_BINARY.stat().st_size / 1e6:8.2f}"))
        if ZIP.exists():
            rows.append(("deployment zip (x86_64), MB", f"{ZIP.stat().st_size / 1e6:8.2f}"))
    finally:
        moto.stop()

    print_rows(rows, runs)
    print("AWS calls of the last hook run (ms from its first call):")
    first = min(c["start"] for c in call_log)
    for call in sorted(call_log, key=lambda c: c["start"]):
        print(f"  {(call['start'] - first) * 1000:7.1f} .. {(call['end'] - first) * 1000:7.1f}  {call['action']}")
    actions = [c["action"] for c in call_log]
    print(f"  {len(call_log)} requests, {len(set(actions))} distinct, {rounds(call_log)} sequential rounds")


def print_rows(rows, runs):
    print(f"codedeploy-tg-hook benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, moto on 127.0.0.1, {runs} runs")
    print()
    print(f"| {'figure':<58} | {'median (min..max)':<26} |")
    print(f"|{'-' * 60}|{'-' * 28}|")
    for name, value in rows:
        print(f"| {name:<58} | {value:<26} |")
    print()


if __name__ == "__main__":
    sys.exit(main())
