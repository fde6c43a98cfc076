//! Masks and row filters: `mask` access providers as masking policies, `filtered` ones as row
//! access policies, with the Go connector's shapes (snowflake/data_access_sync_to_target.go
//! `updateMask`, `updateOrCreateFilter`; snowflake/mask_factory.go) made diff-only and safe.
//!
//! **Masks.** A mask gets a name (its external id and actual name): `RAITO_<NAME>_<token>`, the
//! Go connector's `raitoMaskUniqueName` with a token derived from the access provider's id
//! instead of a random one (an existing external id of that shape is kept). Each schema and
//! data type of its columns gets one masking policy, `<mask name>_<TYPE>_<hash>`, whose body
//! shows the value to the mask's users (`CURRENT_USER() IN (…)`) and roles
//! (`IS_ROLE_IN_SESSION(…)`) and masks it for everyone else (`NULL`; `SHA2(val, 256)` for text
//! with `SHA256`; the `sf-mask-decrypt-function` for `ENCRYPT`). The hash is of the policy's
//! type and body: a policy is never altered; a changed body is a new policy the columns move
//! to (`SET MASKING POLICY … FORCE`), and the old one is dropped once nothing uses it.
//!
//! **Filters.** The filters of one table (Go groups them so) make one row access policy:
//! `(who) AND (rule)` of each, joined by `OR` (`FALSE` when none has a who), its arguments the
//! columns the rules read; named `raito_<schema>_<table>_<hash>_filter` (Go's pattern, the
//! hash in place of a random id). A table whose policy is already that one is left alone;
//! otherwise the new policy replaces Raito's old one in one statement (`DROP ROW ACCESS
//! POLICY old, ADD ROW ACCESS POLICY new`). A table with another row access policy (not
//! Raito's) is never changed: its filters fail. Rules are parsed and re-written
//! ([`super::rule`]), and so is a `filterCriteria`.
//!
//! **Whose.** Masking policies carry [`super::managed_comment`] of their access provider; only
//! those are unset and dropped. A column masked by another policy is never forced: that column
//! fails in the feedback.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::super::client::{quote_ident, quote_literal};
use super::super::config::Config;
use super::import::split_names;
use super::rule;

/// Go `maskPrefix`.
const MASK_PREFIX: &str = "RAITO_";

