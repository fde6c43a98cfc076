//! Distinguished names compared as the directory compares them: RFC 4517
//! `distinguishedNameMatch` over the RFC 4514 string form. Member values (`member`,
//! `uniqueMember`, …) and entry DNs are often written differently by the same server:
//! `cn=Eng\, Ops` and `cn=Eng\2C Ops`, `uid=ann+cn=Ann` and `cn=Ann+uid=ann`, `CN=` and `cn=`,
//! spaces around the separators. [`normalize_dn`] gives equal DNs one spelling.

/// Other names and OIDs of the attribute types common in DNs, to their usual short name.
const ALIASES: &[(&str, &str)] = &[
    ("2.5.4.3", "cn"),
    ("commonname", "cn"),
    ("2.5.4.4", "sn"),
    ("surname", "sn"),
    ("2.5.4.5", "serialnumber"),
    ("2.5.4.6", "c"),
    ("countryname", "c"),
    ("2.5.4.7", "l"),
    ("localityname", "l"),
    ("2.5.4.8", "st"),
    ("stateorprovincename", "st"),
    ("2.5.4.9", "street"),
    ("streetaddress", "street"),
    ("2.5.4.10", "o"),
    ("organizationname", "o"),
    ("2.5.4.11", "ou"),
    ("organizationalunitname", "ou"),
    ("2.5.4.12", "title"),
    ("2.5.4.42", "givenname"),
    ("gn", "givenname"),
    ("0.9.2342.19200300.100.1.1", "uid"),
    ("userid", "uid"),
    ("0.9.2342.19200300.100.1.3", "mail"),
    ("rfc822mailbox", "mail"),
    ("0.9.2342.19200300.100.1.25", "dc"),
    ("domaincomponent", "dc"),
];

/// Attribute types whose equality matching rule is case-exact (RFC 2307's `caseExactIA5Match`
/// ones); every other type is compared without case, as `caseIgnoreMatch` does.
const CASE_EXACT: &[&str] = &[
    "memberuid",
    "1.3.6.1.1.1.1.12",
    "homedirectory",
    "1.3.6.1.1.1.1.3",
    "loginshell",
    "1.3.6.1.1.1.1.4",
    "nismapentry",
    "1.3.6.1.1.1.1.27",
];

