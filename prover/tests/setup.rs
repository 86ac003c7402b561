//! `prover setup`: the standard tools' command lines (pinned with scripts standing in for
//! elan, git, leanproject, curl and Lean), and, with a real Lean, a whole setup of a small
//! mathlib-shaped project from a local git repository: compiled, resumed after its files were
//! cut short, then found by other commands without --lean-project.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lean_bridge::testing::lean_for_test;

fn script(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Scripts named like the real tools, each appending its command line to `log`. git makes
/// the checkout a small mathlib-shaped package; elan installs a Lean that answers
/// `--version` and `--path` and fails to compile.
fn fake_tools(root: &Path, log: &Path) -> PathBuf {
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = log.display();
    let fake_lean = format!(
        r#"#!/bin/sh
case "$1" in
  --version) echo "Lean (version 3.51.1, commit 000000000000, Release)";;
  --path) if [ -d src ]; then echo "{{\"path\": [\"$(dirname $0)/../lib/lean/library\", \"$PWD/src\"]}}"; else echo "{{\"path\": [\"$(dirname $0)/../lib/lean/library\"]}}"; fi;;
  *) echo "lean $*" >> {log}; echo "fake lean cannot compile" >&2; exit 1;;
esac
"#
    );
    std::fs::write(root.join("fake_lean"), fake_lean).unwrap();
    script(
        &bin,
        "elan",
        &format!(
            r#"echo "elan $*" >> {log}
t="$ELAN_HOME/toolchains/leanprover-community--lean---3.51.1"
mkdir -p "$t/bin" "$t/lib/lean/library"
cp {root}/fake_lean "$t/bin/lean"; chmod +x "$t/bin/lean"
"#,
            root = root.display()
        ),
    );
    script(
        &bin,
        "git",
        &format!(
            r#"echo "git $*" >> {log}
dir="$2"
case "$3" in
  rev-parse) if [ -f "$dir/.fake-head" ]; then cat "$dir/.fake-head"; else exit 128; fi;;
  init) mkdir -p "$dir/.git";;
  checkout)
    mkdir -p "$dir/src/foo"
    printf '[package]\nname = "mathlib"\nversion = "0.1"\nlean_version = "leanprover-community/lean:3.51.1"\npath = "src"\n\n[dependencies]\n' > "$dir/leanpkg.toml"
    printf 'import foo.baz\n' > "$dir/src/foo/bar.lean"
    printf 'theorem baz_t : true := trivial\n' > "$dir/src/foo/baz.lean"
    echo "$6" > "$dir/.fake-head";;
esac
"#
        ),
    );
    script(
        &bin,
        "leanproject",
        &format!("echo \"leanproject $* (in $PWD)\" >> {log}\necho 'no network' >&2\nexit 1\n"),
    );
    script(
        &bin,
        "curl",
        &format!(
            "echo \"curl $*\" >> {log}\necho 'curl: (6) Could not resolve host' >&2\nexit 6\n"
        ),
    );
    script(&bin, "tar", &format!("echo \"tar $*\" >> {log}\nexit 2\n"));
    bin
}

#[test]
fn setup_runs_the_standard_tools_command_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log");
    let bin = fake_tools(tmp.path(), &log);
    let home = tmp.path().join("home");
    let header = tmp.path().join("header.lean");
    std::fs::write(&header, "import foo.bar\nopen nat\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prover"))
        .args(["setup", "--sandbox", "off", "-j", "2", "--header"])
        .arg(&header)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", &home)
        .env("ELAN_HOME", tmp.path().join("elan"))
        .env("PROVER_HOME", tmp.path().join("prover-home"))
        .env_remove("LEAN_HOME")
        .output()
        .unwrap();
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    let recorded = std::fs::read_to_string(&log).unwrap();
    let project = tmp.path().join("prover-home").join("mathlib");
    let rev = "65a1391a0106c9204fe45bc73a039f056558cb83";
    let p = project.display();
    let expected = [
        "elan toolchain install leanprover-community/lean:3.51.1".to_string(),
        format!("git -C {p} init -q"),
        format!("git -C {p} fetch --depth 1 https://github.com/leanprover-community/mathlib {rev}"),
        format!("git -C {p} checkout -q --detach {rev}"),
        format!("leanproject get-cache (in {p})"),
        format!(
            "curl --fail --location --silent --show-error --connect-timeout 20 --output {p}/.prover-olean-cache.tar.xz https://oleanstorage.azureedge.net/mathlib/{rev}.tar.xz"
        ),
        format!("lean --make -j2 {p}/src/foo/bar.lean"),
    ];
    // Whether a step is needed is asked with `git rev-parse`; the steps are the rest.
    let lines: Vec<&str> = recorded
        .lines()
        .filter(|l| !l.contains(" rev-parse "))
        .collect();
    assert_eq!(lines, expected, "{all}");
    // What the user is told: each step, the cache that was not there, and Lean's complaint.
    for said in [
        "installed now with elan",
        "cloned now from https://github.com/leanprover-community/mathlib",
        "leanpkg.path",
        "2 mathlib files in the import closure of 1 header(s); 0 compiled, 2 to go",
        "could not be fetched",
        "fake lean cannot compile",
    ] {
        assert!(all.contains(said), "missing {said:?} in:\n{all}");
    }
    assert_eq!(
        std::fs::read_to_string(project.join("leanpkg.path")).unwrap(),
        "builtin_path\npath ./src\n"
    );

    // --check changes nothing and says what is missing.
    std::fs::write(&log, "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prover"))
        .args(["setup", "--check", "--header"])
        .arg(&header)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", &home)
        .env("ELAN_HOME", tmp.path().join("elan"))
        .env("PROVER_HOME", tmp.path().join("prover-home"))
        .env_remove("LEAN_HOME")
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("0/2 files compiled"), "{all}");
    assert!(all.contains("not ready"), "{all}");
    let recorded = std::fs::read_to_string(&log).unwrap();
    assert!(
        recorded.lines().all(|l| l.contains(" rev-parse ")),
        "--check ran more than git rev-parse: {recorded}"
    );
}

