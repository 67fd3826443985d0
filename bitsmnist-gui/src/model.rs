//! The Model panel: layer sizes, output kind and activation, seed; the parameter count and
//! memory of the configuration (packed bits against `f32`), and the current model.

use bitsmnist_core::datasets::{Binarization, Split, Task};
use bitsmnist_core::layers::{
    Activation, Architecture, BitOutput, Chain, Feature, Input, Layer, Shape, parse_architecture,
};
use bitsmnist_core::search::imprint::{ImprintParams, imprint};
use bitsmnist_core::training::Recipe;
use eframe::egui;
use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::digits::{self, Gallery};
use crate::widgets::{EnumCombo, displayable};

/// What the last layer emits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputKind {
    /// One bit per class (ties between classes go to the first).
    Bits,
    /// A float per class: `activation(1 - (d + b) / n)`.
    #[default]
    Float,
}

/// The persisted model options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelSettings {
    /// Convolutions and pools before the hidden layers, as the command line's `--arch` writes
    /// them (empty: none); their filters are imprinted from training patches
    /// ([`bitsmnist_core::search::imprint`]) and the gradient-free searches keep them.
    pub features: String,
    /// Hidden layer widths, comma separated (empty: a single layer).
    pub hidden: String,
    /// What the output layer emits.
    pub output: OutputKind,
    /// Activation of a float output.
    pub activation: Activation,
    /// Seed of the random initial weights.
    pub seed: u64,
}

impl Default for ModelSettings {
    /// The library's measured recipe for two classes (`Recipe::for_task`): 784 → 64 bits →
    /// classes, float outputs without activation. (The original BitsMNIST network is `800`
    /// with a sigmoid.)
    fn default() -> Self {
        Self {
            features: String::new(),
            hidden: "64".into(),
            output: OutputKind::Float,
            activation: Activation::Identity,
            seed: 1,
        }
    }
}

impl ModelSettings {
    /// The shape of the library's measured recipe for `task` ([`Recipe::for_task`]: for the
    /// ten digits, 32 imprinted 5x5 filters pooled 4x4, then 800 hidden bits), seed 1.
    pub fn for_task(task: &Task) -> Self {
        let r = Recipe::for_task(task);
        Self {
            features: r
                .features
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            hidden: r.hidden.to_string(),
            output: match r.output {
                BitOutput::Bits => OutputKind::Bits,
                BitOutput::Float(_) => OutputKind::Float,
            },
            activation: match r.output {
                BitOutput::Float(a) => a,
                BitOutput::Bits => Activation::Identity,
            },
            seed: 1,
        }
    }

    /// Whether the panel holds the same network shape as `other` (the seed aside): a panel
    /// still at one task's recipe follows the next task's.
    pub fn same_shape(&self, other: &Self) -> bool {
        (&self.features, &self.hidden, self.output, self.activation)
            == (
                &other.features,
                &other.hidden,
                other.output,
                other.activation,
            )
    }

    /// The hidden widths, or why the text is not a list of positive numbers.
    pub fn hidden_sizes(&self) -> Result<Vec<usize>, String> {
        self.hidden
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s.parse::<usize>() {
                Ok(n) if (1..=65_536).contains(&n) => Ok(n),
                _ => Err(format!(
                    "layer size `{s}`: use whole numbers from 1 to 65536, separated by commas"
                )),
            })
            .collect()
    }

    /// The convolutions and pools of [`ModelSettings::features`], or why they do not parse.
    pub fn feature_list(&self) -> Result<Vec<Feature>, String> {
        let text = self.features.trim();
        if text.is_empty() {
            return Ok(Vec::new());
        }
        match parse_architecture(text) {
            Ok((features, hidden)) if hidden.is_empty() => Ok(features),
            Ok(_) => Err("convolutions: widths go under Hidden layers".into()),
            Err(e) => Err(format!("convolutions: {e}")),
        }
    }

    /// The output of the last layer.
    pub fn bit_output(&self) -> BitOutput {
        match self.output {
            OutputKind::Bits => BitOutput::Bits,
            OutputKind::Float => BitOutput::Float(self.activation),
        }
    }

    /// A model reading the map `input` (its bits, for a dense model) → hidden… → `classes`,
    /// with random bits from the seed by the library's seed rule ([`Chain::mlp`], as the
    /// command line's `--seed`), or zeros when `seed` is `None` (cheap, for counting).
    pub fn build(&self, input: Shape, classes: usize, seed: Option<u64>) -> Result<Chain, String> {
        let architecture = self.architecture()?;
        let mut model = architecture
            .build(input, classes, self.bit_output(), seed)
            .map_err(|e| e.to_string())?;
        if architecture.features.is_empty() {
            return Ok(model);
        }
        // Imprinted filters carry one threshold each: counted too (the real filters come
        // from `build_on`).
        let mut layers = model.layers().to_vec();
        for layer in &mut layers {
            if let Layer::Conv(conv) = layer {
                let n = conv.filters().outputs();
                let f = conv.filters().clone().with_thresholds(vec![0; n]);
                *conv.filters_mut() = f.expect("one per filter");
            }
        }
        model = Chain::new(layers).map_err(|e| e.to_string())?;
        Ok(model)
    }

    /// The feature layers and hidden widths of the panel, as the core reads them.
    pub fn architecture(&self) -> Result<Architecture, String> {
        Ok(Architecture {
            features: self.feature_list()?,
            hidden: self.hidden_sizes()?,
        })
    }
}

