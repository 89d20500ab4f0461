//! A small HTTP/1.1 server on 127.0.0.1 for tests. It is written on raw sockets rather than
//! with `tiny_http` because the tests need connection-level facts that a server library hides:
//! how many TCP connections are open at once, whether the client closed one before the body was
//! sent, and holding a response (or the middle of a body) until the test opens a gate.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A gate the server waits at until the test opens it.
#[derive(Clone, Default)]
pub struct Gate {
    inner: Arc<(Mutex<(bool, usize)>, Condvar)>,
}

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Lets everything waiting (now or later) through.
    pub fn open(&self) {
        let (lock, cv) = &*self.inner;
        lock.lock().unwrap().0 = true;
        cv.notify_all();
    }

    /// Server side: record an arrival and wait for the gate to open.
    pub fn pass(&self) {
        let (lock, cv) = &*self.inner;
        let mut state = lock.lock().unwrap();
        state.1 += 1;
        cv.notify_all();
        while !state.0 {
            state = cv.wait(state).unwrap();
        }
    }

    /// How many times the server has arrived at this gate.
    pub fn arrivals(&self) -> usize {
        self.inner.0.lock().unwrap().1
    }

    /// Waits until the server has arrived `n` times (fails the test after 20 s).
    pub fn wait_arrivals(&self, n: usize) {
        let (lock, cv) = &*self.inner;
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut state = lock.lock().unwrap();
        while state.1 < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "gate: timed out waiting for {n} arrivals");
            state = cv.wait_timeout(state, left).unwrap().0;
        }
    }
}

/// What the server sends for a path.
#[derive(Clone)]
pub struct Route {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// Wait here before sending anything.
    pub hold: Option<Gate>,
    /// Send this many body bytes, then wait at the gate before the rest.
    pub stall: Option<(usize, Gate)>,
    /// Send the body in pieces of this size, flushing each.
    pub piece: Option<usize>,
    /// Wait this long before each piece (a slow or dripping server).
    pub pace: Option<Duration>,
}

#[derive(Clone)]
pub enum Body {
    Bytes(Arc<Vec<u8>>),
    /// Chunked transfer encoding that never ends.
    Endless,
}

impl Route {
    pub fn ok(bytes: Vec<u8>) -> Route {
        Route {
            status: 200,
            headers: Vec::new(),
            body: Body::Bytes(Arc::new(bytes)),
            hold: None,
            stall: None,
            piece: None,
            pace: None,
        }
    }

    pub fn status(status: u16) -> Route {
        Route {
            status,
            ..Route::ok(format!("status {status}").into_bytes())
        }
    }

    /// `304 Not Modified`, with no body.
    pub fn not_modified() -> Route {
        Route::ok(Vec::new()).with_status(304)
    }

    pub fn with_status(mut self, status: u16) -> Route {
        self.status = status;
        self
    }

    pub fn redirect(to: &str) -> Route {
        Route::status(302).header("Location", to)
    }

