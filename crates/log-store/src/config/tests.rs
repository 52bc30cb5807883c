use super::*;

const CONFORMANCE_CONFIG: &str = "auth_enabled: false
server:
  http_listen_port: 3100
  grpc_listen_port: 9095
  http_listen_address: 127.0.0.1
  grpc_listen_address: 127.0.0.1
  log_level: warn
common:
  instance_addr: 127.0.0.1
  path_prefix: /tmp/data
  storage:
    filesystem:
      chunks_directory: /tmp/data/chunks
      rules_directory: /tmp/data/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory
schema_config:
  configs:
    - from: 2020-10-24
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h
ingester:
  chunk_idle_period: 24h
querier:
  query_ingesters_within: 0
limits_config:
  reject_old_samples: false
analytics:
  reporting_enabled: false
";

#[test]
fn conformance_config_loads_and_reports_ignored_sections() {
    let cfg: Config = lgtm_common::config::from_yaml_str(CONFORMANCE_CONFIG).unwrap();
    assert!(!cfg.auth_enabled);
    assert_eq!(cfg.server.http_listen_port, 3100);
    assert_eq!(cfg.server.log_level, "warn");
    assert!(!cfg.limits_config.reject_old_samples);
    assert_eq!(cfg.ingester.chunk_idle_period.0, 24 * 3600 * 1_000_000_000);
    assert_eq!(cfg.object_store_url(), "file:///tmp/data/chunks");
    let ignored = cfg.ignored_keys();
    for k in [
        "schema_config",
        "querier",
        "analytics",
        "common.ring",
        "common.replication_factor",
    ] {
        assert!(ignored.iter().any(|x| x == k), "{k} not in {ignored:?}");
    }
}

#[test]
fn minimal_docs_config_with_storage_config() {
    let text = "auth_enabled: false\nserver:\n  http_listen_port: 3200\ncommon:\n  ring:\n    instance_addr: 127.0.0.1\n    kvstore:\n      store: inmemory\n  replication_factor: 1\n  path_prefix: /tmp/x\nschema_config:\n  configs:\n    - from: 2020-05-15\n      store: tsdb\nstorage_config:\n  filesystem:\n    directory: /tmp/x/chunks\n";
    let cfg: Config = lgtm_common::config::from_yaml_str(text).unwrap();
    assert_eq!(cfg.object_store_url(), "file:///tmp/x/chunks");
    assert_eq!(cfg.wal_dir(), PathBuf::from("/tmp/x/wal"));
    assert_eq!(cfg.limits_config.max_line_size.0, 256 * 1024);
    assert!(!cfg.auth_enabled);
}

