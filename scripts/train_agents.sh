#!/usr/bin/env bash
# Train the paper's three agents with each user on the full catalog, then evaluate them on the protocol.
# One run at a time (they share the cores); logs in runs/logs/. Each run resumes if it was interrupted.
#   bash scripts/train_agents.sh                      # captioner and grammar users
#   USERS="grammar" bash scripts/train_agents.sh      # one user
#   METHODS="triplet_sl policy_improvement" USERS="attributes-10-deep" bash scripts/train_agents.sh --threads 1
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PY=.venv/bin/python
USERS=${USERS:-"captioner grammar"}
# SL first: RL-SCST and policy improvement start from its checkpoint.
METHODS=${METHODS:-"triplet_sl policy_improvement scst"}
mkdir -p runs/logs
for user in $USERS; do
  for method in $METHODS; do
    $PY -m "agents.$method" --user "$user" --resume --no-progress "$@" 2>&1 | tee "runs/logs/$method-$user.log"
  done
done
$PY -m benchmarks.reports.paper_agents --train-users $USERS --methods $METHODS --no-progress 2>&1 | tee runs/logs/agents.log
