"""Unit tests of the notebook runner's checks, without a kernel:

    .venv/bin/python -m unittest discover -s tests -p 'test_*.py'
"""

import json
import os
import pathlib
import sys
import tempfile
import unittest

import nbformat

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import run_notebooks as rn  # noqa: E402


def cell(source, outputs, expect=None):
    c = nbformat.v4.new_code_cell(source)
    c.outputs = [nbformat.from_dict(o) for o in outputs]
    if expect:
        c.metadata["expect"] = expect
    return c


def notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def result(mime, text="x"):
    return {"output_type": "execute_result", "data": {mime: text}, "metadata": {},
            "execution_count": 1}


def stream(name, text):
    return {"output_type": "stream", "name": name, "text": text}


class CheckCells(unittest.TestCase):
    def test_expected_outputs_present_pass(self):
        nb = notebook(
            cell("data", [result("text/html")], ["text/html"]),
            cell('println!("a")', [stream("stdout", "a\n")], ["stream/stdout"]),
        )
        self.assertEqual(rn.check_cells(nb), [])

    def test_missing_expected_output_fails(self):
        problems = rn.check_cells(notebook(cell("1 + 1", [result("text/plain")], ["image/png"])))
        self.assertEqual(len(problems), 1)
        self.assertIn("has no image/png output", problems[0])

    def test_stderr_fails_once_per_cell_with_colours_removed(self):
        nb = notebook(cell("x?;", [stream("stderr", "\x1b[31mbad\x1b[0m\n"),
                                   stream("stderr", "more\n")]))
        problems = rn.check_cells(nb)
        self.assertEqual(len(problems), 1)
        self.assertIn("wrote to stderr", problems[0])
        self.assertIn("bad\nmore", problems[0])
        self.assertNotIn("\x1b", problems[0])

    def test_error_output_fails(self):
        err = {"output_type": "error", "ename": "Error", "evalue": "mismatched types",
               "traceback": []}
        problems = rn.check_cells(notebook(cell('let y: u8 = "x";', [err])))
        self.assertEqual(len(problems), 1)
        self.assertIn("mismatched types", problems[0])

    def test_debug_text_in_outputs_fails(self):
        html = '<td>Objective { correct_weight: 16, margin_cap: 64 }</td>'
        nb = notebook(
            cell("state", [result("text/html", html)], ["text/html"]),
            cell("p", [stream("stdout", 'trained on Some("MNIST (embedded)")\n')]),
        )
        problems = rn.check_cells(nb)
        self.assertEqual(len(problems), 2, problems)
        self.assertIn("Debug text", problems[0])
        self.assertIn("Objective { correct_weight", problems[0])
        self.assertIn('Some("MNIST', problems[1])

    def test_human_text_passes(self):
        nb = notebook(
            cell("a", [result("text/html", "<td>correct ×16 + margin up to 64</td>")]),
            cell("b", [stream("stdout", "per class [319, 320]; Something (else) {x}\n")]),
            cell("c", [result("image/svg+xml", "<svg>Some(</svg>")]),
        )
        self.assertEqual(rn.check_cells(nb), [])

    def test_tidy_merges_streams_and_drops_timing(self):
        c = cell("p", [stream("stdout", "a\n"), stream("stdout", "b\n"),
                       stream("stderr", "c\n"), result("text/plain")])
        c.metadata["execution"] = {"iopub.execute_input": "2020-01-01T00:00:00Z"}
        nb = notebook(c)
        rn.tidy(nb)
        self.assertNotIn("execution", nb.cells[0].metadata)
        self.assertEqual([o.get("text") for o in nb.cells[0].outputs][:2], ["a\nb\n", "c\n"])
        self.assertEqual(len(nb.cells[0].outputs), 3)

    def test_tidy_gives_results_their_cells_execution_count(self):
        c = cell("1 + 1", [result("text/plain")])
        c.execution_count = 1
        c.outputs[0]["execution_count"] = 2  # as evcxr sends it
        nb = notebook(c)
        rn.tidy(nb)
        self.assertEqual(nb.cells[0].outputs[0]["execution_count"], 1)



