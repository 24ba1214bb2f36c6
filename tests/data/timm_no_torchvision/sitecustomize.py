"""Lets `import timm.scheduler` work where torchvision cannot be imported (tests only).

timm 1.0.31's package ``__init__`` imports its models and layers, which import torchvision;
the only torchvision 0.28 wheel the registry has (for torch 2.13) is a CUDA build whose
operators do not load with the CPU torch wheel. timm's scheduler modules need no torchvision:
where torchvision is missing or broken, the ``timm`` package is registered without running its
``__init__``, so that ``timm.scheduler`` (timm's real code) imports. Nothing is replaced.
"""
import importlib.util
import sys
import types


def _torchvision_ok():
    if importlib.util.find_spec("torchvision") is None:
        return False
    try:
        import torchvision  # noqa: F401
    except Exception:
        return False
    return True


def _register_timm_package():
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations or "timm" in sys.modules:
        return
    pkg = types.ModuleType("timm")
    pkg.__path__ = list(spec.submodule_search_locations)
    pkg.__file__ = spec.origin
    pkg.__spec__ = spec
    sys.modules["timm"] = pkg


if not _torchvision_ok():
    _register_timm_package()
