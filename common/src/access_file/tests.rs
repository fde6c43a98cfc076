//! The reader against small documents in both formats (order of keys, hostile text, nulls,
//! errors, the cap) and against generated documents of hundreds of MB that never exist whole.

use std::io::Cursor;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};

use tokio::io::{AsyncRead, ReadBuf};

use super::*;
use crate::model::access::Action;

/// Reads `text` as `format` (`None`: sniffed) and collects everything.
async fn read_all(
    text: &str,
    format: Option<Format>,
    options: Options,
) -> (Vec<Result<ExportedAccessProvider, Error>>, Header, bool) {
    let mut reader = Reader::from_reader(
        Cursor::new(text.as_bytes().to_vec()),
        format,
        "test-input",
        options,
    );
    let mut items = Vec::new();
    loop {
        match reader.next().await {
            Ok(Some(access_provider)) => items.push(Ok(access_provider)),
            Ok(None) => break,
            Err(error) => {
                let ends = error.ends_reading();
                items.push(Err(error));
                if ends {
                    break;
                }
            }
        }
    }
    let complete = reader.is_complete();
    (items, reader.header().clone(), complete)
}

fn ok(items: Vec<Result<ExportedAccessProvider, Error>>) -> Vec<ExportedAccessProvider> {
    items
        .into_iter()
        .map(|item| item.unwrap_or_else(|error| panic!("unexpected error: {error}")))
        .collect()
}

fn ids(access_providers: &[ExportedAccessProvider]) -> Vec<&str> {
    access_providers.iter().map(|ap| ap.id.as_str()).collect()
}

const JSON_HEADER_FIRST: &str = r#"{
  "lastCalculated": 1700000000,
  "fileBuildTime": 1700000000123,
  "accessProviders": [
    {"id": "ap-1", "name": "Analysts", "namingHint": "analysts", "action": "grant",
     "who": {"users": ["alice"], "groups": ["finance"], "inheritFrom": ["ID:ap-2"]},
     "what": [{"dataObject": {"fullName": "DB.SCHEMA.T1", "type": "table"},
               "permissions": ["SELECT"]}]},
    {"id": "ap-2", "name": "Masked", "action": "mask", "delete": true},
    {"id": "ap-3", "name": "Rows", "action": "filtered", "policyRule": "region = 'EU'"}
  ]
}"#;

const JSON_HEADER_LAST: &str = r#"{"accessProviders": [
  {"id": "ap-1", "action": "grant"},
  {"id": "ap-2", "action": "deny"},
  {"id": "ap-3", "action": "share"}
], "lastCalculated": 42, "fileBuildTime": 43, "exportVersion": "2"}"#;

