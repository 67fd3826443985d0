#!/usr/bin/env python3
"""Execute the Rust (evcxr) notebooks headlessly and check them.

Usage (from the workspace root, after tests/setup-notebooks.sh):

    .venv/bin/python tests/run_notebooks.py              # check every notebooks/*.ipynb
    .venv/bin/python tests/run_notebooks.py notebooks/01-datasets.ipynb
    .venv/bin/python tests/run_notebooks.py --write      # also save the outputs back

Plain `python tests/run_notebooks.py` works too: without nbclient it re-runs itself with the
workspace's .venv interpreter.

Notebooks run one after another in a `rust` kernel. A notebook fails when:
  - a cell raises an error (compile error, panic: the harness sets `:preserve_vars_on_panic 0`
    through tests/evcxr/init.evcxr, so a panic kills the kernel), or the kernel dies;
  - a cell writes to stderr (evcxr reports an `Err` returned by `?` only as stderr text);
  - a cell lacks an output MIME type it declares in its metadata, e.g.
    `"metadata": {"expect": ["image/png"]}`;
  - an output shows Rust's `Debug` text where people read (`Some("MNIST (embedded)")`,
    `Objective { correct_weight: 16, .. }`): displays and printed lines use `Display`.

The closing line is exactly `N passed, N failed`; the exit status is 1 when any failed.
By default the stored notebooks are left untouched (check only); `--write` saves the executed
notebooks with their fresh outputs (only the ones that passed).

Speed: evcxr builds every kernel's crates in EVCXR_TMPDIR; the harness points it at a
persistent folder (target/evcxr by default) so reruns reuse the compiled dependencies. A
kernel started without EVCXR_TMPDIR (JupyterLab's, any other front end's) builds in a new
empty folder, where only evcxr's `:cache` (`~/.cache/evcxr`: compiled crates.io crates, never
`bitsmnist-core` itself, a path dependency) saves work. Three options for that:

    --warm-cache          fill the `:cache` as the notebooks' first cells use it, then exit
                          (tests/setup-notebooks.sh runs it; skipped when already done)
    --fresh               measure a cold start: an empty `:cache` and an empty build folder
                          (a fresh machine without the warm-up)
    --fresh-after-setup   measure a fresh machine after tests/setup-notebooks.sh: an empty
                          `:cache` filled by --warm-cache's warm-up (timed apart), then the
                          notebooks in an empty build folder

Neither --fresh option reads or changes the user's `:cache`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError
except ImportError:  # pragma: no cover - re-run with the workspace venv
    # (Compare environments, not interpreters: the venv's python is a symlink to this one.)
    if VENV_PYTHON.exists() and pathlib.Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    sys.exit("nbclient/nbformat missing: run tests/setup-notebooks.sh first")


def parse_time(s: str | None) -> dt.datetime | None:
    if not s:
        return None
    try:
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


def cell_seconds(cell) -> float | None:
    """Wall time of one cell from nbclient's timing metadata."""
    ex = cell.get("metadata", {}).get("execution", {})
    start = parse_time(ex.get("iopub.execute_input")) or parse_time(ex.get("shell.execute_request"))
    end = parse_time(ex.get("shell.execute_reply")) or parse_time(ex.get("iopub.status.idle"))
    if start and end:
        return (end - start).total_seconds()
    return None


def first_line(source: str) -> str:
    line = source.strip().splitlines()[0] if source.strip() else ""
    return line if len(line) <= 60 else line[:57] + "..."


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def excerpt(text: str, lines: int = 12) -> str:
    """The first lines of `text`, without terminal colours."""
    all_lines = ANSI.sub("", text).strip().splitlines()
    more = len(all_lines) - lines
    return "\n".join(all_lines[:lines]) + (f"\n... ({more} more lines)" if more > 0 else "")


# Rust `Debug` formatting in an output: an `Option`'s `Some(..)`, a struct's `Name { field: ..`.
DEBUG_TEXT = re.compile(r"\bSome\(|\b[A-Z][A-Za-z0-9]* \{ [a-z_][a-z0-9_]*: ")


def debug_text(out) -> str | None:
    """The first `Debug`-formatted fragment in an output's text (HTML, plain text, a printed
    stream), with some context; None when there is none."""
    texts = [out.get("text", "")] if out.get("output_type") == "stream" else [
        v if isinstance(v, str) else "".join(v)
        for k, v in out.get("data", {}).items() if k in ("text/html", "text/plain")]
    for text in texts:
        m = DEBUG_TEXT.search(text)
        if m:
            return text[max(0, m.start() - 40):m.end() + 40].replace("\n", " ")
    return None


