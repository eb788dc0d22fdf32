#!/usr/bin/env bash
# Placeholder until the sandbox lands: report whether a Docker daemon answers.
docker info >/dev/null 2>&1 && echo "[docker] daemon is up" || echo "[docker] no daemon"
