//! Bit-flip hill climbing with incremental evaluation: the (1+1) search that tries one random
//! bit flip at a time and keeps it unless the objective gets worse.
//!
//! Each trial is scored by [`DeltaEval`] in a few microseconds instead of a full forward pass,
//! which is what makes single-flip search practical on 784-800-10 networks. The objective
//! ([`Objective`]) adds a popcount margin to accuracy so that flips which move examples towards
//! the right class are rewarded before they change a prediction.
//!
//! Fitness is measured on a batch of training examples, redrawn (seeded) every
//! [`ClimbParams::rebatch_every`] generations so that the search does not overfit one batch;
//! a "generation" is [`ClimbParams::trials_per_generation`] trials, so the stop rules, the
//! [`History`] and the progress callback work as for the population trainer
//! ([`Population`](super::Population)).
//!
//! A model may begin with feature layers (convolutions and pools, such as the filters
//! [`imprint`](super::imprint) draws from training patches): the climb keeps them as they are
//! and searches the one or two dense layers after them, on the features of each batch.
//!
//! Reproducible whatever the thread count: trial `t` flips the bit drawn from a counter-based
//! hash of `(seed, t)`, and trials evaluated speculatively in parallel are taken in order, so the
//! run is the sequential one. The state (model, counters, history) is serializable, and a
//! stopped run continues exactly where it stopped.
//!
//! ```
//! use bitsmnist_core::prelude::*;
//! use bitsmnist_core::search::{ClimbParams, Climber};
//! use bitsmnist_core::run::TrainOptions;
//!
//! let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
//! let train = data.train.select(&(0..2000).collect::<Vec<_>>());
//! let model = Chain::new(vec![
//!     BitDense::new(784, 64).with_seed(1).into(),
//!     BitDense::new(64, 10).with_seed(2).with_output(BitOutput::Float(Activation::Identity)).into(),
//! ]).unwrap();
//! let params = ClimbParams::default().batch_size(Some(500)).trials_per_generation(2000).seed(3);
//! let mut climber = Climber::new(model, params).unwrap();
//! let outcome = climber.run(&train, &TrainOptions::new().generations(5)).unwrap();
//! assert_eq!(outcome.step, 5);
//! assert!(climber.history().last().unwrap().best > climber.history().records[0].best);
//! ```

use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::incremental::{DeltaError, DeltaEval, Flip, Objective, check_chain};
use super::operators::{STREAM_BATCH, derive_rng, splitmix64};
use crate::bits::BitMatrix;
use crate::datasets::Split;
use crate::layers::{Activations, Chain, Layer};
use crate::run::{Detail, History, Interrupt, Log, Method, Record, Step, Summary, TrainOptions};

/// Hyper-parameters of [`Climber`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClimbParams {
    /// Seed of every random choice (flips and batches).
    pub seed: u64,
    /// Examples per fitness batch (`None`: the whole training split).
    pub batch_size: Option<usize>,
    /// Generations between fresh batches (0: never redraw).
    pub rebatch_every: u64,
    /// Flip trials per generation (one history record each).
    pub trials_per_generation: u64,
    /// What is maximised.
    pub objective: Objective,
    /// Fraction of trials that flip an output-layer bit (the rest flip hidden-layer bits) in a
    /// two-layer model.
    pub output_share: f64,
    /// Keep flips that leave the objective unchanged (a random walk on plateaus).
    pub accept_ties: bool,
    /// Every so many generations, score the current model on the whole training split and
    /// keep it as [`Climber::best_chain`] if it is the most accurate so far (0: never), so
    /// that a batch that happened to favour a worse model does not decide the result.
    pub rescore_every: u64,
}

