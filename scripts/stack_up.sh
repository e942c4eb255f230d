#!/usr/bin/env bash
# `make up`: a local Prefect server + process worker + MLflow UI, all on 127.0.0.1, with the deployments applied.
# PIDs (each the leader of its own process group) go to .stack/; `make down` (scripts/stack_down.sh) stops exactly
# those groups. State: Prefect in $PREFECT_HOME (.prefect/), MLflow in mlruns/ (the store `make demo` writes).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${BIN:-$ROOT/.venv/bin}"
HOST=127.0.0.1
PREFECT_PORT="${PREFECT_PORT:-4200}"
MLFLOW_PORT="${MLFLOW_PORT:-5000}"
# PIDs, logs and addresses; and the MLflow store. Overridable so a test can run a stack of its own.
STACK="${HRL_SARP_STACK_DIR:-$ROOT/.stack}"
MLRUNS="${HRL_SARP_MLRUNS_DIR:-${HRL_SARP_OUTPUT_ROOT:-$ROOT}/mlruns}"
POOL="hrl-sarp-process"

export PREFECT_HOME="${PREFECT_HOME:-$ROOT/.prefect}"
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export DO_NOT_TRACK=1
export PREFECT_SERVER_API_HOST="$HOST"
export PREFECT_SERVER_API_PORT="$PREFECT_PORT"
export PREFECT_API_URL="http://$HOST:$PREFECT_PORT/api"
export PREFECT_UI_API_URL="$PREFECT_API_URL"
mkdir -p "$STACK" "$PREFECT_HOME" "$MLRUNS/artifacts"

alive() { [[ -f "$STACK/$1.pid" ]] && kill -0 "$(cat "$STACK/$1.pid")" 2>/dev/null; }

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

wait_http() {  # url, seconds, name
    local deadline=$((SECONDS + $2))
    until curl -fsS -o /dev/null "$1" 2>/dev/null; do
        if ((SECONDS > deadline)); then
            echo "error: $3 did not answer on $1 within $2 s (log: $STACK/$3.log)" >&2
            tail -n 20 "$STACK/$3.log" >&2 || true
            exit 1
        fi
        sleep 1
    done
}

start() {  # name, command...: its own session/process group, so `make down` stops it and its children
    local name=$1
    shift
    if alive "$name"; then
        echo "$name already running (pid $(cat "$STACK/$name.pid"))"
        return
    fi
    setsid "$@" >"$STACK/$name.log" 2>&1 < /dev/null &
    echo $! >"$STACK/$name.pid"
}

for pair in "prefect-server:$PREFECT_PORT:PREFECT_PORT" "mlflow:$MLFLOW_PORT:MLFLOW_PORT"; do
    IFS=: read -r name port var <<<"$pair"
    if ! alive "$name" && port_busy "$port"; then
        echo "error: port $port on $HOST is taken by another program; choose another, e.g. make up $var=$((port + 100))" >&2
        exit 1
    fi
done

start prefect-server "$BIN/prefect" server start --host "$HOST" --port "$PREFECT_PORT"
# Without MLflow's background job runner (a huey consumer and its workers, about 2 GB here): nothing in this project
# submits MLflow jobs (GenAI trace rollups, prompt optimisation).
MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false start mlflow "$BIN/mlflow" server --host "$HOST" --port "$MLFLOW_PORT" --workers 1 \
    --backend-store-uri "sqlite:///$MLRUNS/mlflow.db" --default-artifact-root "$MLRUNS/artifacts"
wait_http "$PREFECT_API_URL/health" 120 prefect-server

"$BIN/python" -m deployments.deploy --work-pool "$POOL"
start worker "$BIN/prefect" worker start --pool "$POOL" --type process --name "hrl-sarp-local"
wait_http "http://$HOST:$MLFLOW_PORT/health" 120 mlflow
# Read by `hrl-sarp demo`, which then sends its runs to this server and prints these addresses.
cat >"$STACK/urls.env" <<URLS
PREFECT_API_URL=$PREFECT_API_URL
PREFECT_UI_URL=http://$HOST:$PREFECT_PORT
MLFLOW_UI_URL=http://$HOST:$MLFLOW_PORT
URLS

held() {  # resident memory of a service's process group, in MB
    local pid
    pid=$(cat "$STACK/$1.pid")
    ps -o rss= -g "$pid" 2>/dev/null | awk '{ kb += $1 } END { printf "%.0f", kb / 1024 }'
}
memory="prefect-server $(held prefect-server) MB, worker $(held worker) MB, mlflow $(held mlflow) MB"

cat <<MSG

HRL-SARP local stack is up (everything on $HOST; logs and PIDs in $STACK):
  Prefect UI  http://$HOST:$PREFECT_PORT
  MLflow UI   http://$HOST:$MLFLOW_PORT
  memory held: $memory
Run the pipeline through the worker (from any shell):
  .venv/bin/hrl-sarp run train-all/weekly --watch
Stop it with: make down
MSG
