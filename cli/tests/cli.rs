//! The `kidplan` binary as a subprocess: the demo runs to the end, every everyday command
//! works against a real kidplan-server started in the test, and bad input gives one line on
//! stderr and a non-zero exit status.

use kidplan_server::{RunningServer, ServerConfig, demo};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kidplan");

fn kidplan() -> Command {
    let mut c = Command::new(BIN);
    c.env("NO_COLOR", "1")
        .env_remove("KIDPLAN_SERVER")
        .env_remove("KIDPLAN_DATA_DIR")
        .env_remove("CLICOLOR_FORCE");
    c
}

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

fn run(o: Output) -> Run {
    Run {
        status: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// A real server (demo seed) on an ephemeral loopback port, with its runtime.
struct Server {
    rt: tokio::runtime::Runtime,
    server: Option<RunningServer>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let (rt, server) = Server::start_in(dir.path(), None);
        Server {
            rt,
            server: Some(server),
            _dir: dir,
        }
    }

    fn start_in(dir: &Path, bind: Option<SocketAddr>) -> (tokio::runtime::Runtime, RunningServer) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut cfg = ServerConfig::new(dir);
        cfg.maintenance_every = None;
        if let Some(b) = bind {
            cfg.bind = b;
        }
        let s = rt
            .block_on(RunningServer::start(cfg))
            .expect("server starts");
        (rt, s)
    }

    fn s(&self) -> &RunningServer {
        self.server.as_ref().expect("running")
    }

    fn url(&self) -> String {
        self.s().base_url()
    }

    /// Asks for a login code over HTTP (as another device would) and reads it from the outbox.
    fn code_for(&self, contact: &str) -> String {
        let url = format!("{}/v1/auth/code", self.url());
        let body = serde_json::json!({ "contact": contact });
        self.rt.block_on(async {
            let r = reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .expect("request code");
            assert!(r.status().is_success(), "{}", r.status());
        });
        self.s().last_login_code(contact).expect("code in outbox")
    }

    fn stop(&mut self) -> SocketAddr {
        let s = self.server.take().expect("running");
        let addr = s.addr();
        self.rt.block_on(s.stop());
        addr
    }
}

/// Runs `kidplan --server URL --data-dir DIR args...`.
fn cmd(server: &str, dir: &Path, args: &[&str]) -> Run {
    let o = kidplan()
        .arg("--server")
        .arg(server)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("kidplan runs");
    run(o)
}

