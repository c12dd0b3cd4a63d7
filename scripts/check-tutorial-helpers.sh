# Helpers for the script scripts/check-tutorial.ts generates from docs/tutorial.md (sourced, not run).
set -uo pipefail
running=()

# `# Ctrl-C …`: stop every process group started so far, and wait until each has exited.
stop_all() {
  for group in "${running[@]}"; do kill -TERM -- "-$group" 2>/dev/null; done
  for group in "${running[@]}"; do
    while kill -0 -- "-$group" 2>/dev/null; do sleep 0.2; done
  done
  running=()
}
trap stop_all EXIT

# `cmd # keeps running`: start it in its own process group, and wait until it says it is ready.
start() {
  local log=$1 command=$2
  setsid bash -c "$command" >"$log" 2>&1 &
  running+=($!)
  for _ in $(seq 1 240); do
    if grep -qE "^Keel is running at|is claiming runs" "$log"; then
      cat "$log"
      return 0
    fi
    kill -0 "${running[-1]}" 2>/dev/null || break
    sleep 0.5
  done
  cat "$log"
  echo "tutorial: \"$command\" did not start" >&2
  exit 1
}

# Every command exits as the tutorial says (0 unless marked `# exits N`).
check() {
  local code=$1 expected=$2 command=$3
  if [ "$code" -ne "$expected" ]; then
    echo "tutorial: \"$command\" exited $code, expected $expected" >&2
    exit 1
  fi
}
