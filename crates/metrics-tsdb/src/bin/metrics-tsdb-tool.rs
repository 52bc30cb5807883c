//! `metrics-tsdb-tool`: the parts of `promtool` users script against — `check config`,
//! `check rules`, `test rules` (rule unit tests) and `query instant|range|series|labels` —
//! with promtool's output and exit codes (0 ok, 1 failure, 2 bad usage).
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use lgtm_common::http_client::client::reqwest;
use metrics_tsdb::config::Config as PrometheusConfig;
use metrics_tsdb::rules::file::{duplicate_rules, duplicate_rules_message, load_rule_file};
use metrics_tsdb::rules::manager::resolve_rule_files;
use metrics_tsdb::rules::unittest::run_file;

const USAGE: &str = "usage: metrics-tsdb-tool <command> [<args>]

commands:
  check config <config-files>...
  check rules <rule-files>...
  test rules <test-rule-files>...
  query instant <server> <expr> [--time=<time>]
  query range <server> <expr> [--start=<t>] [--end=<t>] [--step=<d>]
  query series <server> --match=<selector>... [--start=<t>] [--end=<t>]
  query labels <server> <name>";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        ["check", "config", files @ ..] if !files.is_empty() => Ok(check_config(files)),
        ["check", "rules", files @ ..] if !files.is_empty() => Ok(check_rules(files)),
        ["test", "rules", files @ ..] if !files.is_empty() => Ok(test_rules(files).await),
        ["query", kind, server, rest @ ..] => query(kind, server, rest).await,
        ["--help" | "-h" | "help", ..] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Checks a rule file: the rules found, or the errors and whether they are only promtool's
/// `duplicate-rules` lint (reported, exit code 0, as promtool without `--lint-fatal`).
fn check_rule_file(path: &Path) -> Result<usize, (Vec<String>, bool)> {
    let file = load_rule_file(path).map_err(|e| (e.0, false))?;
    let duplicates = duplicate_rules(&file);
    if !duplicates.is_empty() {
        return Err((vec![duplicate_rules_message(&duplicates)], true));
    }
    Ok(file.groups.iter().map(|g| g.rules.len()).sum())
}

fn check_rules(files: &[&str]) -> bool {
    let mut ok = true;
    for f in files {
        println!("Checking {f}");
        match check_rule_file(Path::new(f)) {
            Ok(n) => println!("  SUCCESS: {n} rules found"),
            Err((errors, lint_only)) => {
                eprintln!("  FAILED:");
                for e in errors {
                    eprintln!("{e}");
                }
                ok &= lint_only;
            }
        }
        println!();
    }
    ok
}

fn check_config(files: &[&str]) -> bool {
    let mut ok = true;
    for f in files {
        println!("Checking {f}");
        let parsed = std::fs::read_to_string(f)
            .map_err(|e| e.to_string())
            .and_then(|text| PrometheusConfig::from_yaml(&text).map_err(|e| e.to_string()));
        let config = match parsed {
            Ok(c) => c,
            Err(e) => {
                eprintln!("  FAILED: {e}");
                println!();
                ok = false;
                continue;
            }
        };
        let base = Path::new(f).parent();
        let rule_files = match resolve_rule_files(&config.rule_files, base) {
            Ok(files) => files,
            Err(e) => {
                eprintln!("  FAILED: {e}");
                ok = false;
                continue;
            }
        };
        println!("  SUCCESS: {} rule files found", rule_files.len());
        println!(" SUCCESS: {f} is valid prometheus config file syntax");
        println!();
        for rf in rule_files {
            println!("Checking {}", rf.display());
            match check_rule_file(&rf) {
                Ok(n) => println!("  SUCCESS: {n} rules found"),
                Err((errors, lint_only)) => {
                    eprintln!("  FAILED:");
                    for e in errors {
                        eprintln!("{e}");
                    }
                    ok &= lint_only;
                }
            }
            println!();
        }
    }
    ok
}

