#!/usr/bin/env python
"""A screenshot of the web page (docs/web.png): the server in this process, headless Chromium
driven by Selenium (Debian's chromium + chromium-driver), the sample portrait uploaded, and points
clicked on a TUFA model's face plane (plane coordinates, x right, y down, the face in [-1, 1]).

    python tools/web_screenshot.py --model atpn_lite0_68 --out docs/web_atpn.png
    python tools/web_screenshot.py --model tufa_lite0_68 --click=0,0.3 --click=-0.55,0.2 --out docs/web.png   # "=": a value may start with "-"
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
from importlib import resources
from pathlib import Path

from PIL import Image

#: the page is ready when this JavaScript returns true (tests/test_web_browser.py waits on the same)
READY = "return document.body.dataset.state == 'ready'"


def chromium_driver(profile: Path, size: tuple[int, int] = (1400, 900)):
    """A headless Chromium under Selenium, with the system's chromium and chromedriver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        raise SystemExit("needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                 f"--window-size={size[0]},{size[1]}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_script_timeout(60)
    return driver


def wait_for(driver, script: str, timeout: float = 120):
    """The first truthy value of ``script`` (JavaScript returning something), polled."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: d.execute_script(script))


def click_plane(driver, x: float, y: float) -> None:
    """A real mouse click on the face plane at plane coordinates (x, y)."""
    from selenium.webdriver.common.action_chains import ActionChains

    plane = driver.find_element("id", "plane")
    dx, dy = driver.execute_script(
        "const svg = arguments[0], p = new DOMPoint(arguments[1], arguments[2]).matrixTransform(svg.getScreenCTM());"
        "const r = svg.getBoundingClientRect(); return [p.x - r.left - r.width / 2, p.y - r.top - r.height / 2];",
        plane, x, y)
    ActionChains(driver).move_to_element_with_offset(plane, round(dx), round(dy)).click().perform()


def serve_in_thread(model: str):
    """The app on a free local port, in a daemon thread: (url, uvicorn server)."""
    import uvicorn

    from facepoints.cli.serve import listening_socket
    from facepoints.web import create_app

    sock = listening_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(model, threads=1), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--model", default="atpn_lite0_68", help="registry name of the model to show")
    parser.add_argument("--checkpoint", help="a training checkpoint to show instead of --model")
    parser.add_argument("--click", action="append", default=[], metavar="X,Y", help="plane point to click (repeatable)")
    parser.add_argument("--size", default="1400x1000", help="browser window, WIDTHxHEIGHT")
    parser.add_argument("--colours", type=int, default=256, help="palette size of the PNG (smaller file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="facepoints-shot-") as tmp:
        model = args.model
        if args.checkpoint:
            from facepoints.registry.trained import load_trained

            model = load_trained(args.checkpoint, Path(tmp) / "weights")
        url, server = serve_in_thread(model)
        driver = chromium_driver(Path(tmp) / "profile", tuple(int(v) for v in args.size.split("x")))
        try:
            driver.get(url + "/")
            wait_for(driver, "return document.body.dataset.state == 'idle'")
            sample = resources.files("facepoints.samples").joinpath("assets", "astronaut.jpg")
            driver.find_element("id", "file").send_keys(str(sample))
            wait_for(driver, READY)
            if args.click:
                wait_for(driver, "return !document.getElementById('plane').hasAttribute('hidden')")
                for n, text in enumerate(args.click, 1):
                    click_plane(driver, *(float(v) for v in text.split(",")))
                    wait_for(driver, f"return document.querySelectorAll('#overlay .plane-mark').length == {n}")
            shot = Path(tmp) / "shot.png"
            driver.save_screenshot(str(shot))
        finally:
            driver.quit()
            server.should_exit = True
        args.out.parent.mkdir(parents=True, exist_ok=True)
        picture = Image.open(shot).convert("RGB").quantize(args.colours, method=Image.Quantize.FASTOCTREE)
        picture.save(args.out, optimize=True)
    print(f"{args.out}: {args.out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
