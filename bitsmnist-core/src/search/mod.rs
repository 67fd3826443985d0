//! Gradient-free search for bit networks: a [`Population`] bred by selection, crossover and
//! mutation (after TinyML.jl's `Genetic` module, its bugs fixed), single-bit-flip hill
//! climbing ([`Climber`]), and several climbs side by side kept as one model
//! ([`ClimbEnsemble`]). The measured starting configurations are
//! [`crate::training::Recipe`].
//!
//! Every method here trains through the loop all methods share ([`crate::run`]): the same
//! stop rules, callback, pause and history. The climb scores each flip incrementally
//! ([`incremental::DeltaEval`]) instead of running the network again; the population reuses
//! the first-layer outputs a child shares with its parent.
//!
//! Runs are bit-for-bit reproducible from their seed whatever the number of threads, and every
//! state is serializable, so a saved and resumed run ends where the uninterrupted one does.

pub mod climb;
pub mod ensemble;
pub mod imprint;
pub mod incremental;
mod operators;
mod params;
mod population;
pub(crate) mod rows;

pub use climb::{ClimbError, ClimbParams, ClimbParamsError, ClimbProgress, Climber, climbed_part};
pub use ensemble::{ClimbEnsemble, EnsembleError, EnsembleProgress, ensemble_model, merge};
pub use incremental::{DeltaError, DeltaEval, Flip, Objective, check_chain};
pub use operators::Genome;
pub use params::{
    Adaptation, Crossover, Mutation, ParamsError, ParseOperatorError, PopulationParams, Selection,
};
pub use population::{OutputReuse, Population, PopulationError, PopulationProgress};

/// A chain's input width, hidden widths (every layer's outputs but the last) and classes.
pub(crate) fn widths(chain: &crate::layers::Chain) -> (usize, Vec<usize>, usize) {
    let layers = chain.layers();
    let hidden = layers[..layers.len().saturating_sub(1)]
        .iter()
        .map(|l| l.outputs())
        .collect();
    (chain.inputs(), hidden, chain.outputs())
}
