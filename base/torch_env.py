"""The torch install's one quirk, handled before anything imports torchvision."""

from __future__ import annotations

_TORCHVISION_FRAGMENT = None  # kept alive: dropping the Library would undefine the schemas


def torchvision_importable() -> None:
    """Declare ``torchvision::nms`` and ``torchvision::qnms`` when torchvision's compiled ops
    are not loadable (a CUDA torchvision beside a CPU torch): torchvision registers fake
    kernels for them at import and fails on an operator that does not exist; open_clip and
    transformers import torchvision. Only missing schemas are declared; a working install is untouched."""
    import torch

    missing = []
    for op in ("nms", "qnms"):
        try:
            torch._C._dispatch_find_schema_or_throw(f"torchvision::{op}", "")
        except RuntimeError:
            missing.append(op)
    if missing:
        global _TORCHVISION_FRAGMENT
        _TORCHVISION_FRAGMENT = torch.library.Library("torchvision", "FRAGMENT")
        for op in missing:
            _TORCHVISION_FRAGMENT.define(
                f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
