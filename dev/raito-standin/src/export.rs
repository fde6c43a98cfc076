//! The access export (`exportAccessProvidersRequest`): the document built from the managed
//! access providers of a data source (all, or only those out of sync), with `who.inheritFrom`
//! resolved to actual names (or `ID:<raito id>`), and its download: `GET export/<token>`, no
//! authentication, like a presigned S3 URL (an unguessable token, an expiry), served as YAML or
//! JSON and streamed, a few access providers per chunk, rendered as they are sent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use crate::access::{AccessProviderSpec, ExportedVersion, INHERIT_FROM_ID_PREFIX};
use crate::server::{Api, Shared};
use crate::state::State;
use crate::upload::s3_error;

/// How many access providers one chunk of the download carries.
const CHUNK: usize = 200;

/// The format export files are written in (Raito's default is YAML; readers must take both).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Block-style YAML (`accessProviders:` then `- id: ...`).
    #[default]
    Yaml,
    /// One JSON object, one access provider per line.
    Json,
}

impl ExportFormat {
    fn content_type(self) -> &'static str {
        match self {
            Self::Yaml => "application/x-yaml",
            Self::Json => "application/json",
        }
    }

    /// The file name extension of the file key.
    pub(crate) fn extension(self) -> &'static str {
        match self {
            Self::Yaml => "yaml",
            Self::Json => "json",
        }
    }
}

/// A built export: what the file says, in order.
pub(crate) struct ExportBody {
    /// When the access was calculated: unix epoch milliseconds (the export's time here).
    pub(crate) last_calculated: i64,
    /// When the file was built: unix epoch milliseconds (the CLI reports it back as the
    /// `receivedDate` of the `AccessSync` subtask event).
    pub(crate) file_build_time: i64,
    pub(crate) access_providers: Vec<AccessProviderSpec>,
}

/// A file that can be downloaded until it expires.
pub(crate) struct ExportFile {
    pub(crate) expires: Instant,
    pub(crate) format: ExportFormat,
    pub(crate) body: Arc<ExportBody>,
}

/// A managed access provider as the export needs it.
struct Managed {
    spec: AccessProviderSpec,
    version: u64,
    in_sync: bool,
    actual_name: Option<String>,
    external_id: Option<String>,
}

/// What the export of one data source needs, copied under the lock.
pub(crate) struct ExportInput {
    data_source: String,
    out_of_sync_only: bool,
    /// Every managed access provider, in seed order.
    managed: Vec<Managed>,
    /// Imported access providers: externalId → actual name (or the externalId itself).
    imported: HashMap<String, String>,
}

pub(crate) fn gather(state: &State, data_source: &str, out_of_sync_only: bool) -> ExportInput {
    ExportInput {
        data_source: data_source.to_owned(),
        out_of_sync_only,
        managed: state
            .record
            .access_providers(data_source)
            .iter()
            .map(|ap| Managed {
                spec: ap.access_provider.clone(),
                version: ap.version,
                in_sync: ap.in_sync(),
                actual_name: ap.actual_name.clone(),
                external_id: ap.external_id.clone(),
            })
            .collect(),
        imported: state
            .record
            .imported_access_providers(data_source)
            .iter()
            .map(|ap| {
                let name = if ap.actual_name.is_empty() {
                    ap.external_id.clone()
                } else {
                    ap.actual_name.clone()
                };
                (ap.external_id.clone(), name)
            })
            .collect(),
    }
}

