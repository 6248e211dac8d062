#!/usr/bin/env bash
# CodeDeploy AfterAllowTraffic hook (EC2/On-Premises blue/green, COPY_AUTO_SCALING_GROUP).
# Runs on every replacement instance after its own AllowTraffic; at the instance that completes
# the reroute it gives the replacement Auto Scaling group the deployment group's target groups and
# classic load balancers (earlier instances get `waiting` and exit 0), and exits non-zero when that
# cannot be done, so the deployment fails and rolls back instead of finishing with a broken group.
# Safe on every instance at once: the work is idempotent. Prints one line, shown in the lifecycle
# event's log.

# lambda: invoke the deployed function (instance profile needs lambda:InvokeFunction on it).
# binary: run codedeploy-tg-hook here (instance profile needs the function's own permissions).
HOOK_MODE="${HOOK_MODE:-lambda}"
HOOK_FUNCTION_NAME="${HOOK_FUNCTION_NAME:-codedeploy-tg-hook}"
HOOK_BINARY="${HOOK_BINARY:-codedeploy-tg-hook}"
# Above the function's 60 s timeout, below the appspec hook's timeout.
HOOK_READ_TIMEOUT="${HOOK_READ_TIMEOUT:-90}"
# binary mode: the binary's own deadline, below the appspec hook's timeout (120 s in
# appspec-example.yml), so it stops, and says why, before the agent kills the script.
HOOK_TIMEOUT="${HOOK_TIMEOUT:-100}"

set -uo pipefail
deployment_id="${DEPLOYMENT_ID:-}"
if [ -z "$deployment_id" ]; then
  echo "codedeploy-tg-hook FAILED: DEPLOYMENT_ID is not set (the CodeDeploy agent sets it for hook scripts)"
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case "$HOOK_MODE" in
  lambda)
    printf '{"DeploymentId": "%s"}' "$deployment_id" > "$work/payload.json"
    if ! aws lambda invoke \
        --function-name "$HOOK_FUNCTION_NAME" \
        --payload "fileb://$work/payload.json" \
        --cli-read-timeout "$HOOK_READ_TIMEOUT" \
        --query FunctionError --output text \
        "$work/response.json" > "$work/function-error" 2> "$work/stderr"; then
      echo "codedeploy-tg-hook FAILED: could not invoke $HOOK_FUNCTION_NAME for $deployment_id: $(tr '\n' ' ' < "$work/stderr")"
      exit 1
    fi
    function_error=$(tr -d '\n' < "$work/function-error")
    if [ -n "$function_error" ] && [ "$function_error" != "None" ]; then
      echo "codedeploy-tg-hook FAILED ($function_error): $(tr '\n' ' ' < "$work/response.json")"
      exit 1
    fi
    echo "codedeploy-tg-hook OK: $(tr '\n' ' ' < "$work/response.json")"
    ;;
  binary)
    if "$HOOK_BINARY" attach --deployment-id "$deployment_id" --timeout "$HOOK_TIMEOUT" > "$work/outcome.json" 2> "$work/stderr"; then
      echo "codedeploy-tg-hook OK: $(tr '\n' ' ' < "$work/outcome.json")"
    else
      status=$?
      echo "codedeploy-tg-hook FAILED (exit $status): $(tr '\n' ' ' < "$work/outcome.json") $(tail -n 1 "$work/stderr")"
      exit 1
    fi
    ;;
  *)
    echo "codedeploy-tg-hook FAILED: HOOK_MODE must be lambda or binary, not $HOOK_MODE"
    exit 1
    ;;
esac