impl Default for ClimbParams {
    /// Batches of 5,000 redrawn every generation of 20,000 trials, the default [`Objective`],
    /// 5% output flips, ties rejected, a full re-scoring every 10 generations, seed 0: the best of the settings measured on the 10
    /// digits (see the README's accuracy-against-time table). Smaller batches climb faster
    /// but overfit them (2,000: 89.7% test accuracy at best), and accepting ties turns the
    /// search into a random walk that loses accuracy.
    fn default() -> Self {
        Self {
            seed: 0,
            batch_size: Some(5000),
            rebatch_every: 1,
            trials_per_generation: 20_000,
            objective: Objective::default(),
            output_share: 0.05,
            accept_ties: false,
            rescore_every: 10,
        }
    }
}

impl ClimbParams {
    /// The bytes `members` climbs of `inputs -> hidden -> classes` with these parameters need
    /// on `examples` examples, generously estimated ([`crate::memory`]): the networks, the
    /// incremental state of each batch example (its bits both ways, the first layer's sums in
    /// 16 bits and three bit planes of them, the output scores and flags), and for an
    /// ensemble the copies members hand back (measured: about four states per member alive
    /// at once).
    pub fn memory_estimate(
        &self,
        members: usize,
        inputs: usize,
        hidden: &[usize],
        classes: usize,
        examples: usize,
    ) -> u64 {
        use crate::memory::{add, mul};
        let net = crate::memory::network_bytes(inputs, hidden, classes);
        let first = hidden.first().copied().unwrap_or(classes) as u64;
        let (inputs, classes, examples) = (inputs as u64, classes as u64, examples as u64);
        let e = self.batch_size.map_or(examples, |b| examples.min(b as u64));
        let per_example = add(&[
            inputs.div_ceil(8) * 2,
            first.saturating_mul(2),
            first.div_ceil(8) * 3,
            classes * 12,
            16,
        ]);
        let member = add(&[mul(&[3, net]), mul(&[e, per_example])]);
        let copies = if members > 1 { 5 } else { 1 };
        mul(&[members as u64, copies, member])
    }

    crate::util::setters! {
        seed: u64,
        batch_size: Option<usize>,
        rebatch_every: u64,
        trials_per_generation: u64,
        objective: Objective,
        output_share: f64,
        rescore_every: u64,
        accept_ties: bool,
    }

    /// Why these parameters cannot run (zero trials or batch, a share outside `[0, 1]`).
    pub fn check(&self) -> Result<(), ClimbParamsError> {
        if self.trials_per_generation == 0 {
            return Err(ClimbParamsError::Trials);
        }
        if self.batch_size == Some(0) {
            return Err(ClimbParamsError::Batch);
        }
        if !(0.0..=1.0).contains(&self.output_share) {
            return Err(ClimbParamsError::OutputShare(self.output_share));
        }
        Ok(())
    }
}

/// A climbing hyper-parameter out of range ([`ClimbParams::check`]).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClimbParamsError {
    /// Zero trials per generation.
    #[error("trials per generation must be at least 1")]
    Trials,
    /// A batch of zero examples.
    #[error("the batch size must be at least 1")]
    Batch,
    /// An output share outside `[0, 1]`.
    #[error("the output share must be in [0, 1], not {0}")]
    OutputShare(f64),
}

