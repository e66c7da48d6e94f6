//! A watch on a CSV byte stream. The csv crate reads a whole record into memory before it hands
//! it over, so a 60 MB field would be held whole before any check could see it; this reader sits
//! under it and follows the same grammar (RFC 4180 quoting, the crate's defaults: `"` opens a
//! quoted field only at a field's start, `""` inside one is a quote, `\r` or `\n` ends a record
//! outside quotes) to stop the stream with a `LimitHit` as soon as a field, a record or the file
//! goes over its limit.

use std::io::{self, Read};

use super::limits::{LimitHit, Limits};

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: the end of the quotes, or the first half of `""`.
    QuoteInQuoted,
}

pub struct CsvGuard<R> {
    inner: R,
    limits: Limits,
    state: State,
    /// The current physical line, 1-based.
    line: u64,
    in_record: bool,
    record_line: u64,
    record_bytes: u64,
    record_fields: u64,
    field_bytes: u64,
    cells: u64,
}

impl<R: Read> CsvGuard<R> {
    pub fn new(inner: R, limits: &Limits) -> CsvGuard<R> {
        CsvGuard {
            inner,
            limits: limits.clone(),
            state: State::FieldStart,
            line: 1,
            in_record: false,
            record_line: 1,
            record_bytes: 0,
            record_fields: 0,
            field_bytes: 0,
            cells: 0,
        }
    }

    fn hit(&self, limit: &'static str, max: u64, what: &str) -> LimitHit {
        LimitHit::new(limit, max, what).at(self.record_line)
    }

    fn new_field(&mut self) -> Result<(), LimitHit> {
        self.record_fields += 1;
        self.field_bytes = 0;
        if self.record_fields > self.limits.max_row_cells {
            return Err(self.hit(
                "max_row_cells",
                self.limits.max_row_cells,
                "the number of cells in the row",
            ));
        }
        if self.cells + self.record_fields > self.limits.max_cells {
            return Err(self.hit(
                "max_cells",
                self.limits.max_cells,
                "the number of cells in the file",
            ));
        }
        Ok(())
    }

    fn end_record(&mut self) {
        if self.in_record {
            self.cells += self.record_fields;
            self.in_record = false;
        }
        self.state = State::FieldStart;
    }

    fn byte(&mut self, b: u8) -> Result<(), LimitHit> {
        let terminator = b == b'\n' || b == b'\r';
        if !self.in_record && !terminator {
            // The first byte of a record (empty lines between records are skipped, as csv does).
            self.in_record = true;
            self.record_line = self.line;
            self.record_bytes = 0;
            self.record_fields = 0;
            self.new_field()?;
        }
        if self.in_record {
            self.record_bytes += 1;
            if self.record_bytes > self.limits.max_row_bytes {
                return Err(self.hit(
                    "max_row_bytes",
                    self.limits.max_row_bytes,
                    "the row's size in bytes",
                ));
            }
        }
        match (self.state, b) {
            (State::FieldStart, b'"') => self.state = State::Quoted,
            (State::Quoted, b'"') => self.state = State::QuoteInQuoted,
            (State::QuoteInQuoted, b'"') => {
                self.state = State::Quoted;
                self.field_bytes += 1;
            }
            (State::Quoted, _) => self.field_bytes += 1,
            (_, b',') => {
                self.new_field()?;
                self.state = State::FieldStart;
            }
            (_, b'\n' | b'\r') => self.end_record(),
            _ => {
                self.state = State::Unquoted;
                self.field_bytes += 1;
            }
        }
        if self.field_bytes > self.limits.max_cell_bytes {
            return Err(self.hit(
                "max_cell_bytes",
                self.limits.max_cell_bytes,
                "a cell's size in bytes",
            ));
        }
        if b == b'\n' {
            self.line += 1;
        }
        Ok(())
    }
}

impl<R: Read> Read for CsvGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.byte(b).map_err(LimitHit::into_io)?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, limits: Limits) -> Result<(), LimitHit> {
        let mut g = CsvGuard::new(text.as_bytes(), &limits);
        let mut out = Vec::new();
        g.read_to_end(&mut out)
            .map(|_| ())
            .map_err(|e| LimitHit::from_io(&e).expect("a limit hit"))
    }

    fn small() -> Limits {
        Limits {
            max_cell_bytes: 5,
            max_row_bytes: 20,
            max_row_cells: 3,
            max_cells: 7,
            ..Limits::default()
        }
    }

    #[test]
    fn rows_within_every_limit_pass() {
        run("a,b,c\n\"x,y\",\"\"\"q\"\r\n\n12345\n", small()).unwrap();
    }

    #[test]
    fn a_long_cell_is_stopped_at_its_line_even_inside_quotes() {
        let hit = run("a,b\n1,\"12\n3456\"\n", small()).unwrap_err();
        assert_eq!((hit.limit, hit.line), ("max_cell_bytes", Some(2)));
        // Quotes only open a quoted field at its start: here the newline ends the record.
        run("a,b\n1,x\"y\nz,\"w\"\n", small()).unwrap();
    }

    #[test]
    fn row_bytes_row_cells_and_file_cells_are_each_limited() {
        let hit = run("aaaa,bbbb,cccc\naaaa,bbbb,cccc,dddd,eeee\n", small()).unwrap_err();
        assert_eq!((hit.limit, hit.line), ("max_row_cells", Some(2)));
        let hit = run("\"aaa\nbbb\nccc\nddd\neee\nfff\",x\n", small()).unwrap_err();
        assert_eq!(hit.limit, "max_cell_bytes");
        let limits = Limits {
            max_cell_bytes: 100,
            ..small()
        };
        let hit = run("\"aaa\nbbb\nccc\nddd\neee\nfff\",x\n", limits).unwrap_err();
        assert_eq!((hit.limit, hit.line), ("max_row_bytes", Some(1)));
        let hit = run("a,b,c\nd,e,f\ng,h\n", small()).unwrap_err();
        assert_eq!((hit.limit, hit.line), ("max_cells", Some(3)));
    }
}
