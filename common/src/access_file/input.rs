//! The bytes under both parsers: format sniffing, and a meter that counts what the parser has
//! consumed so that one access provider larger than the cap is refused while it is being read,
//! before the parser has buffered it whole.

use std::cell::{Cell, RefCell};
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use super::{Format, Position};

/// What the parser has consumed so far, and how far it may go.
///
/// Shared (`Rc`) between the reader under the parser and the code driving the parser, all on
/// the one blocking thread.
#[derive(Debug)]
pub(super) struct Meter {
    /// Bytes consumed.
    consumed: Cell<u64>,
    /// Consuming past this offset fails (the cap of the value being read).
    limit: Cell<u64>,
    /// The limit was hit: the parser's error is about a value too large, not a syntax error.
    exceeded: Cell<bool>,
    /// Lines consumed so far (counted by [`CountingRead`] only, for JSON positions).
    line: Cell<u64>,
    /// The offset just after the last newline consumed.
    line_start: Cell<u64>,
    /// A read error or invalid UTF-8 met by [`Chars`], which can only answer `None`.
    failure: RefCell<Option<io::Error>>,
}

impl Meter {
    /// A meter at the start of the input, without limit.
    pub(super) fn new() -> Rc<Self> {
        Rc::new(Self {
            consumed: Cell::new(0),
            limit: Cell::new(u64::MAX),
            exceeded: Cell::new(false),
            line: Cell::new(1),
            line_start: Cell::new(0),
            failure: RefCell::new(None),
        })
    }

    /// Starts a new window: at most `cap` more bytes may be consumed. The drivers open one at
    /// each boundary (each access provider, each top-level key), never lifting the limit, so
    /// that even what a parser scans ahead before it reports a value is bounded.
    pub(super) fn window(&self, cap: u64) {
        self.limit.set(self.consumed.get().saturating_add(cap));
    }

    /// Whether a read failed because the limit was hit.
    pub(super) fn exceeded(&self) -> bool {
        self.exceeded.get()
    }

    /// The read error or invalid UTF-8 that ended the input early, if any.
    pub(super) fn take_failure(&self) -> Option<io::Error> {
        self.failure.borrow_mut().take()
    }

    /// Bytes consumed so far.
    pub(super) fn consumed(&self) -> u64 {
        self.consumed.get()
    }

    /// The line and column of the last byte consumed (JSON only: [`Chars`] counts no lines).
    pub(super) fn position(&self) -> Position {
        Position {
            line: self.line.get(),
            column: self.consumed.get().saturating_sub(self.line_start.get()),
        }
    }

    /// How many of `wanted` bytes may still be consumed; marks the limit hit when fewer.
    fn room(&self, wanted: usize) -> usize {
        let left = self.limit.get().saturating_sub(self.consumed.get());
        let room = usize::try_from(left).map_or(wanted, |left| left.min(wanted));
        if room < wanted {
            self.exceeded.set(true);
        }
        room
    }

    fn advance(&self, bytes: &[u8], count_lines: bool) {
        let start = self.consumed.get();
        if count_lines {
            for (i, byte) in bytes.iter().enumerate() {
                if *byte == b'\n' {
                    self.line.set(self.line.get() + 1);
                    self.line_start.set(start + i as u64 + 1);
                }
            }
        }
        self.consumed.set(start + bytes.len() as u64);
    }
}

/// The error a metered reader returns at the limit; the driver reports it as
/// [`super::Error::TooLarge`] (it checks [`Meter::exceeded`] first).
fn limit_error() -> io::Error {
    io::Error::other("the access provider is larger than the cap")
}

/// A reader that counts bytes and lines into a [`Meter`] and stops at its limit (under
/// serde_json, which reads one byte at a time).
pub(super) struct CountingRead<R> {
    inner: R,
    meter: Rc<Meter>,
}

impl<R: BufRead> CountingRead<R> {
    pub(super) fn new(inner: R, meter: Rc<Meter>) -> Self {
        Self { inner, meter }
    }
}