impl ModelSettings {
    /// A random model for `train`'s images and `classes` classes from the seed: the
    /// convolutions imprinted from `train` (seeded too), then the layers of
    /// [`build`](Self::build).
    pub fn build_on(&self, train: &Split, classes: usize, seed: u64) -> Result<Chain, String> {
        let features = self.feature_list()?;
        // Checked and counted first (sizes refused before any patch is drawn).
        let input = Shape::of_split(train);
        self.build(input, classes, None)?;
        if features.is_empty() {
            return self.build(input, classes, Some(seed));
        }
        let front = imprint(train, &features, &ImprintParams::default().seed(seed))
            .map_err(|e| format!("convolutions: {e}"))?;
        let inputs = front.last().map_or(0, Layer::outputs);
        let dense = self
            .dense_only()
            .build(Shape::flat(inputs), classes, Some(seed))?;
        after(front, dense)
    }
}

impl ModelSettings {
    /// These settings without convolutions.
    fn dense_only(&self) -> Self {
        Self {
            features: String::new(),
            ..self.clone()
        }
    }
}

/// `dense` after the feature layers `front`.
fn after(front: Vec<Layer>, dense: Chain) -> Result<Chain, String> {
    let layers = front.into_iter().chain(dense.layers().iter().cloned());
    Chain::new(layers.collect()).map_err(|e| e.to_string())
}

/// Size figures of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Figures {
    /// Weights and biases.
    pub parameters: usize,
    /// Bytes as packed bits.
    pub bytes: usize,
    /// Bytes the same parameters take as `f32`.
    pub bytes_f32: usize,
}

impl Figures {
    /// The figures of `chain`.
    pub fn of(chain: &Chain) -> Self {
        Self {
            parameters: chain.parameters(),
            bytes: chain.bytes(),
            bytes_f32: chain.bytes_as_f32(),
        }
    }

    /// One line: `636,802 parameters: 80.0 KiB as bits, 2.43 MiB as f32 (31.2x)`.
    pub fn summary(&self) -> String {
        format!(
            "{} parameters: {} as bits, {} as f32 ({:.1}x smaller)",
            thousands(self.parameters),
            bytes(self.bytes),
            bytes(self.bytes_f32),
            self.bytes_f32 as f64 / self.bytes.max(1) as f64
        )
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A byte count in B, KiB or MiB.
pub fn bytes(n: usize) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{:.2} MiB", n as f64 / (1024.0 * 1024.0)),
    }
}

/// The current model (not persisted).
#[derive(Default)]
pub struct ModelState {
    /// The model, once built, trained or opened.
    pub chain: Option<Chain>,
    /// Where it came from ("random, seed 1", "trained, generation 40", a file).
    pub origin: String,
    /// Counts up on every change of `chain`.
    pub version: u64,
    /// What the first layer reads, as the model says ([`Chain::input`]); set by
    /// [`ModelState::set`]. Evaluation, drawing and this panel read the model's own
    /// [`Chain::input`].
    pub input: Input,
    /// The first layer's weights as images.
    pub weights: Gallery,
    /// The binarisation the model was trained on, when known (a trained or opened model):
    /// evaluation binarises the test digits the same way, whatever the Data panel loaded.
    pub binarization: Option<Binarization>,
}

