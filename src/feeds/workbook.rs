//! Vetting an XLSX workbook before calamine opens it. calamine parses the ZIP's central
//! directory, then loads the shared-string table, the styles, the relationships and the sheet
//! list whole, and buffers each XML token of a sheet whole: a 1 MB workbook of 1,024 shared strings
//! of 1 MiB each took a gigabyte. So every part calamine may read is decompressed here first, as a
//! stream, and measured against the limits; the workbook calamine then opens is a copy holding
//! only the parts measured (the `.xml` and `.rels` ones, their compressed bytes copied as they
//! are). Decompression is deterministic, so what calamine reads is what was measured.
//!
//! Order of the checks, cheapest first: the ZIP signature; the count and size of the central
//! directory's entries, read from the raw bytes before the zip crate parses (and allocates) it;
//! each part's declared size and compression ratio; then each part as it is decompressed (its
//! real size and ratio, the longest XML token, the nesting depth, and the strings, cells and
//! sheets it declares). A part's declared size may lie: the stream is cut at the limit.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use zip::ZipArchive;

use super::limits::{check, LimitHit, Limits};
use super::FeedError;

/// Most bytes the central directory's entries may hold (names, extra fields and comments).
/// A workbook's directory is a few kilobytes; the zip crate keeps it all in memory.
pub const MAX_DIRECTORY_BYTES: u64 = 1 << 20;

/// Parts smaller than this are not held to the compression ratio (tiny parts compress oddly).
const RATIO_FLOOR: u64 = 1 << 20;

const CENTRAL_HEADER: [u8; 4] = *b"PK\x01\x02";

fn unreadable(reason: impl Into<String>) -> FeedError {
    FeedError::Unreadable {
        what: "an XLSX workbook".into(),
        reason: reason.into(),
    }
}

fn zip_error(e: zip::result::ZipError) -> FeedError {
    unreadable(e.to_string())
}

/// What a part is to calamine: it decides which limits apply.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Part {
    SharedStrings,
    Worksheet,
    Other,
}

impl Part {
    fn of(name: &str) -> Part {
        let name = name.replace('\\', "/").to_ascii_lowercase();
        if name == "xl/sharedstrings.xml" {
            Part::SharedStrings
        } else if name.starts_with("xl/worksheets/") {
            Part::Worksheet
        } else {
            Part::Other
        }
    }
}

/// Checks the workbook at `path` and returns the copy calamine may open.
pub fn vet(path: &Path, limits: &Limits) -> Result<tempfile::NamedTempFile, FeedError> {
    let mut file = File::open(path)?;
    let mut magic = [0u8; 4];
    if file.read_exact(&mut magic).is_err() || magic != *b"PK\x03\x04" {
        return Err(unreadable("it is not a ZIP container"));
    }
    file.seek(SeekFrom::Start(0))?;
    directory_bounds(&mut file, limits)?;
    file.seek(SeekFrom::Start(0))?;
    let mut archive = ZipArchive::new(BufReader::new(file)).map_err(zip_error)?;
    let out = tempfile::NamedTempFile::new()?;
    let mut copy = zip::ZipWriter::new(std::io::BufWriter::new(out.reopen()?));
    let mut totals = Totals::default();
    for i in 0..archive.len() {
        let (name, size, compressed) = {
            let f = archive.by_index_raw(i).map_err(zip_error)?;
            (f.name().to_owned(), f.size(), f.compressed_size())
        };
        let lower = name.to_ascii_lowercase();
        if !(lower.ends_with(".xml") || lower.ends_with(".rels")) {
            continue; // images, printer settings, macros: calamine is never given them
        }
        let part = Part::of(&name);
        let (part_limit, part_setting) = match part {
            Part::SharedStrings => (limits.max_shared_strings_bytes, "max_shared_strings_bytes"),
            Part::Worksheet => (limits.max_decompressed_bytes, "max_decompressed_bytes"),
            Part::Other => (limits.max_part_bytes, "max_part_bytes"),
        };
        let what = |w: &str| format!("{w} of the part {}", shown_name(&name));
        check(size, part_limit, part_setting, &what("the declared size"))?;
        check(
            totals.bytes + size,
            limits.max_decompressed_bytes,
            "max_decompressed_bytes",
            "the workbook's declared decompressed size",
        )?;
        ratio(size, compressed, limits, &name)?;
        let entry = archive.by_index(i).map_err(zip_error)?;
        let mut scan = Scan::new(part, limits, &mut totals);
        scan.read(entry, part_limit, part_setting, compressed, &name)?;
        copy.raw_copy_file(archive.by_index_raw(i).map_err(zip_error)?)
            .map_err(zip_error)?;
    }
    copy.finish().map_err(zip_error)?.flush()?;
    Ok(out)
}

