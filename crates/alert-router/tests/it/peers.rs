//! Peer tests with Debian's real `amtool` (and `alertmanager` for the routing test),
//! against our server on a free 127.0.0.1 port.

use std::path::Path;
use std::process::Command;

use tokio_util::sync::CancellationToken;

use crate::common::peer;

fn amtool(bin: &Path, url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin)
        .arg(format!("--alertmanager.url={url}"))
        .args(args)
        .output()
        .expect("run amtool");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amtool_works_against_alert_router() {
    let Some(bin) = peer("amtool") else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(&cfg, include_str!("data/am.yml")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let shutdown = CancellationToken::new();
    let config = alert_router::Config {
        config_file: cfg.clone(),
        storage_path: dir.path().join("data"),
        listen_address: format!("127.0.0.1:{port}"),
        ..Default::default()
    };
    let server = tokio::spawn(alert_router::serve(config, listener, shutdown.clone()));

    let run = |args: Vec<String>| {
        let bin = bin.clone();
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            amtool(&bin, &url, &a)
        })
    };
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<String>>();

    let (code, _, err) = run(s(&[
        "alert",
        "add",
        "alertname=DiskFull",
        "severity=warning",
        "instance=db2",
        "team=db",
        "--annotation=summary=disk on db2 nearly full",
        "--generator-url=http://prom:9090/graph",
    ]))
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(s(&[
        "alert",
        "add",
        "NodeDown",
        "severity=critical",
        "instance=db1",
    ]))
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(s(&["alert", "query", "-o", "json"])).await.unwrap();
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2, "{out}");
    let (code, out, _) = run(s(&["alert", "query", "alertname=DiskFull"]))
        .await
        .unwrap();
    assert_eq!(code, 0);
    assert!(
        out.contains("DiskFull") && !out.contains("NodeDown"),
        "{out}"
    );

    let (code, id, err) = run(s(&[
        "silence",
        "add",
        "alertname=DiskFull",
        "instance=db2",
        "--comment=maintenance db2",
        "--author=harness",
        "--duration=1h",
    ]))
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let id = id.trim().to_owned();
    assert_eq!(id.len(), 36, "{id}");
    let (_, out, _) = run(s(&["silence", "query", "-q"])).await.unwrap();
    assert_eq!(out.trim(), id);
    let (_, out, _) = run(s(&["silence", "query", "-o", "extended"]))
        .await
        .unwrap();
    assert!(
        out.contains("maintenance db2") && out.contains("harness"),
        "{out}"
    );
    // Silenced alerts are hidden by default and shown with -s.
    let (_, out, _) = run(s(&["alert", "query"])).await.unwrap();
    assert!(!out.contains("DiskFull"), "{out}");
    let (_, out, _) = run(s(&["alert", "query", "-s"])).await.unwrap();
    assert!(out.contains("DiskFull"), "{out}");
    let (code, _, err) = run(s(&["silence", "expire", &id])).await.unwrap();
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(s(&["silence", "query", "-q"])).await.unwrap();
    assert_eq!(out.trim(), "");
    let (_, out, _) = run(s(&["silence", "query", "--expired", "-q"]))
        .await
        .unwrap();
    assert_eq!(out.trim(), id);

    // silence import: amtool posts each silence of a JSON export.
    let export = dir.path().join("sil.json");
    let (_, json, _) = run(s(&["silence", "query", "--expired", "-o", "json"]))
        .await
        .unwrap();
    let mut sils: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    for s in &mut sils {
        s["endsAt"] = serde_json::Value::String(
            (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339(),
        );
        s["startsAt"] = serde_json::Value::String(chrono::Utc::now().to_rfc3339());
        s.as_object_mut().unwrap().remove("id");
    }
    std::fs::write(&export, serde_json::to_string(&sils).unwrap()).unwrap();
    let (code, out, err) = run(s(&["silence", "import", export.to_str().unwrap()]))
        .await
        .unwrap();
    assert_eq!(code, 0, "{out}{err}");
    let (_, out, _) = run(s(&["silence", "query", "-q"])).await.unwrap();
    assert_eq!(out.trim().lines().count(), 1, "{out}");

    let (code, out, err) = run(s(&["config", "show"])).await.unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("team-hook") && out.contains("<secret>"),
        "{out}"
    );
    let (code, out, err) = run(s(&[
        "config",
        "routes",
        "test",
        "severity=critical",
        "team=db",
        "alertname=X",
    ]))
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "team-hook,tg");
    let (code, out, err) = run(s(&["cluster", "show"])).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");

    shutdown.cancel();
    server.await.unwrap().unwrap();
}

