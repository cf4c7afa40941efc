import numpy as np
import pytest
from hypothesis import settings

# Deterministic property tests: the same examples on every run, no deadline on a shared machine.
settings.register_profile("minigrad", derandomize=True, deadline=None, max_examples=25, print_blob=True)
settings.load_profile("minigrad")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
