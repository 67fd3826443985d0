//! Genetic training of bit layers, after TinyML.jl's `Genetic` module (with its bugs fixed).
//!
//! A [`Population`] holds a model ([`Chain`]), the indices of the bit layers to train, the
//! hyper-parameters ([`PopulationParams`]) and a population of candidate weights. Each generation:
//!
//! 1. the candidates are ranked by fitness (descending, stable);
//! 2. the best `elitism` survive unchanged;
//! 3. every other slot gets a child: two parents are selected ([`Selection`]), crossed
//!    ([`Crossover`]) and the child is mutated ([`Mutation`], optionally [`Adaptation`]);
//! 4. *every* candidate, elites included, is evaluated on this generation's fitness examples
//!    (all of them, or a fresh seeded mini-batch), in parallel over candidates.
//!
//! Unlike the original, the reported fitness is the current one, and runs are bit-for-bit
//! reproducible from [`PopulationParams::seed`] whatever the number of threads: every random
//! choice comes from an RNG derived from (seed, generation, slot). The whole state is
//! serializable, so a checkpointed and resumed run gives exactly the uninterrupted result.
//!
//! Its [`train`](crate::run::Method::train) is the loop every method shares ([`crate::run`]),
//! for the command line, notebooks and the desktop app: stop rules and validation in
//! [`TrainOptions`], a callback after each generation that can stop the run, and a
//! [`History`] of every generation.
//!
//! ```
//! use std::ops::ControlFlow;
//! use bitsmnist_core::prelude::*;
//! use bitsmnist_core::search::{Mutation, PopulationParams, Population};
//! use bitsmnist_core::run::TrainOptions;
//!
//! let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
//! let sample = data.train.sample_shuffled(0.05, 2, 1);
//! let model = Chain::new(vec![
//!     BitDense::new(784, 16).into(),
//!     BitDense::new(16, 2).with_output(BitOutput::Float(Activation::Identity)).into(),
//! ]).unwrap();
//! let params = PopulationParams::default()
//!     .population(20)
//!     .elitism(4)
//!     .mutation(Mutation::FlipK { k: 20 })
//!     .seed(1);
//! let mut set = Population::new(model, &[0, 1], params).unwrap();
//! let outcome = set
//!     .train(&Fitness::score(&sample), &TrainOptions::new().generations(5), |p| {
//!         assert!(p.record.best >= p.record.mean);
//!         ControlFlow::Continue(())
//!     })
//!     .unwrap();
//! assert_eq!(outcome.step, 5);
//! assert_eq!(set.history().len(), 6); // generation 0 and 5 breeding steps
//! let trained: &Chain = set.chain(); // holds the best candidate's weights
//! assert!(statistics::accuracy(trained, &sample) > 0.5);
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::operators::{
    Genome, STREAM_BATCH, STREAM_BREED, STREAM_INIT, crossover, derive_rng, mutate, rank_key,
    select,
};
use super::params::{Adaptation, ParamsError, PopulationParams};
use super::rows;
use crate::fitness::Fitness;
use crate::run::{History, TrainOptions};

use crate::bits::BitMatrix;
use crate::fitness::{Batch, Kind};
use crate::layers::{Activations, BitDense, Chain, Floats, Layer};
use crate::run::{Detail, Interrupt, Log, Method, Step, Summary};

/// What the callback of the population's [`train`](crate::run::Method::train) sees after each
/// generation: the population ([`Progress::state`](crate::run::Progress::state)) and the
/// generation's record.
pub type PopulationProgress<'a> = crate::run::Progress<'a, Population>;

/// Why a population could not be built or trained.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PopulationError {
    /// Bad hyper-parameters.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// Training would need more memory than the limit ([`crate::memory`]).
    #[error(transparent)]
    Memory(#[from] crate::memory::MemoryError),
    /// No layer index given.
    #[error("no layer to train")]
    NoTrainableLayers,
    /// A layer index past the end of the chain.
    #[error("layer {index} does not exist (the chain has {layers} layers)")]
    LayerOutOfRange {
        /// The index.
        index: usize,
        /// Layers in the chain.
        layers: usize,
    },
    /// A trainable layer that is not a [`BitDense`].
    #[error("layer {0} is not a bit layer")]
    NotABitLayer(usize),
    /// A layer index given twice.
    #[error("layer {0} is listed twice")]
    DuplicateLayer(usize),
    /// Fitness examples of the wrong width.
    #[error("the fitness examples are {data} bits wide but the model takes {model}")]
    InputWidth {
        /// Width of the examples.
        data: usize,
        /// Input width of the model.
        model: usize,
    },
    /// No fitness examples.
    #[error("no fitness examples")]
    EmptyData,
    /// A deserialized state that breaks an invariant.
    #[error("invalid training state: {0}")]
    InvalidState(String),
}