/// `dn` in one spelling shared by every DN the directory deems equal to it, or `None` when it
/// is not a DN. The result is itself an RFC 4514 DN:
///
/// - attribute types in lower case, the common OIDs and long names as their short names
///   (`2.5.4.3`, `commonName`, `CN` → `cn`; `OID.` prefixes dropped);
/// - values unescaped (`\,` and `\2C` alike, quoted values too), then compared as
///   `caseIgnoreMatch` does: leading and trailing spaces removed, inner runs of spaces made
///   one, lower case (except for the few case-exact types); written back with `\` before
///   `\ , + " ; < >` and a leading `#`;
/// - `#` hex (BER) values kept as they are, hex digits in lower case;
/// - the parts of a multi-valued RDN (`+`) sorted; spaces around `,` `+` `=` dropped.
pub fn normalize_dn(dn: &str) -> Option<String> {
    let mut parser = Parser {
        bytes: dn.as_bytes(),
        pos: 0,
    };
    let mut out = String::with_capacity(dn.len());
    parser.skip_spaces();
    if parser.at_end() {
        return Some(out);
    }
    let mut rdn: Vec<String> = Vec::new();
    loop {
        rdn.push(parser.attribute_type_and_value()?);
        match parser.next() {
            Some(b'+') => continue,
            separator => {
                if rdn.len() > 1 {
                    rdn.sort_unstable();
                }
                if !out.is_empty() {
                    out.push(','); // not the first RDN: an RDN is never written empty
                }
                for (i, ava) in rdn.drain(..).enumerate() {
                    if i > 0 {
                        out.push('+');
                    }
                    out.push_str(&ava);
                }
                match separator {
                    None => return Some(out),
                    Some(b',') => {}
                    Some(_) => return None,
                }
            }
        }
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// `type=value`, normalised, with the spaces around it; stops before `,` `+` or the end.
    fn attribute_type_and_value(&mut self) -> Option<String> {
        self.skip_spaces();
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        {
            self.pos += 1;
        }
        // ASCII only, so a char boundary.
        let attribute = attribute_type(std::str::from_utf8(&self.bytes[start..self.pos]).ok()?)?;
        self.skip_spaces();
        if self.next() != Some(b'=') {
            return None;
        }
        self.skip_spaces();
        let mut ava = String::with_capacity(attribute.len() + 16);
        ava.push_str(&attribute);
        ava.push('=');
        match self.peek() {
            Some(b'#') => {
                self.pos += 1;
                let start = self.pos;
                while self.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
                    self.pos += 1;
                }
                let hex = &self.bytes[start..self.pos];
                if hex.is_empty() || !hex.len().is_multiple_of(2) {
                    return None;
                }
                ava.push('#');
                ava.extend(hex.iter().map(|b| b.to_ascii_lowercase() as char));
                self.skip_spaces();
            }
            Some(b'"') => {
                self.pos += 1;
                let mut value = Vec::new();
                loop {
                    match self.next()? {
                        b'"' => break,
                        b'\\' => value.push(self.escaped()?),
                        byte => value.push(byte),
                    }
                }
                self.skip_spaces();
                push_value(&mut ava, &attribute, value)?;
            }
            _ => {
                let mut value = Vec::new();
                while let Some(byte) = self.peek() {
                    match byte {
                        b',' | b'+' => break,
                        b'\\' => {
                            self.pos += 1;
                            value.push(self.escaped()?);
                        }
                        _ => {
                            self.pos += 1;
                            value.push(byte);
                        }
                    }
                }
                // Trailing spaces, escaped or not, go with the space folding.
                push_value(&mut ava, &attribute, value)?;
            }
        }
        match self.peek() {
            None | Some(b',' | b'+') => Some(ava),
            Some(_) => None,
        }
    }

    /// The byte after a `\`: two hex digits (`\2C`) or the character itself (`\,`). The bytes
    /// of a multi-byte character after `\` are taken one by one, which keeps it whole.
    fn escaped(&mut self) -> Option<u8> {
        let first = self.next()?;
        if let Some(second) = self.peek()
            && first.is_ascii_hexdigit()
            && second.is_ascii_hexdigit()
        {
            self.pos += 1;
            let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
            return Some((digit(first) << 4) | digit(second));
        }
        Some(first)
    }
}

/// The type's canonical name: lower case, without `OID.`, its short name when it has one.
fn attribute_type(raw: &str) -> Option<String> {
    let mut name = raw.to_ascii_lowercase();
    if name.len() > 4 && name.starts_with("oid.") && name.as_bytes()[4].is_ascii_digit() {
        name.replace_range(..4, "");
    }
    let first = *name.as_bytes().first()?;
    let valid = if first.is_ascii_digit() {
        // numericoid: numbers separated by single dots
        name.split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    } else {
        first.is_ascii_alphabetic() && !name.contains('.')
    };
    if !valid {
        return None;
    }
    Some(match ALIASES.iter().find(|(alias, _)| *alias == name) {
        Some((_, short)) => (*short).to_owned(),
        None => name,
    })
}

