"""The web API against a real ``facepoints serve`` (a subprocess on a free port): the models, the
same JSON as ``facepoints detect``, zero-shot points of a TUFA model given by ``--checkpoint``, and
every bad upload answered with HTTP 4xx and one line, the server serving on."""
from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facepoints.cli.main import main
from facepoints.registry import unregister_model
from hostile.image_bombs import bomb_png

pytest.importorskip("starlette")
SAMPLE = Path(__file__).resolve().parents[1] / "src" / "facepoints" / "samples" / "assets" / "astronaut.jpg"
POINTS = {"nose_to_lip": [0.0, 0.3], "left_cheek": [-0.55, 0.2]}


def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 90, 60)).save(buffer, "PNG")
    return buffer.getvalue()


def detect(server, model: str = "atpn_lite0_68", **fields) -> tuple[int, dict]:
    return server.post("/api/detect", {"model": model, **fields}, {"image": ("astronaut.jpg", sample_bytes())})


def test_models_lists_names_schemes_and_capabilities(web_server):
    status, listing = web_server.get("/api/models")
    assert status == 200 and listing["default"] == web_server.tufa  # --checkpoint makes it the page's first
    by_name = {m["name"]: m for m in listing["models"]}
    assert listing["models"][0]["name"] == web_server.tufa
    assert by_name["atpn_lite0_68"]["capabilities"] == {"outputs": ["landmarks", "pose", "face_prob"],
                                                        "takes_points": False, "stages": None}
    assert by_name["dslpt_lite0_68"]["capabilities"]["outputs"] == ["landmarks", "sigma"]
    assert by_name[web_server.tufa]["capabilities"]["takes_points"] is True
    assert all(m["scheme"] == "ibug68" and len(m["groups"]["jaw"]) == 17 for m in by_name.values())


def detect_cli(folder: Path, *args: str) -> dict:
    """What ``facepoints detect astronaut.jpg ARGS`` (run in ``folder``, in this process) writes."""
    (folder / "astronaut.jpg").write_bytes(sample_bytes())
    image, out = folder / "astronaut.jpg", folder / "out"
    assert main(["detect", str(image), "--out", str(out), "--no-overlay", "--threads", "1", *args]) == 0
    record = json.loads((out / "astronaut.json").read_text())
    assert record["image"] == str(image)
    return {**record, "image": image.name}  # the API names the upload by its file name


def test_detect_answers_what_facepoints_detect_writes(web_server, tmp_path):
    status, record = detect(web_server, "dslpt_lite0_68")
    assert status == 200
    assert record == detect_cli(tmp_path, "--model", "dslpt_lite0_68")
    assert len(record["faces"]) == 1 and len(record["faces"][0]["sigma"]) == 68


def test_zero_shot_points_match_detect_with_the_same_checkpoint(web_server, tmp_path):
    status, record = detect(web_server, web_server.tufa, points=json.dumps(POINTS))
    assert status == 200, record
    assert record["plane_points"] == {"names": list(POINTS), "points": list(POINTS.values())}
    assert record["faces"][0]["scheme"] == "custom:2" and len(record["faces"][0]["landmarks"]) == 2
    (tmp_path / "points.json").write_text(json.dumps(POINTS))
    try:  # `detect --checkpoint` registers the checkpoint under the same name as `serve --checkpoint` did
        assert record == detect_cli(tmp_path, "--checkpoint", str(web_server.checkpoint),
                                    "--points", str(tmp_path / "points.json"))
    finally:
        unregister_model(web_server.tufa)


def test_plane_gives_a_tufa_models_anchors_only(web_server):
    status, plane = web_server.get(f"/api/models/{web_server.tufa}/plane")
    assert status == 200 and np.asarray(plane["anchors"]).shape == (68, 2)
    assert np.abs(plane["anchors"]).max() < 1.5  # plane coordinates: the mean shape in [-1, 1], plus offsets
    status, answer = web_server.get("/api/models/atpn_lite0_68/plane")
    assert status == 400 and "takes no plane points" in answer["error"]