/// First-layer neurons computed and reused while scoring candidates, since the training set
/// was made or loaded ([`Population::output_reuse`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputReuse {
    /// Neurons (times candidates) whose outputs were computed by the kernels.
    pub computed: u64,
    /// Neurons (times candidates) whose outputs were taken from a parent.
    pub reused: u64,
    /// Bytes the current population's outputs take.
    pub bytes: usize,
}

/// A model, the bit layers being trained, the hyper-parameters and the population: the whole
/// state of a genetic training run (serializable; see [`crate::io::ModelFile`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Population {
    chain: Chain,
    layers: Vec<usize>,
    params: PopulationParams,
    population: Vec<Genome>,
    /// Fitness of each candidate on the current generation; empty before the first evaluation.
    fitness: Vec<f64>,
    generation: u64,
    scale: f64,
    best_so_far: f64,
    last_improvement: u64,
    last_shrink: u64,
    log: Log,
    /// First-layer outputs reused between generations (not saved; see [`rows`]).
    #[serde(skip)]
    rows: rows::RowCache,
}

impl Population {
    /// A training set over `chain`, training the bit layers at indices `layers`. The population
    /// is `params.population` fresh random copies of those layers, from `params.seed` (the
    /// chain's own weights are not in it, as in the original).
    pub fn new(
        chain: Chain,
        layers: &[usize],
        params: PopulationParams,
    ) -> Result<Self, PopulationError> {
        params.check()?;
        check_layers(&chain, layers)?;
        // The candidates, before one is made (what grows with the examples is checked when
        // training starts).
        let (inputs, hidden, classes) = super::widths(&chain);
        crate::memory::check_current(params.memory_estimate(inputs, &hidden, classes, 0))?;
        let population = (0..params.population)
            .map(|slot| {
                let mut rng = derive_rng(params.seed, STREAM_INIT, 0, slot as u64);
                layers
                    .iter()
                    .map(|&i| {
                        let mut l = chain.layers()[i].as_bit().expect("checked").clone();
                        l.randomize(&mut rng);
                        l
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            chain,
            layers: layers.to_vec(),
            params,
            population,
            fitness: Vec::new(),
            generation: 0,
            scale: 1.0,
            best_so_far: f64::NEG_INFINITY,
            last_improvement: 0,
            last_shrink: 0,
            log: Log::default(),
            rows: rows::RowCache::default(),
        })
    }

    /// A training set from every saved field, unchecked: for decoding older model files
    /// (`io::legacy`), which checks it afterwards.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_parts(
        chain: Chain,
        layers: Vec<usize>,
        params: PopulationParams,
        population: Vec<Genome>,
        fitness: Vec<f64>,
        (generation, scale, best_so_far): (u64, f64, f64),
        (last_improvement, last_shrink): (u64, u64),
        log: Log,
    ) -> Self {
        Self {
            chain,
            layers,
            params,
            population,
            fitness,
            generation,
            scale,
            best_so_far,
            last_improvement,
            last_shrink,
            log,
            rows: rows::RowCache::default(),
        }
    }

    /// As [`Population::new`], training every bit layer of the chain.
    pub fn for_all_bit_layers(
        chain: Chain,
        params: PopulationParams,
    ) -> Result<Self, PopulationError> {
        let layers: Vec<usize> = (0..chain.layers().len())
            .filter(|&i| chain.layers()[i].as_bit().is_some())
            .collect();
        Self::new(chain, &layers, params)
    }

    /// The model. After [`train`](Self::train) its trainable layers hold the best candidate.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The model, consuming the set.
    pub fn into_chain(self) -> Chain {
        self.chain
    }

    /// Indices (in the chain) of the layers being trained.
    pub fn trainable_layers(&self) -> &[usize] {
        &self.layers
    }

    /// The hyper-parameters.
    pub fn params(&self) -> &PopulationParams {
        &self.params
    }

    /// The candidates. After a generation, the first `elitism` are the previous generation's
    /// best, in rank order.
    pub fn population(&self) -> &[Genome] {
        &self.population
    }

    /// Fitness of each candidate on the current generation (empty before the first).
    pub fn fitness(&self) -> &[f64] {
        &self.fitness
    }

    /// Current generation number (0 until the first breeding step).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The current mutation scale (1 unless [`Adaptation`] changed it).
    pub fn mutation_scale(&self) -> f64 {
        self.scale
    }

    /// Every generation so far.
    pub fn history(&self) -> &History {
        &self.log.history
    }

    /// Seconds of training so far, over all runs.
    pub fn elapsed_secs(&self) -> f64 {
        self.log.elapsed_secs
    }

    /// Whether generations scored on the same examples (no mini-batches) reuse first-layer
    /// outputs: a candidate's hidden bits are assembled from its parents' where its neurons
    /// are theirs, and only the other neurons are computed (on by default). The results are
    /// the same bits either way; turning it off is for comparisons and to free the memory.
    pub fn set_reuse_outputs(&mut self, on: bool) {
        self.rows.off = !on;
        if !on {
            self.rows.clear();
        }
    }

    /// How much first-layer work the reuse of outputs saved (see
    /// [`set_reuse_outputs`](Self::set_reuse_outputs)).
    pub fn output_reuse(&self) -> OutputReuse {
        OutputReuse {
            computed: self.rows.computed,
            reused: self.rows.reused,
            bytes: self.rows.bytes(),
        }
    }

    /// Whether the current population has been evaluated.
    pub fn is_evaluated(&self) -> bool {
        self.fitness.len() == self.population.len()
    }

    /// Index and fitness of the best current candidate (the first one wins ties); `None`
    /// before the first evaluation.
    pub fn best(&self) -> Option<(usize, f64)> {
        if !self.is_evaluated() {
            return None;
        }
        let mut best = 0;
        for (i, &f) in self.fitness.iter().enumerate() {
            if rank_key(f) > rank_key(self.fitness[best]) {
                best = i;
            }
        }
        Some((best, self.fitness[best]))
    }

    /// The model with candidate `i`'s layers swapped in.
    ///
    /// # Panics
    /// When `i` is not a candidate.
    pub fn candidate_chain(&self, i: usize) -> Chain {
        assemble(&self.chain, &self.layers, &self.population[i])
    }

    /// The model with the best current candidate's layers (the chain itself before the first
    /// evaluation).
    pub fn best_chain(&self) -> Chain {
        match self.best() {
            Some((i, _)) => self.candidate_chain(i),
            None => self.chain.clone(),
        }
    }

    fn check_fitness(&self, fitness: &Fitness) -> Result<(), PopulationError> {
        if let Some(data) = fitness.data() {
            if data.is_empty() {
                return Err(PopulationError::EmptyData);
            }
            if data.images().cols() != self.chain.inputs() {
                return Err(PopulationError::InputWidth {
                    data: data.images().cols(),
                    model: self.chain.inputs(),
                });
            }
        }
        Ok(())
    }

    /// Best, mean and worst current fitness.
    fn summary(&self) -> (f64, f64, f64) {
        let best = self.best().map_or(f64::NAN, |b| b.1);
        let worst = self
            .fitness
            .iter()
            .copied()
            .min_by(|a, b| rank_key(*a).total_cmp(&rank_key(*b)))
            .unwrap_or(f64::NAN);
        let mean = self.fitness.iter().sum::<f64>() / self.fitness.len().max(1) as f64;
        (best, mean, worst)
    }

    fn record_summary(&self, used_scale: f64) -> Summary {
        let (best, mean, worst) = self.summary();
        Summary {
            best,
            mean,
            worst,
            detail: Detail::Population {
                mutation_scale: used_scale,
            },
        }
    }

    /// Population indices by fitness, best first (stable: earlier slots win ties).
    fn ranking(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.population.len()).collect();
        order.sort_by(|&a, &b| rank_key(self.fitness[b]).total_cmp(&rank_key(self.fitness[a])));
        order
    }

