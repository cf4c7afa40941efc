"""gradcheck itself over the input space: it passes every correct primitive on every input the
primitive strategies draw, and raises, naming the op, on a deliberately wrong gradient."""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st

import minigrad as mg
import strategies as S
from oracle import MG
from ops.test_primitives import CASES
from test_gradcheck import PlantedBugTanh  # tanh whose backward is wrong


@pytest.mark.parametrize("name", sorted(CASES))
@given(data=st.data())
def test_gradcheck_passes_every_correct_primitive(name, data):
    fn, arrays, _ = data.draw(CASES[name], label=name)
    inputs = [mg.tensor(a.astype(np.float64) if a.dtype.kind == "f" else a, requires_grad=a.dtype.kind == "f")
              for a in arrays]
    outs = fn(MG, *inputs)
    assume(all(o.dtype == np.float64 for o in (outs if isinstance(outs, list) else [outs])))  # not a cast to float32
    assert mg.gradcheck(lambda *xs: fn(MG, *xs), inputs)


@given(data=st.data())
def test_gradcheck_raises_on_a_wrong_gradient_and_names_the_op(data):
    x = mg.tensor(data.draw(S.arrays(data.draw(S.shapes(min_side=1)))), requires_grad=True)
    around = data.draw(st.sampled_from([lambda t: t, lambda t: t * 2 + 1, lambda t: t.sigmoid()]))
    fn = lambda t: around(PlantedBugTanh.apply(around(t)))
    with pytest.raises(mg.GradcheckError, match="op 'PlantedBugTanh'"):
        mg.gradcheck(fn, (x,))
    assert mg.gradcheck(fn, (x,), raise_exception=False) is False
    assert x.grad is None
