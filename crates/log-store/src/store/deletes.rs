//! Delete requests (`/loki/api/v1/delete`, Loki's compactor deletion API). A request is a
//! selector with optional line filters and a time range; from the moment it is received its
//! entries are filtered out of every query, and the compactor removes them physically once
//! the cancel period has passed (then the request is `processed`). Requests are kept in one
//! JSON object on the object store (`_deletes/requests.json`) so every replica sees them.

use std::sync::Arc;

use lgtm_common::labels::{Labels, matches_all};
use lgtm_common::objstore::{ObjectPath, ObjectStore, ObjectStoreExt};
use object_store::PutPayload;
use serde::{Deserialize, Serialize};

use super::{Entry, StoreError};
use crate::logql::pipeline::Pipeline;
use crate::logql::{self, Expr};

const REQUESTS_PATH: &str = "_deletes/requests.json";

/// One delete request, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DeleteRequest {
    /// Request id.
    pub request_id: String,
    /// Tenant.
    pub tenant: String,
    /// Selector with optional line filters.
    pub query: String,
    /// Start, ns.
    pub start_ns: i64,
    /// End, ns (inclusive).
    pub end_ns: i64,
    /// Creation time, ns.
    pub created_ns: i64,
    /// `received` or `processed`.
    pub status: String,
}

/// A request with its compiled selector and filters.
#[derive(Debug)]
pub(crate) struct ActiveDelete {
    pub(crate) req: DeleteRequest,
    matchers: Vec<lgtm_common::labels::Matcher>,
    pipeline: Pipeline,
}

impl ActiveDelete {
    /// Compiles a request; the query must be a log selector with line filters only.
    pub(crate) fn new(req: DeleteRequest) -> Result<Self, String> {
        let expr = logql::parse(&req.query).map_err(|e| e.to_string())?;
        let Expr::Log(log) = expr else {
            return Err("invalid query: only log selectors with line filters are allowed".into());
        };
        if log
            .stages
            .iter()
            .any(|s| !matches!(s, logql::ast::Stage::LineFilter(_)))
        {
            return Err("invalid query: only line filters are allowed in delete queries".into());
        }
        let pipeline = Pipeline::new(&log.stages).map_err(|e| e.to_string())?;
        Ok(ActiveDelete {
            req,
            matchers: log.matchers,
            pipeline,
        })
    }

    /// Whether the request covers this stream at all.
    pub(crate) fn applies_to(&self, tenant: &str, labels: &Labels) -> bool {
        self.req.tenant == tenant && matches_all(&self.matchers, labels)
    }

    /// Whether the entry is deleted by this request.
    pub(crate) fn deletes(&self, labels: &Labels, e: &Entry) -> bool {
        e.ts >= self.req.start_ns
            && e.ts <= self.req.end_ns
            && self
                .pipeline
                .process(labels, e.ts, &e.line, &e.metadata)
                .is_some()
    }
}

/// Drops the entries of one stream that any of `deletes` covers.
pub(crate) fn filter(
    deletes: &[Arc<ActiveDelete>],
    tenant: &str,
    labels: &Labels,
    entries: &mut Vec<Entry>,
) -> u64 {
    let active: Vec<&Arc<ActiveDelete>> = deletes
        .iter()
        .filter(|d| d.applies_to(tenant, labels))
        .collect();
    if active.is_empty() {
        return 0;
    }
    let before = entries.len();
    entries.retain(|e| !active.iter().any(|d| d.deletes(labels, e)));
    (before - entries.len()) as u64
}

/// Loads the stored requests (none when the object does not exist).
pub(crate) async fn load(store: &Arc<dyn ObjectStore>) -> Result<Vec<DeleteRequest>, StoreError> {
    let path = ObjectPath::from(REQUESTS_PATH);
    match store.get(&path).await {
        Ok(r) => {
            let bytes = r
                .bytes()
                .await
                .map_err(|e| StoreError::ObjectStore(format!("read {path}: {e}")))?;
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt(format!("{path}: {e}")))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(StoreError::ObjectStore(format!("get {path}: {e}"))),
    }
}

/// Stores the requests.
pub(crate) async fn save(
    store: &Arc<dyn ObjectStore>,
    reqs: &[DeleteRequest],
) -> Result<(), StoreError> {
    let path = ObjectPath::from(REQUESTS_PATH);
    let body = serde_json::to_vec(reqs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    store
        .put(&path, PutPayload::from(body))
        .await
        .map_err(|e| StoreError::ObjectStore(format!("put {path}: {e}")))?;
    Ok(())
}
