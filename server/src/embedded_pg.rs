//! A private PostgreSQL cluster for the zero-configuration default.
//!
//! With no `DATABASE_URL`, the server runs its own cluster from the machine's
//! PostgreSQL binaries in a data directory of its own (initdb once, then
//! pg_ctl start/stop). It listens on 127.0.0.1 only, on a free port, with a
//! random password kept beside the cluster (mode 0600).
//!
//! The cluster is supervised while the server runs: if its postmaster dies
//! (killed, out of memory), it is started again on the same port, so the
//! pools' reconnects find it, and the log says so.
//!
//! PostgreSQL refuses to run as root. When this process is root, the cluster's
//! files belong to, and its processes run as, the unprivileged `postgres`
//! user (via `runuser`), which is how Debian runs its own clusters.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use tokio::process::Command;

mod sizing;

/// The database inside the cluster that holds the audit log.
const DATABASE: &str = "audit";
/// The unprivileged user the cluster runs as when we are root.
const RUN_AS: &str = "postgres";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found; install them \
         (Debian: apt-get install postgresql) or set PG_BIN_DIR, or set DATABASE_URL \
         to use an existing database"
    )]
    NoBinaries,
    #[error(
        "running as root, the embedded PostgreSQL must run as the user '{RUN_AS}', which does not \
         exist; create it (useradd --system {RUN_AS}) or set DATABASE_URL"
    )]
    NoUnprivilegedUser,
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("embedded PostgreSQL, {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the '{DATABASE}' database: {0}")]
    CreateDatabase(#[from] sqlx::Error),
}

/// A running embedded cluster.
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    pgdata: PathBuf,
    run_as: Option<&'static str>,
    port: u16,
    /// `-c` options sized to the machine, given at every start.
    options: String,
    password: String,
    /// False when another process of ours already had it running; then we
    /// leave it running on exit too.
    started_here: bool,
    /// Restarts the cluster if it dies; only for a cluster started here
    /// (another process's cluster is that process's to look after).
    supervisor: Option<tokio::task::JoinHandle<()>>,
}

impl EmbeddedPostgres {
    /// Starts the cluster in `dir` (created and initialised on first use), or
    /// attaches to it if it is already running, and makes sure the audit
    /// database exists.
    pub async fn start(dir: &Path) -> Result<EmbeddedPostgres, EmbeddedError> {
        let bin_dir = find_bin_dir().ok_or(EmbeddedError::NoBinaries)?;
        let run_as = if is_root() {
            if !user_exists(RUN_AS).await {
                return Err(EmbeddedError::NoUnprivilegedUser);
            }
            Some(RUN_AS)
        } else {
            None
        };
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        let dir = dir.canonicalize().map_err(io(format!("resolving {}", dir.display())))?;
        let pgdata = dir.join("pgdata");
        let password_file = dir.join("password");

        let mut pg = EmbeddedPostgres {
            bin_dir,
            pgdata,
            run_as,
            port: 0,
            options: String::new(),
            password: String::new(),
            started_here: false,
            supervisor: None,
        };
        if let Some(user) = run_as {
            // Everything but the server's own key directory, which must stay
            // unreadable to the cluster's user (see chain::signing).
            let keys = dir.join(crate::chain::signing::KEY_DIR);
            let mut chown = Command::new("find");
            chown.arg(&dir).arg("-path").arg(&keys).arg("-prune").arg("-o");
            chown.args(["-exec", "chown", "-h", &format!("{user}:"), "{}", "+"]);
            pg.run("chown", &mut chown).await?;
            pg.check_reachable(&dir).await?;
        }
        let memory = sizing::machine_memory().unwrap_or(0);
        pg.options = sizing::as_options(&sizing::settings(memory, sizing::has_lz4(&pg.bin_dir)));
        if !pg.pgdata.join("PG_VERSION").exists() {
            pg.init(&password_file).await?;
        }
        pg.password = std::fs::read_to_string(&password_file)
            .map_err(io(format!("reading {}", password_file.display())))?
            .trim()
            .to_string();

        match pg.running_port() {
            Some(port) if pg.is_running().await => {
                tracing::info!(port, "embedded PostgreSQL already running; attaching");
                pg.port = port;
            }
            _ => {
                pg.port = free_port().map_err(io("finding a free port".into()))?;
                let log = dir.join("postgres.log");
                let mut cmd = pg.pg_command("pg_ctl");
                cmd.arg("-D").arg(&pg.pgdata).arg("-l").arg(&log).args(["-w", "-t", "60", "-o"]);
                cmd.arg(format!("-p {}{}", pg.port, pg.options)).arg("start");
                pg.run("pg_ctl start", &mut cmd).await.map_err(|e| with_log(e, &log))?;
                pg.started_here = true;
                tracing::info!(port = pg.port, dir = %dir.display(), "embedded PostgreSQL started");
            }
        }
        pg.create_database().await?;
        if pg.started_here {
            pg.supervisor = Some(tokio::spawn(supervise(pg.launcher(dir.join("postgres.log")))));
        }
        Ok(pg)
    }