/// Every directory under `root` (and `root`) is 0700 and every file 0600; there are some of
/// each (the account's database, accounts.json, ...).
#[cfg(unix)]
fn assert_private(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut stack = vec![root.to_owned()];
    let (mut dirs, mut files) = (0, Vec::new());
    while let Some(p) = stack.pop() {
        let meta = std::fs::metadata(&p).expect("meta");
        let mode = meta.permissions().mode() & 0o777;
        if meta.is_dir() {
            assert_eq!(mode, 0o700, "{} is {mode:o}", p.display());
            dirs += 1;
            for e in std::fs::read_dir(&p).expect("read_dir").flatten() {
                stack.push(e.path());
            }
        } else {
            assert_eq!(mode, 0o600, "{} is {mode:o}", p.display());
            files.push(
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
        }
    }
    for f in [
        "accounts.json",
        "secrets.json",
        "cache.db",
        "telemetry.json",
        "server-url",
    ] {
        assert!(files.iter().any(|n| n == f), "{f} not among {files:?}");
    }
    assert!(dirs >= 3, "{dirs} directories");
}

fn ok(r: &Run, what: &str) {
    assert_eq!(
        r.status, 0,
        "{what}: stdout {}\nstderr {}",
        r.stdout, r.stderr
    );
}

/// A failure: non-zero exit, exactly one line on stderr starting with `kidplan:`, no panic.
fn one_line_failure(r: &Run, needle: &str) {
    assert_ne!(r.status, 0, "expected a failure: {}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", r.stderr);
    assert!(lines[0].starts_with("kidplan: "), "{:?}", r.stderr);
    assert!(
        r.stderr.contains(needle),
        "stderr {:?} should contain {needle:?}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

fn day(n: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(n))
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn demo_runs_to_the_end_in_bokmal() {
    let r = run(kidplan()
        .args(["demo", "--lang", "nb"])
        .output()
        .expect("demo runs"));
    ok(&r, "demo");
    let out = &r.stdout;
    assert!(!out.contains('\x1b'), "no colour with NO_COLOR");
    for expected in [
        // 1. login through the outbox
        "holds the code:",
        "Logged in as a guardian of Solsikken barnehage",
        "Registered for push",
        // 2. first sync, children, attendance, log
        "First sync:",
        "Emma Nordmann",
        "Jakob Nordmann",
        "Attendance today",
        "Randi checks Emma in at the door",
        "in the kindergarten since",
        "Latest in Emma's log (barnelogg)",
        // 3. offline absence: pending, then sent, acknowledged, push → notification (nb)
        "the server is stopped",
        "pending (not sent yet)",
        "report absence  pending",
        "the server is back on",
        "report absence  sent",
        "The absence is sent",
        "[the kindergarten] Randi acknowledges the absence",
        "\"kind\":\"sync\"",
        "Fravær bekreftet",
        "The device shows the absence as acknowledged",
        // 4. messages
        "Opening thread",
        "Answered: “Tusen takk! Ha en fin dag.”",
        "[the kindergarten] Randi answers",
        "Ny melding fra Randi Solberg",
        // 5. telemetry
        "{\"v\":1,\"day\":",
        "\"platform\":\"desktop\"",
        "It holds no e-mail address",
        // 6. export
        "kidplan-export-",
        "log entries",
        "none of the device's",
        // 7. logout
        "The device after logging out",
        "0 secrets in all, 0 of this account",
        "Nothing of the account is left",
        "The demo ran to the end",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(!out.contains("FAILED"), "{out}");
    // The notification text comes from the core, in Bokmål.
    assert!(
        out.contains("Barnehagen har bekreftet fraværet til Emma"),
        "{out}"
    );
}

#[test]
fn demo_speaks_english_with_lang_en() {
    let r = run(kidplan()
        .args(["demo", "--lang", "en"])
        .output()
        .expect("demo runs"));
    ok(&r, "demo --lang en");
    assert!(r.stdout.contains("Absence acknowledged"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("The kindergarten acknowledged Emma's absence"),
        "{}",
        r.stdout
    );
}

#[test]
fn everyday_commands_against_a_real_server() {
    let server = Server::start();
    let url = server.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // As an older install left it: a data directory anyone may list.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    // login, with the code on stdin (the server's outbox stands in for the email).
    let mut child = kidplan()
        .arg("--server")
        .arg(&url)
        .arg("--data-dir")
        .arg(d)
        .args(["login", demo::GUARDIAN_EMAIL])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("login runs");
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(c) = server.s().last_login_code(demo::GUARDIAN_EMAIL) {
            break c;
        }
        assert!(Instant::now() < deadline, "no login code was requested");
        std::thread::sleep(Duration::from_millis(50));
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{code}\n").as_bytes())
        .expect("write code");
    let r = run(child.wait_with_output().expect("login ends"));
    ok(&r, "login (stdin)");
    assert!(
        r.stdout.contains("logged in at Solsikken barnehage"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("synced:"), "{}", r.stdout);
    assert!(r.stderr.contains("A login code was sent"), "{}", r.stderr);

    // Secrets live in the file store under the data directory, mode 0600.
    let secrets = d.join("secrets.json");
    assert!(secrets.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secrets)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // login again with --code (the code read from the server's outbox); the URL is remembered.
    let code = server.code_for(demo::GUARDIAN_EMAIL);
    let r = cmd(&url, d, &["login", demo::GUARDIAN_EMAIL, "--code", &code]);
    ok(&r, "login --code");

    let r = cmd(&url, d, &["children"]);
    ok(&r, "children");
    assert!(r.stdout.contains("Emma Nordmann") && r.stdout.contains("Jakob Nordmann"));

    // Rectification of the guardian's name and relation to a child, sent at once.
    let r = cmd(
        &url,
        d,
        &[
            "privacy",
            "correct",
            "--first-name",
            "Karianne",
            "--relation",
            "emma=guardian",
        ],
    );
    ok(&r, "privacy correct");
    assert!(
        r.stdout.contains("sent to the kindergarten"),
        "{}",
        r.stdout
    );
    #[cfg(unix)]
    assert_private(d);

    let r = cmd(&url, d, &["log", "EMMA", "--limit", "2"]);
    ok(&r, "log");
    assert!(r.stdout.contains("Log of Emma Nordmann"), "{}", r.stdout);
    let rows = r
        .stdout
        .lines()
        .filter(|l| l.contains("Randi Solberg"))
        .count();
    assert_eq!(rows, 2, "{}", r.stdout);

    let r = cmd(&url, d, &["messages"]);
    ok(&r, "messages");
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("Henting i dag") && l.contains("Jakob"))
        .expect("thread listed")
        .to_owned();
    let thread = line.split_whitespace().next().expect("id");
    let r = cmd(
        &url,
        d,
        &["messages", thread, "--reply", "Hei fra terminalen"],
    );
    ok(&r, "messages THREAD --reply");
    assert!(r.stdout.contains("Henting i dag") && r.stdout.contains("answered"));
    let r = cmd(&url, d, &["messages", thread]);
    ok(&r, "messages THREAD");
    assert!(r.stdout.contains("Hei fra terminalen"), "{}", r.stdout);

    let (from, to) = (day(20), day(21));
    let r = cmd(
        &url,
        d,
        &[
            "absence",
            "report",
            "emma",
            "--from",
            &from,
            "--to",
            &to,
            "--reason",
            "family",
            "--note",
            "Besøk hos besteforeldre",
        ],
    );
    ok(&r, "absence report");
    assert!(r.stdout.contains("synced"), "{}", r.stdout);
    let r = cmd(&url, d, &["absence", "list"]);
    ok(&r, "absence list");
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains(&from) && l.contains("family"))
        .expect("absence listed")
        .to_owned();
    let id = line.split_whitespace().next().expect("id").to_owned();
    let r = cmd(&url, d, &["absence", "withdraw", &id]);
    ok(&r, "absence withdraw");
    let r = cmd(&url, d, &["absence", "list"]);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with(&format!("   {id}")) && l.contains("withdrawn")),
        "{}",
        r.stdout
    );

    let r = cmd(
        &url,
        d,
        &["holiday", "jakob", "--from", &day(40), "--to", &day(50)],
    );
    ok(&r, "holiday");
    assert!(r.stdout.contains("holiday") && r.stdout.contains("Jakob"));

    let r = cmd(&url, d, &["consents", "Emma"]);
    ok(&r, "consents");
    assert!(r.stdout.contains("photos internal"), "{}", r.stdout);

    let r = cmd(&url, d, &["sync"]);
    ok(&r, "sync");
    assert!(r.stdout.contains("synced:"), "{}", r.stdout);

    let export = d.join("my-export");
    let r = cmd(&url, d, &["export", export.to_str().expect("utf8")]);
    ok(&r, "export");
    let file = std::fs::read_dir(&export)
        .expect("export dir")
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("kidplan-export-")
        })
        .expect("export file");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file.path()).expect("read")).expect("JSON");
    assert!(json.is_object());

    let r = cmd(&url, d, &["telemetry", "preview"]);
    ok(&r, "telemetry preview");
    assert!(r.stdout.starts_with("{\"v\":1"), "{}", r.stdout);
    assert!(!r.stdout.contains(demo::GUARDIAN_EMAIL));

    let r = cmd(&url, d, &["logout"]);
    ok(&r, "logout");
    assert!(r.stdout.contains("logged out"), "{}", r.stdout);
    assert!(!d.join("accounts").read_dir().expect("dir").any(|_| true));
    let r = cmd(&url, d, &["children"]);
    one_line_failure(&r, "kidplan login");
}

