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
