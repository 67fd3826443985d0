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

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::climb::{ClimbError, ClimbParams, Climber};
use crate::datasets::Split;
use crate::layers::{Activation, BitDense, BitOutput, Chain, Layer, Vote};
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
    /// Members with different inputs, feature layers, classes or output activation.
    #[error(
        "member {0} differs from member 0 in inputs, feature layers, classes or output activation"
    )]
    Mismatch(usize),
}

/// One model equal to the summed-distance vote of `members` (see the [module
/// documentation](self)). Every member must be `BitDense(n, h_m)` with bit output followed by
/// `BitDense(h_m, c)` with a float output without per-neuron scales (any activation); `n`, `c`
/// and the activation must agree. The result is `BitDense(n, Σ h_m + m)` with per-neuron
/// thresholds, then `BitDense(Σ h_m + m, c)`. Members that begin with the same feature layers
/// (convolutions and pools, which a climb keeps fixed) merge into a model that begins with
/// them too.
///
/// ```
/// use bitsmnist_core::prelude::*;
/// use bitsmnist_core::search::merge;
/// let member = |seed| Chain::new(vec![
///     BitDense::new(784, 32).with_seed(seed).into(),
///     BitDense::new(32, 10).with_seed(seed + 1).with_output(BitOutput::Float(Activation::Identity)).into(),
/// ]).unwrap();
/// let one = merge(&[member(1), member(3), member(5)]).unwrap();
/// assert_eq!(one.layers()[0].outputs(), 3 * 32 + 3);
/// ```
pub fn merge(members: &[Chain]) -> Result<Chain, EnsembleError> {
    let first = members.first().ok_or(EnsembleError::Empty)?;
    let front_of = |c: &Chain| c.layers().iter().take_while(|l| l.is_spatial()).count();
    let front = &first.layers()[..front_of(first)];
    if let Some(m) = members
        .iter()
        .position(|c| &c.layers()[..front_of(c)] != front || c.input() != first.input())
    {
        return Err(EnsembleError::Mismatch(m));
    }
    let parts: Vec<(&BitDense, &BitDense, Activation)> = members
        .iter()
        .enumerate()
        .map(|(m, c)| match &c.layers()[front.len()..] {
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
    let (inputs, classes, activation) = (parts[0].0.inputs(), first.outputs(), parts[0].2);
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
    let layers = front.iter().cloned().chain([hidden.into(), output.into()]);
    Ok(Chain::new(layers.collect())
        .expect("widths match")
        .with_input(first.input()))
}

/// The one model the networks of an ensemble make, the rule every front end shares (an
/// in-process [`ClimbEnsemble`], [`crate::io::merge_files`] of member runs): one network as
/// it is; climbs that share their feature layers [`merge`]d in order into one wider network;
/// networks with layers of their own (their own imprinted filters, gradient-trained
/// convolutions) side by side in a [`Vote`]. Either way the model's scores are the members'
/// summed, so the members trained in one process and trained apart make the same model.
///
/// When the networks can neither merge nor vote (bit scores, other inputs or classes), the
/// error names the first one [`merge`] refused.
///
/// ```
/// use bitsmnist_core::prelude::*;
/// use bitsmnist_core::search::ensemble_model;
/// let out = BitOutput::Float(Activation::Identity);
/// let shallow = Chain::mlp(784, &[16], 10, out, 1).unwrap();
/// let deep = Chain::mlp(784, &[16, 16], 10, out, 2).unwrap();
/// // Two climbs' networks widen into one; a deeper one votes beside the first.
/// let wide = ensemble_model(vec![shallow.clone(), Chain::mlp(784, &[16], 10, out, 3).unwrap()]).unwrap();
/// assert_eq!(wide.layers()[0].outputs(), 2 * 17);
/// let vote = ensemble_model(vec![shallow, deep]).unwrap();
/// assert!(matches!(vote.layers(), [Layer::Vote(_)]));
/// ```
pub fn ensemble_model(members: Vec<Chain>) -> Result<Chain, EnsembleError> {
    if let [one] = members.as_slice() {
        return Ok(one.clone());
    }
    let refused = match merge(&members) {
        Ok(merged) => return Ok(merged),
        Err(e) => e,
    };
    let input = members.first().ok_or(EnsembleError::Empty)?.input();
    let vote = Vote::new(members).map_err(|_| refused)?;
    Ok(Chain::new(vec![Layer::Vote(vote)])
        .expect("one layer")
        .with_input(input))
}

/// Several networks climbed side by side and kept as one model by [`merge`]: the loop the
/// command line's `--ensemble N`, notebooks and the desktop app share.
///
/// One step of the ensemble is one generation of every member. The members climb on threads
/// of their own (each with its share of the thread pool), each up to one generation ahead,
/// so none waits for the slowest at every generation; the ensemble's state is always all
/// members at the same generation, and the result is the same on any number of threads. Its
/// record's `best`, `mean` and `worst` are over the members' fitness; the
/// validation accuracy is the merged model's. The whole state is serializable, so a saved
/// ensemble resumes exactly where it stopped.
///
/// ```
/// use std::ops::ControlFlow;
/// use bitsmnist_core::prelude::*;
/// use bitsmnist_core::search::{ClimbEnsemble, ClimbParams};
/// use bitsmnist_core::run::TrainOptions;
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
    /// The members at the ensemble's generation: what is saved, shown and merged.
    members: Vec<Climber>,
    log: Log,
    /// The jobs that climb the members ahead of `members` while a run goes on.
    #[serde(skip)]
    workers: Workers,
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
        Ok(Self {
            members,
            log,
            workers: Workers::default(),
        })
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

    /// The seed member `member` of an ensemble seeded `seed` starts from and climbs with:
    /// `seed + 1000 member` (wrapping), the rule of [`random`](Self::random) and of
    /// [`TrainConfig::fresh`](crate::training::TrainConfig::fresh). A single climb with this
    /// seed for its starting network and its parameters, the same settings and the same
    /// generations trains exactly that member, so the members of one ensemble can be trained
    /// as separate runs (on separate machines) and [`merge`]d.
    pub fn member_seed(seed: u64, member: u64) -> u64 {
        seed.wrapping_add(member.wrapping_mul(1000))
    }

    /// The members.
    pub fn members(&self) -> &[Climber] {
        &self.members
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

    /// The members' current networks as one model ([`ensemble_model`]: a single member as
    /// it is).
    pub fn chain(&self) -> Chain {
        ensemble_model(self.members.iter().map(|c| c.chain().clone()).collect())
            .expect("members of one shape")
    }

    /// Generation 0 of every member, in parallel; the summary over the members. `None`, and
    /// no member started, when `interrupted` says so before every member has started (it is
    /// asked before each member: a member's generation 0 builds its incremental state, one
    /// pass over its batch).
    fn start_members(
        &mut self,
        data: &Split,
        interrupted: &(dyn Fn() -> bool + Sync),
    ) -> Result<Option<Summary>, ClimbError> {
        let before: Vec<_> = self.members.iter().map(Climber::before_start).collect();
        let summaries = self
            .members
            .par_iter_mut()
            .map(|c| {
                if interrupted() {
                    return Ok(None);
                }
                // Stoppable inside too: a convolution model's start computes the feature maps of
                // every training example, seconds of work.
                c.member_step(data, &|| interrupted())
            })
            .collect::<Result<Option<Vec<_>>, ClimbError>>()?;
        match summaries {
            Some(s) => Ok(Some(self.summarize(&s))),
            None => {
                for (c, b) in self.members.iter_mut().zip(before) {
                    if c.started() {
                        c.unstart(b);
                    }
                }
                Ok(None)
            }
        }
    }

    /// The next generation of every member; `None`, and the members as they were, when
    /// `interrupted` says so before every member has run all its trials. Several members
    /// climb on threads of their own and run ahead ([`Workers`]).
    fn step_members(
        &mut self,
        data: &Split,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Option<Summary>, ClimbError> {
        if let [one] = self.members.as_mut_slice() {
            // One member climbs on the calling thread, with the whole pool for its trials.
            return Ok(one
                .member_step(data, interrupted)?
                .map(|s| self.summarize(&[s])));
        }
        if !self.workers.runs_on(data) {
            self.workers.stop();
            self.workers = Workers::start(&self.members, data);
        }
        match self.workers.next(interrupted) {
            Ok(Some(next)) => {
                let (members, summaries): (Vec<Climber>, Vec<Summary>) = next.into_iter().unzip();
                self.members = members;
                Ok(Some(self.summarize(&summaries)))
            }
            other => {
                self.workers.stop();
                other.map(|_| None)
            }
        }
    }

    /// The ensemble's summary of its members' summaries.
    fn summarize(&self, summaries: &[Summary]) -> Summary {
        let fitness: Vec<f64> = summaries.iter().map(|s| s.best).collect();
        let flips_per_sec = summaries
            .iter()
            .map(|s| match s.detail {
                Detail::Climb { flips_per_sec, .. } => flips_per_sec,
                _ => 0.0,
            })
            .sum();
        Summary {
            best: fitness.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            mean: fitness.iter().sum::<f64>() / fitness.len() as f64,
            worst: fitness.iter().copied().fold(f64::INFINITY, f64::min),
            detail: Detail::Climb {
                trials: self.trials(),
                kept: self.accepted(),
                flips_per_sec,
            },
        }
    }

    /// The model to keep: each member as the more accurate on `data` (the training split) of
    /// its current and its best re-scored network ([`Climber::choose`]), made one by
    /// [`ensemble_model`] (a single member as it is).
    pub fn model(&self, data: &Split) -> Result<Chain, EnsembleError> {
        ensemble_model(
            self.members
                .iter()
                .map(|c| c.choose(data).clone())
                .collect(),
        )
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
impl ClimbEnsemble {
    /// The bytes climbing on `examples` examples still needs beyond the networks and the
    /// incremental states the members hold ([`ClimbParams::memory_estimate`]).
    pub fn memory_to_train(&self, examples: usize) -> u64 {
        let first = &self.members[0];
        // The climbed layers after the feature layers, as a single climb counts them
        // ([`Climber::memory_to_train`]): a convolution's map is no hidden layer.
        let (front, head) = super::climb::climbed_part(first.chain())
            .unwrap_or_else(|_| (0, first.chain().clone()));
        let (inputs, hidden, classes) = super::widths(&head);
        let n = self.members.len();
        let p = first.params();
        let all = p.memory_estimate(n, inputs, &hidden, classes, examples);
        let nets = p.memory_estimate(n, inputs, &hidden, classes, 0);
        // Each member keeps the features of every example.
        let features = if front == 0 {
            0
        } else {
            (examples as u64)
                .saturating_mul(inputs.div_ceil(64) as u64 * 8)
                .saturating_mul(n as u64)
        };
        all.saturating_sub(nets)
            .saturating_add(features)
            .saturating_sub(self.memory_bytes() as u64)
    }
}

impl Method for ClimbEnsemble {
    type Data = Split;
    type Error = ClimbError;

    fn step_number(&self) -> u64 {
        self.generation()
    }

    fn prepare(&mut self, data: &Split, _: &crate::run::TrainOptions) -> Result<(), ClimbError> {
        Ok(crate::memory::check_current(
            self.memory_to_train(data.len()),
        )?)
    }

    fn started(&self) -> bool {
        self.members[0].started()
    }

    fn start(&mut self, data: &Split, interrupt: &Interrupt<'_>) -> Result<Step, ClimbError> {
        Ok(self.start_members(data, &|| interrupt.fired())?.into())
    }

    fn step(&mut self, data: &Split, interrupt: &Interrupt<'_>) -> Result<Step, ClimbError> {
        Ok(self.step_members(data, &|| interrupt.fired())?.into())
    }

    fn current_model(&self) -> Chain {
        self.chain()
    }

    fn log(&mut self) -> &mut Log {
        &mut self.log
    }

    fn end(&mut self) {
        // The members stay at the last generation all completed; the one the jobs run
        // ahead is dropped.
        self.workers.stop();
    }
}

/// The members climbing on threads of their own, each up to [`AHEAD`] generations ahead of
/// the ensemble.
///
/// Members are independent, so waiting at every generation for the slowest (which differs
/// from one generation to the next) would leave threads idle, and idle threads would steal
/// the other members' speculative trial blocks, which wastes work. Instead each member climbs
/// generation after generation on a thread of its own, with its own share of the thread pool
/// for its trial blocks, and hands a copy of itself to the ensemble after each generation. A
/// member waits when it is [`AHEAD`] generations ahead, and what the members ran ahead is
/// stopped and dropped when the run ends, so the ensemble's state is always all members at
/// the same generation, whatever the timing.
#[derive(Default)]
struct Workers {
    running: Option<Running>,
}

/// Generations a member may run ahead of the ensemble (each held as a copy of the member).
const AHEAD: usize = 1;

struct Running {
    data: Arc<Split>,
    stop: Arc<AtomicBool>,
    members: Vec<Worker>,
}

/// One member's thread: a go for each generation it may run, a copy of the member after each.
struct Worker {
    go: mpsc::Sender<()>,
    done: mpsc::Receiver<Result<(Climber, Summary), ClimbError>>,
    thread: std::thread::JoinHandle<()>,
}

/// How often the ensemble looks at its stop condition while it waits for its members.
const POLL: Duration = Duration::from_millis(5);

impl Workers {
    /// Threads climbing `members` on `data`.
    fn start(members: &[Climber], data: &Split) -> Self {
        let data = Arc::new(data.clone());
        let stop = Arc::new(AtomicBool::new(false));
        let threads = (rayon::current_num_threads() / members.len()).max(1);
        let members = members
            .iter()
            .map(|m| Worker::start(m.clone(), &data, &stop, threads))
            .collect();
        Self {
            running: Some(Running {
                data,
                stop,
                members,
            }),
        }
    }

    /// Whether the threads run, on these data.
    fn runs_on(&self, data: &Split) -> bool {
        self.running.as_ref().is_some_and(|r| *r.data == *data)
    }

    /// Every member's next generation; `None` when `interrupted` says so before all are
    /// there.
    fn next(
        &mut self,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Option<Vec<(Climber, Summary)>>, ClimbError> {
        let running = self.running.as_ref().expect("started");
        let mut next = Vec::with_capacity(running.members.len());
        for w in &running.members {
            loop {
                match w.done.recv_timeout(POLL) {
                    Ok(r) => {
                        next.push(r?);
                        break;
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) if interrupted() => return Ok(None),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        // The thread ended without its result: it panicked. Pass it on.
                        self.stop();
                        unreachable!("a member's thread ended without a result or a panic");
                    }
                }
            }
        }
        for w in &running.members {
            // A thread that has ended with an error cannot take it; the error came first.
            let _ = w.go.send(());
        }
        Ok(Some(next))
    }

    /// Stops the threads (what they ran ahead is dropped) and waits for them.
    fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop.store(true, Ordering::Relaxed);
            for w in running.members {
                drop(w.go);
                if let Err(panic) = w.thread.join() {
                    std::panic::resume_unwind(panic);
                }
            }
        }
    }
}

impl Worker {
    /// A thread climbing `climber` on `data` with a pool of `threads` for its trial blocks,
    /// allowed its next generation and [`AHEAD`] more.
    fn start(
        mut climber: Climber,
        data: &Arc<Split>,
        stop: &Arc<AtomicBool>,
        threads: usize,
    ) -> Self {
        let (go, go_rx) = mpsc::channel::<()>();
        let (done_tx, done) = mpsc::channel();
        let (data, stop) = (Arc::clone(data), Arc::clone(stop));
        let thread = std::thread::spawn(move || {
            let stopped = || stop.load(Ordering::Relaxed);
            // Without a pool of its own the member shares the global one.
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
            while go_rx.recv().is_ok() && !stopped() {
                let mut step = || climber.member_step(&data, &stopped);
                let result = match &pool {
                    Ok(pool) => pool.install(step),
                    Err(_) => step(),
                };
                let sent = match result {
                    Ok(Some(s)) => done_tx.send(Ok((climber.clone(), s))),
                    Ok(None) => return,
                    Err(e) => {
                        let _ = done_tx.send(Err(e));
                        return;
                    }
                };
                if sent.is_err() {
                    return;
                }
            }
        });
        for _ in 0..=AHEAD {
            go.send(()).expect("the thread waits for it");
        }
        Self { go, done, thread }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A copy of an ensemble does not share its jobs; it starts its own when trained.
impl Clone for Workers {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("running", &self.running.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::datasets::{Dataset, Task};

    #[test]
    fn generation_0_stopped_after_some_members_started_leaves_none_started() {
        let data = Dataset::embedded().for_task(&Task::digits()).unwrap();
        let train = data.train.sample_shuffled(0.05, 10, 1);
        let params = ClimbParams::default()
            .batch_size(Some(200))
            .rescore_every(1)
            .seed(2);
        let out = BitOutput::Float(Activation::Identity);
        let ensemble = ClimbEnsemble::random(784, 16, 10, out, &params, 6, 3).unwrap();
        let mut cut = ensemble.clone();
        // The check says stop from its third call on: two members run their generation 0
        // (records, time, a re-scored best), the other four do not start.
        let calls = AtomicUsize::new(0);
        let stopped = cut
            .start_members(&train, &|| calls.fetch_add(1, Ordering::SeqCst) >= 2)
            .unwrap();
        assert!(stopped.is_none());
        for (c, e) in cut.members.iter().zip(&ensemble.members) {
            assert!(!c.started());
            assert_eq!(c.before_start(), e.before_start());
            assert_eq!(c.chain(), e.chain());
        }
        // Started again, it is the ensemble that was never stopped.
        let mut whole = ensemble.clone();
        let a = cut.start_members(&train, &|| false).unwrap();
        let b = whole.start_members(&train, &|| false).unwrap();
        assert_eq!(a, b);
        for (c, w) in cut.members.iter().zip(&whole.members) {
            assert_eq!(c.history().trace(), w.history().trace());
            assert_eq!(c.before_start().1, w.before_start().1);
        }
    }
}