def check_cells(nb) -> list[str]:
    """Problems found in the executed cells' outputs."""
    problems = []
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for n, cell in enumerate(code_cells, 1):
        where = f"cell {n} ({first_line(cell.source)!r})"
        mimes = set()
        stderr = []
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            leak = debug_text(out) if kind in ("stream", "display_data", "execute_result") else None
            if leak and out.get("name") != "stderr":
                problems.append(f"{where} shows Debug text (use Display): ...{leak}...")
            if kind == "stream" and out.get("name") == "stderr":
                stderr.append(out.get("text", ""))
            elif kind == "error":
                problems.append(f"{where} raised {out.get('ename')}: "
                                + excerpt(str(out.get("evalue", "")), 8))
            elif kind in ("display_data", "execute_result"):
                mimes.update(out.get("data", {}).keys())
            elif kind == "stream":
                mimes.add("stream/" + out.get("name", ""))
        if "".join(stderr).strip():
            problems.append(f"{where} wrote to stderr (an Err from `?`, or a panic):\n"
                            + excerpt("".join(stderr)))
        for want in cell.get("metadata", {}).get("expect", []):
            if want not in mimes:
                problems.append(f"{where} has no {want} output (got {sorted(mimes) or 'nothing'})")
    return problems


def tidy(nb) -> None:
    """Prepares an executed notebook for saving: drops per-run timing metadata (so that saved
    notebooks do not change on every run), merges consecutive stream outputs (evcxr sends
    one message per printed line) and gives each result its cell's execution count (evcxr
    0.22 numbers a result one ahead of its cell, which JupyterLab shows as `[1]:` beside an
    output `[2]:`)."""
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
        for out in cell.get("outputs", []):
            if "execution_count" in out:
                out["execution_count"] = cell.get("execution_count")
        merged = []
        for out in cell.get("outputs", []):
            if (out.get("output_type") == "stream" and merged
                    and merged[-1].get("output_type") == "stream"
                    and merged[-1].get("name") == out.get("name")):
                merged[-1]["text"] += out.get("text", "")
            else:
                merged.append(out)
        if "outputs" in cell:
            cell["outputs"] = merged


def execute(nb, folder: pathlib.Path, log_path: pathlib.Path, args) -> str | None:
    """Runs `nb` in a new kernel started in `folder` (relative `:dep` paths resolve there),
    the kernel's own output (cargo's compile progress, evcxr notices) going to `log_path`.
    Returns why it failed, or None."""
    client = NotebookClient(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": str(folder)}},
    )
    try:
        with open(log_path, "w") as log:
            client.execute(stdout=log, stderr=log)
    except CellExecutionError:
        return "execution stopped at a failing cell"
    except DeadKernelError as e:
        return f"kernel died (a panic with :preserve_vars_on_panic 0?): {e}"
    except Exception as e:  # timeouts, kernel start failures
        return f"{type(e).__name__}: {e}"
    return None


def run_one(path: pathlib.Path, args, env_tmpdir: pathlib.Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    # The kernel log is shown when the notebook fails.
    log_path = env_tmpdir / f"kernel-{path.stem}.log"
    t0 = time.monotonic()
    error = execute(nb, path.parent, log_path, args)
    total = time.monotonic() - t0

    problems = ([error] if error else []) + check_cells(nb)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    times = [(cell_seconds(c), i, c) for i, c in enumerate(code_cells, 1)]
    known = [t for t in times if t[0] is not None]
    executed_total = sum(t[0] for t in known)
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
          f"{total:.1f} s total, {executed_total:.1f} s in {len(known)} cells "
          f"(kernel start and overhead {total - executed_total:.1f} s)")
    if args.timings:
        for secs, i, c in times:
            s = "    -" if secs is None else f"{secs:5.1f}"
            print(f"  {s} s  cell {i:2}: {first_line(c.source)}")
    elif known:
        slow = sorted(known, key=lambda t: -t[0])[:3]
        print("  slowest: " + "; ".join(f"cell {i} {s:.1f} s" for s, i, _ in slow))
    for p in problems:
        print("  FAIL " + p.replace("\n", "\n       "))
    if problems and log_path.exists():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
        if tail:
            print(f"  kernel log ({log_path}), last lines:")
            for line in tail:
                print("    | " + line)

    ok = not problems
    if args.write and ok:
        tidy(nb)
        nbformat.write(nb, path)
        print(f"  wrote {path.name}")
    elif args.write:
        print(f"  not written: {path.name} failed")
    return ok


