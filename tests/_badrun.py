"""Runs bad-input cases, each in a forked child with a time and memory limit.

Started once per test session (``python tests/_badrun.py``) so that NumPy and
sched-bridge are imported once; reads one JSON case per line on stdin and answers
one JSON result per line on stdout::

    {"kind": "cli", "argv": [...], "cwd": DIR}      sched-bridge's main(argv)
    {"kind": "py", "code": "...", "cwd": DIR}       Python code; a BridgeError escaping it exits 2

Result: ``{"rc": int or null, "hang": bool, "out": str, "err": str}``; a child killed
for its time limit has ``hang`` true, one killed by a signal ``rc`` -signal.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import tempfile
import time
import traceback

TIME_LIMIT_S = float(os.environ.get("BRIDGE_BAD_TIME_LIMIT", "20"))
MEMORY_LIMIT = int(os.environ.get("BRIDGE_BAD_MEMORY_MB", "3000")) << 20


def _child(case: dict) -> int:
    os.chdir(case["cwd"])
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    from bridge.cli import main
    from bridge.errors import BridgeError

    if case["kind"] == "cli":
        return main(list(case["argv"]))
    try:
        exec(compile(case["code"], "<case>", "exec"), {"__name__": "__case__"})
    except BridgeError as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0


def run(case: dict) -> dict:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # child
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            sys.stdin = open(os.devnull)
            code = 1
            try:
                code = _child(case)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except BaseException:  # report like the interpreter would
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(int(code))
        deadline = time.monotonic() + TIME_LIMIT_S
        status = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.005)
        hang = status is None or not done
        if hang:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        assert status is not None  # waited for above, whether it hung or not
        rc = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else (
            os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status))
        out.seek(0)
        err.seek(0)
        return {"rc": None if hang else rc, "hang": hang,
                "out": out.read(20000).decode("utf-8", "replace"),
                "err": err.read(20000).decode("utf-8", "replace")}


def main() -> None:
    import numpy  # noqa: F401 - imported once, before the forks

    import bridge.cli
    import bridge.config
    import bridge.spec  # noqa: F401  (the three are imported once, before the forks)

    for line in sys.stdin:
        if not line.strip():
            continue
        res = run(json.loads(line))
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