const YAML_HEADER_FIRST: &str = "\
# Exported by Raito
lastCalculated: 1700000000
fileBuildTime: 1700000000123
accessProviders:
  - id: ap-1
    name: Analysts
    namingHint: analysts
    action: grant
    who:
      users: [alice]
      groups:
        - finance
      inheritFrom: ['ID:ap-2']
    what:
      - dataObject: {fullName: DB.SCHEMA.T1, type: table}
        permissions: [SELECT]
  - id: ap-2
    name: Masked
    action: mask
    delete: true
  - {id: ap-3, name: Rows, action: filtered, policyRule: \"region = 'EU'\"}
";

const YAML_HEADER_LAST: &str = "\
---
accessProviders:
- id: ap-1
  action: grant
- id: ap-2
  action: Deny   # read case-insensitively
- id: ap-3
  action: share
lastCalculated: 42
fileBuildTime: 43
exportVersion: '2'
...
";

#[tokio::test]
async fn json_header_before_the_list_is_known_with_the_first_provider() {
    let mut reader = Reader::from_reader(
        Cursor::new(JSON_HEADER_FIRST),
        Some(Format::Json),
        "export.json",
        Options::default(),
    );
    let first = reader.next().await.unwrap().unwrap();
    assert_eq!(reader.header().last_calculated, 1700000000);
    assert_eq!(reader.header().file_build_time, Some(1700000000123));
    assert!(!reader.is_complete());
    assert_eq!(first.id, "ap-1");
    assert_eq!(first.who.users, ["alice"]);
    assert_eq!(first.who.inherit_from, ["ID:ap-2"]);
    assert_eq!(first.what[0].data_object.full_name, "DB.SCHEMA.T1");
    assert_eq!(first.what[0].permissions, ["SELECT"]);
    let second = reader.next().await.unwrap().unwrap();
    assert!(second.delete);
    assert_eq!(second.action, Action::Mask);
    let third = reader.next().await.unwrap().unwrap();
    assert_eq!(third.policy_rule.as_deref(), Some("region = 'EU'"));
    assert!(reader.next().await.unwrap().is_none());
    assert!(reader.is_complete());
    assert!(
        reader.next().await.unwrap().is_none(),
        "None again after the end"
    );
}

#[tokio::test]
async fn json_header_after_the_list_is_complete_at_the_end() {
    let (items, header, complete) = read_all(JSON_HEADER_LAST, None, Options::default()).await;
    let access_providers = ok(items);
    assert_eq!(ids(&access_providers), ["ap-1", "ap-2", "ap-3"]);
    assert!(complete);
    assert_eq!(header.last_calculated, 42);
    assert_eq!(header.file_build_time, Some(43));
    assert_eq!(header.unknown_fields["exportVersion"], "2");
}

#[tokio::test]
async fn yaml_header_before_the_list_gives_the_same_providers_as_json() {
    let (json, json_header, _) = read_all(JSON_HEADER_FIRST, None, Options::default()).await;
    let (yaml, yaml_header, complete) =
        read_all(YAML_HEADER_FIRST, Some(Format::Yaml), Options::default()).await;
    assert!(complete);
    assert_eq!(ok(yaml), ok(json));
    assert_eq!(yaml_header, json_header);
}

#[tokio::test]
async fn yaml_header_after_the_list_is_complete_at_the_end() {
    let (items, header, complete) = read_all(YAML_HEADER_LAST, None, Options::default()).await;
    let access_providers = ok(items);
    assert_eq!(ids(&access_providers), ["ap-1", "ap-2", "ap-3"]);
    assert_eq!(access_providers[1].action, Action::Deny);
    assert!(complete);
    assert_eq!(header.last_calculated, 42);
    assert_eq!(header.file_build_time, Some(43));
    assert_eq!(header.unknown_fields["exportVersion"], "2");
}

/// Names that break naive quoting in SQL, shells or YAML.
fn hostile_names() -> Vec<String> {
    vec![
        r#"O'Brien "the" analyst"#.to_owned(),
        "drop; DROP ROLE admin; --".to_owned(),
        "-- comment".to_owned(),
        "Zürich 数据 Ωmega 🚀".to_owned(),
        "x".repeat(150) + &"é".repeat(50),
        "line one\nline two\n".to_owned(),
        "tab\there \\ backslash #not-a-comment".to_owned(),
    ]
}

#[tokio::test]
async fn hostile_names_come_through_json_unchanged() {
    let names = hostile_names();
    assert_eq!(names[4].chars().count(), 200);
    let elements: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            serde_json::json!({"id": format!("ap-{i}"), "name": name, "action": "grant",
                "who": {"users": [name]}})
            .to_string()
        })
        .collect();
    let text = format!(
        "{{\"lastCalculated\":1,\"accessProviders\":[{}]}}",
        elements.join(",")
    );
    let read = ok(read_all(&text, None, Options::default()).await.0);
    let read_names: Vec<&str> = read.iter().map(|ap| ap.name.as_str()).collect();
    assert_eq!(read_names, names);
    assert_eq!(read[3].who.users, [names[3].clone()]);
}

