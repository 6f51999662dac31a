#!/usr/bin/env bash
# Prepares this machine for running tsc rootless and for tsc's test suite. Run as root.
# Idempotent: every step checks before it changes anything, so CI, the quickstart and
# developers can all run it as often as they like.
#
# What it does (and what a real deployment would do instead):
#  - installs the Debian packages tsc and its tests use (uidmap, fuse-overlayfs, pasta, ...)
#  - creates the test user (uid 1001) with subordinate uid/gid ranges, and a second user
#    (uid 1002) deliberately WITHOUT subordinate ids, for the failure paths
#  - makes /dev/fuse and /dev/net/tun usable by non-root users (mode 0666)
#  - delegates a cgroup v2 subtree to the test user below this script's own cgroup, the
#    way systemd's Delegate=yes does (there is no systemd here)
#  - gives the test user an XDG_RUNTIME_DIR (/run/user/UID), as pam_systemd would
#  - starts Debian's docker-registry on 127.0.0.1:5000 for the image tests
#  - writes what it set up to /run/tsc-test/env for the tests to read
set -euo pipefail

TEST_USER=${TSC_TEST_USER:-tsctest}
TEST_UID=${TSC_TEST_UID:-1001}
NOSUB_USER=${TSC_NOSUB_USER:-tscnosub}
NOSUB_UID=${TSC_NOSUB_UID:-1002}
SUBID_START=${TSC_SUBID_START:-100000}
SUBID_COUNT=${TSC_SUBID_COUNT:-65536}
REGISTRY_ADDR=${TSC_TEST_REGISTRY:-127.0.0.1:5000}
STATE_DIR=/run/tsc-test
REG_DIR=/var/lib/tsc-test/registry

