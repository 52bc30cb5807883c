//! Go's glob semantics: `path.Match` for names (envsubst's `#`/`%` trimming operators) and
//! `filepath.Glob` for files (Prometheus `rule_files` and `file_sd_configs`, Promtail paths),
//! so patterns users wrote for the upstream tools select the same files here.

use std::path::{Path, PathBuf};

/// Go's `path.Match`: `*` and `?` never match `/`, `[...]` classes with ranges and `^`
/// negation, `\` escapes. `Err` for a malformed pattern.
pub fn glob_match(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n).map_err(|()| BadPattern(pattern.to_owned()))
}

fn match_from(p: &[char], n: &[char]) -> Result<bool, ()> {
    match p.first() {
        None => Ok(n.is_empty()),
        Some('*') => {
            // Try every split that keeps `/` out of the star.
            let rest = &p[1..];
            for i in 0..=n.len() {
                if i > 0 && n[i - 1] == '/' {
                    break;
                }
                if match_from(rest, &n[i..])? {
                    return Ok(true);
                }
            }
            // Validate the rest of the pattern even when nothing matched.
            validate(rest)?;
            Ok(false)
        }
        Some('?') => match n.first() {
            Some(&c) if c != '/' => match_from(&p[1..], &n[1..]),
            _ => validate(&p[1..]).map(|()| false),
        },
        Some('[') => {
            let (matched, consumed) = match_class(&p[1..], n.first().copied())?;
            if matched {
                match_from(&p[1 + consumed..], &n[1..])
            } else {
                validate(&p[1 + consumed..]).map(|()| false)
            }
        }
        Some('\\') => {
            let &c = p.get(1).ok_or(())?;
            if n.first() == Some(&c) {
                match_from(&p[2..], &n[1..])
            } else {
                validate(&p[2..]).map(|()| false)
            }
        }
        Some(&c) => {
            if n.first() == Some(&c) {
                match_from(&p[1..], &n[1..])
            } else {
                validate(&p[1..]).map(|()| false)
            }
        }
    }
}

/// Checks a pattern for syntax errors without matching.
fn validate(p: &[char]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(());
                }
                i += 2;
            }
            '[' => {
                let (_, consumed) = match_class(&p[i + 1..], None)?;
                i += 1 + consumed;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Matches one character against a class body (after `[`); returns whether it matched and how
/// many pattern characters the class used, including the closing `]`.
fn match_class(p: &[char], c: Option<char>) -> Result<(bool, usize), ()> {
    let mut i = 0;
    let negated = p.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &ch = p.get(i).ok_or(())?;
        if ch == ']' && !first {
            i += 1;
            break;
        }
        first = false;
        let (lo, used) = class_char(&p[i..])?;
        i += used;
        let mut hi = lo;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&x| x != ']') {
            let (h, used) = class_char(&p[i + 1..])?;
            hi = h;
            i += 1 + used;
        }
        if let Some(c) = c
            && lo <= c
            && c <= hi
        {
            matched = true;
        }
    }
    let hit = match c {
        Some(c) => c != '/' && (matched != negated),
        None => false,
    };
    Ok((hit, i))
}

fn class_char(p: &[char]) -> Result<(char, usize), ()> {
    match p.first() {
        Some('\\') => p.get(1).map(|&c| (c, 2)).ok_or(()),
        Some(&c) if c != '-' && c != ']' => Ok((c, 1)),
        _ => Err(()),
    }
}

/// True when the pattern has a glob metacharacter (Go's `hasMeta`).
fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

/// A pattern is malformed (Go's `ErrBadPattern`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern {0:?}")]
pub struct BadPattern(pub String);

/// Go's `filepath.Glob`: every path matching `pattern`, sorted per directory level; I/O
/// errors while reading directories are ignored as Go ignores them; a malformed pattern is
/// an error. Without metacharacters, the path itself if it exists.
pub fn glob_files(pattern: &str) -> Result<Vec<PathBuf>, BadPattern> {
    let bad = || BadPattern(pattern.to_owned());
    if !has_meta(pattern) {
        return Ok(if std::fs::symlink_metadata(pattern).is_ok() {
            vec![PathBuf::from(pattern)]
        } else {
            Vec::new()
        });
    }
    let path = Path::new(pattern);
    let (dir, file) = match (path.parent(), path.file_name()) {
        (Some(d), Some(f)) => (d, f.to_string_lossy().into_owned()),
        _ => return Err(bad()),
    };
    let dir_str = dir.to_string_lossy();
    let dirs: Vec<PathBuf> = if dir_str.is_empty() {
        vec![PathBuf::from(".")]
    } else if has_meta(&dir_str) {
        glob_files(&dir_str)?
    } else {
        vec![dir.to_path_buf()]
    };
    // Validate the last element even when no directory exists.
    glob_match(&file, "")?;
    let mut out = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            if glob_match(&file, &name)? {
                out.push(if dir_str.is_empty() {
                    PathBuf::from(&name)
                } else {
                    d.join(&name)
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod file_tests {
    use super::*;

    #[test]
    fn globs_files_like_go() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a.yml", "b.yml", "c.json", "sub/d.yml"] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let base = dir.path().display().to_string();
        let names = |pattern: &str| -> Vec<String> {
            glob_files(&format!("{base}/{pattern}"))
                .unwrap()
                .iter()
                .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(names("*.yml"), vec!["a.yml", "b.yml"]);
        assert_eq!(names("*/*.yml"), vec!["sub/d.yml"]);
        assert_eq!(names("c.json"), vec!["c.json"]);
        assert!(names("missing.yml").is_empty());
        assert!(glob_files(&format!("{base}/[.yml")).is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn matches_like_go_path_match() {
        assert_eq!(glob_match("*.txt", "c.txt"), Ok(true));
        assert_eq!(glob_match("*", "a/b"), Ok(false));
        assert_eq!(glob_match("*/b", "a/b"), Ok(true));
        assert_eq!(glob_match("a?c", "abc"), Ok(true));
        assert_eq!(glob_match("a?c", "a/c"), Ok(false));
        assert_eq!(glob_match("[a-c]x", "bx"), Ok(true));
        assert_eq!(glob_match("[^a-c]x", "bx"), Ok(false));
        assert_eq!(glob_match("[^a-c]x", "dx"), Ok(true));
        assert_eq!(glob_match("\\*", "*"), Ok(true));
        assert_eq!(glob_match("\\*", "a"), Ok(false));
        assert!(glob_match("[", "a").is_err());
        assert!(glob_match("a\\", "a").is_err());
        assert!(glob_match("x*[", "y").is_err());
    }
}
