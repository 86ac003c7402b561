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

#[test]
fn a_file_that_is_not_utf8_is_set_aside_and_the_others_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::write(root.join("a.lean"), "theorem a : true := trivial").expect("write");
    std::fs::write(root.join("b.lean"), b"theorem b : true := \xff\xfe trivial").expect("write");
    std::fs::write(root.join("c.lean"), "theorem c : true := trivial").expect("write");
    let unreadable = root.join("locked.lean");
    std::fs::write(&unreadable, "theorem d : true := trivial").expect("write");
    std::fs::set_permissions(
        &unreadable,
        std::os::unix::fs::PermissionsExt::from_mode(0o000),
    )
    .expect("chmod");
    let root_can_read = std::fs::read(&unreadable).is_ok();

    let loaded =
        problems::load_paths_each(&[root.to_path_buf(), unreadable.clone()]).expect("loads");
    let names: Vec<&str> = loaded
        .files
        .iter()
        .map(|f| f.theorems[0].name.as_str())
        .collect();
    let expected: &[&str] = if root_can_read {
        &["a", "c", "d", "d"]
    } else {
        &["a", "c"]
    };
    assert_eq!(names, expected);
    let failed: Vec<(PathBuf, String)> = loaded
        .failed
        .iter()
        .map(|f| (f.path.clone(), f.reason()))
        .collect();
    assert_eq!(failed[0].0, root.join("b.lean"));
    assert!(failed[0].1.contains("UTF-8"), "{failed:?}");
    if root_can_read {
        // Root reads any file: the locked one loads (once from the directory, once named).
        assert_eq!(failed.len(), 1, "{failed:?}");
    } else {
        assert_eq!(failed.len(), 3, "{failed:?}");
        assert_eq!(failed[1].0, unreadable);
        assert!(failed[1].1.contains("ermission denied"), "{failed:?}");
    }

    // A named path that is not there is a typo: an error before anything runs.
    let missing = root.join("gone.lean");
    let err = problems::load_paths_each(&[root.to_path_buf(), missing.clone()]).unwrap_err();
    assert!(
        matches!(err, LoadError::Io { ref path, .. } if *path == missing),
        "{err}"
    );

    // The strict loader still stops at the first one, naming it.
    let err = load_paths(&[root.to_path_buf()]).unwrap_err();
    assert!(err.to_string().contains("b.lean"), "{err}");
}
