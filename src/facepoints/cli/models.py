"""``facepoints models``: the registry with each model card's headline numbers."""
from __future__ import annotations

import argparse
import json

from ..registry import get_card, list_models

HELP = "list the shipped models (or summarise one model card with --card NAME)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--card", metavar="NAME", help="summarise this model's card: architecture, licence, data, "
                   "measured numbers with their commands, files with sha256")
    p.add_argument("--json", action="store_true", help="with --card: print the whole card as JSON instead")


def run(args: argparse.Namespace) -> int:
    from .card_text import card_text

    if args.json and not args.card:
        raise ValueError("--json prints a model card: give --card NAME too")
    if args.card:
        card = get_card(args.card)
        print(json.dumps(card.to_json(), indent=1) if args.json else card_text(card))
        return 0
    for name in list_models():
        card = get_card(name)
        nme = card.metrics.get("overall", {}).get("nme")
        headline = f"300W common NME {100 * nme:.2f} %" if nme is not None else "not benchmarked"
        print(f"{name:24s} {card.scheme:8s} {card.architecture:6s} {headline}  {card.summary}")
    return 0