    /// Replaces the population by the elite and new children; returns each child's father's
    /// fitness (for the 1/5 rule).
    fn breed(&mut self) -> Vec<f64> {
        let order = self.ranking();
        let p = &self.params;
        let next = self.generation + 1;
        let (population, fitness, scale) = (&self.population, &self.fitness, self.scale);
        let children: Vec<(Genome, usize, usize)> = (p.elitism..p.population)
            .into_par_iter()
            .map(|slot| {
                let mut rng = derive_rng(p.seed, STREAM_BREED, next, slot as u64);
                let f = select(p.selection, &order, fitness, p.elitism, &mut rng);
                let m = select(p.selection, &order, fitness, p.elitism, &mut rng);
                let mut child = crossover(p.crossover, &population[f], &population[m], &mut rng);
                mutate(p.mutation, scale, &mut child, &mut rng);
                (child, f, m)
            })
            .collect();
        let mut next_pop: Vec<Genome> = order[..p.elitism]
            .iter()
            .map(|&i| self.population[i].clone())
            .collect();
        let mut lineage: Vec<rows::Lineage> = order[..p.elitism]
            .iter()
            .map(|&i| rows::Lineage::Elite(i))
            .collect();
        let mut parent_fitness = Vec::with_capacity(children.len());
        for (c, f, m) in children {
            next_pop.push(c);
            parent_fitness.push(self.fitness[f]);
            lineage.push(rows::Lineage::Child {
                father: f,
                mother: m,
            });
        }
        let old = std::mem::replace(&mut self.population, next_pop);
        self.rows.bred(old, lineage);
        self.fitness.clear();
        parent_fitness
    }

