//! The trained models shipped inside the app (File > Open example): the repository's
//! `models/` folder, embedded in the binary with `include_bytes!` so that `cargo install
//! --path bitsmnist-gui` and the Debian package (`cargo deb`, which builds from the source
//! tree) carry them with no file to install. An example opens like a model file but has no
//! path behind it: Save asks for a new one, so the shipped models are never written over.
//! The files hold no training state (`train --model-only`): Start fine-tunes an example.
//! `cargo package` would leave them out (they are outside the crate): the app is installed
//! from the source tree.

use bitsmnist_core::io::ModelFile;

/// A model shipped with the app.
#[derive(Debug)]
pub struct ExampleModel {
    /// Its file name in the repository's `models/` folder (also how commands name it).
    pub file: &'static str,
    /// The File > Open example entry (also its label for tests).
    pub caption: &'static str,
    /// What it is, for the entry's tooltip.
    pub about: &'static str,
    /// The model file's bytes.
    pub bytes: &'static [u8],
}

impl ExampleModel {
    /// Reads the embedded file (the same format as a `.bin` on disk).
    pub fn read(&self) -> Result<ModelFile, String> {
        ModelFile::from_bytes(self.bytes).map_err(|e| format!("example {}: {e}", self.file))
    }

    /// The example named by its file name.
    pub fn named(file: &str) -> Option<&'static ExampleModel> {
        ALL.iter().find(|e| e.file == file)
    }
}

/// Every shipped model, in menu order. The paths are relative to this source file:
/// `bitsmnist-gui/src/` up to the repository's root, then `models/`.
pub static ALL: [ExampleModel; 3] = [
    ExampleModel {
        file: "zero-one.bin",
        caption: "0 vs 1 (genetic search)",
        about: "Zeros against ones: 784-64-2, the population algorithm's 5,000 generations with the command line's defaults (`bitsmnist train --task zero-one`)",
        bytes: include_bytes!("../../models/zero-one.bin"),
    },
    ExampleModel {
        file: "digits-conv-climb.bin",
        caption: "Ten digits (convolutions, bit-flip climbing)",
        about: "The ten digits without gradients (`bitsmnist train --task digits`): a vote of 8 networks, each 32 bit filters of 5x5 imprinted from its own half of the training digits, pooled 4x4, then 1568-800-10 climbed 400 generations on thick strokes and one-pixel shifts",
        bytes: include_bytes!("../../models/digits-conv-climb.bin"),
    },
    ExampleModel {
        file: "digits-conv-gradient.bin",
        caption: "Ten digits (convolutions, gradient)",
        about: "The ten digits, bit convolutions trained by gradient descent and exported to bits: conv32x3, pool2, conv64x3, pool2, 512, 25 epochs",
        bytes: include_bytes!("../../models/digits-conv-gradient.bin"),
    },
];
