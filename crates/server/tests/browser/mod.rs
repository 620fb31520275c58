//! A small Chrome DevTools Protocol client for the browser tests: launches Debian's headless
//! chromium, drives pages over one WebSocket (flattened sessions) and kills the browser on drop.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod png;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Debian's chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Upper bound of every wait on the browser.
pub const WAIT: Duration = Duration::from_secs(20);

/// Polling step of [`Page::wait_for`].
const STEP: Duration = Duration::from_millis(100);

/// Browsers run one at a time: the machine is small and the tests share it with builds.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

type Sink = SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>;
type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A headless chromium with its DevTools connection; killed on drop.
pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
    sink: tokio::sync::Mutex<Sink>,
    pending: Pending,
    next_id: AtomicU64,
    /// Console messages and exceptions, printed when a wait times out.
    log: Arc<Mutex<Vec<String>>>,
    reader: tokio::task::JoinHandle<()>,
}

/// Launches chromium with the test flags and `extra` ones; `None` (after saying so) when
/// chromium is not installed, unless `PW_BROWSER_TESTS=required`, which makes that a failure.
pub async fn launch(test: &str, extra: &[&str]) -> Option<Browser> {
    if !std::path::Path::new(CHROMIUM).exists() {
        let required = std::env::var("PW_BROWSER_TESTS").is_ok_and(|v| v == "required");
        assert!(
            !required,
            "{test}: {CHROMIUM} is missing and PW_BROWSER_TESTS=required"
        );
        println!("{test}: skipped: chromium not installed ({CHROMIUM})");
        return None;
    }
    let turn = ONE_AT_A_TIME.lock().await;
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let (url_tx, url_rx) = oneshot::channel();
    // Reads stderr to the end so chromium never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut url_tx = Some(url_tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                if let Some(tx) = url_tx.take() {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        }
    });
    let ws_url = match tokio::time::timeout(WAIT, url_rx).await {
        Ok(Ok(url)) => url,
        _ => {
            let _ = child.kill();
            panic!("{test}: chromium printed no DevTools URL within {WAIT:?}");
        }
    };
    let (socket, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(&ws_url))
        .await
        .expect("DevTools connect in time")
        .expect("DevTools WebSocket");
    let (sink, mut stream) = socket.split();
    let pending: Pending = Arc::default();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let reader = {
        let pending = Arc::clone(&pending);
        let log = Arc::clone(&log);
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                if let Some(id) = value["id"].as_u64() {
                    if let Some(tx) = pending.lock().unwrap().remove(&id) {
                        let _ = tx.send(value);
                    }
                } else if let Some(line) = describe_event(&value) {
                    let mut log = log.lock().unwrap();
                    if log.len() < 200 {
                        log.push(line);
                    }
                }
            }
        })
    };
    Some(Browser {
        child,
        _profile: profile,
        _turn: turn,
        sink: tokio::sync::Mutex::new(sink),
        pending,
        next_id: AtomicU64::new(1),
        log,
        reader,
    })
}

/// A console message or exception, as one line.
fn describe_event(event: &Value) -> Option<String> {
    match event["method"].as_str()? {
        "Runtime.consoleAPICalled" => Some(format!(
            "console.{}: {}",
            event["params"]["type"].as_str().unwrap_or("?"),
            event["params"]["args"]
        )),
        "Runtime.exceptionThrown" => Some(format!(
            "exception: {}",
            event["params"]["exceptionDetails"]
        )),
        _ => None,
    }
}

