//! Fault injection: what a test (or `POST _standin/faults`) can make the stand-in do wrong, and
//! the matching of a request against the faults still armed. Applied before authentication, as
//! an outage in front of the real service would be.

use serde::{Deserialize, Serialize};

/// Something the stand-in should get wrong on purpose. JSON form (for `POST _standin/faults`):
/// `{"status":{"target":{"operation":"createJob"},"status":500,"times":2}}`,
/// `{"tooManyRequests":{"target":{"path":"file/upload/"},"retryAfterSecs":1,"times":1}}`,
/// `{"stuckSubtasks":{"dataSource":"ds1"}}`, `{"heldSubtasks":{"dataSource":"ds1"}}`,
/// `"rejectLogins"`, `"refuseTriggerToken"`, `"denyTriggerChannel"`, `"noTriggerChannel"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum Fault {
    /// Answer the next `times` requests to `target` with HTTP `status` (e.g. 500, 502, 503).
    Status {
        target: Target,
        status: u16,
        times: u32,
    },
    /// Answer the next `times` requests to `target` with 429 and `Retry-After: <retry_after_secs>`.
    TooManyRequests {
        target: Target,
        retry_after_secs: u64,
        times: u32,
    },
    /// Import subtasks of this data source (or identity store) never finish: they go from QUEUED to
    /// DATA_PROCESSING and stay there (checked when the subtask is processed).
    StuckSubtasks { data_source: String },
    /// Import subtasks of this data source (or identity store) wait in DATA_PROCESSING while
    /// this fault is armed, and go on once it is cleared (`StandIn::clear_faults`): a run
    /// held in the middle for as long as a test needs.
    HeldSubtasks { data_source: String },
    /// Every `InitiateAuth` (password or refresh) fails with NotAuthorizedException.
    RejectLogins,
    /// The trigger channel's websocket handshake is answered 401, whatever the token.
    RefuseTriggerToken,
    /// `cliTriggerUrl` answers `PermissionDeniedError`.
    DenyTriggerChannel,
    /// `cliTriggerUrl` answers an empty `url` (no channel).
    NoTriggerChannel,
}

impl Fault {
    /// `Status` for one GraphQL operation or REST endpoint name, e.g. `("createJob", 500, 1)`.
    pub fn status(operation: &str, status: u16, times: u32) -> Self {
        Self::Status {
            target: Target::Operation(operation.to_owned()),
            status,
            times,
        }
    }

    /// `TooManyRequests` for one GraphQL operation or REST endpoint name.
    pub fn too_many_requests(operation: &str, retry_after_secs: u64, times: u32) -> Self {
        Self::TooManyRequests {
            target: Target::Operation(operation.to_owned()),
            retry_after_secs,
            times,
        }
    }
}

/// Which requests a counted fault applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Target {
    /// A GraphQL root field (`createJob`, `jobSubtask`, `importDataSourceRequest`…) or a REST
    /// endpoint's name: `orgLookup`, `InitiateAuth`, `signedUrl`, `upload`, `exportDownload`.
    Operation(String),
    /// A path relative to the base URL, matched as a prefix: `query`, `file/upload/signed-url`,
    /// `upload/` (every file PUT), `export/` (every access export download), `cognito/`,
    /// `admin/org/`.
    Path(String),
}

impl Target {
    fn matches(&self, operations: &[String], path: &str) -> bool {
        match self {
            Self::Operation(name) => operations.iter().any(|op| op == name),
            Self::Path(prefix) => path
                .trim_start_matches('/')
                .starts_with(prefix.trim_start_matches('/')),
        }
    }
}

/// What an armed fault makes the stand-in answer instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    Status(u16),
    TooManyRequests { retry_after_secs: u64 },
}

/// Uses up one count of the first armed fault matching the request, if any.
pub(crate) fn take(faults: &mut Vec<Fault>, operations: &[String], path: &str) -> Option<Injected> {
    let index = faults.iter().position(|fault| match fault {
        Fault::Status { target, times, .. } | Fault::TooManyRequests { target, times, .. } => {
            *times > 0 && target.matches(operations, path)
        }
        Fault::StuckSubtasks { .. }
        | Fault::HeldSubtasks { .. }
        | Fault::RejectLogins
        | Fault::RefuseTriggerToken
        | Fault::DenyTriggerChannel
        | Fault::NoTriggerChannel => false,
    })?;
    let (injected, remaining) = match &mut faults[index] {
        Fault::Status { status, times, .. } => {
            *times -= 1;
            (Injected::Status(*status), *times)
        }
        Fault::TooManyRequests {
            retry_after_secs,
            times,
            ..
        } => {
            *times -= 1;
            (
                Injected::TooManyRequests {
                    retry_after_secs: *retry_after_secs,
                },
                *times,
            )
        }
        Fault::StuckSubtasks { .. }
        | Fault::HeldSubtasks { .. }
        | Fault::RejectLogins
        | Fault::RefuseTriggerToken
        | Fault::DenyTriggerChannel
        | Fault::NoTriggerChannel => {
            return None;
        }
    };
    if remaining == 0 {
        faults.remove(index);
    }
    Some(injected)
}

pub(crate) fn rejects_logins(faults: &[Fault]) -> bool {
    faults.contains(&Fault::RejectLogins)
}

pub(crate) fn is_stuck(faults: &[Fault], data_source: &str) -> bool {
    faults
        .iter()
        .any(|f| matches!(f, Fault::StuckSubtasks { data_source: ds } if ds == data_source))
}

pub(crate) fn is_held(faults: &[Fault], data_source: &str) -> bool {
    faults
        .iter()
        .any(|f| matches!(f, Fault::HeldSubtasks { data_source: ds } if ds == data_source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counted_fault_answers_exactly_its_count_then_disarms() {
        let mut faults = vec![Fault::status("createJob", 500, 2)];
        let ops = ["createJob".to_owned()];
        assert_eq!(
            take(&mut faults, &ops, "query"),
            Some(Injected::Status(500))
        );
        assert_eq!(
            take(&mut faults, &ops, "query"),
            Some(Injected::Status(500))
        );
        assert_eq!(take(&mut faults, &ops, "query"), None);
        assert!(faults.is_empty());
    }

    #[test]
    fn a_path_target_matches_by_prefix() {
        let mut faults = vec![Fault::TooManyRequests {
            target: Target::Path("upload/".into()),
            retry_after_secs: 3,
            times: 1,
        }];
        assert_eq!(take(&mut faults, &[], "/query"), None);
        assert_eq!(
            take(&mut faults, &[], "/upload/abc"),
            Some(Injected::TooManyRequests {
                retry_after_secs: 3
            })
        );
    }

    #[test]
    fn faults_have_a_readable_json_form() {
        let fault: Fault = serde_json::from_str(
            r#"{"tooManyRequests":{"target":{"operation":"jobSubtask"},"retryAfterSecs":2,"times":1}}"#,
        )
        .unwrap();
        assert_eq!(fault, Fault::too_many_requests("jobSubtask", 2, 1));
        let fault: Fault = serde_json::from_str(r#""rejectLogins""#).unwrap();
        assert_eq!(fault, Fault::RejectLogins);
    }
}
