//! Row filter rules (`policyRule` of a `filtered` access provider) for Snowflake row access
//! policies: the text parsed as a SQL expression with sqlparser's Snowflake dialect and
//! accepted only when it stays within a small, side-effect-free subset, then written again
//! from the syntax tree with every identifier quoted and every literal re-quoted. The text
//! Raito sent is never pasted into SQL. (The Go connector pastes it as it is, after replacing
//! `{COLUMN}` placeholders by the bare names: snowflake/data_access_sync_to_target.go
//! `filterExpressionOfPolicyRule`.)
//!
//! Accepted: `{COLUMN}` placeholders and column names (one part; unquoted names fold to upper
//! case, as Snowflake resolves them), numbers, strings, booleans, `NULL`, comparisons
//! (`= != <> < <= > >=`), `AND`, `OR`, `NOT`, unary `-`/`+`, `IN (…)` lists, `IS [NOT] NULL`,
//! `[NOT] LIKE`/`ILIKE`, `[NOT] BETWEEN`, parentheses. Everything else (function calls,
//! subqueries, qualified names, casts, parameters) is refused. The columns the rule reads are
//! the policy's arguments.

use std::collections::BTreeSet;

use sqlparser::ast::{BinaryOperator, Expr, Ident, UnaryOperator, Value};
use sqlparser::dialect::SnowflakeDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::super::client::{quote_ident, quote_literal};

/// How deeply expressions may nest (a guard against stack exhaustion).
const MAX_DEPTH: usize = 64;

/// A rule rendered: the expression and the columns it reads (their names as stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub expression: String,
    pub columns: BTreeSet<String>,
}

/// `{NAME}` placeholders (Go's `\{([a-zA-Z0-9]+)\}`) replaced by the name quoted upper-case, so
/// the parser sees a quoted identifier.
fn placeholders(rule: &str) -> String {
    let mut out = String::with_capacity(rule.len());
    let mut rest = rule;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close)
                if close > 0 && after[..close].chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                out.push_str(&quote_ident(&after[..close].to_ascii_uppercase()));
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses `rule` and renders it in the safe form, or says why it is refused.
pub fn render(rule: &str) -> Result<Rendered, String> {
    let text = placeholders(rule);
    let dialect = SnowflakeDialect {};
    let not_an_expression = |e: sqlparser::parser::ParserError| {
        let reason: String = e.to_string().escape_debug().collect();
        format!("policyRule {rule:?} is not a SQL expression: {reason}")
    };
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(MAX_DEPTH)
        .try_with_sql(&text)
        .map_err(not_an_expression)?;
    let expr = parser.parse_expr().map_err(not_an_expression)?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(format!(
            "policyRule {rule:?}: unexpected {:?} after the expression (one expression only)",
            next.token.to_string()
        ));
    }
    let mut rendered = Rendered {
        expression: String::new(),
        columns: BTreeSet::new(),
    };
    write(&expr, &mut rendered, 0).map_err(|why| format!("policyRule {rule:?}: {why}"))?;
    Ok(rendered)
}

/// Renders a `filterCriteria` (Raito's boolean expression, raito-io/bexpression
/// `DataComparisonExpression` as JSON) in the same safe form: comparisons (`Equal`,
/// `NotEqual`, `LessThan`, `LessThanOrEqual`, `GreaterThan`, `GreaterThanOrEqual`) of column
/// references and literals, `And`/`Or` aggregators, `Not`, and boolean literals, as the Go
/// connector's `FilterCriteriaBuilder` (snowflake/filter_criteria_builder.go) accepts them.
/// A reference is a column data object (`entityType: DataObject`, its full name's column) or
/// a column by name (`ColumnReferenceByName`, folded to upper case as an unquoted name).
/// Timestamps are refused, as Go refuses them.
pub fn render_criteria(criteria: &serde_json::Value) -> Result<Rendered, String> {
    let mut rendered = Rendered {
        expression: String::new(),
        columns: BTreeSet::new(),
    };
    criteria_expression(criteria, &mut rendered, 0)
        .map_err(|why| format!("filterCriteria: {why}"))?;
    Ok(rendered)
}

