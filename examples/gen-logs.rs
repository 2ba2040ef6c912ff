//! Writes a deterministic JSON-lines log shaped like a JWT-protected API's:
//! ~200-byte lines, 70 % access lines and 30 % audit events, 10 000 users,
//! about 5 % failures of `unknown_user` spread over 2 000 ips, and planted
//! bursts (20 forged-token requests from one ip within a minute, every
//! 50 000 lines). Used by `bench/run.sh`; the same seed gives the same bytes.
//!
//!     cargo run --release --example gen-logs -- --lines 1000000 --seed 1 > log.jsonl

use std::io::{self, BufWriter, Write};

/// splitmix64: tiny, fast and fully determined by its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Skewed towards small values, as real user activity is.
    fn skewed(&mut self, n: u64) -> u64 {
        let a = self.below(n);
        let b = self.below(n);
        a.min(b)
    }
}

const USERS: u64 = 10_000;
const ATTACKER_IPS: u64 = 2_000;
const BURST_EVERY: u64 = 50_000;
const BURST_SIZE: u64 = 20;
/// 2026-11-01T00:00:00Z in milliseconds.
const START_MS: u64 = 1_793_491_200_000;

const ENDPOINTS: [(&str, &str); 8] = [
    ("GET", "/api/orders"),
    ("GET", "/api/orders/{id}"),
    ("POST", "/api/orders"),
    ("GET", "/api/orders/{id}/items"),
    ("DELETE", "/api/orders/{id}"),
    ("GET", "/api/users/{id}"),
    ("POST", "/api/auth/refresh"),
    ("GET", "/api/reports/daily"),
];
const EVENTS: [&str; 6] = [
    "auth.login",
    "auth.token.refresh",
    "order.create",
    "order.delete",
    "user.role.change",
    "report.export",
];

fn main() -> io::Result<()> {
    let mut lines: u64 = 1_000_000;
    let mut seed: u64 = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse().ok());
        match (arg.as_str(), value) {
            ("--lines", Some(v)) => lines = v,
            ("--seed", Some(v)) => seed = v,
            _ => {
                eprintln!("usage: gen-logs [--lines N] [--seed S]");
                std::process::exit(2);
            }
        }
    }
    let mut rng = Rng(seed);
    let out = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 20, out);
    let mut now = START_MS;
    let mut burst_left = 0;
    let mut burst_ip = 0;
    for n in 0..lines {
        now += rng.below(35);
        let time = timestamp(now);
        if n % BURST_EVERY == BURST_EVERY / 2 {
            burst_left = BURST_SIZE;
            burst_ip = rng.below(ATTACKER_IPS);
        }
        let forged = if burst_left > 0 {
            burst_left -= 1;
            Some(burst_ip)
        } else if rng.below(20) == 0 {
            Some(rng.below(ATTACKER_IPS))
        } else {
            None
        };
        let request_id = rng.next();
        if let Some(ip) = forged {
            let (method, path) = ENDPOINTS[rng.below(ENDPOINTS.len() as u64) as usize];
            let path = path.replace("{id}", &rng.below(100_000).to_string());
            writeln!(
                out,
                r#"{{"timestamp":"{time}","level":"warn","kind":"access","method":"{method}","path":"{path}","status":401,"user_id":"unknown_user","ip":"45.{}.{}.{}","duration_ms":{},"request_id":"{request_id:016x}"}}"#,
                ip / 256,
                ip % 256,
                7 + ip % 200,
                rng.below(5)
            )?;
            continue;
        }
        let user = rng.skewed(USERS);
        let ip = format!("10.{}.{}.{}", user % 200, user / 200 % 250, 1 + user % 250);
        if rng.below(10) < 7 {
            let (method, path) = ENDPOINTS[rng.below(ENDPOINTS.len() as u64) as usize];
            let path = path.replace("{id}", &rng.below(100_000).to_string());
            let status = match rng.below(100) {
                0..=1 => 404,
                2 => 500,
                3 => 403,
                _ => 200,
            };
            writeln!(
                out,
                r#"{{"timestamp":"{time}","level":"info","kind":"access","method":"{method}","path":"{path}?page={}","status":{status},"user_id":"user-{user:05}","ip":"{ip}","duration_ms":{},"request_id":"{request_id:016x}"}}"#,
                rng.below(5),
                rng.below(300)
            )?;
        } else {
            let event = EVENTS[rng.below(EVENTS.len() as u64) as usize];
            let outcome = if rng.below(50) == 0 {
                "failure"
            } else {
                "success"
            };
            writeln!(
                out,
                r#"{{"ts":"{time}","level":"info","kind":"audit","event_type":"{event}","user_id":"user-{user:05}","client_ip":"{ip}","outcome":"{outcome}","session":"{request_id:016x}","service":"orders-api"}}"#
            )?;
        }
    }
    out.flush()
}

/// `2026-11-01T00:00:00.123Z` for a millisecond epoch time (no calendar
/// crate needed: days are counted with the civil-from-days algorithm).
fn timestamp(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ms % 1000
    )
}