#[test]
fn bad_input_gives_one_line_and_a_non_zero_exit() {
    let server = Server::start();
    let url = server.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let code = server.code_for(demo::GUARDIAN_EMAIL);
    ok(
        &cmd(&url, d, &["login", demo::GUARDIAN_EMAIL, "--code", &code]),
        "login",
    );

    // A relation that does not exist, a blank name: refused on the device.
    let r = cmd(&url, d, &["privacy", "correct", "--relation", "emma=aunt"]);
    one_line_failure(&r, "relations");
    let r = cmd(&url, d, &["privacy", "correct", "--first-name", " "]);
    one_line_failure(&r, "first_name");

    // Unknown child.
    let r = cmd(&url, d, &["log", "Ola"]);
    one_line_failure(&r, "no child called `Ola`");
    assert!(
        r.stderr.contains("Emma"),
        "lists the children: {}",
        r.stderr
    );
    let r = cmd(
        &url,
        d,
        &[
            "absence",
            "report",
            "Ola",
            "--from",
            &day(1),
            "--to",
            &day(1),
            "--reason",
            "sick",
        ],
    );
    one_line_failure(&r, "no child called");

    // Bad dates.
    let r = cmd(
        &url,
        d,
        &[
            "absence",
            "report",
            "Emma",
            "--from",
            "2026-13-01",
            "--to",
            "2026-12-01",
            "--reason",
            "sick",
        ],
    );
    one_line_failure(&r, "YYYY-MM-DD");
    let r = cmd(
        &url,
        d,
        &["holiday", "Emma", "--from", "tomorrow", "--to", "1.12.2026"],
    );
    one_line_failure(&r, "YYYY-MM-DD");
    let r = cmd(
        &url,
        d,
        &["holiday", "Emma", "--from", &day(5), "--to", &day(2)],
    );
    one_line_failure(&r, "before --from");
    let r = cmd(
        &url,
        d,
        &[
            "absence",
            "report",
            "Emma",
            "--from",
            &day(1),
            "--to",
            &day(1),
            "--reason",
            "bored",
        ],
    );
    one_line_failure(&r, "bored");

    // Unknown thread and absence ids.
    one_line_failure(&cmd(&url, d, &["messages", "zzzz-no-such"]), "no thread");
    one_line_failure(
        &cmd(&url, d, &["absence", "withdraw", "zzzz"]),
        "no absence",
    );

    // A wrong login code.
    let r = cmd(
        &url,
        d,
        &["login", demo::GUARDIAN_EMAIL, "--code", "000000"],
    );
    one_line_failure(&r, "login code");

    // A server that is not there.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let a = l.local_addr().expect("addr");
        drop(l);
        format!("http://{a}")
    };
    let other = tempfile::tempdir().expect("tempdir");
    let r = cmd(
        &dead,
        other.path(),
        &["login", "a@example.org", "--code", "123456"],
    );
    one_line_failure(&r, "cannot reach the Kidplan server");
    let r = cmd(&dead, d, &["sync"]);
    one_line_failure(&r, "cannot reach the Kidplan server");
    // Plain http to a remote host is refused.
    let r = cmd("http://kidplan.example.org", other.path(), &["sync"]);
    one_line_failure(&r, "not a usable server URL");
}

