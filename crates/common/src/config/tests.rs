use std::collections::HashMap;
use std::io::Write as _;

use serde::Deserialize;

use super::*;
use crate::duration::{GoDuration, PromDuration};

#[derive(Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
struct Server {
    http_listen_port: u16,
    grpc_listen_port: u16,
    http_server_read_timeout: GoDuration,
}

#[derive(Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
struct Limits {
    per_stream_rate_limit: ByteSize,
    retention_period: PromDuration,
}

#[derive(Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
struct LokiConfig {
    #[serde(deserialize_with = "yaml11_bool")]
    auth_enabled: bool,
    server: Server,
    limits_config: Limits,
    peers: Vec<Server>,
}

const LOKI: &str = "\
auth_enabled: false
server:
  http_listen_port: 3100
  grpc_listen_port: 9096
  http_server_read_timeout: 1m30s
limits_config:
  per_stream_rate_limit: 5MB
  retention_period: 744h
";

fn yaml_err(text: &str) -> String {
    from_yaml_named::<LokiConfig>("loki.yaml", text, None)
        .unwrap_err()
        .to_string()
}

#[test]
fn loads_a_valid_file() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(LOKI.as_bytes()).unwrap();
    let cfg: LokiConfig = load_yaml_file(file.path(), false).unwrap();
    assert!(!cfg.auth_enabled);
    assert_eq!(cfg.server.http_listen_port, 3100);
    assert_eq!(
        cfg.server.http_server_read_timeout.as_nanos(),
        90_000_000_000
    );
    assert_eq!(cfg.limits_config.per_stream_rate_limit.bytes(), 5 << 20);
    assert_eq!(
        cfg.limits_config.retention_period.as_millis(),
        744 * 3_600_000
    );
}

#[test]
fn unknown_field_names_file_line_column_and_path() {
    let text = "server:\n  http_listen_port: 3100\n  foo: 1\n";
    assert_eq!(
        yaml_err(text),
        r#"loki.yaml:3:3: server: unknown field "foo", expected one of "http_listen_port", "grpc_listen_port", "http_server_read_timeout""#
    );
    assert_eq!(
        yaml_err("server:\n  http_listen_port: 1\nbogus: true\n"),
        r#"loki.yaml:3:1: unknown field "bogus", expected one of "auth_enabled", "server", "limits_config", "peers""#
    );
    assert_eq!(
        yaml_err("peers:\n  - http_listen_port: 1\n  - grpc: 2\n"),
        r#"loki.yaml:3:5: peers[1]: unknown field "grpc", expected one of "http_listen_port", "grpc_listen_port", "http_server_read_timeout""#
    );
}

#[test]
fn type_errors_name_the_key() {
    assert_eq!(
        yaml_err("server:\n  http_listen_port: abc\n"),
        r#"loki.yaml:2:21: server.http_listen_port: invalid type: string "abc", expected u16"#
    );
    assert_eq!(
        yaml_err("server:\n  http_listen_port: 70000\n"),
        "loki.yaml:2:21: server.http_listen_port: invalid value: integer `70000`, expected u16"
            .replace('`', "\"")
    );
    assert_eq!(
        yaml_err("limits_config:\n  retention_period: 1.5h\n"),
        r#"loki.yaml:2:21: limits_config.retention_period: unknown unit "." in duration "1.5h""#
    );
    assert_eq!(
        yaml_err("server:\n  http_server_read_timeout: 30x\n"),
        r#"loki.yaml:2:29: server.http_server_read_timeout: time: unknown unit "x" in duration "30x""#
    );
}

#[test]
fn duplicate_top_level_key_is_located() {
    assert_eq!(
        yaml_err("server:\n  http_listen_port: 1\nserver:\n  http_listen_port: 2\n"),
        r#"loki.yaml:3:1: duplicate field "server""#
    );
}

#[test]
fn syntax_errors_have_a_location() {
    let err = yaml_err("server:\n  http_listen_port: [1\n");
    assert!(err.starts_with("loki.yaml:"), "{err}");
    assert!(
        err.split(':').nth(1).unwrap().parse::<usize>().is_ok(),
        "{err}"
    );
}

#[test]
fn empty_and_null_documents_are_defaults() {
    for text in ["", "# nothing\n", "---\n", "~\n", "null\n"] {
        let cfg: LokiConfig = from_yaml_str(text).unwrap();
        assert_eq!(cfg, LokiConfig::default(), "{text:?}");
    }
}

#[test]
fn yaml11_booleans_where_asked() {
    let cfg: LokiConfig = from_yaml_str("auth_enabled: yes\n").unwrap();
    assert!(cfg.auth_enabled);
    let cfg: LokiConfig = from_yaml_str("auth_enabled: Off\n").unwrap();
    assert!(!cfg.auth_enabled);
    let err = from_yaml_str::<LokiConfig>("auth_enabled: maybe\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(r#"invalid value "maybe", expected a boolean"#),
        "{err}"
    );
}

#[test]
fn first_existing_file_from_a_list() {
    let dir = tempfile::tempdir().unwrap();
    let second = dir.path().join("config.yaml");
    std::fs::write(&second, "{}").unwrap();
    let list = format!(
        "{},{}",
        dir.path().join("missing.yaml").display(),
        second.display()
    );
    assert_eq!(first_existing_file(&list), Some(second));
    assert_eq!(
        first_existing_file("/nonexistent/a.yaml,/nonexistent/b.yaml"),
        None
    );
}

#[test]
fn missing_file_is_named() {
    let err = load_yaml_file::<LokiConfig>("/nonexistent/loki.yaml", false)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/nonexistent/loki.yaml: "), "{err}");
}

fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
    vars.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn expand(text: &str, vars: &HashMap<String, String>) -> String {
    expand_env(text, &|name| vars.get(name).cloned()).unwrap()
}

#[test]
fn env_expansion_like_envsubst() {
    let vars = env(&[
        ("PORT", "3101"),
        ("EMPTY", ""),
        ("NAME", "loki"),
        ("PATH_V", "/a/b/c.txt"),
    ]);
    assert_eq!(expand("port: ${PORT}", &vars), "port: 3101");
    // Unset variables are empty, no error.
    assert_eq!(expand("x: ${NOPE}.", &vars), "x: .");
    // Bare $VAR is not expanded.
    assert_eq!(expand("x: $PORT", &vars), "x: $PORT");
    // Defaults apply to unset and to empty.
    assert_eq!(expand("${NOPE:-9095}", &vars), "9095");
    assert_eq!(expand("${EMPTY:-9095}", &vars), "9095");
    assert_eq!(expand("${PORT:-9095}", &vars), "3101");
    assert_eq!(expand("${NOPE=x}", &vars), "x");
    assert_eq!(expand("${NOPE:=x}", &vars), "x");
    assert_eq!(expand("${NOPE:-${NAME}-suffix}", &vars), "loki-suffix");
    assert_eq!(
        expand("${NOPE:-http://${NAME}:3100/x}", &vars),
        "http://loki:3100/x"
    );
    // `-` is part of a name, so this is a variable called "NAME-x".
    assert_eq!(expand("${NAME-x}", &vars), "");
    // The old `${VAR:default}` doc form is a substring with a bad offset: the value or "".
    assert_eq!(expand("${NOPE:default}", &vars), "");
    assert_eq!(expand("${NAME:default}", &vars), "loki");
    // Escapes.
    assert_eq!(expand("$${PORT} $$PORT", &vars), "${PORT} $PORT");
    assert_eq!(expand(r"regex: '\\d+\/x \n'", &vars), r"regex: '\d+/x \n'");
    // Functions.
    assert_eq!(expand("${#NAME}", &vars), "4");
    assert_eq!(expand("${NAME^}", &vars), "Loki");
    assert_eq!(expand("${NAME^^}", &vars), "LOKI");
    assert_eq!(expand("${NAME:1}", &vars), "oki");
    assert_eq!(expand("${NAME:1:2}", &vars), "ok");
    assert_eq!(expand("${NAME:-2}", &vars), "loki");
    assert_eq!(expand("${PATH_V#*/}", &vars), "a/b/c.txt");
    // Go path.Match: `*` never crosses `/`, so `##` and `#` agree here (bash would differ).
    assert_eq!(expand("${PATH_V##*/}", &vars), "a/b/c.txt");
    assert_eq!(expand("${PATH_V%.*}", &vars), "/a/b/c");
    assert_eq!(expand("${PATH_V/b/B}", &vars), "/a/B/c.txt");
    assert_eq!(expand("${PATH_V//\\//_}", &vars), "_a_b_c.txt");
    assert_eq!(expand("${NAME/#lo/LO}", &vars), "LOki");
    assert_eq!(expand("${NAME/%ki/KI}", &vars), "loKI");
    // Braces and dollars elsewhere are text.
    assert_eq!(expand("a } b $ c", &vars), "a } b $ c");
}

#[test]
fn env_expansion_errors() {
    let vars = env(&[]);
    for bad in ["${", "${PORT", "${}", "${PORT.x}", "${A:-x", "${#}"] {
        assert_eq!(
            expand_env(bad, &|name| vars.get(name).cloned()),
            Err(EnvError::BadSubstitution),
            "{bad}"
        );
    }
    let err = from_yaml_named::<LokiConfig>("loki.yaml", "x: ${", Some(&|_| None)).unwrap_err();
    assert_eq!(err.to_string(), "loki.yaml: bad substitution");
}

#[test]
fn expansion_feeds_the_yaml_parser() {
    let vars = env(&[("HTTP_PORT", "3200")]);
    let lookup = |name: &str| vars.get(name).cloned();
    let cfg: LokiConfig = from_yaml_named(
        "loki.yaml",
        "server:\n  http_listen_port: ${HTTP_PORT}\n  grpc_listen_port: ${GRPC_PORT:-9095}\n",
        Some(&lookup),
    )
    .unwrap();
    assert_eq!(cfg.server.http_listen_port, 3200);
    assert_eq!(cfg.server.grpc_listen_port, 9095);
    // Without expansion (Prometheus, Alertmanager) the text stays as written.
    let err = from_yaml_named::<LokiConfig>(
        "prometheus.yml",
        "server:\n  http_listen_port: ${HTTP_PORT}\n",
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains(r#"invalid type: string "${HTTP_PORT}""#),
        "{err}"
    );
}

mod properties {
    use proptest::prelude::*;

    use super::super::expand_env;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn text_without_dollar_or_backslash_is_unchanged(text in "[^$\\\\]*") {
            prop_assert_eq!(expand_env(&text, &|_| None).unwrap(), text);
        }

        #[test]
        fn escaped_text_expands_back_to_itself(text in any::<String>()) {
            let escaped = text.replace('\\', "\\\\").replace('$', "$$");
            prop_assert_eq!(expand_env(&escaped, &|_| Some("v".to_owned())).unwrap(), text);
        }

        #[test]
        fn any_input_expands_or_fails_cleanly(text in "[${}:#%/^,=?+a-c\\\\0-9-]{0,24}") {
            let _ = expand_env(&text, &|name| Some(format!("<{name}>")));
        }
    }
}
