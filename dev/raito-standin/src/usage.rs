//! Usage imports (`importDataUsageRequest`): the strict check of every uploaded statement part
//! (each field known and present, a non-empty `externalId` unique within the import, `endTime`
//! not before `startTime`, accessed objects with a full name, a type and a known permission),
//! storing the statements per data source, and the data source's `usageFirstUsed` and
//! `usageLastUsed` kept up to date as Raito does (an incremental sync starts after the latter).

use std::collections::HashSet;

use bytes::Bytes;

use crate::files::{Problems, read_array};
use crate::state::{Statement, UsageImportResult};

/// Reads and checks every part, in order. Returns the statements and the warnings (accessed
/// objects that are not among `known`, the stored data objects' full names, when any are
/// stored: Raito links usage to the data objects it has), or every problem found, each naming
/// the part (1-based, as in the request), the element index (0-based) and the field.
pub(crate) fn check_parts(
    parts: &[Bytes],
    known: &HashSet<String>,
) -> Result<(Vec<Statement>, Vec<String>), Vec<String>> {
    let mut problems = Problems::default();
    let mut warnings = Problems::default();
    let mut ids: HashSet<String> = HashSet::new();
    let mut statements = Vec::new();
    for (number, bytes) in parts.iter().enumerate() {
        let file = format!("usage part {}", number + 1);
        let read = read_array(bytes, "statements", |index, statement: &Statement| {
            let at = format!("{file} element {index}");
            let id = &statement.external_id;
            if id.is_empty() {
                problems.add(format!("{at}, field `externalId`: externalId is empty"));
            } else if !ids.insert(id.clone()) {
                problems.add(format!(
                    "{at} (externalId \"{id}\"), field `externalId`: duplicate externalId in this import"
                ));
            }
            if statement.start_time <= 0 {
                problems.add(format!(
                    "{at} (externalId \"{id}\"), field `startTime`: must be unix epoch seconds, got {}",
                    statement.start_time
                ));
            }
            if statement.end_time < statement.start_time {
                problems.add(format!(
                    "{at} (externalId \"{id}\"), field `endTime`: {} is before startTime {}",
                    statement.end_time, statement.start_time
                ));
            }
            for (i, accessed) in statement.accessed_data_objects.iter().enumerate() {
                let object = &accessed.data_object;
                if object.full_name.is_empty() || object.r#type.is_empty() {
                    problems.add(format!(
                        "{at} (externalId \"{id}\"), field `accessedDataObjects[{i}].dataObject`: fullName and type must not be empty"
                    ));
                } else if !known.is_empty() && !known.contains(&object.full_name) {
                    warnings.add(format!(
                        "statement \"{id}\": accessed data object \"{}\" ({}) is not a data object of this data source",
                        object.full_name, object.r#type
                    ));
                }
            }
        });
        match read {
            Ok(mut part) => statements.append(&mut part),
            Err(error) => problems.add(error.message(Some(&file))),
        }
    }
    let problems = problems.finish();
    if problems.is_empty() {
        Ok((statements, warnings.finish()))
    } else {
        Err(problems)
    }
}

/// Stores valid statements after those already stored and counts them: a statement whose
/// `externalId` is already stored is skipped (counted, and kept out of the store), as Raito
/// deduplicates. Returns the counts and the start times of the first and last statement
/// stored now (for `usageFirstUsed`/`usageLastUsed`).
pub(crate) fn apply(
    stored: &mut Vec<Statement>,
    statements: Vec<Statement>,
    warnings: Vec<String>,
) -> UsageImportResult {
    let before: HashSet<String> = stored.iter().map(|s| s.external_id.clone()).collect();
    let mut result = UsageImportResult {
        warnings,
        ..UsageImportResult::default()
    };
    for statement in statements {
        if before.contains(&statement.external_id) {
            result.statements_skipped += 1;
            continue;
        }
        result.statements_added += 1;
        if !statement.success {
            result.statements_failed += 1;
        }
        result.edges_created_or_updated += statement.accessed_data_objects.len() as u64;
        stored.push(statement);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(json: &str) -> Bytes {
        Bytes::from(json.to_owned())
    }

    const GOOD: &str = r#"{"externalId":"s:1","user":"u","role":"","success":true,"status":"","query":"SELECT 1","error":"","startTime":100,"endTime":101,"bytes":0,"rows":1,"credits":0.0,"accessedDataObjects":[{"dataObject":{"fullName":"db.s.t","type":"table"},"globalPermission":"read"}]}"#;

    #[test]
    fn valid_parts_are_read_in_order_and_unknown_objects_warned() {
        let second = GOOD.replace("s:1", "s:2").replace("db.s.t", "db.s.other");
        let known: HashSet<String> = ["db.s.t".to_owned()].into();
        let (statements, warnings) = check_parts(
            &[part(&format!("[{GOOD}]")), part(&format!("[{second}]"))],
            &known,
        )
        .expect("valid");
        let ids: Vec<&str> = statements.iter().map(|s| s.external_id.as_str()).collect();
        assert_eq!(ids, ["s:1", "s:2"]);
        assert_eq!(
            warnings,
            [
                "statement \"s:2\": accessed data object \"db.s.other\" (table) is not a data object of this data source"
            ]
        );
    }

    #[test]
    fn every_problem_names_part_element_and_field() {
        let duplicate = GOOD.replace("\"startTime\":100", "\"startTime\":102");
        let unknown_field = GOOD.replace("\"rows\":1", "\"rows\":1,\"extra\":1");
        let bad_permission = GOOD.replace("\"read\"", "\"select\"");
        let problems = check_parts(
            &[
                part(&format!("[{GOOD},{duplicate}]")),
                part(&format!("[{unknown_field}]")),
                part(&format!("[{bad_permission}]")),
                part("{}"),
            ],
            &HashSet::new(),
        )
        .expect_err("invalid");
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].starts_with(
            "usage part 1 element 1 (externalId \"s:1\"), field `externalId`: duplicate"
        ));
        assert!(problems[1].starts_with("usage part 1 element 1 (externalId \"s:1\"), field `endTime`: 101 is before startTime 102"));
        assert!(
            problems[2].starts_with("usage part 2 element 0")
                && problems[2].contains("unknown field `extra`"),
            "{}",
            problems[2]
        );
        assert!(
            problems[3].starts_with(
                "usage part 3 element 0, field `accessedDataObjects[0].globalPermission`"
            ),
            "{}",
            problems[3]
        );
        assert!(
            problems[4].starts_with("usage part 4 is not one JSON array"),
            "{}",
            problems[4]
        );
    }

    #[test]
    fn missing_fields_are_problems() {
        let without_query = GOOD.replace("\"query\":\"SELECT 1\",", "");
        let problems = check_parts(&[part(&format!("[{without_query}]"))], &HashSet::new())
            .expect_err("invalid");
        assert!(
            problems[0].contains("missing field `query`"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_statement_already_stored_is_skipped() {
        let (statements, _) =
            check_parts(&[part(&format!("[{GOOD}]"))], &HashSet::new()).expect("valid");
        let mut stored = Vec::new();
        let first = apply(&mut stored, statements.clone(), Vec::new());
        assert_eq!(
            (
                first.statements_added,
                first.statements_skipped,
                first.edges_created_or_updated
            ),
            (1, 0, 1)
        );
        let again = apply(&mut stored, statements, Vec::new());
        assert_eq!((again.statements_added, again.statements_skipped), (0, 1));
        assert_eq!(stored.len(), 1);
    }
}
