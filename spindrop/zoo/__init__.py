"""The model zoo: trained reference networks stored compactly with a JSON record each
(:mod:`spindrop.zoo.entry`), loaded ready for MC inference.

    import spindrop.zoo
    spindrop.zoo.names()                       # the entries shipped with the package
    net = spindrop.zoo.load(name)              # eval mode, the method's dropout sites installed
    spindrop.zoo.record(name)["metrics"]       # its numbers, reproduced by spindrop.evaluate

The zoo is read from ``$SPINDROP_ZOO`` when it is set. Entries are exported from a result store's
checkpoints by ``python -m suites.zoo export RUN_DIR`` and evaluated without training by
``python -m suites.evaluate --zoo NAME``.
"""
from .entry import (
    ZOO_ROOT,
    Architecture,
    ZooError,
    architecture,
    evaluate_entry,
    export,
    load,
    names,
    record,
    weights_path,
    zoo_root,
)
from .pack import pack_state, unpack_state

__all__ = ["ZOO_ROOT", "Architecture", "ZooError", "architecture", "evaluate_entry", "export", "load", "names",
           "pack_state", "record", "unpack_state", "weights_path", "zoo_root"]