#[tokio::test]
async fn hostile_names_come_through_yaml_in_every_quoting_style() {
    let names = hostile_names();
    let yaml = format!(
        "\
accessProviders:
  - id: ap-0
    action: grant
    name: 'O''Brien \"the\" analyst'
  - id: ap-1
    action: grant
    name: \"drop; DROP ROLE admin; --\"
  - id: ap-2
    action: grant
    name: \"-- comment\"   # a real comment
  - id: ap-3
    action: grant
    name: Zürich 数据 Ωmega 🚀
  - id: ap-4
    action: grant
    name: {long}
  - id: ap-5
    action: grant
    name: |
      line one
      line two
  - id: ap-6
    action: grant
    name: \"tab\\there \\\\ backslash #not-a-comment\"
  - id: ap-7
    action: grant
    description: >
      folded
      into one line
    name: plain; with -- inside
",
        long = names[4]
    );
    let read = ok(read_all(&yaml, Some(Format::Yaml), Options::default())
        .await
        .0);
    let read_names: Vec<&str> = read.iter().take(7).map(|ap| ap.name.as_str()).collect();
    assert_eq!(read_names, names);
    assert_eq!(read[7].description, "folded into one line\n");
    assert_eq!(read[7].name, "plain; with -- inside");
}

#[tokio::test]
async fn null_lists_read_as_empty() {
    let json = r#"{"lastCalculated": null, "fileBuildTime": null, "accessProviders": [
        {"id": "ap-1", "action": "grant", "who": {"users": null, "groups": null},
         "what": null, "deleteWhat": null, "owners": null, "deletedWho": null}]}"#;
    let (items, header, _) = read_all(json, None, Options::default()).await;
    let read = ok(items);
    assert_eq!(header, Header::default());
    assert!(read[0].who.users.is_empty() && read[0].what.is_empty());
    assert!(read[0].delete_what.is_empty() && read[0].owners.is_empty());

    let yaml = "\
lastCalculated: ~
accessProviders:
  - id: ap-1
    action: grant
    who:
      users:
      groups: null
    what: ~
    deleteWhat: []
";
    let read_yaml = ok(read_all(yaml, None, Options::default()).await.0);
    assert_eq!(read_yaml, read);

    for empty in [
        r#"{"accessProviders": null, "lastCalculated": 5}"#,
        "accessProviders:\nlastCalculated: 5\n",
        "accessProviders: []\nlastCalculated: 5\n",
    ] {
        let (items, header, complete) = read_all(empty, None, Options::default()).await;
        assert!(items.is_empty() && complete, "{empty}");
        assert_eq!(header.last_calculated, 5);
    }
}

#[tokio::test]
async fn a_malformed_json_provider_names_index_id_field_and_line_and_the_next_is_still_read() {
    let json = r#"{"accessProviders": [
{"id": "ap-1", "action": "grant"},
{"id": "ap-9", "action": "grant",
 "what": [{"dataObject": {"fullName": "T"}, "permissions": "SELECT"}]},
{"id": "ap-3", "action": "grant"}
]}"#;
    let (items, _, complete) = read_all(json, None, Options::default()).await;
    assert!(complete);
    assert_eq!(items.len(), 3);
    let error = items[1].as_ref().unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(
            "test-input: access provider 1 (id \"ap-9\"), line 4 column 67: \
             field what[0].permissions: invalid type: string \"SELECT\", expected a list of strings"
        ),
        "{message}"
    );
    assert!(!error.ends_reading());
    assert_eq!(items[2].as_ref().unwrap().id, "ap-3");
}

