"""Saving and loading state_dicts as .npz files, never with pickle, never leaving a half-written file."""
import os
import stat
import zipfile

import numpy as np


def save(state_dict, path):
    """Write a dict of arrays to ``path`` (.npz, exactly that name) atomically; returns the path.

    The arrays go to a temporary file in the same folder, which is flushed to disk and then
    renamed over ``path``: a crash or an error while saving leaves the previous file as it was.

    Examples:
        >>> minigrad.save(model.state_dict(), "model.npz")
    """
    target = os.path.realpath(path)  # through a symlink, so the link stays a link
    folder, name = os.path.split(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: the folder {folder!r} does not exist; create it first, e.g. os.makedirs")
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    f = open(tmp, "xb")
    try:
        with f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                for key, value in state_dict.items():
                    array = np.asarray(value)
                    if array.dtype.kind not in "biuf":
                        raise TypeError(f"save: {key!r} has dtype {array.dtype}; only numeric arrays can be saved")
                    with archive.open(key + ".npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, array, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(target):
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    _fsync_folder(folder)
    return path


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path):
    """Read a state_dict written by `save` (or any .npz of plain arrays).

    Every array's checksum is verified first: a truncated or damaged file is refused with an error
    rather than read as wrong numbers.  A file holding pickled objects is refused: loading pickles
    can run arbitrary code.

    Examples:
        >>> state = minigrad.load("model.npz")
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file {path!r}")
    with open(path, "rb") as f:
        head = f.read(4)
    if not head:
        raise ValueError(f"load: {path!r} is empty (0 bytes): it was never written completely; "
                         "load an earlier checkpoint or save again")
    if head not in (b"PK\x03\x04", b"PK\x05\x06"):  # a zip with files, or an empty one
        raise ValueError(f"load: {path!r} is not an .npz file written by minigrad.save (it does not begin "
                         "with a zip header); if it once was, it is corrupt: load an earlier copy")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise zipfile.BadZipFile(f"checksum mismatch in {bad!r}")
            names = archive.namelist()
        strays = [n for n in names if not n.endswith(".npy")]
        if strays:
            raise ValueError(f"load: {path!r} holds {strays}, which are not NumPy arrays; "
                             "it is a zip file but not an .npz written by minigrad.save")
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise ValueError(
                f"load: {path!r} holds pickled Python objects, which minigrad refuses to load (unpickling can "
                "run arbitrary code); save plain numeric arrays with minigrad.save"
            ) from None
        if str(e).startswith("load: "):
            raise
        raise _corrupt(path, e) from None
    except MemoryError:
        raise
    except Exception as e:  # zipfile, zlib and struct each report damage in their own way
        raise _corrupt(path, e) from None


def _corrupt(path, error):
    return ValueError(
        f"load: {path!r} is truncated or corrupt ({type(error).__name__}: {error}); it was cut off or damaged "
        "after it was written (minigrad.save never leaves a half-written file): load an earlier copy or save again"
    )
