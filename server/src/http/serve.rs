//! Serving the router: axum's `serve`, with the limits a server facing the
//! internet needs and `axum::serve` does not set.
//!
//! - A request's headers must arrive within [`HEADER_READ_TIMEOUT`]; hyper
//!   has the timeout, but it only runs with a timer, which `axum::serve`
//!   does not give it. Without it a client that sends a byte a minute holds
//!   its connection (and a task) for ever, and a few thousand such clients
//!   hold the server.
//! - A request's body must keep coming: more than [`BODY_READ_TIMEOUT`]
//!   without a byte ends it (the handler reading it gets an error and
//!   answers 400, and the connection closes), so a client that sends half a
//!   body and stalls does not hold a connection slot.
//! - At most [`MAX_CONNECTIONS`] connections at once; past that, new ones
//!   wait in the kernel's accept queue instead of exhausting file
//!   descriptors.
//! - Graceful shutdown: stop accepting, let requests in flight finish for up
//!   to [`SHUTDOWN_GRACE`], then close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest pause within a request's body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections served at once.
pub const MAX_CONNECTIONS: usize = 4_096;
/// How long requests in flight (live streams close at once; exports may
/// not) get to finish at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` resolves. Each request
/// carries `ConnectInfo<SocketAddr>`, as with
/// `into_make_service_with_connect_info`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(found) => found,
                Err(err) => {
                    // Out of descriptors or a connection reset before
                    // accept: transient; pause so a persistent error does not
                    // spin.
                    tracing::warn!("accepting a connection: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
                request.map(|body| axum::body::Body::new(TimeoutBody::new(BODY_READ_TIMEOUT, body)))
            },
        ));
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!("connection from {remote}: {err}");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still running after {} s; closing them", SHUTDOWN_GRACE.as_secs());
    }
    Ok(())
}
