//! `kidplan-server serve --providers FILE` with a bad file: the server refuses to start with
//! one line naming the setting, never a secret; a good file starts it.

use crate::fakes::keys;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const SECRET: &str = "sk-canary-secret-value-77";

/// Runs `serve --providers FILE`; returns (exit code, stderr).
fn serve(dir: &Path, toml: &str) -> (Option<i32>, String) {
    let file = dir.join("providers.toml");
    std::fs::write(&file, toml).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_kidplan-server"))
        .args(["serve", "--bind", "127.0.0.1:0", "--providers"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .output()
        .expect("run kidplan-server");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_provider_files_stop_the_server_with_one_line_naming_the_setting() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("garbage.p8"),
        format!("-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n"),
    )
    .expect("p8");
    std::fs::write(dir.path().join("rsa.p8"), &keys().rsa_private).expect("rsa");
    std::fs::write(dir.path().join("ec.p8"), &keys().ec_private).expect("ec");
    std::fs::write(
        dir.path().join("sa.json"),
        format!("{{\"type\": \"service_account\", \"private_key\": \"{SECRET}\"}}"),
    )
    .expect("sa");
    std::fs::write(dir.path().join("mg.key"), SECRET).expect("mg");
    let apns = |key: &str| {
        format!(
            "[apns]\nkey_file = \"{key}\"\nkey_id = \"ABC123DEFG\"\nteam_id = \"TEAM123456\"\ntopic = \"no.kidplan.app\"\n"
        )
    };
    let cases = [
        (
            apns("garbage.p8"),
            "apns.key_file: not an EC private key in PEM (.p8)",
        ),
        (
            apns("rsa.p8"),
            "apns.key_file: not an EC private key in PEM (.p8)",
        ),
        (apns("missing.p8"), "apns.key_file: file cannot be read"),
        (
            "[apns]\nkey_file = \"ec.p8\"\n".to_owned(),
            "apns.key_id: missing",
        ),
        (
            "[fcm]\nservice_account_file = \"sa.json\"\n".to_owned(),
            "fcm.service_account_file: not a service-account key",
        ),
        (
            format!(
                "[mailgun]\nfrom = \"k <a@b.no>\"\napi_key_file = \"mg.key\"\napi_key = \"{SECRET}\"\n"
            ),
            "mailgun.domain: missing",
        ),
        (
            format!(
                "[mailgun]\ndomain = \"d.no\"\nfrom = \"f\"\napi_key_file = \"mg.key\"\napi_key = \"{SECRET}\"\n"
            ),
            "mailgun.api_key: unknown setting",
        ),
        (
            "[linkmobility]\nsource = \"Kidplan\"\n".to_owned(),
            "linkmobility.platform_id: missing",
        ),
        (format!("[fcm\nx = \"{SECRET}\""), "not valid TOML (line"),
    ];
    for (toml, expected) in cases {
        let (code, stderr) = serve(dir.path(), &toml);
        assert_eq!(code, Some(2), "{toml}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(lines[0].contains(expected), "{expected:?} in {stderr:?}");
        assert!(
            !stderr.contains(SECRET) && !stderr.contains("BEGIN"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_good_provider_file_starts_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("AuthKey.p8"), &keys().ec_private).expect("p8");
    let toml = "[apns]\nkey_file = \"AuthKey.p8\"\nkey_id = \"ABC123DEFG\"\nteam_id = \"TEAM123456\"\ntopic = \"no.kidplan.app\"\n";
    let file = dir.path().join("providers.toml");
    std::fs::write(&file, toml).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kidplan-server"))
        .args(["serve", "--bind", "127.0.0.1:0", "--providers"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    let mut seen = String::new();
    for _ in 0..10 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        seen.push_str(&line);
        if line.starts_with("kidplan-server listening on http://127.0.0.1:") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.contains("\nkidplan-server listening on http://127.0.0.1:")
            || seen.starts_with("kidplan-server listening"),
        "{seen}"
    );
}
