//! Ensembles of bit networks folded into one model.
//!
//! Several `inputs -> hidden -> classes` networks vote by summing, per class, the Hamming
//! distances (plus bias bits) of their output neurons; the class with the smallest sum wins (the
//! first on ties). That vote is itself a bit network: the members' hidden layers side by side,
//! and an output layer whose rows are the members' rows joined. [`merge`] builds it, so an
//! ensemble runs on the same kernels, saves to the same `.bin` file and loads everywhere a model
//! does.
//!
//! The members' output bias bits are carried by one extra hidden neuron per member that always
//! fires: a class's weight on it is 0 (a disagreement, distance 1) exactly when that member's
//! bias bit for the class is 1.

use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use super::climb::{ClimbError, ClimbParams, Climber};
use crate::datasets::Split;
use crate::layers::{Activation, BitDense, BitOutput, Chain};
use crate::run::{Detail, History, Interrupt, Log, Method, Step, Summary};

/// Why networks cannot be merged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnsembleError {
    /// No member.
    #[error("an ensemble needs at least one member")]
    Empty,
    /// A member that is not `bits -> bits -> scores` with the plain popcount score.
    #[error(
        "member {0} is not a two-layer bit network with a bit hidden layer and a plain score output"
    )]
    Shape(usize),
    /// Members with different inputs, classes or output activation.
    #[error("member {0} differs from member 0 in inputs, classes or output activation")]
    Mismatch(usize),
}

/// One model equal to the summed-distance vote of `members` (see the [module
/// documentation](self)). Every member must be `BitDense(n, h_m)` with bit output followed by
/// `BitDense(h_m, c)` with a float output without per-neuron scales (any activation); `n`, `c`
/// and the activation must agree. The result is `BitDense(n, Σ h_m + m)` with per-neuron
/// thresholds, then `BitDense(Σ h_m + m, c)`.
///
/// ```
/// use bitsmnist_core::prelude::*;
/// use bitsmnist_core::genetic::merge;
/// let member = |seed| Chain::new(vec![
///     BitDense::new(784, 32).with_seed(seed).into(),
///     BitDense::new(32, 10).with_seed(seed + 1).with_output(BitOutput::Float(Activation::Identity)).into(),
/// ]).unwrap();
/// let one = merge(&[member(1), member(3), member(5)]).unwrap();
/// assert_eq!(one.layers()[0].outputs(), 3 * 32 + 3);
/// ```
pub fn merge(members: &[Chain]) -> Result<Chain, EnsembleError> {
    let first = members.first().ok_or(EnsembleError::Empty)?;
    let parts: Vec<(&BitDense, &BitDense, Activation)> = members
        .iter()
        .enumerate()
        .map(|(m, c)| match c.layers() {
            [h, o] => match (h.as_bit(), o.as_bit()) {
                (Some(h), Some(o)) if h.output() == BitOutput::Bits && o.affine().is_none() => {
                    match o.output() {
                        BitOutput::Float(a) => Ok((h, o, a)),
                        BitOutput::Bits => Err(EnsembleError::Shape(m)),
                    }
                }
                _ => Err(EnsembleError::Shape(m)),
            },
            _ => Err(EnsembleError::Shape(m)),
        })
        .collect::<Result<_, _>>()?;
    let (inputs, classes, activation) = (first.inputs(), first.outputs(), parts[0].2);
    for (m, (h, o, a)) in parts.iter().enumerate() {
        if h.inputs() != inputs || o.outputs() != classes || *a != activation {
            return Err(EnsembleError::Mismatch(m));
        }
    }
    let width: usize = parts.iter().map(|(h, _, _)| h.outputs() + 1).sum();
    let mut hidden = BitDense::new(inputs, width);
    let mut output = BitDense::new(width, classes).with_output(BitOutput::Float(activation));
    let mut thresholds = Vec::with_capacity(width);
    let mut at = 0;
    for (h, o, _) in &parts {
        let (hw, hb) = hidden.params_mut();
        for j in 0..h.outputs() {
            for i in 0..inputs {
                hw.set(at + j, i, h.weights().get(j, i));
            }
            hb.set(0, at + j, h.bias_bit(j) == 1);
            thresholds.push(h.threshold(j));
        }
        // The member's bias neuron: `d + b > -1` always holds, so it always outputs 1.
        thresholds.push(-1);
        let (ow, _) = output.params_mut();
        for k in 0..classes {
            for j in 0..h.outputs() {
                ow.set(k, at + j, o.weights().get(k, j));
            }
            ow.set(k, at + h.outputs(), o.bias_bit(k) == 0);
        }
        at += h.outputs() + 1;
    }
    let hidden = hidden.with_thresholds(thresholds).expect("one per neuron");
    Ok(Chain::new(vec![hidden.into(), output.into()]).expect("widths match"))
}

