//! Prints what a declaration index of mathlib's size costs: build time, size on disk, open
//! time and a query's time, on synthetic declarations (the tests' generator).
//!
//! `cargo run --release -p retrieval --example index_timing [COUNT] [DIR]` (COUNT defaults to
//! 50000; DIR to a temporary directory, removed afterwards).

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::Instant;

use retrieval::DeclIndex;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(50_000);
    let temp = tempfile::tempdir()?;
    let dir = match args.next() {
        Some(dir) => Path::new(&dir).to_path_buf(),
        None => temp.path().join("decls"),
    };

    let decls = common::synthetic_declarations(count);
    let text_bytes: usize = decls.iter().map(|d| d.name.len() + d.statement.len()).sum();
    let start = Instant::now();
    let built = DeclIndex::build(&dir, decls, "timing")?;
    let build = start.elapsed();
    drop(built);

    let start = Instant::now();
    let index = DeclIndex::open(&dir)?;
    let open = start.elapsed();

    let query = "a b : ℕ,\nh : nat.prime a\n⊢ nat.succ (a + b) ≤ real.sqrt a * 7 ^ n";
    let start = Instant::now();
    let hits = index.search(query, 20);
    let first_query = start.elapsed();
    let start = Instant::now();
    const REPEATS: u32 = 100;
    for _ in 0..REPEATS {
        std::hint::black_box(index.search(query, 20));
    }
    let query_time = start.elapsed() / REPEATS;

    println!(
        "declarations:   {count} ({:.1} MB of names and statements)",
        mb(text_bytes as u64)
    );
    println!("build:          {:.2} s", build.as_secs_f64());
    println!("size on disk:   {:.1} MB", mb(dir_size(&dir)?));
    println!("open:           {:.2} ms", open.as_secs_f64() * 1e3);
    println!("first query:    {:.2} ms", first_query.as_secs_f64() * 1e3);
    println!(
        "query (top 20): {:.2} ms (mean of {REPEATS})",
        query_time.as_secs_f64() * 1e3
    );
    println!(
        "best hit:       {}",
        hits.first().map_or("none", |(d, _)| d.name.as_str())
    );
    Ok(())
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn dir_size(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_size(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
