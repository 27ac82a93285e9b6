"""Reference methods: the deterministic BNN, MC-Dropout and a deep ensemble of deterministic BNNs;
importing registers them."""
from . import deterministic, ensemble, mc_dropout  # noqa: F401  (registration side effect)
