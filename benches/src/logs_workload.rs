//! A deterministic Kubernetes pod-log generator for the log-store benchmarks.
//!
//! A cluster of about `--streams` container streams (labels `namespace`, `app`, `pod`,
//! `container`) spread over a few nodes writes, in global timestamp order, the kinds of lines
//! a real cluster produces: JSON and logfmt application logs, ingress-nginx access logs,
//! Spring-style Java logs with multi-line stack traces (one entry per exception, as a
//! multiline stage ships them), and Envoy (`istio-proxy`) sidecar access logs, with trace ids,
//! span ids, request UUIDs, user and order ids. Stream rates are skewed (a few chatty
//! streams, many quiet ones). Everything derives from the seed, so two runs (and a run
//! against Loki) send identical bytes; timestamps spread the data evenly over `span`.

use std::fmt::Write as _;

/// splitmix64: tiny, fast and good enough for synthetic data.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `n` lowercase hex digits.
    pub(crate) fn hex(&mut self, out: &mut String, n: usize) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut left = n;
        while left > 0 {
            let mut v = self.next_u64();
            for _ in 0..left.min(16) {
                out.push(HEX[(v & 15) as usize] as char);
                v >>= 4;
            }
            left = left.saturating_sub(16);
        }
    }

    /// A version-4 UUID.
    pub(crate) fn uuid(&mut self, out: &mut String) {
        self.hex(out, 8);
        out.push('-');
        self.hex(out, 4);
        out.push_str("-4");
        self.hex(out, 3);
        out.push('-');
        out.push(*self.pick(&['8', '9', 'a', 'b']));
        self.hex(out, 3);
        out.push('-');
        self.hex(out, 12);
    }

    /// A pod-name suffix (`7d9f8b6c5`, `x2k9p`).
    fn alnum(&mut self, out: &mut String, n: usize) {
        const A: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        for _ in 0..n {
            out.push(A[self.below(A.len() as u64) as usize] as char);
        }
    }
}

/// The line format a container writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Structured JSON (zap/logrus style).
    Json,
    /// logfmt (Go kit / slog style).
    Logfmt,
    /// ingress-nginx controller access log.
    Nginx,
    /// Spring Boot console log, exceptions with stack traces.
    Java,
    /// Envoy sidecar (`istio-proxy`) access log.
    Envoy,
}

/// One container stream of the cluster.
#[derive(Debug, Clone)]
pub(crate) struct StreamSpec {
    /// Labels in Promtail's rendering: `{app="x", container="y", namespace="z", pod="p"}`.
    pub(crate) labels: String,
    pub(crate) namespace: String,
    pub(crate) app: String,
    pub(crate) format: Format,
    /// Node index: the Promtail instance that ships this stream.
    pub(crate) node: usize,
    weight: f64,
    /// Upstream service names this app calls (for access logs).
    peer: String,
}

/// The cluster: its streams and which apps write JSON.
#[derive(Debug, Clone)]
pub(crate) struct Topology {
    pub(crate) streams: Vec<StreamSpec>,
    pub(crate) json_apps: Vec<String>,
    cumulative: Vec<f64>,
}

const NAMESPACES: &[&str] = &[
    "shop",
    "checkout",
    "payments",
    "search",
    "catalog",
    "identity",
    "notifications",
    "analytics",
    "billing",
    "shipping",
    "inventory",
    "recommendations",
    "media",
    "reporting",
    "support",
    "partners",
    "loyalty",
    "pricing",
    "fraud",
    "messaging",
    "data-pipeline",
    "platform",
    "observability",
    "ml-serving",
];

const APP_WORDS: &[&str] = &[
    "api",
    "worker",
    "gateway",
    "frontend",
    "scheduler",
    "consumer",
    "indexer",
    "sync",
    "router",
    "backend",
    "processor",
    "exporter",
    "writer",
    "reader",
    "cron",
    "webhook",
];

const CONTAINER_NAMES: &[&str] = &["app", "server", "main", "api"];

