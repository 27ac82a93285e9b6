"""Reference methods: the deterministic BNN and MC-Dropout; importing registers them."""
from . import deterministic, mc_dropout  # noqa: F401  (registration side effect)