#[tokio::test]
async fn a_malformed_yaml_provider_names_index_id_field_and_where_it_starts() {
    let yaml = "\
accessProviders:
  - id: ap-1
    action: grant
  - id: ap-9
    action: grant
    what:
      - dataObject: {fullName: T}
        permissions: SELECT
  - id: ap-3
    action: superuser
  - name: no id
    action: grant
";
    let (items, _, complete) = read_all(yaml, None, Options::default()).await;
    assert!(complete);
    let messages: Vec<String> = items
        .iter()
        .filter_map(|item| item.as_ref().err().map(ToString::to_string))
        .collect();
    assert_eq!(
        messages,
        [
            "test-input: access provider 1 (id \"ap-9\"), line 4 column 5: field \
             what[0].permissions: invalid type: string \"SELECT\", expected a list of strings",
            "test-input: access provider 2 (id \"ap-3\"), line 9 column 5: field action: \
             unknown access provider action \"superuser\": expected one of grant, deny, mask, \
             filtered, share (or the deprecated promise, purpose)",
            "test-input: access provider 3, line 11 column 5: missing field `id`",
        ]
    );
    assert_eq!(items[0].as_ref().unwrap().id, "ap-1");
}

#[tokio::test]
async fn an_invalid_header_value_ends_reading() {
    let (items, _, complete) = read_all(
        "lastCalculated: yesterday\naccessProviders: []\n",
        None,
        Options::default(),
    )
    .await;
    assert!(!complete);
    let message = items[0].as_ref().unwrap_err().to_string();
    assert!(
        message.starts_with("test-input: document, line 1 column 1: field lastCalculated:"),
        "{message}"
    );
}

#[tokio::test]
async fn access_providers_that_is_not_a_list_is_said_so() {
    for (text, expected) in [
        (
            r#"{"accessProviders": 5}"#,
            "test-input: document, line 1 column 22: field accessProviders: expected a list \
             of access providers, found a number",
        ),
        (
            "accessProviders:\n  id: ap-1\n",
            "test-input: document, line 2 column 3: field accessProviders: expected a list \
             of access providers, found a mapping",
        ),
    ] {
        let (items, _, complete) = read_all(text, None, Options::default()).await;
        assert!(!complete);
        assert_eq!(items[0].as_ref().unwrap_err().to_string(), expected);
    }
}

#[tokio::test]
async fn unknown_fields_are_kept_not_errors() {
    let yaml = "\
accessProviders:
  - id: ap-1
    action: grant
    whoAbacRule: {attr: dept}
    what:
      - dataObject: {fullName: T, type: table, id: do-7}
        permissions: [SELECT]
        columns: [a, b]
";
    let read = ok(read_all(yaml, None, Options::default()).await.0);
    assert_eq!(
        read[0].unknown_field_paths(),
        ["whoAbacRule", "what[0].columns"]
    );
    assert_eq!(read[0].what[0].data_object.id.as_deref(), Some("do-7"));
}

/// A document with one access provider whose description is `size` bytes long.
fn document_with_description(size: usize, format: Format) -> String {
    let description = "d".repeat(size);
    match format {
        Format::Json => format!(
            r#"{{"accessProviders": [{{"id": "ap-0", "action": "grant"}},
            {{"id": "big", "action": "grant", "description": "{description}"}}]}}"#
        ),
        Format::Yaml => format!(
            "accessProviders:\n- id: ap-0\n  action: grant\n- id: big\n  action: grant\n  \
             description: {description}\n"
        ),
    }
}

#[tokio::test]
async fn a_provider_over_the_default_16_mib_cap_is_refused_in_both_formats() {
    for format in [Format::Json, Format::Yaml] {
        let text = document_with_description(17 * 1024 * 1024, format);
        let (items, _, complete) = read_all(&text, None, Options::default()).await;
        assert!(!complete);
        assert_eq!(items[0].as_ref().unwrap().id, "ap-0");
        let error = items[1].as_ref().unwrap_err();
        assert!(matches!(error, Error::TooLarge { limit, .. } if *limit == 16 << 20));
        let message = error.to_string();
        assert!(
            message.starts_with("test-input: access provider 1: larger than 16777216 bytes"),
            "{format}: {message}"
        );
    }
}