def first_cell_commands(nb) -> str | None:
    """The evcxr commands (`:cache`, `:dep`, ...) of a notebook's first code cell, which
    build its dependencies; None when that cell has no `:dep`."""
    cells = [c for c in nb.cells if c.cell_type == "code"]
    if not cells:
        return None
    commands = [line for line in cells[0].source.splitlines() if line.startswith(":")]
    return "\n".join(commands) if any(c.startswith(":dep") for c in commands) else None


def evcxr_cache_dir() -> pathlib.Path:
    """Where evcxr's `:cache` keeps compiled crates (Rust's `dirs::cache_dir()` + evcxr)."""
    if sys.platform == "darwin":
        return pathlib.Path.home() / "Library" / "Caches" / "evcxr"
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (pathlib.Path(base) if os.path.isabs(base) else pathlib.Path.home() / ".cache") / "evcxr"


def command_output(*command: str) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, cwd=ROOT / "notebooks",
                              timeout=60).stdout.strip()
    except OSError:
        return ""


def evcxr_identity() -> str:
    """The installed evcxr_jupyter (it has no --version): its path, size and time."""
    found = shutil.which("evcxr_jupyter")
    if not found:
        return ""
    st = pathlib.Path(found).stat()
    return f"{found} {st.st_size} {int(st.st_mtime)}"


WARM_STAMP = ROOT / "target" / "evcxr-cache-warmed.json"