class WarmUp(unittest.TestCase):
    def test_first_cell_commands_are_the_evcxr_lines_of_a_dep_cell(self):
        nb = notebook(cell(':cache 500\n:dep bitsmnist-core = { path = "../bitsmnist-core" }', []),
                      cell(":dep other = \"1\"", []))
        self.assertEqual(rn.first_cell_commands(nb),
                         ':cache 500\n:dep bitsmnist-core = { path = "../bitsmnist-core" }')

    def test_a_first_cell_without_dep_warms_nothing(self):
        self.assertIsNone(rn.first_cell_commands(notebook(cell(":cache 500\nlet x = 1;", []))))
        self.assertIsNone(rn.first_cell_commands(notebook()))

    def test_the_stored_notebooks_have_two_distinct_first_cells(self):
        # 01 to 05 share one; 06 adds the `json` feature. The template runs one kernel for each.
        cells = {rn.first_cell_commands(nbformat.read(p, as_version=4))
                 for p in sorted((rn.ROOT / "notebooks").glob("*.ipynb"))}
        self.assertEqual(len(cells), 2)
        self.assertTrue(all(c.startswith(":cache 500\n:dep bitsmnist-core") for c in cells))


class Template(unittest.TestCase):
    def setUp(self):
        self.dir = pathlib.Path(tempfile.mkdtemp())
        self.addCleanup(lambda: __import__("shutil").rmtree(self.dir))
        self.source = self.dir / "src dir" / "lib.rs"
        self.source.parent.mkdir()
        self.source.write_text("pub fn f() {}\n")
        deps = self.dir / "template" / "target" / "x86_64-unknown-linux-gnu" / "debug" / "deps"
        deps.mkdir(parents=True)
        escaped = str(self.source).replace(" ", "\\ ")
        (deps / "bitsmnist_core-0123.d").write_text(
            f"{deps}/libbitsmnist_core-0123.rlib: {escaped}\n\n{escaped}:\n")
        self.template = self.dir / "template"

    def stamp(self, cells):
        (self.template / rn.TEMPLATE_STAMP).write_text(json.dumps(
            {"key": rn.template_key(cells), "inputs": rn.core_inputs(self.template)}))

    def test_inputs_are_the_files_cargo_read_and_the_manifests(self):
        inputs = rn.core_inputs(self.template)
        self.assertIn(str(self.source), inputs)
        self.assertIn(str(rn.ROOT / "bitsmnist-core" / "Cargo.toml"), inputs)
        self.assertEqual(len(inputs), 3)

    def test_a_touched_source_makes_the_template_stale(self):
        cells = [":dep x"]
        self.assertFalse(rn.template_current(self.template, cells))
        self.stamp(cells)
        self.assertTrue(rn.template_current(self.template, cells))
        self.assertFalse(rn.template_current(self.template, [":dep y"]))
        # The same text, a newer time: cargo would build it again, in every kernel's copy.
        st = self.source.stat()
        os.utime(self.source, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        self.assertFalse(rn.template_current(self.template, cells))

    def test_the_kernel_spec_runs_the_launcher_under_the_notebooks_kernel_name(self):
        rn.write_kernel_spec(self.dir / "jupyter")
        spec = json.loads((self.dir / "jupyter" / "kernels" / "rust" / "kernel.json").read_text())
        self.assertEqual(spec["argv"][1:], [str(rn.LAUNCHER), "--control_file", "{connection_file}"])
        self.assertTrue(rn.LAUNCHER.exists())
        kernels = {nbformat.read(p, as_version=4).metadata.kernelspec.name
                   for p in sorted((rn.ROOT / "notebooks").glob("*.ipynb"))}
        self.assertEqual(kernels, {"rust"})


if __name__ == "__main__":
    unittest.main()