/// Builds the cluster for `seed` with about `n_streams` streams over `nodes` nodes.
pub(crate) fn topology(seed: u64, n_streams: usize, nodes: usize) -> Topology {
    let mut rng = Rng::new(seed ^ 0x5eed);
    let nodes = nodes.max(1);
    let mut streams: Vec<StreamSpec> = Vec::new();
    let mut json_apps = Vec::new();
    let push = |streams: &mut Vec<StreamSpec>,
                rng: &mut Rng,
                ns: &str,
                app: &str,
                pod: &str,
                container: &str,
                format: Format,
                weight: f64,
                peer: &str| {
        streams.push(StreamSpec {
            labels: format!(
                "{{app=\"{app}\", container=\"{container}\", namespace=\"{ns}\", pod=\"{pod}\"}}"
            ),
            namespace: ns.to_owned(),
            app: app.to_owned(),
            format,
            node: rng.below(nodes as u64) as usize,
            weight,
            peer: peer.to_owned(),
        });
    };
    // The ingress controllers: few pods, the chattiest streams.
    for _ in 0..3 {
        let mut pod = String::from("ingress-nginx-controller-");
        rng.alnum(&mut pod, 9);
        pod.push('-');
        rng.alnum(&mut pod, 5);
        push(
            &mut streams,
            &mut rng,
            "ingress-nginx",
            "ingress-nginx",
            &pod,
            "controller",
            Format::Nginx,
            40.0,
            "shop-frontend",
        );
    }
    let mut round = 0usize;
    'outer: loop {
        for (nsi, ns) in NAMESPACES.iter().enumerate() {
            let meshed = nsi % 2 == 0;
            let n_apps = 2 + rng.below(4) as usize;
            for _ in 0..n_apps {
                let word = rng.pick(APP_WORDS);
                let app = if round == 0 {
                    format!("{ns}-{word}")
                } else {
                    format!("{ns}-{word}-v{}", round + 1)
                };
                if streams.iter().any(|s| s.app == app) {
                    continue;
                }
                let format = match rng.below(10) {
                    0..=3 => Format::Json,
                    4..=6 => Format::Logfmt,
                    _ => Format::Java,
                };
                if format == Format::Json {
                    json_apps.push(app.clone());
                }
                // Skewed rates: a log-normal-ish weight per app, shared by its replicas.
                let weight = (rng.unit() * 4.0 - 1.5).exp();
                let replicas = 2 + rng.below(8) as usize;
                let mut rs = String::new();
                rng.alnum(&mut rs, 9);
                let container = *rng.pick(CONTAINER_NAMES);
                let peer = format!("{}-{}", rng.pick(NAMESPACES), rng.pick(APP_WORDS));
                for _ in 0..replicas {
                    let mut pod = format!("{app}-{rs}-");
                    rng.alnum(&mut pod, 5);
                    push(
                        &mut streams,
                        &mut rng,
                        ns,
                        &app,
                        &pod,
                        container,
                        format,
                        weight,
                        &peer,
                    );
                    if meshed {
                        push(
                            &mut streams,
                            &mut rng,
                            ns,
                            &app,
                            &pod,
                            "istio-proxy",
                            Format::Envoy,
                            weight * 0.6,
                            &peer,
                        );
                    }
                    if streams.len() >= n_streams {
                        break 'outer;
                    }
                }
            }
        }
        round += 1;
    }
    streams.truncate(n_streams);
    let mut acc = 0.0;
    let cumulative = streams
        .iter()
        .map(|s| {
            acc += s.weight;
            acc
        })
        .collect();
    Topology {
        streams,
        json_apps,
        cumulative,
    }
}

impl Topology {
    fn pick_stream(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.unit() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.streams.len() - 1)
    }
}

/// The request id planted in exactly one line, in the middle of the data: what the rare
/// line-filter query looks for.
pub(crate) fn needle(seed: u64) -> String {
    let mut rng = Rng::new(seed ^ 0x00ee_d1e0);
    let mut s = String::new();
    rng.uuid(&mut s);
    s
}

/// Calendar fields of a Unix second (UTC).
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Time renderings of the current second, recomputed only when the second changes.
#[derive(Debug, Default)]
struct Clock {
    sec: i64,
    /// `2026-11-25T15:30:00`
    iso: String,
    /// `2026-11-25 15:30:00`
    spaced: String,
    /// `25/Nov/2026:15:30:00 +0000`
    clf: String,
}

