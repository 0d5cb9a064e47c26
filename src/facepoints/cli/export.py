"""``facepoints export NAME --format onnx [--fp16] --out DIR``: a model's network as ONNX plus
``NAME.json``, its pre- and post-processing (docs/export.md), for running it elsewhere.

Shipped models are copied from their ONNX files (no PyTorch needed; ``--fp16`` needs the
``onnx`` package); a model without ONNX files (``--checkpoint``) is exported with PyTorch.
Existing files are never replaced."""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from ..pipeline.overwrite import OutputGuard, OverwriteError
from .common import add_checkpoint_argument, model_name, to_json

HELP = "write a model's network (ONNX) and a JSON of its pre- and post-processing, to run it elsewhere"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", nargs="?", default=None, help="model name (see `facepoints models`); default: the "
                   "default model")
    add_checkpoint_argument(p)
    p.add_argument("--format", choices=("onnx",), default="onnx", help="file format (onnx)")
    p.add_argument("--fp16", action="store_true", help="store the weights as float16 (half the file; computed "
                   "in float32; needs the onnx package)")
    p.add_argument("--out", type=Path, required=True, help="folder to write NAME.onnx (+ NAME_stagesK.onnx for "
                   "coarse-to-fine models) and NAME.json into; existing files are never replaced")


def run(args: argparse.Namespace) -> int:
    from ..registry import DEFAULT_MODEL, get_card, weights_path
    from ..registry.export_spec import export_spec

    if args.out.exists() and not args.out.is_dir():
        raise ValueError(f"--out {args.out}: is a file; --out names a folder")
    if args.model and args.checkpoint:
        raise ValueError("give a model name or --checkpoint, not both")
    args.model = args.model or DEFAULT_MODEL
    with tempfile.TemporaryDirectory() as tmp:
        card = get_card(model_name(args, tmp))
        keys = sorted(k for k in card.weights if k == "onnx" or k.startswith("onnx_stages"))
        names = {key: f"{card.name}{key[4:]}.onnx" for key in keys} if keys else {"onnx": f"{card.name}.onnx"}
        guard = OutputGuard([weights_path(card, k) for k in keys] + ([args.checkpoint] if args.checkpoint else []))
        outputs = [args.out / n for n in names.values()] + [args.out / f"{card.name}.json"]
        for path in outputs:  # all checked before the first is written
            guard.claim(path)
            if path.exists() or path.is_symlink():
                raise OverwriteError(f"{path} exists; refusing to replace it (remove it or choose another --out)")
        args.out.mkdir(parents=True, exist_ok=True)
        if keys:
            for key, name in names.items():
                shutil.copyfile(weights_path(card, key), args.out / name)
        else:  # a checkpoint: export its network with PyTorch
            from ..registry import create_model
            from ..registry.export import export_model_files

            written = export_model_files(create_model(card.name), card.crop.size, args.out, card.name)
            names = {key: entry["file"] for key, entry in written.items()}
    if args.fp16:
        from ..registry.onnx_half import store_weights_half

        for name in names.values():
            store_weights_half(args.out / name)
    files = {("default" if key == "onnx" else key[5:]): name for key, name in names.items()}
    spec_path = args.out / f"{card.name}.json"
    spec_path.write_text(to_json(export_spec(card, files, fp16=args.fp16)))
    for name in [*names.values(), spec_path.name]:
        print(args.out / name)
    return 0
