//! Pages render on threads of their own, each page on one thread.
//!
//! Leptos renders a page as several tasks: the page itself, and a task per
//! resource it loads, each spawned on the current runtime. On the server's
//! multi-threaded runtime those tasks run in parallel, and reactive_graph
//! (0.2.16) then sometimes tears a request's reactive graph down on one
//! thread while another thread still reads it: about one page load in
//! 2,000 panicked "reactive value already disposed" and the browser got a
//! cut response. With one worker thread the same 10,000 loads gave none.
//!
//! So pages are rendered on a small pool of single-threaded runtimes (one
//! per core): a page and every task it spawns stay on one thread, while
//! pages still render side by side on different threads. Everything else
//! (the API, server functions, downloads, live streams) stays on the main
//! runtime.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::runtime::Handle;

pub struct RenderPool {
    threads: Vec<Handle>,
    next: AtomicUsize,
}

impl RenderPool {
    /// `threads` single-threaded runtimes, each driven by a thread of its
    /// own for as long as the process runs.
    pub fn new(threads: usize) -> std::io::Result<Arc<RenderPool>> {
        let mut handles = Vec::new();
        for i in 0..threads.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            handles.push(runtime.handle().clone());
            std::thread::Builder::new()
                .name(format!("render-{i}"))
                .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
        }
        Ok(Arc::new(RenderPool { threads: handles, next: AtomicUsize::new(0) }))
    }

    /// Runs `work` to the end on one of the pool's threads.
    pub async fn run<F>(&self, work: F) -> Response
    where
        F: Future<Output = Response> + Send + 'static,
    {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.threads.len();
        match self.threads[i].spawn(work).await {
            Ok(response) => response,
            Err(e) => {
                tracing::error!("rendering a page failed: {e}");
                (StatusCode::INTERNAL_SERVER_ERROR, "This page could not be shown. Reload it.")
                    .into_response()
            }
        }
    }
}

/// Middleware: pages (server-rendered HTML) go to the pool; anything else
/// is served where it arrived.
pub async fn render_pages_on_pool(
    State(pool): State<Arc<RenderPool>>,
    request: Request,
    next: Next,
) -> Response {
    if is_page(&request) { pool.run(next.run(request)).await } else { next.run(request).await }
}

fn is_page(request: &Request) -> bool {
    let path = request.uri().path();
    request.method() == Method::GET
        && (path == "/login" || path == "/embed" || path.starts_with("/o/"))
        && !super::export::is_download(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_and_the_tasks_it_spawns_share_one_thread() {
        let pool = RenderPool::new(2).unwrap();
        for _ in 0..20 {
            let response = pool
                .run(async {
                    let page = std::thread::current().id();
                    let spawned = tokio::spawn(async { std::thread::current().id() }).await.unwrap();
                    let status = if page == spawned { StatusCode::OK } else { StatusCode::CONFLICT };
                    status.into_response()
                })
                .await;
            assert_eq!(response.status(), StatusCode::OK, "a spawned task ran on another thread");
        }
    }

    #[tokio::test]
    async fn a_page_that_panics_is_a_500_not_a_cut_connection() {
        let pool = RenderPool::new(1).unwrap();
        let response = pool
            .run(async {
                if std::hint::black_box(true) {
                    panic!("render failed");
                }
                StatusCode::OK.into_response()
            })
            .await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        // The thread survives for the next page.
        assert_eq!(pool.run(async { StatusCode::OK.into_response() }).await.status(), StatusCode::OK);
    }

    #[test]
    fn only_pages_go_to_the_pool() {
        let req = |method: Method, path: &str| {
            Request::builder().method(method).uri(path).body(Default::default()).unwrap()
        };
        assert!(is_page(&req(Method::GET, "/o/acme?q=x")));
        assert!(is_page(&req(Method::GET, "/login")));
        assert!(is_page(&req(Method::GET, "/embed")));
        assert!(!is_page(&req(Method::GET, "/o/acme/export.csv")));
        assert!(!is_page(&req(Method::POST, "/api/ui/timeline")));
        assert!(!is_page(&req(Method::GET, "/api/ui/live/acme")));
    }
}
