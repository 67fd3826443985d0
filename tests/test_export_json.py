"""The NumPy reader of docs/export-json.md, executed as printed there, reproduces the library's
predictions (`bitsmnist eval --predictions`) on the official 10,000 test digits, for models
the command line trains: the zero-one default (on all 10,000 digits, since a zero-one model
gives one of its two classes for any image, and on its task's 2,115), and a gradient-trained
ten-digit model with
per-neuron thresholds and scales, and a model of a thermometer code (4 bits a pixel); and for
the two bit convolution models (convolutions and
pools, then dense layers) of the export tests, which the export test
`bit_convolution_models_export_exactly` saves as model files when asked to.

Run by scripts/test-all.d/10-notebooks.sh in the project's .venv (which has NumPy):
    .venv/bin/python -m unittest tests/test_export_json.py
"""

import csv
import gzip
import os
import re
import subprocess
import tempfile
import unittest
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "export-json.md"
MNIST = ROOT / "bitsmnist-core" / "data" / "mnist"


def reader():
    """The first ```python block of the docs page, executed: its functions."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    namespace = {}
    exec(compile(blocks[0], str(DOC), "exec"), namespace)
    return namespace


def cli():
    """The command line, built as the test command's cargo test step built it."""
    subprocess.run(
        ["cargo", "build", "--quiet", "--workspace", "--all-features", "--bin", "bitsmnist"],
        cwd=ROOT, check=True)
    return str(ROOT / "target" / "debug" / "bitsmnist")


def conv_models(out):
    """The export test's convolution models, saved into `out` by the test itself (built as
    the test command's cargo test step built it): `conv_typical.bin` and `conv_odd.bin`."""
    subprocess.run(
        ["cargo", "test", "--quiet", "-p", "bitsmnist-core", "--all-features", "--test", "export",
         "bit_convolution_models_export_exactly"],
        cwd=ROOT, check=True, capture_output=True,
        env={**os.environ, "BITSMNIST_EXPORT_CONV_MODELS": str(out)})
    return [out / "conv_typical.bin", out / "conv_odd.bin"]