#[tokio::test]
async fn a_provider_under_the_cap_is_read() {
    let options = Options {
        max_access_provider_bytes: 64 * 1024,
        ..Options::default()
    };
    for format in [Format::Json, Format::Yaml] {
        let text = document_with_description(60 * 1024, format);
        let read = ok(read_all(&text, None, options).await.0);
        assert_eq!(read[1].description.len(), 60 * 1024, "{format}");
        let text = document_with_description(65 * 1024, format);
        let (items, _, _) = read_all(&text, None, options).await;
        assert!(matches!(items[1], Err(Error::TooLarge { .. })), "{format}");
    }
}

#[tokio::test]
async fn a_huge_top_level_value_is_refused_too() {
    let options = Options {
        max_access_provider_bytes: 1024,
        ..Options::default()
    };
    let text = format!(
        r#"{{"junk": "{}", "accessProviders": []}}"#,
        "j".repeat(4096)
    );
    let (items, _, _) = read_all(&text, None, options).await;
    let message = items[0].as_ref().unwrap_err().to_string();
    assert!(
        message.starts_with("test-input: document: larger than 1024 bytes"),
        "{message}"
    );
}

#[tokio::test]
async fn syntax_errors_give_line_and_column() {
    let json = "{\"accessProviders\": [\n  {\"id\": \"ap-1\", \"action\": \"grant\"},\n  {\"id\": \"ap-2\" \"action\": \"grant\"}\n]}";
    let (items, _, complete) = read_all(json, None, Options::default()).await;
    assert!(!complete);
    let error = items[1].as_ref().unwrap_err();
    assert!(error.ends_reading());
    assert_eq!(
        error.to_string(),
        "test-input: access provider 1, line 3 column 17: invalid JSON: expected `,` or `}`"
    );

    let yaml = "accessProviders:\n  - id: ap-1\n    action: grant\n  - id: \"ap-2\n";
    let (items, _, _) = read_all(yaml, None, Options::default()).await;
    let message = items[1].as_ref().unwrap_err().to_string();
    assert!(
        message.starts_with("test-input: access provider 1, line 4 column 9: invalid YAML: while scanning a quoted scalar"),
        "{message}"
    );
}

#[tokio::test]
async fn anchors_aliases_and_custom_tags_are_refused_clearly() {
    let anchors = "\
accessProviders:
  - id: ap-1
    action: grant
    who: &everyone {users: [a, b]}
  - id: ap-2
    action: grant
    who: *everyone
";
    let (items, _, _) = read_all(anchors, None, Options::default()).await;
    let message = items[0].as_ref().unwrap_err().to_string();
    assert!(
        message.contains("line 4 column 10: anchors and aliases"),
        "{message}"
    );

    let tagged = "accessProviders:\n  - id: !secret ap-1\n    action: grant\n";
    let message = read_all(tagged, None, Options::default()).await.0[0]
        .as_ref()
        .unwrap_err()
        .to_string();
    assert!(message.contains("the tag `!secret`"), "{message}");

    let core = "accessProviders:\n  - id: !!str 123\n    action: grant\n";
    assert_eq!(
        ok(read_all(core, None, Options::default()).await.0)[0].id,
        "123"
    );
}

#[tokio::test]
async fn duplicate_keys_and_second_documents_are_refused() {
    let duplicate = "accessProviders:\n  - id: a\n    id: b\n    action: grant\n";
    let message = read_all(duplicate, None, Options::default()).await.0[0]
        .as_ref()
        .unwrap_err()
        .to_string();
    assert!(message.contains("\"id\" appears twice"), "{message}");

    let twice = "accessProviders: []\naccessProviders: []\n";
    let message = read_all(twice, None, Options::default()).await.0[0]
        .as_ref()
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("field accessProviders: the key appears twice"),
        "{message}"
    );

    let documents = "accessProviders: []\n---\naccessProviders: []\n";
    let message = read_all(documents, None, Options::default()).await.0[0]
        .as_ref()
        .unwrap_err()
        .to_string();
    assert!(message.contains("a second YAML document"), "{message}");
}