/// Appends the decoded `value`, folded as `caseIgnoreMatch` does and escaped; `None` if it is
/// not UTF-8.
fn push_value(out: &mut String, attribute: &str, value: Vec<u8>) -> Option<()> {
    let value = String::from_utf8(value).ok()?;
    let mut folded = String::with_capacity(value.len());
    for (i, word) in value.split_whitespace().enumerate() {
        if i > 0 {
            folded.push(' ');
        }
        folded.push_str(word);
    }
    if !CASE_EXACT.contains(&attribute) {
        folded = folded.to_lowercase();
    }
    for (i, c) in folded.chars().enumerate() {
        match c {
            '\\' | ',' | '+' | '"' | ';' | '<' | '>' => out.push('\\'),
            '#' if i == 0 => out.push('\\'),
            _ => {}
        }
        out.push(c);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::normalize_dn;

    fn same(a: &str, b: &str) {
        let (na, nb) = (normalize_dn(a), normalize_dn(b));
        assert!(na.is_some(), "{a:?} is a DN");
        assert_eq!(na, nb, "{a:?} and {b:?}");
    }

    fn different(a: &str, b: &str) {
        let (na, nb) = (normalize_dn(a), normalize_dn(b));
        assert!(na.is_some() && nb.is_some(), "{a:?} and {b:?} are DNs");
        assert_ne!(na, nb, "{a:?} and {b:?}");
    }

    #[test]
    fn an_escaped_comma_is_the_same_in_every_escape_form() {
        same(
            r"cn=Eng\, Ops,ou=groups,dc=example",
            r"cn=Eng\2C Ops,ou=groups,dc=example",
        );
        same(
            r"cn=Eng\2c Ops,ou=groups,dc=example",
            r"cn=Eng\2C Ops,ou=groups,dc=example",
        );
        same(
            r#"cn="Eng, Ops",ou=groups,dc=example"#,
            r"cn=Eng\, Ops,ou=groups,dc=example",
        );
        assert_eq!(
            normalize_dn(r"cn=Eng\2C Ops,dc=example").as_deref(),
            Some(r"cn=eng\, ops,dc=example")
        );
        // An escaped comma is part of the value, an unescaped one separates RDNs.
        different(r"cn=Eng\,cn=Ops,dc=example", "cn=Eng,cn=Ops,dc=example");
    }

    #[test]
    fn other_escapes_are_decoded() {
        same(r"cn=a\+b,dc=x", r"cn=a\2Bb,dc=x");
        same(r"cn=a\=b\;c,dc=x", "cn=a=b;c,dc=x");
        same(r#"cn=\"q\" \<x\>,dc=x"#, r#"cn=\22q\22 \3Cx\3E,dc=x"#);
        same(r"cn=back\\slash,dc=x", r"cn=back\5Cslash,dc=x");
        same(r"cn=\#1,dc=x", r"cn=\231,dc=x");
        same(r"cn=Ren\C3\A9e,dc=x", "cn=Renée,dc=x");
        same(r"cn=\\\ Z\ ,dc=x", r"cn=\5C Z,dc=x");
        // The bytes of a multi-byte character after a backslash stay one character.
        same(r"cn=\é,dc=x", "cn=é,dc=x");
        different(r"cn=a\2Bb,dc=x", "cn=a,dc=x");
    }

    #[test]
    fn a_multi_valued_rdn_matches_in_any_order() {
        same(
            "cn=Ann+uid=ann,ou=people,dc=example",
            "uid=ann+cn=Ann,ou=people,dc=example",
        );
        same(
            "uid=ann+sn=Smith+cn=Ann,dc=example",
            "cn=Ann+sn=Smith+uid=ann,dc=example",
        );
        assert_eq!(
            normalize_dn("UID=ann+CN=Ann,DC=example").as_deref(),
            Some("cn=ann+uid=ann,dc=example")
        );
        different("cn=Ann+uid=ann,dc=example", "cn=Ann,uid=ann,dc=example");
        different("cn=Ann+uid=ann,dc=example", "cn=Ann+uid=bob,dc=example");
    }

    #[test]
    fn types_and_values_match_in_any_case() {
        same(
            "CN=Data Team,OU=Groups,DC=Corp,DC=Example",
            "cn=data team,ou=groups,dc=corp,dc=example",
        );
        same("cn=ÄRZTE ΩMEGA,dc=x", "Cn=ärzte ωmega,dc=x");
        same(r"cn=\C3\84rzte,dc=x", r"cn=\c3\a4RZTE,dc=x");
    }

    #[test]
    fn the_common_oids_and_long_names_are_their_short_types() {
        same(
            "2.5.4.3=Ann,0.9.2342.19200300.100.1.1=ann,2.5.4.11=People,0.9.2342.19200300.100.1.25=example",
            "cn=Ann,uid=ann,ou=People,dc=example",
        );
        same("OID.2.5.4.3=Ann,oid.2.5.4.10=Corp", "cn=Ann,o=Corp");
        same(
            "commonName=Ann,organizationalUnitName=x,domainComponent=y",
            "cn=Ann,ou=x,dc=y",
        );
        // An unknown type is kept as it is, without case.
        same("msDS-Foo=Bar,1.2.3.4=Baz", "MSDS-FOO=bar,1.2.3.4=baz");
        different("1.2.3.4=x", "cn=x");
    }

    #[test]
    fn spaces_around_separators_do_not_matter() {
        same(
            " cn = Ann + uid = ann , ou = people ,dc=example ",
            "cn=Ann+uid=ann,ou=people,dc=example",
        );
        same(
            "CN=Data Team, OU=Groups,DC=Corp",
            "cn=data team,ou=groups, dc=corp",
        );
        same(r#"cn = "Eng, Ops" , dc=x"#, r"cn=Eng\, Ops,dc=x");
    }

    #[test]
    fn insignificant_spaces_in_values_are_folded() {
        same("cn=  Data   Team  ,dc=x", "cn=Data Team,dc=x");
        same(r"cn=\ Data\20\20Team\ ,dc=x", "cn=Data Team,dc=x");
        same("cn=Data\tTeam,dc=x", "cn=Data Team,dc=x");
        different("cn=DataTeam,dc=x", "cn=Data Team,dc=x");
    }

    #[test]
    fn hex_values_are_kept_as_they_are() {
        same("cn=#04024869,dc=x", "CN=#04024869 ,dc=x");
        same("cn=#04024A69,dc=x", "cn=#04024a69,dc=x");
        // a string that starts with "#" is not a hex value
        different("cn=#04024869,dc=x", r"cn=\#04024869,dc=x");
        assert_eq!(
            normalize_dn(r"cn=\#1,dc=x").as_deref(),
            Some(r"cn=\#1,dc=x")
        );
    }

    #[test]
    fn case_exact_types_keep_their_case() {
        different("memberUid=Ann,dc=x", "memberUid=ann,dc=x");
        same("MEMBERUID=Ann,DC=X", "memberUid=Ann,dc=x");
    }

    #[test]
    fn the_normal_form_is_itself_a_dn_with_that_form() {
        for dn in [
            r"UID=ann + CN=Ann ,OU=Eng\2C Ops,DC=Example",
            r#"cn="a;b<c>d\"e",dc=x"#,
            r"cn=\#x\+y\\z,dc=x",
            "cn=#0A0B,dc=x",
            "cn=,dc=x",
        ] {
            let normal = normalize_dn(dn).expect(dn);
            assert_eq!(normalize_dn(&normal).as_ref(), Some(&normal), "{dn:?}");
        }
        assert_eq!(
            normalize_dn(r"UID=ann + CN=Ann ,OU=Eng\2C Ops,DC=Example").as_deref(),
            Some(r"cn=ann+uid=ann,ou=eng\, ops,dc=example")
        );
        assert_eq!(normalize_dn("").as_deref(), Some(""));
        assert_eq!(normalize_dn("  ").as_deref(), Some(""));
    }

    #[test]
    fn what_is_not_a_dn_is_none() {
        for dn in [
            "not a DN",
            "cn",
            "=x",
            "cn=x,",
            ",cn=x",
            "cn=x,,dc=y",
            "cn=x+,dc=y",
            "cn=x++uid=y",
            "c n=x",
            "cn.x=y",
            "1..2=x",
            r"cn=x\",
            "cn=#",
            "cn=#0",
            "cn=#zz",
            "cn=#0a b",
            r#"cn="x"#,
            r#"cn="x" y,dc=z"#,
            r"cn=\FF,dc=x",
        ] {
            assert_eq!(normalize_dn(dn), None, "{dn:?}");
        }
    }
}
