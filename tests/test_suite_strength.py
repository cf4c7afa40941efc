"""The property suite can fail: a wrong gradient planted into any registered primitive is caught.

For every primitive in ``minigrad.ops.REGISTRY`` and each kind of corruption (every input gradient
scaled by 1.5; one element of it perturbed), the gradient properties that the suite runs
(tests/ops/test_primitives.py under each oracle, and gradcheck over the same cases) are run with the
bug planted, and each must fail.  `pytest tests/test_suite_strength.py -s` prints the tally.
"""
import contextlib

import numpy as np
import pytest
from hypothesis import Phase, settings

from minigrad.ops import REGISTRY, Outer, Scatter
import test_gradcheck_props
from ops import test_primitives  # modules, not their test functions: pytest would collect those twice

# A failing example is enough: no shrinking, no example database.
settings.register_profile("strength", parent=settings.get_profile("ci"), phases=[Phase.explicit, Phase.generate])


def _corrupted(d, corrupt):
    if d is None:
        return None
    if isinstance(d, Scatter):
        return Scatter(d.index, corrupt(np.array(d.value)), d.how)
    return corrupt(np.array(d.dense() if isinstance(d, Outer) else d))


@contextlib.contextmanager
def plant(op, corrupt):
    """Make ``op``'s gradient wrong: each input gradient its rule returns passes through ``corrupt``.

    The one place that knows the shape of a primitive: ``forward(*arrays, **params) -> (y, vjp)``.
    """
    original = op.forward

    def forward(*args, **kwargs):
        y, vjp = original(*args, **kwargs)
        return y, lambda g: tuple(_corrupted(d, corrupt) for d in vjp(g))

    op.forward = forward
    try:
        yield
    finally:
        op.forward = original


def _scale(d):
    return d * 1.5


def _perturb(d):
    if d.size:
        d.flat[0] += 0.25
    return d


CORRUPTIONS = {"scaled by 1.5": _scale, "one element + 0.25": _perturb}
PARAMS = test_primitives.PARAMS
CHECKS = {f"test_primitive[{o}]": (lambda name, o=o: test_primitives.test_primitive(name=name, oracle=o), o)
          for o in sorted({o for _, o in PARAMS})}
CHECKS["gradcheck"] = (lambda name: test_gradcheck_props.test_gradcheck_passes_every_correct_primitive(name=name), None)
TALLY = {"planted": 0, "caught": 0}


@pytest.fixture(scope="module", autouse=True)
def strength_profile():
    previous = settings.get_current_profile_name()
    settings.load_profile("strength")
    yield
    settings.load_profile(previous)
    print(f"\nsuite strength: {TALLY['caught']} of {TALLY['planted']} planted wrong gradients caught "
          f"({len(REGISTRY)} primitives x {len(CORRUPTIONS)} corruptions, each by {', '.join(CHECKS)})")


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_a_wrong_gradient_planted_in_any_primitive_is_caught(name, corruption):
    TALLY["planted"] += 1
    missed = []
    with plant(REGISTRY[name], CORRUPTIONS[corruption]):
        for check, (run, oracle) in CHECKS.items():
            if oracle == "torch" and (name, oracle) not in PARAMS:
                continue  # that case has no torch run
            try:
                run(name)
            except AssertionError:  # gradcheck's GradcheckError included
                continue
            missed.append(check)
    assert not missed, f"a gradient of {name!r} {corruption} went unnoticed by {missed}"
    TALLY["caught"] += 1
