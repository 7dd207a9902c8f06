"""Drives headless chromium (Debian's, through chromedriver) against the built web page.

    python browser.py --url http://127.0.0.1:PORT/ --lessons TITLES.json --out DIR

Prints one JSON object per line: {"step": ..., "ok": true, ...} as it goes, and last
{"figures": {...}}. Exits non-zero with the page's console log on the first failure.
The page's test hook, `window.kafkascope.status()`, says what is on screen and where the
widgets are (CSS pixels from the canvas's top-left); clicks and keys are real input events.
"""

import argparse
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

p = argparse.ArgumentParser()
p.add_argument("--url", required=True)
p.add_argument("--lessons", required=True, help="a JSON file: the shipped lessons' titles")
p.add_argument("--out", required=True, help="where screenshots go")
p.add_argument("--timeout", type=float, default=120.0)
args = p.parse_args()

opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in [
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--window-size=1280,800",
    # WebGL2 without a GPU: ANGLE on SwiftShader, chromium's software renderer.
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
]:
    opts.add_argument(a)
opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def say(**kv):
    print(json.dumps(kv), flush=True)


def fail(msg):
    try:
        driver.save_screenshot(f"{args.out}/failure.png")
        logs = driver.get_log("browser")
    except Exception as e:  # the browser itself may be gone
        logs = [{"message": f"(no log: {e})"}]
    print(f"FAILED: {msg}", file=sys.stderr)
    print("--- the page's console:", file=sys.stderr)
    for entry in logs[-60:]:
        print(entry.get("message", entry), file=sys.stderr)
    driver.quit()
    sys.exit(1)


def status():
    raw = driver.execute_script(
        "return window.kafkascope && window.kafkascope.status ? window.kafkascope.status() : null"
    )
    return json.loads(raw) if raw else None


def wait_for(what, pred, timeout=None):
    deadline = time.monotonic() + (timeout or args.timeout)
    last = None
    while time.monotonic() < deadline:
        try:
            last = status()
        except Exception as e:
            fail(f"{what}: the status hook failed: {e}")
        if last is not None and pred(last):
            return last
        time.sleep(0.05)
    fail(f"timed out waiting for {what}; last status: {json.dumps(last)[:2000]}")


def canvas():
    return driver.find_element(By.TAG_NAME, "canvas")


def click(st, name):
    rect = st.get("widgets", {}).get(name)
    if rect is None:
        fail(f"no widget `{name}` on screen; widgets: {sorted(st.get('widgets', {}))}")
    x, y, w, h = rect
    c = canvas()
    size = c.size
    # Selenium's offsets are from the element's centre.
    dx = int(x + w / 2 - size["width"] / 2)
    dy = int(y + h / 2 - size["height"] / 2)
    ActionChains(driver).move_to_element_with_offset(c, dx, dy).click().perform()


def lesson_is(lesson_id, step):
    def pred(s):
        l = s.get("lesson") or {}
        return s.get("screen") == "lesson" and l.get("id") == lesson_id and l.get("step") == step
    return pred


try:
    expected = json.load(open(args.lessons))
    base = args.url.rstrip("/") + "/"

    # 1. It loads: the first frame, timed from navigation start.
    driver.get(base)
    first = None
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        r = driver.execute_script(
            "return window.kafkascope && window.kafkascope.status"
            " ? [performance.now(), window.kafkascope.status()] : null"
        )
        if r and json.loads(r[1]).get("frames", 0) > 0:
            first = r[0]
            break
        time.sleep(0.02)
    if first is None:
        fail("the page drew no frame")
    say(step="first frame", ok=True, ms=round(first))

    # 2. The home screen lists the lessons.
    st = wait_for("the home screen", lambda s: s.get("screen") == "home" and s.get("lessons"))
    if st["lessons"] != expected:
        fail(f"the home screen lists {st['lessons']}, expected {expected}")
    driver.save_screenshot(f"{args.out}/web-home.png")
    say(step="home lists the lessons", ok=True, lessons=len(st["lessons"]))

    # 3. A click on the first lesson opens it.
    entries = sorted(
        (rect[1], rect[0], name.split(":", 1)[1])
        for name, rect in st.get("widgets", {}).items()
        if name.startswith("lesson:")
    )
    if len(entries) != len(expected):
        fail(f"the home screen has {len(entries)} lesson entries to click, expected {len(expected)}")
    first_id = entries[0][2]  # the top one: lesson 1
    click(st, f"lesson:{first_id}")
    st = wait_for(f"lesson {first_id} to open", lambda s: (s.get("lesson") or {}).get("id") == first_id)
    say(step="a click opens a lesson", ok=True, lesson=first_id, at_step=st["lesson"]["step"])

    # 4. The log's challenge, done as a learner does it: type the commands, press Check.
    driver.get(base + "?lesson=the-log&step=6")
    st = wait_for("the-log step 6", lesson_is("the-log", 6))
    for line in ["shutdown consumer-alerts-1", "run 2s", "restart consumer-alerts-1"]:
        st = status()
        click(st, "command")
        # Keys sent before the field has focus would go to the app's shortcuts.
        wait_for("the command field's focus", lambda s: s.get("focus") == "command", 30)
        ActionChains(driver).send_keys(line).send_keys(Keys.ENTER).perform()
        wait_for(
            f"`{line}` to be taken",
            lambda s: line in ((s.get("lesson") or {}).get("commands") or []),
            60,
        )
    st = status()
    click(st, "check")
    st = wait_for(
        "the check's verdict",
        lambda s: (s.get("lesson") or {}).get("check") in ("passed", "failed"),
    )
    if st["lesson"]["check"] != "passed":
        fail(f"the check did not pass: {st['lesson']}")
    time.sleep(1.0)
    driver.save_screenshot(f"{args.out}/web-lesson-checked.png")
    say(step="a lesson's task is done and its check passes", ok=True, message=st["lesson"].get("message"))

    # 5. The simulation's speed in the page (the classroom scenario), when the page offers it.
    has_sim = driver.execute_script("return !!(window.kafkascope && window.kafkascope.simulate)")
    figures = {"first_frame_ms": round(first)}
    if has_sim:
        r = driver.execute_script(
            "const t0 = performance.now(); const r = window.kafkascope.simulate('classroom');"
            " return [performance.now() - t0, r];"
        )
        figures["classroom_wall_ms"] = round(r[0])
        figures["classroom"] = r[1]
    say(figures=figures)
except SystemExit:
    raise
except Exception as e:
    fail(f"{type(e).__name__}: {e}")
driver.quit()