impl Clock {
    fn set(&mut self, ns: i64) {
        let sec = ns.div_euclid(1_000_000_000);
        if sec == self.sec && !self.iso.is_empty() {
            return;
        }
        self.sec = sec;
        let (y, m, d, hh, mm, ss) = civil(sec);
        self.iso = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}");
        self.spaced = format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}");
        self.clf = format!(
            "{d:02}/{}/{y:04}:{hh:02}:{mm:02}:{ss:02} +0000",
            MONTHS[(m - 1) as usize]
        );
    }
}

const METHODS: &[&str] = &["GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"];
const RESOURCES: &[&str] = &[
    "orders",
    "products",
    "cart",
    "users",
    "sessions",
    "invoices",
    "items",
    "search",
    "payments",
    "shipments",
    "reviews",
    "coupons",
];
const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "okhttp/4.12.0",
    "Go-http-client/1.1",
    "python-requests/2.32.3",
    "kube-probe/1.31",
];
const JSON_MSGS: &[&str] = &[
    "request completed",
    "request completed",
    "request completed",
    "cache lookup",
    "db query executed",
    "published event",
    "token validated",
];
const ERRORS: &[&str] = &[
    "context deadline exceeded",
    "connection refused",
    "upstream connect error or disconnect/reset before headers",
    "pq: duplicate key value violates unique constraint \"orders_pkey\"",
    "rpc error: code = Unavailable desc = transport is closing",
    "i/o timeout",
];
const LOGFMT_MSGS: &[&str] = &[
    "job finished",
    "message consumed",
    "batch flushed",
    "lease renewed",
    "http request",
    "http request",
];
const JAVA_CLASSES: &[&str] = &[
    "c.e.shop.web.OrderController",
    "c.e.billing.service.InvoiceService",
    "o.s.web.servlet.DispatcherServlet",
    "c.e.inventory.repo.StockRepository",
    "c.z.hikari.pool.HikariPool",
    "o.h.engine.jdbc.spi.SqlExceptionHelper",
    "c.e.payments.client.GatewayClient",
];
const JAVA_EXCEPTIONS: &[&str] = &[
    "java.net.SocketTimeoutException: Read timed out",
    "org.springframework.dao.DataIntegrityViolationException: could not execute statement",
    "java.lang.IllegalStateException: Order already settled",
    "java.util.concurrent.TimeoutException: Timeout waiting for connection from pool",
    "java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"name\" is null",
];
const JAVA_FRAMES: &[&str] = &[
    "at java.base/java.net.SocketInputStream.socketRead0(Native Method)",
    "at org.apache.http.impl.io.SessionInputBufferImpl.fillBuffer(SessionInputBufferImpl.java:153)",
    "at org.springframework.web.client.RestTemplate.doExecute(RestTemplate.java:785)",
    "at com.example.payments.client.GatewayClient.charge(GatewayClient.java:118)",
    "at com.example.shop.service.OrderService.placeOrder(OrderService.java:212)",
    "at com.example.shop.web.OrderController.create(OrderController.java:64)",
    "at org.springframework.transaction.interceptor.TransactionInterceptor.invoke(TransactionInterceptor.java:119)",
    "at org.springframework.aop.framework.ReflectiveMethodInvocation.proceed(ReflectiveMethodInvocation.java:184)",
    "at org.hibernate.engine.jdbc.internal.ResultSetReturnImpl.executeUpdate(ResultSetReturnImpl.java:197)",
    "at jakarta.servlet.http.HttpServlet.service(HttpServlet.java:658)",
    "at org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:166)",
    "at org.apache.tomcat.util.threads.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:659)",
    "at java.base/java.lang.Thread.run(Thread.java:1583)",
];

/// Generates lines in global timestamp order until `target_bytes` of raw line bytes.
#[derive(Debug)]
pub(crate) struct Generator {
    pub(crate) topo: Topology,
    rng: Rng,
    start_ns: i64,
    span_ns: i64,
    target_bytes: u64,
    emitted: u64,
    last_ts: i64,
    needle: String,
    needle_done: bool,
    clock: Clock,
    scratch: String,
}

/// One generated entry.
#[derive(Debug)]
pub(crate) struct Line {
    pub(crate) stream: usize,
    pub(crate) ts: i64,
    pub(crate) line: String,
}

