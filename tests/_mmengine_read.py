"""Worker of tests/test_mmengine_corpus.py: mmengine's own reading of config files.

``python _mmengine_read.py OUT.pickle FILE...`` runs ``mmengine.Config.fromfile`` on each file
(custom imports not imported: only the reading is compared) and pickles
``{file: ("ok", {key: value} for every top-level key) | ("err", message)}``.
A separate process so that two of them share the work and the test process stays clean.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import sys
import warnings
from typing import Any, Dict, Tuple


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return type(v)(_plain(x) for x in v)
    if v is None or isinstance(v, (int, float, str, bool)):
        return v
    return f"<{type(v).__name__}>"


def main() -> None:
    warnings.filterwarnings("ignore")
    from mmengine.config import Config

    out: Dict[str, Tuple[str, Any]] = {}
    for f in sys.argv[2:]:
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                cfg = Config.fromfile(f, import_custom_modules=False).to_dict()
            out[f] = ("ok", {k: _plain(v) for k, v in cfg.items()})
        except Exception as e:  # what mmengine cannot load is not in the corpus
            out[f] = ("err", f"{type(e).__name__}: {e}"[:300])
    with open(sys.argv[1], "wb") as fh:
        pickle.dump(out, fh)


if __name__ == "__main__":
    main()