    fn launcher(&self, log: PathBuf) -> Launcher {
        Launcher {
            bin_dir: self.bin_dir.clone(),
            pgdata: self.pgdata.clone(),
            run_as: self.run_as,
            port: self.port,
            options: self.options.clone(),
            log,
        }
    }

    pub fn database_url(&self) -> String {
        self.url(DATABASE)
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres:{}@127.0.0.1:{}/{database}", self.password, self.port)
    }

    /// Stops the cluster if this process started it.
    pub async fn stop(self) {
        if let Some(supervisor) = &self.supervisor {
            // Before stopping, or it would start the cluster again.
            supervisor.abort();
        }
        if !self.started_here {
            return;
        }
        let mut cmd = self.pg_command("pg_ctl");
        cmd.arg("-D").arg(&self.pgdata).args(["-m", "fast", "-w", "stop"]);
        match self.run("pg_ctl stop", &mut cmd).await {
            Ok(_) => tracing::info!("embedded PostgreSQL stopped"),
            Err(err) => tracing::warn!("embedded PostgreSQL did not stop cleanly: {err}"),
        }
    }

    async fn init(&self, password_file: &Path) -> Result<(), EmbeddedError> {
        let mut secret = [0u8; 16];
        crate::random::fill(&mut secret).map_err(io("reading the OS random source".into()))?;
        let password = crate::random::hex(&secret);
        write_private(password_file, &password)
            .map_err(io(format!("writing {}", password_file.display())))?;
        if let Some(user) = self.run_as {
            self.run("chown", Command::new("chown").arg(format!("{user}:")).arg(password_file)).await?;
        }
        // C collation keeps btree comparisons cheap (nothing here sorts text
        // for display); a UTF-8 ctype makes lower() and pg_trgm fold
        // non-ASCII letters, so "JOSÉ" finds "José".
        let mut cmd = self.pg_command("initdb");
        cmd.arg("-D").arg(&self.pgdata).args(["-U", "postgres", "-A", "scram-sha-256", "-E", "UTF8"]);
        cmd.arg(format!("--pwfile={}", password_file.display()));
        cmd.args(["--lc-collate=C", "--lc-ctype=C.UTF-8", "--lc-messages=C"]);
        self.run("initdb", &mut cmd).await?;
        let conf = self.pgdata.join("postgresql.conf");
        let settings = "\n# audit-timeline embedded defaults\n\
                        listen_addresses = '127.0.0.1'\n\
                        unix_socket_directories = ''\n\
                        max_connections = 60\n";
        let mut text = std::fs::read_to_string(&conf).map_err(io(format!("reading {}", conf.display())))?;
        text.push_str(settings);
        std::fs::write(&conf, text).map_err(io(format!("writing {}", conf.display())))?;
        Ok(())
    }

    async fn create_database(&self) -> Result<(), EmbeddedError> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url("postgres")).await?;
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(DATABASE)
            .fetch_one(&mut conn)
            .await?;
        if !exists {
            sqlx::query(&format!("CREATE DATABASE {DATABASE}")).execute(&mut conn).await?;
        }
        conn.close().await?;
        Ok(())
    }

    /// The port in postmaster.pid (its fourth line), if a server claims the
    /// data directory.
    fn running_port(&self) -> Option<u16> {
        let pid = std::fs::read_to_string(self.pgdata.join("postmaster.pid")).ok()?;
        pid.lines().nth(3)?.trim().parse().ok()
    }

    async fn is_running(&self) -> bool {
        let mut cmd = self.pg_command("pg_ctl");
        cmd.arg("-D").arg(&self.pgdata).arg("status");
        matches!(cmd.output().await, Ok(out) if out.status.success())
    }

    /// When we run as root the cluster's user must be able to reach the data
    /// directory; a private parent directory (e.g. under /root) would make
    /// initdb fail with a confusing message, so say it plainly.
    async fn check_reachable(&self, dir: &Path) -> Result<(), EmbeddedError> {
        let Some(user) = self.run_as else { return Ok(()) };
        let ok = Command::new("runuser")
            .args(["-u", user, "--", "test", "-w"])
            .arg(dir)
            .output()
            .await
            .is_ok_and(|o| o.status.success());
        if ok {
            Ok(())
        } else {
            Err(EmbeddedError::Command {
                what: "preparing the data directory".into(),
                detail: format!(
                    "user '{user}' cannot write {}: a parent directory is private; choose another \
                     --data-dir (e.g. under /var/tmp)",
                    dir.display()
                ),
            })
        }
    }

    /// A PostgreSQL tool, run as the cluster's user.
    fn pg_command(&self, tool: &str) -> Command {
        let program = self.bin_dir.join(tool);
        match self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }

    async fn run(&self, what: &str, cmd: &mut Command) -> Result<Output, EmbeddedError> {
        cmd.kill_on_drop(true).stdin(std::process::Stdio::null());
        let out = cmd.output().await.map_err(io(format!("running {what}")))?;
        if out.status.success() {
            Ok(out)
        } else {
            let mut detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if detail.is_empty() {
                detail = String::from_utf8_lossy(&out.stdout).trim().to_string();
            }
            Err(EmbeddedError::Command { what: what.to_string(), detail })
        }
    }
}

