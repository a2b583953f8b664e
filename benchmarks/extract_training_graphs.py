"""Extract the op-level training graph set (issue 19) into OUTDIR with `remat extract`.

    python benchmarks/extract_training_graphs.py benchmarks/graphs/training       # all six
    python benchmarks/extract_training_graphs.py /tmp/g --models bert_mini         # one

Each graph is what `remat extract MODULE:FACTORY --input-shape ... --consume-grads
--fake` writes for a model of benchmarks/training_models.py (FLOP+byte costs,
gradients handed over as soon as computed, traced under FakeTensorMode), named
after its key in MODELS. The Llama-style decoders of the set come from the
generator (`transformer:...` specs in benchmarks/grids/training.toml) and are
not written here. Needs torch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: name -> (factory in benchmarks/training_models.py, input shapes: the data, then the targets)
MODELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "resnet18": ("resnet18", ("32,3,64,64", "32:int64")),  # batch 32 of 64x64 images, 1000 classes
    "resnet56": ("resnet56", ("64,3,32,32", "64:int64")),  # CIFAR: batch 64 of 32x32 images, 10 classes
    "bert_mini": ("bert_mini", ("32,128:int64", "32:int64")),  # batch 32 x 128 tokens, 2 classes
    "bert_base": ("bert_base", ("16,256:int64", "16:int64")),  # batch 16 x 256 tokens, 2 classes
    "gpt2_char": ("gpt2_char", ("64,256:int64", "64,256:int64")),  # batch 64 x 256 characters
    "gpt2_medium": ("gpt2_medium", ("4,1024:int64", "4,1024:int64")),  # batch 4 x 1024 tokens
}


def extract_args(name: str, out_dir: str | Path) -> list[str]:
    """The `remat extract` arguments that write graph ``name`` to ``out_dir/NAME.json``."""
    factory, shapes = MODELS[name]
    args = ["extract", f"benchmarks.training_models:{factory}"]
    for shape in shapes:
        args += ["--input-shape", shape]
    return args + ["--consume-grads", "--fake", "--name", name, "-o", str(Path(out_dir) / f"{name}.json")]


def extract(name: str, out_dir: str | Path) -> Path:
    """Run `remat extract` for ``name`` in this process; returns the file written.

    Raises
    ------
    RuntimeError
        When the extraction fails (its one-line error went to stderr).
    """
    from remat.cli import main

    if str(ROOT) not in sys.path:  # `benchmarks.training_models` imports from the repository root
        sys.path.insert(0, str(ROOT))
    code = main(extract_args(name, out_dir))
    if code != 0:
        raise RuntimeError(f"remat extract of {name!r} failed with exit code {code}")
    return Path(out_dir) / f"{name}.json"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("outdir", help="folder to write NAME.json into (created if missing)")
    p.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of: {', '.join(MODELS)}")
    a = p.parse_args(argv)
    names = [m for m in a.models.split(",") if m]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        p.error(f"unknown model {unknown[0]!r}; known: {', '.join(MODELS)}")
    Path(a.outdir).mkdir(parents=True, exist_ok=True)
    for name in names:
        extract(name, a.outdir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