/// Several networks climbed side by side and kept as one model by [`merge`]: the loop the
/// command line's `--ensemble N`, notebooks and the desktop app share.
///
/// One step of the ensemble is one generation of every member, the members in parallel (one
/// per thread). Its record's `best`, `mean` and `worst` are over the members' fitness; the
/// validation accuracy is the merged model's. The whole state is serializable, so a saved
/// ensemble resumes exactly where it stopped.
///
/// ```
/// use std::ops::ControlFlow;
/// use bitsmnist_core::prelude::*;
/// use bitsmnist_core::genetic::{ClimbEnsemble, ClimbParams, TrainOptions};
///
/// let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
/// let params = ClimbParams::default().trials_per_generation(500).batch_size(Some(500));
/// let out = BitOutput::Float(Activation::Identity);
/// let mut ensemble = ClimbEnsemble::random(784, 32, 10, out, &params, 2, 7).unwrap();
/// let outcome = ensemble
///     .train(&data.train, &TrainOptions::new().generations(3), |p| {
///         assert!(p.record.best >= p.record.worst);
///         ControlFlow::Continue(())
///     })
///     .unwrap();
/// assert_eq!(outcome.step, 3);
/// let model = ensemble.model(&data.train).unwrap();
/// assert_eq!(model.layers()[0].outputs(), 2 * 32 + 2);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClimbEnsemble {
    members: Vec<Climber>,
    log: Log,
}

/// What the callback of an ensemble's [`train`](Method::train) sees after each generation.
pub type EnsembleProgress<'a> = crate::run::Progress<'a, ClimbEnsemble>;

impl ClimbEnsemble {
    /// An ensemble of these climbers (at least one, all with the same inputs and classes, at
    /// the same generation).
    pub fn new(members: Vec<Climber>) -> Result<Self, EnsembleError> {
        let first = members.first().ok_or(EnsembleError::Empty)?;
        let shape = |c: &Climber| (c.chain().inputs(), c.chain().outputs(), c.generation());
        let want = shape(first);
        if let Some(m) = members.iter().position(|c| shape(c) != want) {
            return Err(EnsembleError::Mismatch(m));
        }
        // A single member goes on as it was: its records are the ensemble's.
        let log = match members.as_slice() {
            [one] => one.log.clone(),
            _ => Log::default(),
        };
        Ok(Self { members, log })
    }