/// What the supervisor needs to check on and start the cluster.
struct Launcher {
    bin_dir: PathBuf,
    pgdata: PathBuf,
    run_as: Option<&'static str>,
    port: u16,
    options: String,
    log: PathBuf,
}

/// How often the supervisor looks at the postmaster. A dead cluster costs
/// every request a 503 until it is back, so look often; the look is a read
/// of two small files.
const SUPERVISE_EVERY: Duration = Duration::from_millis(500);

/// Watches the postmaster and starts the cluster again when it is gone,
/// retrying (with a growing pause, up to 5 s) while PostgreSQL refuses, e.g.
/// while the dead postmaster's backends still hold its shared memory.
async fn supervise(cluster: Launcher) {
    let mut pause = SUPERVISE_EVERY;
    let mut down_since: Option<std::time::Instant> = None;
    loop {
        tokio::time::sleep(pause).await;
        if postmaster_alive(&cluster.pgdata) {
            pause = SUPERVISE_EVERY;
            continue;
        }
        let since = *down_since.get_or_insert_with(|| {
            tracing::error!(port = cluster.port, "embedded PostgreSQL is not running; restarting it");
            std::time::Instant::now()
        });
        match cluster.start().await {
            Ok(()) => {
                tracing::warn!(
                    port = cluster.port,
                    down_ms = since.elapsed().as_millis() as u64,
                    "embedded PostgreSQL restarted after an unexpected stop"
                );
                down_since = None;
                pause = SUPERVISE_EVERY;
            }
            Err(err) => {
                tracing::warn!("embedded PostgreSQL did not restart yet: {err}");
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

impl Launcher {
    async fn start(&self) -> Result<(), EmbeddedError> {
        let program = self.bin_dir.join("pg_ctl");
        let mut cmd = match self.run_as {
            Some(user) => {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", user, "--"]).arg(program);
                cmd
            }
            None => Command::new(program),
        };
        cmd.arg("-D").arg(&self.pgdata).arg("-l").arg(&self.log).args(["-w", "-t", "60", "-o"]);
        cmd.arg(format!("-p {}{}", self.port, self.options)).arg("start");
        cmd.kill_on_drop(true).stdin(std::process::Stdio::null());
        let out = cmd.output().await.map_err(io("running pg_ctl start".into()))?;
        if out.status.success() {
            return Ok(());
        }
        let detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(with_log(EmbeddedError::Command { what: "pg_ctl start".into(), detail }, &self.log))
    }
}

/// Whether the process named in `postmaster.pid` is alive. A zombie (a
/// killed postmaster nobody has reaped) counts as dead.
fn postmaster_alive(pgdata: &Path) -> bool {
    let Ok(pid_file) = std::fs::read_to_string(pgdata.join("postmaster.pid")) else { return false };
    let Some(pid) = pid_file.lines().next().and_then(|l| l.trim().parse::<u32>().ok()) else {
        return false;
    };
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        // Without /proc, ask the kernel whether the pid exists.
        Err(_) if !Path::new("/proc/self").exists() => {
            // SAFETY: signal 0 only checks that the process exists.
            let alive = unsafe { libc::kill(pid as libc::pid_t, 0) == 0 };
            alive || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
        }
        Err(_) => false,
    }
}

fn with_log(err: EmbeddedError, log: &Path) -> EmbeddedError {
    match err {
        EmbeddedError::Command { what, detail } => {
            let tail: String = std::fs::read_to_string(log)
                .map(|t| {
                    t.lines()
                        .rev()
                        .take(5)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default();
            EmbeddedError::Command { what, detail: format!("{detail}\n{tail}") }
        }
        other => other,
    }
}

/// `PG_BIN_DIR`, else the newest `/usr/lib/postgresql/<major>/bin` (Debian and
/// Ubuntu), else wherever `initdb` is on PATH.
fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("PG_BIN_DIR").map(PathBuf::from) {
        return has_tools(&dir).then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((major, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| has_tools(d))
}

/// Whether the cluster runs as an OS user of its own (`postgres`), which
/// happens when this process is root; otherwise it runs as this process's
/// user and can read whatever the server can.
pub fn runs_as_other_user() -> bool {
    is_root()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

async fn user_exists(user: &str) -> bool {
    Command::new("id").arg("-u").arg(user).output().await.is_ok_and(|o| o.status.success())
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(contents.as_bytes())
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> EmbeddedError {
    move |source| EmbeddedError::Io { context, source }
}
