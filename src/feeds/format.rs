//! File format and text encoding. The format comes from the Content-Type (or the file
//! extension on the command line) and, when that says nothing, from the first bytes. Text that
//! is not valid UTF-8 is GB18030 (the superset of GBK that Chinese office software writes).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::FeedError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
    Xlsx,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Xlsx => "xlsx",
        }
    }

    /// `Ok(None)` when the type says nothing useful (absent, octet-stream, plain text).
    pub fn from_content_type(ct: &str) -> Result<Option<Format>, FeedError> {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        Ok(match essence.as_str() {
            "" | "application/octet-stream" | "text/plain" => None,
            "text/csv" | "application/csv" | "text/comma-separated-values" => Some(Format::Csv),
            "application/x-ndjson" | "application/jsonl" | "application/json-lines" | "application/x-jsonlines"
            | "application/jsonlines" | "application/json" => Some(Format::Jsonl),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Some(Format::Xlsx),
            other => {
                return Err(FeedError::UnsupportedFormat(format!(
                    "unsupported Content-Type {other:?}; send text/csv, application/x-ndjson or an .xlsx workbook"
                )))
            }
        })
    }

    pub fn from_extension(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" | "txt" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// From the first bytes: a ZIP container is XLSX, a leading `{` JSON Lines, anything else CSV.
    pub fn sniff(head: &[u8]) -> Result<Format, FeedError> {
        if head.starts_with(b"PK\x03\x04") {
            return Ok(Format::Xlsx);
        }
        if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
            return Err(FeedError::UnsupportedFormat(
                "legacy .xls workbooks are not supported; save the sheet as .xlsx or CSV".into(),
            ));
        }
        let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let first = text.iter().find(|b| !b.is_ascii_whitespace());
        Ok(if first == Some(&b'{') {
            Format::Jsonl
        } else {
            Format::Csv
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Gb18030,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Utf16Le => "utf-16le",
            Encoding::Utf16Be => "utf-16be",
            Encoding::Gb18030 => "gb18030",
        }
    }
}

/// What one pass over the file tells: its digest (the default idempotency key and the replay
/// check), its size, its first bytes and its text encoding.
#[derive(Debug, Clone)]
pub struct FileFacts {
    pub sha256: String,
    pub size: u64,
    pub head: Vec<u8>,
    pub encoding: Encoding,
}

pub fn inspect(path: &Path) -> std::io::Result<FileFacts> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let (mut size, mut head, mut utf8, mut carry) = (0u64, Vec::new(), true, Vec::<u8>::new());
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        hasher.update(chunk);
        size += n as u64;
        if head.len() < 4096 {
            head.extend_from_slice(&chunk[..chunk.len().min(4096 - head.len())]);
        }
        if utf8 {
            // A multi-byte character may straddle two reads: keep its start for the next one.
            carry.extend_from_slice(chunk);
            match std::str::from_utf8(&carry) {
                Ok(_) => carry.clear(),
                Err(e) if e.error_len().is_none() => {
                    carry.drain(..e.valid_up_to());
                }
                Err(_) => utf8 = false,
            }
        }
    }
    let encoding = if head.starts_with(b"\xEF\xBB\xBF") {
        Encoding::Utf8Bom
    } else if head.starts_with(b"\xFF\xFE") {
        Encoding::Utf16Le
    } else if head.starts_with(b"\xFE\xFF") {
        Encoding::Utf16Be
    } else if utf8 && carry.is_empty() {
        Encoding::Utf8
    } else {
        Encoding::Gb18030
    };
    Ok(FileFacts {
        sha256: hex::encode(hasher.finalize()),
        size,
        head,
        encoding,
    })
}

/// Rewrites a GB18030 or UTF-16 file as UTF-8 (streaming, chunk by chunk). Bytes that are not
/// valid in the source encoding make the file unreadable rather than silently replaced.
pub fn transcode_to_utf8(
    path: &Path,
    encoding: Encoding,
) -> Result<tempfile::NamedTempFile, FeedError> {
    let enc = match encoding {
        Encoding::Utf16Le => encoding_rs::UTF_16LE,
        Encoding::Utf16Be => encoding_rs::UTF_16BE,
        _ => encoding_rs::GB18030,
    };
    let mut decoder = enc.new_decoder(); // removes a BOM of its own encoding
    let mut input = File::open(path)?;
    let out = tempfile::NamedTempFile::new()?;
    let mut w = BufWriter::new(out.reopen()?);
    let mut buf = vec![0u8; 256 * 1024];
    let mut text = String::new();
    loop {
        let n = input.read(&mut buf)?;
        let last = n == 0;
        let mut src = &buf[..n];
        loop {
            text.clear();
            text.reserve(
                decoder
                    .max_utf8_buffer_length(src.len())
                    .unwrap_or(src.len() * 3 + 16),
            );
            let (result, read, replaced) = decoder.decode_to_string(src, &mut text, last);
            if replaced {
                return Err(FeedError::Unreadable {
                    what: "text".into(),
                    reason: format!(
                        "it is neither UTF-8 nor {} (invalid byte sequence)",
                        enc.name()
                    ),
                });
            }
            w.write_all(text.as_bytes())?;
            src = &src[read..];
            if result == encoding_rs::CoderResult::InputEmpty {
                break;
            }
        }
        if last {
            break;
        }
    }
    w.flush()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts_of(bytes: &[u8]) -> FileFacts {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), bytes).unwrap();
        inspect(f.path()).unwrap()
    }

    #[test]
    fn utf8_with_and_without_bom_and_gbk_are_told_apart() {
        assert_eq!(
            facts_of("uscc,企业名称\n".as_bytes()).encoding,
            Encoding::Utf8
        );
        assert_eq!(
            facts_of("\u{feff}uscc\n".as_bytes()).encoding,
            Encoding::Utf8Bom
        );
        let (gbk, _, _) = encoding_rs::GBK.encode("统一社会信用代码,企业名称\n");
        assert_eq!(facts_of(&gbk).encoding, Encoding::Gb18030);
    }

    #[test]
    fn gbk_text_is_rewritten_as_the_same_utf8_text() {
        let (gbk, _, _) = encoding_rs::GBK.encode("统一社会信用代码,企业名称\n湛江市,甘蔗\n");
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), &gbk).unwrap();
        let out = transcode_to_utf8(f.path(), Encoding::Gb18030).unwrap();
        assert_eq!(
            std::fs::read_to_string(out.path()).unwrap(),
            "统一社会信用代码,企业名称\n湛江市,甘蔗\n"
        );
    }

    #[test]
    fn formats_are_sniffed_from_the_first_bytes() {
        assert_eq!(Format::sniff(b"PK\x03\x04...").unwrap(), Format::Xlsx);
        assert_eq!(
            Format::sniff(b"\xEF\xBB\xBF {\"uscc\":1}").unwrap(),
            Format::Jsonl
        );
        assert_eq!(Format::sniff(b"uscc,name").unwrap(), Format::Csv);
        assert!(Format::sniff(&[0xD0, 0xCF, 0x11, 0xE0]).is_err());
    }

    #[test]
    fn the_digest_is_the_sha256_of_the_whole_file() {
        let f = facts_of(b"abc");
        assert_eq!(
            f.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(f.size, 3);
    }
}