impl ModelState {
    /// Replaces the model; [`ModelState::input`] follows the model's [`Chain::input`].
    pub fn set(&mut self, chain: Chain, origin: impl Into<String>) {
        self.set_trained(chain, origin, None);
    }

    /// Replaces the model by one trained on `binarization`.
    pub fn set_trained(
        &mut self,
        chain: Chain,
        origin: impl Into<String>,
        binarization: Option<Binarization>,
    ) {
        self.input = chain.input();
        self.chain = Some(chain);
        self.origin = origin.into();
        self.binarization = binarization;
        self.version += 1;
    }
}

/// Most weight images shown.
pub const MAX_WEIGHT_IMAGES: usize = 64;

/// The first layer's weights as images, when they are images: each neuron's weights of a
/// dense bit layer on a square input (the 28x28 digits), or each filter of a convolution on
/// one channel; a 1 bit (matching ink) is white. Returns what the images are and at most
/// [`MAX_WEIGHT_IMAGES`] of them, captioned.
pub fn first_layer_images(chain: &Chain) -> Option<(String, Vec<(egui::ColorImage, String)>)> {
    if let [Layer::Vote(vote)] = chain.layers() {
        return vote_images(vote.members());
    }
    let (what, side, weights) = match chain.layers().first()? {
        Layer::Bit(layer) => {
            let shape = bitsmnist_core::layers::Shape::square(layer.inputs())?;
            ("neuron", shape.width, layer.weights())
        }
        Layer::Conv(conv) if conv.input_shape().channels == 1 => {
            ("filter", conv.window(), conv.filters().weights())
        }
        _ => return None,
    };
    let total = weights.rows();
    let images = (0..total.min(MAX_WEIGHT_IMAGES))
        .map(|j| {
            let image = digits::bits_image(weights.row_bits(j).iter().map(|b| *b), (side, side));
            (image, format!("{what} {j}"))
        })
        .collect();
    let title = format!(
        "First layer's weights ({} of {total} {what}s, {side}x{side} bits each; white: 1, the bit that matches ink)",
        total.min(MAX_WEIGHT_IMAGES)
    );
    Some((title, images))
}

/// A vote's networks' first layers side by side: an equal share of [`MAX_WEIGHT_IMAGES`] from
/// each of the first networks, so that networks with their own filters show how they differ.
fn vote_images(members: &[Chain]) -> Option<(String, Vec<(egui::ColorImage, String)>)> {
    let shown = members.len().min(8);
    let each = MAX_WEIGHT_IMAGES / shown.max(1);
    let mut images = Vec::new();
    let mut what = String::new();
    for (k, member) in members.iter().take(shown).enumerate() {
        let (title, mine) = first_layer_images(member)?;
        if what.is_empty() {
            what = title;
        }
        images.extend(
            mine.into_iter()
                .take(each)
                .map(|(image, caption)| (image, format!("network {k}, {caption}"))),
        );
    }
    let title = format!(
        "The vote's networks' first layers ({shown} of {} networks, up to {each} images each); each network: {what}",
        members.len()
    );
    Some((title, images))
}

/// The current model's layers: what each is, its inputs and outputs, parameters and memory.
fn layer_table(ui: &mut egui::Ui, chain: &Chain) {
    egui::Grid::new("layers")
        .striped(true)
        .num_columns(6)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            // No arrows: egui's built-in fonts have no glyph for them.
            for heading in ["layer", "kind", "inputs", "outputs", "parameters", "memory"] {
                ui.strong(heading);
            }
            ui.end_row();
            for (i, layer) in chain.layers().iter().enumerate() {
                ui.label(format!("{}", i + 1));
                ui.label(displayable(&layer.to_string()));
                ui.label(thousands(layer.inputs()));
                ui.label(thousands(layer.outputs()));
                ui.label(thousands(layer.parameters()));
                ui.label(bytes(layer.bytes()));
                ui.end_row();
            }
        });
}

