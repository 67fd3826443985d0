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
kernel started without EVCXR_TMPDIR builds in a new empty folder, where evcxr's `:cache`
(`~/.cache/evcxr`) holds only crates.io crates, never `bitsmnist-core` itself (a path
dependency). The project's kernel spec (target/jupyter/kernels/rust, which scripts/notebooks.sh
puts first on JUPYTER_PATH) runs scripts/evcxr-kernel.sh instead, which starts each kernel in a
private copy of a warm template folder (target/evcxr-template) and removes it afterwards; the
harness runs its notebooks through that spec too (the script keeps an EVCXR_TMPDIR it is given),
and a whole run ends by checking a kernel started as JupyterLab starts it: it runs notebook 01's
first cell on a copy of the template without compiling bitsmnist-core again (when the template is
current) and leaves no folder behind. Options:

    --warm-template       write the project's kernel spec and build the template, then exit
                          (tests/setup-notebooks.sh runs it; skipped while the template is
                          current)
    --fresh               measure a cold start: an empty `:cache` and an empty build folder
                          (a fresh machine without the set-up's template)
    --fresh-after-setup   measure a fresh machine after tests/setup-notebooks.sh: a template
                          built from an empty `:cache` (timed apart), then each notebook in a
                          new kernel through the project's kernel spec and launcher

Neither --fresh option reads or changes the user's `:cache`, template or kernel spec. A notebook
named twice runs twice, each time in a new kernel (repeated measurements).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
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


TEMPLATE = ROOT / "target" / "evcxr-template"
# Written last by build_template: the launcher copies only a template that has it.
TEMPLATE_STAMP = ".bitsmnist-template.json"
KERNELS = ROOT / "target" / "jupyter"
LAUNCHER = ROOT / "scripts" / "evcxr-kernel.sh"


def distinct_first_cells(paths: list[pathlib.Path]) -> list[str]:
    cells = []
    for path in paths:
        commands = first_cell_commands(nbformat.read(path, as_version=4))
        if commands and commands not in cells:
            cells.append(commands)
    return cells


def file_state(path: pathlib.Path) -> str:
    """What cargo compares of an input file: its time (against its last build's), and size."""
    try:
        st = path.stat()
    except OSError:
        return ""
    return f"{st.st_mtime_ns} {st.st_size}"


def core_inputs(template: pathlib.Path) -> dict[str, str]:
    """The files bitsmnist-core's builds in `template` read, as cargo's dep-info lists them
    (sources, the embedded data), with the manifests, each with its time and size: a file
    touched, even unchanged, is one cargo would rebuild for (in every kernel's copy, were the
    template not built again); other changes (tests, the command line, docs outside the
    crate) leave the template current."""
    files = {ROOT / "Cargo.toml", ROOT / "bitsmnist-core" / "Cargo.toml"}
    for dep_info in template.glob("target/*/debug/deps/bitsmnist_core-*.d"):
        for line in dep_info.read_text(errors="replace").splitlines():
            # One line per input file, `path:` (spaces escaped), after the targets' line.
            if line.endswith(":") and ": " not in line.replace("\\ ", "_"):
                files.add(pathlib.Path(line[:-1].replace("\\ ", " ")))
    return {str(f): file_state(f) for f in sorted(files)}


@contextlib.contextmanager
def environment(changes: dict[str, str | None]):
    """Sets environment variables as `changes` says (None: unset) for the `with` block, the
    kernels it starts inheriting them, then puts back what was there."""
    saved = {k: os.environ.get(k) for k in changes}

    def apply(values: dict[str, str | None]) -> None:
        for k, v in values.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    apply(changes)
    try:
        yield
    finally:
        apply(saved)


def template_key(cells: list[str]) -> dict:
    return {
        "cells": cells,
        "rustc": command_output("rustc", "-vV"),
        "evcxr": evcxr_identity(),
        # Templates built before build_template used a cache of its own may name other
        # folders: this entry makes them out of date.
        "cache": "the template's own",
    }


def template_current(template: pathlib.Path, cells: list[str]) -> bool:
    """Whether `template` holds the builds of `cells` from the sources as they are now."""
    try:
        stamp = json.loads((template / TEMPLATE_STAMP).read_text())
    except (OSError, ValueError):
        return False
    return (stamp.get("key") == template_key(cells) and stamp.get("inputs")
            and stamp["inputs"] == core_inputs(template))


def build_template(paths: list[pathlib.Path], args, template: pathlib.Path,
                   check_stamp: bool) -> bool:
    """Builds the warm template that scripts/evcxr-kernel.sh copies into each new kernel's
    build folder: each distinct first cell of the notebooks (`:cache 500` and `:dep
    bitsmnist-core ...`; 06 adds a feature) runs in a new kernel with `template` as its build
    folder, one after another, so that its target folder holds the crates.io crates and
    bitsmnist-core with and without the feature. A template already there is built again in
    place: cargo then recompiles only what changed (bitsmnist-core after an edit). The kernels
    run with an empty `:cache` of their own (the cells turn it on), removed afterwards: the
    cache stores rustc's dep-info files as they were written, whose absolute paths (a build
    script's OUT_DIR) name the folder the entry was first built in, so a crate taken from the
    user's cache would leave a template that cargo finds stale wherever that folder is gone,
    and recompiles bitsmnist-core in every copy. With `check_stamp`, nothing runs while the
    template is current (template_current: the same cells, rustc, evcxr, and the files
    bitsmnist-core's build read). Meanwhile the template sits at `<template>.building`, where
    no launcher copies it from."""
    cells = distinct_first_cells(paths)
    if not cells:
        print("template: no notebook starts with a `:dep` cell")
        return True
    if check_stamp and template_current(template, cells):
        print(f"template: {template} is current (bitsmnist-core, rustc and evcxr unchanged)")
        return True

    started = time.time()
    building = template.with_name(template.name + ".building")
    if template.exists():
        shutil.rmtree(building, ignore_errors=True)
        template.rename(building)
    building.mkdir(parents=True, exist_ok=True)
    (building / TEMPLATE_STAMP).unlink(missing_ok=True)
    ok = True
    # Every crate compiled here, none restored from a cache (see above): the template then
    # names no folder but its own, and cargo finds each copy of it up to date.
    with tempfile.TemporaryDirectory(prefix="evcxr-template-cache-",
                                     ignore_cleanup_errors=True) as cache, environment({
        # Built as a kernel from JupyterLab builds: cargo's incremental setting is part of
        # what it compares, and evcxr's cell libraries need it on.
        "CARGO_INCREMENTAL": None,
        "EVCXR_TMPDIR": str(building),
        "XDG_CACHE_HOME": cache,
    }):
        for n, commands in enumerate(cells, 1):
            nb = nbformat.v4.new_notebook()
            nb.cells = [nbformat.v4.new_code_cell(commands)]
            t0 = time.monotonic()
            log_path = building.parent / f"{template.name}-kernel-{n}.log"
            error = execute(nb, ROOT / "notebooks", log_path, args) or (
                "; ".join(check_cells(nb)) or None)
            summary = " ".join(line for line in commands.splitlines() if line.startswith(":dep"))
            print(f"template: {summary}: {time.monotonic() - t0:.1f} s")
            if error:
                ok = False
                print("  FAIL " + error.replace("\n", "\n       "))
                for line in log_path.read_text(errors="replace").strip().splitlines()[-15:]:
                    print("    | " + line)
                break
            log_path.unlink(missing_ok=True)
    if not ok:
        return False
    key = template_key(cells)
    (building / TEMPLATE_STAMP).write_text(
        json.dumps({"key": key, "inputs": core_inputs(building)}, indent=1) + "\n")
    building.rename(template)
    print(f"template: {template} built in {time.time() - started:.1f} s")
    return True


def write_kernel_spec(dest: pathlib.Path) -> None:
    """Writes the kernel spec `rust` into `dest/kernels/rust`, running scripts/evcxr-kernel.sh:
    with `dest` first on JUPYTER_PATH (scripts/notebooks.sh puts target/jupyter there) it
    stands in for evcxr's own spec of the same name, which the notebooks name, for the kernels
    started through the project only. The logos come from evcxr's installed spec."""
    spec_dir = dest / "kernels" / "rust"
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [shutil.which("bash") or "/bin/bash", str(LAUNCHER),
                 "--control_file", "{connection_file}"],
        "display_name": "Rust",
        "interrupt_mode": "message",
        "language": "rust",
    }
    text = json.dumps(spec, indent=2) + "\n"
    kernel_json = spec_dir / "kernel.json"
    if not kernel_json.exists() or kernel_json.read_text() != text:
        kernel_json.write_text(text)
    from jupyter_core.paths import jupyter_path
    for kernels in jupyter_path("kernels"):
        evcxr_spec = pathlib.Path(kernels) / "rust"
        if evcxr_spec.resolve() == spec_dir.resolve() or not (evcxr_spec / "kernel.json").exists():
            continue
        for logo in sorted(evcxr_spec.glob("logo-*")):
            if not (spec_dir / logo.name).exists():
                shutil.copy2(logo, spec_dir / logo.name)
        break