/// The mask's name from its access provider's name (data_access_sync_to_target.go
/// `raitoMaskName`): `RAITO_` and the upper-cased name, spaces as `_`, only letters, digits
/// and `_` kept.
pub fn mask_base_name(name: &str) -> String {
    let without = name.strip_prefix(MASK_PREFIX).unwrap_or(name);
    format!("{MASK_PREFIX}{}", without.to_uppercase().replace(' ', "_"))
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The mask's name for an access provider: its external id when it is a name of this mask,
/// else the base and a token of its id.
pub fn mask_name(name: &str, id: &str, external_id: Option<&str>) -> String {
    let base = mask_base_name(name);
    if let Some(existing) = external_id
        .filter(|e| e.starts_with(&format!("{base}_")) && !e.contains('.') && e.len() <= 200)
    {
        return existing.to_owned();
    }
    format!("{base}_{}", token(id))
}

/// Eight upper-case hex digits of the SHA-256 of `text`.
pub fn token(text: &str) -> String {
    hex::encode_upper(&Sha256::digest(text.as_bytes())[..4])
}

/// Who sees a masked value, or passes a filter.
#[derive(Debug, Default, Clone)]
pub struct Beneficiaries {
    pub users: Vec<String>,
    pub roles: Vec<String>,
}

impl Beneficiaries {
    /// `CURRENT_USER() IN (…)` and `IS_ROLE_IN_SESSION(…)` joined by OR; `None` for nobody.
    fn condition(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.roles.is_empty() {
            parts.push(
                self.roles
                    .iter()
                    .map(|r| format!("IS_ROLE_IN_SESSION({})", quote_literal(r)))
                    .collect::<Vec<_>>()
                    .join(" OR "),
            );
        }
        if !self.users.is_empty() {
            parts.push(format!(
                "CURRENT_USER() IN ({})",
                self.users
                    .iter()
                    .map(|u| quote_literal(u))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        (!parts.is_empty()).then(|| parts.join(" OR "))
    }
}

/// A data type as a policy signature may name it: letters, digits, `_`, and a `(p, s)`
/// suffix. INFORMATION_SCHEMA prints nothing else; anything else is refused.
pub fn data_type(text: &str) -> Option<&str> {
    let ok = !text.is_empty()
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '(' | ')' | ',' | ' '));
    ok.then_some(text)
}

/// The body of a masking policy of `mask_type` for a column of `data_type`, and a warning when
/// the mask does not apply to the type (then values are masked with NULL, which applies to
/// every type, rather than left unmasked as the Go connector's failing mask leaves them).
pub fn mask_body(
    config: &Config,
    mask_type: &str,
    data_type: &str,
    who: &Beneficiaries,
) -> (String, Option<String>) {
    let text_type = ["VARCHAR", "CHAR", "STRING", "TEXT"]
        .iter()
        .any(|t| data_type.to_ascii_uppercase().starts_with(t));
    let mut warning = None;
    let masked = match mask_type.to_ascii_uppercase().as_str() {
        "SHA256" if text_type => "SHA2(\"VAL\", 256)".to_owned(),
        "SHA256" => {
            warning = Some(format!(
                "the SHA256 mask applies to text columns only; {data_type} columns are masked \
                 with NULL"
            ));
            "NULL".to_owned()
        }
        "ENCRYPT" => match decrypt_call(config) {
            Some(call) => {
                // The ENCRYPT mask shows the stored (encrypted) value and decrypts it for the
                // beneficiaries (mask_factory.go `encryptMaskMethod`).
                return match who.condition() {
                    None => (call, None),
                    Some(condition) => (
                        format!("CASE WHEN {condition} THEN {call} ELSE \"VAL\" END"),
                        None,
                    ),
                };
            }
            None => {
                warning = Some(
                    "the ENCRYPT mask needs sf-mask-decrypt-function; masked with NULL".to_owned(),
                );
                "NULL".to_owned()
            }
        },
        "NULL" | "" => "NULL".to_owned(),
        other => {
            // Go falls back to the NULL mask for a type it does not know.
            warning = Some(format!(
                "mask type {other:?} is not known to this connector; masked with NULL"
            ));
            "NULL".to_owned()
        }
    };
    let body = match who.condition() {
        None => masked,
        Some(condition) => format!("CASE WHEN {condition} THEN \"VAL\" ELSE {masked} END"),
    };
    (body, warning)
}

/// `DECRYPT_FN("VAL"[, SYSTEM$GET_TAG_ON_CURRENT_COLUMN('tag')])`, every name part quoted.
fn decrypt_call(config: &Config) -> Option<String> {
    let function = config.mask_decrypt_function.as_deref()?;
    let parts = split_names(function);
    if parts.is_empty() {
        return None;
    }
    let function = parts
        .iter()
        .map(|p| quote_ident(p))
        .collect::<Vec<_>>()
        .join(".");
    Some(match config.mask_decrypt_column_tag.as_deref() {
        Some(tag) if !tag.is_empty() => format!(
            "{function}(\"VAL\", SYSTEM$GET_TAG_ON_CURRENT_COLUMN({}))",
            quote_literal(tag)
        ),
        _ => format!("{function}(\"VAL\")"),
    })
}

/// `CREATE MASKING POLICY IF NOT EXISTS …`.
pub fn create_masking_policy(
    policy: &[&str; 3],
    data_type: &str,
    body: &str,
    comment: &str,
) -> String {
    format!(
        "CREATE MASKING POLICY IF NOT EXISTS {} AS (\"VAL\" {data_type}) RETURNS {data_type} -> \
         {body} COMMENT = {}",
        quoted(policy),
        quote_literal(comment)
    )
}

/// The masking policy name for a mask, type and body.
pub fn masking_policy_name(mask: &str, data_type: &str, body: &str) -> String {
    let type_word: String = data_type
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!(
        "{mask}_{}_{}",
        type_word.to_ascii_uppercase(),
        token(&format!("{data_type}\n{body}"))
    )
}

/// A filter's policy: name, signature `("A" TYPE, …)` and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterPolicy {
    pub name: String,
    pub arguments: Vec<String>,
    pub signature: String,
    pub body: String,
}

/// One filter of a table: who and the rendered rule.
pub struct Filter {
    pub who: Beneficiaries,
    pub rule: rule::Rendered,
}

/// The policy of a table's filters; `types` gives each argument column's data type.
pub fn filter_policy(
    schema: &str,
    table: &str,
    filters: &[Filter],
    types: &BTreeMap<String, String>,
) -> Result<FilterPolicy, String> {
    let mut parts = Vec::new();
    let mut arguments = BTreeSet::new();
    for filter in filters {
        // Go leaves out a filter without a who (nobody passes it).
        let Some(who) = filter.who.condition() else {
            continue;
        };
        parts.push(format!("({who}) AND ({})", filter.rule.expression));
        arguments.extend(filter.rule.columns.iter().cloned());
    }
    let body = if parts.is_empty() {
        "FALSE".to_owned()
    } else {
        parts.join(" OR ")
    };
    let mut signature = Vec::new();
    for column in &arguments {
        let data_type = types.get(column).ok_or_else(|| {
            format!("the filter reads column {column:?}, which {table:?} has not")
        })?;
        let data_type = self::data_type(data_type)
            .ok_or_else(|| format!("column {column:?} has a type this connector cannot name"))?;
        signature.push(format!("{} {data_type}", quote_ident(column)));
    }
    let signature = format!("({})", signature.join(", "));
    let hash = token(&format!("{signature}\n{body}"));
    let cut = |s: &str| s.chars().take(100).collect::<String>();
    Ok(FilterPolicy {
        name: format!("raito_{}_{}_{hash}_filter", cut(schema), cut(table)),
        arguments: arguments.into_iter().collect(),
        signature,
        body,
    })
}

/// Whether a row access policy name is Raito's (Go's `raito_…_filter`).
pub fn is_raito_filter(name: &str) -> bool {
    name.starts_with("raito_") && name.ends_with("_filter")
}

/// `"A"."B"."C"`.
pub fn quoted(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| quote_ident(p))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        let mut parameters = crate::config::Parameters::new("test.yml", "sf");
        for (key, value) in [
            ("sf-account", "acme-prod"),
            ("sf-user", "u"),
            ("sf-token", "t"),
        ] {
            parameters.insert(key, serde_json::Value::from(value), false);
        }
        Config::from_parameters(&parameters).expect("valid")
    }

    #[test]
    fn mask_names_follow_go_and_stay_stable() {
        assert_eq!(mask_base_name("PII mask!"), "RAITO_PII_MASK");
        assert_eq!(mask_base_name("RAITO_x y"), "RAITO_X_Y");
        let name = mask_name("PII", "ap-1", None);
        assert!(name.starts_with("RAITO_PII_") && name.len() == 18, "{name}");
        assert_eq!(mask_name("PII", "ap-1", None), name);
        assert_eq!(
            mask_name("PII", "ap-1", Some("RAITO_PII_abc12345")),
            "RAITO_PII_abc12345"
        );
        assert_eq!(mask_name("PII", "ap-1", Some("OTHER")), name);
    }

    #[test]
    fn mask_bodies_quote_who_and_fall_back_to_null() {
        let who = Beneficiaries {
            users: vec!["o'Brien".to_owned()],
            roles: vec!["HR".to_owned()],
        };
        let (body, warning) = mask_body(&config(), "SHA256", "TEXT", &who);
        assert_eq!(
            body,
            "CASE WHEN IS_ROLE_IN_SESSION('HR') OR CURRENT_USER() IN ('o\\'Brien') THEN \"VAL\" \
             ELSE SHA2(\"VAL\", 256) END"
        );
        assert!(warning.is_none());
        let (body, warning) = mask_body(&config(), "SHA256", "NUMBER", &Beneficiaries::default());
        assert_eq!(body, "NULL");
        assert!(warning.is_some());
    }

    #[test]
    fn a_filter_policy_joins_the_filters_of_a_table() {
        let filters = vec![
            Filter {
                who: Beneficiaries {
                    users: vec!["ALICE".to_owned()],
                    roles: vec![],
                },
                rule: rule::render("{REGION} = 'EU'").expect("a rule"),
            },
            Filter {
                who: Beneficiaries::default(),
                rule: rule::render("AMOUNT > 5").expect("a rule"),
            },
        ];
        let types = BTreeMap::from([
            ("REGION".to_owned(), "TEXT".to_owned()),
            ("AMOUNT".to_owned(), "NUMBER".to_owned()),
        ]);
        let policy = filter_policy("S", "T", &filters, &types).expect("a policy");
        assert_eq!(policy.arguments, vec!["REGION"]);
        assert_eq!(policy.signature, "(\"REGION\" TEXT)");
        assert_eq!(
            policy.body,
            "(CURRENT_USER() IN ('ALICE')) AND ((\"REGION\" = 'EU'))"
        );
        assert!(is_raito_filter(&policy.name), "{}", policy.name);
        let missing = filter_policy("S", "T", &filters, &BTreeMap::new());
        assert!(missing.is_err());
    }
}