/// Why a climb could not start.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClimbError {
    /// Bad hyper-parameters.
    #[error(transparent)]
    Params(#[from] ClimbParamsError),
    /// The model's layers do not line up.
    #[error(transparent)]
    Shape(#[from] crate::layers::ShapeError),
    /// The model or the examples do not suit incremental evaluation.
    #[error(transparent)]
    Model(#[from] DeltaError),
    /// Training would need more memory than the limit ([`crate::memory`]).
    #[error(transparent)]
    Memory(#[from] crate::memory::MemoryError),
}

/// The state of a bit-flip hill climb (see the [module documentation](self)).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Climber {
    chain: Chain,
    params: ClimbParams,
    /// Trials run so far; trial `t` is the `t`-th flip of the seeded sequence.
    trial: u64,
    accepted: u64,
    generation: u64,
    pub(super) log: Log,
    /// The most accurate model on the whole training split among those re-scored, with its
    /// accuracy.
    best_full: Option<(f64, Chain)>,
    #[serde(skip)]
    eval: Option<(u64, DeltaEval)>,
    /// The feature layers' output for every example of the split last trained on, with the
    /// split's fingerprint: computed once, not for every batch.
    #[serde(skip)]
    features: Option<(u64, Arc<BitMatrix>)>,
}

/// The climbed part of `chain` (the layers after its leading feature layers, which a climb
/// keeps as they are) and how many feature layers lead; an error if that part is not one or
/// two bit layers giving scores ([`check_chain`]).
///
/// ```
/// use bitsmnist_core::prelude::*;
/// use bitsmnist_core::layers::{BitMaxPool, Shape};
/// use bitsmnist_core::search::climb::climbed_part;
/// let pool = BitMaxPool::new(Shape::MNIST, 4, 4).unwrap();
/// let out = BitOutput::Float(Activation::Identity);
/// let dense = Chain::mlp(49, &[16], 10, out, 1).unwrap();
/// let chain = Chain::new(vec![pool.into(), dense.layers()[0].clone(), dense.layers()[1].clone()]).unwrap();
/// let (front, head) = climbed_part(&chain).unwrap();
/// assert_eq!((front, head), (1, dense));
/// ```
pub fn climbed_part(chain: &Chain) -> Result<(usize, Chain), DeltaError> {
    let front = chain.layers().iter().take_while(|l| l.is_spatial()).count();
    let head = Chain::new(chain.layers()[front..].to_vec())
        .map_err(|e| DeltaError::Shape(e.to_string()))?;
    check_chain(&head)?;
    Ok((front, head))
}

/// Images per stop point of [`features_until`]: a few hundredths of a second through the
/// widest documented feature layers (`conv64x7,conv64x7` takes about 2.6 ms an image on 2
/// cores), and enough rows that each chunk still spreads over the threads.
const FEATURE_CHUNK: usize = 64;

/// [`features`] in chunks of [`FEATURE_CHUNK`] images, asking `stop` before each: `None`
/// when it says so. Each image's features depend on that image alone, so the result is the
/// same as in one piece.
fn features_until(
    chain: &Chain,
    front: usize,
    images: &BitMatrix,
    stop: &dyn Fn() -> bool,
) -> Option<BitMatrix> {
    if images.rows() <= FEATURE_CHUNK {
        return (!stop()).then(|| features(chain, front, images));
    }
    let (mut words, mut cols) = (Vec::new(), 0);
    for first in (0..images.rows()).step_by(FEATURE_CHUNK) {
        if stop() {
            return None;
        }
        let rows: Vec<usize> = (first..(first + FEATURE_CHUNK).min(images.rows())).collect();
        let part = features(chain, front, &images.select_rows(&rows));
        cols = part.cols();
        words.extend_from_slice(part.as_words());
    }
    Some(BitMatrix::from_words(images.rows(), cols, words).expect("rows of one width"))
}

/// `images` through the first `front` layers of `chain` (all of them feature layers).
fn features(chain: &Chain, front: usize, images: &BitMatrix) -> BitMatrix {
    let mut x = Activations::Bits(images.clone());
    for layer in &chain.layers()[..front] {
        x = layer.forward(x);
    }
    x.into_bits()
}

/// What the callback of a climb's [`train`](Method::train) sees after each generation: the climber
/// ([`Climber::chain`] is the current model) and the generation's record.
pub type ClimbProgress<'a> = crate::run::Progress<'a, Climber>;

impl Climber {
    /// A climb starting from `chain`'s weights: one or two bit layers, the last giving scores
    /// (see [`DeltaEval`]), after any number of feature layers, which the climb keeps
    /// ([`climbed_part`]).
    pub fn new(chain: Chain, params: ClimbParams) -> Result<Self, ClimbError> {
        params.check()?;
        climbed_part(&chain)?;
        Ok(Self {
            chain,
            params,
            trial: 0,
            accepted: 0,
            generation: 0,
            log: Log::default(),
            best_full: None,
            eval: None,
            features: None,
        })
    }

    /// A climb from every saved field, unchecked: for decoding older model files
    /// (`io::legacy`), which checks it afterwards.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        chain: Chain,
        params: ClimbParams,
        (trial, accepted, generation): (u64, u64, u64),
        log: Log,
        best_full: Option<(f64, Chain)>,
    ) -> Self {
        Self {
            chain,
            params,
            trial,
            accepted,
            generation,
            log,
            best_full,
            eval: None,
            features: None,
        }
    }

    /// The current model.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Consumes the climber, giving the current model.
    pub fn into_chain(self) -> Chain {
        self.chain
    }

    /// The model to keep: the most accurate on the whole training split among the re-scored
    /// ones ([`ClimbParams::rescore_every`]), or the current one if none was re-scored.
    pub fn best_chain(&self) -> &Chain {
        self.best_full.as_ref().map_or(&self.chain, |(_, c)| c)
    }

    /// The more accurate on `data` (the training split) of the current model and
    /// [`best_chain`](Self::best_chain): the model to keep when training stops between two
    /// re-scorings. Changes nothing in the state.
    pub fn choose(&self, data: &Split) -> &Chain {
        match &self.best_full {
            Some((a, best)) if *a >= self.accuracy_on(data) => best,
            _ => &self.chain,
        }
    }

    /// Training accuracy of [`best_chain`](Self::best_chain), if it was re-scored.
    pub fn best_train_accuracy(&self) -> Option<f64> {
        self.best_full.as_ref().map(|(a, _)| *a)
    }

    /// The hyper-parameters.
    pub fn params(&self) -> &ClimbParams {
        &self.params
    }

    /// Generations run (each [`ClimbParams::trials_per_generation`] trials).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Flip trials run.
    pub fn trials(&self) -> u64 {
        self.trial
    }

    /// Flips kept.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// Every generation's record.
    pub fn history(&self) -> &History {
        &self.log.history
    }

    /// Seconds of training so far (summed over calls).
    pub fn elapsed_secs(&self) -> f64 {
        self.log.elapsed_secs
    }

    /// Bytes of the incremental state while training (0 before the first call).
    pub fn memory_bytes(&self) -> usize {
        self.eval.as_ref().map_or(0, |(_, e)| e.memory_bytes())
    }

    /// Whether generation 0 has been recorded.
    pub(crate) fn started(&self) -> bool {
        !self.log.history.is_empty()
    }

    /// Generation 0: the starting model's fitness on its first batch, or `None` (nothing
    /// changed) when `stop` says so while the batch's features are computed.
    pub(crate) fn start_step(
        &mut self,
        data: &Split,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<Summary>, ClimbError> {
        if !self.ensure_eval(data, stop)? {
            return Ok(None);
        }
        Ok(Some(self.after_generation(data, 0, 0.0)))
    }

    /// What a generation 0 run by [`member_step`](Self::member_step) changes besides its
    /// record: the time and the best re-scored model, to [`unstart`](Self::unstart) it.
    pub(crate) fn before_start(&self) -> (f64, Option<(f64, Chain)>) {
        (self.log.elapsed_secs, self.best_full.clone())
    }

    /// Undoes generation 0 (`before` from [`before_start`](Self::before_start)), so that
    /// the climb is not started, as it was. The incremental state is kept: it is only a
    /// cache, and for the same batch.
    pub(crate) fn unstart(&mut self, before: (f64, Option<(f64, Chain)>)) {
        self.log.history.records.clear();
        (self.log.elapsed_secs, self.best_full) = before;
    }

    /// One generation of trials on this generation's batch, or `None` (and the state as it
    /// was) when `stop` says so before the generation is complete.
    pub(crate) fn generation_step(
        &mut self,
        data: &Split,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<Summary>, ClimbError> {
        if !self.ensure_eval(data, stop)? {
            return Ok(None);
        }
        let (t0, trials) = (Instant::now(), self.trial);
        if !self.climb_generation(stop) {
            return Ok(None);
        }
        self.generation += 1;
        Ok(Some(self.after_generation(
            data,
            self.trial - trials,
            t0.elapsed().as_secs_f64(),
        )))
    }

    /// The next step of an ensemble member ([`start_step`](Self::start_step) the first
    /// time, then [`generation_step`](Self::generation_step)), recorded in its own history;
    /// `None`, and the member as it was, when `stop` ends it early.
    pub(crate) fn member_step(
        &mut self,
        data: &Split,
        stop: &dyn Fn() -> bool,
    ) -> Result<Option<Summary>, ClimbError> {
        let t0 = Instant::now();
        let summary = if self.started() {
            match self.generation_step(data, stop)? {
                Some(s) => s,
                None => return Ok(None),
            }
        } else {
            match self.start_step(data, stop)? {
                Some(s) => s,
                None => return Ok(None),
            }
        };
        self.record_member(&summary, t0.elapsed().as_secs_f64());
        Ok(Some(summary))
    }

    fn record_member(&mut self, summary: &Summary, secs: f64) {
        self.log.elapsed_secs += secs;
        let elapsed_secs = self.log.elapsed_secs;
        self.log.history.records.push(Record {
            step: self.generation,
            best: summary.best,
            mean: summary.mean,
            worst: summary.worst,
            validation_accuracy: None,
            elapsed_secs,
            steps_per_sec: if secs > 0.0 { 1.0 / secs } else { 0.0 },
            detail: summary.detail.clone(),
        });
    }

    /// The model after a generation: taken from the incremental state, re-scored on the whole
    /// split when due, summarised.
    fn after_generation(&mut self, data: &Split, trials: u64, secs: f64) -> Summary {
        let (_, eval) = self.eval.as_ref().expect("ensured");
        self.chain = self.with_front(eval.chain());
        let fitness = eval.fitness();
        if self.params.rescore_every > 0
            && self.generation.is_multiple_of(self.params.rescore_every)
        {
            let a = self.accuracy_on(data);
            if self.best_full.as_ref().is_none_or(|(b, _)| a > *b) {
                self.best_full = Some((a, self.chain.clone()));
            }
        }
        Summary::single(
            fitness,
            Detail::Climb {
                trials: self.trial,
                kept: self.accepted,
                flips_per_sec: if secs > 0.0 {
                    trials as f64 / secs
                } else {
                    0.0
                },
            },
        )
    }

    /// The current model's accuracy on `data`: from the cached feature maps when the model
    /// has feature layers and they are `data`'s (the same predictions without running the
    /// convolutions again, which would cost as much as the generation's start and could not
    /// be stopped).
    fn accuracy_on(&self, data: &Split) -> f64 {
        if let Some((key, maps)) = &self.features
            && !data.is_empty()
            && *key == super::rows::fingerprint(data)
            && let Ok((front, head)) = climbed_part(&self.chain)
            && front > 0
        {
            let right = head
                .predict(maps)
                .iter()
                .zip(data.labels())
                .filter(|&(&p, &l)| p == usize::from(l))
                .count();
            return right as f64 / data.len() as f64;
        }
        crate::statistics::accuracy(&self.chain, data)
    }

    /// Checks the invariants serde cannot (for a state read from a file).
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.chain.validate()?;
        self.params.check().map_err(|e| e.to_string())?;
        climbed_part(&self.chain).map_err(|e| e.to_string())?;
        if self
            .params
            .trials_per_generation
            .checked_mul(self.generation)
            != Some(self.trial)
        {
            return Err(format!(
                "{} trials do not make {} generations of {}",
                self.trial, self.generation, self.params.trials_per_generation
            ));
        }
        if self.accepted > self.trial {
            return Err("more flips kept than tried".into());
        }
        if let Some((a, c)) = &self.best_full {
            c.validate()?;
            climbed_part(c).map_err(|e| e.to_string())?;
            if (c.inputs(), c.outputs()) != (self.chain.inputs(), self.chain.outputs())
                || !(0.0..=1.0).contains(a)
            {
                return Err("the re-scored best model does not match".into());
            }
        }
        Ok(())
    }

    /// Which batch generation `g` scores on.
    fn batch_index(&self, g: u64) -> u64 {
        match self.params.rebatch_every {
            0 => 0,
            n => g / n,
        }
    }

    /// Builds the incremental state for the current generation's batch, unless it is there:
    /// `false` (and nothing changed) when `stop` says so while the feature layers run, the
    /// long part of a convolution model's first generation.
    fn ensure_eval(&mut self, data: &Split, stop: &dyn Fn() -> bool) -> Result<bool, ClimbError> {
        let index = self.batch_index(self.generation);
        if self.eval.as_ref().is_some_and(|(i, _)| *i == index) {
            return Ok(true);
        }
        let idx = match self.params.batch_size {
            Some(b) if b < data.len() => {
                let mut rng = derive_rng(self.params.seed, STREAM_CLIMB_BATCH, index, 0);
                let mut idx = rand::seq::index::sample(&mut rng, data.len(), b).into_vec();
                idx.sort_unstable();
                Some(idx)
            }
            _ => None,
        };
        let (front, head) = climbed_part(&self.chain)?;
        let images = if front == 0 {
            data.images()
        } else {
            let key = super::rows::fingerprint(data);
            if self.features.as_ref().is_none_or(|(k, _)| *k != key) {
                let Some(f) = features_until(&self.chain, front, data.images(), stop) else {
                    return Ok(false);
                };
                self.features = Some((key, Arc::new(f)));
            }
            &self.features.as_ref().expect("computed").1
        };
        let eval = match &idx {
            Some(idx) => {
                let labels: Vec<u8> = idx.iter().map(|&i| data.labels()[i]).collect();
                DeltaEval::new(
                    &head,
                    &images.select_rows(idx),
                    &labels,
                    self.params.objective,
                )?
            }
            None => DeltaEval::new(&head, images, data.labels(), self.params.objective)?,
        };
        self.eval = Some((index, eval));
        Ok(true)
    }

    /// `head` (the climbed layers) after this model's feature layers.
    fn with_front(&self, head: Chain) -> Chain {
        let front = self.chain.layers().iter().take_while(|l| l.is_spatial());
        let layers: Vec<Layer> = front
            .cloned()
            .chain(head.layers().iter().cloned())
            .collect();
        Chain::new(layers)
            .expect("the climbed layers keep their widths")
            .with_input(self.chain.input())
    }

    /// Runs one generation of trials. Trials are scored speculatively in parallel blocks
    /// against the same state; the first one kept ends the block and the trials after it are
    /// scored again against the new state, so the result is that of the sequential climb.
    ///
    /// `stop` is asked every few hundred trials; when it says so, the flips kept in this
    /// generation are undone (each flip is its own inverse) and `false` is returned, so an
    /// interrupted generation leaves the climb exactly where it was.
    fn climb_generation(&mut self, stop: &dyn Fn() -> bool) -> bool {
        let (first_trial, first_accepted) = (self.trial, self.accepted);
        let mut kept = Vec::new();
        let mut since_check = 0u64;
        let end = self.trial + self.params.trials_per_generation;
        let key = splitmix64(self.params.seed ^ STREAM_CLIMB_FLIP);
        let (_, eval) = self.eval.as_mut().expect("ensured");
        let ties = self.params.accept_ties;
        let keep = |d: i64| d > 0 || (ties && d == 0);
        let moves = Moves::new(eval, self.params.output_share);
        let threads = rayon::current_num_threads();
        // Parallel blocks pay off only when most trials are rejected.
        let mut block = 1usize;
        let mut recent_kept = 0.5f64;
        while self.trial < end {
            if since_check >= STOP_CHECK_TRIALS {
                since_check = 0;
                if stop() {
                    for &f in kept.iter().rev() {
                        eval.apply(f);
                    }
                    (self.trial, self.accepted) = (first_trial, first_accepted);
                    return false;
                }
            }
            let n = (block as u64).min(end - self.trial) as usize;
            since_check += n as u64;
            let first = self.trial;
            let kept_at = if n == 1 {
                let f = moves.draw(key, first);
                keep(eval.delta(f)).then_some((0, f))
            } else {
                let eval_ref = &*eval;
                (0..n)
                    .into_par_iter()
                    .with_min_len(8)
                    .map(|i| {
                        let f = moves.draw(key, first + i as u64);
                        (i, f, keep(eval_ref.delta(f)))
                    })
                    .find_first(|(_, _, k)| *k)
                    .map(|(i, f, _)| (i, f))
            };
            match kept_at {
                Some((i, f)) => {
                    eval.apply(f);
                    kept.push(f);
                    self.accepted += 1;
                    self.trial = first + i as u64 + 1;
                    recent_kept = 0.98 * recent_kept + 0.02;
                }
                None => {
                    self.trial = first + n as u64;
                    recent_kept *= 0.98f64.powi(n as i32);
                }
            }
            block = if threads > 1 && recent_kept < 1.0 / 32.0 {
                ((1.0 / recent_kept) as usize).clamp(16 * threads, 256)
            } else {
                1
            };
        }
        true
    }
}

/// Trials between two looks at a generation's stop condition: a few milliseconds of work.
const STOP_CHECK_TRIALS: u64 = 256;

/// A climb trains on a training split through the shared loop: `climber.train(&split,
/// &options, callback)` ([`Method::train`]): generations of flip trials. The first call
/// records generation 0 (the starting model) first. Each record's `best`, `mean` and `worst`
/// are all the current model's fitness (the objective as a fraction of its maximum) on the
/// current batch.
impl Climber {
    /// The bytes climbing on `examples` examples still needs beyond the network and the
    /// incremental state it holds ([`ClimbParams::memory_estimate`]).
    pub fn memory_to_train(&self, examples: usize) -> u64 {
        // The incremental state is the climbed layers' (on the features, if any), plus the
        // features of every example.
        let (front, head) = match climbed_part(&self.chain) {
            Ok(parts) => parts,
            Err(_) => (0, self.chain.clone()),
        };
        let (inputs, hidden, classes) = super::widths(&head);
        let all = self
            .params
            .memory_estimate(1, inputs, &hidden, classes, examples);
        let nets = self.params.memory_estimate(1, inputs, &hidden, classes, 0);
        let features = match (front, &self.features) {
            (0, _) | (_, Some(_)) => 0,
            _ => (examples as u64).saturating_mul(inputs.div_ceil(64) as u64 * 8),
        };
        all.saturating_sub(nets)
            .saturating_add(features)
            .saturating_sub(self.memory_bytes() as u64)
    }
}

impl Method for Climber {
    type Data = Split;
    type Error = ClimbError;

    fn step_number(&self) -> u64 {
        self.generation
    }

    fn prepare(&mut self, data: &Split, _: &TrainOptions) -> Result<(), ClimbError> {
        // The incremental state is built by the first step, which can be stopped.
        Ok(crate::memory::check_current(
            self.memory_to_train(data.len()),
        )?)
    }

    fn started(&self) -> bool {
        self.started()
    }

    fn start(&mut self, data: &Split, interrupt: &Interrupt<'_>) -> Result<Step, ClimbError> {
        Ok(self.start_step(data, &|| interrupt.fired())?.into())
    }

    fn step(&mut self, data: &Split, interrupt: &Interrupt<'_>) -> Result<Step, ClimbError> {
        Ok(self.generation_step(data, &|| interrupt.fired())?.into())
    }

    fn current_model(&self) -> Chain {
        self.chain.clone()
    }

    fn log(&mut self) -> &mut Log {
        &mut self.log
    }
}

const STREAM_CLIMB_FLIP: u64 = 0x636c_696d_6266_6c70;
const STREAM_CLIMB_BATCH: u64 = STREAM_BATCH ^ 0x636c_696d_6200_0000;

/// The space of single-bit flips of a model, and the seeded draw of trial `t`'s flip.
struct Moves {
    hidden: usize,
    inputs: usize,
    classes: usize,
    width: usize,
    /// Threshold on a uniform `u64` below which a trial flips an output-layer bit.
    output_cut: u64,
}

impl Moves {
    fn new(eval: &DeltaEval, output_share: f64) -> Self {
        let hidden = eval.hidden();
        let share = if hidden == 0 { 1.0 } else { output_share };
        Self {
            hidden,
            inputs: eval.inputs(),
            classes: eval.classes(),
            width: eval.output_inputs(),
            output_cut: if share >= 1.0 {
                u64::MAX
            } else {
                (share * u64::MAX as f64) as u64
            },
        }
    }

    /// Trial `t`'s flip: a counter-based hash, so any trial can be drawn in any order.
    #[inline]
    fn draw(&self, key: u64, t: u64) -> Flip {
        let r1 = splitmix64(key ^ t.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let r2 = splitmix64(r1);
        let pick = |n: usize| ((u128::from(r2) * n as u128) >> 64) as usize;
        if r1 <= self.output_cut {
            let slot = pick(self.classes * (self.width + 1));
            let (class, input) = (slot / (self.width + 1), slot % (self.width + 1));
            if input == self.width {
                Flip::OutputBias { class }
            } else {
                Flip::OutputWeight { class, input }
            }
        } else {
            let slot = pick(self.hidden * (self.inputs + 1));
            let (neuron, input) = (slot / (self.inputs + 1), slot % (self.inputs + 1));
            if input == self.inputs {
                Flip::HiddenBias { neuron }
            } else {
                Flip::HiddenWeight { neuron, input }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::datasets::Dataset;
    use crate::layers::parse_architecture;
    use crate::search::imprint::{ImprintParams, imprint};

    #[test]
    fn features_in_chunks_are_those_in_one_piece_and_stop_at_any_chunk() {
        let split = Dataset::embedded().train.sample(0.03, 10);
        let (feats, _) = parse_architecture("conv8x5,pool2").unwrap();
        let mut layers = imprint(&split, &feats, &ImprintParams::default().seed(2)).unwrap();
        let front = layers.len();
        let width = layers.last().unwrap().outputs();
        let out = crate::layers::BitOutput::Float(crate::layers::Activation::Identity);
        let dense = Chain::mlp(width, &[16], 10, out, 1).unwrap();
        layers.extend(dense.layers().iter().cloned());
        let chain = Chain::new(layers).unwrap();
        let whole = features(&chain, front, split.images());
        let asked = Cell::new(0);
        let chunked = features_until(&chain, front, split.images(), &|| {
            asked.set(asked.get() + 1);
            false
        });
        assert!(chunked.as_ref() == Some(&whole));
        let chunks = split.len().div_ceil(FEATURE_CHUNK);
        assert!(chunks > 2, "{} images", split.len());
        assert_eq!(asked.get(), chunks);
        // The accuracy a rescore takes from these maps is the whole chain's.
        let mut climber = Climber::new(chain.clone(), ClimbParams::default()).unwrap();
        climber.features = Some((super::super::rows::fingerprint(&split), Arc::new(whole)));
        assert_eq!(
            climber.accuracy_on(&split),
            crate::statistics::accuracy(&chain, &split)
        );
        for n in 1..=chunks {
            asked.set(0);
            let stopped = features_until(&chain, front, split.images(), &|| {
                asked.set(asked.get() + 1);
                asked.get() >= n
            });
            assert!(stopped.is_none(), "stop point {n}");
            assert_eq!(asked.get(), n);
        }
    }
}
