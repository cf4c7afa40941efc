"""Every example runs (shortened) and ends with its result line."""
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.util import find_spec


EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def run(script, *args, cwd):
    result = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args], cwd=cwd,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_lstm_from_primitives(tmp_path):
    out = run("lstm_from_primitives.py", "--out", str(tmp_path / "step.svg"), cwd=tmp_path)
    assert "gradcheck of h_t and C_t" in out and "passed" in out
    assert "Result: the hand-written LSTM step equals nn.LSTMCell" in out
    root = ET.parse(tmp_path / "step.svg").getroot()
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for word in ("forget_gate", "input_gate", "candidate", "output_gate", "f_t", "W_f"):
        assert word in text


def test_lstm_from_primitives_takes_quick_as_the_readme_promises(tmp_path):
    out = run("lstm_from_primitives.py", "--quick", "--out", str(tmp_path / "step.svg"), cwd=tmp_path)
    assert "Result: the hand-written LSTM step equals nn.LSTMCell" in out


def test_forecasting_quick_beats_the_naive_forecast(tmp_path):
    out = run("forecasting.py", "--quick", "--plot", str(tmp_path / "f.png"), cwd=tmp_path)
    assert "3409 parameters" in out
    lstm = float(re.search(r"LSTMModel +([0-9.]+)", out).group(1))
    naive = float(re.search(r"naive \(repeat the last value\) +([0-9.]+)", out).group(1))
    assert lstm < naive, out
    assert (tmp_path / "f.png").exists() or find_spec("matplotlib") is None
    assert out.strip().splitlines()[-1].startswith("Result: the LSTM's test MSE")


def test_long_memory_quick(tmp_path):
    out = run("long_memory.py", "--quick", "--plot", str(tmp_path / "g.png"), cwd=tmp_path)
    assert "Final MSE" in out and "||d loss / d h_t||" in out and out.strip().splitlines()[-1].startswith("Result:")


def test_sequence_classification_quick(tmp_path):
    out = run("sequence_classification.py", "--quick", cwd=tmp_path)
    assert "confusion" in out and "Result: test accuracy" in out


def test_char_lm_quick(tmp_path):
    out = run("char_lm.py", "--quick", "--plot", str(tmp_path / "gates.png"), cwd=tmp_path)
    assert "sample (temperature 0.7)" in out and "forget gate per character" in out
    for claim in ("forget: punctuation - letter", "input: sentence start - word start"):
        assert re.search(re.escape(claim) + r" +\| +0 \| trained +\| +[-+]\d\.\d{3}", out), out
        assert re.search(re.escape(claim) + r": [-+]\d\.\d{3} +->", out), out
    assert (tmp_path / "gates.png").exists() or find_spec("matplotlib") is None   # the gates page's figure
    assert out.strip().splitlines()[-1].startswith("Result: loss fell")


def test_first_gradient(tmp_path):
    assert "gradcheck: passed" in run("first_gradient.py", cwd=tmp_path)
