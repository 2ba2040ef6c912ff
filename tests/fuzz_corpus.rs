//! Replays the fuzzer's seed corpus and every past finding through the
//! fuzzing harness (the same code the fuzz target runs, included from
//! `fuzz/src/lib.rs`), so each `cargo test` checks them without nightly or
//! libFuzzer. A crash the fuzzer finds is added to `fuzz/corpus/pipeline/`
//! once fixed (see FUZZING.md).

use std::fs;
use std::path::Path;

#[path = "../fuzz/src/lib.rs"]
mod harness;

#[test]
fn the_seed_corpus_and_past_findings_replay_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/pipeline");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the seed corpus lost its files");
    for file in files {
        let data = fs::read(&file).unwrap();
        let result = std::panic::catch_unwind(|| harness::run(&data));
        assert!(result.is_ok(), "{} breaks the harness", file.display());
    }
}
