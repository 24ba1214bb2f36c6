"""Every bad input ends in a clear BridgeError: exit code, field path, no traceback, no hang.

The corpus is ``tests/_bad_corpus.py``; each case runs in a forked child of one runner
process (``tests/_badrun.py``) with a time limit (20 s) and an address-space limit (3 GB),
so a hang or a memory blow-up fails its case instead of the suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from _bad_corpus import Case, cases
from _helpers import bridge_env

HERE = Path(__file__).resolve().parent
CASES = cases()


class _Runner:
    def __init__(self) -> None:
        # the package under test (the installed wheel in tox), not whatever tests/ or the cwd holds
        self.proc = subprocess.Popen([sys.executable, str(HERE / "_badrun.py")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=bridge_env())

    def __call__(self, case: Dict[str, Any]) -> Dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the bad-input runner died"
        return json.loads(line)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def runner() -> Iterator[_Runner]:
    r = _Runner()
    yield r
    r.close()


def _write(root: Path, files: Dict[str, Any]) -> None:
    for name, content in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")


def test_corpus_size() -> None:
    assert len(CASES) >= 300


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, runner: _Runner, tmp_path: Path) -> None:
    _write(tmp_path, case.files)
    payload: Dict[str, Any] = {"kind": case.kind, "cwd": str(tmp_path)}
    if case.kind == "cli":
        payload["argv"] = list(case.payload)
    else:
        payload["code"] = case.payload
    res = runner(payload)
    shown = f"exit {res['rc']}\nstderr:\n{res['err'][-3000:]}\nstdout:\n{res['out'][-500:]}"
    assert not res["hang"], f"hung (killed after the time limit)\n{shown}"
    assert "Traceback" not in res["err"], shown
    assert res["rc"] == case.rc, shown
    if case.rc != 0:
        msg = res["err"].strip()
        assert msg, f"no message\n{shown}"
        assert len(msg.splitlines()) <= 3, f"the message should be one or two lines\n{shown}"
        for want in case.expect:
            assert want in msg, f"the message should name {want!r}\n{shown}"
    # nothing half-written is left behind
    left = [p.name for p in tmp_path.rglob("*") if ".part" in p.name or p.name.startswith(".tmp")]
    assert not left, f"temporary files left behind: {left}"