BAD = {
    "text file": ({"image": ("notes.txt", b"just some words\n")}, {}, 400, "notes.txt: not a readable image"),
    "empty file": ({"image": ("empty.jpg", b"")}, {}, 400, "empty.jpg: empty (0 bytes)"),
    "1x1 image": ({"image": ("dot.png", png(1, 1))}, {}, 400, "dot.png: "),
    "huge header": ({"image": ("bomb.png", b"bomb")}, {}, 400, "bomb.png: image header declares 900,000,000 pixels"),
    "over 32 MB": ({"image": ("big.jpg", b"\xff" * (34 * 2**20))}, {}, 413, "upload limit"),
    "no image field": ({}, {"model": "atpn_lite0_68"}, 400, "no image"),
    "points not JSON": (None, {"points": "[[0, 0.1"}, 400, "points: not JSON"),
    "points not pairs": (None, {"points": "[[0, 0.1, 2]]"}, 400, "points: point 0 is not [x, y]"),
    "points not finite": (None, {"points": "[[0, NaN]]"}, 400, "points: "),
    "points for ATPN": (None, {"model": "atpn_lite0_68", "points": "[[0, 0.1]]"}, 400, "needs a TUFA model"),
    "unknown model": (None, {"model": "no_such_model"}, 404, "unknown model 'no_such_model'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_upload_gets_4xx_and_one_line_then_the_next_request_works(web_server, case, tmp_path):
    files, fields, want_status, want_text = BAD[case]
    files = {"image": ("astronaut.jpg", sample_bytes())} if files is None else files
    if case == "huge header":  # a small PNG declaring 30,000 x 30,000 pixels
        files = {"image": ("bomb.png", bomb_png(tmp_path / "bomb.png", 30000, 30000).read_bytes())}
    status, answer = web_server.post("/api/detect", fields, files)  # the server's default model: the TUFA
    assert status == want_status, answer
    assert want_text in answer["error"] and "\n" not in answer["error"] and len(answer["error"]) < 300
    status, record = detect(web_server)
    assert status == 200 and len(record["faces"]) == 1


def test_wrong_paths_and_methods_answer_json_too(web_server):
    import urllib.request

    from web_helpers import send

    assert web_server.get("/api/nothing") == (404, {"error": "Not Found"})
    assert send(urllib.request.Request(web_server.url + "/api/detect")) == (405, {"error": "Method Not Allowed"})


def test_concurrent_requests_share_one_landmarker_and_agree(web_server):
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: detect(web_server), range(8)))
    assert all(status == 200 for status, _ in answers)
    assert all(record == answers[0][1] for _, record in answers)


def test_the_page_and_its_files_are_served(web_server):
    import urllib.request

    with urllib.request.urlopen(web_server.url + "/") as page:
        html = page.read().decode()
    assert '<script src="/static/app.js">' in html and "http" not in html.split("<body", 1)[0].replace("http-equiv", "")
    for name, kind in (("app.js", "javascript"), ("style.css", "css")):
        with urllib.request.urlopen(f"{web_server.url}/static/{name}") as response:
            assert kind in response.headers["content-type"]
    with urllib.request.urlopen(web_server.url + "/api/sample") as response:
        assert response.read() == sample_bytes()


def test_serve_refuses_an_unknown_model_and_a_taken_port_in_one_line(web_server, capsys):
    assert main(["serve", "--model", "no_such_model", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("facepoints serve: error: unknown model 'no_such_model'") and err.count("\n") == 1
    port = web_server.url.rsplit(":", 1)[1]
    assert main(["serve", "--port", port]) == 2
    want = f"facepoints serve: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    assert capsys.readouterr().err == want


def test_the_pool_makes_each_landmarker_once_and_keeps_the_last_point_sets(web_server, tmp_path):
    """In this process: threads asking at once for a model's first ``Landmarker`` share one; prompted
    ones are kept for the last ``PROMPTED_KEPT`` point sets."""
    from facepoints.registry.trained import register_checkpoint
    from facepoints.web.pool import PROMPTED_KEPT, ModelPool

    name = register_checkpoint(web_server.checkpoint, tmp_path, name="tiny_pool", onnx=False)
    try:
        pool = ModelPool("atpn_lite0_68", threads=1)
        with ThreadPoolExecutor(4) as threads:
            made = list(threads.map(lambda _: pool.landmarker(name), range(4)))
        assert all(lm is made[0] for lm in made)
        sets = [np.array([[0.0, 0.1 * i]], np.float32) for i in range(PROMPTED_KEPT + 1)]
        first = pool.landmarker(name, sets[0])
        assert pool.landmarker(name, sets[0].copy()) is first  # the same points, the same Landmarker
        for points in sets[1:]:
            pool.landmarker(name, points)
        assert pool.landmarker(name, sets[-1]) is not first and pool.landmarker(name, sets[0]) is not first
        np.testing.assert_array_equal(pool.anchors(name), pool.landmarker(name).plane_points())
    finally:
        unregister_model(name)
