use std::time::Duration;

use super::*;

fn loki_flags() -> FlagSet {
    let mut fs = FlagSet::new("loki", FlagStyle::Go);
    fs.string("config.file", "config.yaml", "yaml file to load")
        .bool("config.expand-env", false, "Expands ${var} in config")
        .int("server.http-listen-port", 3100, "HTTP server listen port.")
        .go_duration(
            "server.graceful-shutdown-timeout",
            30_000_000_000,
            "Timeout for graceful shutdowns",
        )
        .prom_duration(
            "querier.query-ingesters-within",
            Duration::from_secs(3 * 3600),
            "Maximum lookback",
        )
        .string_list("memberlist.join", &[], "Other cluster members to join.")
        .csv_list(
            "target",
            &["all"],
            "Comma-separated list of modules to load.",
        )
        .byte_size(
            "distributor.max-recv-msg-size",
            ByteSize(100 << 20),
            "Max message size",
        )
        .float("ingester.rate", 0.0, "rate")
        .uint("count", 0, "count")
        .bool("v", false, "verbose");
    fs
}

fn prom_flags() -> FlagSet {
    let mut fs = FlagSet::new("prometheus", FlagStyle::Kingpin);
    fs.string(
        "config.file",
        "prometheus.yml",
        "Prometheus configuration file path.",
    )
    .bool(
        "web.enable-lifecycle",
        false,
        "Enable shutdown and reload via HTTP request.",
    )
    .bool(
        "web.enable-admin-api",
        true,
        "Enable API endpoints for admin control actions.",
    )
    .prom_duration(
        "storage.tsdb.retention.time",
        Duration::ZERO,
        "How long to retain samples in storage.",
    )
    .base2_bytes(
        "storage.tsdb.retention.size",
        Base2Bytes(0),
        "Maximum number of bytes.",
    )
    .string_list("cluster.peer", &[], "Initial peers.")
    .int(
        "query.max-concurrency",
        20,
        "Maximum number of queries executed concurrently.",
    )
    .go_duration(
        "data.retention",
        120 * 3_600_000_000_000,
        "How long to keep data for.",
    )
    .string(
        "log.level",
        "info",
        "Only log messages with the given severity or above.",
    );
    fs.short("log.level", 'l');
    fs
}

#[test]
fn go_style_accepts_both_dash_styles_and_value_forms() {
    let mut fs = loki_flags();
    let rest = fs
        .parse([
            "-config.file=/etc/loki/local.yaml",
            "--config.expand-env",
            "-server.http-listen-port",
            "3101",
            "--server.graceful-shutdown-timeout",
            "1m30s",
            "--querier.query-ingesters-within=2h",
            "-memberlist.join=a:7946",
            "--memberlist.join",
            "b:7946",
            "-target=read,write",
            "-distributor.max-recv-msg-size=10MB",
            "-ingester.rate=1.5",
            "-count=0x10",
        ])
        .unwrap();
    assert!(rest.is_empty());
    assert_eq!(fs.get_str("config.file"), Some("/etc/loki/local.yaml"));
    assert_eq!(fs.get_bool("config.expand-env"), Some(true));
    assert_eq!(fs.get_i64("server.http-listen-port"), Some(3101));
    assert_eq!(
        fs.get_duration("server.graceful-shutdown-timeout"),
        Some(Duration::from_secs(90))
    );
    assert_eq!(
        fs.get_duration("querier.query-ingesters-within"),
        Some(Duration::from_secs(7200))
    );
    assert_eq!(
        fs.get_list("memberlist.join").unwrap(),
        ["a:7946", "b:7946"]
    );
    assert_eq!(fs.get_list("target").unwrap(), ["read", "write"]);
    assert_eq!(
        fs.get_bytes("distributor.max-recv-msg-size"),
        Some(10 << 20)
    );
    assert_eq!(fs.get_f64("ingester.rate"), Some(1.5));
    assert_eq!(fs.get_u64("count"), Some(16));
    assert!(fs.is_set("config.file"));
    assert!(!fs.is_set("v"));
    assert_eq!(fs.get_bool("v"), Some(false));
}

#[test]
fn go_style_defaults_and_last_value_wins() {
    let mut fs = loki_flags();
    fs.parse(["-config.file=a", "-config.file=b"]).unwrap();
    assert_eq!(fs.get_str("config.file"), Some("b"));
    assert_eq!(fs.get_list("target").unwrap(), ["all"]);
    assert_eq!(fs.get_i64("server.http-listen-port"), Some(3100));
    assert_eq!(
        fs.rendered_values()["server.graceful-shutdown-timeout"],
        "30s"
    );
    assert_eq!(fs.rendered_values()["querier.query-ingesters-within"], "3h");
}

