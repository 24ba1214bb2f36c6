#!/usr/bin/env bash
# Print the path of a working Python 3.9 (with distutils) for the OneFlow leg.
# Idempotent. Order:
#   1. `python3.9` on PATH, if it really runs (a pyenv shim for a non-global
#      version does not) and has distutils;
#   2. a pyenv-built 3.9 ($(pyenv root)/versions/3.9*/bin/python3.9, /root/.pyenv/...);
#   3. (root + apt-get) Debian bullseye's python3.9, pinned low (priority 100) so
#      nothing else is replaced, plus distutils/lib2to3 3.9.2-1 unpacked into
#      /usr/lib/python3.9 (bookworm's python3-distutils clashes by name).
# Only the path goes to stdout; progress goes to stderr.
# BOOTSTRAP_PY39_FORCE_APT=1 skips 1-2 (to exercise the apt recipe).
set -euo pipefail

log() { echo "[bootstrap_python39] $*" >&2; }

works() {  # works PYTHON -> 0 if it is a runnable CPython 3.9 with distutils + venv support
    local py=$1
    [ -n "$py" ] && [ -x "$py" ] || return 1
    "$py" - >/dev/null 2>&1 <<'PY' || return 1
import sys
assert sys.version_info[:2] == (3, 9), sys.version
import distutils.sysconfig, distutils.command  # noqa: F401  (pip/virtualenv need them)
import lib2to3  # noqa: F401
PY
}

resolve() {  # absolute path of a real interpreter (not a shim), via sys.executable
    "$1" -c 'import sys; print(sys.executable)' 2>/dev/null
}

try() {
    local cand=$1 real
    works "$cand" || return 1
    real=$(resolve "$cand") || return 1
    works "$real" || return 1
    echo "$real"
}

if [ "${BOOTSTRAP_PY39_FORCE_APT:-0}" = 1 ]; then
    log "BOOTSTRAP_PY39_FORCE_APT=1: going straight to the apt recipe"
else
# 1. on PATH
if cand=$(command -v python3.9 2>/dev/null) && out=$(try "$cand"); then
    echo "$out"; exit 0
fi

# 2. pyenv installs
roots=()
if command -v pyenv >/dev/null 2>&1; then
    roots+=("$(pyenv root 2>/dev/null || true)")
fi
roots+=("${PYENV_ROOT:-}" "$HOME/.pyenv" "/root/.pyenv")
for r in "${roots[@]}"; do
    [ -n "$r" ] || continue
    for cand in $(ls -d "$r"/versions/3.9*/bin/python3.9 2>/dev/null | sort -rV); do
        if out=$(try "$cand"); then echo "$out"; exit 0; fi
    done
done

# also the usual system locations
for cand in /usr/bin/python3.9 /usr/local/bin/python3.9; do
    if out=$(try "$cand"); then echo "$out"; exit 0; fi
done

fi

# 3. apt recipe (Debian bookworm: take 3.9 from bullseye)
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    cat >&2 <<'MSG'
[bootstrap_python39] ERROR: no working Python 3.9 with distutils found, and I cannot
install one (needs root and apt-get). Install a CPython 3.7-3.10 by hand, e.g.
    pyenv install 3.9      (then re-run; pyenv versions are found automatically)
or on Debian/Ubuntu as root: apt-get install python3.9 python3.9-venv python3-distutils
and make sure `python3.9 -c "import distutils"` works.
MSG
    exit 2
fi

log "installing python3.9 from Debian bullseye (pinned at priority 100)"
if [ ! -f /etc/apt/sources.list.d/bullseye.sources ]; then
    cat > /etc/apt/sources.list.d/bullseye.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n' \
    > /etc/apt/preferences.d/bullseye.pref
{
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -t bullseye python3.9
} >&2

if ! /usr/bin/python3.9 -c 'import distutils.sysconfig, lib2to3' >/dev/null 2>&1; then
    log "unpacking bullseye python3-distutils/python3-lib2to3 3.9.2-1 into /usr/lib/python3.9"
    tmp=$(mktemp -d)
    (
        cd "$tmp"
        apt-get download python3-distutils=3.9.2-1 python3-lib2to3=3.9.2-1
        for d in *.deb; do dpkg-deb -x "$d" x; done
        cp -rn x/usr/lib/python3.9/* /usr/lib/python3.9/
    ) >&2
    rm -rf "$tmp"
fi

if out=$(try /usr/bin/python3.9); then
    echo "$out"; exit 0
fi
log "ERROR: /usr/bin/python3.9 still does not work after the apt recipe"
exit 3
