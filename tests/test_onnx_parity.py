"""Every shipped model's ONNX files (the default one and one per stage count) agree with its
PyTorch weights on real images: landmarks and per-point sigma within 0.05 px, pose within 0.05
degrees, face confidence within 1e-3."""
from __future__ import annotations

import numpy as np
import pytest

from facepoints import Landmarker
from facepoints.geometry import box_from_points
from facepoints.registry import get_card, list_models, onnx_weights_key, trained_stages
from facepoints.samples import sample_image

pytest.importorskip("torch")



def _single_file(name: str) -> bool:
    """A model whose one ONNX file also holds its PyTorch weights (``package --single-file``): it ships
    no per-stage ONNX files; fewer stages than trained run in PyTorch."""
    weights = get_card(name).weights
    return weights["torch"]["file"] == weights["onnx"]["file"]


#: (model, stages) for every shipped model and stage count with an ONNX file (``None``: the model's default)
CASES = [(name, stages) for name in list_models()
         for stages in [None] + ([] if _single_file(name) else
                                 list(range(1, trained_stages(get_card(name).architecture, get_card(name).config) or 1)))]


@pytest.fixture(scope="module")
def faces(request) -> list[tuple[np.ndarray, np.ndarray]]:
    """Real faces as (RGB image, tight landmark box): the shipped sample portrait, its mirror
    image, and the first 6 faces of 300W's common test set when the shared data is present."""
    image = sample_image("astronaut")
    box = np.array([175.0, 75.0, 266.0, 167.0], np.float32)
    mirrored_box = np.array([511 - box[2], box[1], 511 - box[0], box[3]], np.float32)
    out = [(image, box), (np.ascontiguousarray(image[:, ::-1]), mirrored_box)]
    try:
        root = request.getfixturevalue("data_root")
    except pytest.skip.Exception:
        return out
    from facepoints.datasets.image_list import read_image_list
    from facepoints.pipeline.images import as_rgb

    for record in read_image_list(root / "300W" / "test_common.txt")[:6]:
        out.append((as_rgb(record.image_path), box_from_points(record.landmarks)))
    return out


def test_every_stage_count_ships_an_onnx_file_or_runs_from_the_single_file():
    for name in list_models():
        card = get_card(name)
        counts = range(1, trained_stages(card.architecture, card.config) or 1)
        for stages in counts:
            if _single_file(name):
                assert onnx_weights_key(stages) not in card.weights
                lm = Landmarker(name, detector=None, stages=stages, threads=1)
                assert lm.runtime.name.startswith("torch"), (name, stages)
            else:
                assert onnx_weights_key(stages) in card.weights, (name, stages)


@pytest.mark.parametrize("name, stages", CASES)
def test_onnx_agrees_with_pytorch(name, stages, faces):
    onnx = Landmarker(name, detector=None, backend="onnx", stages=stages, threads=1)
    torch_lm = Landmarker(name, detector=None, backend="torch", stages=stages, threads=1)
    assert onnx.runtime.name == "onnx" and torch_lm.runtime.name == "torch"
    for image, box in faces:
        a, b = onnx._predict(image, box[None]), torch_lm._predict(image, box[None])
        gap = np.abs(a.landmarks - b.landmarks).max()
        assert gap < 0.05, f"{name} stages={stages}: landmarks differ by {gap:.4f} px"
        for field, tolerance in (("sigma", 0.05), ("pose", 0.05), ("confidence", 1e-3)):
            x, y = getattr(a, field), getattr(b, field)
            assert (x is None) == (y is None), field
            if x is not None:
                gap = np.abs(np.asarray(x) - np.asarray(y)).max()
                assert gap < tolerance, f"{name} stages={stages}: {field} differs by {gap:.4g}"


def test_export_leaves_a_multitask_network_in_eval_mode(tmp_path):
    """Regression: torch.onnx.export restores its wrapper's mode, which put the network back in
    training mode (BatchNorm on batch statistics) for whoever used it next."""
    pytest.importorskip("onnx")
    from facepoints.models import ATPN, ATPNConfig
    from facepoints.registry.export import export_onnx

    network = ATPN(ATPNConfig(width=16, embed=32, input_size=64, pose=True, tracking=True))
    assert export_onnx(network, 64, tmp_path / "m.onnx") == ["landmarks", "pose", "face_prob"]
    assert not any(m.training for m in network.modules())