mod engine {
    //! Reading what the masks and filters of a run have in Snowflake, and sending the
    //! difference.

    use std::collections::{BTreeMap, BTreeSet, HashMap};

    use super::super::super::client::{quote_ident, quote_literal};
    use super::super::apply::{Engine, Kind, Planned, RoleRef};
    use super::super::import::split_names;
    use super::super::{managed_comment, rule};
    use super::{
        Beneficiaries, Filter, create_masking_policy, data_type, filter_policy, is_raito_filter,
        mask_body, mask_name, masking_policy_name, quoted,
    };
    use crate::connector::Error;
    use crate::model::access::inherit_from_raito_id;

    /// A reference of a policy: (table parts, domain `TABLE`/`VIEW`, column or none).
    #[derive(Debug, Clone)]
    struct Reference {
        policy: [String; 3],
        kind: String,
        table: [String; 3],
        domain: String,
        column: Option<String>,
    }

    impl Engine<'_> {
        /// Who an access provider names: its users, and its inheritFrom as role names.
        fn beneficiaries(&self, p: &mut Planned) -> Beneficiaries {
            let mut who = Beneficiaries {
                users: p.ap.who.users.clone(),
                roles: Vec::new(),
            };
            for entry in &p.ap.who.inherit_from {
                let role = match inherit_from_raito_id(entry) {
                    Some(id) => self.by_id.get(id).cloned(),
                    None => Some(RoleRef::from_external_id(entry)),
                };
                match role {
                    Some(RoleRef::Account(name)) => who.roles.push(name),
                    Some(RoleRef::Database(..)) => p.outcome.feedback.warnings.push(format!(
                        "{entry:?} is a database role: a policy cannot test for it; left out"
                    )),
                    None => p.outcome.feedback.warnings.push(format!(
                        "inheritFrom {entry:?}: no role of that access provider exists; left out"
                    )),
                }
            }
            who
        }