#[tokio::test]
async fn not_an_export_is_said_so() {
    for (text, format, found) in [
        ("", None, "an empty document"),
        ("# nothing\n", None, "an empty document"),
        ("hello\n", None, "a single value"),
        ("\"hello\"", None, "a single value"),
        ("\"hello\"", Some(Format::Json), "a string"),
        ("null", Some(Format::Json), "null"),
    ] {
        let (items, _, _) = read_all(text, format, Options::default()).await;
        let message = items[0].as_ref().unwrap_err().to_string();
        assert!(
            message.ends_with(&format!("found {found}")),
            "{text:?}: {message}"
        );
    }
}

#[tokio::test]
async fn a_bare_list_is_read_as_the_access_providers() {
    for text in [
        r#"[{"id": "a", "action": "grant"}, {"id": "b", "action": "grant"}]"#,
        "- id: a\n  action: grant\n- id: b\n  action: grant\n",
    ] {
        let (items, header, complete) = read_all(text, None, Options::default()).await;
        assert_eq!(ids(&ok(items)), ["a", "b"]);
        assert!(complete);
        assert_eq!(header, Header::default());
    }
}

#[tokio::test]
async fn the_format_comes_from_the_extension_else_the_first_byte() {
    assert_eq!(
        Format::from_path(Path::new("a/export.JSON")),
        Some(Format::Json)
    );
    assert_eq!(
        Format::from_path(Path::new("export.yml")),
        Some(Format::Yaml)
    );
    assert_eq!(
        Format::from_path(Path::new("export.yaml")),
        Some(Format::Yaml)
    );
    assert_eq!(Format::from_path(Path::new("export")), None);
    assert_eq!(Format::from_path(Path::new("export.txt")), None);

    // Flow-style YAML that is not JSON (unquoted keys) is read as YAML when told so.
    let flow = "{accessProviders: [{id: a, action: grant}]}";
    let read = ok(read_all(flow, Some(Format::Yaml), Options::default())
        .await
        .0);
    assert_eq!(ids(&read), ["a"]);
    // Sniffed, the same text is taken for JSON and is invalid.
    let (items, _, _) = read_all(flow, None, Options::default()).await;
    assert!(matches!(
        items[0],
        Err(Error::Syntax {
            format: Format::Json,
            ..
        })
    ));
    // A byte order mark and blank lines before the JSON are fine.
    let bom = "\u{feff}\n\n  {\"accessProviders\": [{\"id\": \"a\", \"action\": \"grant\"}]}";
    assert_eq!(
        ids(&ok(read_all(bom, None, Options::default()).await.0)),
        ["a"]
    );
}

#[tokio::test]
async fn open_reads_a_file_by_its_extension() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("access.yml");
    std::fs::write(&path, YAML_HEADER_LAST).unwrap();
    let mut reader = Reader::open(&path, Options::default()).await.unwrap();
    let mut count = 0;
    while reader.next().await.unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, 3);
    let header = Reader::open(&path, Options::default())
        .await
        .unwrap()
        .finish()
        .await
        .unwrap();
    assert_eq!(header.file_build_time, Some(43));

    let missing = Reader::open(&directory.path().join("none.json"), Options::default()).await;
    assert!(matches!(missing, Err(Error::Io { .. })));
}

#[tokio::test]
async fn dropping_the_reader_stops_the_parser() {
    let generated = Generated::new(Format::Json, 1_000_000, 20);
    let mut reader = Reader::from_reader(generated, None, "generated", Options::default());
    assert!(reader.next().await.unwrap().is_some());
    drop(reader);
    // The parsing thread ends at its next send; nothing to assert beyond not hanging.
}

/// A document generated on the fly, `count` access providers of about `padding` bytes of
/// description each, header keys split around the list. It is never held whole.
struct Generated {
    format: Format,
    count: u64,
    padding: String,
    next: u64,
    chunk: Vec<u8>,
    offset: usize,
    finished: bool,
    /// The bytes handed to the reader so far.
    read: Arc<AtomicU64>,
}

