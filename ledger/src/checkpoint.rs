//! The checkpoint body (C2SP `tlog-checkpoint`): origin, tree size, root hash, extension lines.

use chrono::{DateTime, Utc};

use crate::hash::Hash;
use crate::note::NoteError;
use crate::tree::MAX_TREE_SIZE;

/// Extension line carrying the time the sequencer signed the checkpoint (our one extension).
const TIME_EXTENSION: &str = "time ";

/// A signed tree head: the tree of `size` leaves has root `root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// When the sequencer signed it, carried as the extension line `time <RFC 3339>` (C2SP allows
    /// extension lines; clients that do not know it ignore it).
    pub time: Option<DateTime<Utc>>,
    /// Other extension lines, kept as they were so the text re-serialises byte for byte.
    pub other_extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text that is signed.
    pub fn body(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        if let Some(time) = self.time {
            text.push_str(TIME_EXTENSION);
            text.push_str(&time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
            text.push('\n');
        }
        for line in &self.other_extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Reads the note text of a checkpoint (everything before the blank line, with its newline).
    pub fn parse_body(text: &str) -> Result<Checkpoint, NoteError> {
        let err = |line, what| NoteError::Checkpoint { line, what };
        let body = text.strip_suffix('\n').ok_or(NoteError::NoFinalNewline)?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(err(1, "the origin line is empty"));
        }
        let size_text = lines
            .next()
            .ok_or(err(2, "the tree size line is missing"))?;
        let size = parse_size(size_text).ok_or(err(
            2,
            "the tree size must be a decimal number without leading zeros",
        ))?;
        if size > MAX_TREE_SIZE {
            return Err(err(
                2,
                "the tree size is larger than this verifier supports",
            ));
        }
        let root_text = lines
            .next()
            .ok_or(err(3, "the root hash line is missing"))?;
        let root = Hash::from_base64(root_text).map_err(|_| {
            err(
                3,
                "the root hash must be 32 bytes in standard base64 with padding",
            )
        })?;
        let mut time = None;
        let mut other_extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            let n = i + 4;
            if line.is_empty() {
                return Err(err(n, "extension lines must not be empty"));
            }
            if let Some(value) = line.strip_prefix(TIME_EXTENSION) {
                if time.is_some() {
                    return Err(err(n, "the time extension appears twice"));
                }
                let parsed = DateTime::parse_from_rfc3339(value)
                    .map_err(|_| err(n, "the time extension is not an RFC 3339 time"))?;
                time = Some(parsed.with_timezone(&Utc));
            } else {
                other_extensions.push(line.to_owned());
            }
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            time,
            other_extensions,
        })
    }
}

fn parse_size(text: &str) -> Option<u64> {
    let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = text.len() > 1 && text.starts_with('0');
    if !digits_only || leading_zero {
        return None;
    }
    text.parse().ok()
}