    /// Evaluates every candidate on this generation's examples, in parallel over candidates
    /// (each candidate on one thread).
    ///
    /// `stop` is asked before each candidate; once it says so the remaining candidates are
    /// skipped, nothing is stored and `false` is returned (the caller undoes the generation).
    fn evaluate(&mut self, fitness: &Fitness, stop: &(dyn Fn() -> bool + Sync)) -> bool {
        let halted = AtomicBool::new(false);
        let skip = || {
            halted.load(Ordering::Relaxed) || {
                let now = stop();
                halted.fetch_or(now, Ordering::Relaxed);
                now
            }
        };
        let mut cached = false;
        let population = &self.population;
        // Every candidate's score without the cache, in parallel (skipped once stopped).
        let score_each = |score: &(dyn Fn(&Genome) -> f64 + Sync)| -> Vec<f64> {
            population
                .par_iter()
                .map(|g| if skip() { f64::NAN } else { score(g) })
                .collect()
        };
        let p = &self.params;
        let evals = p.evals_per_candidate;
        let chain = &self.chain;
        let layers = &self.layers;
        let scores: Vec<f64> = match &fitness.kind {
            Kind::Metric { metric, data } => {
                let generation = self.generation;
                // Evaluation `e`'s mini-batch, drawn where it is used rather than all `evals`
                // at once: `--evals 100000` of 512 examples would hold 5 GB of batches.
                let mini_batch = |e: usize, b: usize| {
                    let mut rng = derive_rng(p.seed, STREAM_BATCH, generation, e as u64);
                    let mut idx = rand::seq::index::sample(&mut rng, data.len(), b).into_vec();
                    idx.sort_unstable();
                    Batch::new(data, Some(&idx))
                };
                let slot_of = slot_of(chain, layers);
                let classes = chain.outputs();
                let random = p.batch_size.filter(|&b| b < data.len());
                // The same examples each time: one evaluation gives the mean.
                let batches: Vec<Batch> = match random {
                    Some(_) => Vec::new(),
                    None => vec![Batch::new(data, None)],
                };
                let fixed = random.is_none();
                if fixed
                    && self
                        .rows
                        .applies(chain, &slot_of, self.population.len(), data.len())
                {
                    // Same examples as last generation: reuse first-layer outputs.
                    let key = (data.len(), rows::fingerprint(data));
                    let lineage = self.rows.begin(key, self.population.len());
                    let slot = slot_of[0].expect("checked by applies");
                    let batch = &batches[0];
                    let cache = &self.rows;
                    let scored: Vec<(f64, rows::Outputs, u64, u64)> = self
                        .population
                        .par_iter()
                        .zip(lineage)
                        .map(|(genome, lin)| {
                            if skip() {
                                return (f64::NAN, Arc::new(Vec::new()), 0, 0);
                            }
                            let (hidden, computed, reused) =
                                cache.outputs_for(&genome[slot], slot, lin, batch);
                            // The rest of the forward pass starts from the first layer's outputs.
                            let f = batch.evaluate(*metric, classes, |k, _| {
                                forward_scores(chain, &slot_of, genome, 1, &hidden[k])
                            });
                            (f, hidden, computed, reused)
                        })
                        .collect();
                    if halted.load(Ordering::Relaxed) {
                        return false;
                    }
                    let (mut computed, mut reused) = (0, 0);
                    let mut outputs = Vec::with_capacity(scored.len());
                    let mut fitness = Vec::with_capacity(scored.len());
                    for (f, o, c, r) in scored {
                        fitness.push(f);
                        outputs.push(Some(o));
                        computed += c;
                        reused += r;
                    }
                    self.rows.finish(outputs, computed, reused);
                    cached = true;
                    fitness
                } else {
                    self.rows.forget_outputs();
                    let score = |b: &Batch, genome: &Genome| {
                        b.evaluate(*metric, classes, |_, x| {
                            forward_scores(chain, &slot_of, genome, 0, x)
                        })
                    };
                    score_each(&|genome| match random {
                        // Asked between evaluations too: one candidate of many evaluations
                        // is a long step (its score is dropped once stopped).
                        Some(b) => {
                            let mut sum = 0.0;
                            for e in 0..evals {
                                if e > 0 && skip() {
                                    return f64::NAN;
                                }
                                sum += score(&mini_batch(e, b), genome);
                            }
                            sum / evals as f64
                        }
                        None => score(&batches[0], genome),
                    })
                }
            }
            Kind::Custom(f) => {
                self.rows.forget_outputs();
                score_each(&|genome| {
                    let c = assemble(chain, layers, genome);
                    (0..evals).map(|_| f(&c)).sum::<f64>() / evals as f64
                })
            }
        };
        if halted.load(Ordering::Relaxed) {
            return false;
        }
        if !cached {
            self.rows.clear();
        }
        self.fitness = scores;
        true
    }