/// The one key of an object that must have exactly one of `keys`.
fn one_of<'v>(
    value: &'v serde_json::Value,
    keys: &[&'static str],
    what: &str,
) -> Result<(&'static str, &'v serde_json::Value), String> {
    let object = value
        .as_object()
        .ok_or_else(|| format!("{what} is not an object"))?;
    let present: Vec<(&'static str, &serde_json::Value)> = keys
        .iter()
        .filter_map(|k| object.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
        .collect();
    match present.as_slice() {
        [one] => Ok(*one),
        _ => Err(format!("{what} needs exactly one of {}", keys.join(", "))),
    }
}

fn criteria_expression(
    value: &serde_json::Value,
    out: &mut Rendered,
    depth: usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("nested too deeply".to_owned());
    }
    let d = depth + 1;
    match one_of(
        value,
        &["literal", "comparison", "aggregator", "unaryExpression"],
        "an expression",
    )? {
        ("literal", literal) => {
            let b = literal
                .as_bool()
                .ok_or("an expression's literal is not a boolean")?;
            out.expression.push_str(if b { "TRUE" } else { "FALSE" });
        }
        ("comparison", comparison) => {
            let operator = match comparison["operator"].as_str() {
                Some("Equal") => "=",
                Some("NotEqual") => "!=",
                Some("LessThan") => "<",
                Some("LessThanOrEqual") => "<=",
                Some("GreaterThan") => ">",
                Some("GreaterThanOrEqual") => ">=",
                other => return Err(format!("unknown comparison operator {other:?}")),
            };
            out.expression.push('(');
            criteria_operand(&comparison["leftOperand"], out)?;
            out.expression.push(' ');
            out.expression.push_str(operator);
            out.expression.push(' ');
            criteria_operand(&comparison["rightOperand"], out)?;
            out.expression.push(')');
        }
        ("aggregator", aggregator) => {
            let operator = match aggregator["operator"].as_str() {
                Some("And") => " AND ",
                Some("Or") => " OR ",
                other => return Err(format!("unknown aggregator operator {other:?}")),
            };
            let operands = aggregator["operands"]
                .as_array()
                .filter(|o| !o.is_empty())
                .ok_or("an aggregator without operands")?;
            out.expression.push('(');
            for (i, operand) in operands.iter().enumerate() {
                if i > 0 {
                    out.expression.push_str(operator);
                }
                criteria_expression(operand, out, d)?;
            }
            out.expression.push(')');
        }
        (_, unary) => {
            if unary["operator"].as_str() != Some("Not") {
                return Err(format!("unknown unary operator {:?}", unary["operator"]));
            }
            out.expression.push_str("(NOT ");
            criteria_expression(&unary["expression"], out, d)?;
            out.expression.push(')');
        }
    }
    Ok(())
}

fn criteria_operand(value: &serde_json::Value, out: &mut Rendered) -> Result<(), String> {
    match one_of(value, &["reference", "literal"], "an operand")? {
        ("reference", reference) => {
            let id = reference["entityId"]
                .as_str()
                .ok_or("a reference without entityId")?;
            let name = match reference["entityType"].as_str() {
                Some("DataObject") => {
                    let object: serde_json::Value = serde_json::from_str(id)
                        .map_err(|e| format!("a data object reference is not JSON: {e}"))?;
                    if object["type"].as_str() != Some("column") {
                        return Err(format!("a reference to {:?}, not a column", object["type"]));
                    }
                    let full_name = object["fullName"].as_str().unwrap_or_default();
                    match super::import::split_names(full_name).as_slice() {
                        [_, _, _, column] => column.clone(),
                        _ => return Err(format!("{full_name:?} is not a column's full name")),
                    }
                }
                Some("ColumnReferenceByName") => id.to_uppercase(),
                other => return Err(format!("unknown reference entity type {other:?}")),
            };
            out.expression.push_str(&quote_ident(&name));
            out.columns.insert(name);
        }
        (_, literal) => match one_of(
            literal,
            &["bool", "int", "float", "string", "timestamp"],
            "a literal",
        )? {
            ("bool", b) => out.expression.push_str(if b.as_bool() == Some(true) {
                "TRUE"
            } else {
                "FALSE"
            }),
            ("int", n) => out.expression.push_str(
                &n.as_i64()
                    .ok_or("an int literal is not an integer")?
                    .to_string(),
            ),
            ("float", n) => {
                let n = n.as_f64().ok_or("a float literal is not a number")?;
                if !n.is_finite() {
                    return Err("a float literal is not finite".to_owned());
                }
                out.expression.push_str(&format!("{n:?}"));
            }
            ("string", text) => out.expression.push_str(&quote_literal(
                text.as_str().ok_or("a string literal is not a string")?,
            )),
            _ => {
                return Err(
                    "timestamp literals are not supported (as in the Go connector)".to_owned(),
                );
            }
        },
    }
    Ok(())
}

fn write(expr: &Expr, out: &mut Rendered, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("nested too deeply".to_owned());
    }
    let d = depth + 1;
    match expr {
        Expr::Identifier(ident) => column(ident, out),
        Expr::Value(value) => literal(&value.value, out)?,
        Expr::Nested(inner) => {
            out.expression.push('(');
            write(inner, out, d)?;
            out.expression.push(')');
        }
        Expr::BinaryOp { left, op, right } => {
            let op = match op {
                BinaryOperator::Eq => "=",
                BinaryOperator::NotEq => "!=",
                BinaryOperator::Lt => "<",
                BinaryOperator::LtEq => "<=",
                BinaryOperator::Gt => ">",
                BinaryOperator::GtEq => ">=",
                BinaryOperator::And => "AND",
                BinaryOperator::Or => "OR",
                other => return Err(format!("the operator {other} is not allowed")),
            };
            out.expression.push('(');
            write(left, out, d)?;
            out.expression.push(' ');
            out.expression.push_str(op);
            out.expression.push(' ');
            write(right, out, d)?;
            out.expression.push(')');
        }
        Expr::UnaryOp { op, expr } => {
            let op = match op {
                UnaryOperator::Not => "NOT ",
                UnaryOperator::Minus => "-",
                UnaryOperator::Plus => "+",
                other => return Err(format!("the operator {other} is not allowed")),
            };
            out.expression.push('(');
            out.expression.push_str(op);
            write(expr, out, d)?;
            out.expression.push(')');
        }
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
            out.expression.push('(');
            write(inner, out, d)?;
            out.expression.push_str(if matches!(expr, Expr::IsNull(_)) {
                " IS NULL)"
            } else {
                " IS NOT NULL)"
            });
        }
        Expr::InList {
            expr: inner,
            list,
            negated,
        } => {
            if list.is_empty() {
                return Err("an empty IN list".to_owned());
            }
            out.expression.push('(');
            write(inner, out, d)?;
            out.expression
                .push_str(if *negated { " NOT IN (" } else { " IN (" });
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.expression.push_str(", ");
                }
                write(item, out, d)?;
            }
            out.expression.push_str("))");
        }
        Expr::Between {
            expr: inner,
            negated,
            low,
            high,
        } => {
            out.expression.push('(');
            write(inner, out, d)?;
            out.expression.push_str(if *negated {
                " NOT BETWEEN "
            } else {
                " BETWEEN "
            });
            write(low, out, d)?;
            out.expression.push_str(" AND ");
            write(high, out, d)?;
            out.expression.push(')');
        }
        Expr::Like {
            negated,
            expr: inner,
            pattern,
            escape_char,
            any,
        }
        | Expr::ILike {
            negated,
            expr: inner,
            pattern,
            escape_char,
            any,
        } => {
            if *any {
                return Err("LIKE ANY is not allowed".to_owned());
            }
            let keyword = if matches!(expr, Expr::Like { .. }) {
                "LIKE"
            } else {
                "ILIKE"
            };
            out.expression.push('(');
            write(inner, out, d)?;
            out.expression
                .push_str(if *negated { " NOT " } else { " " });
            out.expression.push_str(keyword);
            out.expression.push(' ');
            write(pattern, out, d)?;
            if let Some(escape) = escape_char.as_deref() {
                out.expression.push_str(" ESCAPE ");
                write(escape, out, d)?;
            }
            out.expression.push(')');
        }
        Expr::CompoundIdentifier(_) => {
            return Err("qualified names are not allowed: name a column of the table".to_owned());
        }
        Expr::Function(_) => return Err("function calls are not allowed".to_owned()),
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
            return Err("subqueries are not allowed".to_owned());
        }
        other => return Err(format!("{other} is not allowed")),
    }
    Ok(())
}

