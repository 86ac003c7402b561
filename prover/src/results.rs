//! The results file of `prover prove`: one JSON object per theorem, appended (and synced) as
//! each search finishes, so that nothing is lost on a crash and `--resume` can skip what is done.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// An open results file.
pub struct ResultsFile {
    path: PathBuf,
    file: File,
}

impl ResultsFile {
    /// Opens `path` for appending. Without `resume`, an existing non-empty file is an error
    /// unless `overwrite` (then it is truncated). With `resume`, returns the names already in
    /// it; a last line cut short by a crash is ignored (and the next record starts on a fresh
    /// line).
    pub fn open(path: &Path, resume: bool, overwrite: bool) -> Result<(Self, HashSet<String>)> {
        let exists = path.metadata().map(|m| m.len() > 0).unwrap_or(false);
        if exists && !resume && !overwrite {
            bail!(
                "{} already has results; pass --resume to continue it, --overwrite to start over, \
                 or another --output",
                path.display()
            );
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut done = HashSet::new();
        if exists && resume {
            let f = File::open(path).with_context(|| format!("reading {}", path.display()))?;
            for line in BufReader::new(f).lines() {
                let line = line.with_context(|| format!("reading {}", path.display()))?;
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && let Some(name) = v.get("name").and_then(|n| n.as_str())
                {
                    done.insert(name.to_string());
                }
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        if overwrite && !resume {
            file.set_len(0)
                .with_context(|| format!("truncating {}", path.display()))?;
        } else if ends_without_newline(&mut file)? {
            file.write_all(b"\n")?;
        }
        Ok((
            ResultsFile {
                path: path.to_path_buf(),
                file,
            },
            done,
        ))
    }

    /// Appends one record and syncs it to disk.
    pub fn append<T: serde::Serialize>(&mut self, record: &T) -> Result<()> {
        let mut line = serde_json::to_string(record)?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .and_then(|_| self.file.sync_data())
            .with_context(|| format!("writing {}", self.path.display()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn ends_without_newline(file: &mut File) -> Result<bool> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_reads_names_and_survives_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/r.jsonl");
        {
            let (mut f, done) = ResultsFile::open(&path, false, false).unwrap();
            assert!(done.is_empty());
            f.append(&serde_json::json!({"name": "a", "proved": true}))
                .unwrap();
            f.append(&serde_json::json!({"name": "b", "proved": false}))
                .unwrap();
        }
        // A crash in the middle of a write.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"name\": \"c\", \"pro")
            .unwrap();
        // Without --resume the file is protected.
        assert!(ResultsFile::open(&path, false, false).is_err());
        let (mut f, done) = ResultsFile::open(&path, true, false).unwrap();
        assert_eq!(done, HashSet::from(["a".to_string(), "b".to_string()]));
        f.append(&serde_json::json!({"name": "c", "proved": true}))
            .unwrap();
        drop(f);
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed: Vec<_> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .collect();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[2]["name"], "c");
        // --overwrite starts over.
        let (_, done) = ResultsFile::open(&path, false, true).unwrap();
        assert!(done.is_empty());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }
}