impl Generated {
    fn new(format: Format, count: u64, padding: usize) -> Self {
        let head = match format {
            Format::Json => "{\"lastCalculated\": 1700000000, \"accessProviders\": [\n",
            Format::Yaml => "lastCalculated: 1700000000\naccessProviders:\n",
        };
        Self {
            format,
            count,
            padding: "p".repeat(padding),
            next: 0,
            chunk: head.as_bytes().to_vec(),
            offset: 0,
            finished: false,
            read: Arc::default(),
        }
    }

    /// Fills `chunk` with the next element, or the tail; false at the end.
    fn refill(&mut self) -> bool {
        self.chunk.clear();
        self.offset = 0;
        if self.next < self.count {
            let i = self.next;
            self.next += 1;
            let text = match self.format {
                Format::Json => format!(
                    "{}{{\"id\": \"ap-{i}\", \"name\": \"Role {i}; -- 'x'\", \"action\": \"grant\", \
                     \"who\": {{\"users\": [\"user-{i}\"], \"groups\": [\"g\"]}}, \
                     \"what\": [{{\"dataObject\": {{\"fullName\": \"DB.S.T{i}\", \"type\": \"table\"}}, \
                     \"permissions\": [\"SELECT\", \"INSERT\"]}}], \"description\": \"{}\"}}",
                    if i == 0 { "" } else { ",\n" },
                    self.padding
                ),
                Format::Yaml => format!(
                    "  - id: ap-{i}\n    name: \"Role {i}; -- 'x'\"\n    action: grant\n    \
                     who:\n      users: [user-{i}]\n      groups: [g]\n    what:\n      \
                     - dataObject: {{fullName: DB.S.T{i}, type: table}}\n        \
                     permissions: [SELECT, INSERT]\n    description: {}\n",
                    self.padding
                ),
            };
            self.chunk.extend_from_slice(text.as_bytes());
            true
        } else if !self.finished {
            self.finished = true;
            let tail = match self.format {
                Format::Json => "\n], \"fileBuildTime\": 1700000000999}\n",
                Format::Yaml => "fileBuildTime: 1700000000999\n",
            };
            self.chunk.extend_from_slice(tail.as_bytes());
            true
        } else {
            false
        }
    }
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        while buf.remaining() > 0 {
            if this.offset == this.chunk.len() && !this.refill() {
                break;
            }
            let n = buf.remaining().min(this.chunk.len() - this.offset);
            buf.put_slice(&this.chunk[this.offset..this.offset + n]);
            this.offset += n;
            this.read.fetch_add(n as u64, Ordering::Relaxed);
        }
        Poll::Ready(Ok(()))
    }
}