#[test]
fn go_style_bools() {
    let mut fs = loki_flags();
    fs.parse(["-config.expand-env=false", "-v=1"]).unwrap();
    assert_eq!(fs.get_bool("config.expand-env"), Some(false));
    assert_eq!(fs.get_bool("v"), Some(true));
    // `-v false`: the bool takes no separate value, so `false` ends the flags.
    let mut fs = loki_flags();
    let rest = fs.parse(["-v", "false", "-count=1"]).unwrap();
    assert_eq!(rest, ["false", "-count=1"]);
    assert_eq!(fs.get_bool("v"), Some(true));
    assert_eq!(fs.get_u64("count"), Some(0));
    let err = loki_flags().parse(["-v=yes"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"invalid boolean value "yes" for -v: parse error"#
    );
}

#[test]
fn go_style_stops_at_positional_and_double_dash() {
    let mut fs = loki_flags();
    assert_eq!(fs.parse(["-v", "file", "-x"]).unwrap(), ["file", "-x"]);
    let mut fs = loki_flags();
    assert_eq!(fs.parse(["--", "-v"]).unwrap(), ["-v"]);
    let mut fs = loki_flags();
    assert_eq!(fs.parse(["-", "-v"]).unwrap(), ["-", "-v"]);
}

#[test]
fn go_style_errors_match_go() {
    let err = |args: &[&str]| {
        loki_flags()
            .parse(args.iter().copied())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(err(&["-foo"]), "flag provided but not defined: -foo");
    assert_eq!(err(&["--foo=1"]), "flag provided but not defined: -foo");
    assert_eq!(err(&["---foo"]), "bad flag syntax: ---foo");
    assert_eq!(err(&["-=x"]), "bad flag syntax: -=x");
    assert_eq!(
        err(&["-config.file"]),
        "flag needs an argument: -config.file"
    );
    assert_eq!(
        err(&["-server.http-listen-port=abc"]),
        r#"invalid value "abc" for flag -server.http-listen-port: parse error"#
    );
    assert_eq!(
        err(&["-server.http-listen-port=99999999999999999999"]),
        r#"invalid value "99999999999999999999" for flag -server.http-listen-port: value out of range"#
    );
    assert_eq!(
        err(&["-server.graceful-shutdown-timeout=5"]),
        r#"invalid value "5" for flag -server.graceful-shutdown-timeout: parse error"#
    );
    assert_eq!(
        err(&["-querier.query-ingesters-within=1.5h"]),
        r#"invalid value "1.5h" for flag -querier.query-ingesters-within: unknown unit "." in duration "1.5h""#
    );
    assert_eq!(
        err(&["-distributor.max-recv-msg-size=1.5MB"]),
        r#"invalid value "1.5MB" for flag -distributor.max-recv-msg-size: strconv.UnmarshalText: parsing "1.5MB": invalid syntax"#
    );
}

#[test]
fn go_style_help() {
    for arg in ["-h", "-help", "--help", "--h"] {
        let err = loki_flags().parse([arg]).unwrap_err();
        assert_eq!(err.to_string(), "flag: help requested");
        let usage = err.usage().unwrap();
        assert!(usage.starts_with("Usage of loki:\n"), "{usage}");
    }
}

#[test]
fn go_usage_layout() {
    let mut fs = FlagSet::new("loki", FlagStyle::Go);
    fs.string("config.file", "config.yaml", "yaml `file` to load")
        .bool("config.expand-env", false, "Expands ${var} in config")
        .int("server.http-listen-port", 3100, "HTTP server listen port.")
        .go_duration("timeout", 90_000_000_000, "Timeout")
        .string("log.format", "", "Output log messages in the given format.")
        .bool("v", true, "verbose");
    assert_eq!(
        fs.usage(),
        "Usage of loki:\n\
         \x20 -config.expand-env\n    \tExpands ${var} in config\n\
         \x20 -config.file file\n    \tyaml file to load (default \"config.yaml\")\n\
         \x20 -log.format string\n    \tOutput log messages in the given format.\n\
         \x20 -server.http-listen-port int\n    \tHTTP server listen port. (default 3100)\n\
         \x20 -timeout duration\n    \tTimeout (default 1m30s)\n\
         \x20 -v\tverbose (default true)\n"
    );
}

#[test]
fn kingpin_style_parses_long_flags_and_negation() {
    let mut fs = prom_flags();
    fs.parse([
        "--config.file=/etc/prometheus/prometheus.yml",
        "--web.enable-lifecycle",
        "--no-web.enable-admin-api",
        "--storage.tsdb.retention.time",
        "15d",
        "--storage.tsdb.retention.size=512MB",
        "--cluster.peer=a:9094",
        "--cluster.peer=b:9094",
        "-l",
        "debug",
        "--data.retention=1.5h",
    ])
    .unwrap();
    assert_eq!(
        fs.get_str("config.file"),
        Some("/etc/prometheus/prometheus.yml")
    );
    assert_eq!(fs.get_bool("web.enable-lifecycle"), Some(true));
    assert_eq!(fs.get_bool("web.enable-admin-api"), Some(false));
    assert_eq!(
        fs.get_duration("storage.tsdb.retention.time"),
        Some(Duration::from_secs(15 * 86_400))
    );
    assert_eq!(fs.get_bytes("storage.tsdb.retention.size"), Some(512 << 20));
    assert_eq!(fs.get_list("cluster.peer").unwrap(), ["a:9094", "b:9094"]);
    assert_eq!(fs.get_str("log.level"), Some("debug"));
    assert_eq!(
        fs.get_duration("data.retention"),
        Some(Duration::from_secs(5400))
    );
    assert_eq!(
        fs.rendered_values()["storage.tsdb.retention.size"],
        "512MiB"
    );
}

#[test]
fn kingpin_style_errors() {
    let err = |args: &[&str]| {
        prom_flags()
            .parse(args.iter().copied())
            .unwrap_err()
            .to_string()
    };
    assert_eq!(err(&["--foo"]), "unknown long flag '--foo'");
    assert_eq!(err(&["--no-foo"]), "unknown long flag '--no-foo'");
    assert_eq!(
        err(&["--no-config.file"]),
        "unknown long flag '--no-config.file'"
    );
    // Single-dash long names are short-flag clusters to kingpin.
    assert_eq!(err(&["-config.file=x"]), "unknown short flag '-c'");
    assert_eq!(
        err(&["--config.file"]),
        "expected argument for flag '--config.file'"
    );
    assert_eq!(
        err(&["--config.file", "--web.enable-lifecycle"]),
        "expected argument for flag '--config.file'"
    );
    // Bools take no `=value` in kingpin: the value is left over as an argument.
    assert_eq!(err(&["--web.enable-lifecycle=false"]), "unexpected false");
    assert_eq!(err(&["extra"]), "unexpected extra");
    assert_eq!(
        err(&["--config.file=a", "--config.file=b"]),
        "flag 'config.file' cannot be repeated"
    );
    assert_eq!(
        err(&["--storage.tsdb.retention.time=1.5h"]),
        r#"invalid value "1.5h" for flag --storage.tsdb.retention.time: unknown unit "." in duration "1.5h""#
    );
    assert_eq!(
        err(&["--query.max-concurrency=ten"]),
        r#"invalid value "ten" for flag --query.max-concurrency: strconv.ParseInt: parsing "ten": invalid syntax"#
    );
    assert_eq!(
        err(&["--data.retention=5"]),
        r#"invalid value "5" for flag --data.retention: time: missing unit in duration "5""#
    );
    assert_eq!(
        err(&["--storage.tsdb.retention.size=512"]),
        r#"invalid value "512" for flag --storage.tsdb.retention.size: units: unknown unit  in 512"#
    );
    let help = prom_flags().parse(["--help"]).unwrap_err();
    assert!(
        help.usage()
            .unwrap()
            .starts_with("usage: prometheus [<flags>]")
    );
    let help = prom_flags().parse(["-h"]).unwrap_err();
    assert!(
        help.usage()
            .unwrap()
            .contains("--[no-]web.enable-lifecycle")
    );
}

#[test]
fn kingpin_positional_when_allowed() {
    let mut fs = prom_flags();
    fs.allow_positional();
    let rest = fs
        .parse(["check", "--web.enable-lifecycle", "--", "--x"])
        .unwrap();
    assert_eq!(rest, ["check", "--x"]);
    assert_eq!(fs.get_bool("web.enable-lifecycle"), Some(true));
}

#[test]
fn go_style_takes_the_next_argument_even_with_a_dash() {
    let mut fs = loki_flags();
    fs.parse([
        "-config.file",
        "-weird-name.yaml",
        "-server.http-listen-port",
        "-1",
    ])
    .unwrap();
    assert_eq!(fs.get_str("config.file"), Some("-weird-name.yaml"));
    assert_eq!(fs.get_i64("server.http-listen-port"), Some(-1));
}

#[test]
fn go_style_integer_syntax() {
    let int = |v: &str| {
        let mut fs = loki_flags();
        fs.parse([format!("-server.http-listen-port={v}")])
            .map(|_| fs.get_i64("server.http-listen-port").unwrap())
            .map_err(|e| e.to_string())
    };
    assert_eq!(int("0x1F"), Ok(31));
    assert_eq!(int("0o17"), Ok(15));
    assert_eq!(int("017"), Ok(15));
    assert_eq!(int("0b101"), Ok(5));
    assert_eq!(int("1_000"), Ok(1000));
    assert_eq!(int("+7"), Ok(7));
    assert_eq!(int("0"), Ok(0));
    assert!(int("08").is_err());
    assert!(int("1__0").is_err());
    assert!(int("_1").is_err());
    assert!(int("0x").is_err());
}

#[test]
fn kingpin_short_bool_clusters() {
    let mut fs = FlagSet::new("amtool", FlagStyle::Kingpin);
    fs.bool("verbose", false, "Verbose")
        .bool("quiet", false, "Quiet")
        .string("output", "simple", "Output format");
    fs.short("verbose", 'v')
        .short("quiet", 'q')
        .short("output", 'o');
    fs.parse(["-vq", "-ojson"]).unwrap();
    assert_eq!(fs.get_bool("verbose"), Some(true));
    assert_eq!(fs.get_bool("quiet"), Some(true));
    assert_eq!(fs.get_str("output"), Some("json"));
    let err = fs.clone().parse(["-x"]).unwrap_err().to_string();
    assert_eq!(err, "unknown short flag '-x'");
}
