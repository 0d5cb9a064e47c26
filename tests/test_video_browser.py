"""The annotated videos play in a real browser: headless Chromium loads them in a <video>
element from a local HTTP server (skips where no Chromium is installed; `.ci/run` installs it)."""
from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import threading

import numpy as np
import pytest

from facepoints.tracking import AnnotatedVideoWriter, FrameResult
from video_helpers import write_video

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed")]

PAGE = """<html><body><pre id="r">pending</pre><script>
const names = %s, out = {};
function done(name, text) {
  out[name] = text;
  if (Object.keys(out).length == names.length)
    document.getElementById("r").textContent = names.map(n => n + " " + out[n]).join("\\n");
}
for (const name of names) {
  const v = document.createElement("video");
  v.muted = true; v.preload = "auto"; v.src = name;
  v.onloadeddata = () => done(name, "ready=" + v.readyState + " width=" + v.videoWidth + " height=" + v.videoHeight);
  v.onerror = () => done(name, "error=" + v.error.code);
  document.body.appendChild(v);
}
</script></body></html>"""


def frames(n: int = 20) -> list[np.ndarray]:
    out = []
    for i in range(n):
        f = np.zeros((96, 128, 3), np.uint8)
        f[:, :64, 0] = 220
        f[40:56, i * 4:i * 4 + 16] = 255
        out.append(f)
    return out


def browser_report(folder, names: list[str]) -> dict[str, str]:
    """What Chromium's <video> says about each file in ``folder``, served over HTTP."""
    (folder / "index.html").write_text(PAGE % repr(names))
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--mute-audio",
                               f"--user-data-dir={folder / 'profile'}", "--virtual-time-budget=10000",
                               "--dump-dom", f"http://127.0.0.1:{server.server_address[1]}/index.html"],
                              capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    found = re.search(r'<pre id="r">(.*?)</pre>', proc.stdout, re.S)
    assert found, f"no page in Chromium's output:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return dict(line.split(" ", 1) for line in found.group(1).splitlines() if " " in line)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_annotated_mp4_and_webm_play_in_chromium(tmp_path):
    for name in ("annotated.mp4", "annotated.webm"):
        with AnnotatedVideoWriter(tmp_path / name, fps=25.0) as writer:
            for i, frame in enumerate(frames()):
                writer.write(frame, FrameResult(i, i / 25.0, [], detector_ran=i == 0))
    assert write_video(tmp_path / "mpeg4_part2.mp4", frames()) == 20  # the old writer's codec: the control
    report = browser_report(tmp_path, ["annotated.mp4", "annotated.webm", "mpeg4_part2.mp4"])
    assert report["annotated.mp4"] == "ready=4 width=128 height=96"
    assert report["annotated.webm"] == "ready=4 width=128 height=96"
    assert report["mpeg4_part2.mp4"].startswith("error=")  # the check can tell a video browsers refuse