#[test]
fn an_expired_session_says_log_in_again() {
    let mut server = Server::start();
    let url = server.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let code = server.code_for(demo::GUARDIAN_EMAIL);
    ok(
        &cmd(&url, d, &["login", demo::GUARDIAN_EMAIL, "--code", &code]),
        "login",
    );
    // The server forgets every session: a fresh server on the same address.
    let addr = server.stop();
    let fresh = tempfile::tempdir().expect("tempdir");
    let (rt, s) = Server::start_in(fresh.path(), Some(addr));
    let r = cmd(&url, d, &["sync"]);
    one_line_failure(&r, "kidplan login");
    rt.block_on(s.stop());
}

#[test]
fn serve_runs_the_reference_server_and_prints_login_codes() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut serve = kidplan()
        .arg("--data-dir")
        .arg(dir.path().join("server"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve runs");
    let mut lines = std::io::BufReader::new(serve.stdout.take().expect("stdout")).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.split("listening on ").nth(1).map(|u| u.trim().to_owned()))
        .expect("listening line");
    // `login` without --code reads the code from stdin; `serve` prints it.
    let device = dir.path().join("device");
    let mut login = kidplan()
        .arg("--server")
        .arg(&url)
        .arg("--data-dir")
        .arg(&device)
        .args(["login", demo::GUARDIAN_EMAIL])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("login runs");
    let code = lines
        .map_while(Result::ok)
        .find_map(|l| {
            l.contains(&format!("login code for {}", demo::GUARDIAN_EMAIL))
                .then(|| l.rsplit(' ').next().map(str::to_owned))
                .flatten()
        })
        .expect("code printed by serve");
    login
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{code}\n").as_bytes())
        .expect("write");
    let r = run(login.wait_with_output().expect("login ends"));
    serve.kill().expect("stop serve");
    let _ = serve.wait();
    ok(&r, "login against kidplan serve");
    assert!(
        r.stdout.contains("logged in at Solsikken barnehage"),
        "{}",
        r.stdout
    );
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["demo", "--help"],
        vec!["serve", "--help"],
        vec!["login", "--help"],
        vec!["children", "--help"],
        vec!["log", "--help"],
        vec!["messages", "--help"],
        vec!["absence", "--help"],
        vec!["absence", "report", "--help"],
        vec!["absence", "list", "--help"],
        vec!["absence", "withdraw", "--help"],
        vec!["holiday", "--help"],
        vec!["consents", "--help"],
        vec!["sync", "--help"],
        vec!["export", "--help"],
        vec!["telemetry", "--help"],
        vec!["telemetry", "preview", "--help"],
        vec!["logout", "--help"],
    ] {
        let r = run(kidplan().args(&args).output().expect("runs"));
        assert_eq!(r.status, 0, "{args:?}: {}", r.stderr);
        assert!(r.stdout.contains("Usage:"), "{args:?}: {}", r.stdout);
    }
    let r = run(kidplan().arg("--help").output().expect("runs"));
    assert!(
        r.stdout.contains("secrets.json"),
        "documents the secret store"
    );
}
