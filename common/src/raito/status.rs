//! The status of a job, a task or a subtask, as on the wire: the lowest type of the client
//! (its errors name the status they last saw).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The status of a job, a task or a subtask (one enum for all three, as on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// `STARTED` (running). Also what an unknown status reads as, as in the Raito CLI.
    Started,
    /// `IN_PROGRESS` (running).
    InProgress,
    /// `DATA_RETRIEVE` (running).
    DataRetrieve,
    /// `DATA_UPLOAD` (running).
    DataUpload,
    /// `QUEUED` (running).
    Queued,
    /// `DATA_PROCESSING` (running).
    DataProcessing,
    /// `COMPLETED` (final).
    Completed,
    /// `FAILED` (final).
    Failed,
    /// `SKIPPED` (final).
    Skipped,
    /// `TIMED_OUT` (final).
    TimedOut,
}

impl JobStatus {
    /// The name on the wire, e.g. `IN_PROGRESS`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Started => "STARTED",
            JobStatus::InProgress => "IN_PROGRESS",
            JobStatus::DataRetrieve => "DATA_RETRIEVE",
            JobStatus::DataUpload => "DATA_UPLOAD",
            JobStatus::Queued => "QUEUED",
            JobStatus::DataProcessing => "DATA_PROCESSING",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
            JobStatus::Skipped => "SKIPPED",
            JobStatus::TimedOut => "TIMED_OUT",
        }
    }

    /// Reads a wire name; an unknown one reads as [`JobStatus::Started`] (still running).
    pub fn from_wire(name: &str) -> Self {
        match name {
            "IN_PROGRESS" => JobStatus::InProgress,
            "DATA_RETRIEVE" => JobStatus::DataRetrieve,
            "DATA_UPLOAD" => JobStatus::DataUpload,
            "QUEUED" => JobStatus::Queued,
            "DATA_PROCESSING" => JobStatus::DataProcessing,
            "COMPLETED" => JobStatus::Completed,
            "FAILED" => JobStatus::Failed,
            "SKIPPED" => JobStatus::Skipped,
            "TIMED_OUT" => JobStatus::TimedOut,
            _ => JobStatus::Started,
        }
    }

    /// Whether the job, task or subtask is still going (the first six statuses).
    pub fn is_running(self) -> bool {
        !matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Skipped | JobStatus::TimedOut
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for JobStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for JobStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = Cow::<str>::deserialize(deserializer)?;
        Ok(JobStatus::from_wire(&name))
    }
}