async fn test_rules(files: &[&str]) -> bool {
    let mut ok = true;
    for f in files {
        println!("Unit Testing:  {f}");
        match run_file(Path::new(f)).await {
            Ok(()) => println!("  SUCCESS"),
            Err(errors) => {
                eprintln!("  FAILED:");
                for e in errors {
                    eprintln!("{e}");
                }
                ok = false;
            }
        }
        println!();
    }
    ok
}

/// `--name=value` options and positional words.
fn split_opts<'a>(rest: &[&'a str]) -> (Vec<&'a str>, Vec<(&'a str, &'a str)>) {
    let mut positional = Vec::new();
    let mut opts = Vec::new();
    for w in rest {
        match w.strip_prefix("--").and_then(|o| o.split_once('=')) {
            Some(kv) => opts.push(kv),
            None => positional.push(*w),
        }
    }
    (positional, opts)
}

/// Go's `model.Metric.String()`: `name{a="b", c="d"}`.
fn metric_string(metric: &serde_json::Map<String, serde_json::Value>) -> String {
    let name = metric
        .get("__name__")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let labels: Vec<String> = metric
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={:?}", v.as_str().unwrap_or("")))
        .collect();
    if labels.is_empty() && !name.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{}}}", labels.join(", "))
    }
}

fn point_string(p: &serde_json::Value) -> String {
    let t = p[0].as_f64().unwrap_or(0.0);
    format!("{} @[{t}]", p[1].as_str().unwrap_or(""))
}

async fn query(kind: &str, server: &str, rest: &[&str]) -> anyhow::Result<bool> {
    let (positional, opts) = split_opts(rest);
    let base = server.trim_end_matches('/');
    let mut params: Vec<(&str, String)> = Vec::new();
    let path = match kind {
        "instant" => {
            params.push((
                "query",
                positional.first().context("missing <expr>")?.to_string(),
            ));
            "/api/v1/query"
        }
        "range" => {
            params.push((
                "query",
                positional.first().context("missing <expr>")?.to_string(),
            ));
            "/api/v1/query_range"
        }
        "series" => "/api/v1/series",
        "labels" => "/api/v1/label/__NAME__/values",
        other => return Err(anyhow!("unknown query command {other:?}")),
    };
    for (k, v) in &opts {
        let key = if *k == "match" { "match[]" } else { k };
        params.push((key, (*v).to_owned()));
    }
    let path = if kind == "labels" {
        path.replace("__NAME__", positional.first().context("missing <name>")?)
    } else {
        path.to_owned()
    };
    lgtm_common::http_client::client::install_crypto_provider();
    let client = reqwest::Client::new();
    let form = serde_urlencoded::to_string(&params)?;
    // Label values are GET-only in Prometheus' API; the others accept a form POST.
    let request = if kind == "labels" {
        client.get(format!("{base}{path}?{form}"))
    } else {
        client
            .post(format!("{base}{path}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form)
    };
    let bytes = request.send().await?.bytes().await?;
    let body: serde_json::Value = serde_json::from_slice(&bytes)?;
    if body["status"] != "success" {
        eprintln!(
            "query error: {}",
            body["error"].as_str().unwrap_or("unknown error")
        );
        return Ok(false);
    }
    let data = &body["data"];
    let empty = Vec::new();
    match kind {
        "instant" | "range" => {
            for s in data["result"].as_array().unwrap_or(&empty) {
                let metric = metric_string(s["metric"].as_object().unwrap_or(&Default::default()));
                if let Some(values) = s["values"].as_array() {
                    let lines: Vec<String> = values.iter().map(point_string).collect();
                    println!("{metric} =>\n{}", lines.join("\n"));
                } else {
                    println!("{metric} => {}", point_string(&s["value"]));
                }
            }
        }
        "series" => {
            for s in data.as_array().unwrap_or(&empty) {
                let labels: Vec<String> = s
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={:?}", v.as_str().unwrap_or("")))
                            .collect()
                    })
                    .unwrap_or_default();
                println!("{{{}}}", labels.join(", "));
            }
        }
        _ => {
            for v in data.as_array().unwrap_or(&empty) {
                println!("{}", v.as_str().unwrap_or(""));
            }
        }
    }
    Ok(true)
}