/// Draws the Model panel; `shape` is (the input map, classes) of the loaded task, if any. The
/// options and the current model side by side, the current model's layers, then its first
/// layer's weights filling the rest.
pub fn ui(
    ui: &mut egui::Ui,
    settings: &mut ModelSettings,
    state: &mut ModelState,
    shape: Option<(Shape, usize)>,
    training: bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.columns(2, |columns| {
        commands.extend(options(&mut columns[0], settings, shape, training));
        current(&mut columns[1], state);
    });
    // Across the whole width: a convolution's description is long.
    if let Some(chain) = &state.chain {
        ui.add_space(6.0);
        layer_table(ui, chain);
    }
    if let Some(chain) = &state.chain
        && let Some((title, images)) = first_layer_images(chain)
    {
        ui.separator();
        ui.strong(title);
        let size = digits::thumbnail_size(
            images.len(),
            ui.available_size(),
            ui.text_style_height(&egui::TextStyle::Body),
            ui.spacing().item_spacing.x,
            40.0..=112.0,
        );
        let key = state.version;
        egui::ScrollArea::vertical()
            .id_salt("weights")
            .show(ui, |ui| state.weights.show(ui, key, size, || images));
    }
    commands
}

/// The model options and New random model.
fn options(
    ui: &mut egui::Ui,
    settings: &mut ModelSettings,
    shape: Option<(Shape, usize)>,
    training: bool,
) -> Vec<Command> {
    let mut commands = Vec::new();
    let ModelSettings {
        features,
        hidden,
        output,
        activation,
        seed,
    } = settings;
    ui.heading("Network");
    egui::Grid::new("model-grid")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            let l = ui.label("Convolutions");
            ui.add(egui::TextEdit::singleline(features).desired_width(160.0).hint_text("none (dense)"))
                .labelled_by(l.id)
                .on_hover_text("Convolutions and pools before the hidden layers, e.g. `conv32x5, pool4` (as the command line's --arch): each filter is a patch of a training image, matching where the map differs from it in at most a fifth of its bits; bit-flip climbing and the population train the layers after them");
            ui.end_row();

            let l = ui.label("Hidden layers");
            ui.add(egui::TextEdit::singleline(hidden).desired_width(160.0).hint_text("800"))
                .labelled_by(l.id)
                .on_hover_text("Widths of the hidden bit layers, comma separated, e.g. `800` or `256, 64`; empty for one layer from the pixels to the classes");
            ui.end_row();

            ui.label("Output");
            ui.horizontal(|ui| {
                ui.radio_value(output, OutputKind::Float, "Float scores")
                    .on_hover_text("Each class gets activation(1 - (d + b)/n): graded scores, as the original");
                ui.radio_value(output, OutputKind::Bits, "Bits")
                    .on_hover_text("Each class gets one bit; ties go to the first class");
            });
            ui.end_row();

            let l = ui.label("Activation");
            let choices = Activation::all().map(|a| (a, a.name(), ""));
            let combo = EnumCombo::new("activation", activation, &choices);
            ui.add_enabled(*output == OutputKind::Float, combo)
                .labelled_by(l.id)
                .on_hover_text("Activation of the float outputs");
            ui.end_row();

            let l = ui.label("Seed");
            ui.add(egui::DragValue::new(seed).range(0..=u32::MAX as u64))
                .labelled_by(l.id)
                .on_hover_text("Seed of the New random model's weights and biases (a training run starts its network from the method's seed)");
            ui.end_row();
        });

    let (input, classes) = shape.unwrap_or((Shape::MNIST, 2));
    match settings.build(input, classes, None) {
        Ok(chain) => {
            ui.label(displayable(&chain.to_string()));
            ui.strong(format!("New model: {}", Figures::of(&chain).summary()));
        }
        Err(e) => {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    }
    if shape.is_none() {
        ui.weak("(for 784 inputs and 2 classes; load data for the real shape)");
    }
    ui.horizontal(|ui| {
        let ok = shape.is_some()
            && settings.hidden_sizes().is_ok()
            && settings.feature_list().is_ok()
            && !training;
        if ui
            .add_enabled(ok, egui::Button::new("New random model"))
            .on_hover_text("Replace the current model with random weights from the seed")
            .clicked()
        {
            commands.push(Command::NewModel);
        }
    });
    commands
}

