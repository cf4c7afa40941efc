import os
import signal
import stat
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OLD = {"w": np.arange(12.0).reshape(3, 4), "b": np.array([1, 2, 3], dtype=np.int32)}


def assert_same_arrays(got, expected):
    assert list(got) == list(expected)
    for key, value in expected.items():
        assert got[key].dtype == value.dtype
        np.testing.assert_array_equal(got[key], value)


def temp_files(folder):
    return [name for name in os.listdir(folder) if name.endswith(".tmp")]


def test_save_load_round_trip(tmp_path):
    lstm = nn.LSTM(3, 4, num_layers=2)
    path = mg.save(lstm.state_dict(), tmp_path / "lstm.npz")
    other = nn.LSTM(3, 4, num_layers=2)
    other.load_state_dict(mg.load(path))
    for k, v in lstm.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[k], v)


@given(st.lists(st.tuples(st.sampled_from([np.float32, np.float64, np.int64, np.bool_]),
                          st.lists(st.integers(0, 3), max_size=3)), max_size=4))
@settings(max_examples=30, deadline=None)
def test_any_numeric_arrays_round_trip_exactly(specs):
    arrays = {f"k{i}": np.random.default_rng(i).standard_normal(shape).astype(dtype) for i, (dtype, shape) in enumerate(specs)}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "a.npz")
        mg.save(arrays, path)
        assert_same_arrays(mg.load(path), arrays)
        assert temp_files(folder) == []


def test_saving_over_a_file_keeps_its_permissions_and_a_new_file_gets_the_umask(tmp_path):
    fresh = tmp_path / "fresh.npz"
    mg.save(OLD, fresh)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o666 & ~umask
    os.chmod(fresh, 0o640)
    mg.save(OLD, fresh)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o640


def test_saving_through_a_symlink_replaces_the_file_it_points_to(tmp_path):
    mg.save(OLD, tmp_path / "run1.npz")
    os.symlink("run1.npz", tmp_path / "latest.npz")
    mg.save({"w": np.zeros(2)}, tmp_path / "latest.npz")
    assert os.path.islink(tmp_path / "latest.npz")
    np.testing.assert_array_equal(mg.load(tmp_path / "run1.npz")["w"], np.zeros(2))


class FailsHalfWay:
    """An array-like whose conversion fails; it records the temporary file being written at that moment."""

    def __init__(self, folder):
        self.folder, self.seen = folder, []

    def __array__(self, dtype=None, copy=None):
        self.seen = [(name, os.path.getsize(os.path.join(self.folder, name))) for name in temp_files(self.folder)]
        raise RuntimeError("conversion failed half-way")


def test_an_error_half_way_through_saving_leaves_the_previous_file_intact(tmp_path):
    path = tmp_path / "model.npz"
    mg.save(OLD, path)
    before = path.read_bytes()
    bad = FailsHalfWay(tmp_path)
    with pytest.raises(RuntimeError, match="half-way"):
        mg.save({"w": np.ones((256, 256)), "bad": bad, "c": np.ones(3)}, path)
    [(name, size)] = bad.seen  # the failure came while a temporary file was being written ...
    assert size > 256 * 256 * 8  # ... with the first array already in it
    assert path.read_bytes() == before
    assert_same_arrays(mg.load(path), OLD)
    assert temp_files(tmp_path) == []  # and the temporary file is gone


def test_a_non_numeric_array_half_way_through_leaves_the_previous_file_intact(tmp_path):
    path = tmp_path / "model.npz"
    mg.save(OLD, path)
    with pytest.raises(TypeError, match="'names' has dtype <U1"):
        mg.save({"w": np.ones(3), "names": np.array(["a", "b"])}, path)
    assert_same_arrays(mg.load(path), OLD)
    assert temp_files(tmp_path) == []


CHILD = r"""
import os, sys, time
import numpy as np
import minigrad as mg

path, mode = sys.argv[1], sys.argv[2]
folder = os.path.dirname(path)

class Ready:
    def __array__(self, dtype=None, copy=None):
        [tmp] = [n for n in os.listdir(folder) if n.endswith(".tmp")]
        print(os.path.getsize(os.path.join(folder, tmp)), tmp, flush=True)
        if mode == "paused":
            time.sleep(600)
        return np.zeros(1)

chunk = np.ones(1 << 20)          # 8 MiB, written 16 times: 128 MiB in all
state = {"first": chunk, "ready": Ready()}
state.update({f"w{i}": chunk for i in range(16)})
mg.save(state, path)
print("finished", flush=True)
"""
FULL_SIZE = 17 * 8 * 2**20


