#!/usr/bin/env bash
# `make down`: stop exactly the process groups that `make up` recorded in .stack/*.pid, then remove the PID files.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="${HRL_SARP_STACK_DIR:-$ROOT/.stack}"
shopt -s nullglob
pids=("$STACK"/*.pid)
if ((${#pids[@]} == 0)); then
    echo "nothing to stop (no PID files in .stack/)"
    exit 0
fi
# Worker first, so it does not pick up new runs while the server goes away.
for name in worker prefect-server mlflow; do
    file="$STACK/$name.pid"
    [[ -f "$file" ]] || continue
    pid=$(cat "$file")
    # Each service was started with setsid: its PID is its process-group id, and the group holds its children.
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 20); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
        fi
        echo "stopped $name (process group $pid)"
    else
        echo "$name (pid $pid) was not running"
    fi
    rm -f "$file"
done
rm -f "$STACK/urls.env"