        async fn references(
            &self,
            database: &str,
            argument: &str,
        ) -> Result<Vec<Reference>, Error> {
            let statement = format!(
                "SELECT POLICY_DB, POLICY_SCHEMA, POLICY_NAME, POLICY_KIND, REF_DATABASE_NAME, \
                 REF_SCHEMA_NAME, REF_ENTITY_NAME, REF_ENTITY_DOMAIN, REF_COLUMN_NAME FROM TABLE({}.INFORMATION_SCHEMA.POLICY_REFERENCES({argument}))",
                quote_ident(database)
            );
            let mut rows = self.query(&statement).await?;
            let mut references = Vec::new();
            while let Some(batch) = rows.next_batch().await? {
                for row in batch {
                    let cell = |i: usize| row.get(i).unwrap_or_default().to_owned();
                    references.push(Reference {
                        policy: [cell(0), cell(1), cell(2)],
                        kind: cell(3),
                        table: [cell(4), cell(5), cell(6)],
                        domain: cell(7),
                        column: row.get(8).map(str::to_owned),
                    });
                }
            }
            Ok(references)
        }

        /// The columns of a table with their data types.
        async fn column_types(
            &self,
            table: &[String; 3],
        ) -> Result<BTreeMap<String, String>, Error> {
            let statement = format!(
                "SELECT COLUMN_NAME, DATA_TYPE FROM {}.INFORMATION_SCHEMA.COLUMNS WHERE \
                 TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                quote_ident(&table[0])
            );
            let mut rows = self
                .client
                .query(&statement, &[&table[1], &table[2]])
                .await?;
            self.count_read();
            let mut types = BTreeMap::new();
            while let Some(batch) = rows.next_batch().await? {
                for row in batch {
                    if let (Some(c), Some(t)) = (row.get(0), row.get(1)) {
                        types.insert(c.to_owned(), t.to_owned());
                    }
                }
            }
            Ok(types)
        }

