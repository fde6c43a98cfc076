//! JSON text by hand, for the hot paths of the usage and metadata syncs: strings, integers and
//! floats written byte for byte as `serde_json` writes them (a usage statement is written once
//! per statement and a data object once per column, where serde's per-field calls and
//! byte-at-a-time escaping were a large share of the run),
//! and the search for the end of plain string text that both writing and the jsonlog scanner
//! use. The model types keep their serde derives (files are read back with serde); the tests
//! here and in the model check that both write the same bytes.

/// Appends `s` as a JSON string, quotes included, escaped exactly as `serde_json` escapes it:
/// `"` and `\` with a backslash; the control characters U+0000 to U+001F as `\b`, `\t`, `\n`,
/// `\f`, `\r`, or `\u00xx` (lower-case hex); everything else, `/`, DEL and non-ASCII included,
/// verbatim. Runs without escapes are found 8 bytes at a time ([`find_escape`]) and copied
/// whole.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    while let Some(at) = bytes
        .get(start..)
        .and_then(find_escape)
        .map(|at| start + at)
    {
        out.extend_from_slice(&bytes[start..at]);
        push_escape(out, bytes[at]);
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends `value` in decimal, as `serde_json` (`itoa`) writes an integer.
pub fn write_json_i64(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    let mut rest = value.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while rest >= 100 {
        let pair = usize::from((rest % 100) as u8) * 2;
        rest /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if rest >= 10 {
        let pair = usize::from(rest as u8) * 2;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        digits[at] = b'0' + rest as u8;
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends `value` as `serde_json` writes an `f64` (`null` for NaN and the infinities). 0.0, the
/// value of every statement of a source without credits, is written here; any other value by
/// `serde_json` itself, whose shortest-representation formatting this does not copy.
pub fn write_json_f64(out: &mut Vec<u8>, value: f64) {
    if value.to_bits() == 0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    // Cannot fail: writing into a `Vec` never fails, and serde_json serialises every f64.
    let written = serde_json::to_writer(&mut *out, &value);
    debug_assert!(written.is_ok(), "serde_json wrote no f64: {written:?}");
}

/// "00" to "99".
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The index of the first byte of `bytes` that ends a run of plain JSON string text: `"`, `\`
/// or a control character (U+0000 to U+001F). Writing, it is the next byte to escape; reading,
/// the end of the string, an escape, or a character JSON does not allow raw. Read 8 bytes per
/// step (SWAR: no `unsafe`, no target features, the same on x86_64 and arm64): on the short
/// strings of log records and statements this is as fast as `memchr2`, which looks for two
/// bytes only and pays a call per search.
pub fn find_escape(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    /// The high bit of each byte of `word` that is zero, and maybe of bytes above one that is
    /// (a borrow): the lowest flagged byte is always a zero one, and no zero byte is missed.
    fn zero_bytes(word: u64) -> u64 {
        word.wrapping_sub(ONES) & !word & HIGHS
    }
    let (words, tail) = bytes.as_chunks::<8>();
    for (n, word) in words.iter().enumerate() {
        let word = u64::from_le_bytes(*word);
        // Below 0x20 (the same borrow rule), `"`, `\`: the lowest flag is the first such byte.
        let flagged = (word.wrapping_sub(ONES * 0x20) & !word & HIGHS)
            | zero_bytes(word ^ (ONES * u64::from(b'"')))
            | zero_bytes(word ^ (ONES * u64::from(b'\\')));
        if flagged != 0 {
            return Some(n * 8 + (flagged.trailing_zeros() / 8) as usize);
        }
    }
    tail.iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        .map(|at| words.len() * 8 + at)
}

/// Appends the escape of one byte that [`find_escape`] found.
fn push_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x09 => b't',
        0x0a => b'n',
        0x0c => b'f',
        0x0d => b'r',
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

/// Texts for the property tests of the JSON writers (here and in the model): any string, short
/// ones full of what JSON escapes (quotes, backslashes, control characters) and non-ASCII, and
/// the empty one.
#[cfg(test)]
pub(crate) fn any_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        any::<String>(),
        "[a-z\"\\\\\n\t\u{0}-\u{1f}é€😀 ]{0,40}",
        Just(String::new()),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;
    use proptest::test_runner::Config;

    use super::*;

    fn text(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        write_json_str(&mut out, s);
        out
    }

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
        let every_ascii: String = (0u8..=0x7f).map(char::from).collect();
        let samples = [
            String::new(),
            "plain".to_owned(),
            every_ascii.clone(),
            every_ascii.repeat(3),
            "SELECT \"Amount €\" FROM \"Sales.EU\".\"Orders 1\"\nWHERE a = 'x\\y'\t-- \u{1f600}"
                .to_owned(),
            "\u{0}\u{1}\u{1f}\u{7f}\u{80}\u{ff}\u{2028}\u{2029}\u{fffd}".to_owned(),
            "/ and </script>".to_owned(),
            // Escapes at every position of the 8-byte steps and of the tail.
            "\"".repeat(17),
            "abcdefg\"abcdefgh\\abcdefg\nabcdefgh\u{1}".to_owned(),
            "é".repeat(9) + "\n",
        ];
        for sample in &samples {
            assert_eq!(
                text(sample),
                serde_json::to_vec(sample).unwrap(),
                "{sample:?}"
            );
        }
        for len in 0..40 {
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', ' ', '\u{7f}', 'é'] {
                    let mut sample = "x".repeat(len);
                    sample.replace_range(at..at + 1, &special.to_string());
                    assert_eq!(
                        text(&sample),
                        serde_json::to_vec(&sample).unwrap(),
                        "{sample:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        for value in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            99,
            100,
            -101,
            1_796_600_842,
            -1_796_600_842,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            let mut out = Vec::new();
            write_json_i64(&mut out, value);
            assert_eq!(out, serde_json::to_vec(&value).unwrap(), "{value}");
        }
        for value in [
            0.0,
            -0.0,
            1e-7,
            12.5,
            -12.5,
            1.0,
            0.1 + 0.2,
            1e300,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let mut out = Vec::new();
            write_json_f64(&mut out, value);
            assert_eq!(out, serde_json::to_vec(&value).unwrap(), "{value}");
        }
    }

    proptest! {
        #![proptest_config(Config {
            cases: 512,
            failure_persistence: None,
            ..Config::default()
        })]

        /// Any text, any integer: the same bytes as serde_json.
        #[test]
        fn any_string_and_integer_is_written_as_serde_json_writes_it(
            s in prop_oneof![
                any::<String>(),
                proptest::collection::vec(
                    prop_oneof![0u8..0x20, Just(b'"'), Just(b'\\'), 0x20u8..0x7f],
                    0..64,
                )
                .prop_map(|bytes| String::from_utf8(bytes).unwrap()),
            ],
            n in any::<i64>(),
            f in any::<f64>(),
        ) {
            prop_assert_eq!(text(&s), serde_json::to_vec(&s).unwrap());
            let mut out = Vec::new();
            write_json_i64(&mut out, n);
            prop_assert_eq!(&out, &serde_json::to_vec(&n).unwrap());
            out.clear();
            write_json_f64(&mut out, f);
            prop_assert_eq!(&out, &serde_json::to_vec(&f).unwrap());
        }
    }
}