    /// Tracks improvement and adapts the mutation scale after an evaluation.
    fn adapt(&mut self, parent_fitness: &[f64]) {
        let (best, _, _) = self.summary();
        if rank_key(best) > self.best_so_far {
            self.best_so_far = rank_key(best);
            self.last_improvement = self.generation;
        }
        match self.params.adaptation {
            Adaptation::None => {}
            Adaptation::OneFifth {
                factor,
                min_scale,
                max_scale,
            } => {
                if !parent_fitness.is_empty() {
                    let children = &self.fitness[self.params.elitism..];
                    let wins = children
                        .iter()
                        .zip(parent_fitness)
                        .filter(|(c, p)| rank_key(**c) > rank_key(**p))
                        .count();
                    let ratio = wins as f64 / parent_fitness.len() as f64;
                    if ratio > 0.2 {
                        self.scale *= factor;
                    } else if ratio < 0.2 {
                        self.scale /= factor;
                    }
                    self.scale = self.scale.clamp(min_scale, max_scale);
                }
            }
            Adaptation::Stagnation {
                patience,
                factor,
                min_scale,
            } => {
                let since = self.last_improvement.max(self.last_shrink);
                if self.generation - since >= patience {
                    self.scale = (self.scale * factor).max(min_scale);
                    self.last_shrink = self.generation;
                }
            }
        }
    }

    /// Checks the invariants of a deserialized state.
    pub(crate) fn validate(&self) -> Result<(), PopulationError> {
        let bad = |s: String| Err(PopulationError::InvalidState(s));
        self.chain
            .validate()
            .map_err(PopulationError::InvalidState)?;
        self.params.check()?;
        check_layers(&self.chain, &self.layers)?;
        if self.population.len() != self.params.population {
            return bad(format!(
                "{} candidates for a population of {}",
                self.population.len(),
                self.params.population
            ));
        }
        if !self.fitness.is_empty() && self.fitness.len() != self.population.len() {
            return bad(format!(
                "{} fitness values for {} candidates",
                self.fitness.len(),
                self.population.len()
            ));
        }
        for (c, genome) in self.population.iter().enumerate() {
            if genome.len() != self.layers.len() {
                return bad(format!("candidate {c} has {} layers", genome.len()));
            }
            for (l, &i) in genome.iter().zip(&self.layers) {
                l.validate()
                    .map_err(|e| PopulationError::InvalidState(format!("candidate {c}: {e}")))?;
                let t = self.chain.layers()[i].as_bit().expect("checked");
                if l.inputs() != t.inputs()
                    || l.outputs() != t.outputs()
                    || l.output() != t.output()
                {
                    return bad(format!(
                        "candidate {c}: layer {i} is {l}, the model has {t}"
                    ));
                }
            }
        }
        if !(self.scale > 0.0 && self.scale.is_finite()) {
            return bad(format!("mutation scale {}", self.scale));
        }
        if self.last_improvement > self.generation || self.last_shrink > self.generation {
            return bad("improvement recorded in the future".into());
        }
        Ok(())
    }