impl Generator {
    pub(crate) fn new(
        seed: u64,
        n_streams: usize,
        nodes: usize,
        target_bytes: u64,
        start_ns: i64,
        span_ns: i64,
    ) -> Self {
        Generator {
            topo: topology(seed, n_streams, nodes),
            rng: Rng::new(seed),
            start_ns,
            span_ns,
            target_bytes: target_bytes.max(1),
            emitted: 0,
            last_ts: i64::MIN,
            needle: needle(seed),
            needle_done: false,
            clock: Clock::default(),
            scratch: String::new(),
        }
    }

    /// The next entry, `None` once the byte budget is spent.
    pub(crate) fn next_line(&mut self) -> Option<Line> {
        if self.emitted >= self.target_bytes {
            return None;
        }
        let frac = self.emitted as f64 / self.target_bytes as f64;
        let ts = (self.start_ns + (frac * self.span_ns as f64) as i64).max(self.last_ts + 1);
        self.last_ts = ts;
        let mut stream = self.topo.pick_stream(&mut self.rng);
        let mut rid = std::mem::take(&mut self.scratch);
        rid.clear();
        if !self.needle_done && frac >= 0.5 {
            // Not an ingress line: those print request ids without dashes.
            while self.topo.streams[stream].format == Format::Nginx {
                stream = self.topo.pick_stream(&mut self.rng);
            }
            rid.push_str(&self.needle);
            self.needle_done = true;
        } else {
            self.rng.uuid(&mut rid);
        }
        self.clock.set(ts);
        let mut line = String::with_capacity(512);
        let spec = &self.topo.streams[stream];
        let ms = ts.rem_euclid(1_000_000_000) / 1_000_000;
        let us = ts.rem_euclid(1_000_000_000) / 1_000;
        let r = &mut self.rng;
        let c = &self.clock;
        match spec.format {
            Format::Json => json_line(r, c, us, spec, &rid, &mut line),
            Format::Logfmt => logfmt_line(r, c, ms, spec, &rid, &mut line),
            Format::Nginx => nginx_line(r, c, spec, &rid, &mut line),
            Format::Java => java_line(r, c, ms, &rid, &mut line),
            Format::Envoy => envoy_line(r, c, ms, spec, &rid, &mut line),
        }
        self.scratch = rid;
        self.emitted += line.len() as u64;
        Some(Line { stream, ts, line })
    }
}

fn status(r: &mut Rng) -> u32 {
    match r.below(1000) {
        0..=7 => *r.pick(&[500, 502, 503, 504]),
        8..=40 => *r.pick(&[400, 401, 403, 404, 404, 409, 429]),
        41..=80 => *r.pick(&[201, 204, 301, 304]),
        _ => 200,
    }
}

fn path(r: &mut Rng, out: &mut String) {
    let res = r.pick(RESOURCES);
    let _ = write!(out, "/api/v{}/{res}", 1 + r.below(2));
    if r.chance(0.7) {
        let _ = write!(out, "/{}", r.below(100_000));
    }
    if r.chance(0.2) {
        let _ = write!(
            out,
            "?page={}&limit={}",
            r.below(20),
            r.pick(&[20, 50, 100])
        );
    }
}

fn ip(r: &mut Rng, out: &mut String) {
    let _ = write!(
        out,
        "10.{}.{}.{}",
        40 + r.below(4),
        r.below(256),
        r.below(256)
    );
}

fn level(r: &mut Rng) -> &'static str {
    match r.below(100) {
        0..=1 => "error",
        2..=7 => "warn",
        8..=14 => "debug",
        _ => "info",
    }
}