/// The current model: its summary (its layers are in the table below).
fn current(ui: &mut egui::Ui, state: &ModelState) {
    ui.heading("Current model");
    match &state.chain {
        Some(chain) => {
            ui.label(displayable(&chain.to_string()));
            ui.label(format!("From: {}", state.origin));
            if chain.input() == Input::Grey {
                ui.label("Reads grey levels: its first layer is a float layer.");
            }
            ui.label(Figures::of(chain).summary());
        }
        None => {
            ui.label("None yet: load data, then press \"New random model\" or open a .bin file.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_panel_takes_each_tasks_recipe() {
        let two = ModelSettings::for_task(&Task::zero_one());
        assert!(two.same_shape(&ModelSettings::default()));
        let ten = ModelSettings::for_task(&Task::digits());
        assert_eq!(
            (ten.features.as_str(), ten.hidden.as_str()),
            ("conv32x5,pool4", "800")
        );
        assert!(!ten.same_shape(&two));
        let arch = ten.architecture().unwrap();
        assert_eq!(arch.features, Recipe::digits_features());
    }

    #[test]
    fn original_network_figures() {
        let original = ModelSettings {
            hidden: "800".into(),
            activation: Activation::Sigmoid,
            ..Default::default()
        };
        let c = original.build(Shape::MNIST, 2, None).unwrap();
        assert_eq!(
            c.to_string(),
            "Chain(BitDense(784, 800), BitDense(800, 2, σ=sigmoid))"
        );
        let f = Figures::of(&c);
        assert_eq!(f.parameters, 784 * 800 + 800 + 800 * 2 + 2);
        assert_eq!(f.bytes_f32, f.parameters * 4);
        assert!(f.bytes < f.bytes_f32 / 25);
    }

    #[test]
    fn hidden_sizes_parse() {
        let mut s = ModelSettings {
            hidden: " 256, 64 ".into(),
            ..Default::default()
        };
        assert_eq!(s.hidden_sizes().unwrap(), vec![256, 64]);
        s.hidden = String::new();
        assert_eq!(s.hidden_sizes().unwrap(), Vec::<usize>::new());
        s.hidden = "12, x".into();
        assert!(s.hidden_sizes().is_err());
        s.hidden = "0".into();
        assert!(s.hidden_sizes().is_err());
    }

    #[test]
    fn convolutions_are_imprinted_from_the_training_images() {
        let data = bitsmnist_core::datasets::Dataset::embedded();
        let s = ModelSettings {
            features: "conv8x5, pool4".into(),
            hidden: "32".into(),
            ..Default::default()
        };
        let counted = s.build(Shape::MNIST, 2, None).unwrap();
        let made = s.build_on(&data.train, 2, 3).unwrap();
        assert_eq!(counted.layers().len(), 4);
        assert_eq!(made.layers()[2].inputs(), 7 * 7 * 8);
        assert_eq!(Figures::of(&counted), Figures::of(&made));
        assert!(made == s.build_on(&data.train, 2, 3).unwrap(), "seeded");
        let bad = ModelSettings {
            features: "conv8x5, 64".into(),
            ..Default::default()
        };
        assert!(bad.feature_list().is_err());
        let huge = ModelSettings {
            features: "conv65536x15, conv65536x15".into(),
            ..Default::default()
        };
        assert!(
            huge.build(Shape::MNIST, 2, None)
                .unwrap_err()
                .contains("filter bits")
        );
    }

    #[test]
    fn a_votes_weights_show_each_networks_filters() {
        let s = ModelSettings {
            features: "conv40x5, pool4".into(),
            hidden: "16".into(),
            ..Default::default()
        };
        let members: Vec<Chain> = (0..3)
            .map(|seed| s.build(Shape::MNIST, 10, Some(seed)).unwrap())
            .collect();
        let vote = bitsmnist_core::layers::Vote::new(members.clone()).unwrap();
        let chain = Chain::new(vec![Layer::Vote(vote)]).unwrap();
        let (title, images) = first_layer_images(&chain).unwrap();
        // 64 images shared by 3 networks: 21 each, of their 40 filters.
        assert_eq!(images.len(), 3 * 21);
        assert_eq!(images[0].1, "network 0, filter 0");
        assert_eq!(images[21].1, "network 1, filter 0");
        assert!(title.contains("3 of 3 networks"), "{title}");
        let (_, first) = first_layer_images(&members[1]).unwrap();
        assert_eq!(images[21].0, first[0].0);
    }

    #[test]
    fn thousands_and_bytes() {
        assert_eq!(thousands(636_802), "636,802");
        assert_eq!(thousands(12), "12");
        assert_eq!(bytes(83_304), "81.4 KiB");
    }
}
