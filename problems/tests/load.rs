//! Loading files and directories.

use std::path::PathBuf;

use problems::{LoadError, core_dir, load_file, load_paths};

#[test]
fn directories_expand_to_sorted_lean_files_below_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir(root.join("sub")).expect("mkdir");
    std::fs::write(root.join("b.lean"), "theorem b : true := trivial").expect("write");
    std::fs::write(root.join("sub/a.lean"), "theorem a : true := trivial").expect("write");
    std::fs::write(root.join("a.lean"), "theorem a0 : true := trivial").expect("write");
    std::fs::write(root.join("notes.txt"), "theorem x : true := trivial").expect("write");

    let single = root.join("b.lean");
    let files = load_paths(&[single.clone(), root.to_path_buf()]).expect("loads");
    let names: Vec<(PathBuf, &str)> = files
        .iter()
        .map(|f| {
            let path = f.path.clone().expect("path");
            (path, f.theorems[0].name.as_str())
        })
        .collect();
    assert_eq!(
        names,
        [
            (single.clone(), "b"),
            (root.join("a.lean"), "a0"),
            (root.join("b.lean"), "b"),
            (root.join("sub/a.lean"), "a"),
        ]
    );
}

#[test]
fn errors_name_the_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.lean");
    let err = load_file(&missing).unwrap_err();
    assert!(matches!(err, LoadError::Io { ref path, .. } if *path == missing));
    assert!(err.to_string().contains("missing.lean"), "{err}");

    let err = load_paths(&[dir.path().to_path_buf()]).unwrap_err();
    assert!(matches!(err, LoadError::NoLeanFiles { .. }), "{err}");

    let bad = dir.path().join("bad.lean");
    std::fs::write(
        &bad,
        "theorem ok : true := trivial\ntheorem bad : (true :=\ntrivial\n",
    )
    .expect("write");
    // One unreadable theorem does not cost the file: the other is read, and the broken one
    // is reported with its place.
    let file = load_file(&bad).expect("the file loads");
    assert_eq!(file.theorems.len(), 1);
    assert_eq!(file.theorems[0].name, "ok");
    assert_eq!(file.unreadable.len(), 1, "{:?}", file.unreadable);
    assert_eq!(file.unreadable[0].name.as_deref(), Some("bad"));
    assert_eq!(file.unreadable[0].line, 2);
    let err = file.strict().unwrap_err();
    assert_eq!((err.path.as_deref(), err.line), (Some(bad.as_path()), 2));
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2:", bad.display())),
        "{err}"
    );
}

#[test]
fn core_dir_is_this_crates_core_folder() {
    let dir = core_dir();
    assert!(dir.is_absolute());
    assert!(dir.ends_with("problems/core"));
    assert!(dir.join("README.md").is_file());
}
