//! The api face's one middleware, a hand-written tower service that axum puts around every route
//! and the fallback (`Router::layer`):
//!
//! - the **per-IP rate limit** ([`super::limits`]): every request but `/healthz` counts against
//!   its client IP before anything else runs, so a flood of bad tokens is limited too;
//! - the **request-duration histogram** by matched route template (`unmatched` for the
//!   fallback) and status ([`super::metrics`]);
//! - **refusal counts**, from the [`Refused`] extension error answers carry.
//!
//! One concrete future per request instead of the three `axum::middleware::from_fn` layers it
//! replaces (each of which boxed its future and a clone of the router's route per request, and
//! one of which allocated the route's name): those layers were ~12% of a request's CPU on
//! `/auth/custom`.

use super::limits;
use super::metrics::Refused;
use super::ApiState;
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::response::Response;
use pin_project_lite::pin_project;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Instant;

/// Makes [`Front`] services (`Router::layer(FrontLayer::new(state))`).
#[derive(Debug, Clone)]
pub struct FrontLayer {
    state: Arc<ApiState>,
}

impl FrontLayer {
    pub fn new(state: Arc<ApiState>) -> FrontLayer {
        FrontLayer { state }
    }
}

impl<S> tower::Layer<S> for FrontLayer {
    type Service = Front<S>;

    fn layer(&self, inner: S) -> Front<S> {
        Front {
            inner,
            state: self.state.clone(),
        }
    }
}

/// One route (or the fallback) wrapped: see the module docs.
#[derive(Debug, Clone)]
pub struct Front<S> {
    inner: S,
    state: Arc<ApiState>,
}

impl<S> tower::Service<Request> for Front<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = FrontFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let start = Instant::now();
        // Set by the router before it calls a matched route's service (cloning it clones an Arc).
        let route = req.extensions().get::<MatchedPath>().cloned();
        let ip = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let refusal = match ip {
            Some(ip) if req.uri().path() != "/healthz" => {
                self.state.limits.check_ip(ip).err().map(|r| (ip, r))
            }
            _ => None,
        };
        let kind = match refusal {
            None => Kind::Inner {
                fut: self.inner.call(req),
            },
            Some((ip, refusal)) => Kind::Refused {
                fut: Box::pin(limits::refuse_ip(self.state.clone(), ip, refusal)),
            },
        };
        FrontFuture {
            kind,
            state: self.state.clone(),
            route,
            start,
        }
    }
}

pin_project! {
    /// The future of [`Front`]: the route's answer, then the metrics.
    pub struct FrontFuture<F> {
        #[pin]
        kind: Kind<F>,
        state: Arc<ApiState>,
        route: Option<MatchedPath>,
        start: Instant,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        // The route's own future.
        Inner { #[pin] fut: F },
        // Over the per-IP limit: the 429 (after its sampled audit row).
        Refused { fut: Pin<Box<dyn Future<Output = Response> + Send>> },
    }
}

impl<F> Future for FrontFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let resp = match this.kind.project() {
            KindProj::Inner { fut } => match ready!(fut.poll(cx)) {
                Ok(resp) => resp,
                Err(never) => match never {},
            },
            KindProj::Refused { fut } => ready!(fut.as_mut().poll(cx)),
        };
        let metrics = &this.state.metrics;
        if let Some(r) = resp.extensions().get::<Refused>() {
            metrics.refused(*r);
        }
        metrics.request(
            this.route.as_ref().map(MatchedPath::as_str),
            resp.status().as_u16(),
            this.start.elapsed().as_secs_f64(),
        );
        Poll::Ready(Ok(resp))
    }
}
