//! Writes under load: throughput, shared commits, a failure in a group, verification.

use super::*;

/// Ingestion through a real socket: single events one after another
/// (events/s, p50/p95 latency) and 1,000-event batches (events/s). Run with
/// `cargo test --release -p server --test integration api::writes::ingestion_throughput -- --ignored --nocapture`.
#[sqlx::test(migrations = "./migrations")]
#[ignore = "a measurement, not a check; run in --release"]
async fn ingestion_throughput(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = setup(connect).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, api.router.clone()).into_future());
    let mut client = http1::Client::connect(addr, &api.key).await;

    // Warm up connections and plans.
    for i in 0..50 {
        client.post(&event("task.update", &format!("warm_{i}")).to_string()).await;
    }

    let singles = 2000;
    let mut latencies = Vec::with_capacity(singles);
    let started = Instant::now();
    for i in 0..singles {
        let body = event("task.update", &format!("t_{i}")).to_string();
        let t = Instant::now();
        let status = client.post(&body).await;
        latencies.push(t.elapsed());
        assert_eq!(status, 201);
    }
    let single_secs = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];

    let batches = 20;
    let bodies: Vec<String> = (0..batches).map(|_| batch(1000).to_string()).collect();
    let started = Instant::now();
    for body in &bodies {
        assert_eq!(client.post(body).await, 201);
    }
    let batch_secs = started.elapsed().as_secs_f64();

    println!(
        "single events, sequential: {singles} in {single_secs:.2}s = {:.0} events/s; p50 {:?}, p95 {:?}, p99 {:?}",
        singles as f64 / single_secs,
        pct(0.50),
        pct(0.95),
        pct(0.99),
    );
    println!(
        "1,000-event batches, sequential: {batches} in {batch_secs:.2}s = {:.0} events/s ({:?} per batch, {} KiB each)",
        (batches * 1000) as f64 / batch_secs,
        Duration::from_secs_f64(batch_secs / batches as f64),
        bodies[0].len() / 1024,
    );
    assert_eq!(api.stored().await, 50 + singles as i64 + batches as i64 * 1000);
    server.abort();
}

/// Just enough HTTP/1.1 over one keep-alive connection to time the server,
/// not a client library.
mod http1 {
    use std::net::SocketAddr;

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;

    pub struct Client {
        stream: BufReader<TcpStream>,
        key: String,
    }

    impl Client {
        pub async fn connect(addr: SocketAddr, key: &str) -> Client {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            Client { stream: BufReader::new(stream), key: key.to_string() }
        }

        /// POSTs `body` to the events endpoint; the response status.
        pub async fn post(&mut self, body: &str) -> u16 {
            let head = format!(
                "POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                self.key,
                body.len()
            );
            let s = self.stream.get_mut();
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(body.as_bytes()).await.unwrap();
            let mut line = String::new();
            self.stream.read_line(&mut line).await.unwrap();
            let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
            let mut length = 0usize;
            loop {
                line.clear();
                self.stream.read_line(&mut line).await.unwrap();
                if line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut rest = vec![0; length];
            self.stream.read_exact(&mut rest).await.unwrap();
            status
        }
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn verify_reports_the_keys_org_chain_and_records_it(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = setup(connect).await;
    assert_eq!(api.post_json(&batch(5)).await.status, StatusCode::CREATED);
    let verify = |key: Option<&str>| {
        let mut builder = Request::builder().method("POST").uri("/api/v1/verify");
        if let Some(key) = key {
            builder = builder.header("authorization", format!("Bearer {key}"));
        }
        builder.body(Body::empty()).unwrap()
    };
    let answer = api.send(verify(Some(&api.key))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // The key's own creation is an audit event too: 1 + 5 events.
    assert_eq!(answer.body["ok"], true);
    assert_eq!(answer.body["verified_through"], 6);
    assert_eq!(answer.body["summary"], "verified through seq 6 (0 checkpoints)");
    let recorded = server::chain::latest_verification(&api.app, ORG).await.unwrap().expect("recorded");
    assert_eq!(recorded.verified_through, 6);
    assert_eq!(api.send(verify(None)).await.status, StatusCode::UNAUTHORIZED);
}

/// How many transactions wrote the events sent through the API: rows
/// written by one transaction share its id (`xmin`), so a write group's
/// events count once.
async fn writing_transactions(api: &Api) -> i64 {
    sqlx::query_scalar("SELECT count(DISTINCT xmin::text) FROM audit_events WHERE entity_type <> 'api_key'")
        .fetch_one(&api.owner)
        .await
        .unwrap()
}

async fn verified_through(api: &Api) -> i64 {
    let request = Request::post("/api/v1/verify")
        .header(header::AUTHORIZATION, format!("Bearer {}", api.key))
        .body(Body::empty())
        .unwrap();
    let answer = api.send(request).await;
    assert_eq!(answer.body["ok"], true, "{}", answer.body);
    answer.body["verified_through"].as_i64().unwrap()
}

/// Concurrent single events of one org are written in groups that share a
/// commit, each answered only after it, and linked into one unbroken chain.
#[sqlx::test(migrations = "./migrations")]
async fn concurrent_single_events_share_commits_and_the_chain_holds(
    _opts: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let api = std::sync::Arc::new(setup(connect).await);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let api = api.clone();
            tokio::spawn(async move { api.post_json(&event("task.update", &format!("task_{i}"))).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let answer = t.await.unwrap();
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        ids.extend(self::ids(&answer));
    }
    assert_eq!(ids.len(), 64);
    assert_eq!(api.stored().await, 64);
    let commits = writing_transactions(&api).await;
    assert!(commits < 64, "64 requests were written in {commits} commits, not grouped");
    assert_eq!(verified_through(&api).await, 65, "the key's event and 64 more, unbroken");
}

/// In a group, a request that cannot be stored fails alone with its own
/// answer; the others are stored, and the chain has no gap.
#[sqlx::test(migrations = "./migrations")]
async fn a_request_that_fails_in_a_group_fails_alone(_opts: PgPoolOptions, connect: PgConnectOptions) {
    let api = std::sync::Arc::new(setup(connect).await);
    let with_id = |entity: &str, id: &str| {
        let mut e = event("invoice.create", entity);
        e["external_id"] = json!(id);
        e
    };
    assert_eq!(api.post_json(&with_id("inv_0", "evt-stored")).await.status, StatusCode::CREATED);
    // Sent together: 20 good events, one whose external id is stored, and
    // two that share a new one.
    let mut bodies: Vec<Value> = (0..20).map(|i| event("task.update", &format!("task_{i}"))).collect();
    bodies.insert(7, with_id("inv_1", "evt-stored"));
    bodies.insert(12, with_id("inv_2", "evt-new"));
    bodies.insert(15, with_id("inv_3", "evt-new"));
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let api = api.clone();
            tokio::spawn(async move { api.post_json(&body).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let created = answers.iter().filter(|a| a.status == StatusCode::CREATED).count();
    let conflicts: Vec<&Answer> = answers.iter().filter(|a| a.status == StatusCode::CONFLICT).collect();
    assert_eq!(created, 21, "the 20 good events and one of the pair");
    assert_eq!(conflicts.len(), 2);
    assert!(conflicts.iter().all(|a| a.message() == "external_id: already stored"), "{}", conflicts[0].body);
    assert_eq!(api.stored().await, 1 + 21);
    assert_eq!(verified_through(&api).await, 1 + 1 + 21);
}
