//! The sync pipelines, independent of how they are triggered: a Lambda function and the
//! `raito-sync` command run the same code. A pipeline asks a connector for its results,
//! streams them into a file or S3 object, and reports what it wrote.

pub mod access;
mod failure;
pub mod identities;
pub mod metadata;
pub mod post;
pub mod run;
mod staged;
pub mod staging;
mod step;
pub mod usage;

pub use failure::{ErrorKind, StepError};

use std::collections::BTreeMap;
use std::time::Duration;

use crate::connector::{self};
use crate::output::{self, Written};
use crate::step::Step;

/// Why a step could not run or failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The target lacks a setting the step needs.
    #[error("target \"{target}\": {message}")]
    Target {
        /// The target's name.
        target: String,
        /// What is missing.
        message: String,
    },

    /// The connector failed.
    #[error("target \"{target}\": {step}: {source}")]
    Connector {
        /// The target's name.
        target: String,
        /// The step that failed.
        step: Step,
        /// The connector's error.
        #[source]
        source: connector::Error,
    },

    /// An access document could not be read, or is not well-formed (nothing was applied).
    #[error("target \"{target}\": {source}")]
    AccessFile {
        /// The target's name.
        target: String,
        /// The reader's error.
        #[source]
        source: crate::access_file::Error,
    },

    /// The output could not be written.
    #[error("target \"{target}\": {step}: {source}")]
    Output {
        /// The target's name.
        target: String,
        /// The step that failed.
        step: Step,
        /// The output's error.
        #[source]
        source: output::Error,
    },
}

impl Error {
    /// A connector's failure in `step` of `target`. A failure to write the output keeps its
    /// meaning: it is the output's error, not the connector's.
    fn connector(target: &str, step: Step, error: connector::Error) -> Self {
        match error {
            connector::Error::Output(source) => Error::Output {
                target: target.to_owned(),
                step,
                source,
            },
            source => Error::Connector {
                target: target.to_owned(),
                step,
                source,
            },
        }
    }
}

/// What a step did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The step did not run: the connector does not support it, or the target skips it.
    Skipped {
        /// Why, in words.
        reason: String,
    },
    /// The step ran and wrote its output.
    Completed(Report),
}

/// The figures of a completed step.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The files or objects written.
    pub written: Vec<Written>,
    /// Elements written, by kind (e.g. data object type).
    pub counts: BTreeMap<String, u64>,
    /// Wall time of the step.
    pub elapsed: Duration,
}