/// A part's name as shown in an error: the name is the sender's text, so it is cut short.
fn shown_name(name: &str) -> String {
    super::values::shown(name)
}

fn ratio(size: u64, compressed: u64, limits: &Limits, name: &str) -> Result<(), LimitHit> {
    if size > RATIO_FLOOR && size > compressed.saturating_mul(limits.max_zip_ratio) {
        return Err(LimitHit::new(
            "max_zip_ratio",
            limits.max_zip_ratio,
            format!(
                "the compression ratio of the part {} ({} bytes from {compressed})",
                shown_name(name),
                size
            ),
        ));
    }
    Ok(())
}

/// Counts the central directory's entries and their variable-length fields straight from the
/// file's bytes. The zip crate only ever reads an entry at one of these signatures, so their
/// count bounds its entries whichever end-of-directory record it trusts.
fn directory_bounds(file: &mut File, limits: &Limits) -> Result<(), FeedError> {
    const HEADER: usize = 46;
    let mut buf = vec![0u8; (1 << 20) + HEADER];
    let (mut kept, mut entries, mut bytes) = (0usize, 0u64, 0u64);
    loop {
        let n = file.read(&mut buf[kept..])?;
        let len = kept + n;
        let last = n == 0;
        let mut at = 0;
        while at + 4 <= len {
            if buf[at..at + 4] == CENTRAL_HEADER {
                if at + HEADER > len {
                    if last {
                        break; // a truncated header at the very end: not an entry
                    }
                    break; // completed by the next read
                }
                let u16_at =
                    |o: usize| u64::from(u16::from_le_bytes([buf[at + o], buf[at + o + 1]]));
                entries += 1;
                bytes += HEADER as u64 + u16_at(28) + u16_at(30) + u16_at(32);
                check(
                    entries,
                    limits.max_zip_entries,
                    "max_zip_entries",
                    "the number of entries in the ZIP container",
                )?;
                if bytes > MAX_DIRECTORY_BYTES {
                    return Err(LimitHit::new(
                        "max_zip_entries",
                        limits.max_zip_entries,
                        format!("the ZIP central directory (over {MAX_DIRECTORY_BYTES} bytes)"),
                    )
                    .into());
                }
                at += 4;
            } else {
                at += 1;
            }
        }
        if last {
            return Ok(());
        }
        // Keep the unexamined tail: a signature or header may straddle two reads.
        let keep_from = at.min(len.saturating_sub(HEADER - 1)).min(len);
        buf.copy_within(keep_from..len, 0);
        kept = len - keep_from;
    }
}

#[derive(Default)]
struct Totals {
    bytes: u64,
    shared_strings: u64,
    cells: u64,
    sheets: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Xml {
    Text,
    /// Just after `<`.
    Open,
    Name,
    Tag,
    Quote(u8),
    /// After `<!`: a comment or a CDATA section, told apart by what follows.
    Bang,
    Comment,
    CData,
    Instruction,
}

/// A byte-level pass over one part: enough XML to measure tokens and nesting, count elements
/// and refuse a DTD (no spreadsheet part has one), never holding more than a name's first bytes.
struct Scan<'a> {
    part: Part,
    limits: &'a Limits,
    totals: &'a mut Totals,
    state: Xml,
    token: u64,
    depth: u64,
    closing: bool,
    name: Vec<u8>,
    bang: Vec<u8>,
    /// The last two bytes, for `/>`, `-->`, `]]>` and `?>`.
    prev: [u8; 2],
}