/// A column: unquoted names fold to upper case, as Snowflake resolves them.
fn column(ident: &Ident, out: &mut Rendered) {
    let name = match ident.quote_style {
        Some('"') => ident.value.clone(),
        _ => ident.value.to_uppercase(),
    };
    out.expression.push_str(&quote_ident(&name));
    out.columns.insert(name);
}

fn literal(value: &Value, out: &mut Rendered) -> Result<(), String> {
    match value {
        Value::Number(number, _) => {
            // The parser accepts digits, one dot and an exponent only.
            if !number
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
            {
                return Err(format!("the number {number:?} is not allowed"));
            }
            out.expression.push_str(number);
        }
        Value::SingleQuotedString(text) => out.expression.push_str(&quote_literal(text)),
        Value::Boolean(true) => out.expression.push_str("TRUE"),
        Value::Boolean(false) => out.expression.push_str("FALSE"),
        Value::Null => out.expression.push_str("NULL"),
        other => return Err(format!("the literal {other} is not allowed")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(rule: &str) -> (String, Vec<String>) {
        let r = render(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
        (r.expression, r.columns.into_iter().collect())
    }

    #[test]
    fn placeholders_and_names_become_quoted_upper_case_columns() {
        assert_eq!(
            ok("{Region} = 'EU' AND amount > 10"),
            (
                "((\"REGION\" = 'EU') AND (\"AMOUNT\" > 10))".to_owned(),
                vec!["AMOUNT".to_owned(), "REGION".to_owned()]
            )
        );
        assert_eq!(
            ok("\"my col\" IN ('a', 'b''c') OR x IS NULL"),
            (
                "((\"my col\" IN ('a', 'b\\'c')) OR (\"X\" IS NULL))".to_owned(),
                vec!["X".to_owned(), "my col".to_owned()]
            )
        );
        assert_eq!(
            ok("NOT (n BETWEEN -1 AND 2.5) AND s NOT LIKE 'a%'").0,
            "((NOT ((\"N\" BETWEEN (-1) AND 2.5))) AND (\"S\" NOT LIKE 'a%'))"
        );
    }

    #[test]
    fn filter_criteria_render_as_the_go_builder_reads_them() {
        let criteria = serde_json::json!({"aggregator": {"operator": "Or", "operands": [
            {"comparison": {"operator": "Equal",
                "leftOperand": {"reference": {"entityType": "DataObject",
                    "entityId": "{\"fullName\":\"DB.S.T.Region\",\"type\":\"column\"}"}},
                "rightOperand": {"literal": {"string": "it's EU"}}}},
            {"unaryExpression": {"operator": "Not", "expression": {"comparison": {
                "operator": "GreaterThanOrEqual",
                "leftOperand": {"reference": {"entityType": "ColumnReferenceByName", "entityId": "age"}},
                "rightOperand": {"literal": {"int": 65}}}}}},
            {"literal": false}
        ]}});
        let rendered = render_criteria(&criteria).expect("rendered");
        assert_eq!(
            rendered.expression,
            "((\"Region\" = 'it\\'s EU') OR (NOT (\"AGE\" >= 65)) OR FALSE)"
        );
        assert_eq!(
            rendered.columns.into_iter().collect::<Vec<_>>(),
            vec!["AGE".to_owned(), "Region".to_owned()]
        );
        for bad in [
            serde_json::json!({"comparison": {"operator": "Like"}}),
            serde_json::json!({"literal": true, "comparison": {}}),
            serde_json::json!({"comparison": {"operator": "Equal",
                "leftOperand": {"literal": {"timestamp": "2024-01-01T00:00:00Z"}},
                "rightOperand": {"literal": {"int": 1}}}}),
            serde_json::json!({"aggregator": {"operator": "And", "operands": []}}),
        ] {
            assert!(render_criteria(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn anything_beyond_the_subset_is_refused() {
        for rule in [
            "region = (SELECT max(r) FROM other)",
            "CURRENT_ROLE() = 'X'",
            "t.region = 'EU'",
            "EXISTS (SELECT 1)",
            "region = 'EU'; DROP TABLE t",
            "region = 'EU' -- comment\n OR TRUE) OR (TRUE",
            "a || b = 'x'",
            "CAST(a AS TEXT) = 'x'",
            "a = ?",
        ] {
            assert!(render(rule).is_err(), "{rule} was accepted");
        }
    }
}
