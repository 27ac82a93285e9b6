"""Session fixtures for the data tests: a persistent test cache and the real splits, loaded once.

Decoded splits go to ``$SPINDROP_CACHE`` when the user set it, else to pytest's own cache folder
(``.pytest_cache/d/spindrop-data``, git-ignored), never to ``~/.cache``; the CIFAR-10 JPEG decode
(about 15 s on two cores) therefore happens once, in the first session.
"""
import os
from pathlib import Path

import pytest

from spindrop.data import DataError, TensorSplit, load_split, resolve_data_root


@pytest.fixture(scope="session", autouse=True)
def data_cache(request, tmp_path_factory) -> Path:
    if os.environ.get("SPINDROP_CACHE"):
        yield Path(os.environ["SPINDROP_CACHE"])
        return
    cache = getattr(request.config, "cache", None)
    path = cache.mkdir("spindrop-data") if cache is not None else tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPINDROP_CACHE", str(path))
        yield path


@pytest.fixture(scope="session")
def data_root(data_cache) -> Path:
    try:
        return resolve_data_root()
    except DataError as err:
        pytest.skip(f"real data not available: {err}")


@pytest.fixture(scope="session")
def splits(data_root):
    """``splits(name, split)``: load once per session."""
    loaded: dict[tuple[str, str], TensorSplit] = {}

    def get(name: str, split: str) -> TensorSplit:
        if (name, split) not in loaded:
            loaded[name, split] = load_split(name, split, data_root)
        return loaded[name, split]
    return get
