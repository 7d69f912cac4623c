#!/usr/bin/env bash
# modelreg's whole lifecycle on the embedded default (a local git repository and a
# local-folder DVC remote), in a fresh temporary directory: init, register two
# versions of a small real model, promote, roll back, history, get; then the same
# registry over HTTP: `modelreg serve` for a moment, used with curl.
#
#   examples/quickstart.sh            # run it (modelreg must be on PATH)
#   KEEP=1 examples/quickstart.sh     # keep the directory afterwards to look around
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
command -v modelreg >/dev/null || { echo "modelreg is not on PATH (pip install -e . first)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/modelreg-quickstart.XXXXXX")
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo; echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
# Keep everything inside $work, including the embedded DVC remote and DVC's site cache.
export XDG_DATA_HOME="$work/data" DVC_SITE_CACHE_DIR="$work/dvc-site"
# A machine without a git identity still runs the quickstart.
git config user.name >/dev/null || export GIT_AUTHOR_NAME="Quickstart User" GIT_COMMITTER_NAME="Quickstart User"
git config user.email >/dev/null || export GIT_AUTHOR_EMAIL="quickstart@example.com" GIT_COMMITTER_EMAIL="quickstart@example.com"

say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
run() { printf '\033[36m$ %s\033[0m\n' "$*"; "$@"; }

mkdir -p "$work/registry" && cd "$work/registry"

say "1. Set up a registry: git + DVC + a local-folder DVC remote, committed"
run modelreg init

say "2. Train a model and register it (files go to DVC, metadata to git, a tag marks the event)"
rmse=$(python3 "$here/train.py" --samples 50 --seed 1 --out "$work/out/model.pkl")
run modelreg register fraud-detector "$work/out/model.pkl" \
  --framework python --license MIT --metric "rmse=$rmse" --param samples=50 -m "first training run"

say "3. Train on more data and register the next version"
rmse=$(python3 "$here/train.py" --samples 5000 --seed 2 --out "$work/out/model.pkl")
run modelreg register fraud-detector "$work/out/model.pkl" \
  --framework python --license MIT --metric "rmse=$rmse" --param samples=5000 -m "100x the data"

say "4. Promote: v0.1.0, then v0.2.0, to production"
run modelreg promote fraud-detector@v0.1.0 --to production -m "baseline"
run modelreg promote fraud-detector@v0.2.0 --to production -m "lower rmse"
run modelreg list

say "5. Roll back: production goes back to v0.1.0 with a new tag (no tag is moved)"
run modelreg rollback fraud-detector --stage production -m "latency regression in canary"
run modelreg resolve fraud-detector#production

say "6. History, read from the tags alone"
run modelreg history fraud-detector

say "7. Get whatever holds production, verified against its sha256 (what a deploy job runs)"
run modelreg get fraud-detector#production -o "$work/deploy"
run python3 -c "import pickle, sys; m = pickle.load(open(sys.argv[1], 'rb')); print('deployed model trained on', m['samples'], 'samples')" "$work/deploy/model.pkl"

say "8. It is all plain git"
run git log --oneline
run git tag -l

say "9. The same registry over HTTP: modelreg serve, used with curl, then stopped"
if command -v curl >/dev/null; then
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf '\033[36m$ %s\033[0m\n' "modelreg serve --port $port &"
  modelreg serve --port "$port" >"$work/serve.log" 2>&1 &
  server=$!
  url="http://127.0.0.1:$port"
  for _ in $(seq 200); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done
  run curl -s "$url/v2/models"
  run curl -s "$url/v2/models/fraud-detector%23production/resolve"
  run curl -s "$url/v2/models/fraud-detector@v0.2.0/promote" \
    -H 'Content-Type: application/json' -d '{"stage": "production", "message": "promoted over HTTP"}'
  run modelreg history fraud-detector --reverse
  kill "$server" && wait "$server" 2>/dev/null || true
  server=""
else
  echo "(curl is not installed: skipping the HTTP step)"
fi

say "Done: the registry was in $work/registry"