fn json_line(r: &mut Rng, c: &Clock, us: i64, spec: &StreamSpec, rid: &str, out: &mut String) {
    let lvl = level(r);
    let msg = if lvl == "error" {
        "request failed"
    } else {
        r.pick(JSON_MSGS)
    };
    let _ = write!(
        out,
        r#"{{"level":"{lvl}","ts":"{}.{us:06}Z","caller":"{}/{}.go:{}","msg":"{msg}","service":"{}""#,
        c.iso,
        r.pick(&[
            "http",
            "store",
            "internal/handler",
            "pkg/cache",
            "cmd/server"
        ]),
        r.pick(&["server", "handler", "client", "repo", "middleware"]),
        20 + r.below(400),
        spec.app
    );
    match msg {
        "request completed" | "request failed" => {
            let st = if lvl == "error" {
                *r.pick(&[500, 502, 503, 504])
            } else {
                status(r)
            };
            let _ = write!(out, r#","method":"{}","path":""#, r.pick(METHODS));
            path(r, out);
            let _ = write!(
                out,
                r#"","status":{st},"duration_ms":{}.{:03},"bytes_out":{},"remote_addr":""#,
                r.below(300),
                r.below(1000),
                r.below(40_000)
            );
            ip(r, out);
            let _ = write!(
                out,
                r#":{}","user_agent":"{}""#,
                1024 + r.below(60_000),
                r.pick(USER_AGENTS)
            );
            if lvl == "error" {
                let _ = write!(out, r#","error":"{}""#, r.pick(ERRORS).replace('"', "\\\""));
            }
        }
        "cache lookup" => {
            let _ = write!(
                out,
                r#","key":"{}:{}","hit":{},"latency_us":{}"#,
                r.pick(RESOURCES),
                r.below(1_000_000),
                r.chance(0.8),
                r.below(3000)
            );
        }
        "db query executed" => {
            let _ = write!(
                out,
                r#","table":"{}","rows":{},"query_ms":{}.{:02}"#,
                r.pick(RESOURCES),
                r.below(500),
                r.below(80),
                r.below(100)
            );
        }
        _ => {
            let _ = write!(
                out,
                r#","topic":"{}.{}","partition":{},"offset":{}"#,
                spec.namespace,
                r.pick(RESOURCES),
                r.below(12),
                r.below(90_000_000)
            );
        }
    }
    out.push_str(r#","trace_id":""#);
    r.hex(out, 32);
    out.push_str(r#"","span_id":""#);
    r.hex(out, 16);
    let _ = write!(out, r#"","request_id":"{rid}""#);
    if r.chance(0.6) {
        let _ = write!(out, r#","user_id":"u-{}""#, r.below(2_000_000));
    }
    out.push('}');
}

fn logfmt_line(r: &mut Rng, c: &Clock, ms: i64, spec: &StreamSpec, rid: &str, out: &mut String) {
    let lvl = level(r);
    let msg = r.pick(LOGFMT_MSGS);
    let _ = write!(
        out,
        "ts={}.{ms:03}Z level={lvl} caller={}.go:{} msg=\"{msg}\"",
        c.iso,
        r.pick(&["worker", "consumer", "main", "scheduler", "client"]),
        10 + r.below(300)
    );
    match *msg {
        "http request" => {
            let st = status(r);
            let _ = write!(out, " method={} path=", r.pick(METHODS));
            path(r, out);
            let _ = write!(
                out,
                " status={st} duration={}.{:03}ms size={}",
                r.below(500),
                r.below(1000),
                r.below(50_000)
            );
        }
        "job finished" => {
            let _ = write!(
                out,
                " job={}-{} items={} duration={}.{:03}s",
                spec.app,
                r.pick(&["sync", "reindex", "export", "cleanup"]),
                r.below(5000),
                r.below(60),
                r.below(1000)
            );
        }
        "message consumed" => {
            let _ = write!(
                out,
                " topic={}.{} partition={} offset={} lag={}",
                spec.namespace,
                r.pick(RESOURCES),
                r.below(24),
                r.below(500_000_000),
                r.below(2000)
            );
        }
        _ => {
            let _ = write!(
                out,
                " component={} count={} bytes={}",
                r.pick(&["flusher", "leader-election", "batcher"]),
                r.below(10_000),
                r.below(10_000_000)
            );
        }
    }
    if lvl == "error" {
        let _ = write!(out, " err=\"{}\"", r.pick(ERRORS).replace('"', "\\\""));
    }
    out.push_str(" trace_id=");
    r.hex(out, 32);
    let _ = write!(out, " request_id={rid}");
}

fn nginx_line(r: &mut Rng, c: &Clock, spec: &StreamSpec, rid: &str, out: &mut String) {
    ip(r, out);
    let st = status(r);
    let size = r.below(60_000);
    let _ = write!(out, " - - [{}] \"{} ", c.clf, r.pick(METHODS));
    path(r, out);
    let secs = r.below(900);
    let _ = write!(
        out,
        " HTTP/1.1\" {st} {size} \"https://shop.example.com/{}\" \"{}\" {} 0.{secs:03} [{}-8080] [] ",
        r.pick(RESOURCES),
        r.pick(USER_AGENTS),
        200 + r.below(2000),
        spec.peer
    );
    ip(r, out);
    let _ = write!(out, ":8080 {size} 0.{secs:03} {st} ");
    // ingress-nginx prints $req_id as 32 hex digits; the UUID without dashes keeps the needle.
    for ch in rid.chars() {
        if ch != '-' {
            out.push(ch);
        }
    }
}

fn java_line(r: &mut Rng, c: &Clock, ms: i64, rid: &str, out: &mut String) {
    let lvl = match r.below(200) {
        0..=2 => "ERROR",
        3..=12 => " WARN",
        13..=30 => "DEBUG",
        _ => " INFO",
    };
    let _ = write!(
        out,
        "{}.{ms:03} {lvl} 1 --- [nio-8080-exec-{}] {:<40} : ",
        c.spaced,
        1 + r.below(200),
        r.pick(JAVA_CLASSES)
    );
    match lvl {
        "ERROR" => {
            let _ = write!(
                out,
                "Request processing failed [requestId={rid}]\n{}",
                r.pick(JAVA_EXCEPTIONS)
            );
            let frames = 6 + r.below(8) as usize;
            let start = r.below(JAVA_FRAMES.len() as u64) as usize;
            for i in 0..frames {
                let _ = write!(out, "\n\t{}", JAVA_FRAMES[(start + i) % JAVA_FRAMES.len()]);
            }
            let _ = write!(out, "\n\t... {} common frames omitted", 20 + r.below(60));
        }
        _ => {
            let _ = write!(
                out,
                "{} {}-{} for customer {} in {} ms [requestId={rid}]",
                r.pick(&["Created", "Updated", "Loaded", "Validated", "Settled"]),
                r.pick(&["order", "invoice", "shipment", "cart"]),
                r.below(10_000_000),
                r.below(2_000_000),
                r.below(800)
            );
        }
    }
}

fn envoy_line(r: &mut Rng, c: &Clock, ms: i64, spec: &StreamSpec, rid: &str, out: &mut String) {
    let st = status(r);
    let _ = write!(out, "[{}.{ms:03}Z] \"{} ", c.iso, r.pick(METHODS));
    path(r, out);
    let flags = if st >= 500 { "UF,URX" } else { "-" };
    let dur = r.below(400);
    let _ = write!(
        out,
        " HTTP/1.1\" {st} {flags} via_upstream - \"-\" {} {} {dur} {} \"-\" \"{}\" \"{rid}\" \"{}.{}.svc.cluster.local:8080\" \"",
        r.below(4000),
        r.below(50_000),
        dur.saturating_sub(r.below(5)),
        r.pick(USER_AGENTS),
        spec.peer,
        spec.namespace
    );
    ip(r, out);
    let _ = write!(
        out,
        ":8080\" outbound|8080||{}.{}.svc.cluster.local ",
        spec.peer, spec.namespace
    );
    ip(r, out);
    let _ = write!(out, ":{} ", 30_000 + r.below(30_000));
    ip(r, out);
    out.push_str(":8080 ");
    ip(r, out);
    let _ = write!(out, ":{} - default", 30_000 + r.below(30_000));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        let run = || {
            let mut g = Generator::new(
                7,
                200,
                4,
                200_000,
                1_700_000_000_000_000_000,
                3_600_000_000_000,
            );
            let mut out = Vec::new();
            while let Some(l) = g.next_line() {
                out.push(l);
            }
            out
        };
        let a = run();
        let b = run();
        assert_eq!(a.len(), b.len());
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.line == y.line && x.ts == y.ts)
        );
        let bytes: usize = a.iter().map(|l| l.line.len()).sum();
        assert!((200_000..201_000 + 4096).contains(&bytes), "{bytes}");
        assert!(a.windows(2).all(|w| w[0].ts < w[1].ts));
        let needle = needle(7);
        let hits = a.iter().filter(|l| l.line.contains(&needle)).count();
        assert_eq!(hits, 1);
    }

    #[test]
    fn topology_has_the_requested_streams_and_json_apps() {
        let t = topology(1, 1000, 8);
        assert_eq!(t.streams.len(), 1000);
        assert!(!t.json_apps.is_empty());
        let mut labels: Vec<&str> = t.streams.iter().map(|s| s.labels.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), 1000, "stream label sets are unique");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(1_764_084_600), (2025, 11, 25, 15, 30, 0));
    }
}
