"""no_grad / enable_grad in every form torch offers: context manager, decorator with and without
parentheses, on generator functions, nested in any order, and per thread."""
import threading

import pytest
from hypothesis import given, strategies as st

import minigrad as mg

MODES = {"no_grad": (mg.no_grad, False), "enable_grad": (mg.enable_grad, True)}
modes = st.sampled_from(sorted(MODES))
forms = st.sampled_from(["with", "decorator()", "decorator", "generator()", "generator"])


def _leaf():
    return mg.tensor([1.0, 2.0], requires_grad=True)


def run_in_mode(name, form):
    """Compute x * 2 inside ``name`` used in ``form``; return (is_grad_enabled inside, output requires grad)."""
    mode = MODES[name][0]
    x = _leaf()

    def body():
        return mg.is_grad_enabled(), (x * 2).requires_grad

    if form == "with":
        with mode():
            return body()
    if form in ("decorator()", "decorator"):
        return (mode()(body) if form == "decorator()" else mode(body))()

    def gen():
        yield body()
        yield body()  # still in the mode after the caller ran outside it

    wrapped = mode()(gen) if form == "generator()" else mode(gen)
    it = wrapped()
    first = next(it)
    with MODES["enable_grad" if name == "no_grad" else "no_grad"][0]():  # the caller is in the other mode
        second = next(it)
    assert first == second, f"{name} on a generator: {first} at the first step, {second} after the caller switched"
    with pytest.raises(StopIteration):
        next(it)
    return first


@given(outer=st.lists(st.tuples(modes, forms), max_size=3), inner=st.tuples(modes, forms))
def test_grad_mode_applies_inside_and_restores_outside(outer, inner):
    """Nest any modes in any forms: the innermost decides; on exit, the outer one is back."""

    def nest(stack):
        if not stack:
            return run_in_mode(*inner)
        name, _ = stack[0]
        with MODES[name][0]():
            result = nest(stack[1:])
            assert mg.is_grad_enabled() is MODES[name][1]
        return result

    before = mg.is_grad_enabled()
    enabled, records = nest(outer)
    expected = MODES[inner[0]][1]
    assert enabled is expected and records is expected
    assert mg.is_grad_enabled() is before


def test_generator_gets_sent_values_return_value_and_thrown_exceptions():
    @mg.no_grad
    def gen():
        got = yield mg.is_grad_enabled()
        try:
            yield got
        except KeyError:
            yield ("caught", mg.is_grad_enabled())
        return "done"

    it = gen()
    assert next(it) is False
    assert it.send(5) == 5
    assert it.throw(KeyError("k")) == ("caught", False)
    with pytest.raises(StopIteration) as stop:
        next(it)
    assert stop.value.value == "done"
    assert mg.is_grad_enabled()


@given(modes)
def test_grad_mode_is_per_thread(name):
    """A mode switched in one thread leaves another thread's mode alone (threading.local, as torch)."""
    mode, value = MODES[name]
    inside, entered, release = {}, threading.Event(), threading.Event()

    def other():
        inside["start"] = mg.is_grad_enabled()
        with mode():
            entered.set()
            release.wait(5)
            inside["held"] = mg.is_grad_enabled()

    with MODES["enable_grad" if name == "no_grad" else "no_grad"][0]():
        mine = mg.is_grad_enabled()
        t = threading.Thread(target=other)
        t.start()
        entered.wait(5)
        assert mg.is_grad_enabled() is mine, "the other thread's mode leaked into this one"
        release.set()
        t.join()
    assert inside == {"start": True, "held": value}  # a new thread starts with grad enabled, as torch


def test_decorating_something_not_callable_says_so():
    with pytest.raises(TypeError, match="decorates a function"):
        mg.no_grad()(3)
