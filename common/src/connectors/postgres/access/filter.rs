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
                BinaryOperator::Eq => "=",
                BinaryOperator::NotEq => "<>",
                BinaryOperator::Lt => "<",
                BinaryOperator::LtEq => "<=",
                BinaryOperator::Gt => ">",
                BinaryOperator::GtEq => ">=",
                BinaryOperator::And => "AND",
                BinaryOperator::Or => "OR",
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
                UnaryOperator::Not => "NOT ",
                UnaryOperator::Minus => "-",
                UnaryOperator::Plus => "+",
                other => return Err(format!("operator {other} is not allowed in a row filter")),
            };
            out.push('(');
            out.push_str(op);
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
            out.push('(');
            write(expr, out, d)?;
            out.push_str(if *negated { " NOT IN (" } else { " IN (" });
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(item, out, d)?;
            }
            out.push_str("))");
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            out.push('(');
            write(expr, out, d)?;
            out.push_str(if *negated {
                " NOT BETWEEN "
            } else {
                " BETWEEN "
            });
            write(low, out, d)?;
            out.push_str(" AND ");
            write(high, out, d)?;
            out.push(')');
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
            out.push_str(&format!(" AS {name})"));
        }
        Expr::TypedString(typed) => {
            let name = type_name(&typed.data_type)?;
            let Value::SingleQuotedString(text) = &typed.value.value else {
                return Err("a typed literal needs a plain string".to_owned());
            };
            out.push_str(&format!("CAST({} AS {name})", quote_literal(text)));
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
    out.push('(');
    write(expr, out, depth)?;
    out.push_str(if negated { " NOT " } else { " " });
    out.push_str(keyword);
    out.push(' ');
    write(pattern, out, depth)?;
    if let Some(escape) = escape {
        out.push_str(" ESCAPE ");
        write(escape, out, depth)?;
    }
    out.push(')');
    Ok(())
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
    fn safe_rules_are_rendered_with_quoted_identifiers() {
        assert_eq!(
            render("Region = 'EU' AND \"Amount €\" >= 10").expect("safe"),
            r#"(("region" = 'EU') AND ("Amount €" >= 10))"#
        );
        assert_eq!(
            render("country IN ('BE', 'it''s') OR x IS NULL").expect("safe"),
            r#"(("country" IN ('BE', 'it''s')) OR ("x" IS NULL))"#
        );
        assert_eq!(
            render("NOT (d BETWEEN DATE '2024-01-01' AND '2024-12-31'::date)").expect("safe"),
            r#"(NOT (("d" BETWEEN CAST('2024-01-01' AS date) AND CAST('2024-12-31' AS date))))"#
        );
        assert_eq!(
            render("name NOT LIKE 'a\\%' ESCAPE '\\' AND n <> -1").expect("safe"),
            r#"(("name" NOT LIKE 'a\%' ESCAPE '\') AND ("n" <> (-1)))"#
        );
        assert_eq!(
            render("active = true").expect("safe"),
            r#"("active" = TRUE)"#
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