impl<'a> Scan<'a> {
    fn new(part: Part, limits: &'a Limits, totals: &'a mut Totals) -> Scan<'a> {
        Scan {
            part,
            limits,
            totals,
            state: Xml::Text,
            token: 0,
            depth: 0,
            closing: false,
            name: Vec::with_capacity(16),
            bang: Vec::with_capacity(8),
            prev: [0, 0],
        }
    }

    fn read(
        &mut self,
        mut entry: impl Read,
        part_limit: u64,
        part_setting: &'static str,
        compressed: u64,
        name: &str,
    ) -> Result<(), FeedError> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) => return Err(unreadable(format!("{}: {e}", shown_name(name)))),
            };
            size += n as u64;
            self.totals.bytes += n as u64;
            let what = format!("the decompressed size of the part {}", shown_name(name));
            check(size, part_limit, part_setting, &what)?;
            check(
                self.totals.bytes,
                self.limits.max_decompressed_bytes,
                "max_decompressed_bytes",
                "the workbook's decompressed size",
            )?;
            ratio(size, compressed, self.limits, name)?;
            for &b in &buf[..n] {
                self.byte(b).map_err(|e| match e {
                    Refusal::Limit(hit) => FeedError::from(LimitHit {
                        what: format!("{} in the part {}", hit.what, shown_name(name)),
                        ..hit
                    }),
                    Refusal::Dtd => unreadable(format!(
                        "the part {} declares a DTD or entity, which a workbook never does",
                        shown_name(name)
                    )),
                })?;
            }
        }
    }

    fn limit(&self, value: u64, max: u64, limit: &'static str, what: &str) -> Result<(), Refusal> {
        check(value, max, limit, what).map_err(Refusal::Limit)
    }

    fn byte(&mut self, b: u8) -> Result<(), Refusal> {
        self.token += 1;
        self.limit(
            self.token,
            self.limits.max_cell_bytes,
            "max_cell_bytes",
            "an XML token (a cell's text or a tag)",
        )?;
        match self.state {
            Xml::Text => {
                if b == b'<' {
                    self.state = Xml::Open;
                    self.token = 1;
                }
            }
            Xml::Open => match b {
                b'/' => {
                    self.closing = true;
                    self.name.clear();
                    self.state = Xml::Name;
                }
                b'!' => {
                    self.bang.clear();
                    self.state = Xml::Bang;
                }
                b'?' => self.state = Xml::Instruction,
                _ => {
                    self.closing = false;
                    self.name.clear();
                    self.name.push(b);
                    self.state = Xml::Name;
                }
            },
            Xml::Name => {
                if b.is_ascii_whitespace() || b == b'/' || b == b'>' {
                    self.state = Xml::Tag;
                    return self.tag_byte(b);
                } else if self.name.len() < 32 {
                    self.name.push(b);
                }
            }
            Xml::Tag => return self.tag_byte(b),
            Xml::Quote(q) => {
                if b == q {
                    self.state = Xml::Tag;
                }
            }
            Xml::Bang => {
                self.bang.push(b);
                if self.bang == b"--" {
                    self.state = Xml::Comment;
                } else if self.bang == b"[CDATA[" {
                    self.state = Xml::CData;
                } else if !(b"--".starts_with(&self.bang) || b"[CDATA[".starts_with(&self.bang)) {
                    return Err(Refusal::Dtd);
                }
            }
            Xml::Comment => {
                if b == b'>' && self.prev == *b"--" {
                    self.end_token();
                }
            }
            Xml::CData => {
                if b == b'>' && self.prev == *b"]]" {
                    self.end_token();
                }
            }
            Xml::Instruction => {
                if b == b'>' && self.prev[1] == b'?' {
                    self.end_token();
                }
            }
        }
        self.prev = [self.prev[1], b];
        Ok(())
    }

    fn end_token(&mut self) {
        self.state = Xml::Text;
        self.token = 0;
    }

    fn tag_byte(&mut self, b: u8) -> Result<(), Refusal> {
        match b {
            b'"' | b'\'' => self.state = Xml::Quote(b),
            b'>' => {
                let self_closing = self.prev[1] == b'/';
                if self.closing {
                    self.depth = self.depth.saturating_sub(1);
                } else {
                    self.element()?;
                    if !self_closing {
                        self.depth += 1;
                        self.limit(
                            self.depth,
                            self.limits.max_xml_depth,
                            "max_xml_depth",
                            "the nesting depth of XML elements",
                        )?;
                    }
                }
                self.end_token();
            }
            _ => {}
        }
        self.prev = [self.prev[1], b];
        Ok(())
    }

    /// Counts the elements calamine turns into memory: shared strings, cells and sheets.
    fn element(&mut self) -> Result<(), Refusal> {
        let local = match self.name.iter().rposition(|&c| c == b':') {
            Some(i) => &self.name[i + 1..],
            None => &self.name[..],
        };
        match (self.part, local) {
            (Part::SharedStrings, b"si") => {
                self.totals.shared_strings += 1;
                self.limit(
                    self.totals.shared_strings,
                    self.limits.max_shared_strings,
                    "max_shared_strings",
                    "the number of shared strings",
                )
            }
            (Part::Worksheet, b"c") => {
                self.totals.cells += 1;
                self.limit(
                    self.totals.cells,
                    self.limits.max_cells,
                    "max_cells",
                    "the number of cells",
                )
            }
            (Part::Other, b"sheet") => {
                self.totals.sheets += 1;
                self.limit(
                    self.totals.sheets,
                    self.limits.max_sheets,
                    "max_sheets",
                    "the number of sheets",
                )
            }
            _ => Ok(()),
        }
    }
}