log() { printf 'setup-host: %s\n' "$*" >&2; }
die() { printf 'setup-host: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run me as root (sudo bash $0)"

# --- packages -------------------------------------------------------------------------
PACKAGES=(uidmap fuse-overlayfs fuse3 passt slirp4netns docker-registry skopeo
  busybox-static tmux hyperfine apache2-utils gcc libc6-dev make curl ca-certificates
  util-linux iproute2 procps python3 attr podman runc openssl binutils tar gzip zstd xz-utils)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- users and subordinate ids --------------------------------------------------------
ensure_user() { # name uid
  if ! getent passwd "$1" >/dev/null; then
    if getent passwd "$2" >/dev/null; then
      die "uid $2 is taken by $(getent passwd "$2" | cut -d: -f1); set TSC_TEST_UID/TSC_NOSUB_UID"
    fi
    log "creating user $1 (uid $2)"
    useradd --uid "$2" --user-group --create-home --shell /bin/bash "$1"
  fi
}
ensure_user "$TEST_USER" "$TEST_UID"
ensure_user "$NOSUB_USER" "$NOSUB_UID"

# Debian's useradd allocates subordinate ids itself (SUB_UID_MIN in /etc/login.defs); keep
# whatever range the test user has, add one only if it has none, and report the real one.
for f in /etc/subuid /etc/subgid; do
  touch "$f"
  if ! grep -q "^${TEST_USER}:" "$f"; then
    log "adding ${TEST_USER}:${SUBID_START}:${SUBID_COUNT} to $f"
    echo "${TEST_USER}:${SUBID_START}:${SUBID_COUNT}" >>"$f"
  fi
  # the no-subordinate-ids user must really have none, by name or by uid
  sed -i -e "/^${NOSUB_USER}:/d" -e "/^${NOSUB_UID}:/d" "$f"
done
IFS=: read -r _ SUBID_START SUBID_COUNT < <(grep -m1 "^${TEST_USER}:" /etc/subuid)
IFS=: read -r _ gid_start gid_count < <(grep -m1 "^${TEST_USER}:" /etc/subgid)
[ "$gid_start:$gid_count" = "$SUBID_START:$SUBID_COUNT" ] \
  || die "${TEST_USER} has different subordinate uid and gid ranges; make them equal in /etc/subuid and /etc/subgid"

# --- devices --------------------------------------------------------------------------
for dev in /dev/fuse /dev/net/tun; do
  if [ -c "$dev" ] && [ "$(stat -c %a "$dev")" != 666 ]; then
    log "chmod 0666 $dev"
    chmod 0666 "$dev"
  fi
done

# --- XDG_RUNTIME_DIR ------------------------------------------------------------------
for u in "$TEST_UID" "$NOSUB_UID"; do
  install -d -m 0700 -o "$u" -g "$u" "/run/user/$u"
done

# --- delegated cgroup v2 subtree ------------------------------------------------------
# The cgroup2 mount may be /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid).
CG_MOUNT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
CG_DELEGATE=""
if [ -n "$CG_MOUNT" ]; then
  own=$(awk -F: '$1 == "0" { print $3; exit }' /proc/self/cgroup)
  base="${CG_MOUNT}${own%/}/tsc.delegate"
  CG_DELEGATE="$base/user-${TEST_UID}"
  mkdir -p "$CG_DELEGATE"
  # Pass every controller we can down to the user's subtree. Enabling a controller in
  # a cgroup that has member processes fails (no internal processes rule) unless it is
  # the root: that is reported, never forced.
  parent="${CG_MOUNT}${own%/}"
  for dir in "$parent" "$base"; do
    for c in $(cat "$dir/cgroup.controllers"); do
      grep -qw "$c" "$dir/cgroup.subtree_control" && continue
      echo "+$c" >"$dir/cgroup.subtree_control" 2>/dev/null \
        || log "note: cannot enable the $c controller below $dir"
    done
  done
  # What systemd's Delegate=yes hands over: the directory and these three files.
  chown "$TEST_UID:$TEST_UID" "$CG_DELEGATE" "$CG_DELEGATE/cgroup.procs" \
    "$CG_DELEGATE/cgroup.subtree_control" "$CG_DELEGATE/cgroup.threads"
else
  log "note: no cgroup2 hierarchy is mounted; nothing to delegate"
fi

# --- local registry -------------------------------------------------------------------
registry_up() { curl -fsS -o /dev/null "http://${REGISTRY_ADDR}/v2/" 2>/dev/null; }
if ! registry_up; then
  install -d -m 0755 "$REG_DIR" /etc/tsc-test
  cat >/etc/tsc-test/registry.yml <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${REG_DIR}
  delete:
    enabled: true
http:
  addr: ${REGISTRY_ADDR}
EOF
  log "starting docker-registry on ${REGISTRY_ADDR}"
  setsid nohup docker-registry serve /etc/tsc-test/registry.yml \
    >/var/log/tsc-test-registry.log 2>&1 </dev/null &
  for _ in $(seq 1 50); do registry_up && break; sleep 0.1; done
  registry_up || die "docker-registry did not start; see /var/log/tsc-test-registry.log"
fi

# --- what the tests read --------------------------------------------------------------
install -d -m 0755 "$STATE_DIR"
cat >"$STATE_DIR/env.tmp" <<EOF
TSC_TEST_USER=${TEST_USER}
TSC_TEST_UID=${TEST_UID}
TSC_NOSUB_USER=${NOSUB_USER}
TSC_NOSUB_UID=${NOSUB_UID}
TSC_TEST_SUBID_START=${SUBID_START}
TSC_TEST_SUBID_COUNT=${SUBID_COUNT}
TSC_TEST_CGROUP=${CG_DELEGATE}
TSC_TEST_REGISTRY=${REGISTRY_ADDR}
EOF
mv "$STATE_DIR/env.tmp" "$STATE_DIR/env"
log "ready: user ${TEST_USER} (uid ${TEST_UID}), cgroup ${CG_DELEGATE:-none}, registry ${REGISTRY_ADDR}"
