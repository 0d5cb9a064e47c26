"""The web page end to end in headless Chromium (Selenium + Debian's chromium-driver; skips where
either is missing, `.ci/run` installs both): upload the sample, see the landmarks, switch models,
click a point on the TUFA model's face plane and see it placed on the photo."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from facepoints.geometry import pose_axes_2d
from web_helpers import web_server  # noqa: F401 - the session's server

webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
DRIVER = shutil.which("chromedriver")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None or DRIVER is None, reason="no Chromium and chromedriver installed")]
SAMPLE = Path(__file__).resolve().parents[1] / "src" / "facepoints" / "samples" / "assets" / "astronaut.jpg"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,900", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def wait_for(driver, script: str, timeout: float = 120):
    """The first truthy value of ``script`` (JavaScript returning something), polled."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: d.execute_script(script))


def count(driver, selector: str) -> int:
    return driver.execute_script(f"return document.querySelectorAll({selector!r}).length")


def select_model(driver, name: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "model")).select_by_value(name)


def test_upload_landmarks_and_plane_points_in_chromium(browser, web_server, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains

    browser.get(web_server.url + "/")
    wait_for(browser, "return document.body.dataset.state == 'idle'")
    names = browser.execute_script("return [...document.querySelectorAll('#model option')].map(o => o.value)")
    assert names[0] == web_server.tufa and "atpn_lite0_68" in names and "dslpt_lite0_68" in names
    # the default ATPN model: landmarks and pose axes
    select_model(browser, "atpn_lite0_68")
    browser.find_element("id", "file").send_keys(str(SAMPLE))
    wait_for(browser, "return document.body.dataset.state == 'ready' && "
                      "document.querySelectorAll('#overlay circle.landmark').length == 68")
    assert count(browser, "#overlay .pose-axis") == 3
    assert "1 face" in browser.find_element("id", "status").text
    # DSLPT: one sigma ellipse per point
    select_model(browser, "dslpt_lite0_68")
    wait_for(browser, "return document.body.dataset.state == 'ready' && "
                      "document.querySelectorAll('#overlay ellipse.spread').length == 68")
    # the TUFA model given by --checkpoint: its plane, a click on it, the point on the photo
    select_model(browser, web_server.tufa)
    wait_for(browser, "return document.body.dataset.state == 'ready' && !document.getElementById('plane').hidden "
                      "&& document.querySelectorAll('#plane circle.anchor').length == 68")
    assert count(browser, "#overlay .plane-mark") == 0
    plane = browser.find_element("id", "plane")
    ActionChains(browser).move_to_element_with_offset(plane, 0, plane.size["height"] // 8).click().perform()
    wait_for(browser, "return document.querySelectorAll('#overlay .plane-mark').length == 1")
    clicked = browser.execute_script("return window.facepoints.state.planePoints")
    assert [p["name"] for p in clicked] == ["a"] and abs(clicked[0]["xy"][0]) < 0.05 and 0.05 < clicked[0]["xy"][1] < 0.4
    mark = browser.execute_script("return window.facepoints.state.pointsRecord")
    x, y = mark["faces"][0]["landmarks"][0]
    assert 0 <= x < 512 and 0 <= y < 512 and mark["plane_points"]["names"] == ["a"]
    assert count(browser, "#overlay circle.landmark") == 68  # the landmarks stay
    assert browser.find_element("id", "status").get_attribute("class") != "status error"
    browser.save_screenshot(str(tmp_path / "web_page.png"))
    assert (tmp_path / "web_page.png").stat().st_size > 10_000


def test_the_page_draws_pose_axes_as_the_overlays_do(browser, web_server):
    """The page's JavaScript port of ``facepoints.geometry.pose_axes_2d`` agrees with it."""
    if not browser.current_url.startswith(web_server.url):
        browser.get(web_server.url + "/")
    for pose in ([0, 0, 0], [30, -10, 5], [-60, 25, -40], [10, 80, 170]):
        got = browser.execute_script("return window.facepoints.poseAxes2d(...arguments)", *pose)
        np.testing.assert_allclose(got, pose_axes_2d(np.array(pose, np.float64)), atol=1e-9)