#[test]
fn routes_test_output_equals_amtool() {
    let Some(bin) = peer("amtool") else { return };
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data/am.yml");
    let cfg_flag = format!("--config.file={}", cfg.display());
    let cases: &[&[&str]] = &[
        &["severity=critical", "team=db", "alertname=X"],
        &["foo=bar"],
        &["service=foo2"],
        &["severity=critical", "service=baz"],
        &["team=db"],
        &["--tree", "severity=critical", "team=db", "alertname=X"],
        &["--verify.receivers=tg", "foo=bar"],
    ];
    for labels in cases {
        let mut args = vec!["config", "routes", "test", cfg_flag.as_str()];
        args.extend_from_slice(labels);
        let theirs = Command::new(&bin).args(&args).output().unwrap();
        let ours = alert_router::tool::main_with_args(
            &args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
        );
        assert_eq!(
            ours.stdout,
            String::from_utf8_lossy(&theirs.stdout),
            "{labels:?}"
        );
        assert_eq!(ours.code, theirs.status.code().unwrap(), "{labels:?}");
    }
    let nested = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data/routes.yml");
    let nested_flag = format!("--config.file={}", nested.display());
    let nested_cases: &[&[&str]] = &[
        &["team=db", "env=prod", "severity=critical"],
        &["team=db", "env=stage", "severity=warning", "service=z"],
        &["team=db", "env=stage", "severity=warning", "service=x"],
        &["team=db", "env=dev"],
        &["service=webshop", "env=prod", "shift=night"],
        &["service=webshop", "env=prod"],
        &["service=webshop", "env=prod", "team=db"],
        &[
            "--tree",
            "team=db",
            "env=prod",
            "severity=critical",
            "service=web1",
            "shift=night",
        ],
        &["msg=a \"quoted\" value, with comma"],
    ];
    for labels in nested_cases {
        let mut args = vec!["config", "routes", "test", nested_flag.as_str()];
        args.extend_from_slice(labels);
        let theirs = Command::new(&bin).args(&args).output().unwrap();
        let ours = alert_router::tool::main_with_args(
            &args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
        );
        assert_eq!(
            ours.stdout,
            String::from_utf8_lossy(&theirs.stdout),
            "{labels:?}"
        );
    }
    let theirs = Command::new(&bin)
        .args(["config", "routes", "show", nested_flag.as_str()])
        .output()
        .unwrap();
    let ours = alert_router::tool::main_with_args(&[
        "config".into(),
        "routes".into(),
        "show".into(),
        nested_flag.clone(),
    ]);
    assert_eq!(ours.stdout, String::from_utf8_lossy(&theirs.stdout));

    let theirs = Command::new(&bin)
        .args(["config", "routes", "show", cfg_flag.as_str()])
        .output()
        .unwrap();
    let ours = alert_router::tool::main_with_args(&[
        "config".into(),
        "routes".into(),
        "show".into(),
        cfg_flag.clone(),
    ]);
    assert_eq!(ours.stdout, String::from_utf8_lossy(&theirs.stdout));
}

/// Invalid configurations: `alert-router-tool check-config` prints what amtool prints.
#[test]
fn config_errors_equal_amtool() {
    let Some(bin) = peer("amtool") else { return };
    let receivers = "receivers: [{name: a}]";
    let cases = [
        format!("route: {{receiver: a, matchers: [x=y]}}\n{receivers}"),
        format!("route: {{group_wait: 1s}}\n{receivers}"),
        format!("route: {{receiver: b}}\n{receivers}"),
        "route: {receiver: a}\nreceivers: [{name: a}, {name: a}]".to_owned(),
        format!("route: {{receiver: a, routes: [{{mute_time_intervals: [x]}}]}}\n{receivers}"),
        format!("route: {{receiver: a, group_by: ['...', alertname]}}\n{receivers}"),
        format!("route: {{receiver: a, group_interval: 0s}}\n{receivers}"),
        format!("route: {{receiver: a, repeat_interval: 0s}}\n{receivers}"),
        "route: {receiver: a}\nreceivers: [{name: a, telegram_configs: [{chat_id: 1}]}]".to_owned(),
        "route: {receiver: a}\nreceivers: [{name: a, telegram_configs: [{bot_token: x}]}]".to_owned(),
        "route: {receiver: a}\nreceivers: [{name: a, telegram_configs: [{bot_token: x, chat_id: 1, parse_mode: Foo}]}]".to_owned(),
        "route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{}]}]".to_owned(),
        "route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{url: 'ftp://x'}]}]".to_owned(),
        format!("route: {{receiver: a, group_by: ['a-b']}}\n{receivers}"),
        format!("route: {{receiver: a, group_by: [a, a]}}\n{receivers}"),
        format!("route: {{receiver: a, routes: [{{matchers: ['foo']}}]}}\n{receivers}"),
        format!("route: {{receiver: a, routes: [{{match: {{'0x': y}}}}]}}\n{receivers}"),
        "route: {receiver: a}\nreceivers: [{}]".to_owned(),
        format!("route: {{receiver: a}}\n{receivers}\ninhibit_rules: [{{equal: ['0x']}}]"),
        receivers.to_owned(),
        format!("route: {{receiver: a}}\n{receivers}\ntime_intervals: [{{name: t}}, {{name: t}}]"),
        format!("route: {{receiver: a, mute_time_intervals: [t]}}\n{receivers}\ntime_intervals: [{{name: t}}]"),
        format!("route: {{receiver: a, bogus: 1}}\n{receivers}"),
        "route:\n  receiver: a\nreceivers:\n  - name: a\n    telegram_configs:\n      - bot_token: x\n        chat_id: 1\n        nope: 2\n".to_owned(),
        format!("global:\n  foo: 1\nroute: {{receiver: a}}\n{receivers}"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, text) in cases.iter().enumerate() {
        let f = dir.path().join(format!("c{i}.yml"));
        std::fs::write(&f, text).unwrap();
        let f = f.to_str().unwrap().to_owned();
        let theirs = Command::new(&bin)
            .args(["check-config", &f])
            .output()
            .unwrap();
        let ours = alert_router::tool::main_with_args(&["check-config".into(), f]);
        assert_eq!(
            ours.stdout,
            String::from_utf8_lossy(&theirs.stdout),
            "{text}"
        );
        assert_eq!(ours.code, 1, "{text}");
    }
}
