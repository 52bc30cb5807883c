//! `alert-router-tool`: the offline parts of `amtool` against an Alertmanager config file —
//! `check-config`, `config routes [show]` and `config routes test` — with amtool's output.

use std::fmt::Write;
use std::path::Path;

use lgtm_common::labels::{Labels, MatchOp};

use crate::config::LoadedConfig;
use crate::matchers::{matchers_string, parse_matcher};
use crate::route::Route;

/// Output and exit code of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Text for stdout.
    pub stdout: String,
    /// Text for stderr.
    pub stderr: String,
    /// Exit code.
    pub code: i32,
}

fn slug(r: &Route, show_continue: bool, show_receiver: bool) -> String {
    let mut s = if r.matchers.is_empty() {
        "default-route".to_owned()
    } else {
        matchers_string(&r.matchers)
    };
    if show_continue && r.continue_matching {
        s.push_str("  continue: true");
    }
    if show_receiver {
        let _ = write!(s, "  receiver: {}", r.opts.receiver);
    }
    s
}

/// A tree node for treeprint-style rendering.
struct Node {
    text: String,
    children: Vec<Node>,
}

fn render(root: &Node) -> String {
    fn rec(out: &mut String, n: &Node, prefix: &str) {
        let count = n.children.len();
        for (i, c) in n.children.iter().enumerate() {
            let last = i + 1 == count;
            let _ = writeln!(
                out,
                "{prefix}{}{}",
                if last { "└── " } else { "├── " },
                c.text
            );
            // treeprint indents under a non-last branch with "│", two NBSPs and a space.
            let indent = if last { "    " } else { "│\u{a0}\u{a0} " };
            rec(out, c, &format!("{prefix}{indent}"));
        }
    }
    let mut out = String::from(".\n");
    rec(&mut out, root, "");
    out
}

fn full_tree(r: &Route) -> Node {
    Node {
        text: slug(r, true, true),
        children: r.routes.iter().map(full_tree).collect(),
    }
}

fn matching_tree(r: &Route, finals: &[usize]) -> Option<Node> {
    let children: Vec<Node> = r
        .routes
        .iter()
        .filter_map(|c| matching_tree(c, finals))
        .collect();
    let is_final = finals.contains(&r.id);
    if !is_final && children.is_empty() {
        return None;
    }
    Some(Node {
        text: slug(r, false, is_final),
        children,
    })
}

fn load(path: &Path) -> Result<LoadedConfig, Outcome> {
    LoadedConfig::load_file(path).map_err(|e| Outcome {
        stdout: String::new(),
        stderr: format!("amtool: error: failed to load config: {e}\n"),
        code: 1,
    })
}

/// `check-config FILE...`.
pub fn check_config(files: &[String]) -> Outcome {
    let mut out = String::new();
    let mut failed = 0;
    for f in files {
        let _ = write!(out, "Checking '{f}'");
        match LoadedConfig::load_file(Path::new(f)) {
            Ok(c) => {
                let _ = writeln!(out, "  SUCCESS");
                let _ = writeln!(out, "Found:");
                if c.file.global.is_some() {
                    let _ = writeln!(out, " - global config");
                }
                let _ = writeln!(out, " - route");
                let _ = writeln!(out, " - {} inhibit rules", c.inhibit_rules.len());
                let _ = writeln!(out, " - {} receivers", c.receivers.len());
                let _ = writeln!(out, " - {} templates", c.template_files.len());
                for w in &c.warnings {
                    let _ = writeln!(out, "  WARNING: {w}");
                }
            }
            Err(e) => {
                let _ = writeln!(out, "  FAILED: {e}");
                failed += 1;
            }
        }
        out.push('\n');
    }
    let stderr = if failed > 0 {
        format!("amtool: error: failed to validate {failed} file(s)\n")
    } else {
        String::new()
    };
    Outcome {
        stdout: out,
        stderr,
        code: i32::from(failed > 0),
    }
}

/// `config routes [show] --config.file=F`.
pub fn routes_show(path: &Path) -> Outcome {
    match load(path) {
        Ok(c) => {
            let mut root = Node {
                text: String::new(),
                children: vec![full_tree(&c.route)],
            };
            root.text.clear();
            Outcome {
                stdout: format!("Routing tree:\n{}\n", render(&root)),
                stderr: String::new(),
                code: 0,
            }
        }
        Err(o) => o,
    }
}

