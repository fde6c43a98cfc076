//! Row filters (`filtered` access providers): the `policyRule` text parsed as a SQL
//! expression and accepted only when it stays within a small, side-effect-free subset, then
//! written again from the syntax tree with every identifier quoted and every literal
//! re-quoted. The text Raito sent is never pasted into SQL.
//!
//! Accepted: column names (one part; unquoted names fold to lower case as in PostgreSQL),
//! numbers, strings, booleans, `NULL`, typed literals and casts to a few built-in types
//! (`date`, `timestamp`, `timestamptz`, `integer`, `bigint`, `smallint`, `numeric`, `text`,
//! `boolean`), comparisons (`= <> < <= > >=`), `AND`, `OR`, `NOT`, unary `-`/`+`,
//! `IN (…)` lists, `IS [NOT] NULL`, `[NOT] LIKE`/`ILIKE` (with `ESCAPE`), `[NOT] BETWEEN`,
//! parentheses. Everything else (function calls, subqueries, operators on other types, casts
//! to other types, qualified names, parameters) is refused.
//!
//! Every operator is written `OPERATOR(pg_catalog.…)` and every type `pg_catalog.…`: a policy's
//! operators are bound when it is created and run as the querying user, so an operator a user
//! planted in a schema on the search path (`public.=(varchar, text)`) must never be the one
//! bound. `IN` is written `= ANY (ARRAY[…])`, `BETWEEN` as two comparisons and `LIKE` as its
//! operator (`~~`, with `pg_catalog.like_escape` for `ESCAPE`), for the same reason.

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, ExactNumberInfo, Expr, Ident, TimezoneInfo, UnaryOperator,
    Value,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use super::names::{quote_ident, quote_literal};

/// How deeply expressions may nest (a guard against stack exhaustion).
const MAX_DEPTH: usize = 64;

/// Parses `rule` and renders it in the safe form, or says why it is refused.
pub fn render(rule: &str) -> Result<String, String> {
    let dialect = PostgreSqlDialect {};
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(MAX_DEPTH)
        .try_with_sql(rule)
        .map_err(|e| format!("policyRule {rule:?} is not a SQL expression: {e}"))?;
    let expr = parser
        .parse_expr()
        .map_err(|e| format!("policyRule {rule:?} is not a SQL expression: {e}"))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(format!(
            "policyRule {rule:?}: unexpected {} after the expression (one expression only)",
            next.token
        ));
    }
    let mut out = String::new();
    write(&expr, &mut out, 0).map_err(|why| format!("policyRule {rule:?}: {why}"))?;
    Ok(out)
}

