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


def test_draw_writes_the_backward_page(tmp_path, capsys):
    page = tmp_path / "backward.html"
    assert main(["draw", "lstm", "--steps", "5", "--backward-html", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert "<svg" in text and "const DATA" in text and "t4" in text and "forget_gate" in text
    assert "step by step" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backward.html"]


def test_draw_with_both_outputs_and_rankdir(tmp_path):
    svg, page = tmp_path / "g.gv", tmp_path / "b.html"
    assert main(["draw", "rnn", "--steps", "2", "--grad", "--rankdir", "LR", "-o", str(svg),
                 "--backward-html", str(page)]) == 0
    assert "rankdir=LR" in svg.read_text() and page.exists()


def test_draw_needs_something_to_write(tmp_path):
    with pytest.raises(SystemExit, match="-o lstm.svg, --backward-html"):
        main(["draw", "lstm"])
