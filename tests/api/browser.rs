//! End-to-end tests of the web console in a real browser: headless Chromium driven through chromedriver
//! (WebDriver) with `fantoccini`, against the real router served on a real TCP socket on 127.0.0.1.
//!
//! A test is an `async fn(TestApp)` registered through `on_both_databases!`:
//!
//! ```ignore
//! async fn a_scenario(app: TestApp) {
//!     let Some(web) = Web::start(app).await else { return }; // no browser here (never in CI)
//!     web.run(|web| async move {
//!         web.goto("/console/login").await;
//!         web.fill("email", "regulation@example.fr").await;
//!         web.submit_button("Se connecter").await;
//!         web.wait_for_text("Connecté").await;
//!     })
//!     .await;
//! }
//! ```
//!
//! Each test gets its own server, its own chromedriver process and its own browser session. When the scenario
//! fails (panics, returns an `Err`, or runs past [`SCENARIO_TIMEOUT`]), a screenshot and the page's HTML are saved
//! in an artifacts directory whose path is printed, then the failure is raised again. Without `chromedriver` and
//! Chromium on `PATH` the browser tests are skipped with a notice on stderr — except in CI (`CI=true`), where a
//! missing browser fails the run.
//!
//! The artifacts directory is `$TMPDIR/snp-browser-XXXXXX` (chromedriver's log is there too); it is removed when
//! the test passes. The server's clock is the test's `ManualClock`: the login and password pages' budget of
//! `http.public_page_requests_per_minute` requests per client is counted on it, so a long scenario that opens them
//! often advances the clock.

use std::fmt::Debug;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use snp::accounts::{UserRequest, create_user};
use snp::clock::Clock;
use snp::domain::access::Role;
use tokio::task::JoinHandle;

use crate::helpers::TestApp;
use crate::on_both_databases;

on_both_databases!(
    a_regulator_logs_in_through_the_browser,
    a_day_of_the_console_from_the_regulators_call_to_the_patients_cancellation,
);

/// How long [`Web::wait_for_text`] and the other bounded waits poll before failing.
pub const WAIT: Duration = Duration::from_secs(5);
/// A scenario still running after this long fails (with its screenshot) instead of hanging the suite.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(50);
const DRIVER_START: Duration = Duration::from_secs(10);