    pub fn endless() -> Route {
        Route {
            body: Body::Endless,
            ..Route::ok(Vec::new())
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Route {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn hold(mut self, gate: &Gate) -> Route {
        self.hold = Some(gate.clone());
        self
    }

    pub fn stall_after(mut self, bytes: usize, gate: &Gate) -> Route {
        self.stall = Some((bytes, gate.clone()));
        self
    }

    pub fn in_pieces(mut self, size: usize) -> Route {
        self.piece = Some(size);
        self
    }

    /// Waits `every` before each piece of the body (see [`in_pieces`](Self::in_pieces)).
    pub fn paced(mut self, every: Duration) -> Route {
        self.pace = Some(every);
        self
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub connection: usize,
}

impl Logged {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Handler = Arc<dyn Fn(&Logged) -> Route + Send + Sync>;

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, Handler>>,
    log: Mutex<Vec<Logged>>,
    connections: AtomicUsize,
    open: AtomicUsize,
    max_open: AtomicUsize,
    active: AtomicUsize,
    max_active: AtomicUsize,
    aborted: Mutex<Vec<String>>,
    completed: Mutex<Vec<String>>,
    stopping: AtomicBool,
    discard_bodies: AtomicBool,
}

/// The server. Dropping it stops accepting connections.
pub struct Server {
    addr: SocketAddr,
    state: Arc<State>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let accept_state = state.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_state.stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = accept_state.clone();
                let id = state.connections.fetch_add(1, Ordering::SeqCst);
                let open = state.open.fetch_add(1, Ordering::SeqCst) + 1;
                state.max_open.fetch_max(open, Ordering::SeqCst);
                thread::spawn(move || {
                    serve(&state, stream, id);
                    state.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Server { addr, state }
    }

    /// `http://127.0.0.1:port<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn route(&self, path: &str, route: Route) {
        self.route_fn(path, move |_| route.clone());
    }

    pub fn route_fn(&self, path: &str, f: impl Fn(&Logged) -> Route + Send + Sync + 'static) {
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), Arc::new(f));
    }

    /// Stop keeping request bodies in the log (for tests that upload a lot).
    pub fn discard_bodies(&self) {
        self.state.discard_bodies.store(true, Ordering::SeqCst);
    }

    /// Requests received for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.requests().iter().filter(|r| r.path == path).count()
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.state.log.lock().unwrap().clone()
    }

    /// Paths in the order their requests arrived.
    pub fn order(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// TCP connections open now (each one's thread ends as it closes).
    pub fn open_connections(&self) -> usize {
        self.state.open.load(Ordering::SeqCst)
    }

    /// Most TCP connections open at the same time.
    pub fn max_open(&self) -> usize {
        self.state.max_open.load(Ordering::SeqCst)
    }

    /// Most requests being answered at the same time.
    pub fn max_active(&self) -> usize {
        self.state.max_active.load(Ordering::SeqCst)
    }

    /// Paths whose response could not be written to the end because the client went away.
    pub fn aborted(&self) -> Vec<String> {
        self.state.aborted.lock().unwrap().clone()
    }

    /// Paths whose response was written to the end.
    pub fn completed(&self) -> Vec<String> {
        self.state.completed.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(state: &State, stream: TcpStream, connection: usize) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let discard = state.discard_bodies.load(Ordering::SeqCst);
        let Some(request) = read_request(&mut reader, connection, discard) else {
            return;
        };
        state.log.lock().unwrap().push(request.clone());
        let handler = state.routes.lock().unwrap().get(&request.path).cloned();
        let route = match handler {
            Some(h) => h(&request),
            None => Route::status(404),
        };
        let active = state.active.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_active.fetch_max(active, Ordering::SeqCst);
        let ok = respond(&mut writer, &route, request.method == "HEAD");
        state.active.fetch_sub(1, Ordering::SeqCst);
        let list = if ok { &state.completed } else { &state.aborted };
        list.lock().unwrap().push(request.path.clone());
        let close = request
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if !ok || close {
            let _ = writer.shutdown(Shutdown::Both);
            return;
        }
    }
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    connection: usize,
    discard: bool,
) -> Option<Logged> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let mut request = Logged {
        method,
        path,
        headers,
        body: Vec::new(),
        connection,
    };
    if let Some(len) = request.header("content-length") {
        let len: usize = len.parse().ok()?;
        if discard {
            // Drain in small pieces: a test measuring the client's memory must not see ours.
            let mut left = len;
            let mut piece = [0u8; 16 * 1024];
            while left > 0 {
                let want = left.min(piece.len());
                reader.read_exact(&mut piece[..want]).ok()?;
                left -= want;
            }
        } else {
            let mut body = vec![0; len];
            reader.read_exact(&mut body).ok()?;
            request.body = body;
        }
    } else if request
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        request.body = read_chunked(reader)?;
    }
    Some(request)
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

/// Writes the response; `false` if the client went away first.
fn respond(w: &mut TcpStream, route: &Route, head_only: bool) -> bool {
    if let Some(gate) = &route.hold {
        gate.pass();
    }
    let mut head = format!("HTTP/1.1 {} X\r\n", route.status);
    for (k, v) in &route.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let bodiless = route.status == 304 || route.status == 204;
    match &route.body {
        _ if bodiless => head.push_str("\r\n"),
        Body::Bytes(b) => head.push_str(&format!("Content-Length: {}\r\n\r\n", b.len())),
        Body::Endless => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
    }
    if w.write_all(head.as_bytes()).is_err() {
        return false;
    }
    if head_only || bodiless {
        return w.flush().is_ok();
    }
    match &route.body {
        Body::Bytes(bytes) => {
            let mut sent = 0;
            if let Some((n, gate)) = &route.stall {
                let n = (*n).min(bytes.len());
                if w.write_all(&bytes[..n]).and_then(|_| w.flush()).is_err() {
                    return false;
                }
                sent = n;
                gate.pass();
            }
            let piece = route.piece.unwrap_or(usize::MAX).max(1);
            for part in bytes[sent..].chunks(piece) {
                if let Some(pace) = route.pace {
                    thread::sleep(pace);
                }
                if w.write_all(part).and_then(|_| w.flush()).is_err() {
                    return false;
                }
            }
            // A client that went away while we wrote shows up as an error on a later write;
            // a final probe after the whole body catches a close during the last piece.
            w.flush().is_ok()
        }
        Body::Endless => {
            let chunk = vec![b'x'; 64 * 1024];
            let frame = format!("{:x}\r\n", chunk.len());
            loop {
                let ok = w
                    .write_all(frame.as_bytes())
                    .and_then(|_| w.write_all(&chunk))
                    .and_then(|_| w.write_all(b"\r\n"));
                if ok.is_err() {
                    return false;
                }
            }
        }
    }
}
