//! The data usage sync's wire types: one statement (query) per element of the usage files, with
//! the data objects it touched and how (read, write, admin).

use serde::{Deserialize, Serialize};

use super::access::DataObjectReference;
use crate::output::json_text::{write_json_f64, write_json_i64, write_json_str};

/// How a connector marks, at the start of [`Statement::error`] (or after the server's error and
/// `; `), a statement whose SQL it could not parse: such a statement is kept, without accessed
/// data objects. Pipelines count these.
pub const UNPARSED: &str = "SQL not parsed: ";

/// How a statement used a data object: Raito's global permission it exercised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UsageGlobalPermission {
    /// The connector could not tell (`unknownaction`).
    #[default]
    UnknownAction,
    /// The statement read data (`read`).
    Read,
    /// The statement changed data (`write`).
    Write,
    /// The statement managed the object, e.g. DDL or grants (`admin`).
    Admin,
}

impl UsageGlobalPermission {
    /// The name on the wire, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageGlobalPermission::UnknownAction => "unknownaction",
            UsageGlobalPermission::Read => "read",
            UsageGlobalPermission::Write => "write",
            UsageGlobalPermission::Admin => "admin",
        }
    }
}

/// One data object a statement touched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccessedDataObject {
    /// The object, by full name and type.
    #[serde(default)]
    pub data_object: DataObjectReference,
    /// How it was used.
    #[serde(default)]
    pub global_permission: UsageGlobalPermission,
}

/// One executed statement (query) in the source's history, one element of a usage file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    /// The source's unique id of the statement (e.g. the query id).
    #[serde(default)]
    pub external_id: String,
    /// The account name of the user who ran it.
    #[serde(default)]
    pub user: String,
    /// The role it ran under, when the source has roles.
    #[serde(default)]
    pub role: String,
    /// Whether it succeeded.
    #[serde(default)]
    pub success: bool,
    /// The source's own status text, e.g. `SUCCESS` or `FAILED_WITH_ERROR`.
    #[serde(default)]
    pub status: String,
    /// The statement text.
    #[serde(default)]
    pub query: String,
    /// The error message when it failed (or when its parsing failed).
    #[serde(default)]
    pub error: String,
    /// When it started, unix epoch seconds.
    #[serde(default)]
    pub start_time: i64,
    /// When it ended, unix epoch seconds.
    #[serde(default)]
    pub end_time: i64,
    /// The bytes it scanned or returned, as the source reports them.
    #[serde(default)]
    pub bytes: i64,
    /// The rows it returned or changed.
    #[serde(default)]
    pub rows: i64,
    /// The compute credits it cost (Snowflake); 0 when the source has no such notion.
    #[serde(default)]
    pub credits: f64,
    /// The data objects it touched.
    #[serde(default)]
    pub accessed_data_objects: Vec<AccessedDataObject>,
}

impl Statement {
    /// Appends the statement as JSON: byte for byte what `serde_json::to_writer` writes for it
    /// (the keys of the serde derive in the same order, the same escapes, the same numbers),
    /// without serde's calls per field and with runs of plain text copied whole. A usage file
    /// holds one statement per logged statement, so this is on the sync's hot path; the derive
    /// stays for reading files back (and the tests compare the two).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"externalId\":");
        write_json_str(out, &self.external_id);
        out.extend_from_slice(b",\"user\":");
        write_json_str(out, &self.user);
        out.extend_from_slice(b",\"role\":");
        write_json_str(out, &self.role);
        out.extend_from_slice(if self.success {
            b",\"success\":true,\"status\":"
        } else {
            b",\"success\":false,\"status\":"
        });
        write_json_str(out, &self.status);
        out.extend_from_slice(b",\"query\":");
        write_json_str(out, &self.query);
        out.extend_from_slice(b",\"error\":");
        write_json_str(out, &self.error);
        out.extend_from_slice(b",\"startTime\":");
        write_json_i64(out, self.start_time);
        out.extend_from_slice(b",\"endTime\":");
        write_json_i64(out, self.end_time);
        out.extend_from_slice(b",\"bytes\":");
        write_json_i64(out, self.bytes);
        out.extend_from_slice(b",\"rows\":");
        write_json_i64(out, self.rows);
        out.extend_from_slice(b",\"credits\":");
        write_json_f64(out, self.credits);
        out.extend_from_slice(b",\"accessedDataObjects\":[");
        for (n, accessed) in self.accessed_data_objects.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            accessed.write_json(out);
        }
        out.extend_from_slice(b"]}");
    }
}

