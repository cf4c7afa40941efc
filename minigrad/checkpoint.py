"""Checkpoints: model, optimizer, step and random state in one .npz, so that a resumed run continues exactly."""
from .io import load, save
from .optim import flatten_state_dict, unflatten_state_dict
from .tensor import get_rng_state, set_rng_state


def save_checkpoint(path, model=None, optimizer=None, step=None, **extra):
    """Write what a resumed run needs to ``path`` (one .npz, replaced atomically); returns the path.

    Keys: ``model.<name>`` (the model's state_dict), ``optimizer.<flat key>`` (see
    `minigrad.optim.flatten_state_dict`), ``step``, ``rng`` (`minigrad.get_rng_state`,
    which drives dropout and ``randn``) and ``extra.<name>`` for each extra number or array.

    Examples:
        >>> minigrad.save_checkpoint("run.npz", model=model, optimizer=opt, step=100,
        ...                          best_loss=0.31)
    """
    arrays = {"rng": get_rng_state()}
    if model is not None:
        arrays.update({"model." + k: v for k, v in model.state_dict().items()})
    if optimizer is not None:
        arrays.update({"optimizer." + k: v for k, v in flatten_state_dict(optimizer.state_dict()).items()})
    if step is not None:
        arrays["step"] = step
    arrays.update({"extra." + k: v for k, v in extra.items()})
    return save(arrays, path)


def load_checkpoint(path, model=None, optimizer=None, restore_rng=True):
    """Load a `save_checkpoint` file into ``model``, ``optimizer`` and minigrad's random generator.

    Returns ``{"step": step, **extra}`` (numbers as Python scalars).  If anything does not fit
    (another model's weights, a missing part) a ValueError says what, and nothing is changed.

    Examples:
        >>> start = minigrad.load_checkpoint("run.npz", model, opt)["step"]
    """
    data = load(path)
    parts = {"model": {}, "optimizer": {}, "extra": {}}
    for key, value in data.items():
        head, _, rest = key.partition(".")
        if head in parts and rest:
            parts[head][rest] = value
        elif key not in ("rng", "step"):
            raise ValueError(f"load_checkpoint: {path!r} holds {key!r}, which save_checkpoint does not write; "
                             "for a plain state_dict use model.load_state_dict(minigrad.load(path))")
    for part, given in (("model", model), ("optimizer", optimizer)):
        if given is not None and not parts[part]:
            raise ValueError(f"load_checkpoint: {path!r} holds no {part} state (it was saved without {part}=); "
                             f"pass {part}=None to load the rest")
    if restore_rng and "rng" not in data:
        raise ValueError(f"load_checkpoint: {path!r} holds no random state; pass restore_rng=False to load the rest")

    rng_before = get_rng_state()
    model_before = model.state_dict() if model is not None else None
    try:
        if restore_rng:
            set_rng_state(data["rng"])
        if model is not None:
            model.load_state_dict(parts["model"])
        if optimizer is not None:
            optimizer.load_state_dict(unflatten_state_dict(parts["optimizer"]))
    except BaseException:
        set_rng_state(rng_before)
        if model is not None:
            model.load_state_dict(model_before)
        raise
    info = {"step": data["step"].item() if "step" in data else None}
    info.update({k: v.item() if v.ndim == 0 else v for k, v in parts["extra"].items()})
    return info
