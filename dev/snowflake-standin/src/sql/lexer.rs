//! Tokens of Snowflake SQL, as far as the served statements need them: words, quoted
//! identifiers (`""` escapes), string literals (`''` and backslash escapes), numbers, symbols,
//! and comments skipped. Each token keeps its line, its position in the line (0-based, as
//! Snowflake's messages count) and the text as written.

use crate::error::SqlError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// An unquoted word, as written (keywords and identifiers alike).
    Word(String),
    /// A double-quoted identifier, unescaped.
    Quoted(String),
    /// A single-quoted string literal, unescaped.
    Str(String),
    /// A number, as written.
    Num(String),
    /// Any other character; `<>`, `!=`, `<=`, `>=` and `||` come as one symbol.
    Sym(String),
    Eof,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub line: usize,
    pub pos: usize,
    /// Byte offsets of the token in the statement text.
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// The token as a syntax error quotes it.
    pub fn shown<'a>(&self, sql: &'a str) -> &'a str {
        if self.tok == Tok::Eof {
            "<EOF>"
        } else {
            &sql[self.start..self.end]
        }
    }

    pub fn is_word(&self, keyword: &str) -> bool {
        matches!(&self.tok, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    pub fn is_sym(&self, symbol: &str) -> bool {
        matches!(&self.tok, Tok::Sym(s) if s == symbol)
    }
}

struct Cursor<'a> {
    sql: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    line: usize,
    line_start: usize,
}

impl Cursor<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).map(|&(_, c)| c)
    }

    fn offset(&self) -> usize {
        self.chars.get(self.i).map_or(self.sql.len(), |&(o, _)| o)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.line_start = self.i;
        }
        Some(c)
    }

    /// Position of the current character in its line, in characters.
    fn pos(&self) -> usize {
        self.i - self.line_start
    }

    fn eof_error(&self) -> SqlError {
        SqlError::syntax(self.line, self.pos(), "<EOF>")
    }
}

pub(crate) fn lex(sql: &str) -> Result<Vec<Token>, SqlError> {
    let mut cur = Cursor {
        sql,
        chars: sql.char_indices().collect(),
        i: 0,
        line: 1,
        line_start: 0,
    };
    let mut tokens = Vec::new();
    while let Some(c) = cur.peek(0) {
        if c.is_whitespace() {
            cur.bump();
            continue;
        }
        if (c == '-' && cur.peek(1) == Some('-')) || (c == '/' && cur.peek(1) == Some('/')) {
            while cur.peek(0).is_some_and(|c| c != '\n') {
                cur.bump();
            }
            continue;
        }
        if c == '/' && cur.peek(1) == Some('*') {
            cur.bump();
            cur.bump();
            loop {
                match cur.bump() {
                    None => return Err(cur.eof_error()),
                    Some('*') if cur.peek(0) == Some('/') => {
                        cur.bump();
                        break;
                    }
                    Some(_) => {}
                }
            }
            continue;
        }
        let (line, pos, start) = (cur.line, cur.pos(), cur.offset());
        let tok = if c.is_alphabetic() || c == '_' {
            let mut word = String::new();
            while let Some(c) = cur
                .peek(0)
                .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '$')
            {
                word.push(c);
                cur.bump();
            }
            Tok::Word(word)
        } else if c.is_ascii_digit() {
            let mut number = String::new();
            while let Some(c) = cur.peek(0).filter(|c| c.is_ascii_digit() || *c == '.') {
                number.push(c);
                cur.bump();
            }
            Tok::Num(number)
        } else if c == '"' {
            cur.bump();
            let mut name = String::new();
            loop {
                match cur.bump() {
                    None => return Err(cur.eof_error()),
                    Some('"') if cur.peek(0) == Some('"') => {
                        cur.bump();
                        name.push('"');
                    }
                    Some('"') => break,
                    Some(c) => name.push(c),
                }
            }
            Tok::Quoted(name)
        } else if c == '\'' {
            cur.bump();
            let mut text = String::new();
            loop {
                match cur.bump() {
                    None => return Err(cur.eof_error()),
                    Some('\'') if cur.peek(0) == Some('\'') => {
                        cur.bump();
                        text.push('\'');
                    }
                    Some('\'') => break,
                    Some('\\') => match cur.bump() {
                        None => return Err(cur.eof_error()),
                        Some('n') => text.push('\n'),
                        Some('t') => text.push('\t'),
                        Some('r') => text.push('\r'),
                        Some('0') => text.push('\0'),
                        Some(c) => text.push(c),
                    },
                    Some(c) => text.push(c),
                }
            }
            Tok::Str(text)
        } else {
            cur.bump();
            let pair = cur.peek(0).map(|next| format!("{c}{next}"));
            match pair.as_deref() {
                Some(two @ ("<>" | "!=" | "<=" | ">=" | "||")) => {
                    cur.bump();
                    Tok::Sym(two.to_owned())
                }
                _ => Tok::Sym(c.to_string()),
            }
        };
        tokens.push(Token {
            tok,
            line,
            pos,
            start,
            end: cur.offset(),
        });
    }
    tokens.push(Token {
        tok: Tok::Eof,
        line: cur.line,
        pos: cur.pos(),
        start: sql.len(),
        end: sql.len(),
    });
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(sql: &str) -> Vec<Tok> {
        match lex(sql) {
            Ok(tokens) => tokens.into_iter().map(|t| t.tok).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn quoted_names_and_strings_are_unescaped() {
        assert_eq!(
            toks(r#"select "a""b", 'it''s \'x\'' -- note"#),
            vec![
                Tok::Word("select".into()),
                Tok::Quoted("a\"b".into()),
                Tok::Sym(",".into()),
                Tok::Str("it's 'x'".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn positions_count_from_zero_within_the_line() {
        let tokens = lex("SHOW\n  USERS /* c */ LIMIT").unwrap_or_default();
        let at: Vec<(usize, usize)> = tokens.iter().map(|t| (t.line, t.pos)).collect();
        assert_eq!(at, vec![(1, 0), (2, 2), (2, 16), (2, 21)]);
    }

    #[test]
    fn an_unterminated_string_is_a_syntax_error_at_the_end() {
        let error = lex("select 'abc").err();
        assert_eq!(
            error.map(|e| e.message),
            Some(
                "SQL compilation error:\nsyntax error line 1 at position 11 unexpected '<EOF>'."
                    .to_owned()
            )
        );
    }
}
