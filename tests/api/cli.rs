//! The `snp` binary: migrate, api-key create, configuration errors, and the demo served for real.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use snp::domain::api_key;
use snp::store;

use crate::helpers::{TestDatabase, fresh_postgres_database, fresh_sqlite_database, test_settings};

fn snp(database_url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_snp"));
    command.args(args).env("SNP__DATABASE__URL", database_url).env("SNP__LOG__FORMAT", "json");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run snp")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).to_string()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).to_string()
}

async fn databases() -> Vec<(String, TestDatabase)> {
    let mut all = vec![fresh_sqlite_database()];
    all.extend(fresh_postgres_database().await);
    all
}

#[tokio::test]
async fn migrate_creates_the_sqlite_folder_and_is_repeatable() {
    for (url, _db) in databases().await {
        for _ in 0..2 {
            let output = snp(&url, &["migrate"], &[]);
            assert!(output.status.success(), "{url}: {}", stderr(&output));
            assert!(stdout(&output).contains("migrations applied"));
        }
        let store = store::connect(&test_settings(&url).database).await.unwrap();
        store.check_ready().await.expect("migrated");
    }
}

#[tokio::test]
async fn api_key_create_prints_a_working_key_on_the_last_line() {
    for (url, _db) in databases().await {
        let output = snp(&url, &["api-key", "create", "--role", "regulator", "--name", "SAS 76"], &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let out = stdout(&output);
        let key = out.lines().last().unwrap();
        assert!(key.starts_with("snp_") && key.len() == 68, "{out}");
        let store = store::connect(&test_settings(&url).database).await.unwrap();
        let stored = store.find_api_key(&api_key::digest(key)).await.unwrap().expect("stored by digest");
        assert_eq!(stored.role.as_str(), "regulator");
        assert_eq!(stored.name, "SAS 76");
        assert_ne!(stored.key_digest, key, "the secret itself is not stored");
        let listed = snp(&url, &["api-key", "list"], &[]);
        assert!(listed.status.success());
        assert!(stdout(&listed).contains(&stored.id) && stdout(&listed).contains("active"));
        assert!(!stdout(&listed).contains(key));
        let revoked = snp(&url, &["api-key", "revoke", &stored.id], &[]);
        assert!(revoked.status.success(), "{}", stderr(&revoked));
        assert!(stdout(&revoked).contains("running servers refuse it within 2 s"), "{}", stdout(&revoked));
        assert!(store.find_api_key(&api_key::digest(key)).await.unwrap().is_none(), "a revoked key is refused");
        assert!(stdout(&snp(&url, &["api-key", "list"], &[])).contains("revoked"));
        let unknown = snp(&url, &["api-key", "revoke", "nope"], &[]);
        assert_eq!(unknown.status.code(), Some(1));
        assert!(stderr(&unknown).contains("no API key"));
    }
}

#[tokio::test]
async fn api_key_create_refuses_bad_input_with_a_message_and_a_non_zero_exit() {
    let (url, _db) = fresh_sqlite_database();
    let cases: &[(&[&str], &str)] = &[
        (&["api-key", "create", "--role", "wizard"], "unknown role"),
        (&["api-key", "create", "--role", "professional"], "--role"),
        (&["api-key", "create", "--role", "professional", "--professional", "nobody"], "--professional"),
        (&["api-key", "create", "--role", "publisher"], "practice"),
        (&["api-key", "create", "--role", "publisher", "--practice", "nowhere"], "--practice"),
        (&["api-key", "create"], "--role"),
        (&["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, expected) in cases {
        let output = snp(&url, args, &[]);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(stderr(&output).contains(expected), "{args:?}: {}", stderr(&output));
        assert!(!stdout(&output).contains("snp_"), "no key printed on failure");
    }
}

#[test]
fn configuration_errors_stop_start_up_naming_the_setting() {
    let (url, _db) = fresh_sqlite_database();
    let dir = tempfile::tempdir().unwrap();
    let unknown_key = dir.path().join("unknown.toml");
    std::fs::write(&unknown_key, "[http]\nbnd = \"127.0.0.1:1\"\n").unwrap();
    let bad_type = dir.path().join("bad.toml");
    std::fs::write(&bad_type, "[slots]\nmin_minutes = \"five\"\n").unwrap();
    let bad_catalogue = dir.path().join("catalogue.toml");
    std::fs::write(&bad_catalogue, "[skills.tracheotomy]\nlabel = \"x\"\nprofessions = [\"surgeon\"]\n").unwrap();
    let missing = dir.path().join("missing.toml");
    let bad_motif = dir.path().join("motif.toml");
    std::fs::write(
        &bad_motif,
        "[motifs.sprain]\nlabel = \"Entorse\"\nprofessions = [\"physio\"]\nskills = [\"ivg\"]\nwithin_hours = 24\n",
    )
    .unwrap();
    let unknown_profession = dir.path().join("motif2.toml");
    std::fs::write(
        &unknown_profession,
        "[motifs.x]\nlabel = \"X\"\nprofessions = [\"osteopath\"]\nwithin_hours = 24\n",
    )
    .unwrap();
    type Case<'a> = (Vec<String>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["migrate".into()], vec![("SNP__HTTP__BIND", "not-an-address")], "http.bind"),
        (vec!["migrate".into()], vec![("SNP__DATABASE__URL", "mysql://db/snp")], "database.url"),
        (vec!["migrate".into()], vec![("SNP__DATABASE__MAX_CONNECTIONS", "many")], "database.max_connections"),
        (vec!["migrate".into()], vec![("SNP__LOG__FORMAT", "xml")], "log.format"),
        (vec!["--config".into(), unknown_key.display().to_string(), "migrate".into()], vec![], "bnd"),
        (vec!["--config".into(), bad_type.display().to_string(), "migrate".into()], vec![], "slots.min_minutes"),
        (vec!["--config".into(), bad_catalogue.display().to_string(), "migrate".into()], vec![], "skills.tracheotomy"),
        (vec!["--config".into(), missing.display().to_string(), "migrate".into()], vec![], "missing.toml"),
        (vec!["--config".into(), bad_motif.display().to_string(), "migrate".into()], vec![], "motifs.sprain.skills"),
        (
            vec!["--config".into(), unknown_profession.display().to_string(), "migrate".into()],
            vec![],
            "motifs.x.professions",
        ),
    ];
    for (args, env, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = snp(&url, &args, &env);
        assert_eq!(output.status.code(), Some(2), "{args:?} {env:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(expected), "{args:?} {env:?}: {}", stderr(&output));
    }
    let unreachable = snp("postgres://snp:secret@127.0.0.1:1/snp", &["migrate"], &[]);
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(stderr(&unreachable).contains("database.url"), "{}", stderr(&unreachable));
    assert!(!stderr(&unreachable).contains("secret"), "the password is never printed");
}

/// A port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_seeds_a_territory_and_answers_with_the_printed_keys() {
    for (url, _db) in databases().await {
        let bind = format!("127.0.0.1:{}", free_port());
        let mut child = Command::new(env!("CARGO_BIN_EXE_snp"))
            .args(["serve", "--demo"])
            .env("SNP__DATABASE__URL", &url)
            .env("SNP__HTTP__BIND", &bind)
            .env("SNP__LOG__FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut keys = std::collections::HashMap::new();
        let mut logins = std::collections::HashMap::new();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [role, email, password] = words[..]
                && email.ends_with("@demo.snp.invalid")
            {
                logins.insert(role.to_string(), (email.to_string(), password.to_string()));
            }
            if let (Some(role), Some(key)) = (words.first(), words.last())
                && key.starts_with("snp_")
                && words.len() > 2
            {
                keys.insert(role.to_string(), key.to_string());
            }
            if line.starts_with("Try:") {
                break;
            }
        }
        for role in ["admin", "coordinator", "regulator", "professional", "publisher"] {
            assert!(keys.contains_key(role), "a {role} key is printed: {keys:?}");
        }
        // One console login per role a person uses; each works.
        assert_eq!(logins.len(), 4, "{logins:?}");
        let store = store::connect(&test_settings(&url).database).await.unwrap();
        for role in ["admin", "coordinator", "regulator", "professional"] {
            let (email, password) = &logins[role];
            let user = store.find_user_by_email(email).await.unwrap().expect("a demo user");
            assert_eq!(user.role.as_str(), role);
            assert!(snp::accounts::verify_password(password, &user.password_hash).await, "{role}");
        }
        let client = HttpClient { base: format!("http://{bind}") };
        let ready = client.wait_until_ready().await;
        assert!(ready, "the demo server answers /readyz");
        let regulator = &keys["regulator"];
        let practices = client.get_json("/api/v1/practices?limit=1000", regulator).await;
        let practices = practices["practices"].as_array().unwrap();
        assert!(practices.len() >= 10, "{}", practices.len());
        let departements: std::collections::BTreeSet<&str> =
            practices.iter().map(|p| p["departement"].as_str().unwrap()).collect();
        assert_eq!(departements, ["10", "21", "76"].into_iter().collect());
        let professionals = client.get_json("/api/v1/professionals?limit=1000", regulator).await;
        let professionals = professionals["professionals"].as_array().unwrap();
        assert!(professionals.len() >= 30);
        for profession in ["gp", "midwife", "physio", "nurse", "dentist", "pharmacist"] {
            assert!(professionals.iter().any(|p| p["profession"] == profession), "{profession}");
        }
        let bronchiolitis =
            |p: &serde_json::Value| p["skills"].as_array().unwrap().iter().any(|s| s == "bronchiolitis");
        assert!(professionals.iter().any(|p| p["profession"] == "physio" && bronchiolitis(p)));
        assert!(professionals.iter().any(|p| p["profession"] == "physio" && !bronchiolitis(p)));
        let slots = client.get_json("/api/v1/slots?status=free&limit=1000", regulator).await;
        let slots = slots["slots"].as_array().unwrap();
        assert!(slots.len() >= 300, "{}", slots.len());
        let local_hour = |s: &serde_json::Value| s["start_local"].as_str().unwrap()[11..13].parse::<u32>().unwrap();
        assert!(slots.iter().any(|s| local_hour(s) >= 18), "evening slots");
        let weekend = slots.iter().any(|s| {
            let day = chrono::DateTime::parse_from_rfc3339(s["start_local"].as_str().unwrap()).unwrap();
            matches!(chrono::Datelike::weekday(&day), chrono::Weekday::Sat | chrono::Weekday::Sun)
        });
        assert!(weekend, "weekend slots");
        // Recurring rules were created and materialised (GP lunchtimes exist whatever the date).
        let rules = client.get_json("/api/v1/availability-rules?limit=1000", &keys["admin"]).await;
        assert_eq!(rules["rules"].as_array().unwrap().len(), 11);
        let rule_slots = client.get_json("/api/v1/slots?status=free&limit=1000&offset=0", &keys["admin"]).await;
        assert!(rule_slots["slots"].as_array().unwrap().iter().any(|s| !s["rule_id"].is_null()), "rule slots exist");
        child.kill().ok();
        child.wait().ok();
        // A second start on the same database seeds nothing more.
        let output = Command::new(env!("CARGO_BIN_EXE_snp"))
            .args(["serve", "--demo"])
            .env("SNP__DATABASE__URL", &url)
            .env("SNP__HTTP__BIND", "256.0.0.1:1")
            .output()
            .unwrap();
        assert!(!output.status.success());
        assert!(stderr(&output).contains("http.bind"), "{}", stderr(&output));
    }
}

/// The smallest HTTP/1.1 client that will do, over a plain TCP stream (no client crate needed).
pub struct HttpClient {
    pub base: String,
}

impl HttpClient {
    pub async fn wait_until_ready(&self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok((200, _)) = self.get("/readyz", None).await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    async fn get_json(&self, path: &str, key: &str) -> serde_json::Value {
        let (status, body) = self.get(path, Some(key)).await.expect("request");
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn get(&self, path: &str, key: Option<&str>) -> std::io::Result<(u16, String)> {
        self.request("GET", path, key, None).await
    }

    pub async fn post_json(&self, path: &str, key: &str, body: &serde_json::Value) -> std::io::Result<(u16, String)> {
        self.request("POST", path, Some(key), Some(body.to_string())).await
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<String>,
    ) -> std::io::Result<(u16, String)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(host).await?;
        let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
        let body = body.unwrap_or_default();
        let content = if body.is_empty() {
            String::new()
        } else {
            format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len())
        };
        let request =
            format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}{content}Connection: close\r\n\r\n{body}");
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        let response = String::from_utf8_lossy(&response).to_string();
        let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        Ok((status, body))
    }
}

#[tokio::test]
async fn purge_says_how_many_bookings_it_erased_and_refuses_a_bad_retention() {
    for (url, _db) in databases().await {
        let output = snp(&url, &["purge"], &[]);
        assert!(output.status.success(), "{url}: {}", stderr(&output));
        assert!(stdout(&output).contains("0 booking(s) erased: patient data of slots ended more than 90 days ago"));
        let store = store::connect(&test_settings(&url).database).await.unwrap();
        let runs = store
            .list_audit(&snp::domain::audit::AuditFilter {
                action: Some("retention.erase".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(runs.len(), 1, "the run is in the audit trail");
        assert_eq!(runs[0].detail.as_deref(), Some("0 bookings, slots ended more than 90 days ago"));
        let refused = snp(&url, &["purge"], &[("SNP__RETENTION__PATIENT_DATA_DAYS", "0")]);
        assert_eq!(refused.status.code(), Some(2));
        assert!(
            stderr(&refused).contains("retention.patient_data_days must be between 1 and 3650"),
            "{}",
            stderr(&refused)
        );
    }
}

#[tokio::test]
async fn user_create_prints_a_generated_password_once_or_reads_one_and_refuses_bad_input() {
    for (url, _db) in databases().await {
        let output = snp(&url, &["user", "create", "--role", "regulator", "--email", "Regul@Example.fr"], &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        let out = stdout(&output);
        let password = out.lines().last().unwrap().to_string();
        assert_eq!(password.len(), 20, "{out}");
        assert!(out.contains("(regul@example.fr, regulator)"), "{out}");
        let store = store::connect(&test_settings(&url).database).await.unwrap();
        let user = store.find_user_by_email("regul@example.fr").await.unwrap().expect("created");
        assert!(user.password_hash.starts_with("$argon2id$"), "{}", user.password_hash);
        assert!(snp::accounts::verify_password(&password, &user.password_hash).await);
        let trail = store
            .list_audit(&snp::domain::audit::AuditFilter {
                target_id: Some(user.id.clone()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            trail.iter().map(|e| (e.action.as_str(), e.actor_kind.as_str())).collect::<Vec<_>>(),
            [("user.create", "system")]
        );
        // Its principal (the row its holds and bookings name) is no API key: not listed, not revocable.
        let keys = snp(&url, &["api-key", "list"], &[]);
        assert!(!stdout(&keys).contains(&user.id), "{}", stdout(&keys));
        assert_eq!(snp(&url, &["api-key", "revoke", &user.id], &[]).status.code(), Some(1));

        // From stdin, nothing printed but the account.
        let mut child = Command::new(env!("CARGO_BIN_EXE_snp"))
            .args(["user", "create", "--role", "admin", "--email", "admin@example.fr", "--password-stdin"])
            .env("SNP__DATABASE__URL", &url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"une phrase de passe longue\n").unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(!stdout(&output).contains("une phrase"));
        let admin = store.find_user_by_email("admin@example.fr").await.unwrap().unwrap();
        assert!(snp::accounts::verify_password("une phrase de passe longue", &admin.password_hash).await);

        // Refusals, each naming what to fix, and nothing created.
        for (args, message) in [
            (vec!["--role", "regulator", "--email", "regul@example.fr"], "already exists"),
            (vec!["--role", "publisher", "--email", "p@example.fr"], "--role: publisher is a role for agenda software"),
            (
                vec!["--role", "professional", "--email", "p@example.fr"],
                "--role: a professional user acts for one professional",
            ),
            (
                vec!["--role", "professional", "--email", "p@example.fr", "--professional", "nope"],
                "--professional: no professional",
            ),
            (vec!["--role", "regulator", "--email", "not-an-email"], "--email"),
        ] {
            let mut full = vec!["user", "create"];
            full.extend(args);
            let refused = snp(&url, &full, &[]);
            assert_eq!(refused.status.code(), Some(1), "{full:?}");
            assert!(stderr(&refused).contains(message), "{full:?}: {}", stderr(&refused));
        }
        assert!(store.find_user_by_email("p@example.fr").await.unwrap().is_none());
    }
}
