#!/usr/bin/env bash
# CodeDeploy AfterAllowTraffic hook (EC2/On-Premises blue/green, COPY_AUTO_SCALING_GROUP).
# Runs on every replacement instance after its own AllowTraffic; at the instance that completes
# the reroute it gives the replacement Auto Scaling group the deployment group's target groups and
# classic load balancers (earlier instances get `waiting` and exit 0), and exits non-zero when that
# cannot be done, so the deployment fails and rolls back instead of finishing with a broken group.
# A rollback's run (on the original instances) is `skipped`. Safe on every instance at once: the
# work is idempotent.
#
# Its last line is the summary a person reads in the console: `codedeploy-tg-hook OK: ...` or
# `codedeploy-tg-hook FAILED: ...`, at most 1,000 bytes. CodeDeploy's agent keeps, for the console,
# only the newest lines of the output that add up to under 2,048 characters, and none at all when
# the last line alone is longer; the full outcome JSON is on the line before it.

# lambda: invoke the deployed function (instance profile needs lambda:InvokeFunction on it; the
#         AWS CLI must be installed).
# binary: run codedeploy-tg-hook here (instance profile needs the function's own permissions).
HOOK_MODE="${HOOK_MODE:-lambda}"
HOOK_FUNCTION_NAME="${HOOK_FUNCTION_NAME:-codedeploy-tg-hook}"
HOOK_BINARY="${HOOK_BINARY:-codedeploy-tg-hook}"
# The script's own time, counted from its start, below the appspec hook's timeout (120 s in
# appspec-example.yml), so it ends and says why before the agent kills it. binary mode: the
# binary's deadline; lambda mode: a throttled or unreachable invoke is retried only while
# another whole attempt (connect and read timeouts) still fits (the first always runs).
HOOK_TIMEOUT="${HOOK_TIMEOUT:-100}"
# lambda mode: how long one invoke waits for the function's answer, above the function's 60 s
# timeout; and for a connection to Lambda's endpoint.
HOOK_READ_TIMEOUT="${HOOK_READ_TIMEOUT:-70}"
HOOK_CONNECT_TIMEOUT="${HOOK_CONNECT_TIMEOUT:-5}"

set -uo pipefail

# The last line, then the exit: OK (0) or FAILED (1), what happened, at most 1,000 bytes.
finish() {
  local line
  line=$(printf 'codedeploy-tg-hook %s: %s' "$1" "$2" | LC_ALL=C tr '\000-\037' ' ')
  if [ "$(printf '%s' "$line" | LC_ALL=C wc -c)" -gt 1000 ]; then
    # Cut by bytes; a character the cut split is dropped whole.
    line="$(printf '%s' "$line" | LC_ALL=C head -c 997 | LC_ALL=C sed 's/[\xc0-\xff][\x80-\xbf]*$//')..."
  fi
  printf '%s\n' "$line"
  [ "$1" = OK ] && exit 0
  exit 1
}

# A line before the last: the whole of something, on one line.
detail() {
  printf 'codedeploy-tg-hook %s: %s\n' "$1" "$(LC_ALL=C tr '\000-\037' ' ' < "$2")"
}

# A string field of a one-line JSON document (the function's answer, the binary's outcome), with
# its escapes undone as far as a person reading the line needs; empty when absent.
json_field() {
  LC_ALL=C sed -nE 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"(([^"\\]|\\.)*)".*/\1/p' "$2" | head -n 1 |
    LC_ALL=C sed -E 's/\\u[0-9a-fA-F]{4}/ /g; s/\\[nrtbf]/ /g; s/\\(.)/\1/g'
}

deployment_id="${DEPLOYMENT_ID:-}"
if [ -z "$deployment_id" ]; then
  finish FAILED "DEPLOYMENT_ID is not set (the CodeDeploy agent sets it for hook scripts)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The region to call Lambda in: AWS CLI v1 (Amazon Linux 2) takes none from instance metadata.