/// Builds the document: the access providers to send (in seed order) with their inheritance
/// resolved and what is known of them in the target, and the versions they carry. An
/// `inheritFrom` entry that names no access provider of the data source fails the export.
pub(crate) fn build(
    input: ExportInput,
) -> Result<(Vec<AccessProviderSpec>, Vec<ExportedVersion>), Vec<String>> {
    let names: HashMap<&str, Option<&str>> = input
        .managed
        .iter()
        .map(|ap| {
            (
                ap.spec.id.as_str(),
                ap.actual_name.as_deref().filter(|n| !n.is_empty()),
            )
        })
        .collect();
    let mut problems = crate::files::Problems::default();
    let mut documents = Vec::new();
    let mut versions = Vec::new();
    for ap in &input.managed {
        let spec = &ap.spec;
        if input.out_of_sync_only && ap.in_sync {
            continue;
        }
        let mut document = spec.clone();
        document.actual_name = ap.actual_name.clone();
        document.external_id = ap.external_id.clone();
        document.who.inherit_from.clear();
        for parent in &spec.who.inherit_from {
            let resolved = match names.get(parent.as_str()) {
                Some(Some(name)) => (*name).to_owned(),
                Some(None) => format!("{INHERIT_FROM_ID_PREFIX}{parent}"),
                None => match input.imported.get(parent) {
                    Some(name) => name.clone(),
                    None => {
                        problems.add(format!(
                            "access provider \"{}\" inherits from \"{parent}\", which is neither an access provider nor an imported access provider of data source \"{}\"",
                            spec.id, input.data_source
                        ));
                        continue;
                    }
                },
            };
            document.who.inherit_from.push(resolved);
        }
        versions.push(ExportedVersion {
            id: spec.id.clone(),
            version: ap.version,
            delete: spec.delete,
        });
        documents.push(document);
    }
    let problems = problems.finish();
    if problems.is_empty() {
        Ok((documents, versions))
    } else {
        Err(problems)
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn epoch_millis() -> i64 {
    let millis = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    i64::try_from(millis).unwrap_or(i64::MAX)
}

/// `GET export/<token>`: the file, streamed; 403 (S3's `AccessDenied`) for an unknown or
/// expired token.
pub(crate) async fn download(
    AxumState(shared): AxumState<Arc<Shared>>,
    Path(token): Path<String>,
) -> Response {
    if let Some(response) = shared.admit(
        Api::Rest,
        &["exportDownload".to_owned()],
        &format!("export/{token}"),
    ) {
        return response;
    }
    let file = {
        let state = shared.lock();
        state
            .export_files
            .get(&token)
            .map(|f| (f.expires, f.format, Arc::clone(&f.body)))
    };
    let Some((expires, format, body)) = file else {
        return s3_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "no export file is signed for this URL",
        );
    };
    if Instant::now() >= expires {
        return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
    }
    let chunks = body.access_providers.len().div_ceil(CHUNK);
    let stream = futures::stream::iter(0..chunks + 2)
        .map(move |part| render(&body, format, part, chunks).map_err(std::io::Error::other));
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, format.content_type())],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Part 0 is the head, parts 1..=chunks the access providers, part chunks + 1 the tail.
pub(crate) fn render(
    body: &ExportBody,
    format: ExportFormat,
    part: usize,
    chunks: usize,
) -> Result<Bytes, String> {
    let aps = &body.access_providers;
    let mut out = String::new();
    match (format, part) {
        (ExportFormat::Yaml, 0) => {
            out.push_str(&format!(
                "lastCalculated: {}\nfileBuildTime: {}\n",
                body.last_calculated, body.file_build_time
            ));
            out.push_str(if aps.is_empty() {
                "accessProviders: []\n"
            } else {
                "accessProviders:\n"
            });
        }
        (ExportFormat::Json, 0) => {
            out.push_str(&format!(
                "{{\"lastCalculated\":{},\"fileBuildTime\":{},\"accessProviders\":[",
                body.last_calculated, body.file_build_time
            ));
        }
        (ExportFormat::Yaml, p) if p > chunks => {}
        (ExportFormat::Json, p) if p > chunks => out.push_str("\n]}\n"),
        (format, p) => {
            let start = (p - 1) * CHUNK;
            for (i, ap) in aps.iter().enumerate().skip(start).take(CHUNK) {
                match format {
                    ExportFormat::Json => {
                        out.push_str(if i == 0 { "\n" } else { ",\n" });
                        out.push_str(&serde_json::to_string(ap).map_err(|e| e.to_string())?);
                    }
                    ExportFormat::Yaml => {
                        let yaml = serde_norway::to_string(ap).map_err(|e| e.to_string())?;
                        for (n, line) in yaml.lines().enumerate() {
                            let prefix = if n == 0 { "- " } else { "  " };
                            if line.is_empty() {
                                out.push('\n');
                            } else {
                                out.push_str(prefix);
                                out.push_str(line);
                                out.push('\n');
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{ExportWho, WhatItem};
    use crate::state::DataObjectReference;

    fn spec(id: &str) -> AccessProviderSpec {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": id, "namingHint": id, "action": "grant",
            "who": {"users": ["alice"], "groups": [], "inheritFrom": []},
            "what": [{"dataObject": {"fullName": "db.s.t", "type": "table"}, "permissions": ["SELECT"]}],
            "description": "two\nlines: with a colon",
        }))
        .unwrap()
    }

    fn whole(body: &ExportBody, format: ExportFormat) -> String {
        let chunks = body.access_providers.len().div_ceil(CHUNK);
        (0..chunks + 2)
            .map(|p| String::from_utf8(render(body, format, p, chunks).unwrap().to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn yaml_and_json_say_the_same_in_every_chunk() {
        let mut aps: Vec<_> = (0..450).map(|i| spec(&format!("ap-{i}"))).collect();
        aps[3].who = ExportWho {
            inherit_from: vec!["ID:ap-1".into(), "role_x".into()],
            ..ExportWho::default()
        };
        aps[4].what.push(WhatItem {
            data_object: DataObjectReference {
                full_name: "db.s.\"odd: name\"".into(),
                r#type: "table".into(),
            },
            permissions: vec![],
        });
        let body = ExportBody {
            last_calculated: 1,
            file_build_time: 2,
            access_providers: aps,
        };
        let json: serde_json::Value =
            serde_json::from_str(&whole(&body, ExportFormat::Json)).unwrap();
        let yaml: serde_json::Value =
            serde_norway::from_str(&whole(&body, ExportFormat::Yaml)).unwrap();
        assert_eq!(json, yaml);
        assert_eq!(json["accessProviders"].as_array().unwrap().len(), 450);
        assert_eq!(
            json["accessProviders"][3]["who"]["inheritFrom"][0],
            "ID:ap-1"
        );
        assert_eq!(json["fileBuildTime"], 2);
    }

    #[test]
    fn an_empty_export_is_a_valid_document_in_both_formats() {
        let body = ExportBody {
            last_calculated: 1,
            file_build_time: 2,
            access_providers: vec![],
        };
        let json: serde_json::Value =
            serde_json::from_str(&whole(&body, ExportFormat::Json)).unwrap();
        let yaml: serde_json::Value =
            serde_norway::from_str(&whole(&body, ExportFormat::Yaml)).unwrap();
        assert_eq!(json, yaml);
        assert_eq!(json["accessProviders"], serde_json::json!([]));
    }
}
