#!/usr/bin/env bash
# The main job on a fresh machine, as root: prepare the host, build dist/tsc, then, as the
# non-root user tsctest, check the host and exercise the native helper for real (a user
# namespace with the subordinate ids mapped and an overlay mount in it).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-host.sh
# shellcheck source=/dev/null
. /run/tsc-test/env

npm ci --no-audit --no-fund
npm run build

install -d -m 0755 /opt/tsc
install -m 0755 dist/tsc /opt/tsc/tsc
echo
echo "== as ${TSC_TEST_USER} (uid ${TSC_TEST_UID}): /opt/tsc/tsc info --strict"
bash scripts/as-test-user.sh /opt/tsc/tsc info --strict
