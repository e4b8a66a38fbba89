#!/usr/bin/env bash
# Make a Docker engine and the slim runtime image available for the Docker tests.
#
#   1. installs docker.io and debootstrap when missing (apt-get, as root);
#   2. starts dockerd in the background when no engine answers, and waits for `docker info`;
#   3. builds the slim image offline through the project's builder, or reuses it (a warm
#      rebuild only replays the layer cache; the debootstrap base is cached by tag).
#
# Exit status: 0 engine up and image ready; 3 no engine could be started (the reason is
# printed: the caller may then run the Docker tests skipped, never silently); anything else:
# a real failure (e.g. the image build failed).
# Environment: PYTHON (default .venv/bin/python, else python3), MLAGENT_DOCKERD_LOG.
set -uo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
LOG="${MLAGENT_DOCKERD_LOG:-/tmp/mlagent-dockerd.log}"
say() { echo "[docker-setup] $*"; }
no_engine() { say "NO DOCKER ENGINE: $*"; say "the Docker tests will be skipped with this reason"; exit 3; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }

missing=()
if ! docker info >/dev/null 2>&1 && ! command -v dockerd >/dev/null 2>&1; then missing+=(docker.io); fi
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  if ! { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/mlagent-apt.log 2>&1; then
    tail -5 /tmp/mlagent-apt.log
    command -v dockerd >/dev/null 2>&1 || no_engine "could not install docker.io (see /tmp/mlagent-apt.log)"
  fi
fi

if docker info >/dev/null 2>&1; then
  say "engine already running"
else
  command -v dockerd >/dev/null 2>&1 || no_engine "dockerd is not installed and no engine answers"
  say "starting dockerd (log: $LOG)"
  if [ "$(id -u)" = 0 ]; then
    nohup dockerd >"$LOG" 2>&1 &
  else
    as_root sh -c "nohup dockerd >'$LOG' 2>&1 &" || no_engine "dockerd needs root and sudo is not available"
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    tail -n 15 "$LOG" 2>/dev/null | sed 's/^/[dockerd] /'
    no_engine "dockerd did not answer within 60 s (see $LOG)"
  fi
  say "engine up: $(docker info --format '{{.ServerVersion}} {{.Driver}} cgroup v{{.CgroupVersion}}' 2>/dev/null)"
fi

say "building or reusing mlagent-runtime:slim (offline)"
start=$(date +%s)
if ! "$PYTHON" -m mlagent_env.cli image build --slim --offline; then
  say "the slim image could not be built"
  exit 1
fi
say "image ready in $(( $(date +%s) - start )) s"
exit 0