/// The browsers chromedriver can drive, by the names distributions give them.
const CHROME_NAMES: &[&str] = &["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/// A browser session on a served instance of the application.
pub struct Web {
    /// The WebDriver session (a handle: clones share the session).
    pub client: Client,
    /// Where the server listens, e.g. `http://127.0.0.1:41234` (also its `http.public_url`).
    pub base_url: String,
    /// The application: its store, its manual clock (shared with the served router), its settings.
    pub app: TestApp,
    /// Where screenshots, page sources and chromedriver's log go.
    pub artifacts: PathBuf,
    /// The artifacts' temp directory: removed when the test passes, kept when it fails.
    artifacts_dir: Mutex<Option<tempfile::TempDir>>,
    _driver: Driver,
    server: JoinHandle<()>,
}

impl Web {
    /// Serves the application's real router on 127.0.0.1, starts chromedriver and opens a headless Chromium
    /// session. `None` where chromedriver or Chromium is not installed (never in CI: there it panics).
    pub async fn start(app: TestApp) -> Option<Web> {
        let (chromedriver, chrome) = browser_binaries()?;
        let artifacts_dir = tempfile::Builder::new().prefix("snp-browser-").tempdir().expect("artifacts temp dir");
        let artifacts = artifacts_dir.path().to_path_buf();

        // The real router on a real socket, as `snp serve` runs it (the rate limiter needs the peer's address).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the test server");
        let port = listener.local_addr().expect("server address").port();
        let base_url = format!("http://127.0.0.1:{port}");
        let mut settings = app.settings.clone();
        // Plain http on localhost: the console sets cookies without `Secure` nor the `__Host-` prefix.
        settings.http.public_url = base_url.clone();
        let state = snp::http::AppState::new(app.store.clone(), app.clock.clone(), &settings);
        let router = snp::http::router(state, &settings);
        let server = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(error) = axum::serve(listener, service).await {
                eprintln!("browser test server stopped: {error}");
            }
        });

        let driver = Driver::spawn(&chromedriver, &artifacts.join("chromedriver.log")).await;
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chrome,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    "--lang=fr-FR",
                ],
                // `--lang` sets the UI language; the Accept-Language header comes from this preference.
                "prefs": { "intl.accept_languages": "fr-FR,fr" },
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!() };
        let client = match ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
        {
            Ok(client) => client,
            Err(error) => {
                let log = std::fs::read_to_string(artifacts.join("chromedriver.log")).unwrap_or_default();
                panic!("cannot open a browser session through {} ({chrome}): {error}\n{log}", chromedriver.display());
            }
        };
        let timeouts = TimeoutConfiguration::new(None, Some(Duration::from_secs(30)), Some(Duration::ZERO));
        client.update_timeouts(timeouts).await.expect("set WebDriver timeouts");

        Some(Web {
            client,
            base_url,
            app,
            artifacts,
            artifacts_dir: Mutex::new(Some(artifacts_dir)),
            _driver: driver,
            server,
        })
    }

    /// Runs a scenario; when it fails, saves `failure.png`, `failure.html` and `failure.txt` (the URL and the
    /// message) in [`Web::artifacts`] — kept, and printed — before raising its failure again. The browser session
    /// ends in every case.
    pub async fn run<F, Fut>(self, scenario: F)
    where
        F: FnOnce(Arc<Web>) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: Outcome + Send + 'static,
    {
        let web = Arc::new(self);
        let mut task = tokio::spawn(scenario(web.clone()));
        let failure = match tokio::time::timeout(SCENARIO_TIMEOUT, &mut task).await {
            Ok(Ok(outcome)) => outcome.failure().map(Failure::Message),
            Ok(Err(error)) if error.is_panic() => Some(Failure::Panic(error.into_panic())),
            Ok(Err(error)) => Some(Failure::Message(format!("the scenario did not finish: {error}"))),
            Err(_) => {
                task.abort();
                let _ = task.await;
                Some(Failure::Message(format!("the scenario still ran after {SCENARIO_TIMEOUT:?}")))
            }
        };
        if let Some(failure) = &failure {
            // A browser that hangs must not hang the failure's report too.
            if tokio::time::timeout(Duration::from_secs(30), web.save_failure_artifacts(failure)).await.is_err() {
                eprintln!("browser scenario failed; the browser did not answer: see {}", web.artifacts.display());
            }
        }
        // Ends the session (chromedriver quits the browser); the rest is `Drop`'s.
        let _ = tokio::time::timeout(Duration::from_secs(10), web.client.clone().close()).await;
        drop(web);
        match failure {
            None => {}
            Some(Failure::Panic(payload)) => std::panic::resume_unwind(payload),
            Some(Failure::Message(message)) => panic!("{message}"),
        }
    }

    async fn save_failure_artifacts(&self, failure: &Failure) {
        if let Some(dir) = self.artifacts_dir.lock().unwrap().take() {
            let _ = dir.keep();
        }
        let url = match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(error) => format!("(unknown: {error})"),
        };
        let mut notes = vec![];
        if let Err(error) = self.screenshot("failure").await {
            notes.push(format!("no screenshot: {error}"));
        }
        match self.client.source().await {
            Ok(html) => {
                if let Err(error) = std::fs::write(self.artifacts.join("failure.html"), html) {
                    notes.push(format!("no page source: {error}"));
                }
            }
            Err(error) => notes.push(format!("no page source: {error}")),
        }
        let message = match failure {
            Failure::Message(message) => Some(message.as_str()),
            Failure::Panic(payload) => {
                payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied())
            }
        };
        let _ = std::fs::write(self.artifacts.join("failure.txt"), format!("{url}\n{}\n", message.unwrap_or("")));
        eprintln!(
            "browser scenario failed on {url}: screenshot, page source and chromedriver log in {}{}",
            self.artifacts.display(),
            notes.iter().map(|n| format!("\n  {n}")).collect::<String>()
        );
    }

    /// Saves a PNG of the viewport as `<name>.png` in the artifacts directory and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, String> {
        let png = self.client.screenshot().await.map_err(|e| e.to_string())?;
        let path = self.artifacts.join(format!("{name}.png"));
        std::fs::write(&path, png).map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// The absolute URL of a path of the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Opens a path of the server (e.g. `/console/login`) and waits for it to load.
    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        self.client.goto(&url).await.unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The path of the page shown, e.g. `/console` (without query nor fragment).
    pub async fn current_path(&self) -> String {
        self.client.current_url().await.expect("current url").path().to_string()
    }

    /// The first element a CSS selector matches, or a panic naming the selector.
    pub async fn find(&self, css: &str) -> Element {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no element matches {css:?}: {e}"))
    }

    /// Types `value` into a field, emptied first. `field` is a field's `name` when it is a bare word
    /// (`email`, `new_password`), a CSS selector otherwise (`#email`, `form.search input[type=date]`).
    pub async fn fill(&self, field: &str, value: &str) {
        let bare = !field.is_empty() && field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let css = if bare { format!("[name=\"{field}\"]") } else { field.to_string() };
        let element = self.find(&css).await;
        element.clear().await.unwrap_or_else(|e| panic!("cannot clear {css}: {e}"));
        element.send_keys(value).await.unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
    }

    /// Clicks the element a CSS selector matches.
    #[allow(dead_code)] // for the scenarios to come
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap_or_else(|e| panic!("cannot click {css:?}: {e}"));
    }

    /// The first button (`<button>`, or a submit or button `<input>`) whose visible text is `text`.
    pub async fn button(&self, text: &str) -> Element {
        let text_literal = xpath_literal(text);
        let xpath = format!(
            "//button[normalize-space(.)={text_literal}] \
             | //input[(@type='submit' or @type='button') and normalize-space(@value)={text_literal}]"
        );
        self.client.find(Locator::XPath(&xpath)).await.unwrap_or_else(|e| panic!("no button {text:?}: {e}"))
    }

    /// Clicks the button whose visible text is `text`, without waiting for anything.
    pub async fn click_button(&self, text: &str) {
        self.button(text).await.click().await.unwrap_or_else(|e| panic!("cannot click the button {text:?}: {e}"));
    }

    /// Clicks the button whose visible text is `text` and waits for the page it leads to.
    pub async fn submit_button(&self, text: &str) {
        let button = self.button(text).await;
        let old_page = self.find("html").await;
        button.click().await.unwrap_or_else(|e| panic!("cannot click the button {text:?}: {e}"));
        // The old document's elements go stale once the next page replaced it.
        self.wait_until(&format!("a new page after the button {text:?}"), || async {
            old_page.tag_name().await.is_err()
        })
        .await;
        self.wait_until("the page to load", || async {
            self.client.execute("return document.readyState", vec![]).await.is_ok_and(|state| state == "complete")
        })
        .await;
    }

    /// The rendered text of the page's body (what a user reads, without markup).
    pub async fn text(&self) -> String {
        self.find("body").await.text().await.expect("page text")
    }

    /// The page's HTML source.
    #[allow(dead_code)] // for the scenarios to come
    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// Waits (at most [`WAIT`]) until the page's text contains `text` (spaces, also non-breaking, compared as
    /// one space), and returns the page's text.
    pub async fn wait_for_text(&self, text: &str) -> String {
        let wanted = normalize_spaces(text);
        let deadline = Instant::now() + WAIT;
        loop {
            let page = self.client.find(Locator::Css("body")).await;
            let shown = match page {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if normalize_spaces(&shown).contains(&wanted) {
                return shown;
            }
            if Instant::now() >= deadline {
                let path = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                panic!("{text:?} not shown within {WAIT:?} on {path}; the page reads:\n{shown}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls `condition` until it holds, at most [`WAIT`]; panics naming `what` otherwise.
    pub async fn wait_until<C, Fut>(&self, what: &str, mut condition: C)
    where
        C: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + WAIT;
        while !condition().await {
            if Instant::now() >= deadline {
                panic!("timed out after {WAIT:?} waiting for {what}");
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        self.server.abort();
        // `_driver` is dropped next: it shuts chromedriver (and any browser still open) down.
    }
}

/// What a scenario's end says: `()` (a failure panics) or a `Result` (an `Err` is a failure too).
pub trait Outcome {
    fn failure(self) -> Option<String>;
}

impl Outcome for () {
    fn failure(self) -> Option<String> {
        None
    }
}

impl<E: Debug> Outcome for Result<(), E> {
    fn failure(self) -> Option<String> {
        self.err().map(|error| format!("the scenario returned an error: {error:?}"))
    }
}

enum Failure {
    Panic(Box<dyn std::any::Any + Send + 'static>),
    Message(String),
}

/// One chromedriver process, shut down (with its browsers) when dropped.
struct Driver {
    child: Child,
    port: u16,
    /// chromedriver's and Chromium's `TMPDIR` (profile, singleton socket), removed once they have exited.
    _tmp: tempfile::TempDir,
}

impl Driver {
    async fn spawn(chromedriver: &Path, log: &Path) -> Driver {
        let mut last_error = String::new();
        // A port found free may be taken before chromedriver binds it: then it exits, and another is tried.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port for chromedriver")
                .port();
            let log_file = std::fs::File::create(log).expect("chromedriver log file");
            // Chromium leaves a directory in the temp dir at each exit, even a clean one: give it one to lose.
            let tmp = tempfile::Builder::new().prefix("snp-chromium-").tempdir().expect("browser temp dir");
            let child = Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .env("TMPDIR", tmp.path())
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("log file"))
                .stderr(log_file)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
            let mut driver = Driver { child, port, _tmp: tmp };
            match driver.wait_until_listening().await {
                Ok(()) => return driver,
                Err(error) => last_error = error,
            }
        }
        let log = std::fs::read_to_string(log).unwrap_or_default();
        panic!("chromedriver did not start: {last_error}\n{log}");
    }

    async fn wait_until_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + DRIVER_START;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Err(format!("it exited ({status})"));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("nothing listens on port {} after {DRIVER_START:?}", self.port));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// chromedriver's `/shutdown` quits the browsers it started, then exits; a kill is the last resort.
    fn shutdown(&mut self) {
        if let Ok(mut stream) = TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), POLL * 20) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let request = "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// chromedriver and the browser it drives, from `PATH`; `None` (skip) when missing outside CI.
fn browser_binaries() -> Option<(PathBuf, String)> {
    let chromedriver = on_path("chromedriver");
    let chrome = CHROME_NAMES.iter().find_map(|name| on_path(name));
    match (chromedriver, chrome) {
        (Some(chromedriver), Some(chrome)) => Some((chromedriver, chrome.display().to_string())),
        (chromedriver, _) => {
            let missing = if chromedriver.is_none() { "chromedriver" } else { "Chromium" };
            if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
                panic!(
                    "{missing} is not on PATH: in CI the browser tests may not be skipped \
                     (apt-get install chromium chromium-driver)"
                );
            }
            eprintln!(
                "{missing} is not on PATH: browser test skipped (apt-get install chromium chromium-driver to run it)"
            );
            None
        }
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `text` as an XPath string literal (XPath 1.0 has no escapes: quotes are joined with `concat`).
fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|part| format!("'{part}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// Runs of whitespace (including the non-breaking spaces of French typography) as one space.
fn normalize_spaces(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{202f}')
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

// --- The smoke test -------------------------------------------------------------------------------------------

const EMAIL: &str = "regulation@example.fr";
const PASSWORD: &str = "cheval agrafe pile";

async fn a_regulator_logs_in_through_the_browser(app: TestApp) {
    let Some(web) = Web::start(app).await else { return };
    web.run(|web| async move {
        let request = UserRequest {
            email: EMAIL.into(),
            role: Role::Regulator,
            professional_id: None,
            password: PASSWORD.into(),
        };
        create_user(web.app.store.as_ref(), request, web.app.clock.now()).await.expect("create the console user");

        // Logged out, the console sends to its login page.
        web.goto("/console").await;
        assert_eq!(web.current_path().await, "/console/login");
        web.fill("email", EMAIL).await;
        web.fill("#password", PASSWORD).await;
        web.submit_button("Se connecter").await;
        web.wait_for_text(&format!("Connecté : {EMAIL}")).await;
        assert_eq!(web.current_path().await, "/console");
        // Served as plain http on localhost: the browser keeps the session cookie under its plain name.
        let session = web.client.get_named_cookie("snp_session").await.expect("the session cookie");
        assert!(session.http_only() == Some(true) && session.secure() != Some(true), "{session}");

        // Another browser (no cookies): a wrong password is refused on the login page.
        web.client.delete_all_cookies().await.expect("delete cookies");
        web.goto("/console").await;
        assert_eq!(web.current_path().await, "/console/login");
        web.fill("email", EMAIL).await;
        web.fill("password", "cheval agrafe").await;
        web.click_button("Se connecter").await;
        web.wait_for_text("Adresse email ou mot de passe incorrect").await;
        let page = web.text().await;
        assert!(!page.contains("Connecté"), "{page}");
        assert_eq!(web.current_path().await, "/console/login");
        // The email typed is kept, the password is not.
        assert_eq!(web.find("#email").await.prop("value").await.unwrap().as_deref(), Some(EMAIL));
        assert_eq!(web.find("#password").await.prop("value").await.unwrap().as_deref(), Some(""));
    })
    .await;
}

// --- The console's day, end to end ----------------------------------------------------------------------------

impl Web {
    async fn log_in(&self, email: &str) {
        self.client.delete_all_cookies().await.expect("delete cookies");
        self.goto("/console/login").await;
        self.fill("email", email).await;
        self.fill("password", PASSWORD).await;
        self.submit_button("Se connecter").await;
        self.wait_for_text(&format!("Connecté : {email}")).await;
    }

    async fn choose(&self, select: &str, value: &str) {
        let element = self.find(&format!("select[name=\"{select}\"]")).await;
        element.select_by_value(value).await.unwrap_or_else(|e| panic!("cannot choose {value} in {select}: {e}"));
    }
}

async fn a_day_of_the_console_from_the_regulators_call_to_the_patients_cancellation(app: TestApp) {
    let Some(web) = Web::start(app).await else { return };
    web.run(|web| async move {
        let app = &web.app;
        // A physiotherapist of the bronchiolitis network in Le Havre, free at 10:00 and 11:00 (Paris), and the
        // console users of each role.
        let physio = crate::console_pages::territory(app).await.physio;

        // The regulator: a 7-month-old with bronchiolitis, in the 76.
        web.log_in("regulation@example.fr").await;
        web.goto("/console/regulation").await;
        web.choose("motif", "bronchiolitis").await;
        web.fill("age", "7").await;
        web.choose("age_unit", "months").await;
        web.fill("departement", "76").await;
        web.submit_button("Chercher").await;
        let results = web.wait_for_text("2 créneau(x)").await;
        for expected in ["mardi 24 novembre à 10:00", "Hugo Marchand", "Masseur-kinésithérapeute", "dans 1 h"] {
            assert!(results.contains(expected), "{expected} missing in {results}");
        }
        // "Réserver" on the first card: held, with a countdown that the page's script keeps moving.
        web.submit_button("Réserver").await;
        web.wait_for_text("Créneau bloqué pour vous").await;
        web.wait_until("the countdown to run", || async {
            let shown = web.find("[data-countdown-seconds]").await.text().await.unwrap_or_default();
            shown.contains(" min ") && shown.ends_with(" s")
        })
        .await;
        // An age was given: the form asks for the exact date instead of inventing one.
        web.wait_for_text("âge indiqué : 7 mois").await;
        assert_eq!(web.find("#birth_date").await.prop("value").await.unwrap().as_deref(), Some(""));
        // (A date field's typing order follows the browser's locale; the value is set as a date picker would.)
        web.client
            .execute("document.getElementById('birth_date').value = '2026-04-09'", vec![])
            .await
            .expect("set the birth date");
        web.fill("first_name", "Léo").await;
        web.fill("last_name", "Durand").await;
        web.fill("phone", "06 11 22 33 44").await;
        web.fill("note", "Parent : Julie Durand").await;
        web.submit_button("Confirmer le rendez-vous").await;
        let confirmation = web.wait_for_text("Rendez-vous confirmé.").await;
        for expected in ["Léo Durand", "né(e) le 2026-04-09", "SMS", "en attente d'envoi"] {
            assert!(confirmation.contains(expected), "{expected} missing in {confirmation}");
        }
        let booking_path = web.current_path().await;
        let booking_id = booking_path.rsplit('/').next().unwrap().to_string();
        web.goto("/console/regulation/bookings").await;
        web.wait_for_text("Léo Durand").await;
        web.button("Annuler ce rendez-vous").await;

        // The physiotherapist: the booking in the agenda; "Honoré" once the appointment has begun.
        web.log_in("kine@example.fr").await;
        web.goto("/console/practice").await;
        let agenda = web.wait_for_text("DURAND").await;
        assert!(agenda.contains("Parent : Julie Durand") && agenda.contains("10:00–10:30"), "{agenda}");
        app.clock.advance(chrono::Duration::minutes(70));
        web.goto("/console/practice").await;
        web.submit_button("Honoré").await;
        web.wait_for_text("honoré").await;
        let stored = app.get(&format!("/api/v1/bookings/{booking_id}"), &app.admin_key).await;
        assert_eq!(stored.body["status"], "attended");

        // The coordinator: both actions in the audit log, by login.
        web.log_in("coordination@example.fr").await;
        web.goto(&format!("/console/audit?target_id={booking_id}")).await;
        let log = web.wait_for_text("Journal d'audit").await;
        for expected in
            ["regulation@example.fr (regulator)", "booking.create", "kine@example.fr (professional)", "booking.outcome"]
        {
            assert!(log.contains(expected), "{expected} missing in {log}");
        }

        // A patient booked by another regulation software cancels from the link of their SMS.
        let ovh = crate::fake_ovh::FakeOvh::start().await;
        let second = app.get(&format!("/api/v1/slots?professional_id={physio}&status=free"), &app.admin_key).await;
        let regulator_key = app.key(Role::Regulator, None, &[]).await;
        let booked = app
            .post(
                "/api/v1/bookings",
                &regulator_key,
                json!({"slot_id": second.body["slots"][0]["id"], "motif": "bronchiolitis",
                       "patient": {"first_name": "Inès", "last_name": "Roux", "birth_date": "2025-12-01",
                                   "phone": "+33622334455"}}),
            )
            .await;
        assert_eq!(booked.status, axum::http::StatusCode::CREATED, "{}", booked.text);
        let mut settings = app.settings.clone();
        settings.sms = ovh.settings();
        settings.http.public_url = web.base_url.clone();
        let worker =
            snp::notify::worker::Worker::from_settings(app.store.clone(), app.clock.clone(), &settings).unwrap();
        worker.run_once().await.unwrap();
        let sms = ovh.jobs().last().expect("the patient's SMS")["message"].as_str().unwrap().to_string();
        let link = sms.split("Annuler : ").nth(1).expect("a cancel link").trim().to_string();
        assert!(link.starts_with(&web.base_url), "{link}");
        web.client.delete_all_cookies().await.unwrap();
        web.client.goto(&link).await.unwrap();
        web.wait_for_text("Annulez-le").await;
        web.submit_button("Annuler le rendez-vous").await;
        web.wait_for_text("Le cabinet est prévenu.").await;
        let cancelled =
            app.get(&format!("/api/v1/bookings/{}", booked.body["id"].as_str().unwrap()), &app.admin_key).await;
        assert_eq!(
            (cancelled.body["status"].as_str(), cancelled.body["cancelled_by"].as_str()),
            (Some("cancelled"), Some("patient"))
        );
    })
    .await;
}