#[test]
fn without_lean_or_elan_setup_says_how_to_install_elan() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("bin");
    std::fs::create_dir_all(&empty).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prover"))
        .arg("setup")
        .env("PATH", &empty)
        .env("HOME", tmp.path())
        .env("ELAN_HOME", tmp.path().join("elan"))
        .env("PROVER_HOME", tmp.path().join("prover-home"))
        .env_remove("LEAN_HOME")
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("neither was elan"), "{all}");
    assert!(all.contains("elan-init.sh"), "{all}");
    assert!(!all.contains("panicked"), "{all}");
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t", "-C"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A git repository shaped like mathlib: a leanpkg.toml and a chain of modules in `src`.
fn toy_mathlib(dir: &Path) -> String {
    std::fs::create_dir_all(dir.join("src/toy")).unwrap();
    std::fs::write(
        dir.join("leanpkg.toml"),
        "[package]\nname = \"mathlib\"\nversion = \"0.1\"\npath = \"src\"\n\n[dependencies]\n",
    )
    .unwrap();
    std::fs::write(dir.join(".gitignore"), "*.olean\n/leanpkg.path\n").unwrap();
    for i in 0..6 {
        let import = if i == 0 {
            String::new()
        } else {
            format!("import toy.m{}\n", i - 1)
        };
        std::fs::write(
            dir.join(format!("src/toy/m{i}.lean")),
            format!(
                "{import}namespace toy\ntheorem lemma{i} (n : ℕ) : n + {i} = {i} + n := nat.add_comm _ _\nend toy\n"
            ),
        )
        .unwrap();
    }
    std::fs::write(dir.join("src/toy/all.lean"), "import toy.m5 .m2\n").unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "toy"]);
    git(dir, &["rev-parse", "HEAD"])
}

#[test]
fn setup_compiles_resumes_and_is_found_by_every_command() {
    let Some(lean) = lean_for_test("setup_compiles_resumes_and_is_found_by_every_command") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("toy-mathlib");
    let rev = toy_mathlib(&repo);
    let header = tmp.path().join("toy_header.lean");
    std::fs::write(&header, "import toy.all\nopen toy\n").unwrap();
    let home = tmp.path().join("prover-home");
    let setup = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_prover"))
            .arg("setup")
            .args(["--lean", lean.lean.to_str().unwrap()])
            .args([
                "--mathlib-git",
                repo.to_str().unwrap(),
                "--mathlib-rev",
                &rev,
            ])
            .args(["--header", header.to_str().unwrap(), "--no-download"])
            .args(extra)
            .env("PROVER_HOME", &home)
            .output()
            .unwrap();
        (out.status.code(), text(&out))
    };
    let (code, all) = setup(&[]);
    assert_eq!(code, Some(0), "{all}");
    for said in [
        "cloned now from",
        "7 mathlib files in the import closure of 1 header(s); 0 compiled, 7 to go",
        "compiled 7 file(s)",
        "self-check",
        "ready.",
    ] {
        assert!(all.contains(said), "missing {said:?} in:\n{all}");
    }
    let project = home.join("mathlib");
    let src = project.join("src/toy");
    let (code, all) = setup(&["--check"]);
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("7/7 files compiled"), "{all}");

    // An interrupted compile: one file cut short, one never written.
    let cut = src.join("m3.olean");
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    std::fs::remove_file(src.join("m4.olean")).unwrap();
    let (code, all) = setup(&["--check"]);
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("5/7 files compiled, 1 cut short"), "{all}");
    let (code, all) = setup(&[]);
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("5 compiled, 2 to go"), "{all}");
    assert!(all.contains("1 cut short by an interrupted run"), "{all}");
    assert!(all.contains("compiled 2 file(s)"), "{all}");
    // Lean recompiled what had to be (m3, m4 and what imports them) and loads every file.
    let (code, all) = setup(&["--check"]);
    assert_eq!(code, Some(0), "{all}");

    // Another command finds the project without --lean-project, for a file whose imports
    // core Lean lacks, from a directory outside any project.
    let problem = tmp.path().join("uses_toy.lean");
    std::fs::write(
        &problem,
        "import toy.all\nopen toy\ntheorem uses_toy (n : ℕ) : n + 5 = 5 + n := lemma5 n\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prover"))
        .args(["check", "--lean", lean.lean.to_str().unwrap()])
        .arg(&problem)
        .current_dir(tmp.path())
        .env("PROVER_HOME", &home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    // Also when the file sits in a directory with a leanpkg.toml whose dependencies were
    // never fetched (as MiniF2F's does): that project lacks the import, setup's has it.
    let bare = tmp.path().join("bare-project");
    std::fs::create_dir_all(&bare).unwrap();
    std::fs::write(
        bare.join("leanpkg.toml"),
        "[package]\nname = \"bare\"\nversion = \"0.1\"\nlean_version = \"leanprover-community/lean:3.51.1\"\n\n[dependencies]\nmathlib = {git = \"https://github.com/leanprover-community/mathlib\", rev = \"abc\"}\n",
    )
    .unwrap();
    let inside = bare.join("uses_toy.lean");
    std::fs::copy(&problem, &inside).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_prover"))
        .args(["check", "--lean", lean.lean.to_str().unwrap()])
        .arg(&inside)
        .current_dir(&bare)
        .env("PROVER_HOME", &home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("using the project of `prover setup`"),
        "{}",
        text(&out)
    );
}
