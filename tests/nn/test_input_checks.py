"""Every nn module refuses a wrong input (feature size, number of dimensions, state shape or structure)
with an error that names the argument, and changes nothing: no parameter, no gradient."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from minigrad import nn

CELLS = {"RNNCell": nn.RNNCell, "LSTMCell": nn.LSTMCell, "GRUCell": nn.GRUCell, "PeepholeLSTMCell": nn.PeepholeLSTMCell}
SEQUENCES = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


def _other(n, draw):
    return draw(st.integers(0, 5).filter(lambda m: m != n))


def _snapshot(module):
    return {k: v.copy() for k, v in module.state_dict().items()}


def _assert_refused_and_unchanged(module, call, match):
    before = _snapshot(module)
    with pytest.raises((ValueError, TypeError), match=match):
        call()
    after = module.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before), "a refused call changed a parameter"
    assert all(p.grad is None for p in module.parameters()), "a refused call left a gradient"


@st.composite
def cell_cases(draw):
    name = draw(st.sampled_from(sorted(CELLS)))
    i, h, b = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    cell = CELLS[name](i, h, rng=np.random.default_rng(0))
    has_cell = "LSTM" in name
    wrong = draw(st.sampled_from(["features", "ndim", "state_shape", "state_structure"]))
    if wrong == "features":
        return cell, (mg.randn(b, _other(i, draw)),), "input_size"
    if wrong == "ndim":
        shape = draw(st.sampled_from([(), (2, b, i), (1, 1, b, i)]))
        return cell, (mg.randn(*shape),), "input of shape"
    x = mg.randn(b, i)
    good = mg.randn(b, h)
    if wrong == "state_shape":
        bad = mg.randn(*draw(st.sampled_from([(b, _other(h, draw)), (b + 1, h), (h,), (1, b, h)])))
        state = draw(st.sampled_from([(bad, good), (good, bad)])) if has_cell else bad
        return cell, (x, state), "state"
    state = draw(st.sampled_from([good, (good,), (good, good, good)])) if has_cell else (good, good)
    return cell, (x, state), "state"


@given(cell_cases())
def test_cells_refuse_wrong_inputs_naming_them(case):
    cell, args, match = case
    _assert_refused_and_unchanged(cell, lambda: cell(*args), match)


@st.composite
def sequence_cases(draw):
    name = draw(st.sampled_from(sorted(SEQUENCES)))
    i, h, b, t = (draw(st.integers(1, 3)) for _ in range(4))
    layers, bidirectional = draw(st.integers(1, 2)), draw(st.booleans())
    module = SEQUENCES[name](i, h, num_layers=layers, bidirectional=bidirectional, rng=np.random.default_rng(0))
    n = layers * (2 if bidirectional else 1)
    has_cell = name == "LSTM"
    wrong = draw(st.sampled_from(["features", "ndim", "hx_shape", "hx_structure", "unbatched_hx"]))
    if wrong == "features":
        return module, (mg.randn(t, b, _other(i, draw)),), "input_size"
    if wrong == "ndim":
        return module, (mg.randn(*draw(st.sampled_from([(i,), (1, t, b, i), ()]))),), "input of shape"
    x = mg.randn(t, b, i)
    good = mg.randn(n, b, h)
    if wrong == "hx_shape":
        shape = draw(st.sampled_from([(n + 1, b, h), (n, b + 1, h), (n, b, h + 1), (b, h)]))
        bad = mg.randn(*shape)
        return module, (x, draw(st.sampled_from([(bad, good), (good, bad)])) if has_cell else bad), "hx"
    if wrong == "unbatched_hx":
        bad = mg.randn(n, h + 1)
        return module, (mg.randn(t, i), (bad, mg.randn(n, h)) if has_cell else bad), "hx"
    return module, (x, draw(st.sampled_from([good, (good,)])) if has_cell else (good, good)), "hx"


@given(sequence_cases())
def test_sequence_modules_refuse_wrong_inputs_naming_them(case):
    module, args, match = case
    _assert_refused_and_unchanged(module, lambda: module(*args), match)


@given(st.integers(1, 4), st.integers(1, 4), st.data())
def test_linear_refuses_a_wrong_feature_size(i, o, data):
    layer = nn.Linear(i, o, rng=np.random.default_rng(0))
    shape = data.draw(st.sampled_from([(), (2, _other(i, data.draw)), (_other(i, data.draw),)]))
    _assert_refused_and_unchanged(layer, lambda: layer(mg.randn(*shape)), "in_features")


@given(st.integers(1, 4), st.lists(st.integers(-6, 6), min_size=1, max_size=4))
def test_embedding_refuses_ids_out_of_range(n, ids):
    emb = nn.Embedding(n, 2, rng=np.random.default_rng(0))
    if all(0 <= k < n for k in ids):
        np.testing.assert_array_equal(emb(np.array(ids)).data, emb.weight.data[ids])
    else:
        _assert_refused_and_unchanged(emb, lambda: emb(np.array(ids)), "num_embeddings")
