import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from minigrad.__main__ import main


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "peephole"])
def test_draw_each_standard_cell(cell, tmp_path, capsys):
    path = tmp_path / f"{cell}.svg"
    assert main(["draw", cell, "--steps", "2", "--grad", "-o", str(path)]) == 0
    assert ET.parse(path).getroot().tag.endswith("svg")
    assert "wrote" in capsys.readouterr().out
    source = ET.tostring(ET.parse(path).getroot(), encoding="unicode")
    assert "grad" in source and "t1" in source
    assert "float64" not in source  # a float32 cell stays float32 throughout


def test_help_documents_draw():
    out = subprocess.run([sys.executable, "-m", "minigrad", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "draw" in out.stdout
    out = subprocess.run([sys.executable, "-m", "minigrad", "draw", "--help"], capture_output=True, text=True)
    assert "--steps" in out.stdout and "--hidden-size" in out.stdout and "--grad" in out.stdout


def test_bad_arguments_fail_clearly(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["draw", "transformer", "-o", str(tmp_path / "x.svg")])
    assert main(["draw", "lstm", "-o", str(tmp_path / "x.jpeg")]) == 1
    assert "cannot tell the format" in capsys.readouterr().err
