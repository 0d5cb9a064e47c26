"""Re-export a shipped model's ONNX files from its shipped PyTorch weights and update its card.

Writes ``<name>.onnx`` and, for a coarse-to-fine model (DSLPT), ``<name>_stagesK.onnx`` for each
other stage count, with the project's export code (``registry.export.export_model_files``), and
puts their sha256 in the card. Needs the ``[train]`` extra (PyTorch, onnx).

Usage:
  python tools/export_shipped_onnx.py dslpt_lite0_68 --half
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from facepoints.registry.export import export_model_files
from facepoints.registry import create_model, get_card

ROOT = Path(__file__).resolve().parents[1] / "src/facepoints/registry"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name")
    ap.add_argument("--half", action="store_true", help="store the ONNX weights as float16 (computed in float32)")
    args = ap.parse_args()
    card_path = ROOT / "cards" / f"{args.name}.json"
    card = json.loads(card_path.read_text())
    entries = export_model_files(create_model(args.name), get_card(args.name).config["input_size"],
                                 ROOT / "weights", args.name, args.half)
    card["weights"] = {"torch": card["weights"]["torch"], **entries}
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    for key, entry in entries.items():
        print(f"{key}: {entry['file']} {entry['sha256']}")


if __name__ == "__main__":
    main()
