#!/usr/bin/env bash
# Train the paper's three agents with each user on the full catalog, then evaluate them on the protocol.
# One run at a time (they share the cores); logs in runs/logs/. Each run resumes if it was interrupted.
#   bash scripts/train_agents.sh                      # captioner and grammar users
#   USERS="grammar" bash scripts/train_agents.sh      # one user
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
USERS=${USERS:-"captioner grammar"}
mkdir -p runs/logs
for user in $USERS; do
  $PY -m agents.triplet_sl --user "$user" --resume --no-progress "$@" 2>&1 | tee "runs/logs/triplet_sl-$user.log"
  $PY -m agents.policy_improvement --user "$user" --resume --no-progress "$@" 2>&1 | tee "runs/logs/policy_improvement-$user.log"
  $PY -m agents.scst --user "$user" --resume --no-progress "$@" 2>&1 | tee "runs/logs/scst-$user.log"
done
$PY -m benchmarks.agents --train-users $USERS --no-progress 2>&1 | tee runs/logs/agents.log