def use_kernel_specs(dest: pathlib.Path) -> None:
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in [str(dest), os.environ.get("JUPYTER_PATH", "")] if p)


LAUNCHER_CHECK = """\
let dir = std::path::PathBuf::from(std::env::var("EVCXR_TMPDIR").unwrap());
let started = std::fs::metadata(dir.join(".launcher-pid")).unwrap().modified().unwrap();
let mut rebuilt = Vec::new();
for entry in std::fs::read_dir(dir.join("target")).unwrap() {
    let deps = entry.unwrap().path().join("debug").join("deps");
    for file in std::fs::read_dir(&deps).into_iter().flatten() {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("libbitsmnist_core-")
            && std::fs::metadata(&path).unwrap().modified().unwrap() > started {
            rebuilt.push(name);
        }
    }
}
println!("rebuilt in the copy: {}", if rebuilt.is_empty() { "nothing".to_string() } else { rebuilt.join(", ") });
"""


def check_launcher(paths: list[pathlib.Path], args) -> bool:
    """Starts a kernel through the project's kernel spec as JupyterLab would (no
    EVCXR_TMPDIR), and checks that it runs cells and removes its build folder when shut down.
    When the template is current, it also runs notebook 01's first cell and checks that cargo
    found the copied template up to date (bitsmnist-core not compiled again)."""
    if not (KERNELS / "kernels" / "rust" / "kernel.json").exists():
        print("launcher: no project kernel spec (target/jupyter): run tests/setup-notebooks.sh")
        return False
    cells = distinct_first_cells(paths)
    warm = bool(cells) and template_current(TEMPLATE, cells)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cells[0]), nbformat.v4.new_code_cell(LAUNCHER_CHECK)
                ] if warm else [nbformat.v4.new_code_cell("1 + 1")]
    with tempfile.TemporaryDirectory(prefix="evcxr-launcher-check-",
                                     ignore_cleanup_errors=True) as folder, environment({
        "EVCXR_TMPDIR": None,
        "TMPDIR": folder,
    }):
        parent = pathlib.Path(folder)
        t0 = time.monotonic()
        error = execute(nb, ROOT / "notebooks", parent / "kernel.log", args)
        problems = ([error] if error else []) + check_cells(nb)
        left = [p.name for p in parent.iterdir() if p.name.startswith("bitsmnist-evcxr.")]
        if left:
            problems.append(f"the kernel's build folder is left after shutdown: {left}")
        # The kernels of the whole run, this one included, must leave the spec as the set-up
        # wrote it (evcxr_jupyter rewrites a spec it takes for its own install).
        spec = json.loads((KERNELS / "kernels" / "rust" / "kernel.json").read_text())
        if str(LAUNCHER) not in spec.get("argv", []):
            problems.append(f"the project's kernel spec no longer runs the launcher: {spec.get('argv')}")
        output = "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []))
        if warm and "rebuilt in the copy: nothing" not in output:
            problems.append("cargo compiled bitsmnist-core again in the copied template "
                            f"(relocation not up to date): {output.strip()}")
        what = ("notebook 01's first cell on the copied template" if warm else
                "a cell (the template is not current: no :dep check)")
        first = cell_seconds(nb.cells[0])
        print(f"launcher: {what}, folder removed at shutdown: "
              f"{'FAIL' if problems else 'ok'} ({time.monotonic() - t0:.1f} s"
              + (f"; first cell {first:.1f} s" if first is not None else "") + ")")
        for p in problems:
            print("  FAIL " + p.replace("\n", "\n       "))
        return not problems


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
    mode.add_argument("--warm-template", action="store_true",
                      help="only write the project's kernel spec (target/jupyter) and build the "
                      "warm template its kernels copy (target/evcxr-template); skipped when "
                      "current (tests/setup-notebooks.sh runs it)")
    mode.add_argument("--fresh", action="store_true",
                      help="measure a cold start, a fresh machine without the set-up: an "
                      "empty evcxr :cache and an empty build folder (the user's are untouched)")
    mode.add_argument("--fresh-after-setup", action="store_true",
                      help="measure a fresh machine after tests/setup-notebooks.sh: a template "
                      "built from an empty evcxr :cache (timed apart), then each notebook in a "
                      "new kernel started through the project's kernel spec, as JupyterLab "
                      "starts it (the user's cache, template and kernel spec are untouched)")
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

    if args.warm_template:
        write_kernel_spec(KERNELS)
        # The template is built for every notebook, whichever were named.
        every = sorted((ROOT / "notebooks").glob("*.ipynb"))
        return 0 if build_template(every, args, TEMPLATE, check_stamp=True) else 1

    fresh_dir = None
    if args.fresh or args.fresh_after_setup:
        # An empty evcxr `:cache` (XDG_CACHE_HOME); for --fresh an empty build folder, for
        # --fresh-after-setup a template and kernel spec of its own and the launcher's
        # folders under it.
        fresh_dir = pathlib.Path(tempfile.mkdtemp(prefix="evcxr-fresh-"))
        tmpdir = fresh_dir / "tmp"
        tmpdir.mkdir()
        (fresh_dir / "cache").mkdir()
        os.environ["XDG_CACHE_HOME"] = str(fresh_dir / "cache")
    else:
        tmpdir = args.tmpdir.resolve()
        tmpdir.mkdir(parents=True, exist_ok=True)
    # Where the kernels build: the launcher (scripts/evcxr-kernel.sh) uses this folder as it is.
    os.environ["EVCXR_TMPDIR"] = str(tmpdir)
    # A run the notebooks record without naming a runs folder lands beside the build, never
    # in the user's data folder.
    os.environ["BITSMNIST_RUNS_DIR"] = str(tmpdir / "runs")
    # The kernel the notebooks get through scripts/notebooks.sh, when the set-up wrote it.
    if (KERNELS / "kernels" / "rust" / "kernel.json").exists() and not args.fresh:
        use_kernel_specs(KERNELS)

    passed = failed = 0
    try:
        if args.fresh_after_setup:
            # As the set-up builds it: from every notebook's first cell.
            template = fresh_dir / "template"
            every = sorted((ROOT / "notebooks").glob("*.ipynb"))
            if not build_template(every, args, template, check_stamp=False):
                print(f"0 passed, {len(paths)} failed")
                return 1
            write_kernel_spec(fresh_dir / "jupyter")
            use_kernel_specs(fresh_dir / "jupyter")
            os.environ["BITSMNIST_EVCXR_TEMPLATE"] = str(template)
            os.environ["TMPDIR"] = str(tmpdir)
            os.environ.pop("EVCXR_TMPDIR")
        for path in paths:
            if run_one(path, args, tmpdir):
                passed += 1
            else:
                failed += 1
        if args.fresh_after_setup:
            left = [p.name for p in tmpdir.iterdir() if p.name.startswith("bitsmnist-evcxr.")]
            if left:
                print(f"FAIL kernels left their build folders behind: {left}")
                failed += 1
        elif not args.fresh and not args.notebooks:
            # A whole run also checks the kernel that JupyterLab starts (a few seconds).
            if not check_launcher(paths, args):
                failed += 1
    finally:
        if fresh_dir is not None:
            shutil.rmtree(fresh_dir, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