def warm_cache(paths: list[pathlib.Path], args, check_stamp: bool) -> bool:
    """Fills evcxr's `:cache` with the crates.io crates the notebooks' first cells compile:
    each distinct first cell (`:cache 500` and `:dep bitsmnist-core ...`; 06 adds a
    feature) runs once in a new kernel with a new empty build folder, as a user's first
    kernel would. `bitsmnist-core` itself, a path dependency, is never cached by evcxr: every
    new build folder compiles it again. With `check_stamp`, nothing runs when the stamp
    (WARM_STAMP) records the same cells, `bitsmnist-core/Cargo.toml`, rustc and evcxr, and
    the cache entries the last warm-up used are all still there (evcxr evicts the least
    recently used past the `:cache` size)."""
    cells = []
    for path in paths:
        commands = first_cell_commands(nbformat.read(path, as_version=4))
        if commands and commands not in cells:
            cells.append(commands)
    if not cells:
        print("warm-up: no notebook starts with a `:dep` cell")
        return True
    if not any(":cache" in c for c in cells):
        print("warm-up: no first cell turns on `:cache`, so there is nothing to keep")
        return True
    cache = evcxr_cache_dir()
    key = {
        "cells": cells,
        "core_manifest": hashlib.sha256(
            (ROOT / "bitsmnist-core" / "Cargo.toml").read_bytes()).hexdigest(),
        "rustc": command_output("rustc", "-vV"),
        "evcxr": evcxr_identity(),
        "cache": str(cache),
    }
    if check_stamp and WARM_STAMP.exists():
        try:
            stamp = json.loads(WARM_STAMP.read_text())
        except ValueError:
            stamp = {}
        entries = stamp.get("entries", [])
        if (stamp.get("key") == key and entries
                and all((cache / e / "hits").exists() for e in entries)):
            print(f"warm-up: the evcxr cache ({cache}) already holds the "
                  f"{len(entries)} compilations the notebooks' first cells would make")
            return True

    started = time.time()
    work = pathlib.Path(tempfile.mkdtemp(prefix="evcxr-warm-"))
    saved_tmpdir = os.environ.get("EVCXR_TMPDIR")
    ok = True
    try:
        for n, commands in enumerate(cells, 1):
            build = work / f"build-{n}"
            build.mkdir()
            os.environ["EVCXR_TMPDIR"] = str(build)
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_code_cell(commands)]
            t0 = time.monotonic()
            log_path = work / f"kernel-{n}.log"
            error = execute(nb, ROOT / "notebooks", log_path, args) or (
                "; ".join(check_cells(nb)) or None)
            summary = " ".join(line for line in commands.splitlines() if line.startswith(":dep"))
            print(f"warm-up: {summary}: {time.monotonic() - t0:.1f} s")
            if error:
                ok = False
                print("  FAIL " + error.replace("\n", "\n       "))
                for line in log_path.read_text(errors="replace").strip().splitlines()[-15:]:
                    print("    | " + line)
    finally:
        if saved_tmpdir is None:
            os.environ.pop("EVCXR_TMPDIR", None)
        else:
            os.environ["EVCXR_TMPDIR"] = saved_tmpdir
        shutil.rmtree(work, ignore_errors=True)
    if not ok:
        return False
    # The entries these builds stored or hit: evcxr writes an entry's `hits` file on both.
    entries = sorted(d.name for d in cache.iterdir()
                     if (d / "hits").exists() and (d / "hits").stat().st_mtime >= started - 1)
    if check_stamp:
        WARM_STAMP.parent.mkdir(parents=True, exist_ok=True)
        WARM_STAMP.write_text(json.dumps({"key": key, "entries": entries}, indent=1) + "\n")
    print(f"warm-up: {len(entries)} cached compilations in {cache}, "
          f"{time.time() - started:.1f} s")
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", type=pathlib.Path,
                    help="notebooks to run (default: notebooks/*.ipynb)")
    ap.add_argument("--write", action="store_true",
                    help="save executed notebooks with their outputs (default: check only)")
    ap.add_argument("--kernel", default="rust", help="kernel name (default: rust)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per cell (default 900)")
    ap.add_argument("--startup-timeout", type=int, default=120,
                    help="seconds for the kernel to start (default 120)")
    ap.add_argument("--tmpdir", type=pathlib.Path, default=ROOT / "target" / "evcxr",
                    help="EVCXR_TMPDIR, kept between runs (default target/evcxr)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--warm-cache", action="store_true",
                      help="only fill evcxr's :cache (~/.cache/evcxr) with the crates the "
                      "notebooks' first cells compile, each in a kernel with an empty build "
                      "folder; skipped when already done (tests/setup-notebooks.sh runs it)")
    mode.add_argument("--fresh", action="store_true",
                      help="measure a cold start, a fresh machine without the warm-up: an "
                      "empty evcxr :cache and an empty build folder (the user's are untouched)")
    mode.add_argument("--fresh-after-setup", action="store_true",
                      help="measure a fresh machine after tests/setup-notebooks.sh: an empty "
                      "evcxr :cache filled by the --warm-cache warm-up (timed apart), then "
                      "the notebooks in an empty build folder (the user's are untouched)")
    ap.add_argument("--timings", action="store_true", help="print the time of every cell")
    args = ap.parse_args()

    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    paths = [p.resolve() for p in paths]
    if not paths:
        print("no notebooks found")
        print("0 passed, 0 failed")
        return 1

    # The kernel inherits these: the init file that makes panics fatal, and evcxr_jupyter.
    os.environ["EVCXR_CONFIG_DIR"] = str(ROOT / "tests" / "evcxr")
    cargo_bin = pathlib.Path(os.environ.get("CARGO_HOME", pathlib.Path.home() / ".cargo")) / "bin"
    os.environ["PATH"] = f"{cargo_bin}{os.pathsep}{os.environ.get('PATH', '')}"

    if args.warm_cache:
        return 0 if warm_cache(paths, args, check_stamp=True) else 1

    fresh_dir = None
    if args.fresh or args.fresh_after_setup:
        # An empty build folder and an empty evcxr `:cache` (XDG_CACHE_HOME), filled first by
        # the set-up's warm-up for --fresh-after-setup.
        fresh_dir = pathlib.Path(tempfile.mkdtemp(prefix="evcxr-fresh-"))
        tmpdir = fresh_dir / "tmp"
        tmpdir.mkdir()
        (fresh_dir / "cache").mkdir()
        os.environ["XDG_CACHE_HOME"] = str(fresh_dir / "cache")
    else:
        tmpdir = args.tmpdir.resolve()
        tmpdir.mkdir(parents=True, exist_ok=True)
    # Where the kernels build.
    os.environ["EVCXR_TMPDIR"] = str(tmpdir)
    # A run the notebooks record without naming a runs folder lands beside the build, never
    # in the user's data folder.
    os.environ["BITSMNIST_RUNS_DIR"] = str(tmpdir / "runs")

    passed = failed = 0
    try:
        if args.fresh_after_setup and not warm_cache(paths, args, check_stamp=False):
            print(f"0 passed, {len(paths)} failed")
            return 1
        for path in paths:
            if run_one(path, args, tmpdir):
                passed += 1
            else:
                failed += 1
    finally:
        if fresh_dir is not None:
            shutil.rmtree(fresh_dir, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