        /// `TABLE` or `VIEW`, for ALTER and POLICY_REFERENCES.
        async fn domain(&mut self, table: &[String; 3]) -> Result<Option<&'static str>, Error> {
            use super::super::what::Catalog as _;
            if self.catalog.schemas(&table[0]).is_none() {
                self.read_database(&table[0]).await?;
            }
            Ok(self
                .catalog
                .relations(&table[0], &table[1])
                .and_then(|relations| relations.iter().find(|r| r.name == table[2]))
                .map(|r| match r.object_type.as_str() {
                    "view" | "materialized-view" => "VIEW",
                    _ => "TABLE",
                }))
        }

        /// Plans and sends every mask of the run.
        pub(in super::super) async fn masks(&mut self, all: &mut [Planned]) -> Result<(), Error> {
            let mut transactions = Vec::new();
            for (index, p) in all.iter_mut().enumerate() {
                if p.kind != Kind::Mask || p.failed {
                    continue;
                }
                let known = p.ap.external_id.as_deref().or(p.ap.actual_name.as_deref());
                let name = mask_name(&p.ap.name, &p.ap.id, known);
                p.outcome.feedback.actual_name = name.clone();
                p.outcome.feedback.external_id = Some(name.clone());
                let comment = managed_comment(&p.ap.id);
                // This mask's policies now, and what they mask.
                let show = format!(
                    "SHOW MASKING POLICIES LIKE {} IN ACCOUNT",
                    quote_literal(&format!("{name}%"))
                );
                let mut rows = self.query(&show).await?;
                let columns = (
                    rows.column("name")?,
                    rows.column("database_name")?,
                    rows.column("schema_name")?,
                    rows.column("comment")?,
                );
                let mut ours: Vec<[String; 3]> = Vec::new();
                while let Some(batch) = rows.next_batch().await? {
                    for row in batch {
                        let cell = |i: usize| row.get(i).unwrap_or_default().to_owned();
                        if cell(columns.3) == comment
                            && cell(columns.0).starts_with(&format!("{name}_"))
                        {
                            ours.push([cell(columns.1), cell(columns.2), cell(columns.0)]);
                        }
                    }
                }
                drop(rows);
                let mut attached: Vec<Reference> = Vec::new();
                for policy in &ours {
                    let argument = format!(
                        "POLICY_NAME => {}",
                        quote_literal(&quoted(&[&policy[0], &policy[1], &policy[2]]))
                    );
                    attached.extend(self.references(&policy[0], &argument).await?);
                }
                let mut statements = Vec::new();
                // (table, column) → the policy it should have.
                let mut wanted: BTreeMap<([String; 3], String), [String; 3]> = BTreeMap::new();
                let mut creates: BTreeMap<[String; 3], String> = BTreeMap::new();
                if !p.ap.delete {
                    let who = self.beneficiaries(p);
                    let mask_type = p.ap.r#type.clone().unwrap_or_default();
                    let mut by_table: BTreeMap<[String; 3], Vec<String>> = BTreeMap::new();
                    for item in &p.ap.what {
                        match split_names(&item.data_object.full_name).as_slice() {
                            [d, s, t, c] => by_table
                                .entry([d.clone(), s.clone(), t.clone()])
                                .or_default()
                                .push(c.clone()),
                            _ => p.outcome.feedback.warnings.push(format!(
                                "{:?} is not a column (database.schema.table.column); left out",
                                item.data_object.full_name
                            )),
                        }
                    }
                    for (table, columns) in by_table {
                        let Some(domain) = self.domain(&table).await? else {
                            p.outcome
                                .feedback
                                .errors
                                .push(format!("table {:?} does not exist", table.join(".")));
                            continue;
                        };
                        let types = self.column_types(&table).await?;
                        let argument = format!(
                            "REF_ENTITY_NAME => {}, REF_ENTITY_DOMAIN => '{}'",
                            quote_literal(&quoted(&[&table[0], &table[1], &table[2]])),
                            domain.to_ascii_lowercase()
                        );
                        let current = self.references(&table[0], &argument).await?;
                        for column in columns {
                            let Some(column_type) = types.get(&column).and_then(|t| data_type(t))
                            else {
                                p.outcome.feedback.errors.push(format!(
                                    "column {column:?} of {:?} does not exist",
                                    table.join(".")
                                ));
                                continue;
                            };
                            let (body, warning) =
                                mask_body(self.config, &mask_type, column_type, &who);
                            p.outcome.feedback.warnings.extend(warning);
                            let policy = [
                                table[0].clone(),
                                table[1].clone(),
                                masking_policy_name(&name, column_type, &body),
                            ];
                            let now = current.iter().find(|r| {
                                r.kind == "MASKING_POLICY" && r.column.as_deref() == Some(&column)
                            });
                            if let Some(now) = now
                                && now.policy != policy
                                && !ours.contains(&now.policy)
                            {
                                p.outcome.feedback.errors.push(format!(
                                    "column {column:?} of {:?} is masked by {:?}, a policy Raito \
                                     does not manage; left as it is",
                                    table.join("."),
                                    now.policy.join(".")
                                ));
                                continue;
                            }
                            if !ours.contains(&policy) {
                                creates.entry(policy.clone()).or_insert_with(|| {
                                    create_masking_policy(
                                        &[&policy[0], &policy[1], &policy[2]],
                                        column_type,
                                        &body,
                                        &comment,
                                    )
                                });
                            }
                            wanted.insert((table.clone(), column), policy);
                        }
                        // Sets for the columns whose policy changes.
                        for ((t, column), policy) in wanted.iter().filter(|((t, _), _)| *t == table)
                        {
                            let in_place = current.iter().any(|r| {
                                r.kind == "MASKING_POLICY"
                                    && r.column.as_deref() == Some(column)
                                    && r.policy == *policy
                            });
                            if !in_place {
                                statements.push(format!(
                                    "ALTER {domain} {} ALTER COLUMN {} SET MASKING POLICY {} FORCE",
                                    quoted(&[&t[0], &t[1], &t[2]]),
                                    quote_ident(column),
                                    quoted(&[&policy[0], &policy[1], &policy[2]])
                                ));
                            }
                        }
                    }
                    if !p.outcome.feedback.errors.is_empty() {
                        p.failed = true;
                        continue;
                    }
                }
                // Creates first, then the sets planned above.
                let mut ordered: Vec<String> = creates.into_values().collect();
                ordered.append(&mut statements);
                // Columns of this mask's policies that it no longer masks.
                for reference in &attached {
                    let Some(column) = &reference.column else {
                        continue;
                    };
                    if wanted.contains_key(&(reference.table.clone(), column.clone())) {
                        continue;
                    }
                    let domain = if reference.domain.eq_ignore_ascii_case("VIEW") {
                        "VIEW"
                    } else {
                        "TABLE"
                    };
                    ordered.push(format!(
                        "ALTER {domain} {} ALTER COLUMN {} UNSET MASKING POLICY",
                        quoted(&[
                            &reference.table[0],
                            &reference.table[1],
                            &reference.table[2]
                        ]),
                        quote_ident(column)
                    ));
                }
                // This mask's policies no longer wanted.
                let kept: BTreeSet<&[String; 3]> = wanted.values().collect();
                for policy in &ours {
                    if !kept.contains(policy) {
                        ordered.push(format!(
                            "DROP MASKING POLICY IF EXISTS {}",
                            quoted(&[&policy[0], &policy[1], &policy[2]])
                        ));
                    }
                }
                if !ordered.is_empty() {
                    p.outcome.statements = ordered.clone();
                    transactions.push((index, ordered));
                }
            }
            for (index, error) in self.send(transactions).await {
                all[index].fail(error);
            }
            Ok(())
        }

        /// Plans and sends the filters of the run, one row access policy per table.
        pub(in super::super) async fn filters(&mut self, all: &mut [Planned]) -> Result<(), Error> {
            // Table → the indices of its filters.
            let mut tables: BTreeMap<[String; 3], Vec<usize>> = BTreeMap::new();
            for (index, p) in all.iter_mut().enumerate() {
                if p.kind != Kind::Filter || p.failed {
                    continue;
                }
                match split_names(&p.ap.what[0].data_object.full_name).as_slice() {
                    [d, s, t] => tables
                        .entry([d.clone(), s.clone(), t.clone()])
                        .or_default()
                        .push(index),
                    _ => p.fail(format!(
                        "{:?} is not a table (database.schema.table)",
                        p.ap.what[0].data_object.full_name
                    )),
                }
            }
            let mut transactions = Vec::new();
            // The filters of each table sent, by the index their transaction is keyed on.
            let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
            for (table, indices) in tables {
                let result = self.filter_table(&table, all, &indices).await?;
                match result {
                    Err(error) => {
                        for &i in &indices {
                            all[i].fail(error.clone());
                        }
                    }
                    Ok((policy_name, statements)) => {
                        let external_id =
                            format!("{}.{}.{}.{policy_name}", table[0], table[1], table[2]);
                        for &i in &indices {
                            all[i].outcome.feedback.actual_name = policy_name.clone();
                            all[i].outcome.feedback.external_id = Some(external_id.clone());
                            all[i].outcome.statements = statements.clone();
                        }
                        if !statements.is_empty() {
                            transactions.push((indices[0], statements));
                            groups.insert(indices[0], indices);
                        }
                    }
                }
            }
            for (index, error) in self.send(transactions).await {
                for &i in groups.get(&index).map(Vec::as_slice).unwrap_or(&[index]) {
                    all[i].fail(error.clone());
                }
            }
            Ok(())
        }

        /// The statements of one table's filters: (policy name, statements), or why they
        /// cannot be applied.
        async fn filter_table(
            &mut self,
            table: &[String; 3],
            all: &mut [Planned],
            indices: &[usize],
        ) -> Result<Result<(String, Vec<String>), String>, Error> {
            let Some(domain) = self.domain(table).await? else {
                return Ok(Err(format!("table {:?} does not exist", table.join("."))));
            };
            let argument = format!(
                "REF_ENTITY_NAME => {}, REF_ENTITY_DOMAIN => '{}'",
                quote_literal(&quoted(&[&table[0], &table[1], &table[2]])),
                domain.to_ascii_lowercase()
            );
            let current = self
                .references(&table[0], &argument)
                .await?
                .into_iter()
                .find(|r| r.kind == "ROW_ACCESS_POLICY");
            if let Some(current) = &current
                && !is_raito_filter(&current.policy[2])
            {
                return Ok(Err(format!(
                    "{:?} has the row access policy {:?}, which Raito does not manage; it was \
                     left as it is",
                    table.join("."),
                    current.policy.join(".")
                )));
            }
            let table_sql = quoted(&[&table[0], &table[1], &table[2]]);
            let live: Vec<usize> = indices
                .iter()
                .copied()
                .filter(|&i| !all[i].ap.delete)
                .collect();
            if live.is_empty() {
                // Every filter of the table is deleted: Raito's policy goes.
                let mut statements = Vec::new();
                let mut name = String::new();
                if let Some(current) = current {
                    let old = quoted(&[&current.policy[0], &current.policy[1], &current.policy[2]]);
                    statements.push(format!(
                        "ALTER {domain} {table_sql} DROP ROW ACCESS POLICY {old}"
                    ));
                    statements.push(format!("DROP ROW ACCESS POLICY IF EXISTS {old}"));
                    name = current.policy[2].clone();
                }
                return Ok(Ok((name, statements)));
            }
            let mut filters = Vec::new();
            for &i in &live {
                // filterCriteria first, as Go reads it first (`filterExpression`).
                let rendered = match (&all[i].ap.filter_criteria, &all[i].ap.policy_rule) {
                    (Some(criteria), _) => rule::render_criteria(criteria),
                    (None, Some(policy_rule)) => rule::render(policy_rule),
                    (None, None) => Err("a filter needs a policyRule or filterCriteria".to_owned()),
                };
                let rule = match rendered {
                    Ok(rule) => rule,
                    Err(e) => {
                        all[i].fail(e.clone());
                        return Ok(Err(format!(
                            "another filter of this table cannot be applied: {e}"
                        )));
                    }
                };
                let who = self.beneficiaries(&mut all[i]);
                filters.push(Filter { who, rule });
            }
            let types = self.column_types(table).await?;
            let policy = match filter_policy(&table[1], &table[2], &filters, &types) {
                Ok(policy) => policy,
                Err(e) => return Ok(Err(e)),
            };
            if current.as_ref().is_some_and(|c| c.policy[2] == policy.name) {
                return Ok(Ok((policy.name, Vec::new())));
            }
            let new = quoted(&[&table[0], &table[1], &policy.name]);
            let on = policy
                .arguments
                .iter()
                .map(|a| quote_ident(a))
                .collect::<Vec<_>>()
                .join(", ");
            let comment = managed_comment(&all[live[0]].ap.id);
            let mut statements = vec![format!(
                "CREATE ROW ACCESS POLICY IF NOT EXISTS {new} AS {} RETURNS BOOLEAN -> {} COMMENT = {}",
                policy.signature,
                policy.body,
                quote_literal(&comment)
            )];
            if policy.arguments.is_empty() {
                return Ok(Err(
                    "a row access policy needs a column: the rules of this table read none"
                        .to_owned(),
                ));
            }
            match current {
                None => statements.push(format!(
                    "ALTER {domain} {table_sql} ADD ROW ACCESS POLICY {new} ON ({on})"
                )),
                Some(current) => {
                    let old = quoted(&[&current.policy[0], &current.policy[1], &current.policy[2]]);
                    statements.push(format!(
                        "ALTER {domain} {table_sql} DROP ROW ACCESS POLICY {old}, ADD ROW ACCESS \
                         POLICY {new} ON ({on})"
                    ));
                    statements.push(format!("DROP ROW ACCESS POLICY IF EXISTS {old}"));
                }
            }
            Ok(Ok((policy.name, statements)))
        }
    }
}
