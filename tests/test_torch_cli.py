"""``remat extract``: a model from an importable module to a graph file; one-line errors, exit 2."""

from __future__ import annotations

import pytest

from remat.cli import main

torch = pytest.importorskip("torch")

import remat  # noqa: E402
from remat.frontends import torch as frontend  # noqa: E402


def test_extract_writes_the_traced_graph(tmp_path, capsys):
    out = tmp_path / "mlp.json"
    rc = main(["extract", "tests.test_torch_frontend:make_mlp", "--input-shape", "512,32", "--loss", "mean",
               "-o", str(out)])
    assert rc == 0
    g = remat.load_graph(out)
    from tests.test_torch_frontend import make_mlp

    direct = frontend.trace(make_mlp(), torch.randn(512, 32), loss_fn=lambda y: y.mean())
    assert (g.ids, g.preds, g.mem, g.cost) == (direct.graph.ids, direct.graph.preds, direct.graph.mem,
                                               direct.graph.cost)
    assert f"nodes       {g.n}" in capsys.readouterr().out


def test_extract_under_fake_tensor_mode(tmp_path):
    out = tmp_path / "mlp.json"
    assert main(["extract", "tests.test_torch_frontend:make_mlp", "--input-shape", "64x32", "--fake",
                 "--name", "fake-mlp", "-o", str(out)]) == 0
    assert remat.load_graph(out).name == "fake-mlp"


@pytest.mark.parametrize("argv, message", [
    (["nosuchmodule_xyz:f", "--input-shape", "2,3"], "cannot import 'nosuchmodule_xyz'"),
    (["tests.test_torch_frontend:nope", "--input-shape", "2,3"], "has no attribute 'nope'"),
    (["tests.test_torch_frontend", "--input-shape", "2,3"], "expected MODULE:FACTORY"),
    (["tests.test_torch_frontend:make_mlp", "--input-shape", "2,a"], "comma-separated integers"),
    (["tests.test_torch_frontend:make_mlp", "--input-shape", "2,32:float99"], "unknown dtype"),
    (["tests.test_torch_frontend:make_mlp", "--input-shape", "2,31"], "could not trace MLP"),
])
def test_extract_bad_input_is_one_line_exit_2(tmp_path, capsys, argv, message):
    rc = main(["extract", *argv, "-o", str(tmp_path / "g.json")])
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_extract_without_torch_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(frontend, "torch", None)
    rc = main(["extract", "tests.test_torch_frontend:make_mlp", "--input-shape", "2,32", "-o",
               str(tmp_path / "g.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "needs PyTorch" in err and err.count("\n") == 1
    assert not (tmp_path / "g.json").exists()


def test_frontend_imports_without_torch_and_says_so():
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"
            "import remat.frontends.torch as f\n"
            "try:\n    f.trace(None)\nexcept Exception as e:\n    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "FrontendError PyTorch is not installed: pip install 'remat[torch]'"
