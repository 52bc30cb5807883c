//! [`ObjectStoreConfig`] → [`ObjectStoreHandle`].

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;

use super::{Error, FileConfig, ObjectStoreConfig, ObjectStoreHandle, Result};

pub(super) fn build(cfg: &ObjectStoreConfig) -> Result<ObjectStoreHandle> {
    let root: Arc<dyn ObjectStore> = match cfg {
        ObjectStoreConfig::File(c) => build_file(c)?,
        ObjectStoreConfig::Memory(_) => Arc::new(InMemory::new()),
        ObjectStoreConfig::S3(c) => build_s3(c)?,
    };
    let prefix = ObjectPath::from(cfg.prefix());
    let store: Arc<dyn ObjectStore> = if cfg.prefix().is_empty() {
        root.clone()
    } else {
        Arc::new(PrefixStore::new(root.clone(), prefix.clone()))
    };
    tracing::debug!(store = %cfg, "object store ready");
    Ok(ObjectStoreHandle {
        store,
        root,
        prefix,
        config: cfg.clone(),
    })
}

fn build_file(c: &FileConfig) -> Result<Arc<dyn ObjectStore>> {
    std::fs::create_dir_all(&c.path).map_err(|source| Error::CreateDir {
        path: c.path.clone(),
        source,
    })?;
    let fs = LocalFileSystem::new_with_prefix(&c.path)
        .map_err(|source| Error::Build {
            backend: "file",
            source,
        })?
        .with_automatic_cleanup(true)
        .with_fsync(c.fsync);
    Ok(Arc::new(fs))
}

#[cfg(feature = "s3")]
fn build_s3(c: &super::S3Config) -> Result<Arc<dyn ObjectStore>> {
    use object_store::ClientConfigKey;
    use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};

    // reqwest is built without a bundled crypto provider (to keep aws-lc-rs out): use ring.
    // Fails harmlessly when a provider is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();

    let mut b = AmazonS3Builder::from_env().with_bucket_name(&c.bucket);
    if let Some(v) = &c.endpoint {
        b = b.with_endpoint(v);
        if v.starts_with("http://") && c.allow_http.is_none() {
            b = b.with_allow_http(true);
        }
    }
    if let Some(v) = &c.region {
        b = b.with_region(v);
    }
    if let Some(v) = &c.access_key_id {
        b = b.with_access_key_id(v);
    }
    if let Some(v) = &c.secret_access_key {
        b = b.with_secret_access_key(v);
    }
    if let Some(v) = &c.session_token {
        b = b.with_token(v);
    }
    if let Some(v) = c.force_path_style {
        b = b.with_virtual_hosted_style_request(!v);
    }
    if let Some(v) = c.allow_http {
        b = b.with_allow_http(v);
    }
    // Through the string config so client settings from the environment are kept.
    for (key, value) in [
        (ClientConfigKey::Timeout, c.timeout),
        (ClientConfigKey::ConnectTimeout, c.connect_timeout),
    ] {
        if let Some(d) = value {
            b = b.with_config(
                AmazonS3ConfigKey::Client(key),
                format!("{}ms", d.as_millis()),
            );
        }
    }
    let s3 = b.build().map_err(|source| Error::Build {
        backend: "s3",
        source,
    })?;
    Ok(Arc::new(s3))
}

#[cfg(not(feature = "s3"))]
fn build_s3(_: &super::S3Config) -> Result<Arc<dyn ObjectStore>> {
    Err(Error::S3Disabled)
}
