"""The benchmark's --quick mode runs end to end (it checks minigrad's gradients against the hand-written
BPTT before timing anything); timings themselves are never asserted."""
import importlib.util
import json
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_quick_benchmark_runs_and_writes_its_table_and_json(tmp_path):
    out = tmp_path / "lstm.json"
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "lstm.py"), "--quick", "--repeats", "1",
                             "--json", str(out)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| size (B, T, I = H) | numpy_ref | minigrad_cell | minigrad_lstm | minigrad_compiled | " \
           "minigrad_cell_compiled" in result.stdout
    assert "per-op overhead" in result.stdout and "peak memory" in result.stdout
    assert "compile cost of a new signature at medium: " in result.stdout and "for a second batch size" in result.stdout
    data = json.loads(out.read_text())
    assert set(data["times"]) == {"small", "medium"}
    for row in data["times"].values():
        assert row["numpy_ref"]["ratio"] == 1.0 and row["minigrad_lstm"]["ms"] > 0
        assert row["minigrad_compiled"]["ms"] > 0 and row["minigrad_cell_compiled"]["ms"] > 0
    for optional in ("hips_autograd", "mygrad"):  # the optional rows, where those engines are installed
        if importlib.util.find_spec(optional.replace("hips_", "")) is not None:
            assert data["times"]["small"][optional]["ms"] > 0
    assert data["peak_memory_mib"]["minigrad_lstm"] > 0 and data["peak_memory_mib"]["minigrad_compiled"] > 0
    assert data["compile_cost"]["small"]["traced_call_ms"] > 0 and data["compile_cost"]["small"]["replay_ms"] > 0


def test_the_hand_written_reference_matches_minigrad(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        import lstm
    finally:
        sys.path.pop(0)
    systems, _ = lstm.make_systems(2, 5, 4)
    lstm.check_gradients(systems)  # raises if minigrad's gradients differ from numpy_ref's, or a replay from eager


def test_breakdown_mode_prints_each_part():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "lstm.py"), "--breakdown", "small",
                             "--repeats", "1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for part in ("numpy_ref step", "forward, no_grad", "forward, recording", "backward"):
        assert part in result.stdout


def test_the_instruction_counter_runs_its_systems_without_the_optional_engines():
    """benchmarks/instructions.py's child (what valgrind runs) steps each system with torch and friends blocked;
    the counting itself needs valgrind and minutes, so it is run by hand, not here."""
    script = os.path.join(ROOT, "benchmarks", "instructions.py")
    for system in ("numpy_ref", "minigrad_compiled"):
        result = subprocess.run([sys.executable, script, "--child", system, "small", "1", "2"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
