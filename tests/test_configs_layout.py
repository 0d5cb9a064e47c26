"""configs/ holds the configs of shipped models only; experiments live in configs/experiments/ with
their outcomes in docs/experiments.md (issue 15, item 5)."""
from __future__ import annotations

import re
from pathlib import Path

from facepoints.registry import get_card, list_models

ROOT = Path(__file__).resolve().parents[1]


def _card_configs() -> set[str]:
    """Every ``configs/....yaml`` a shipped card's training commands name."""
    named = set()
    for name in list_models():
        text = str(get_card(name).training)
        named |= set(re.findall(r"configs/([\w/]+)\.yaml", text))
    return named


def test_top_level_configs_are_exactly_the_shipped_models_configs():
    top = {p.stem for p in (ROOT / "configs").glob("*.yaml")}
    assert top == _card_configs()


def test_every_experiment_has_a_row_in_docs_experiments_and_no_outcome_in_its_header():
    table = (ROOT / "docs" / "experiments.md").read_text()
    experiments = sorted((ROOT / "configs" / "experiments").glob("*.yaml"))
    assert experiments
    for path in experiments:
        assert f"| `{path.stem}` |" in table, path.name
        assert f"configs/experiments/{path.name}" in table, path.name
        header = [line for line in path.read_text().splitlines() if line.startswith("#")]
        assert not any(line.startswith(("# Outcome", "# Trial, not shipped")) for line in header), path.name
