#!/usr/bin/env bash
# Make a Docker daemon answer (idempotent; quiet when one already does). Without systemd, apt does not
# start dockerd, so we start it ourselves: no bridge and no iptables, so containers are offline unless
# they ask for the host network (only environment builds do). Never sets DOCKER_BUILDKIT (no buildx here).
set -euo pipefail
LOG=${DOCKERD_LOG:-/var/log/swesrl-dockerd.log}

docker info >/dev/null 2>&1 && exit 0

if ! command -v dockerd >/dev/null 2>&1; then
  echo "[docker] installing docker.io"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

echo "[docker] starting dockerd (log: $LOG)"
# setsid: the daemon leaves the caller's session, so it outlives the shell (or test job) that started it.
setsid nohup dockerd --bridge=none --iptables=false --ip-masq=false </dev/null >"$LOG" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "[docker] daemon is up (pid $pid)"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "[docker] dockerd exited; last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2
    exit 1
  fi
  sleep 0.5
done
echo "[docker] dockerd did not answer within 30 s; see $LOG" >&2
exit 1
