//! Where in the input something was read: a line (a Parquet row) of a file.

use std::fmt;
use std::sync::Arc;

/// A file among several the input reads, as messages name it.
#[derive(Debug, PartialEq, Eq)]
pub struct FileName {
    /// The path as the input found it (`exports/data_0_1_0.csv.gz`).
    pub name: Box<str>,
    /// Its records are rows, not lines (Parquet).
    pub rows: bool,
}

/// A 1-based line of the input, and the file it is in when the input names files.
///
/// Shown as `line 12`, `data_0_1_0.csv.gz line 12` or `part-0.parquet row 12`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line {
    /// The line's (or row's) number in its file; 0 for a line the target wrote itself (an
    /// export's SCHEMA).
    pub number: u64,
    /// The file, when the input is more than one named file or rows of a Parquet file.
    pub file: Option<Arc<FileName>>,
}

impl Line {
    /// Line `number` of an input that names no file.
    pub fn new(number: u64) -> Self {
        Self { number, file: None }
    }

    /// Line `number` of `file`.
    pub fn of(number: u64, file: Option<&Arc<FileName>>) -> Self {
        Self {
            number,
            file: file.cloned(),
        }
    }

    /// The file's name, when there is one.
    pub fn file_name(&self) -> Option<&str> {
        self.file.as_deref().map(|f| &*f.name)
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            None => write!(f, "line {}", self.number),
            Some(file) if file.rows => write!(f, "{} row {}", file.name, self.number),
            Some(file) => write!(f, "{} line {}", file.name, self.number),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_its_file_when_it_has_one() {
        assert_eq!(Line::new(7).to_string(), "line 7");
        let csv = Arc::new(FileName {
            name: "out/data_0_1_0.csv.gz".into(),
            rows: false,
        });
        assert_eq!(
            Line::of(12, Some(&csv)).to_string(),
            "out/data_0_1_0.csv.gz line 12"
        );
        let parquet = Arc::new(FileName {
            name: "part-0.parquet".into(),
            rows: true,
        });
        assert_eq!(
            Line::of(3, Some(&parquet)).to_string(),
            "part-0.parquet row 3"
        );
    }
}
