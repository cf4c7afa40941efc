"""Saving and loading state_dicts as .npz files, never with pickle."""
import os
import zipfile

import numpy as np


def save(state_dict, path):
    """Write a dict of arrays to ``path`` (.npz, exactly that name); returns the path.

    >>> minigrad.save(model.state_dict(), "model.npz")
    """
    arrays = {}
    for key, value in state_dict.items():
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"save: {key!r} has dtype {array.dtype}; only numeric arrays can be saved")
        arrays[key] = array
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def load(path):
    """Read a state_dict written by :func:`save` (or any .npz of plain arrays).

    A file holding pickled objects is refused: loading pickles can run arbitrary code.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file {path!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"load: {path!r} is not an .npz file written by minigrad.save")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise ValueError(
                f"load: {path!r} holds pickled Python objects, which minigrad refuses to load (unpickling can "
                "run arbitrary code); save plain numeric arrays with minigrad.save"
            ) from None
        raise