    /// `members` random `inputs -> hidden -> classes` networks with output rule `output`.
    /// Member `m` starts from [`Chain::mlp`] with the seed `seed + 1000 m` and climbs with the
    /// same seed, so members differ in their weights, flips and batches (the rule of
    /// [`TrainConfig::fresh`](crate::training::TrainConfig::fresh)).
    pub fn random(
        inputs: usize,
        hidden: usize,
        classes: usize,
        output: BitOutput,
        params: &ClimbParams,
        members: usize,
        seed: u64,
    ) -> Result<Self, ClimbError> {
        let climbers = (0..members.max(1) as u64)
            .map(|m| {
                let seed = seed.wrapping_add(m * 1000);
                let chain = Chain::mlp(inputs, &[hidden], classes, output, seed)?;
                Climber::new(chain, params.clone().seed(seed))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(climbers).expect("same shapes, generation 0"))
    }

    /// The members.
    pub fn members(&self) -> &[Climber] {
        &self.members
    }

    /// The members, to save or continue one alone.
    pub fn into_members(self) -> Vec<Climber> {
        self.members
    }

    /// Generations run (by every member).
    pub fn generation(&self) -> u64 {
        self.members[0].generation()
    }

    /// Flip trials of all members.
    pub fn trials(&self) -> u64 {
        self.members.iter().map(Climber::trials).sum()
    }

    /// Flips kept by all members.
    pub fn accepted(&self) -> u64 {
        self.members.iter().map(Climber::accepted).sum()
    }

    /// The ensemble's records (each member also keeps its own).
    pub fn history(&self) -> &History {
        &self.log.history
    }

    /// Seconds of training so far (summed over calls).
    pub fn elapsed_secs(&self) -> f64 {
        self.log.elapsed_secs
    }

    /// Bytes of the members' incremental states while training.
    pub fn memory_bytes(&self) -> usize {
        self.members.iter().map(Climber::memory_bytes).sum()
    }

    /// The members' current networks merged (a single member as it is).
    pub fn chain(&self) -> Chain {
        match self.members.as_slice() {
            [one] => one.chain().clone(),
            all => merge(&all.iter().map(|c| c.chain().clone()).collect::<Vec<_>>())
                .expect("members of one shape"),
        }
    }

    /// One generation of every member, in parallel; the summary over the members.
    fn step_members(&mut self, data: &Split) -> Result<Summary, ClimbError> {
        let summaries = self
            .members
            .par_iter_mut()
            .map(|c| c.member_step(data))
            .collect::<Result<Vec<_>, _>>()?;
        let fitness: Vec<f64> = summaries.iter().map(|s| s.best).collect();
        let flips_per_sec = summaries
            .iter()
            .map(|s| match s.detail {
                Detail::Climb { flips_per_sec, .. } => flips_per_sec,
                _ => 0.0,
            })
            .sum();
        Ok(Summary {
            best: fitness.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            mean: fitness.iter().sum::<f64>() / fitness.len() as f64,
            worst: fitness.iter().copied().fold(f64::INFINITY, f64::min),
            detail: Detail::Climb {
                trials: self.trials(),
                kept: self.accepted(),
                flips_per_sec,
            },
        })
    }

    /// The model to keep: each member as the more accurate on `data` (the training split) of
    /// its current and its best re-scored network ([`Climber::choose`]), merged; a single
    /// member as it is.
    pub fn model(&self, data: &Split) -> Result<Chain, EnsembleError> {
        let chosen: Vec<Chain> = self
            .members
            .iter()
            .map(|c| c.choose(data).clone())
            .collect();
        match chosen.as_slice() {
            [one] => Ok(one.clone()),
            _ => merge(&chosen),
        }
    }

    /// Checks the invariants serde cannot (for a state read from a file).
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.members.is_empty() {
            return Err(EnsembleError::Empty.to_string());
        }
        for (m, c) in self.members.iter().enumerate() {
            c.validate().map_err(|e| format!("member {m}: {e}"))?;
        }
        let first = &self.members[0];
        let shape = |c: &Climber| (c.chain().inputs(), c.chain().outputs(), c.generation());
        if let Some(m) = self.members.iter().position(|c| shape(c) != shape(first)) {
            return Err(EnsembleError::Mismatch(m).to_string());
        }
        Ok(())
    }
}

/// An ensemble trains on a training split through the shared loop: `ensemble.train(&split,
/// &options, callback)` ([`Method::train`]); each step runs one generation of every member,
/// in parallel.
impl Method for ClimbEnsemble {
    type Data = Split;
    type Error = ClimbError;

    fn step_number(&self) -> u64 {
        self.generation()
    }

    fn started(&self) -> bool {
        self.members[0].started()
    }

    fn start(&mut self, data: &Split) -> Result<Summary, ClimbError> {
        self.step_members(data)
    }

    fn step(&mut self, data: &Split, _: &Interrupt<'_>) -> Result<Step, ClimbError> {
        self.step_members(data).map(Step::Done)
    }

    fn current_model(&self) -> Chain {
        self.chain()
    }

    fn log(&mut self) -> &mut Log {
        &mut self.log
    }
}
