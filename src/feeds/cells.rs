//! One data row as its validator sees it: cells by feed column, and the errors and warnings
//! found so far, each tagged with the row's line and the column's name as the file wrote it.

use super::Issue;

/// A reusable row buffer filled by the readers in feed-column order.
#[derive(Debug, Default)]
pub struct RowBuf {
    pub line: u64,
    pub values: Vec<String>,
    pub present: Vec<bool>,
}

impl RowBuf {
    pub fn new(columns: usize) -> RowBuf {
        RowBuf {
            line: 0,
            values: vec![String::new(); columns],
            present: vec![false; columns],
        }
    }

    pub fn clear(&mut self) {
        for (v, p) in self.values.iter_mut().zip(self.present.iter_mut()) {
            v.clear();
            *p = false;
        }
    }

    pub fn set(&mut self, i: usize, value: &str) {
        self.values[i].push_str(value);
        self.present[i] = true;
    }
}

pub struct Cells<'a> {
    pub line: u64,
    values: &'a [String],
    present: &'a [bool],
    names: &'a [String],
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

impl<'a> Cells<'a> {
    pub fn new(row: &'a RowBuf, names: &'a [String]) -> Cells<'a> {
        Cells {
            line: row.line,
            values: &row.values,
            present: &row.present,
            names,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn issue(&self, i: usize, reason: String) -> Issue {
        Issue {
            line: self.line,
            column: Some(self.names[i].clone()),
            reason,
        }
    }

    pub fn fail(&mut self, i: usize, reason: impl Into<String>) {
        let issue = self.issue(i, reason.into());
        self.errors.push(issue);
    }

    pub fn warn(&mut self, i: usize, reason: impl Into<String>) {
        let issue = self.issue(i, reason.into());
        self.warnings.push(issue);
    }

    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// The cell, or `None` when absent or blank. A NUL character is refused outright: no
    /// database column should hold one, and PostgreSQL text cannot.
    fn raw(&mut self, i: usize) -> Result<Option<&'a str>, ()> {
        let v: &'a str = &self.values[i];
        if !self.present[i] || v.trim().is_empty() {
            return Ok(None);
        }
        if v.contains('\0') {
            self.fail(i, "contains a NUL character");
            return Err(());
        }
        Ok(Some(v))
    }

    /// A required cell parsed by `parse`; records why when it is missing or invalid.
    pub fn req<T>(&mut self, i: usize, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        match self.raw(i) {
            Ok(Some(v)) => parse(v).map_err(|e| self.fail(i, e)).ok(),
            Ok(None) => {
                self.fail(i, "required value is missing");
                None
            }
            Err(()) => None,
        }
    }

    /// An optional cell: `Some(None)` when blank, `None` when present but invalid.
    pub fn opt<T>(
        &mut self,
        i: usize,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.raw(i) {
            Ok(Some(v)) => parse(v).map(Some).map_err(|e| self.fail(i, e)).ok(),
            Ok(None) => Some(None),
            Err(()) => None,
        }
    }
}