impl Browser {
    /// Sends one command (to a page session when `session` is set) and waits for its result.
    pub async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        self.sink
            .lock()
            .await
            .send(Message::text(command.to_string()))
            .await
            .expect("DevTools send");
        let answer = tokio::time::timeout(WAIT, rx)
            .await
            .unwrap_or_else(|_| panic!("{method}: no answer within {WAIT:?}"))
            .expect("DevTools answer");
        assert!(answer["error"].is_null(), "{method}: {}", answer["error"]);
        answer["result"].clone()
    }

    /// A new tab of `width`×`height` CSS pixels.
    pub async fn page(&self, width: u32, height: u32) -> Page<'_> {
        let target = self
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        let session = attached["sessionId"]
            .as_str()
            .expect("session id")
            .to_owned();
        let page = Page {
            browser: self,
            session,
        };
        page.call("Page.enable", json!({})).await;
        page.call("Runtime.enable", json!({})).await;
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
        page
    }

    /// What the pages logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.reader.abort();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One tab, driven through its flattened session.
pub struct Page<'a> {
    browser: &'a Browser,
    session: String,
}

impl Page<'_> {
    /// A command for this tab.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.browser.call(Some(&self.session), method, params).await
    }

    /// Navigates and waits until the document has loaded.
    pub async fn goto(&self, url: &str) {
        let answer = self.call("Page.navigate", json!({"url": url})).await;
        assert!(
            answer["errorText"].is_null(),
            "{url}: {}",
            answer["errorText"]
        );
        self.wait_for(
            &format!("{url} loaded"),
            "document.readyState === 'complete' && location.href !== 'about:blank' || null",
        )
        .await;
    }

    /// The value of `expression` (promises awaited), in the page or in `context`.
    pub async fn eval_in(&self, context: Option<i64>, expression: &str) -> Value {
        let mut params =
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true});
        if let Some(context) = context {
            params["contextId"] = json!(context);
        }
        let answer = self.call("Runtime.evaluate", params).await;
        assert!(
            answer["exceptionDetails"].is_null(),
            "{expression}: {}",
            answer["exceptionDetails"]
        );
        answer["result"]["value"].clone()
    }

    /// The value of `expression` in the page.
    pub async fn eval(&self, expression: &str) -> Value {
        self.eval_in(None, expression).await
    }

    /// Polls `expression` every 100 ms until it is neither `null`, `undefined` nor `false`;
    /// fails after [`WAIT`] with the page's console log.
    pub async fn wait_for_in(&self, context: Option<i64>, what: &str, expression: &str) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let value = self.eval_in(context, expression).await;
            if !value.is_null() && value != json!(false) {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after {WAIT:?} waiting for {what}; page log: {:#?}",
                self.browser.log()
            );
            tokio::time::sleep(STEP).await;
        }
    }

    /// [`Page::wait_for_in`] in the page's own context.
    pub async fn wait_for(&self, what: &str, expression: &str) -> Value {
        self.wait_for_in(None, what, expression).await
    }

    /// An execution context inside the first child frame whose URL starts with `prefix`
    /// (an isolated world: same DOM, own globals).
    pub async fn frame_context(&self, prefix: &str) -> i64 {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let tree = self.call("Page.getFrameTree", json!({})).await;
            let children = tree["frameTree"]["childFrames"].as_array().cloned();
            let frame = children.unwrap_or_default().into_iter().find(|child| {
                child["frame"]["url"]
                    .as_str()
                    .is_some_and(|url| url.starts_with(prefix))
            });
            if let Some(frame) = frame {
                let world = self
                    .call(
                        "Page.createIsolatedWorld",
                        json!({"frameId": frame["frame"]["id"], "worldName": "powerflow-test"}),
                    )
                    .await;
                return world["executionContextId"].as_i64().expect("context id");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no child frame at {prefix} within {WAIT:?}: {tree}"
            );
            tokio::time::sleep(STEP).await;
        }
    }

    /// A PNG of the viewport, also saved as `target/browser-artifacts/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> Vec<u8> {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot base64");
        let dir = artifacts_dir();
        std::fs::create_dir_all(&dir).expect("artifacts dir");
        std::fs::write(dir.join(format!("{name}.png")), &png).expect("screenshot saved");
        png
    }
}

/// `$CARGO_TARGET_DIR/browser-artifacts`, else the workspace's `target/browser-artifacts`.
pub fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("browser-artifacts")
}
