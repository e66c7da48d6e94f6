//! Column names: every feed column has an English and a Chinese name (docs/feeds.md); a file may
//! use either, in any order. Matching ignores case, surrounding spaces and full-width brackets.

use std::collections::HashMap;

use super::Issue;

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub en: &'static str,
    pub zh: &'static str,
    pub required: bool,
}

pub const fn req(en: &'static str, zh: &'static str) -> Column {
    Column {
        en,
        zh,
        required: true,
    }
}

pub const fn opt(en: &'static str, zh: &'static str) -> Column {
    Column {
        en,
        zh,
        required: false,
    }
}

/// Office software writes （亩） for (亩) and adds stray spaces; compare on a normal form.
fn normal(name: &str) -> String {
    name.trim()
        .trim_start_matches('\u{feff}')
        .chars()
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c.to_ascii_lowercase(),
        })
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Looks up a header name among a feed's columns.
pub struct Aliases(HashMap<String, usize>);

impl Aliases {
    pub fn new(columns: &[Column]) -> Aliases {
        let mut map = HashMap::new();
        for (i, c) in columns.iter().enumerate() {
            map.insert(normal(c.en), i);
            map.insert(normal(c.zh), i);
        }
        Aliases(map)
    }

    pub fn find(&self, name: &str) -> Option<usize> {
        self.0.get(&normal(name)).copied()
    }
}

/// Where each feed column is in a file with a header row, and its name as the file writes it.
#[derive(Debug, Clone)]
pub struct HeaderMap {
    /// For each feed column, its index among the file's fields.
    pub source: Vec<Option<usize>>,
    /// For each feed column, the name used in error messages.
    pub names: Vec<String>,
}

impl HeaderMap {
    /// Every feed column under its English name, for JSON Lines (keys are matched per line).
    pub fn by_english(columns: &[Column]) -> HeaderMap {
        HeaderMap {
            source: vec![None; columns.len()],
            names: columns.iter().map(|c| c.en.to_owned()).collect(),
        }
    }

    /// Maps a header row. Missing required columns and repeated columns are errors; columns the
    /// feed does not know are reported as warnings and ignored.
    pub fn resolve(
        columns: &[Column],
        header: &[String],
        line: u64,
    ) -> (HeaderMap, Vec<Issue>, Vec<Issue>) {
        let aliases = Aliases::new(columns);
        let mut map = HeaderMap::by_english(columns);
        let (mut errors, mut warnings) = (Vec::new(), Vec::new());
        for (pos, name) in header.iter().enumerate() {
            match aliases.find(name) {
                Some(i) if map.source[i].is_some() => errors.push(Issue {
                    line,
                    column: Some(name.clone()),
                    reason: format!("column {} appears twice", columns[i].en),
                }),
                Some(i) => {
                    map.source[i] = Some(pos);
                    map.names[i] = name.trim().to_owned();
                }
                None if name.trim().is_empty() => {}
                None => warnings.push(Issue {
                    line,
                    column: Some(name.chars().take(64).collect()),
                    reason: "unknown column, ignored".into(),
                }),
            }
        }
        for (i, c) in columns.iter().enumerate() {
            if c.required && map.source[i].is_none() {
                errors.push(Issue {
                    line,
                    column: None,
                    reason: format!(
                        "required column {} ({}) is missing from the header",
                        c.en, c.zh
                    ),
                });
            }
        }
        (map, errors, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[Column] = &[
        req("uscc", "统一社会信用代码"),
        req("land_mu", "承包土地(亩)"),
        opt("x", "某"),
    ];

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn chinese_and_english_names_map_to_the_same_columns_in_any_order() {
        let (m, errors, _) = HeaderMap::resolve(COLS, &names(&["承包土地（亩）", " USCC "]), 1);
        assert!(errors.is_empty());
        assert_eq!(m.source, vec![Some(1), Some(0), None]);
        assert_eq!(m.names[0], "USCC");
    }

    #[test]
    fn a_missing_required_column_is_an_error_and_an_unknown_one_a_warning() {
        let (_, errors, warnings) = HeaderMap::resolve(COLS, &names(&["uscc", "colour"]), 1);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].reason.contains("land_mu"));
        assert_eq!(warnings[0].column.as_deref(), Some("colour"));
    }

    #[test]
    fn a_column_given_twice_is_an_error() {
        let (_, errors, _) =
            HeaderMap::resolve(COLS, &names(&["uscc", "统一社会信用代码", "land_mu"]), 1);
        assert!(errors[0].reason.contains("twice"));
    }
}
