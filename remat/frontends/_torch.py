"""The optional PyTorch import and the tensor-storage helpers the torch frontend modules share.

Everything here imports without torch installed (the names are then None);
each public entry point calls :func:`_require_torch` first.
"""

from __future__ import annotations

from typing import Any

from remat.frontends import FrontendError

try:  # the frontend must import without torch; every entry point checks
    import torch
    import torch.fx as fx
    from torch.multiprocessing.reductions import StorageWeakRef
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten, tree_map
except ImportError:  # pragma: no cover - exercised where torch is absent
    torch = fx = StorageWeakRef = tree_flatten = tree_map = None  # type: ignore[assignment]
    TorchDispatchMode = object  # type: ignore[assignment,misc]


def _require_torch() -> None:
    if torch is None:
        raise FrontendError("PyTorch is not installed: pip install 'remat[torch]'")


def _storage(t: Any) -> Any:
    return StorageWeakRef(t.untyped_storage())


def _nbytes(t: Any) -> int:
    return int(t.untyped_storage().nbytes())


def _tensors(val: Any) -> list[Any]:
    return [t for t in tree_flatten(val)[0] if isinstance(t, torch.Tensor)]
