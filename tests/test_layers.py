"""The inference layers never import the training, evaluation, command-line or web layers (issue 15,
acceptance): a static scan of every import statement, function-level ones included."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "facepoints"
INFERENCE = ("landmarker", "batching", "tables", "pipeline", "registry", "models", "schemes", "geometry",
             "detectors", "results", "drawing", "tracking")
FORBIDDEN = ("training", "evaluation", "cli", "web")


def _modules(layer: str) -> list[Path]:
    path = PACKAGE / layer
    return sorted(path.rglob("*.py")) if path.is_dir() else [path.with_suffix(".py")]


def _imported(path: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every module ``path`` imports, relative imports resolved."""
    package = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]  # from .. import training
    return found


def _offending(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "facepoints" and len(parts) > 1 and parts[1] in FORBIDDEN


def test_the_scan_resolves_relative_and_function_level_imports(tmp_path):
    module = PACKAGE / "pipeline" / "runtime.py"
    names = {name for _, name in _imported(module)}
    assert any(n.startswith("facepoints.") for n in names)
    assert _offending("facepoints.training.checkpoint") and _offending("facepoints.cli")
    assert not _offending("facepoints.trainingx") and not _offending("facepoints.registry")


def test_inference_layers_do_not_import_training_evaluation_cli_or_web():
    bad = [f"{path.relative_to(PACKAGE)}:{line} imports {name}"
           for layer in INFERENCE for path in _modules(layer) for line, name in _imported(path) if _offending(name)]
    assert not bad, "\n".join(bad)


def test_landmarker_public_surface_is_small():
    """``Landmarker``: ``__call__`` and one boxes entry (``landmarks_for_boxes``), plus video
    (``track``), TUFA's ``plane_points`` and the ``detector``; everything else is private."""
    from facepoints import Landmarker

    public = {name for name in vars(Landmarker) if not name.startswith("_")}
    assert public == {"landmarks_for_boxes", "batch", "track", "plane_points", "detector"}
