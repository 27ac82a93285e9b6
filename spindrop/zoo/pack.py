"""Compact storage of a trained binary network: binary weights as bits, everything else as is.

A binary layer computes with sign(W) only (:mod:`spindrop.binary`), so its latent fp32 weights are
stored as one bit each (``numpy.packbits`` of W ≥ 0, sign(0) = +1) and restored as ±1: 32× smaller
and the same forward pass, bit for bit. BatchNorm parameters and running statistics, a method's
scales and every other tensor are kept in their own dtype (fp32), so the restored network computes
exactly what the trained one did (docs/design.md "Model zoo").

File format: an ``.npz`` without pickle; ``bits/<name>`` (uint8) and ``shape/<name>`` (int64) per
binary weight, ``t/<name>`` per other tensor.
"""
from __future__ import annotations

import io

import numpy as np
import torch
from torch import nn

from ..binary import binary_layers


def binary_weight_names(model: nn.Module) -> set[str]:
    """State-dict names of the weights of ``model``'s binary layers."""
    return {f"{name}.weight" if name else "weight" for name, _ in binary_layers(model)}


def pack_state(model: nn.Module) -> bytes:
    """``model``'s state dict in the compact ``.npz`` format."""
    binary = binary_weight_names(model)
    arrays: dict[str, np.ndarray] = {}
    for name, tensor in model.state_dict().items():
        value = tensor.detach().cpu()
        if name in binary:
            arrays[f"bits/{name}"] = np.packbits((value >= 0).numpy().ravel())
            arrays[f"shape/{name}"] = np.array(value.shape, dtype=np.int64)
        else:
            arrays[f"t/{name}"] = value.numpy()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds against allow_pickle: bool
    return buffer.getvalue()


def unpack_state(data: bytes) -> dict[str, torch.Tensor]:
    """The state dict stored by :func:`pack_state`, binary weights as ±1 fp32."""
    state: dict[str, torch.Tensor] = {}
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        for key in arrays.files:
            kind, _, name = key.partition("/")
            if kind == "bits":
                shape = tuple(int(s) for s in arrays[f"shape/{name}"])
                bits = np.unpackbits(arrays[key])[:int(np.prod(shape))].reshape(shape)
                state[name] = torch.from_numpy(bits.astype(np.float32) * 2 - 1)
            elif kind == "t":
                state[name] = torch.from_numpy(arrays[key].copy())
    return state