impl<R: BufRead> Read for CountingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let [slot] = buf {
            // serde_json reads one byte at a time: keep that path short (it was half the
            // time of a read when it went through the general one).
            let Some(&byte) = self.inner.fill_buf()?.first() else {
                return Ok(0);
            };
            let meter = &*self.meter;
            let consumed = meter.consumed.get();
            if consumed >= meter.limit.get() {
                meter.exceeded.set(true);
                return Err(limit_error());
            }
            *slot = byte;
            meter.consumed.set(consumed + 1);
            if byte == b'\n' {
                meter.line.set(meter.line.get() + 1);
                meter.line_start.set(consumed + 1);
            }
            self.inner.consume(1);
            return Ok(1);
        }
        let available = self.inner.fill_buf()?;
        let wanted = available.len().min(buf.len());
        let n = self.meter.room(wanted);
        if n == 0 && wanted > 0 {
            return Err(limit_error());
        }
        buf[..n].copy_from_slice(&available[..n]);
        self.meter.advance(&available[..n], true);
        self.inner.consume(n);
        Ok(n)
    }
}

/// UTF-8 characters from a byte reader, for the YAML parser (which pulls `char`s). A read
/// error, invalid UTF-8 or the meter's limit end the characters early and are left in the
/// [`Meter`] for the driver to report.
pub(super) struct Chars<R> {
    inner: R,
    meter: Rc<Meter>,
}

impl<R: BufRead> Chars<R> {
    pub(super) fn new(inner: R, meter: Rc<Meter>) -> Self {
        Self { inner, meter }
    }

    fn fail(&self, error: io::Error) -> Option<char> {
        *self.meter.failure.borrow_mut() = Some(error);
        None
    }

    /// The rest of a multi-byte character whose first byte is `first`.
    fn multi_byte(&mut self, first: u8) -> Option<char> {
        let width = match first {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return self.invalid_utf8(),
        };
        let mut bytes = [0u8; 4];
        let mut have = 0;
        while have < width {
            let available = match self.inner.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return self.fail(error),
            };
            if available.is_empty() {
                return self.invalid_utf8();
            }
            let n = (width - have).min(available.len());
            bytes[have..have + n].copy_from_slice(&available[..n]);
            if self.meter.room(n) < n {
                return None;
            }
            self.meter.advance(&available[..n], false);
            self.inner.consume(n);
            have += n;
        }
        match std::str::from_utf8(&bytes[..width]) {
            Ok(text) => text.chars().next(),
            Err(_) => self.invalid_utf8(),
        }
    }

    fn invalid_utf8(&self) -> Option<char> {
        let offset = self.meter.consumed();
        self.fail(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not valid UTF-8 (near byte {offset})"),
        ))
    }
}

impl<R: BufRead> Iterator for Chars<R> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let first = loop {
            match self.inner.fill_buf() {
                Ok([]) => return None,
                Ok([first, ..]) => break *first,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return self.fail(error),
            }
        };
        if first.is_ascii() {
            if self.meter.room(1) == 0 {
                return None;
            }
            self.meter.advance(&[first], false);
            self.inner.consume(1);
            Some(char::from(first))
        } else {
            self.multi_byte(first)
        }
    }
}

/// Skips a UTF-8 byte order mark, then tells the format from the first byte that is not
/// white space: `{` or `[` is JSON, anything else (a key, `---`, `#`, nothing) YAML. Consumes
/// only the mark and whole blank lines, which mean nothing in either format.
pub(super) fn sniff(reader: &mut impl BufRead) -> io::Result<Format> {
    let mut first_read = true;
    loop {
        let buffer = reader.fill_buf()?;
        let mut skip = 0;
        if first_read && buffer.starts_with(b"\xEF\xBB\xBF") {
            skip = 3;
        }
        first_read = false;
        if let Some(byte) = buffer[skip..]
            .iter()
            .copied()
            .find(|byte| !byte.is_ascii_whitespace())
        {
            reader.consume(skip);
            return Ok(if matches!(byte, b'{' | b'[') {
                Format::Json
            } else {
                Format::Yaml
            });
        }
        if buffer.is_empty() {
            return Ok(Format::Yaml);
        }
        // All white space: drop it up to its last line break (keeping the indentation of
        // the line that goes on in the next buffer) and look further.
        let blank = buffer[skip..]
            .iter()
            .rposition(|byte| *byte == b'\n')
            .map_or(skip, |newline| skip + newline + 1);
        if blank == 0 {
            // Only spaces without a line break fill the buffer: too odd to be JSON.
            return Ok(Format::Yaml);
        }
        reader.consume(blank);
    }
}
