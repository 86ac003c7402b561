//! `prover report`: one summary of many results files: the shards of a run, and repeated
//! attempts of the same theorems (pass@k).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;

use crate::prove::{ProveRecord, Summary};

/// Merge results files of `prover prove` (shards, repeated attempts) into one summary:
/// proved/attempted overall and per source file, pass@k across attempts, the time split, and
/// the failures by why the search stopped.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Results files (JSON lines, as `prove --output` writes them).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// pass@k for these k (comma-separated), over the theorems with at least k attempts.
    #[arg(
        long,
        value_name = "K,…",
        value_delimiter = ',',
        default_value = "1,8,32"
    )]
    pub pass_at: Vec<usize>,

    /// Print the summary as one JSON object instead of a table.
    #[arg(long)]
    pub jsonl: bool,
}

/// The merged summary.
#[derive(Debug, Serialize, PartialEq)]
pub struct Report {
    /// Attempts read (result lines).
    pub attempts: usize,
    /// Distinct theorems attempted.
    pub theorems: usize,
    /// Theorems proved by at least one attempt.
    pub proved: usize,
    pub per_file: Vec<FileLine>,
    pub pass_at: Vec<PassAt>,
    /// Median time of the proving attempts.
    pub median_time_to_proof_s: Option<f64>,
    /// Summed over attempts: waiting for the policy, in Lean, in the search itself.
    pub policy_s: f64,
    pub lean_s: f64,
    pub search_s: f64,
    /// Failed attempts by why the search stopped (`TimeLimit`, `Exhausted`, …).
    pub failures: BTreeMap<String, usize>,
    /// Lines that were not results (a line torn by a crash, another file's lines).
    pub unreadable_lines: usize,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct FileLine {
    pub file: String,
    pub theorems: usize,
    pub proved: usize,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct PassAt {
    pub k: usize,
    /// Unbiased estimate, averaged over the theorems with at least `k` attempts.
    pub value: f64,
    pub theorems: usize,
}

/// The chance that `k` attempts drawn from `n`, `c` of which succeeded, include a success:
/// `1 - C(n-c, k) / C(n, k)`, as a product (Chen et al. 2021) so large `n` does not overflow.
pub fn pass_at_k(n: usize, c: usize, k: usize) -> f64 {
    if n < k + c {
        return 1.0;
    }
    1.0 - ((n - c + 1)..=n)
        .map(|i| 1.0 - k as f64 / i as f64)
        .product::<f64>()
}

impl Report {
    pub fn of(records: &[ProveRecord], unreadable_lines: usize, ks: &[usize]) -> Self {
        // Per theorem: its file, attempts and successes.
        let mut by_theorem: BTreeMap<&str, (&str, usize, usize)> = BTreeMap::new();
        let mut failures: BTreeMap<String, usize> = BTreeMap::new();
        for r in records {
            let entry = by_theorem
                .entry(r.result.name.as_str())
                .or_insert((r.file.as_str(), 0, 0));
            entry.1 += 1;
            if r.result.success() {
                entry.2 += 1;
            } else {
                *failures
                    .entry(format!("{:?}", r.result.stop_reason))
                    .or_default() += 1;
            }
        }
        let mut per_file: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (file, _, successes) in by_theorem.values() {
            let line = per_file.entry(file).or_default();
            line.0 += 1;
            line.1 += usize::from(*successes > 0);
        }
        let pass_at = ks
            .iter()
            .map(|&k| {
                let counted: Vec<f64> = by_theorem
                    .values()
                    .filter(|(_, n, _)| *n >= k)
                    .map(|(_, n, c)| pass_at_k(*n, *c, k))
                    .collect();
                PassAt {
                    k,
                    value: if counted.is_empty() {
                        0.0
                    } else {
                        counted.iter().sum::<f64>() / counted.len() as f64
                    },
                    theorems: counted.len(),
                }
            })
            .collect();
        // Times and their split as `prove` sums them for its own table.
        let overall = Summary::of(records.iter().map(|r| &r.result));
        Report {
            attempts: records.len(),
            theorems: by_theorem.len(),
            proved: by_theorem.values().filter(|(_, _, c)| *c > 0).count(),
            per_file: per_file
                .into_iter()
                .map(|(file, (theorems, proved))| FileLine {
                    file: file.to_string(),
                    theorems,
                    proved,
                })
                .collect(),
            pass_at,
            median_time_to_proof_s: overall.median_time_to_proof_s,
            policy_s: overall.policy_s,
            lean_s: overall.lean_s,
            search_s: overall.search_s,
            failures,
            unreadable_lines,
        }
    }

    /// The report for people.
    pub fn table(&self) -> String {
        let pct = |a: usize, b: usize| {
            if b > 0 {
                100.0 * a as f64 / b as f64
            } else {
                0.0
            }
        };
        let mut t = String::new();
        t.push_str(&format!(
            "proved {}/{} theorems ({:.1}%), {} attempts\n",
            self.proved,
            self.theorems,
            pct(self.proved, self.theorems),
            self.attempts
        ));
        for p in self.pass_at.iter().filter(|p| p.theorems > 0) {
            t.push_str(&format!(
                "pass@{:<4} {:.1}% (over {} theorems with ≥{} attempts)\n",
                p.k,
                100.0 * p.value,
                p.theorems,
                p.k
            ));
        }
        if let Some(m) = self.median_time_to_proof_s {
            t.push_str(&format!("median time to proof {m:.2}s\n"));
        }
        let total = self.policy_s + self.lean_s + self.search_s;
        let share = |x: f64| if total > 0.0 { 100.0 * x / total } else { 0.0 };
        t.push_str(&format!(
            "time split: policy {:.1}s ({:.0}%), Lean {:.1}s ({:.0}%), search {:.2}s ({:.1}%)\n",
            self.policy_s,
            share(self.policy_s),
            self.lean_s,
            share(self.lean_s),
            self.search_s,
            share(self.search_s)
        ));
        if !self.failures.is_empty() {
            let why: Vec<String> = self
                .failures
                .iter()
                .map(|(reason, n)| format!("{reason} ×{n}"))
                .collect();
            t.push_str(&format!("failed attempts: {}\n", why.join(", ")));
        }
        t.push_str(&format!("{:<48} {:>8} {:>8}\n", "file", "proved", "of"));
        for f in &self.per_file {
            t.push_str(&format!(
                "{:<48} {:>8} {:>8}\n",
                f.file, f.proved, f.theorems
            ));
        }
        if self.unreadable_lines > 0 {
            t.push_str(&format!(
                "({} line(s) were not results and were skipped)\n",
                self.unreadable_lines
            ));
        }
        t.trim_end().to_string()
    }
}

/// Runs the command.
pub fn run(args: &ReportArgs) -> Result<()> {
    if args.pass_at.contains(&0) {
        bail!("--pass-at: k counts attempts, from 1");
    }
    let mut records = Vec::new();
    let mut unreadable = 0;
    for path in &args.files {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<ProveRecord>(line) {
                Ok(r) => records.push(r),
                Err(_) => unreadable += 1,
            }
        }
    }
    if records.is_empty() {
        bail!("no results in the given files (they are the JSON lines `prover prove` writes)");
    }
    let report = Report::of(&records, unreadable, &args.pass_at);
    if args.jsonl {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.table());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use search::{SearchResult, SearchStats, StopReason};

    fn record(name: &str, file: &str, proved: bool) -> ProveRecord {
        let result = SearchResult {
            name: name.into(),
            proved,
            verified: proved,
            proof: proved.then(|| "begin\n  simp\nend".to_string()),
            axioms: Vec::new(),
            expansions: 3,
            time_s: 1.5,
            stop_reason: if proved {
                StopReason::Proved
            } else {
                StopReason::TimeLimit
            },
            error: None,
            stats: SearchStats {
                policy_time_s: 1.0,
                env_time_s: 0.5,
                ..SearchStats::default()
            },
        };
        ProveRecord {
            result,
            file: file.into(),
            policy: "heuristic".into(),
            retrieved: Vec::new(),
        }
    }

    #[test]
    fn pass_at_k_is_the_unbiased_estimate() {
        assert_eq!(pass_at_k(1, 1, 1), 1.0);
        assert_eq!(pass_at_k(1, 0, 1), 0.0);
        assert!((pass_at_k(4, 1, 1) - 0.25).abs() < 1e-12);
        // 1 - C(2,2)/C(4,2) = 1 - 1/6
        assert!((pass_at_k(4, 2, 2) - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(pass_at_k(4, 3, 2), 1.0);
    }

    #[test]
    fn attempts_merge_by_theorem_and_files_count_theorems_once() {
        let records = vec![
            record("a", "x.lean", false),
            record("a", "x.lean", true),
            record("b", "x.lean", false),
            record("b", "x.lean", false),
            record("c", "y.lean", true),
        ];
        let r = Report::of(&records, 1, &[1, 2, 8]);
        assert_eq!((r.attempts, r.theorems, r.proved), (5, 3, 2));
        assert_eq!(
            r.per_file,
            [
                FileLine {
                    file: "x.lean".into(),
                    theorems: 2,
                    proved: 1
                },
                FileLine {
                    file: "y.lean".into(),
                    theorems: 1,
                    proved: 1
                },
            ]
        );
        // pass@1: a 1/2, b 0, c 1 → 0.5; pass@2 only over a and b: a 1, b 0.
        assert!((r.pass_at[0].value - 0.5).abs() < 1e-12 && r.pass_at[0].theorems == 3);
        assert!((r.pass_at[1].value - 0.5).abs() < 1e-12 && r.pass_at[1].theorems == 2);
        assert_eq!(r.pass_at[2].theorems, 0);
        assert_eq!(r.failures, BTreeMap::from([("TimeLimit".to_string(), 3)]));
        assert_eq!(r.unreadable_lines, 1);
        let table = r.table();
        assert!(table.contains("proved 2/3 theorems"), "{table}");
        assert!(!table.contains("pass@8"), "{table}");
    }

    #[test]
    fn shards_merge_to_the_whole() {
        let all: Vec<ProveRecord> = (0..40)
            .map(|i| record(&format!("t{i}"), "f.lean", i % 3 == 0))
            .collect();
        let whole = Report::of(&all, 0, &[1]);
        let mut merged = Vec::new();
        for index in 0..3 {
            let shard = crate::shard::Shard { index, count: 3 };
            merged.extend(
                all.iter()
                    .filter(|r| shard.contains(&r.result.name))
                    .map(|r| record(&r.result.name, &r.file, r.result.success())),
            );
        }
        assert_eq!(Report::of(&merged, 0, &[1]), whole);
    }
}
