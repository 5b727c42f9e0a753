"""examples/python/train_and_roll_out.py runs and writes its plot (shortened)."""
import pathlib
import subprocess
import sys

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python" / "train_and_roll_out.py"


def test_the_example_writes_its_plot(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "energy.png"
    result = subprocess.run([sys.executable, str(EXAMPLE), "--steps", "100", "--t-end", "2",
                             "--out", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "4/4 finished" in result.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
