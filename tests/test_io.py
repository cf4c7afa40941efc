
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def test_save_load_round_trip(tmp_path):
    lstm = nn.LSTM(3, 4, num_layers=2)
    path = mg.save(lstm.state_dict(), tmp_path / "lstm.npz")
    other = nn.LSTM(3, 4, num_layers=2)
    other.load_state_dict(mg.load(path))
    for k, v in lstm.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[k], v)


def test_a_file_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled"):
        mg.load(path)


def test_a_file_that_is_not_npz_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match="not an .npz"):
        mg.load(path)
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "missing.npz")