def idx(name, offset):
    with gzip.open(MNIST / name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def all_digits_as_zero_one(folder, train_grey, train_labels, test_grey, test_labels):
    """A folder of IDX files in which every test digit belongs to the zero-one task (zeros
    keep label 0, every other digit gets label 1), so that `bitsmnist eval --dataset folder`
    gives the library's prediction for each of the 10,000 test digits. The training split (the
    first 1,000 embedded training digits, relabelled the same way) only has to hold both
    classes: with a fixed binarisation it sets nothing."""
    folder.mkdir()
    for name, images, labels in [("train", train_grey[:1000], train_labels[:1000]),
                                 ("t10k", test_grey, test_labels)]:
        count = np.array([len(images)], ">u4").tobytes()
        shape = np.array([28, 28], ">u4").tobytes()
        (folder / f"{name}-images-idx3-ubyte").write_bytes(
            bytes([0, 0, 8, 3]) + count + shape + images.tobytes())
        (folder / f"{name}-labels-idx1-ubyte").write_bytes(
            bytes([0, 0, 8, 1]) + count + np.minimum(labels, 1).astype(np.uint8).tobytes())
    return folder


class NumpyReader(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bin = cli()
        cls.read = reader()
        cls.dir = tempfile.TemporaryDirectory()
        cls.grey = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)
        cls.labels = idx("t10k-labels-idx1-ubyte.gz", 8)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def bitsmnist(self, *args):
        return subprocess.run([self.bin, *args], check=True, capture_output=True, text=True)

    def check(self, name, *train):
        """Trains with `train`, exports JSON, and compares the reader with `eval`."""
        model_bin = Path(self.dir.name) / f"{name}.bin"
        # A fixed threshold: the library's test bits are the reader's `binarize` of the
        # test split's grey levels, so the predictions compare one for one.
        self.bitsmnist("train", "--quiet", "--seed", "3", "--binarize", "128", "--out", str(model_bin),
                 *train)
        model = self.compare(model_bin)
        accuracy = float(np.mean(model["predicted"] == model["labels"]))
        self.assertGreater(accuracy, 0.5, name)
        return model

    def compare(self, model_bin):
        """Exports `model_bin` as JSON and compares the reader's predictions with `eval`'s."""
        d, name, run = model_bin.parent, model_bin.stem, self.bitsmnist
        run("export", str(model_bin), "--format", "json", "--out", str(d))
        expected_csv = d / f"{name}.csv"
        run("eval", str(model_bin), "--predictions", str(expected_csv))
        with open(expected_csv) as f:
            rows = list(csv.DictReader(f))

        model = self.read["load"](str(d / f"{name}.json"))
        keep = np.isin(self.labels, model["class_labels"])
        classes, scores = self.read["predict"](model, self.read["binarize"](model, self.grey[keep]))
        predicted = np.array(model["class_labels"])[classes]

        self.assertEqual(len(rows), int(keep.sum()))
        self.assertEqual([int(r["label"]) for r in rows], self.labels[keep].tolist())
        expected = np.array([int(r["predicted"]) for r in rows])
        differ = int((predicted != expected).sum())
        self.assertEqual(differ, 0, f"{name}: {differ} of {len(rows)} predictions differ")
        self.assertEqual(scores.shape, (len(rows), model["classes"]))
        accuracy = float(np.mean(predicted == self.labels[keep]))
        print(f"{name}: {model['model']}, {len(rows)} test digits, "
              f"accuracy {accuracy:.4f}, the NumPy reader equals eval")
        model["predicted"], model["labels"] = predicted, self.labels[keep]
        return model

    def test_zero_one_default(self):
        model = self.check("zero_one", "--generations", "10")
        self.assertEqual(model["class_labels"], [0, 1])
        self.assertNotIn("scales", model["layers"][-1])
        # Every one of the 10,000 test digits, against the library's prediction of each.
        d = Path(self.dir.name)
        folder = all_digits_as_zero_one(
            d / "all-digits", idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784),
            idx("train-labels-idx1-ubyte.gz", 8), self.grey, self.labels)
        expected_csv = d / "zero_one_all.csv"
        self.bitsmnist("eval", str(d / "zero_one.bin"), "--dataset", str(folder),
                       "--predictions", str(expected_csv))
        with open(expected_csv) as f:
            expected = np.array([int(r["predicted"]) for r in csv.DictReader(f)])
        classes, _ = self.read["predict"](model, self.read["binarize"](model, self.grey))
        self.assertEqual(len(expected), 10_000)
        differ = int((classes != expected).sum())
        self.assertEqual(differ, 0, f"zero_one: {differ} of 10,000 predictions differ")
        print("zero_one: all 10,000 test digits, the NumPy reader equals eval")

    def test_gradient_with_thresholds_and_scales(self):
        model = self.check("gradient", "--task", "digits", "--method", "gradient",
                           "--hidden", "96,64", "--epochs", "1")
        self.assertEqual(len(model["layers"]), 3)
        self.assertIn("thresholds", model["layers"][0])
        self.assertIn("scales", model["layers"][-1])

    def test_thermometer_code(self):
        # Grey levels kept as 4 bits a pixel: the reader's `binarize` makes them from the
        # file's `thresholds`, and its predictions are eval's.
        model_bin = Path(self.dir.name) / "thermometer.bin"
        self.bitsmnist("train", "--quiet", "--seed", "3", "--binarize", "thermometer:4",
                       "--task", "digits", "--method", "gradient", "--arch", "conv8x3,pool2,32",
                       "--epochs", "1", "--sample", "0.2", "--no-record", "--out", str(model_bin))
        model = self.compare(model_bin)
        self.assertEqual(model["binarization"]["thresholds"], [51, 102, 153, 204])
        self.assertEqual(model["inputs"], 4 * 784)
        self.assertGreater(float(np.mean(model["predicted"] == model["labels"])), 0.4)

    def test_bit_convolution_models(self):
        out = Path(self.dir.name) / "conv"
        out.mkdir()
        for model_bin in conv_models(out):
            # Random filters and thresholds: not accurate, but of many classes.
            model = self.compare(model_bin)
            self.assertEqual(model["version"], 2)
            kinds = [layer["kind"] for layer in model["layers"]]
            self.assertIn("conv", kinds)
            self.assertIn("pool", kinds)
            self.assertEqual(kinds[-1], "dense")
            self.assertGreaterEqual(len(set(model["predicted"].tolist())), 3)

    def test_a_vote_of_gradient_members(self):
        # Two gradient members trained apart, merged into one vote: the reader adds their
        # scores as eval does.
        d = Path(self.dir.name)
        members = []
        for k in range(2):
            member = d / f"member{k}.bin"
            self.bitsmnist("train", "--quiet", "--seed", "3", "--binarize", "128", "--task",
                           "digits", "--method", "gradient", "--arch", "conv4x3,pool2,32",
                           "--epochs", "1", "--sample", "0.2", "--member", str(k), "--of", "2",
                           "--no-record", "--out", str(member))
            members.append(str(member))
        vote = d / "vote.bin"
        self.bitsmnist("merge", *members, "--out", str(vote))
        model = self.compare(vote)
        self.assertEqual(model["version"], 3)
        [layer] = model["layers"]
        self.assertEqual(layer["kind"], "vote")
        self.assertEqual(len(layer["members"]), 2)
        self.assertEqual([m[0]["kind"] for m in layer["members"]], ["conv", "conv"])
        self.assertGreater(float(np.mean(model["predicted"] == model["labels"])), 0.5)


if __name__ == "__main__":
    unittest.main()
