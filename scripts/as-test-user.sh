#!/usr/bin/env bash
# Runs a command as the test user that scripts/setup-host.sh created, the way a login
# would: in the user's delegated cgroup, with its own uid, gid, groups, HOME and
# XDG_RUNTIME_DIR, and a clean environment. Run as root:
#   sudo scripts/as-test-user.sh /opt/tsc/tsc info
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "as-test-user: run me as root" >&2; exit 1; }
[ -r /run/tsc-test/env ] || { echo "as-test-user: run scripts/setup-host.sh first" >&2; exit 1; }
# shellcheck source=/dev/null
. /run/tsc-test/env
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
if [ -n "${TSC_TEST_CGROUP}" ]; then echo $$ >"${TSC_TEST_CGROUP}/cgroup.procs"; fi
exec setpriv --reuid="${TSC_TEST_UID}" --regid="${TSC_TEST_UID}" --init-groups \
  env -i HOME="/home/${TSC_TEST_USER}" USER="${TSC_TEST_USER}" LOGNAME="${TSC_TEST_USER}" \
  PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="/run/user/${TSC_TEST_UID}" LANG=C.UTF-8 \
  ${TERM:+TERM="$TERM"} "$@"
