#!/usr/bin/env bash
# The two entry points of the README:
#   bash tools/run.sh demo [ARGS...]   venv .venv (Python 3.11) + `pip install -e .[dev,torch,mindspore,plot]`,
#                                      then `sched-bridge demo` (default: --plot sched-bridge-demo.png)
#   bash tools/run.sh test [TOX ARGS]  every tox env (core, oneflow, py311, oneflow-xfw, lint), e.g.
#                                      bash tools/run.sh test -e py311 -- tests/smoke -x
# Installs what it needs itself (tox into .venv-tools; a Python 3.9 via
# tools/bootstrap_python39.sh). Exits non-zero if anything fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

T0=$(date +%s)
PHASE_T=$T0
PHASE_NAME=""
phase() {  # phase NAME: close the previous phase (print its time), open a new one
    local now; now=$(date +%s)
    if [ -n "$PHASE_NAME" ]; then
        printf '[run.sh] %-28s %4ds\n' "$PHASE_NAME" "$((now - PHASE_T))" >&2
    fi
    PHASE_NAME=$1; PHASE_T=$now
    [ -n "$1" ] && echo "[run.sh] == $1" >&2
    return 0
}
finish() {
    local rc=$?
    phase ""
    printf '[run.sh] total %ds, exit %d\n' "$(( $(date +%s) - T0 ))" "$rc" >&2
}
trap finish EXIT

find_py311() {
    local cand
    for cand in "${PYTHON311:-}" python3.11 python3 /usr/bin/python3.11; do
        [ -n "$cand" ] || continue
        if "$cand" -c 'import sys, venv; assert sys.version_info[:2] == (3, 11)' >/dev/null 2>&1; then
            "$cand" -c 'import sys; print(sys.executable)'
            return 0
        fi
    done
    echo "[run.sh] ERROR: need a Python 3.11 (with venv) as python3.11 or python3, or set PYTHON311" >&2
    return 1
}

make_venv() {  # make_venv DIR PYTHON: create DIR unless it is a working venv of that Python
    local dir=$1 py=$2
    if [ -x "$dir/bin/python" ] && "$dir/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11)' >/dev/null 2>&1; then
        return 0
    fi
    rm -rf "$dir"
    "$py" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --upgrade pip
}

check_disk() {  # fail early, with numbers, where the tox envs cannot fit
    # A cold run builds ~8 GiB of envs (oneflow 3.9: OneFlow + CUDA libs,
    # py311 3.8: torch + MindSpore, lint 0.2) plus ~1.5 GiB of pip downloads
    # in flight; envs already in .tox count towards that.
    local need_gib=${BRIDGE_MIN_FREE_GIB:-10} have_kib used_kib need_kib
    have_kib=$(df -Pk "$ROOT" | awk 'NR == 2 {print $4}')
    used_kib=0
    if [ -d "$ROOT/.tox" ]; then
        used_kib=$(du -sk "$ROOT/.tox" | awk '{print $1}')
    fi
    need_kib=$(( need_gib * 1024 * 1024 - used_kib ))
    if [ "$need_kib" -lt $((1024 * 1024)) ]; then
        need_kib=$((1024 * 1024))
    fi
    echo "[run.sh] disk: $((have_kib / 1024)) MiB free in $ROOT, $((need_kib / 1024)) MiB needed" >&2
    if [ "$have_kib" -lt "$need_kib" ]; then
        echo "[run.sh] ERROR: not enough disk space for the tox envs: $((have_kib / 1024)) MiB free" \
             "on $(df -P "$ROOT" | awk 'NR == 2 {print $6}'), $((need_kib / 1024)) MiB needed" \
             "(free some space, or set BRIDGE_MIN_FREE_GIB to override)" >&2
        exit 3
    fi
}

cmd=${1:-}
[ $# -gt 0 ] && shift

case "$cmd" in
demo)
    phase "venv .venv"
    PY=$(find_py311)
    make_venv "$ROOT/.venv" "$PY"
    phase "pip install -e .[dev,torch,mindspore,plot]"
    # torch is pinned in the extra (2.13.0: the CPU wheel; an unpinned torch pulls GBs of CUDA)
    "$ROOT/.venv/bin/python" -m pip install -q -e ".[dev,torch,mindspore,plot]" pyyaml
    phase "sched-bridge demo"
    if [ $# -eq 0 ]; then
        set -- --plot "$ROOT/sched-bridge-demo.png"
    fi
    "$ROOT/.venv/bin/sched-bridge" demo "$@"
    ;;
test)
    phase "disk space"
    check_disk
    phase "tools venv (tox)"
    PY=$(find_py311)
    make_venv "$ROOT/.venv-tools" "$PY"
    if ! "$ROOT/.venv-tools/bin/python" -c 'import tox, sys; sys.exit(int(tox.__version__.split(".")[0]) < 4)' >/dev/null 2>&1; then
        "$ROOT/.venv-tools/bin/python" -m pip install -q "tox>=4.11,<5"
    fi

    phase "python3.9 for oneflow"
    # tox resolves basepython=python3.9 on PATH. A pyenv shim there fails for a
    # non-global version, so put a directory with a real python3.9 first.
    # (Not inside a venv: Python would pick up that venv's pyvenv.cfg.)
    if PY39=$(bash "$ROOT/tools/bootstrap_python39.sh"); then
        PYBIN="$ROOT/.venv-pybin"
        mkdir -p "$PYBIN"
        ln -sfn "$PY39" "$PYBIN/python3.9"
        ln -sfn "$PY" "$PYBIN/python3.11"
        export PATH="$PYBIN:$PATH"
        echo "[run.sh] python3.9 = $PY39" >&2
    else
        echo "[run.sh] ERROR: no Python 3.9: the oneflow env cannot run (see message above)" >&2
        exit 2
    fi

    phase "tox $*"
    # setuptools reuses build/lib between wheel builds: a module deleted from
    # bridge/ would otherwise still ship in the wheel the tests run against.
    rm -rf "$ROOT/build"
    "$ROOT/.venv-tools/bin/tox" run "$@"
    ;;
*)
    echo "usage: bash tools/run.sh demo [ARGS...] | bash tools/run.sh test [TOX ARGS...]" >&2
    exit 64
    ;;
esac