    /// A training set whose population starts from the chain's own weights, to fine-tune a
    /// trained model (e.g. one from [`crate::gradient`]) rather than start from random bits:
    /// slot 0 is an exact copy of the layers at indices `layers`, every other slot a copy
    /// mutated once by `params.mutation` (RNG derived per slot as in [`Population::new`]).
    /// Mutation flips weight and bias bits only, so per-neuron thresholds and output scales
    /// stay as trained; with `elitism` of at least 1 the best fitness on fixed examples never
    /// drops below the starting model's.
    ///
    /// ```
    /// use bitsmnist_core::prelude::*;
    /// use bitsmnist_core::search::Mutation;
    /// use bitsmnist_core::gradient::{self, GradientParams, Trainer};
    ///
    /// let data = Dataset::embedded().for_task(&Task::zero_one()).unwrap();
    /// let sample = data.train.sample(0.1, 2);
    /// let mut trainer = Trainer::new(GradientParams::default().hidden(vec![16]).epochs(1), 784, 2).unwrap();
    /// trainer.run(&sample, &TrainOptions::new()).unwrap();
    /// let model = trainer.export(); // per-neuron thresholds, then a scaled output layer
    /// let fitness = Fitness::accuracy(&sample);
    /// let start = fitness.evaluate(&model);
    ///
    /// let params = PopulationParams::default()
    ///     .population(8)
    ///     .elitism(2)
    ///     .mutation(Mutation::FlipK { k: 4 })
    ///     .seed(1);
    /// let mut set = Population::starting_from(model.clone(), &[0, 1], params).unwrap();
    /// assert_eq!(set.candidate_chain(0), model);
    /// let outcome = set.run(&fitness, &TrainOptions::new().generations(3).quiet()).unwrap();
    /// assert!(outcome.best_fitness >= start);
    /// assert_eq!(set.chain().layers()[0].as_bit().unwrap().thresholds(),
    ///            model.layers()[0].as_bit().unwrap().thresholds());
    /// ```
    pub fn starting_from(
        chain: Chain,
        layers: &[usize],
        params: PopulationParams,
    ) -> Result<Self, PopulationError> {
        let mut set = Self::new(chain, layers, params)?;
        let own: Genome = layers
            .iter()
            .map(|&i| set.chain.layers()[i].as_bit().expect("checked").clone())
            .collect();
        let p = &set.params;
        set.population = (0..p.population)
            .map(|slot| {
                let mut genome = own.clone();
                if slot > 0 {
                    // `new`'s stream and slots: one seed names one starting population.
                    let mut rng = derive_rng(p.seed, STREAM_INIT, 0, slot as u64);
                    mutate(p.mutation, 1.0, &mut genome, &mut rng);
                }
                genome
            })
            .collect();
        Ok(set)
    }
}

/// The population trains on a fitness through the shared loop: `set.train(&fitness,
/// &options, callback)` ([`Method::train`]). On the first call the random population is
/// evaluated (generation 0); then each step breeds and evaluates a new generation. When a call
/// returns, the best candidate's weights are copied into the [`chain`](Population::chain).
impl Population {
    /// The bytes training on `examples` fitness examples still needs beyond the networks and
    /// the output cache it holds ([`PopulationParams::memory_estimate`]).
    pub fn memory_to_train(&self, examples: usize) -> u64 {
        let (inputs, hidden, classes) = super::widths(self.chain());
        let all = self
            .params()
            .memory_estimate(inputs, &hidden, classes, examples);
        let nets = self.params().memory_estimate(inputs, &hidden, classes, 0);
        all.saturating_sub(nets)
            .saturating_sub(self.output_reuse().bytes as u64)
    }
}