/// Reads a generated document to the end, checking every id in order; returns the count.
async fn count_generated(format: Format, count: u64, padding: usize) -> u64 {
    let generated = Generated::new(format, count, padding);
    let started = std::time::Instant::now();
    let mut reader = Reader::from_reader(generated, None, "generated", Options::default());
    let mut seen = 0u64;
    while let Some(access_provider) = reader.next().await.unwrap() {
        assert_eq!(access_provider.id, format!("ap-{seen}"));
        seen += 1;
    }
    let header = reader.header();
    assert_eq!(header.last_calculated, 1700000000);
    assert_eq!(header.file_build_time, Some(1700000000999));
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{format}: {seen} access providers in {seconds:.1} s ({:.0}/s)",
        seen as f64 / seconds
    );
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn two_hundred_megabytes_of_json_stream_through_one_provider_at_a_time() {
    // 200,000 providers of ~1 KB: ~200 MB, generated while read.
    assert_eq!(count_generated(Format::Json, 200_000, 730).await, 200_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn fifty_thousand_yaml_providers_stream_through_one_at_a_time() {
    // 50,000 providers of ~1 KB: ~50 MB of YAML.
    assert_eq!(count_generated(Format::Yaml, 50_000, 730).await, 50_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn the_parser_reads_ahead_at_most_its_byte_budget() {
    for format in [Format::Json, Format::Yaml] {
        // ~1 KB each: the count allows 1,000 waiting, the bytes about 64.
        let generated = Generated::new(format, 10_000, 1_000);
        let read = Arc::clone(&generated.read);
        let options = Options {
            read_ahead: 1_000,
            read_ahead_bytes: 64 * 1024,
            ..Options::default()
        };
        let mut reader = Reader::from_reader(generated, Some(format), "generated", options);
        assert!(reader.next().await.unwrap().is_some());
        // Until the parser stops: it waits for the consumer once the budget is spent.
        let mut last = 0;
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let now = read.load(Ordering::Relaxed);
            if now == last {
                break;
            }
            last = now;
        }
        // The budget, the input buffer and the access provider being parsed, no more.
        let bound = 64 * 1024 + super::BUFFER as u64 + 2 * 1_500;
        assert!(
            last <= bound,
            "{format}: {last} bytes read ahead (bound {bound})"
        );
        // Taking them lets it go on, to the end.
        let mut seen = 1;
        while reader.next().await.unwrap().is_some() {
            seen += 1;
        }
        assert_eq!(seen, 10_000);
    }
}

/// Scalars read as the Go CLI's YAML decoder (gopkg.in/yaml.v2, raito-io/cli
/// `base/access_provider/sync_to_target/access_provider_file_parser.go`) reads them into the
/// string fields of `sync_to_target/model.go`'s `AccessProvider`: by their text. The shape of
/// the Go CLI's own test inputs (`sync_to_target/testdata/data-access.yaml`: an unquoted numeric
/// id and a capitalised action; `cmd/testdata/apply-input1.yaml`: `type: null`,
/// `deletedWho: null`, `dataObject.id`, `ID:` inheritance), written anew here.
#[tokio::test]
async fn scalars_in_text_fields_are_read_as_written_like_the_go_cli() {
    let yaml = "\
lastCalculated: 100
accessProviders:
  -
    id: 11111111
    name: blah
    description: Lots of blah
    namingHint: 2024
    action: Mask
    type: role_test
    who:
      users:
        - 007
        - true
        - 1.50
        - 12
    what:
      - dataObject:
          type: table
          fullName: zzz.yyy.1e3
        permissions:
          - select
    actualName: 0x1F
    owners:
      - email: owner@raito.io
        accountName: 42
      - groupName: ownerGroup
  - id: a5Icfw4TgWmFPczOsuITp
    name: Nicolas is testing
    who:
      inheritFrom:
        - ID:RebzHIG6rJ6fi33qug47r
    deletedWho: null
    delete: false
    whoLocked: false
    whatLocked: true
    what:
      - dataObject:
          fullName: RUBEN_TEST.PUBLIC
          id: lrHXEdrGhU_95zhmf1cgC
          type: schema
        permissions:
          - SELECT
    deleteWhat: []
    type: null
";
    let read = ok(read_all(yaml, None, Options::default()).await.0);
    let ap = &read[0];
    assert_eq!(ap.id, "11111111");
    assert_eq!(ap.naming_hint, "2024");
    assert_eq!(ap.action, Action::Mask);
    assert_eq!(ap.who.users, ["007", "true", "1.50", "12"]);
    assert_eq!(ap.what[0].data_object.full_name, "zzz.yyy.1e3");
    assert_eq!(ap.actual_name.as_deref(), Some("0x1F"));
    assert_eq!(ap.owners[0].account_name.as_deref(), Some("42"));
    assert!(ap.unknown_field_paths().is_empty());
    let second = &read[1];
    assert_eq!(
        second.action,
        Action::Promise,
        "an absent action is Go's zero value"
    );
    assert_eq!(second.r#type, None);
    assert_eq!(second.deleted_who, None);
    assert_eq!(second.who.inherit_from, ["ID:RebzHIG6rJ6fi33qug47r"]);
    assert_eq!(second.what_locked, Some(true));
    assert!(
        second.unknown_field_paths().is_empty(),
        "dataObject.id is modelled"
    );
}