enum Refusal {
    Limit(LimitHit),
    Dtd,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(part: Part, xml: &str, limits: &Limits) -> Result<Totals, String> {
        let mut totals = Totals::default();
        let mut s = Scan::new(part, limits, &mut totals);
        for &b in xml.as_bytes() {
            s.byte(b).map_err(|e| match e {
                Refusal::Limit(hit) => hit.limit.to_owned(),
                Refusal::Dtd => "dtd".to_owned(),
            })?;
        }
        drop(s);
        Ok(totals)
    }

    #[test]
    fn elements_are_counted_and_self_closing_ones_do_not_nest() {
        let xml = r#"<?xml version="1.0"?><sst xmlns="x"><si><t>a&gt;b</t></si><x:si/><!-- <si> --><si><t><![CDATA[<si>]]></t></si></sst>"#;
        let t = scan(Part::SharedStrings, xml, &Limits::default()).unwrap();
        assert_eq!(t.shared_strings, 3);
        let deep = format!("{}{}", "<a>".repeat(40), "</a>".repeat(40));
        assert_eq!(
            scan(Part::Other, &deep, &Limits::default())
                .err()
                .as_deref(),
            Some("max_xml_depth")
        );
        let flat = "<a/>".repeat(1000);
        assert!(scan(Part::Other, &flat, &Limits::default()).is_ok());
    }

    #[test]
    fn a_quoted_greater_than_does_not_end_a_tag() {
        let limits = Limits {
            max_cell_bytes: 16,
            ..Limits::default()
        };
        let tag = format!(r#"<c r="{}">"#, ">".repeat(20));
        assert_eq!(
            scan(Part::Worksheet, &tag, &limits).err().as_deref(),
            Some("max_cell_bytes")
        );
        let cdata = format!("<t><![CDATA[{}]]></t>", "<a>".repeat(10));
        assert_eq!(
            scan(Part::Worksheet, &cdata, &limits).err().as_deref(),
            Some("max_cell_bytes")
        );
    }

    #[test]
    fn a_dtd_is_refused() {
        let xml = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>"#;
        assert_eq!(
            scan(Part::Other, xml, &Limits::default()).err().as_deref(),
            Some("dtd")
        );
    }
}