impl Method for Population {
    type Data = Fitness;
    type Error = PopulationError;

    fn step_number(&self) -> u64 {
        self.generation
    }

    fn prepare(&mut self, fitness: &Fitness, _: &TrainOptions) -> Result<(), PopulationError> {
        self.check_fitness(fitness)?;
        let examples = fitness.data().map_or(0, crate::datasets::Split::len);
        Ok(crate::memory::check_current(
            self.memory_to_train(examples),
        )?)
    }

    fn started(&self) -> bool {
        self.is_evaluated()
    }

    fn start(
        &mut self,
        fitness: &Fitness,
        interrupt: &Interrupt<'_>,
    ) -> Result<Step, PopulationError> {
        let used_scale = self.scale;
        if !self.evaluate(fitness, &|| interrupt.fired()) {
            // Interrupted: still not evaluated, as before (the outputs begun are only a
            // cache).
            self.rows.forget_outputs();
            return Ok(Step::Interrupted);
        }
        self.adapt(&[]);
        Ok(Step::Done(self.record_summary(used_scale)))
    }

    fn step(
        &mut self,
        fitness: &Fitness,
        interrupt: &Interrupt<'_>,
    ) -> Result<Step, PopulationError> {
        let used_scale = self.scale;
        let old_fitness = self.fitness.clone();
        let parent_fitness = self.breed();
        self.generation += 1;
        if !self.evaluate(fitness, &|| interrupt.fired()) {
            // Interrupted: back to the population before this generation (its reused
            // outputs are dropped; they are only a cache).
            self.population = self.rows.take_previous();
            self.fitness = old_fitness;
            self.generation -= 1;
            return Ok(Step::Interrupted);
        }
        self.adapt(&parent_fitness);
        Ok(Step::Done(self.record_summary(used_scale)))
    }

    fn current_model(&self) -> Chain {
        self.best_chain()
    }

    fn log(&mut self) -> &mut Log {
        &mut self.log
    }

    fn end(&mut self) {
        if self.is_evaluated() {
            self.chain = self.best_chain();
        }
    }
}

fn check_layers(chain: &Chain, layers: &[usize]) -> Result<(), PopulationError> {
    if layers.is_empty() {
        return Err(PopulationError::NoTrainableLayers);
    }
    for (k, &i) in layers.iter().enumerate() {
        if i >= chain.layers().len() {
            return Err(PopulationError::LayerOutOfRange {
                index: i,
                layers: chain.layers().len(),
            });
        }
        if chain.layers()[i].as_bit().is_none() {
            return Err(PopulationError::NotABitLayer(i));
        }
        if layers[..k].contains(&i) {
            return Err(PopulationError::DuplicateLayer(i));
        }
    }
    Ok(())
}

/// For each chain layer, its position in the genome if it is trained.
fn slot_of(chain: &Chain, layers: &[usize]) -> Vec<Option<usize>> {
    (0..chain.layers().len())
        .map(|i| layers.iter().position(|&l| l == i))
        .collect()
}

/// The chain with the genome's layers swapped in.
fn assemble(chain: &Chain, layers: &[usize], genome: &[BitDense]) -> Chain {
    let mut c = chain.clone();
    for (l, &i) in genome.iter().zip(layers) {
        *c.layer_mut(i) = Layer::Bit(l.clone());
    }
    c
}

/// Forward of one chunk of examples through the chain with the genome's layers, on this
/// thread, without building a chain: from layer `from` on, `x` being that layer's input bits.
fn forward_scores(
    chain: &Chain,
    slot_of: &[Option<usize>],
    genome: &[BitDense],
    from: usize,
    x: &BitMatrix,
) -> Floats {
    let mut a: Option<Activations> = None;
    for (i, layer) in chain.layers().iter().enumerate().skip(from) {
        a = Some(match (slot_of[i], a.take()) {
            (Some(p), None) => genome[p].forward_bits_rows(x),
            (Some(p), Some(prev)) => genome[p].forward_bits_rows(&prev.into_bits()),
            (None, None) => layer.forward(Activations::Bits(x.clone())),
            (None, Some(prev)) => layer.forward(prev),
        });
    }
    a.map_or_else(
        || Floats::new(x.rows(), 0, Vec::new()),
        Activations::into_scores,
    )
}
