"""The web page end to end in headless Chromium (Selenium + Debian's chromium-driver; skips where
either is missing, `.ci/run` installs both): upload the sample, see the landmarks, switch models,
click a point on the TUFA model's face plane and see it placed on the photo."""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from facepoints.geometry import pose_axes_2d

pytest.importorskip("selenium")
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None or shutil.which("chromedriver") is None,
                                                      reason="no Chromium and chromedriver installed")]
REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "src" / "facepoints" / "samples" / "assets" / "astronaut.jpg"
_spec = importlib.util.spec_from_file_location("web_screenshot", REPO / "tools" / "web_screenshot.py")
shot = importlib.util.module_from_spec(_spec)  # the docs screenshot tool's browser helpers
_spec.loader.exec_module(shot)
wait_for = shot.wait_for


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = shot.chromium_driver(tmp_path_factory.mktemp("chromium"))
    yield driver
    driver.quit()


def count(driver, selector: str) -> int:
    return driver.execute_script(f"return document.querySelectorAll({selector!r}).length")


def select_model(driver, name: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "model")).select_by_value(name)


def test_upload_landmarks_and_plane_points_in_chromium(browser, web_server, tmp_path):
    browser.get(web_server.url + "/")
    wait_for(browser, "return document.body.dataset.state == 'idle'")
    names = browser.execute_script("return [...document.querySelectorAll('#model option')].map(o => o.value)")
    assert names[0] == web_server.tufa and "atpn_lite0_68" in names and "dslpt_lite0_68" in names
    # the default ATPN model: landmarks and pose axes
    select_model(browser, "atpn_lite0_68")
    browser.find_element("id", "file").send_keys(str(SAMPLE))  # the file chooser, as a user picks a file
    wait_for(browser, "return document.body.dataset.state == 'ready' && "
                      "document.querySelectorAll('#overlay circle.landmark').length == 68")
    assert count(browser, "#overlay .pose-axis") == 3
    assert not browser.find_element("id", "plane").is_displayed()  # no plane for a model that takes no points
    assert "1 face" in browser.find_element("id", "status").text
    # DSLPT: one sigma ellipse per point
    select_model(browser, "dslpt_lite0_68")
    wait_for(browser, "return document.body.dataset.state == 'ready' && "
                      "document.querySelectorAll('#overlay ellipse.spread').length == 68")
    # the TUFA model given by --checkpoint: its plane, a click on it, the point on the photo
    select_model(browser, web_server.tufa)
    wait_for(browser, "return document.body.dataset.state == 'ready' && document.querySelectorAll("
                      "'#plane circle.anchor').length == 68")
    assert browser.find_element("id", "plane").is_displayed()
    assert count(browser, "#overlay .plane-mark") == 0
    shot.click_plane(browser, 0.0, 0.3)  # a real mouse click, between the nose and the upper lip
    wait_for(browser, "return document.querySelectorAll('#overlay .plane-mark').length == 1")
    clicked = browser.execute_script("return window.facepoints.state.planePoints")
    assert [p["name"] for p in clicked] == ["a"]
    np.testing.assert_allclose(clicked[0]["xy"], [0.0, 0.3], atol=0.01)  # within a screen pixel or two
    mark = browser.execute_script("return window.facepoints.state.pointsRecord")
    x, y = mark["faces"][0]["landmarks"][0]
    assert 0 <= x < 512 and 0 <= y < 512 and mark["plane_points"]["names"] == ["a"]
    drawn = browser.execute_script("const c = document.querySelector('#overlay .plane-mark circle');"
                                   "return [+c.getAttribute('cx'), +c.getAttribute('cy')]")
    assert drawn == [x, y]  # drawn where the model put it
    assert count(browser, "#overlay circle.landmark") == 68  # the landmarks stay
    assert browser.find_element("id", "status").get_attribute("class") != "status error"
    browser.save_screenshot(str(tmp_path / "web_page.png"))
    assert (tmp_path / "web_page.png").stat().st_size > 10_000


def test_the_sample_button_runs_the_shipped_portrait(browser, web_server):
    browser.get(web_server.url + "/")
    wait_for(browser, "return document.body.dataset.state == 'idle'")
    browser.find_element("id", "sample").click()
    record = wait_for(browser, "return document.body.dataset.state == 'ready' && window.facepoints.state.record")
    assert record["image"] == "astronaut.jpg" and len(record["faces"]) == 1


def test_a_bad_upload_shows_the_servers_one_line_and_the_next_photo_works(browser, web_server, tmp_path):
    browser.get(web_server.url + "/")
    wait_for(browser, "return document.body.dataset.state == 'idle'")
    (tmp_path / "notes.txt").write_text("not a photo\n")
    browser.find_element("id", "file").send_keys(str(tmp_path / "notes.txt"))
    wait_for(browser, "return document.body.dataset.state == 'error'")
    status = browser.find_element("id", "status")
    assert status.text == "notes.txt: not a readable image (unknown or corrupt format)"
    assert "error" in status.get_attribute("class") and browser.find_element("id", "download").get_attribute("disabled")
    browser.find_element("id", "file").send_keys(str(SAMPLE))
    wait_for(browser, "return document.body.dataset.state == 'ready' && "
                      "document.querySelectorAll('#overlay circle.landmark').length == 68")


def test_the_page_draws_pose_axes_as_the_overlays_do(browser, web_server):
    """The page's JavaScript port of ``facepoints.geometry.pose_axes_2d`` agrees with it."""
    if not browser.current_url.startswith(web_server.url):
        browser.get(web_server.url + "/")
    for pose in ([0, 0, 0], [30, -10, 5], [-60, 25, -40], [10, 80, 170]):
        got = browser.execute_script("return window.facepoints.poseAxes2d(...arguments)", *pose)
        np.testing.assert_allclose(got, pose_axes_2d(np.array(pose, np.float64)), atol=1e-9)