@pytest.mark.parametrize("mode", ["paused", "running"])
def test_a_process_killed_while_saving_leaves_the_previous_file_intact(tmp_path, mode):
    """The child announces (from inside save) that its temporary file holds the first 8 MiB; "paused" then
    waits, "running" goes on writing 128 MiB more and is killed once 16 MiB of those are seen on disk."""
    path = tmp_path / "model.npz"
    mg.save(OLD, path)
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), mode], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": ROOT})
    try:
        size_when_ready, tmp = child.stdout.readline().split()
        size_at_kill, deadline = int(size_when_ready), time.monotonic() + 60
        while mode == "running" and size_at_kill < int(size_when_ready) + 16 * 2**20 and time.monotonic() < deadline:
            size_at_kill = os.path.getsize(tmp_path / tmp)  # kill once 16 MiB more are seen written
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        child.kill()
    assert child.stdout.read() == ""  # save never finished
    size_after = os.path.getsize(tmp_path / tmp)  # the temporary file stays behind: SIGKILL allows no cleanup
    assert 8 * 2**20 <= int(size_when_ready) <= size_after < FULL_SIZE
    if mode == "running":
        assert size_at_kill >= int(size_when_ready) + 16 * 2**20  # the child was writing when the kill came
    assert_same_arrays(mg.load(path), OLD)
    with pytest.raises(ValueError, match="truncated or corrupt"):
        mg.load(tmp_path / tmp)


@pytest.fixture(scope="module")
def saved_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("io") / "model.npz"
    mg.save({"weight": np.linspace(-1, 1, 3000).reshape(100, 30), "bias": np.arange(7, dtype=np.float32)}, path)
    return path.read_bytes()


def write(data):
    fd, path = tempfile.mkstemp(suffix=".npz")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


@given(cut=st.integers(0, 10**9))
@settings(max_examples=200, deadline=None)
def test_a_truncated_file_is_refused(saved_bytes, cut):
    path = write(saved_bytes[: cut % len(saved_bytes)])
    try:
        with pytest.raises(ValueError, match=r"(truncated or corrupt|is empty|not an \.npz).*(earlier|save again)"):
            mg.load(path)
    finally:
        os.remove(path)


@given(position=st.integers(0, 10**9), flip=st.integers(1, 255))
@settings(max_examples=300, deadline=None)
def test_a_corrupted_byte_is_refused_or_harmless(saved_bytes, position, flip):
    """One damaged byte either makes load refuse the file or lands where it changes no number
    (a timestamp, an unused header field): load never returns wrong arrays."""
    data = bytearray(saved_bytes)
    data[position % len(data)] ^= flip
    path = write(bytes(data))
    try:
        try:
            got = mg.load(path)
        except ValueError as e:
            assert "corrupt" in str(e) and path in str(e)
        else:
            expected = {"weight": np.linspace(-1, 1, 3000).reshape(100, 30), "bias": np.arange(7, dtype=np.float32)}
            assert_same_arrays(got, expected)
    finally:
        os.remove(path)


def test_a_damaged_header_of_a_large_array_is_caught_by_its_checksum(tmp_path):
    """Bug found: without the checksum pass, '<f8' damaged to '<f4' in a large array's header read half the data
    as float32 garbage and returned it (zip checks a member's CRC only when it is read to the end)."""
    path = tmp_path / "big.npz"
    mg.save({"w": np.arange(100_000.0)}, path)
    data = bytearray(path.read_bytes())
    data[data.find(b"<f8") + 2] = ord("4")
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="truncated or corrupt.*checksum mismatch in 'w.npy'"):
        mg.load(path)


def test_a_file_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled"):
        mg.load(path)


def test_a_zip_that_is_not_an_npz_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "notes.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match=r"holds \['notes.txt'\], which are not NumPy arrays"):
        mg.load(path)


def test_saving_into_a_missing_folder_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="save: the folder .*missing' does not exist"):
        mg.save(OLD, tmp_path / "missing" / "model.npz")


def test_a_file_that_is_not_npz_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match="not an .npz"):
        mg.load(path)
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        mg.load(path)
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "missing.npz")
