"""Every registry answers an unknown name the same way (issue 9): one error type, ``UnknownNameError``
(a LookupError), whose message names the kind, the name, a close match and what is known."""
from __future__ import annotations

import pytest

import hardware
import spindrop
from spindrop.data import dataset_info
from spindrop.evaluation import get_cost_model
from spindrop.models import build_model
from spindrop.naming import UnknownNameError
from spindrop.training import get_profile
from suites import get_suite

LOOKUPS = {
    "method": (spindrop.get_method, "spindorp", "spindrop"),
    "model": (lambda name: build_model(name, (1, 28, 28)), "lenet", "lenet5"),
    "suite": (get_suite, "acuracy", "accuracy"),
    "dataset": (dataset_info, "mnsit", "mnist"),
    "profile": (get_profile, "quik", "quick"),
    "hardware preset": (hardware.get_preset, "nvsim_sttrm", "nvsim_sttram"),
    "cost model": (get_cost_model, "mjt", "mtj"),
}


@pytest.mark.parametrize("kind", list(LOOKUPS))
def test_unknown_name_has_one_type_and_wording(kind):
    lookup, typo, close = LOOKUPS[kind]
    with pytest.raises(UnknownNameError) as info:
        lookup(typo)
    message = str(info.value)
    assert message.startswith(f"unknown {kind} '{typo}' (did you mean '{close}'?); known {kind}s: ")
    assert close in message.split("known ", 1)[1]
    assert isinstance(info.value, LookupError)
