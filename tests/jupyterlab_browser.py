"""Opens notebook 03 in JupyterLab in headless Chromium and checks it as a person would see it.

Run by scripts/test-all.d/15-jupyterlab.sh (which installs JupyterLab, Selenium, Chromium and
chromedriver first):

    .venv/bin/python tests/jupyterlab_browser.py ROOT [--screenshot PATH]

It starts JupyterLab with the README's command, `scripts/notebooks.sh` (which sets up the
kernel, installs JupyterLab into .venv when missing and trusts the notebooks), headless on
127.0.0.1 (a free port, a random token) and on a *copy* of the notebook, so the stored file is
never saved over, opens the notebook in the browser and checks from the
page that the stored rich outputs render (PNG images, an HTML table, the SVG plots). The
screenshot is taken then, of the notebook as a person opens it: the execution counts of the
stored run (one fresh kernel, in order), nothing unsaved, no cell of this test. Only after it
does the test run the `:dep` and `use` cells and a new probe cell on the Rust kernel with
Shift+Enter and check the kernel's output in the page. The server and the browser are stopped
on every exit path.

Not named test_*.py: the notebook step's `unittest discover` must not start a browser.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

NOTEBOOK = "03-genetic-training.ipynb"
# A cell the stored notebook does not have: its output can only come from the kernel, and it
# uses the library, so it also shows that the `:dep` and `use` cells ran.
NEW_CELL = 'println!("digits {:?}, kernel {}", Task::digits().classes(), 6 * 7);'
NEW_CELL_OUTPUT = "digits [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], kernel 42"

# scripts/notebooks.sh first checks the set-up (seconds once done) and installs JupyterLab when
# missing (about a minute from PyPI).
SERVER_START_SECONDS = 600
RENDER_SECONDS = 90
# The `:dep` cell builds bitsmnist-core in evcxr's cache: 3.4 s warm, about 31 s cold, minutes
# after bitsmnist-core changed on a busy 2-core machine.
KERNEL_SECONDS = 600


class Failure(Exception):
    """A check failed; the message says which and what the page showed."""


def fail(message):
    raise Failure(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(settings_dir):
    """User settings for this server only (the person's own JupyterLab settings stay untouched)."""
    settings = {
        # Never write the copy back either (the copy is thrown away, but a save would also
        # re-sign it and hide a trust problem).
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        # Every cell in the DOM, so the checks see all outputs without scrolling (JupyterLab 4
        # may skip rendering cells outside the viewport).
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        # No news and update toasts over the page (and no requests for them).
        "@jupyterlab/apputils-extension/notification": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for plugin, values in settings.items():
        package, name = plugin.rsplit("/", 1)
        path = settings_dir / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


class Server:
    """`bash scripts/notebooks.sh` (then `jupyter lab`) on a copy of the notebook, in its own
    process group."""

    def __init__(self, root, notebooks, work):
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log_path = work / "jupyterlab.log"
        venv_bin = Path(sys.executable).parent
        work_notebooks = copy_notebook(root, notebooks)
        self.env = dict(os.environ)
        # The person's Jupyter data folder holds the `rust` kernel spec: it stays on the search
        # path (JUPYTER_PATH) while the data folder of this run is a private one, so that the
        # script's `jupyter trust` and the server keep their signature database (trust) away
        # from the person's.
        data_dir = subprocess.run(
            [str(venv_bin / "jupyter"), "--data-dir"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        self.env["JUPYTER_PATH"] = os.pathsep.join(
            p for p in [data_dir, self.env.get("JUPYTER_PATH", "")] if p
        )
        self.env["JUPYTER_DATA_DIR"] = str(work / "data")
        (work / "data").mkdir()
        # Config from this run only.
        self.env["JUPYTER_CONFIG_DIR"] = str(work / "config")
        self.env["JUPYTER_RUNTIME_DIR"] = str(work / "runtime")
        # The kernel builds its crates here, kept between runs (as tests/run_notebooks.py keeps
        # target/evcxr): the `:dep` cell then reuses the compiled dependencies. A folder of its
        # own: evcxr writes one crate per folder, so two kernels must not share one.
        self.env["EVCXR_TMPDIR"] = str(root / "target" / "evcxr-jupyterlab")
        Path(self.env["EVCXR_TMPDIR"]).mkdir(parents=True, exist_ok=True)
        settings = work / "settings"
        write_settings(settings)
        # The script trusts the notebooks it opens (the check below that no SVG is refused as
        # untrusted depends on it) and adds --allow-root when run as root.
        command = [
            "bash",
            str(root / "scripts" / "notebooks.sh"),
            "--notebooks",
            str(work_notebooks),
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            # The copy sits in a hidden folder beside notebooks/ (see copy_notebook).
            "--ContentsManager.allow_hidden=True",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={work / 'workspaces'}",
        ]
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            command,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self):
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                fail(f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                request = urllib.request.Request(
                    f"{self.url}/api/status", headers={"Authorization": f"token {self.token}"}
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.5)
        fail(f"jupyter lab did not answer within {SERVER_START_SECONDS} s:\n{self.log_tail()}")

    def log_tail(self, lines=40):
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self):
        if self.process.poll() is None:
            # The group: the server and the kernels it started.
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        self.log.close()


def copy_notebook(root, folder):
    """Copies the notebook where its `:dep` path (`../bitsmnist-core`) still resolves.

    `folder` sits directly under the workspace root, like notebooks/, so the copy's relative
    path reaches the real crate.
    """
    shutil.copy2(root / "notebooks" / NOTEBOOK, folder / NOTEBOOK)
    return folder


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--window-size=1400,1100",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    if os.geteuid() == 0:
        # Chromium's sandbox cannot start as root (CI runs as root).
        options.add_argument("--no-sandbox")
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    # Debian's chromedriver by path: Selenium Manager would try to download one.
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def wait(driver, seconds, what, condition):
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.2).until(lambda d: condition(d))
    except TimeoutException:
        fail(f"timed out after {seconds} s waiting for {what}")


def cells(driver):
    return driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Notebook .jp-Cell")


def prompt(cell):
    return cell.find_element(By.CSS_SELECTOR, ".jp-InputPrompt").text.strip()


def execution_count(cell):
    match = re.fullmatch(r"\[(\d+)\]:", prompt(cell))
    return int(match.group(1)) if match else None


def stored_outputs(path):
    """What the page must show, read from the notebook file (other work may add cells)."""
    notebook = json.loads(path.read_text())
    outputs = [o for c in notebook["cells"] for o in c.get("outputs", [])]

    def count(mime, needle=None):
        return sum(
            1
            for o in outputs
            if mime in o.get("data", {})
            and (needle is None or needle in "".join(o["data"][mime]))
        )

    code = [i for i, c in enumerate(notebook["cells"]) if c["cell_type"] == "code"]
    dep = next(
        (i for i in code if ":dep bitsmnist-core" in "".join(notebook["cells"][i]["source"])),
        None,
    )
    expected = {
        "cells": len(notebook["cells"]),
        "png": count("image/png"),
        # SVG plots: image/svg+xml outputs, and the SVG data-URI images inside the HTML of
        # the rich displays (histories, populations, model files).
        "svg": count("image/svg+xml")
        + sum(
            "".join(o["data"]["text/html"]).count("data:image/svg+xml")
            for o in outputs
            if "text/html" in o.get("data", {})
        ),
        "tables": count("text/html", "<table"),
        "dep": dep,
        # The `use` cell: the code cell after `:dep`.
        "use": next((i for i in code if dep is not None and i > dep), None),
    }
    for key in ("png", "svg", "tables"):
        if not expected[key]:
            fail(f"notebooks/{NOTEBOOK} has no stored {key} output to check: {expected}")
    if expected["dep"] is None or expected["use"] is None:
        fail(f"notebooks/{NOTEBOOK} has no `:dep bitsmnist-core` cell followed by a code cell")
    return expected


def check_stored_outputs(driver, expected):
    """The stored rich outputs, as the page renders them."""
    images = driver.execute_script(
        """
        return [...document.querySelectorAll('.jp-OutputArea-output img')]
            .filter(img => img.src.startsWith('data:'))
            .map(img => ({type: img.src.substring(5).split(/[;,]/)[0],
                          complete: img.complete, width: img.naturalWidth}));
        """
    )
    png = [i for i in images if i["type"] == "image/png"]
    if len(png) < expected["png"]:
        fail(f"{len(png)} PNG images with a data URI in output areas, stored {expected['png']}")
    broken = [i for i in images if not i["complete"] or i["width"] <= 0]
    if broken:
        fail(f"images that did not decode (naturalWidth 0): {broken}")
    svg = driver.execute_script(
        """
        const inline = document.querySelectorAll('.jp-OutputArea-output svg').length;
        const asImage = [...document.querySelectorAll('.jp-OutputArea-output img')]
            .filter(img => img.src.startsWith('data:image/svg+xml') && img.naturalWidth > 0)
            .length;
        return {inline, asImage};
        """
    )
    # JupyterLab renders image/svg+xml as an <img> with an SVG data URI; an HTML output may
    # carry inline <svg>.
    if svg["asImage"] + svg["inline"] < expected["svg"]:
        fail(f"rendered SVG plots {svg}, stored {expected['svg']}")
    if driver.find_elements(By.XPATH, "//*[contains(text(), 'Cannot display an untrusted SVG')]"):
        fail("JupyterLab refused an SVG output as untrusted")
    tables = driver.execute_script(
        """
        return [...document.querySelectorAll('.jp-OutputArea-output table')]
            .map(t => ({rows: t.rows.length, text: t.innerText.slice(0, 200)}));
        """
    )
    with_rows = [t for t in tables if t["rows"] >= 2]
    if len(with_rows) < expected["tables"]:
        fail(f"HTML tables with rows in output areas: {tables}, stored {expected['tables']}")
    return {"images": len(images), "png": len(png), "svg": svg, "tables": len(tables)}


def run_cells(driver, expected):
    """Runs the `:dep` and `use` cells and a new cell through the UI (Shift+Enter)."""
    shown = cells(driver)
    dep_cell, use_cell = shown[expected["dep"]], shown[expected["use"]]
    dep_source = dep_cell.find_element(By.CSS_SELECTOR, ".jp-InputArea-editor").text
    if ":dep bitsmnist-core" not in dep_source:
        fail(f"the first code cell is not the :dep cell: {dep_source!r}")
    editor = dep_cell.find_element(By.CSS_SELECTOR, ".jp-InputArea-editor .cm-content")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", dep_cell)
    editor.click()
    actions = ActionChains(driver)
    # Two Shift+Enters: run the `:dep` cell, then the `use` cell (each moves to the next cell).
    actions.key_down(Keys.SHIFT).send_keys(Keys.ENTER).send_keys(Keys.ENTER).key_up(Keys.SHIFT)
    actions.perform()
    # Now on the cell after `use`: `a` (command mode) inserts a code cell above it.
    after = expected["use"] + 1
    wait(driver, 10, "the cell after the use cell to be active", lambda d: active_index(d) == after)
    ActionChains(driver).send_keys(Keys.ESCAPE).send_keys("a").perform()
    wait(driver, 10, "a new cell", lambda d: len(cells(d)) == expected["cells"] + 1)
    new_cell = cells(driver)[after]
    new_cell.find_element(By.CSS_SELECTOR, ".jp-InputArea-editor .cm-content").click()
    ActionChains(driver).send_keys(NEW_CELL).perform()
    typed = new_cell.find_element(By.CSS_SELECTOR, ".jp-InputArea-editor").text
    if typed.strip() != NEW_CELL:
        fail(f"the new cell holds {typed!r}, not {NEW_CELL!r}")
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()

    def new_output(d):
        text = new_cell.find_element(By.CSS_SELECTOR, ".jp-Cell-outputArea").text
        errors = d.find_elements(
            By.CSS_SELECTOR,
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
        )
        if errors:
            fail("the kernel reported an error: " + " | ".join(e.text[:500] for e in errors))
        return NEW_CELL_OUTPUT in text and execution_count(new_cell) is not None

    wait(driver, KERNEL_SECONDS, f"the kernel's output {NEW_CELL_OUTPUT!r}", new_output)
    counts = [execution_count(c) for c in (dep_cell, use_cell, new_cell)]
    if None in counts or not counts[0] < counts[1] < counts[2]:
        prompts = [prompt(c) for c in (dep_cell, use_cell, new_cell)]
        fail(f"execution counts not in run order: {prompts}")
    dep_output = dep_cell.find_element(By.CSS_SELECTOR, ".jp-Cell-outputArea").text
    if "cache: 500 MiB" not in dep_output:
        fail(f"the :dep cell's output is {dep_output!r}")
    return counts


def check_as_opened(driver, expected):
    """The page shows the stored notebook as saved: every code cell's execution count, in
    order from 1 (the stored run of one fresh kernel), and no unsaved change (JupyterLab marks
    a modified document's tab, and the tab's close icon turns into a dot)."""
    counts = [
        execution_count(c)
        for c in cells(driver)
        if "jp-CodeCell" in (c.get_attribute("class") or "")
    ]
    if counts != list(range(1, len(counts) + 1)):
        fail(f"the stored execution counts are not 1, 2, 3, ... in order: {counts}")
    # A result's prompt repeats its cell's count.
    for c in cells(driver):
        if "jp-CodeCell" not in (c.get_attribute("class") or ""):
            continue
        shown = {
            p.text.strip()
            for p in c.find_elements(By.CSS_SELECTOR, ".jp-OutputPrompt")
            if p.text.strip()
        }
        if shown - {prompt(c)}:
            fail(f"a cell {prompt(c)} shows output prompts {sorted(shown)}")
    if len(cells(driver)) != expected["cells"]:
        fail(f"{len(cells(driver))} cells in the page, the file has {expected['cells']}")
    dirty = driver.find_elements(By.CSS_SELECTOR, ".jp-mod-dirty")
    if dirty:
        fail(f"the notebook shows unsaved changes before any cell ran ({len(dirty)} marks)")
    return counts


def status_idle(driver):
    """The status bar reads `Rust | Idle` (it may say `Connecting` a while after the toolbar's
    indicator turned idle, and a shot should not show that)."""
    texts = driver.execute_script(
        "return [...document.querySelectorAll('.jp-StatusBar-Widget, #jp-main-statusbar *')]"
        ".map(e => e.innerText || '');"
    )
    return kernel_idle(driver) and any(re.search(r"\|\s*Idle\b", t) for t in texts)


def screenshot(driver, path):
    """The top of the notebook, as a person first sees it, the kernel idle."""
    wait(driver, RENDER_SECONDS, "the status bar to read 'Rust | Idle'", status_idle)
    first = driver.find_elements(By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Cell")[0]
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", first)
    # Let the scroll and any late image decoding settle before the shot.
    time.sleep(0.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    print(f"screenshot: {path} ({path.stat().st_size} bytes)")


def active_index(driver):
    return driver.execute_script(
        """
        const all = [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')];
        return all.findIndex(c => c.classList.contains('jp-mod-active'));
        """
    )


def kernel_idle(driver):
    # The toolbar's kernel status; "Idle" once the evcxr kernel has started.
    status = driver.find_elements(
        By.CSS_SELECTOR, ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator"
    )
    return bool(status) and status[0].get_attribute("data-status") == "idle"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the workspace root")
    parser.add_argument("--screenshot", type=Path, help="where to write the page's PNG")
    args = parser.parse_args()
    root = args.root.resolve()

    # A signal ends the run through the finally blocks below (server and browser stopped).
    def stop(signum, _frame):
        raise SystemExit(f"stopped by signal {signum}")

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)

    # The server's state (config, settings, trust database, log) in the system's temp folder;
    # the notebook's copy beside notebooks/.
    work = Path(tempfile.mkdtemp(prefix="bitsmnist-jupyterlab."))
    notebooks = Path(tempfile.mkdtemp(prefix=".jupyterlab-test.", dir=root))
    server = driver = None
    try:
        started = time.monotonic()
        server = Server(root, notebooks, work)
        copied = (notebooks / NOTEBOOK).read_bytes()
        expected = stored_outputs(notebooks / NOTEBOOK)
        server.wait_ready()
        print(f"jupyter lab up on port {server.port} ({time.monotonic() - started:.1f} s)")
        driver = browser()
        driver.get(f"{server.url}/lab/tree/{NOTEBOOK}?token={server.token}")
        wait(
            driver,
            RENDER_SECONDS,
            f"the notebook to render (its {expected['cells']} cells, output images)",
            lambda d: len(cells(d)) == expected["cells"]
            and d.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output img"),
        )
        wait(driver, RENDER_SECONDS, "the Rust kernel to be idle", kernel_idle)
        # Images decode asynchronously after insertion.
        wait(
            driver,
            30,
            "the output images to decode",
            lambda d: d.execute_script(
                "return [...document.querySelectorAll('.jp-OutputArea-output img')]"
                ".every(i => i.complete);"
            ),
        )
        found = check_stored_outputs(driver, expected)
        print(f"stored outputs render: {found} ({time.monotonic() - started:.1f} s)")
        counts = check_as_opened(driver, expected)
        print(f"as opened: execution counts 1 to {counts[-1] if counts else 0}, nothing unsaved")
        # The shot comes before the kernel check: the probe cell, the re-run cells' new
        # counts and the unsaved-changes mark it leaves are the test's, not the notebook's.
        if args.screenshot:
            screenshot(driver, args.screenshot)
        counts = run_cells(driver, expected)
        print(
            f"ran the :dep, use and a new cell on the kernel, execution counts {counts} "
            f"({time.monotonic() - started:.1f} s)"
        )
        # The stored notebook is out of the server's reach (its root is the copy's folder);
        # the copy must be unsaved too: the new cell lives only in the page.
        if (notebooks / NOTEBOOK).read_bytes() != copied:
            fail(f"JupyterLab saved the notebook (the copy of {NOTEBOOK} changed)")
        print(f"JupyterLab check passed ({time.monotonic() - started:.1f} s)")
    except Failure as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        if server is not None:
            print(f"--- jupyter lab log (last lines)\n{server.log_tail()}", file=sys.stderr)
        if driver is not None:
            shot = root / "target" / "jupyterlab-failure.png"
            try:
                shot.parent.mkdir(parents=True, exist_ok=True)
                driver.save_screenshot(str(shot))
                print(f"page at the failure: {shot}", file=sys.stderr)
            except WebDriverException:
                pass
        sys.exit(1)
    finally:
        if driver is not None:
            try:
                driver.quit()
            except WebDriverException:
                pass
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(notebooks, ignore_errors=True)


if __name__ == "__main__":
    main()