/// `config routes test --config.file=F [--verify.receivers=a,b] [--tree] label=value...`.
pub fn routes_test(path: &Path, labels: &[String], verify: Option<&str>, tree: bool) -> Outcome {
    let c = match load(path) {
        Ok(c) => c,
        Err(o) => return o,
    };
    let mut pairs = Vec::new();
    for l in labels {
        match parse_matcher(l) {
            Ok(m) if m.op == MatchOp::Equal => pairs.push((m.name, m.value)),
            Ok(_) => {
                return Outcome {
                    stdout: String::new(),
                    stderr: "amtool: error: labels must be specified as key=value pairs\n".into(),
                    code: 1,
                };
            }
            Err(e) => {
                return Outcome {
                    stdout: String::new(),
                    stderr: format!("amtool: error: {e}\n"),
                    code: 1,
                };
            }
        }
    }
    let ls = Labels::from_pairs(pairs);
    let finals = c.route.match_labels(&ls);
    let receivers: Vec<&str> = finals.iter().map(|r| r.opts.receiver.as_str()).collect();
    let mut out = String::new();
    if tree {
        let ids: Vec<usize> = finals.iter().map(|r| r.id).collect();
        let root = Node {
            text: String::new(),
            children: matching_tree(&c.route, &ids).into_iter().collect(),
        };
        let _ = write!(out, "Matching routes:\n{}\n\n", render(&root));
    }
    let joined = receivers.join(",");
    let _ = writeln!(out, "{joined}");
    let mut code = 0;
    if let Some(v) = verify
        && v != joined
    {
        let _ = writeln!(
            out,
            "WARNING: Expected receivers did not match resolved receivers."
        );
        code = 1;
    }
    Outcome {
        stdout: out,
        stderr: String::new(),
        code,
    }
}

/// Parses amtool-style arguments and runs the command.
pub fn main_with_args(args: &[String]) -> Outcome {
    let mut config_file: Option<String> = None;
    let mut verify = None;
    let mut tree = false;
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix("--config.file=") {
            config_file = Some(v.to_owned());
        } else if a == "--config.file" {
            config_file = it.next().cloned();
        } else if let Some(v) = a.strip_prefix("--verify.receivers=") {
            verify = Some(v.to_owned());
        } else if a == "--tree" {
            tree = true;
        } else if a.starts_with("--") {
            // amtool's global flags (--alertmanager.url, -o ...) have no offline meaning.
        } else {
            positional.push(a.clone());
        }
    }
    let usage = Outcome {
        stdout: String::new(),
        stderr: "usage: alert-router-tool check-config FILE... | config routes [show|test] --config.file=FILE [--tree] [--verify.receivers=R] [label=value...]\n".into(),
        code: 2,
    };
    let pos: Vec<&str> = positional.iter().map(String::as_str).collect();
    match pos.as_slice() {
        ["check-config", files @ ..] if !files.is_empty() => {
            check_config(&files.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
        }
        ["config", "routes"] | ["config", "routes", "show"] => match &config_file {
            Some(f) => routes_show(Path::new(f)),
            None => usage,
        },
        ["config", "routes", "test", labels @ ..] => match &config_file {
            Some(f) => routes_test(
                Path::new(f),
                &labels.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
                verify.as_deref(),
                tree,
            ),
            None => usage,
        },
        _ => usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn am_yml() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data/am.yml")
    }

    #[test]
    fn routes_test_matches_amtool() {
        let p = am_yml();
        let o = routes_test(
            &p,
            &[
                "severity=critical".into(),
                "team=db".into(),
                "alertname=X".into(),
            ],
            None,
            false,
        );
        assert_eq!(o.stdout, "team-hook,tg\n");
        let o = routes_test(&p, &["foo=bar".into()], Some("tg"), false);
        assert_eq!(o.code, 1);
        assert_eq!(
            o.stdout,
            "default-hook\nWARNING: Expected receivers did not match resolved receivers.\n"
        );
        let o = routes_test(
            &p,
            &[
                "severity=critical".into(),
                "team=db".into(),
                "alertname=X".into(),
            ],
            None,
            true,
        );
        assert_eq!(
            o.stdout,
            "Matching routes:\n.\n└── default-route\n    ├── {team=\"db\"}  receiver: team-hook\n    └── {severity=\"critical\"}  receiver: tg\n\n\nteam-hook,tg\n"
        );
    }

    #[test]
    fn show_and_check() {
        let o = routes_show(&am_yml());
        assert!(
            o.stdout
                .contains("├── {team=\"db\"}  continue: true  receiver: team-hook"),
            "{}",
            o.stdout
        );
        assert!(
            o.stdout
                .contains("└── {service=~\"^(?:^(foo1|foo2|baz)$)$\"}  receiver: default-hook")
        );
        let o = check_config(&[am_yml().to_string_lossy().into_owned()]);
        assert_eq!(o.code, 0);
        assert!(
            o.stdout
                .contains(" - 1 inhibit rules\n - 3 receivers\n - 0 templates"),
            "{}",
            o.stdout
        );
    }
}