#[test]
fn unknown_top_level_key_is_an_error_naming_it() {
    let err = lgtm_common::config::from_yaml_str::<Config>("bogus_section: 1\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("bogus_section"), "{err}");
}

#[test]
fn limits_parse_loki_units() {
    let cfg: Config = lgtm_common::config::from_yaml_str(
        "limits_config:\n  max_line_size: 1MB\n  reject_old_samples_max_age: 168h\n  ingestion_rate_mb: 10\n",
    )
    .unwrap();
    assert_eq!(cfg.limits_config.max_line_size.0, 1 << 20);
    assert_eq!(
        cfg.limits_config.reject_old_samples_max_age.as_millis(),
        168 * 3_600_000
    );
    assert_eq!(cfg.limits_config.ingestion_rate_mb, 10.0);
    assert!(cfg.auth_enabled);
}

#[test]
fn compactor_and_retention_rules() {
    let cfg: Config = lgtm_common::config::from_yaml_str(
        "compactor:\n  retention_enabled: true\n  working_directory: /x\nlimits_config:\n  retention_period: 744h\n  retention_stream:\n    - selector: '{namespace=\"dev\"}'\n      priority: 1\n      period: 24h\n",
    )
    .unwrap();
    assert!(cfg.compactor.retention_enabled);
    assert_eq!(
        cfg.limits_config.retention_period.as_millis(),
        744 * 3_600_000
    );
    assert_eq!(
        cfg.limits_config.retention_stream[0].period.as_millis(),
        24 * 3_600_000
    );
    assert!(
        cfg.ignored_keys()
            .iter()
            .any(|k| k == "compactor.working_directory")
    );
}

#[test]
fn loki_s3_settings_map_to_the_object_store() {
    let cfg: Config = lgtm_common::config::from_yaml_str(
        "common:\n  storage:\n    s3:\n      endpoint: 127.0.0.1:8333\n      bucketnames: loki-chunks,other\n      access_key_id: k\n      secret_access_key: s\n      insecure: true\n      s3forcepathstyle: true\n      http_config:\n        idle_conn_timeout: 90s\n",
    )
    .unwrap();
    match cfg.object_store_config().unwrap() {
        lgtm_common::objstore::ObjectStoreConfig::S3(s3) => {
            assert_eq!(s3.bucket, "loki-chunks");
            assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:8333"));
            assert_eq!(s3.force_path_style, Some(true));
            assert_eq!(s3.allow_http, Some(true));
        }
        other => panic!("{other:?}"),
    }
    assert!(
        cfg.ignored_keys()
            .iter()
            .any(|k| k == "common.storage.s3.http_config")
    );
}

/// `cmd/loki/loki-local-config.yaml` of Loki 3.x, the file of the docs' local quick start.
const LOKI_LOCAL_CONFIG: &str = "auth_enabled: false

server:
  http_listen_port: 3100
  grpc_listen_port: 9096
  log_level: debug
  grpc_server_max_concurrent_streams: 1000

common:
  instance_addr: 127.0.0.1
  path_prefix: /tmp/loki
  storage:
    filesystem:
      chunks_directory: /tmp/loki/chunks
      rules_directory: /tmp/loki/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory

query_range:
  results_cache:
    cache:
      embedded_cache:
        enabled: true
        max_size_mb: 100

limits_config:
  metric_aggregation_enabled: true

schema_config:
  configs:
    - from: 2020-10-24
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h

pattern_ingester:
  enabled: true
  metric_aggregation:
    loki_address: localhost:3100

ruler:
  alertmanager_url: http://localhost:9093

frontend:
  encoding: protobuf
";

#[test]
fn loki_local_quick_start_config_loads_unchanged() {
    let cfg: Config = lgtm_common::config::from_yaml_str(LOKI_LOCAL_CONFIG).unwrap();
    assert_eq!(cfg.server.http_listen_port, 3100);
    assert_eq!(cfg.server.grpc_listen_port, 9096);
    assert_eq!(cfg.object_store_url(), "file:///tmp/loki/chunks");
    let ignored = cfg.ignored_keys();
    for k in [
        "query_range",
        "schema_config",
        "pattern_ingester",
        "ruler",
        "frontend",
        "limits_config.metric_aggregation_enabled",
        "server.grpc_server_max_concurrent_streams",
    ] {
        assert!(ignored.iter().any(|x| x == k), "{k} not in {ignored:?}");
    }
}

#[test]
fn config_renders_as_yaml_with_secrets_masked() {
    let cfg: Config = lgtm_common::config::from_yaml_str(
        "common:\n  storage:\n    s3:\n      bucketnames: b\n      secret_access_key: hunter2\n",
    )
    .unwrap();
    let yaml = cfg.to_yaml();
    assert!(yaml.contains("http_listen_port: 3100"), "{yaml}");
    assert!(
        yaml.contains("secret_access_key: '********'")
            || yaml.contains("secret_access_key: \"********\""),
        "{yaml}"
    );
    assert!(!yaml.contains("hunter2"));
    // What /config shows loads back.
    let back: Config = lgtm_common::config::from_yaml_str(&yaml).unwrap();
    assert_eq!(back.limits_config.max_line_size.0, 256 * 1024);
}