fn write(expr: &Expr, out: &mut String, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("the expression nests too deeply".to_owned());
    }
    let d = depth + 1;
    match expr {
        Expr::Identifier(ident) => out.push_str(&column(ident)),
        Expr::Value(value) => literal(&value.value, out)?,
        Expr::Nested(inner) => {
            out.push('(');
            write(inner, out, d)?;
            out.push(')');
        }
        Expr::BinaryOp { left, op, right } => {
            let op = match op {
                BinaryOperator::Eq => catalog_operator("="),
                BinaryOperator::NotEq => catalog_operator("<>"),
                BinaryOperator::Lt => catalog_operator("<"),
                BinaryOperator::LtEq => catalog_operator("<="),
                BinaryOperator::Gt => catalog_operator(">"),
                BinaryOperator::GtEq => catalog_operator(">="),
                BinaryOperator::And => "AND".to_owned(),
                BinaryOperator::Or => "OR".to_owned(),
                other => return Err(format!("operator {other} is not allowed in a row filter")),
            };
            out.push('(');
            write(left, out, d)?;
            out.push_str(&format!(" {op} "));
            write(right, out, d)?;
            out.push(')');
        }
        Expr::UnaryOp { op, expr } => {
            let op = match op {
                UnaryOperator::Not => "NOT ".to_owned(),
                UnaryOperator::Minus => format!("{} ", catalog_operator("-")),
                UnaryOperator::Plus => format!("{} ", catalog_operator("+")),
                other => return Err(format!("operator {other} is not allowed in a row filter")),
            };
            out.push('(');
            out.push_str(&op);
            write(expr, out, d)?;
            out.push(')');
        }
        Expr::IsNull(inner) | Expr::IsNotNull(inner) => {
            out.push('(');
            write(inner, out, d)?;
            out.push_str(if matches!(expr, Expr::IsNull(_)) {
                " IS NULL)"
            } else {
                " IS NOT NULL)"
            });
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            if list.is_empty() {
                return Err("an empty IN list".to_owned());
            }
            // `x IN (a, b)` is `x = ANY (ARRAY[a, b])`; `NOT IN` its negation (the same
            // answer, NULLs included).
            out.push_str(if *negated { "(NOT (" } else { "(" });
            write(expr, out, d)?;
            out.push_str(&format!(" {} ANY (ARRAY[", catalog_operator("=")));
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(item, out, d)?;
            }
            out.push_str(if *negated { "])))" } else { "]))" });
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            // `x BETWEEN a AND b` is `x >= a AND x <= b`; `NOT BETWEEN` is `x < a OR x > b`.
            let (lower, join, upper) = if *negated {
                ("<", "OR", ">")
            } else {
                (">=", "AND", "<=")
            };
            out.push_str("((");
            write(expr, out, d)?;
            out.push_str(&format!(" {} ", catalog_operator(lower)));
            write(low, out, d)?;
            out.push_str(&format!(") {join} ("));
            write(expr, out, d)?;
            out.push_str(&format!(" {} ", catalog_operator(upper)));
            write(high, out, d)?;
            out.push_str("))");
        }
        Expr::Like {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => like(
            "LIKE",
            *negated,
            *any,
            expr,
            pattern,
            escape_char.as_deref(),
            out,
            d,
        )?,
        Expr::ILike {
            negated,
            any,
            expr,
            pattern,
            escape_char,
        } => like(
            "ILIKE",
            *negated,
            *any,
            expr,
            pattern,
            escape_char.as_deref(),
            out,
            d,
        )?,
        Expr::Cast {
            kind,
            expr,
            data_type,
            format,
        } => {
            if format.is_some() || matches!(kind, CastKind::TryCast | CastKind::SafeCast) {
                return Err("only plain casts are allowed in a row filter".to_owned());
            }
            let name = type_name(data_type)?;
            out.push_str("CAST(");
            write(expr, out, d)?;
            out.push_str(&format!(" AS pg_catalog.{name})"));
        }
        Expr::TypedString(typed) => {
            let name = type_name(&typed.data_type)?;
            let Value::SingleQuotedString(text) = &typed.value.value else {
                return Err("a typed literal needs a plain string".to_owned());
            };
            out.push_str(&format!(
                "CAST({} AS pg_catalog.{name})",
                quote_literal(text)
            ));
        }
        other => {
            return Err(format!(
                "{other} is not allowed in a row filter (allowed: columns, literals, \
                 comparisons, AND/OR/NOT, IN lists, IS [NOT] NULL, LIKE, BETWEEN)"
            ));
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn like(
    keyword: &str,
    negated: bool,
    any: bool,
    expr: &Expr,
    pattern: &Expr,
    escape: Option<&Expr>,
    out: &mut String,
    depth: usize,
) -> Result<(), String> {
    if any {
        return Err(format!("{keyword} ANY is not allowed in a row filter"));
    }
    // LIKE is the operator `~~` (`!~~` negated), ILIKE `~~*` (`!~~*`); ESCAPE is
    // `pg_catalog.like_escape(pattern, escape)`, as PostgreSQL itself rewrites them.
    let operator = match (keyword, negated) {
        ("LIKE", false) => "~~",
        ("LIKE", true) => "!~~",
        (_, false) => "~~*",
        (_, true) => "!~~*",
    };
    out.push('(');
    write(expr, out, depth)?;
    out.push_str(&format!(" {} ", catalog_operator(operator)));
    match escape {
        Some(escape) => {
            out.push_str("pg_catalog.like_escape(");
            write(pattern, out, depth)?;
            out.push_str(", ");
            write(escape, out, depth)?;
            out.push(')');
        }
        None => write(pattern, out, depth)?,
    }
    out.push(')');
    Ok(())
}

/// `OPERATOR(pg_catalog.<op>)`: the built-in operator, whatever the search path holds.
fn catalog_operator(op: &str) -> String {
    format!("OPERATOR(pg_catalog.{op})")
}

/// A column reference: quoted names as written, unquoted ones folded to lower case.
fn column(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        quote_ident(&ident.value)
    } else {
        quote_ident(&ident.value.to_lowercase())
    }
}

fn literal(value: &Value, out: &mut String) -> Result<(), String> {
    match value {
        Value::Number(text, false) => {
            // Re-checked rather than trusted: digits, one dot, an exponent.
            let valid = !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                && text
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() || c == '.');
            if !valid {
                return Err(format!("{text:?} is not a number"));
            }
            out.push_str(text);
        }
        Value::SingleQuotedString(text) | Value::EscapedStringLiteral(text) => {
            out.push_str(&quote_literal(text));
        }
        Value::Boolean(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        Value::Null => out.push_str("NULL"),
        other => {
            return Err(format!(
                "the literal {other} is not allowed in a row filter"
            ));
        }
    }
    Ok(())
}

/// The PostgreSQL name of an allowed cast target type.
fn type_name(data_type: &DataType) -> Result<&'static str, String> {
    Ok(match data_type {
        DataType::Date => "date",
        DataType::Timestamp(None, TimezoneInfo::None | TimezoneInfo::WithoutTimeZone) => {
            "timestamp"
        }
        DataType::Timestamp(None, TimezoneInfo::WithTimeZone | TimezoneInfo::Tz) => "timestamptz",
        DataType::Int(None) | DataType::Integer(None) | DataType::Int4(None) => "integer",
        DataType::BigInt(None) | DataType::Int8(None) => "bigint",
        DataType::SmallInt(None) => "smallint",
        DataType::Numeric(ExactNumberInfo::None) | DataType::Decimal(ExactNumberInfo::None) => {
            "numeric"
        }
        DataType::Text => "text",
        DataType::Boolean | DataType::Bool => "boolean",
        other => {
            return Err(format!(
                "a cast to {other} is not allowed in a row filter (allowed: date, timestamp, \
                 timestamptz, integer, bigint, smallint, numeric, text, boolean)"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_rules_are_rendered_with_quoted_identifiers_and_catalog_operators() {
        assert_eq!(
            render("Region = 'EU' AND \"Amount €\" >= 10").expect("safe"),
            r#"(("region" OPERATOR(pg_catalog.=) 'EU') AND ("Amount €" OPERATOR(pg_catalog.>=) 10))"#
        );
        assert_eq!(
            render("country IN ('BE', 'it''s') OR x IS NULL").expect("safe"),
            r#"(("country" OPERATOR(pg_catalog.=) ANY (ARRAY['BE', 'it''s'])) OR ("x" IS NULL))"#
        );
        assert_eq!(
            render("c NOT IN (1, 2)").expect("safe"),
            r#"(NOT ("c" OPERATOR(pg_catalog.=) ANY (ARRAY[1, 2])))"#
        );
        assert_eq!(
            render("NOT (d BETWEEN DATE '2024-01-01' AND '2024-12-31'::date)").expect("safe"),
            "(NOT (((\"d\" OPERATOR(pg_catalog.>=) CAST('2024-01-01' AS pg_catalog.date)) AND \
             (\"d\" OPERATOR(pg_catalog.<=) CAST('2024-12-31' AS pg_catalog.date)))))"
        );
        assert_eq!(
            render("d NOT BETWEEN 1 AND 2").expect("safe"),
            r#"(("d" OPERATOR(pg_catalog.<) 1) OR ("d" OPERATOR(pg_catalog.>) 2))"#
        );
        assert_eq!(
            render("name NOT LIKE 'a\\%' ESCAPE '\\' AND n <> -1").expect("safe"),
            "((\"name\" OPERATOR(pg_catalog.!~~) pg_catalog.like_escape('a\\%', '\\')) AND \
             (\"n\" OPERATOR(pg_catalog.<>) (OPERATOR(pg_catalog.-) 1)))"
        );
        assert_eq!(
            render("name ILIKE 'a%'").expect("safe"),
            r#"("name" OPERATOR(pg_catalog.~~*) 'a%')"#
        );
        assert_eq!(
            render("active = true").expect("safe"),
            r#"("active" OPERATOR(pg_catalog.=) TRUE)"#
        );
    }

    #[test]
    fn unsafe_rules_are_refused() {
        for rule in [
            "pg_sleep(10) IS NULL",
            "x IN (SELECT secret FROM t)",
            "EXISTS (SELECT 1)",
            "x = 1; DROP TABLE t",
            "t.x = 1",
            "x::regclass IS NOT NULL",
            "x = $1",
            "x || 'a' = 'b'",
            "",
            "x = $$a$$",
        ] {
            let result = render(rule);
            assert!(result.is_err(), "{rule:?} was accepted as {result:?}");
        }
    }
}
