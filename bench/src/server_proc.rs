//! The product's server as a child process on the benchmark's database, so
//! its memory is its own and its requests go through the real HTTP stack.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};

pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `audit-timeline serve` on a free local port and waits until it
    /// answers.
    pub async fn start(
        database_url: &str,
        data_dir: &Path,
        site_root: &Path,
    ) -> anyhow::Result<ServerProcess> {
        let addr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
            probe.local_addr()?
        };
        let child = Command::new(super::server_binary()?)
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--site-root")
            .arg(site_root)
            .env("DATABASE_URL", database_url)
            .env("AUDIT_DATA_DIR", data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting the server")?;
        let mut server = ServerProcess { child, addr };
        for _ in 0..600 {
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!("the server exited while starting: {status}");
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the server did not answer on {addr} within a minute")
    }

    /// A reader of the server's resident memory (KiB), for a sampling task.
    pub fn memory_reader(&self) -> impl Fn() -> Option<u64> + Clone + Send + 'static {
        let path = self.child.id().map(|pid| format!("/proc/{pid}/status"));
        move || {
            let status = std::fs::read_to_string(path.as_ref()?).ok()?;
            status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.split_whitespace().next()?.parse().ok()
        }
    }

    /// Stops the server as an operator would (SIGTERM), then waits for it.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}