impl AccessedDataObject {
    /// Appends it as JSON, as `serde_json` writes it (see [`Statement::write_json`]).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let object = &self.data_object;
        out.extend_from_slice(b"{\"dataObject\":{\"fullName\":");
        write_json_str(out, &object.full_name);
        out.extend_from_slice(b",\"type\":");
        write_json_str(out, &object.r#type);
        if let Some(id) = &object.id {
            out.extend_from_slice(b",\"id\":");
            write_json_str(out, id);
        }
        // Flattened after the named keys, in the map's order. Never set by a connector (only
        // Raito's exports carry them): serde_json writes the values.
        for (key, value) in &object.unknown_fields {
            out.push(b',');
            write_json_str(out, key);
            out.push(b':');
            // Cannot fail: writing into a `Vec` never fails, and a `Value` always serialises.
            let written = serde_json::to_writer(&mut *out, value);
            debug_assert!(written.is_ok(), "serde_json wrote no Value: {written:?}");
        }
        out.extend_from_slice(b"},\"globalPermission\":\"");
        out.extend_from_slice(self.global_permission.as_str().as_bytes());
        out.extend_from_slice(b"\"}");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;
    use proptest::test_runner::Config;

    use super::*;
    use crate::output::json_text::any_text;

    fn written(statement: &Statement) -> Vec<u8> {
        let mut out = Vec::new();
        statement.write_json(&mut out);
        out
    }

    fn object(
        full_name: &str,
        r#type: &str,
        permission: UsageGlobalPermission,
    ) -> AccessedDataObject {
        AccessedDataObject {
            data_object: DataObjectReference {
                full_name: full_name.to_owned(),
                r#type: r#type.to_owned(),
                ..Default::default()
            },
            global_permission: permission,
        }
    }

    #[test]
    fn statements_are_written_byte_for_byte_as_serde_json_writes_them() {
        let mut with_id = object("bench.app.t1", "table", UsageGlobalPermission::Read);
        with_id.data_object.id = Some("raito-id-\u{1}\"".to_owned());
        let mut with_unknown = object("", "", UsageGlobalPermission::UnknownAction);
        with_unknown.data_object.unknown_fields.insert(
            "z\u{7}\"".to_owned(),
            serde_json::json!({"a": [1, 2.5, null, "x\ny"], "b": -0.0}),
        );
        with_unknown
            .data_object
            .unknown_fields
            .insert("a".to_owned(), serde_json::json!(1e-7));
        let statements = [
            Statement::default(),
            Statement {
                external_id: "6b000a1.3e:7".to_owned(),
                user: "user03".to_owned(),
                success: true,
                status: "SUCCESS".to_owned(),
                query: "SELECT o.id, c.name FROM app.t1 o JOIN public.customers c ON c.id = o.customer_id WHERE o.amount > 42".to_owned(),
                start_time: 1_796_600_842,
                end_time: 1_796_600_843,
                accessed_data_objects: vec![
                    object("bench.app.t1", "table", UsageGlobalPermission::Read),
                    object("bench.public.customers", "table", UsageGlobalPermission::Read),
                ],
                ..Default::default()
            },
            Statement {
                external_id: "s:1".to_owned(),
                user: "Åsa \"the\" admin\\".to_owned(),
                role: "r\u{0}\u{1f}\u{7f}".to_owned(),
                success: false,
                status: "FAILED".to_owned(),
                query: "UPDATE \"Sales.EU\".\"Orders 1\" SET \"Amount €\" = 1\n\tWHERE id = 1;\r\n-- \u{1f600} \u{2028} </script>".to_owned(),
                error: "ERROR 42601: syntax error; SQL not parsed: \u{8}\u{c}".to_owned(),
                start_time: -1,
                end_time: i64::MIN,
                bytes: i64::MAX,
                rows: -42,
                credits: 12.5,
                accessed_data_objects: vec![
                    with_id,
                    with_unknown,
                    object("db.s", "schema", UsageGlobalPermission::Admin),
                    object("db.s.t", "view", UsageGlobalPermission::Write),
                ],
            },
        ];
        for credits in [0.0, -0.0, 1e-7, 12.5, -3.25, 1e21, f64::NAN, f64::INFINITY] {
            let statement = Statement {
                credits,
                ..statements[1].clone()
            };
            assert_eq!(
                String::from_utf8(written(&statement)).unwrap(),
                serde_json::to_string(&statement).unwrap(),
                "credits {credits}"
            );
        }
        for statement in &statements {
            assert_eq!(
                String::from_utf8(written(statement)).unwrap(),
                serde_json::to_string(statement).unwrap()
            );
        }
        // Appended: what was in the buffer stays.
        let mut out = b"[\n".to_vec();
        statements[1].write_json(&mut out);
        assert_eq!(out[2..], serde_json::to_vec(&statements[1]).unwrap());
    }

    fn any_object() -> impl Strategy<Value = AccessedDataObject> {
        (
            any_text(),
            any_text(),
            proptest::option::of(any_text()),
            0..4usize,
        )
            .prop_map(|(full_name, r#type, id, permission)| AccessedDataObject {
                data_object: DataObjectReference {
                    full_name,
                    r#type,
                    id,
                    ..Default::default()
                },
                global_permission: [
                    UsageGlobalPermission::UnknownAction,
                    UsageGlobalPermission::Read,
                    UsageGlobalPermission::Write,
                    UsageGlobalPermission::Admin,
                ][permission],
            })
    }

    proptest! {
        #![proptest_config(Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        })]

        /// Any statement: the same bytes as serde_json.
        #[test]
        fn any_statement_is_written_as_serde_json_writes_it(
            texts in proptest::collection::vec(any_text(), 6),
            success in any::<bool>(),
            numbers in proptest::collection::vec(any::<i64>(), 4),
            credits in prop_oneof![Just(0.0), any::<f64>(), -1e3..1e3f64],
            accessed in proptest::collection::vec(any_object(), 0..4),
        ) {
            let statement = Statement {
                external_id: texts[0].clone(),
                user: texts[1].clone(),
                role: texts[2].clone(),
                success,
                status: texts[3].clone(),
                query: texts[4].clone(),
                error: texts[5].clone(),
                start_time: numbers[0],
                end_time: numbers[1],
                bytes: numbers[2],
                rows: numbers[3],
                credits,
                accessed_data_objects: accessed,
            };
            prop_assert_eq!(written(&statement), serde_json::to_vec(&statement).unwrap());
        }
    }
}
