//! Shared helpers: a fresh data directory and oss-face router per test.

use axum::body::Body;
use axum::Router;
use http::{Request, Response};
use http_body_util::BodyExt;
use std::sync::Arc;
use stsgate::aliyun::oss::{self, OssState};
use stsgate::datadir::{self, DataDir};
use stsgate::serve;
use tower::ServiceExt;

pub struct Fixture {
    pub _tmp: tempfile::TempDir,
    pub dir: DataDir,
    pub state: Arc<OssState>,
}

impl Fixture {
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = datadir::open(&tmp.path().join("data"), &Default::default())
            .unwrap()
            .dir;
        let state = serve::oss_state(&dir, serve::DEFAULT_REGION).unwrap();
        Fixture {
            _tmp: tmp,
            dir,
            state,
        }
    }

    pub fn app(&self) -> Router {
        oss::router(self.state.clone())
    }

    pub async fn send(&self, req: Request<Body>) -> (Response<Body>, String) {
        let resp = self.app().oneshot(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            Response::from_parts(parts, Body::empty()),
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }
}

/// The text of the first `<name>` element of an XML document.
pub fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..end].to_string())
}
