#!/usr/bin/env bash
# `make test`: the suite in its pytest sessions. Usage: tests/sessions.sh [pytest arguments...]
#
# 1. the suite without the browser (`-m "not e2e"`), in the foreground;
# 2. the browser tests (`-m e2e`): Playwright's sync API keeps an event loop on the main thread,
#    and they need a live server on committed data, so they run in a session of their own;
# 3. with DATABASE_URL set, the main browser journeys (`-m "e2e and journey"`) once more on the
#    embedded default `make run` uses (SQLite on a file, in-memory channel layer, eager tasks, the
#    engine in-process).
#
# With DATABASE_URL set, 2 and 3 run beside 1, on a database (`<name>_e2e`) and a Redis database
# (the next but four) of their own: a browser session mostly waits on Chromium and the live
# server, so they fill the gaps of the first. With SPLIT_SUITE=1 as well (`.ci/run` sets it), 1
# itself runs as two sessions side by side, the test files split between them by their recorded
# times (tests/balance.py, tests/file-times.txt) so both end together, the second on
# `<name>_part2` and the next but five Redis database: on two cores that halves the longest
# session. Each session writes its files' times to var/test/times-<session>.txt; after adding
# heavy tests, `cat var/test/times-*.txt | sort -k2 > tests/file-times.txt` refreshes the weights.
# Background sessions write to var/test/<session>.log, printed when they end (whole, when they
# fail).
# Without DATABASE_URL the sessions run one after another. Exit status 5 (no test selected, e.g.
# PYTEST_ARGS names a folder without browser tests) counts as a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE=portal.settings.test
py=.venv/bin/python
args=("$@")

passed() { [[ $1 -eq 0 || $1 -eq 5 ]]; }

if [[ -z ${DATABASE_URL:-} ]]; then
  "$py" -m pytest -m "not e2e" "${args[@]}" || exit $?
  "$py" -m pytest -m e2e "${args[@]}"
  status=$?
  passed $status || exit $status
  exit 0
fi

db_base=${DATABASE_URL%%\?*}
db_query=${DATABASE_URL#"$db_base"}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379/0}
redis_base=${redis_url%/*}
redis_db=${redis_url##*/}
[[ $redis_db =~ ^[0-9]+$ ]] || redis_db=0
mkdir -p var/test

names=(browser embedded)
logs=(var/test/browser.log var/test/embedded.log)
DATABASE_URL="${db_base}_e2e${db_query}" REDIS_URL="${redis_base}/$((redis_db + 4))" \
  "$py" -m pytest -m e2e "${args[@]}" > "${logs[0]}" 2>&1 &
pids=($!)
env -u DATABASE_URL -u REDIS_URL -u REQUIRE_SERVICES \
  "$py" -m pytest -m "e2e and journey" "${args[@]}" > "${logs[1]}" 2>&1 &
pids+=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
echo "make test: browser tests on PostgreSQL (${logs[0]}) and the main journeys on the embedded" \
  "default (${logs[1]}) run beside this session"

first=()
if [[ ${SPLIT_SUITE:-} == 1 ]]; then
  mapfile -t files < <(find tests -name 'test_*.py' -not -path 'tests/e2e/*' | LC_ALL=C sort)
  mapfile -t parts < <("$py" tests/balance.py 2 "${files[@]}")
  read -ra first <<< "${parts[0]}"
  read -ra second <<< "${parts[1]}"
  names+=(part2)
  logs+=(var/test/part2.log)
  PYTEST_FILE_TIMES=var/test/times-part2.txt \
  DATABASE_URL="${db_base}_part2${db_query}" REDIS_URL="${redis_base}/$((redis_db + 5))" \
    "$py" -m pytest -m "not e2e" "${args[@]}" "${second[@]}" > "${logs[2]}" 2>&1 &
  pids+=($!)
  echo "make test: ${#second[@]} of the ${#files[@]} files run beside this session (${logs[2]})," \
    "split by their times in tests/file-times.txt"
fi

PYTEST_FILE_TIMES=var/test/times-first.txt \
"$py" -m pytest -m "not e2e" "${args[@]}" "${first[@]}"
status=$?

for i in "${!names[@]}"; do
  wait "${pids[$i]}"
  session=$?
  if passed $session; then
    echo "make test: ${names[$i]} session: $(tail -1 "${logs[$i]}")"
  else
    echo "make test: the ${names[$i]} session failed (exit $session):" >&2
    cat "${logs[$i]}" >&2
    passed $status && status=$session
  fi
done
trap - EXIT
passed $status || exit $status
exit 0