# AWS_REGION or AWS_DEFAULT_REGION when set, else the instance's own (IMDSv2: a token first);
# AWS_EC2_METADATA_SERVICE_ENDPOINT and AWS_EC2_METADATA_DISABLED as the AWS SDKs read them.
find_region() {
  region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
  [ -n "$region" ] && return
  local imds="${AWS_EC2_METADATA_SERVICE_ENDPOINT:-http://169.254.169.254}" token=""
  imds="${imds%/}"
  local why="instance metadata ($imds) did not answer"
  if [ "${AWS_EC2_METADATA_DISABLED:-}" = "true" ]; then
    why="instance metadata is off (AWS_EC2_METADATA_DISABLED=true)"
  elif ! command -v curl > /dev/null 2>&1; then
    why="curl, to ask instance metadata, is not installed"
  else
    # Never through a proxy, as the AWS SDKs ask instance metadata.
    token=$(curl -sf --noproxy '*' --connect-timeout 1 --max-time 2 -X PUT \
      -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$imds/latest/api/token" 2> /dev/null)
    if [ -n "$token" ]; then
      region=$(curl -sf --noproxy '*' --connect-timeout 1 --max-time 2 -H "X-aws-ec2-metadata-token: $token" \
        "$imds/latest/meta-data/placement/region" 2> /dev/null)
      # Only a region's shape (us-east-1, us-gov-west-1) is taken: not a proxy's page.
      [[ "$region" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] && return
      why="instance metadata ($imds) answered no region"
      region=""
    fi
  fi
  echo "codedeploy-tg-hook: no region: AWS_REGION and AWS_DEFAULT_REGION are not set and $why; the AWS CLI's own configuration decides (set AWS_REGION at this script's top if it has none)"
}

invoke_function() {
  if ! command -v aws > /dev/null 2>&1; then
    finish FAILED "the AWS CLI (aws) is not installed on this instance, and HOOK_MODE=lambda invokes the function with it: install the AWS CLI, or set HOOK_MODE=binary with the codedeploy-tg-hook binary on the instance"
  fi
  local region
  find_region
  printf '{"DeploymentId": "%s"}' "$deployment_id" > "$work/payload.json"
  local attempt=0 pause=1 error retry
  while :; do
    attempt=$((attempt + 1))
    # One attempt a call: the retries are this loop's, each one only if it can still end in time.
    if AWS_MAX_ATTEMPTS=1 aws lambda invoke ${region:+--region "$region"} \
        --function-name "$HOOK_FUNCTION_NAME" \
        --payload "fileb://$work/payload.json" \
        --cli-connect-timeout "$HOOK_CONNECT_TIMEOUT" \
        --cli-read-timeout "$HOOK_READ_TIMEOUT" \
        --query FunctionError --output text \
        "$work/response.json" > "$work/function-error" 2> "$work/stderr"; then
      break
    fi
    error=$(LC_ALL=C tr '\000-\037' ' ' < "$work/stderr")
    case "$error" in
      *TooManyRequestsException*) retry="throttled" ;;
      *"Could not connect to the endpoint URL"* | *"Connect timeout on endpoint URL"*) retry="unreachable" ;;
      *) retry="" ;;
    esac
    if [ -n "$retry" ] && [ $((SECONDS + pause + HOOK_CONNECT_TIMEOUT + HOOK_READ_TIMEOUT)) -le "$HOOK_TIMEOUT" ]; then
      # Up to a second of jitter: the instances of one batch were throttled together and must
      # not all come back at the same moment.
      echo "codedeploy-tg-hook: invoke attempt $attempt $retry, again in $pause s: ${error:0:300}"
      sleep "$pause.$((RANDOM % 10))"
      pause=$((pause < 8 ? pause * 2 : 8))
      continue
    fi
    case "$retry" in
      unreachable) finish FAILED "could not reach Lambda to invoke $HOOK_FUNCTION_NAME for $deployment_id ($attempt attempt(s) in $SECONDS s): $error; from a private subnet the instances need a route to Lambda (a NAT gateway, or an interface VPC endpoint for Lambda)" ;;
      throttled) finish FAILED "Lambda throttled every invoke of $HOOK_FUNCTION_NAME for $deployment_id ($attempt attempt(s) in $SECONDS s): $error; give the function reserved concurrency, or raise the account's concurrency quota (docs/deployment.md)" ;;
      *) finish FAILED "could not invoke $HOOK_FUNCTION_NAME for $deployment_id: $error" ;;
    esac
  done
  local function_error summary
  function_error=$(tr -d '\n' < "$work/function-error")
  if [ -n "$function_error" ] && [ "$function_error" != "None" ]; then
    detail "function error ($function_error)" "$work/response.json"
    summary=$(json_field errorMessage "$work/response.json")
    finish FAILED "${summary:-$(LC_ALL=C tr '\000-\037' ' ' < "$work/response.json")}"
  fi
  detail outcome "$work/response.json"
  summary=$(json_field summary "$work/response.json")
  case "$(json_field outcome "$work/response.json")" in
    failed) finish FAILED "${summary:-the function answered outcome failed}" ;;
    "") finish FAILED "$HOOK_FUNCTION_NAME answered without an outcome (is it codedeploy-tg-hook?): $(LC_ALL=C tr '\000-\037' ' ' < "$work/response.json")" ;;
  esac
  finish OK "${summary:-$(LC_ALL=C tr '\000-\037' ' ' < "$work/response.json")}"
}

run_binary() {
  if ! command -v "$HOOK_BINARY" > /dev/null 2>&1; then
    finish FAILED "HOOK_MODE=binary runs $HOOK_BINARY, which is not on this instance (or not executable): install it, or set HOOK_BINARY to its path"
  fi
  "$HOOK_BINARY" attach --deployment-id "$deployment_id" --timeout "$HOOK_TIMEOUT" \
    > "$work/outcome.json" 2> "$work/stderr"
  local status=$? summary
  [ -s "$work/outcome.json" ] && detail outcome "$work/outcome.json"
  summary=$(json_field summary "$work/outcome.json")
  if [ "$status" -eq 0 ] && [ -z "$(json_field outcome "$work/outcome.json")" ]; then
    finish FAILED "$HOOK_BINARY printed no outcome (is it codedeploy-tg-hook?): $(tail -n 1 "$work/stderr" | LC_ALL=C tr '\000-\037' ' ')"
  fi
  if [ "$status" -eq 0 ]; then
    finish OK "${summary:-$(LC_ALL=C tr '\000-\037' ' ' < "$work/outcome.json")}"
  fi
  finish FAILED "${summary:-exit $status: $(tail -n 1 "$work/stderr" | LC_ALL=C tr '\000-\037' ' ')}"
}

case "$HOOK_MODE" in
  lambda) invoke_function ;;
  binary) run_binary ;;
  *) finish FAILED "HOOK_MODE must be lambda or binary, not $HOOK_MODE" ;;
esac
