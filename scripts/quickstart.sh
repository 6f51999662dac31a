#!/usr/bin/env bash
# The main job on a fresh machine, as root: prepare the host, build dist/tsc, then, as the
# non-root user tsctest, check the host for real (a user namespace with the subordinate ids
# mapped, overlay mounts in it) and pull an image from the local registry rootless (layers
# unpacked inside the user namespace with their owners), then runs a container from it.
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

echo
echo "== a busybox image in the local registry (made offline from busybox-static)"
node_modules/.bin/node scripts/demo-image.ts "${TSC_TEST_REGISTRY}/demo/busybox:latest"

echo
echo "== as ${TSC_TEST_USER}: tsc pull, tsc images, tsc history"
bash scripts/as-test-user.sh /opt/tsc/tsc pull "${TSC_TEST_REGISTRY}/demo/busybox:latest"
bash scripts/as-test-user.sh /opt/tsc/tsc images
bash scripts/as-test-user.sh /opt/tsc/tsc history "${TSC_TEST_REGISTRY}/demo/busybox:latest"

echo
echo "== as ${TSC_TEST_USER}: tsc run --rm (a real rootless container)"
bash scripts/as-test-user.sh /opt/tsc/tsc run --rm "${TSC_TEST_REGISTRY}/demo/busybox:latest" \
  sh -c 'echo "hello from a rootless container: $(id -u):$(id -g) in $(hostname), pid $$"; cat /proc/self/uid_map'

echo
echo "== as ${TSC_TEST_USER}: a detached web server on 127.0.0.1:8080, logs, exec, stop, rm"
TSC="bash scripts/as-test-user.sh /opt/tsc/tsc"
${TSC} rm -f quickstart-web >/dev/null 2>&1 || true
${TSC} run -d --name quickstart-web -p 127.0.0.1:8080:80 "${TSC_TEST_REGISTRY}/demo/busybox:latest" \
  sh -c 'mkdir -p /www && echo "hello from tsc" > /www/index.html && echo "serving /www" && exec httpd -f -v -p 80 -h /www'
${TSC} ps
for _ in $(seq 50); do curl -fsS http://127.0.0.1:8080/ && break; sleep 0.1; done
${TSC} logs quickstart-web
${TSC} exec quickstart-web sh -c 'echo "inside: $(hostname), processes: $(ps -o pid= | wc -l)"'
${TSC} stop -t 2 quickstart-web
${TSC} rm quickstart-web
