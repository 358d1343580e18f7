#!/bin/sh
# Installs what handover's demo and tests need on a Debian 12 machine, only what is missing: the apt packages
# (as root) and node_modules (npm ci). Shared by `npm run demo`, `npm test` and .ci/run, so the README's two
# quick-start commands work on a fresh machine. Idempotent and quiet when everything is there.
set -eu
cd "$(dirname "$0")/.."

# debootstrap, dpkg-dev: the lab's root filesystems and package mirror; openssh, mariadb, rsync, arping, iproute2:
# real components for integration and lab tests; python3-oslo.config and python3-sqlalchemy: the config editor is
# cross-checked against the real readers; tmux: the wizard's pseudo-terminal test; chromium: the report's
# real-browser test (playwright-core drives /usr/bin/chromium, it downloads no browser).
APT_PACKAGES="debootstrap dpkg-dev openssh-server openssh-client mariadb-server mariadb-client rsync arping
  iproute2 iputils-ping procps python3 ca-certificates util-linux mount tmux python3-oslo.config python3-sqlalchemy
  chromium"

missing=""
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages:$missing (run as root to install them; lab tests need root anyway)" >&2
  else
    echo "setup: apt-get install$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # policy-rc.d keeps maintainer scripts from starting sshd/mariadb on this machine itself; tests start their own.
    policy_added=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
    fi
    # shellcheck disable=SC2086 # word splitting of the package list is intended
    apt-get install -y -qq --no-install-recommends $missing >/tmp/handover-setup-apt.log 2>&1 || {
      tail -20 /tmp/handover-setup-apt.log >&2
      if [ "$policy_added" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
      exit 1
    }
    if [ "$policy_added" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  fi
fi

# node_modules is current when npm ci wrote its lock copy after the last change to package-lock.json.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >/tmp/handover-setup-npm.log 2>&1 || { tail -20 /tmp/handover-setup-npm.log >&2; exit 1; }
fi
