//! What `--input` names: a file, a folder of parts, a glob, or `-` for stdin.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::line::FileName;

/// The files an input reads, in order.
#[derive(Debug, Clone)]
pub enum Inputs {
    /// Standard input.
    Stdin,
    /// Files read one after the other as one input.
    Files(Vec<InputFile>),
}

/// One file of the input.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// Where it is.
    pub path: PathBuf,
    /// How messages name it: `None` when `--input` named this one file.
    pub name: Option<Arc<FileName>>,
}

/// Why `--input` names nothing readable.
#[derive(Debug, thiserror::Error)]
pub enum InputsError {
    /// Neither a file, a folder nor a glob that matches.
    #[error("--input {0}: no such file or folder")]
    Missing(String),
    /// A folder without a data file.
    #[error(
        "--input {0}: the folder has no data file (hidden files, names starting with '_' such as _SUCCESS, manifests and subfolders are skipped)"
    )]
    EmptyFolder(String),
    /// A glob that matches no file.
    #[error("--input {0}: no file matches the pattern")]
    NoMatch(String),
    /// A glob that cannot be read as one.
    #[error("--input {pattern}: not a valid pattern ({reason})")]
    BadPattern {
        /// As given.
        pattern: String,
        /// What the glob reader said.
        reason: String,
    },
    /// The folder or a matched path cannot be listed.
    #[error("--input {path}: {source}")]
    Io {
        /// The path at fault.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Inputs {
    /// Resolves `--input` (stdin when absent or `-`). `rows` marks files whose records are
    /// rows (Parquet), so messages say `row` and always name the file.
    pub fn resolve(arg: Option<&Path>, rows: bool) -> Result<Self, InputsError> {
        let Some(arg) = arg.filter(|a| a.as_os_str() != "-") else {
            return Ok(Self::Stdin);
        };
        let shown = arg.display().to_string();
        let io = |source| InputsError::Io {
            path: shown.clone(),
            source,
        };
        if arg.is_dir() {
            let mut paths = Vec::new();
            for entry in std::fs::read_dir(arg).map_err(io)? {
                let entry = entry.map_err(io)?;
                let file_name = entry.file_name();
                let name = file_name.to_string_lossy();
                let path = entry.path();
                if is_data_file(&name) && path.is_file() {
                    paths.push(path);
                } else if path.is_dir() && !name.starts_with(['.', '_']) {
                    tracing::warn!(
                        "--input {shown}: subfolder {name} skipped (only the folder's own files are read; pass it as --input to read it)"
                    );
                }
            }
            paths.sort();
            if paths.is_empty() {
                return Err(InputsError::EmptyFolder(shown));
            }
            return Ok(Self::Files(named(paths, rows)));
        }
        if arg.exists() {
            let name = rows.then(|| named(vec![arg.to_path_buf()], rows).remove(0).name);
            return Ok(Self::Files(vec![InputFile {
                path: arg.to_path_buf(),
                name: name.flatten(),
            }]));
        }
        if !shown.contains(['*', '?', '[']) {
            return Err(InputsError::Missing(shown));
        }
        let matches = glob::glob(&shown).map_err(|e| InputsError::BadPattern {
            pattern: shown.clone(),
            reason: e.msg.to_string(),
        })?;
        let mut paths = Vec::new();
        for m in matches {
            let path = m.map_err(|e| InputsError::Io {
                path: e.path().display().to_string(),
                source: e.into(),
            })?;
            if path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        if paths.is_empty() {
            return Err(InputsError::NoMatch(shown));
        }
        Ok(Self::Files(named(paths, rows)))
    }

    /// The total size of the files, when known (for progress).
    pub fn total_bytes(&self) -> Option<u64> {
        match self {
            Self::Stdin => None,
            Self::Files(files) => files
                .iter()
                .map(|f| std::fs::metadata(&f.path).ok().map(|m| m.len()))
                .sum(),
        }
    }

    /// The first file's path, when the input is files.
    pub fn first_path(&self) -> Option<&Path> {
        match self {
            Self::Stdin => None,
            Self::Files(files) => files.first().map(|f| f.path.as_path()),
        }
    }
}

fn named(paths: Vec<PathBuf>, rows: bool) -> Vec<InputFile> {
    paths
        .into_iter()
        .map(|path| InputFile {
            name: Some(Arc::new(FileName {
                name: path.display().to_string().into(),
                rows,
            })),
            path,
        })
        .collect()
}

/// Whether a folder's entry named `name` holds data: not hidden (`.part-0.crc`), not a
/// marker or log (`_SUCCESS`, `_committed_…`), not a manifest (Redshift's `…manifest`).
fn is_data_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !name.starts_with(['.', '_'])
        && !lower.ends_with("manifest")
        && !lower.ends_with("manifest.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(inputs: &Inputs) -> Vec<String> {
        match inputs {
            Inputs::Stdin => vec!["-".into()],
            Inputs::Files(files) => files
                .iter()
                .map(|f| {
                    f.path
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned()
                })
                .collect(),
        }
    }

    #[test]
    fn a_folder_gives_its_data_files_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "part-00001.csv",
            "part-00000.csv",
            "_SUCCESS",
            ".part-00000.csv.crc",
            "unload_manifest",
            "x.manifest.json",
        ] {
            std::fs::write(dir.path().join(name), "a\n").unwrap();
        }
        std::fs::create_dir(dir.path().join("date=2026-01-01")).unwrap();
        let inputs = Inputs::resolve(Some(dir.path()), false).unwrap();
        assert_eq!(names(&inputs), ["part-00000.csv", "part-00001.csv"]);
        let Inputs::Files(files) = &inputs else {
            panic!("files expected")
        };
        assert!(
            files[0]
                .name
                .as_ref()
                .unwrap()
                .name
                .ends_with("part-00000.csv")
        );
    }

    #[test]
    fn a_glob_matches_files_and_dash_is_stdin() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["data_0_1_0.csv.gz", "data_0_0_0.csv.gz", "other.csv"] {
            std::fs::write(dir.path().join(name), "a\n").unwrap();
        }
        let pattern = dir.path().join("data_*.csv.gz");
        let inputs = Inputs::resolve(Some(&pattern), false).unwrap();
        assert_eq!(names(&inputs), ["data_0_0_0.csv.gz", "data_0_1_0.csv.gz"]);
        assert!(matches!(
            Inputs::resolve(Some(Path::new("-")), false).unwrap(),
            Inputs::Stdin
        ));
        let none = dir.path().join("nothing_*.csv");
        assert!(matches!(
            Inputs::resolve(Some(&none), false),
            Err(InputsError::NoMatch(_))
        ));
        assert!(matches!(
            Inputs::resolve(Some(&dir.path().join("absent.csv")), false),
            Err(InputsError::Missing(_))
        ));
    }

    #[test]
    fn one_named_file_is_not_named_again_unless_its_records_are_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one.csv");
        std::fs::write(&path, "a\n").unwrap();
        let Inputs::Files(files) = Inputs::resolve(Some(&path), false).unwrap() else {
            panic!("files expected")
        };
        assert!(files[0].name.is_none());
        let Inputs::Files(files) = Inputs::resolve(Some(&path), true).unwrap() else {
            panic!("files expected")
        };
        assert!(files[0].name.as_ref().unwrap().rows);
    }
}
