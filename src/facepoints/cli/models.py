"""``facepoints models``: the registry with each model card's headline numbers."""
from __future__ import annotations

import argparse
import json

from ..registry import get_card, list_models

HELP = "list the shipped models (or print one model card with --card NAME)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--card", metavar="NAME", help="print this model's full card as JSON")


def run(args: argparse.Namespace) -> int:
    if args.card:
        print(json.dumps(get_card(args.card).to_json(), indent=1))
        return 0
    for name in list_models():
        card = get_card(name)
        nme = card.metrics.get("overall", {}).get("nme")
        headline = f"300W common NME {100 * nme:.2f} %" if nme is not None else "not benchmarked"
        print(f"{name:24s} {card.scheme:8s} {card.architecture:6s} {headline}  {card.summary}")
    return 0
