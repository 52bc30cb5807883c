use super::*;

#[test]
fn a_typical_kubernetes_config_loads_with_defaults() {
    let config = Config::from_yaml(
        r#"
global:
  scrape_interval: 15s
  external_labels:
    cluster: prod
rule_files:
  - /etc/prometheus/rules/*.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['alertmanager:9093']
      path_prefix: /
      timeout: 5s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['node1:9100', 'node2:9100']
        labels: {env: prod}
  - job_name: kubernetes-pods
    scrape_interval: 30s
    bearer_token_file: /var/run/secrets/kubernetes.io/serviceaccount/token
    tls_config:
      ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    kubernetes_sd_configs:
      - role: pod
        namespaces:
          names: [default]
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        action: keep
        regex: true
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: 'go_.*'
        action: drop
"#,
    )
    .unwrap();
    let node = &config.scrape_configs[0];
    assert_eq!(node.interval().to_string(), "15s");
    assert_eq!(node.timeout().to_string(), "10s");
    assert_eq!(node.metrics_path.as_deref(), Some("/metrics"));
    assert_eq!(node.scheme.as_deref(), Some("http"));
    assert_eq!(node.honor_timestamps, Some(true));
    let pods = &config.scrape_configs[1];
    assert_eq!(pods.interval().to_string(), "30s");
    assert_eq!(
        pods.http.bearer_token_file.as_deref(),
        Some("/var/run/secrets/kubernetes.io/serviceaccount/token")
    );
    assert_eq!(pods.kubernetes_sd_configs[0].role, "pod");
    assert_eq!(pods.relabel_configs.len(), 1);
    assert_eq!(config.global.external_labels().get("cluster"), Some("prod"));
    let am = &config.alerting.as_ref().unwrap().alertmanagers[0];
    assert_eq!(am.timeout().to_string(), "5s");
    assert!(config.ignored_sections().is_empty());
}

#[test]
fn timeout_is_capped_at_a_short_interval() {
    let config =
        Config::from_yaml("global:\n  scrape_interval: 5s\nscrape_configs:\n  - job_name: a\n")
            .unwrap();
    assert_eq!(config.scrape_configs[0].timeout().to_string(), "5s");
}

#[test]
fn prometheus_validation_errors() {
    let cases = [
        (
            "scrape_configs:\n  - job_name: a\n  - job_name: a\n",
            "found multiple scrape configs with job name \"a\"",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n",
            "scrape timeout greater than scrape interval for scrape config with job name \"a\"",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    bogus: 1\n",
            "unknown field `bogus`",
        ),
        ("globl:\n  scrape_interval: 1m\n", "unknown field `globl`"),
        (
            "global:\n  scrape_interval: 1x\n",
            "unknown unit \"x\" in duration \"1x\"",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - role: pods\n",
            "unknown Kubernetes SD role \"pods\"",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: ['targets.txt']\n",
            "is not valid for file discovery",
        ),
        (
            "alerting:\n  alertmanagers:\n    - api_version: v1\n",
            "expected Alertmanager api version to be one of [v2] but got v1",
        ),
        (
            "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: hashmod\n        target_label: x\n",
            "relabel configuration for hashmod requires non-zero modulus",
        ),
    ];
    for (yaml, want) in cases {
        let err = Config::from_yaml(yaml).unwrap_err().to_string();
        assert!(err.contains(want), "{yaml}\n  got: {err}");
    }
}

#[test]
fn unsupported_discoveries_are_reported_not_rejected() {
    let config = Config::from_yaml(
        "scrape_configs:\n  - job_name: c\n    consul_sd_configs:\n      - server: localhost:8500\n",
    )
    .unwrap();
    assert_eq!(
        config.ignored_sections(),
        vec!["scrape_configs[c].consul_sd_configs"]
    );
}

#[test]
fn empty_file_is_the_default_config() {
    let config = Config::from_yaml("").unwrap();
    assert_eq!(config.global.scrape_interval.to_string(), "1m");
    assert_eq!(config.global.evaluation_interval.to_string(), "1m");
}
