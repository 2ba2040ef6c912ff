//! The built-in formats on copies of real logs (`testdata/formats/`, sources
//! in `testdata/README.md`): the aggregates and failures expected from
//! reading each file by hand, auto-detection on every sample, mixed inputs,
//! compressed and damaged inputs.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn sample(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/formats")
        .join(rel)
}

fn bin() -> Command {
    Command::cargo_bin("audit-analyze").unwrap()
}

/// Runs `report --format json` with `args`, returning the document, the
/// standard error and the exit code.
fn report(args: &[&str], files: &[PathBuf]) -> (Value, String, i32) {
    let out = bin()
        .args(["report", "--format", "json"])
        .args(args)
        .args(files)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (
        v,
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap(),
    )
}

fn json(rel: &str) -> Value {
    let (v, _, code) = report(&[], &[sample(rel)]);
    assert_eq!(code, 0, "{rel}");
    v
}

/// (records, malformed, skipped, blank, failures, untimed) of the summary.
fn counts(v: &Value) -> [u64; 6] {
    let s = &v["summary"];
    [
        "records",
        "malformed",
        "skipped",
        "blank",
        "failures",
        "untimed",
    ]
    .map(|k| s[k].as_u64().unwrap_or_else(|| panic!("summary.{k}")))
}

/// (user, total, failures) of every user row.
fn users(v: &Value) -> Vec<(String, u64, u64)> {
    v["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["user"].as_str().unwrap().to_string(),
                u["total"].as_u64().unwrap(),
                u["failures"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// (event, total, failures) of every event row.
fn events(v: &Value) -> Vec<(String, u64, u64)> {
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["total"].as_u64().unwrap(),
                e["failures"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn rows(list: &[(&str, u64, u64)]) -> Vec<(String, u64, u64)> {
    list.iter()
        .map(|(n, t, f)| (n.to_string(), *t, *f))
        .collect()
}

fn format_of(v: &Value, i: usize) -> &str {
    v["summary"]["files"][i]["format"].as_str().unwrap()
}

#[test]
fn k8s_audit2rbac_demo() {
    // 37 ResponseComplete events by system:admin impersonating bob (29, of
    // them lines 1, 2, 4, 34 are 403), the service account sa1 (lines 5-9,
    // 4 × 403) and alice (lines 35-37, all 403): 11 × 403 in all.
    let v = json("k8s-audit/audit2rbac-demo.jsonl");
    assert_eq!(format_of(&v, 0), "k8s-audit");
    assert_eq!(counts(&v), [37, 0, 0, 0, 11, 0]);
    assert_eq!(
        users(&v),
        rows(&[
            ("system:admin as bob", 29, 4),
            ("system:admin as system:serviceaccount:ns1:sa1", 5, 4),
            ("system:admin as alice", 3, 3),
        ])
    );
    let e = events(&v);
    assert_eq!(
        e[..3],
        rows(&[
            ("list pods", 10, 7),
            ("list nodes", 2, 2),
            ("get /api", 1, 0)
        ])
    );
    assert!(e.contains(&("list configmaps".into(), 1, 1)));
    assert!(e.contains(&("list secrets".into(), 1, 1)));
    // Non-resource requests fall back to verb + path (lines 10-32, 23 paths).
    let non_resource: u64 = e
        .iter()
        .filter(|(n, _, _)| n.starts_with("get /"))
        .map(|(_, t, _)| t)
        .sum();
    assert_eq!(non_resource, 23);
    assert_eq!(v["summary"]["first"], "2017-09-11T19:55:05.000Z");
    assert_eq!(v["summary"]["last"], "2017-09-11T20:29:04.000Z");
    assert_eq!(v["findings"], serde_json::json!([]));
}

#[test]
fn k8s_single_events() {
    let v = json("k8s-audit/falco-anonymous-creates-namespace.json");
    assert_eq!(format_of(&v, 0), "k8s-audit");
    assert_eq!(
        users(&v),
        rows(&[("system:anonymous", 1, 0)]),
        "201 Created is a success even for system:anonymous"
    );
    assert_eq!(events(&v), rows(&[("create namespaces", 1, 0)]));
    // requestReceivedTimestamp (µs) wins over timestamp (s).
    assert_eq!(v["summary"]["first"], "2018-10-25T13:58:49.730Z");
    assert_eq!(
        v["rules"]["unknown_users"],
        serde_json::json!(["unknown_user", "system:anonymous"])
    );

    let v = json("k8s-audit/crowdsec-k8s-audit-pod-exec.jsonl");
    assert_eq!(events(&v), rows(&[("create pods/exec", 1, 0)]));
    assert_eq!(users(&v), rows(&[("minikube-user", 1, 0)]));
    assert_eq!(v["summary"]["first"], "2023-05-17T15:08:22.763Z");

    let v = json("k8s-audit/crowdsec-k8s-audit-priv-pod.jsonl");
    assert_eq!(events(&v), rows(&[("create pods", 1, 0)]));

    // `{"kind": 0}`: an object with no field of any format.
    let v = json("k8s-audit/falco-fal-01-003-malformed-kind.json");
    assert_eq!(format_of(&v, 0), "generic");
    assert_eq!(counts(&v), [1, 0, 0, 0, 0, 1]);
    assert_eq!(v["summary"]["files"][0]["unmatched"], 1);
}

#[test]
fn k8s_non_final_stages_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stages.jsonl");
    let line = |stage: &str, id: &str| {
        format!(
            r#"{{"kind":"Event","auditID":"{id}","stage":"{stage}","verb":"get","requestURI":"/api/v1/namespaces/a/pods/p","user":{{"username":"u"}},"sourceIPs":["10.0.0.1"],"objectRef":{{"resource":"pods"}},"responseStatus":{{"code":200}},"requestReceivedTimestamp":"2024-01-01T00:00:00Z"}}"#
        )
    };
    let text = [
        line("RequestReceived", "1"),
        line("ResponseStarted", "1"),
        line("ResponseComplete", "1"),
        line("RequestReceived", "2"),
        line("Panic", "2"),
    ]
    .join("\n");
    fs::write(&path, text).unwrap();
    let (v, _, code) = report(&[], &[path]);
    assert_eq!(code, 0);
    assert_eq!(counts(&v), [2, 0, 3, 0, 0, 0]);
    assert_eq!(v["summary"]["files"][0]["skipped"], 3);
}

#[test]
fn cloudtrail_samples() {
    // 6 identical failed ConsoleLogins of <userName> from 1.2.3.4.
    let v = json("cloudtrail/crowdsec-aws-consolelogin-failures.jsonl");
    assert_eq!(format_of(&v, 0), "cloudtrail");
    assert_eq!(counts(&v), [6, 0, 0, 0, 6, 0]);
    assert_eq!(users(&v), rows(&[("<userName>", 6, 6)]));
    assert_eq!(
        events(&v),
        rows(&[("signin.amazonaws.com:ConsoleLogin", 6, 6)])
    );

    // 3 × AccessDenied, then a successful GetCallerIdentity.
    let v = json("cloudtrail/crowdsec-aws-postexploit-accessdenied.jsonl");
    assert_eq!(counts(&v), [4, 0, 0, 0, 3, 0]);
    assert_eq!(
        users(&v),
        rows(&[("<username>", 3, 2), ("<userName>", 1, 1)])
    );
    assert!(events(&v).contains(&("sts.amazonaws.com:GetCallerIdentity".into(), 1, 0)));

    // A failed ConsoleLogin and an AssumedRole call (user from the session issuer).
    let v = json("cloudtrail/crowdsec-aws-cloudtrail-mixed.jsonl");
    assert_eq!(counts(&v), [2, 0, 0, 0, 1, 0]);
    assert_eq!(
        users(&v),
        rows(&[("<userName>", 1, 1), ("<username>", 1, 0)])
    );

    // Logstash-flattened records: @timestamp, 5 AWSService records without a user.
    let v = json("cloudtrail/otrf-ec2-proxy-s3-exfiltration.jsonl");
    assert_eq!(counts(&v), [103, 0, 0, 0, 0, 0]);
    assert_eq!(
        users(&v),
        rows(&[
            ("pedro", 87, 0),
            ("MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0", 11, 0),
            ("-", 5, 0),
        ])
    );
    assert_eq!(v["summary"]["first"], "2020-09-14T00:44:20.000Z");
    assert_eq!(v["summary"]["last"], "2020-09-14T01:13:20.000Z");
}

#[test]
fn cloudtrail_records_documents_are_streamed() {
    for file in [
        "cloudtrail/falco-cloudtrail-records-array.json",
        "cloudtrail/falco-cloudtrail-records-array-bigevent.json",
    ] {
        let v = json(file);
        assert_eq!(format_of(&v, 0), "cloudtrail", "{file}");
        assert_eq!(counts(&v), [1, 0, 0, 0, 0, 0], "{file}");
        assert_eq!(users(&v), rows(&[("Alice", 1, 0)]));
        assert_eq!(
            events(&v),
            rows(&[("ec2.amazonaws.com:StartInstances", 1, 0)])
        );
        assert_eq!(v["summary"]["first"], "2014-03-06T21:22:54.000Z");
    }
}

#[test]
fn vault_requests_count_once() {
    // 18 lines: 8 requests with a response are skipped (one after its
    // kmip-response), r8 has no response and counts itself; 5 failed
    // logins of eve from 203.0.113.7 within 40 s make a burst.
    let v = json("vault/vault-audit-synthetic.jsonl");
    assert_eq!(format_of(&v, 0), "vault-audit");
    assert_eq!(counts(&v), [10, 0, 8, 0, 6, 0]);
    assert_eq!(
        users(&v),
        rows(&[
            ("unknown_user", 6, 5),
            ("userpass-bob", 2, 0),
            ("kmip-client", 1, 0),
            ("token", 1, 1),
        ])
    );
    assert_eq!(
        events(&v),
        rows(&[
            ("update auth/userpass/login/eve", 5, 5),
            ("create kmip/scope/finance/role/admin", 1, 0),
            ("read secret/data/app", 1, 1),
            ("read secret/data/app/:id", 1, 0),
            ("read sys/health", 1, 0),
            ("update auth/userpass/login/bob", 1, 0),
        ])
    );
    let f = &v["findings"];
    assert_eq!(f.as_array().unwrap().len(), 1);
    assert_eq!(f[0]["ip"], "203.0.113.7");
    assert_eq!(f[0]["count"], 5);
    assert_eq!(f[0]["first"], "2024-03-01T10:01:00.020Z");
    assert_eq!(f[0]["last"], "2024-03-01T10:01:40.020Z");
}

#[test]
fn vault_pairs_across_files() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(sample("vault/vault-audit-synthetic.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    // The request of r1 in one file, its response in the next.
    fs::write(&a, format!("{}\n", lines[0])).unwrap();
    fs::write(&b, format!("{}\n", lines[1])).unwrap();
    let (v, _, _) = report(&["--log-format", "vault-audit"], &[a, b]);
    assert_eq!(counts(&v), [1, 0, 1, 0, 0, 0]);
    assert_eq!(v["summary"]["files"][0]["skipped"], 1);
    assert_eq!(v["summary"]["files"][1]["records"], 1);
}

#[test]
fn gcp_audit_failures() {
    let v = json("gcp-audit/gcp-audit-synthetic.jsonl");
    assert_eq!(format_of(&v, 0), "gcp-audit");
    assert_eq!(counts(&v), [7, 0, 0, 0, 5, 0]);
    assert_eq!(
        users(&v),
        rows(&[
            ("alice@example.com", 2, 1),
            ("mallory@example.com", 2, 2),
            ("system:anonymous", 2, 2),
            ("svc@demo.iam.gserviceaccount.com", 1, 0),
        ])
    );
    assert_eq!(v["summary"]["first"], "2024-03-01T10:00:00.123Z");
}

#[test]
fn caddy_samples() {
    // 7 × status 0 (failures of kind other), 2 × 401, Bob's 200, one
    // reverse_proxy debug record (skipped), one blank line.
    let v = json("web-access/crowdsec-caddy-access.jsonl");
    assert_eq!(format_of(&v, 0), "caddy");
    assert_eq!(counts(&v), [10, 0, 1, 1, 9, 0]);
    assert_eq!(users(&v), rows(&[("-", 9, 9), ("Bob", 1, 0)]));
    assert_eq!(events(&v), rows(&[("GET /", 10, 9)]));
    assert_eq!(v["summary"]["first"], "2023-09-04T15:19:51.756Z");

    let v = json("web-access/crowdsec-caddy-basic-auth-401.jsonl");
    assert_eq!(counts(&v), [6, 0, 0, 0, 6, 0]);

    // client_ip, not the proxy's remote_ip; the IPv6 client too.
    let v = json("web-access/caddy-lnav-mirror.jsonl");
    assert_eq!(counts(&v), [4, 0, 0, 0, 0, 0]);
    assert_eq!(v["summary"]["first"], "2024-05-26T11:42:52.601Z");

    // docker compose output: 35 lifecycle records skipped, 4 access records.
    let v = json("web-access/caddy-lnav-docker-compose-prefixed.log");
    assert_eq!(format_of(&v, 0), "caddy");
    assert_eq!(counts(&v), [4, 0, 35, 0, 0, 0]);
    assert_eq!(
        events(&v),
        rows(&[("GET /", 3, 0), ("GET /index.html", 1, 0)])
    );
}

#[test]
fn unknown_user_dash_pools_caddy_basic_auth_failures() {
    let (v, _, _) = report(
        &["--unknown-user", "-"],
        &[sample("web-access/crowdsec-caddy-basic-auth-401.jsonl")],
    );
    let f = &v["findings"];
    assert_eq!(f.as_array().unwrap().len(), 1);
    assert_eq!(
        (f[0]["ip"].as_str(), f[0]["count"].as_u64()),
        (Some("127.0.0.1"), Some(6))
    );
}

#[test]
fn traefik_samples() {
    // 79 × 404 and 1 × 400 of a scan.
    let v = json("web-access/crowdsec-traefik-json-scan-404.jsonl");
    assert_eq!(format_of(&v, 0), "traefik");
    assert_eq!(counts(&v), [80, 0, 0, 0, 80, 0]);
    assert_eq!(users(&v), rows(&[("-", 80, 80)]));

    // A plugin's plain-text line; ClientHost "192.168.1.100,10.0.0.50".
    let (v, err, code) = report(
        &[],
        &[sample(
            "web-access/crowdsec-traefik-json-with-plugin-noise.log",
        )],
    );
    assert_eq!(code, 0);
    assert_eq!(format_of(&v, 0), "traefik");
    assert_eq!(counts(&v), [6, 1, 0, 0, 1, 0]);
    assert!(
        err.ends_with("crowdsec-traefik-json-with-plugin-noise.log:6: not JSON (plain text)\n"),
        "{err}"
    );
}

#[test]
fn traefik_ip_list_first_or_last() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.log");
    let line = r#"{"ClientHost":"192.168.1.100,10.0.0.50","ClientUsername":"unknown_user","DownstreamStatus":401,"RequestMethod":"GET","RequestPath":"/","time":"2025-09-05T13:53:40+01:00"}"#;
    fs::write(&path, format!("{line}\n").repeat(5)).unwrap();
    for (list, ip) in [("first", "192.168.1.100"), ("last", "10.0.0.50")] {
        let (v, _, _) = report(&["--ip-list", list], std::slice::from_ref(&path));
        assert_eq!(v["findings"][0]["ip"], ip, "{list}");
    }
}

#[test]
fn auto_detection_on_every_sample() {
    let expected = [
        (
            "app-json/crowdsec-audiobookshelf-failed-login.jsonl",
            "generic",
        ),
        ("app-json/crowdsec-gitlab-signin-bf.jsonl", "generic"),
        (
            "app-json/crowdsec-grafana-bf-mixed-logfmt-json.log",
            "generic",
        ),
        ("app-json/crowdsec-kasm-invalid-password.jsonl", "generic"),
        ("app-json/crowdsec-mongodb-auth-failed.jsonl", "generic"),
        ("app-json/crowdsec-nextcloud-login-failed.jsonl", "generic"),
        ("app-json/crowdsec-ntfy-unauthorized-403.jsonl", "generic"),
        (
            "app-json/crowdsec-sftpgo-invalid-credentials.jsonl",
            "generic",
        ),
        ("app-json/nextcloud-lnav.jsonl", "generic"),
        (
            "auth-provider/crowdsec-authentik-invalid-login.jsonl",
            "generic",
        ),
        (
            "auth-provider/crowdsec-teleport-impossible-travel.jsonl",
            "generic",
        ),
        (
            "auth-provider/crowdsec-teleport-login-failures.jsonl",
            "generic",
        ),
        ("azure/otrf-azuread-audit-goldensaml.jsonl", "generic"),
        (
            "cloudtrail/crowdsec-aws-cloudtrail-mixed.jsonl",
            "cloudtrail",
        ),
        (
            "cloudtrail/crowdsec-aws-consolelogin-failures.jsonl",
            "cloudtrail",
        ),
        (
            "cloudtrail/crowdsec-aws-postexploit-accessdenied.jsonl",
            "cloudtrail",
        ),
        (
            "cloudtrail/falco-cloudtrail-records-array-bigevent.json",
            "cloudtrail",
        ),
        (
            "cloudtrail/falco-cloudtrail-records-array.json",
            "cloudtrail",
        ),
        (
            "cloudtrail/otrf-ec2-proxy-s3-exfiltration.jsonl",
            "cloudtrail",
        ),
        ("gcp-audit/gcp-audit-synthetic.jsonl", "gcp-audit"),
        ("k8s-audit/audit2rbac-demo.jsonl", "k8s-audit"),
        ("k8s-audit/crowdsec-k8s-audit-pod-exec.jsonl", "k8s-audit"),
        ("k8s-audit/crowdsec-k8s-audit-priv-pod.jsonl", "k8s-audit"),
        (
            "k8s-audit/falco-anonymous-creates-namespace.json",
            "k8s-audit",
        ),
        ("k8s-audit/falco-fal-01-003-malformed-kind.json", "generic"),
        ("linux-audit/crowdsec-laurel-auditd.jsonl", "generic"),
        ("vault/vault-audit-synthetic.jsonl", "vault-audit"),
        ("web-access/caddy-lnav-docker-compose-prefixed.log", "caddy"),
        ("web-access/caddy-lnav-mirror.jsonl", "caddy"),
        ("web-access/cloudflare-logpush-lnav.jsonl", "generic"),
        ("web-access/crowdsec-caddy-access.jsonl", "caddy"),
        ("web-access/crowdsec-caddy-basic-auth-401.jsonl", "caddy"),
        (
            "web-access/crowdsec-envoy-gateway-cri-prefixed.log",
            "generic",
        ),
        ("web-access/crowdsec-traefik-json-scan-404.jsonl", "traefik"),
        (
            "web-access/crowdsec-traefik-json-with-plugin-noise.log",
            "traefik",
        ),
        (
            "windows/otrf-goldensaml-adfs-securityevents.jsonl",
            "generic",
        ),
    ];
    // Every sample is in the table.
    let mut on_disk = Vec::new();
    for dir in fs::read_dir(sample("")).unwrap() {
        let dir = dir.unwrap().path();
        for file in fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            on_disk.push(format!(
                "{}/{}",
                dir.file_name().unwrap().to_str().unwrap(),
                file.file_name().unwrap().to_str().unwrap()
            ));
        }
    }
    on_disk.sort();
    let listed: Vec<String> = expected.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(on_disk, listed);
    // All at once: each file gets its own format.
    let files: Vec<PathBuf> = expected.iter().map(|(f, _)| sample(f)).collect();
    let (v, _, code) = report(&[], &files);
    assert_eq!(code, 0);
    for (i, (file, format)) in expected.iter().enumerate() {
        assert_eq!(format_of(&v, i), *format, "{file}");
    }
}

#[test]
fn cri_prefixed_envoy_lines() {
    // 6 JSON bodies after a CRI prefix, 4 bodies in Envoy's text format.
    let (v, err, _) = report(
        &[],
        &[sample("web-access/crowdsec-envoy-gateway-cri-prefixed.log")],
    );
    assert_eq!(counts(&v)[..2], [6, 4]);
    assert_eq!(err.matches("not JSON (plain text)").count(), 4, "{err}");
    assert!(
        err.contains("envoy-gateway-cri-prefixed.log:4: not JSON"),
        "{err}"
    );
}

#[test]
fn mixed_formats_in_one_run() {
    let files = [
        sample("k8s-audit/audit2rbac-demo.jsonl"),
        sample("cloudtrail/crowdsec-aws-consolelogin-failures.jsonl"),
        sample("web-access/crowdsec-caddy-access.jsonl"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/sample.jsonl"),
    ];
    let (v, _, code) = report(&[], &files);
    assert_eq!(code, 0);
    let formats: Vec<&str> = (0..4).map(|i| format_of(&v, i)).collect();
    assert_eq!(formats, ["k8s-audit", "cloudtrail", "caddy", "generic"]);
    // 37 + 6 + 10 + 439 records, 11 + 6 + 9 + 96 failures.
    assert_eq!(v["summary"]["records"], 492);
    assert_eq!(v["summary"]["failures"], 122);
    assert_eq!(v["summary"]["skipped"], 1);
    let by_format = &v["summary"]["formats"];
    assert_eq!(by_format["caddy"].as_array().unwrap().len(), 1);
    assert_eq!(by_format.as_object().unwrap().len(), 4);
    // Forcing one format reads every file with it.
    let (v, _, _) = report(&["--log-format", "cloudtrail"], &files);
    assert!((0..4).all(|i| format_of(&v, i) == "cloudtrail"));
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn gzip_and_zstd_copies_give_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    for rel in [
        "web-access/crowdsec-traefik-json-scan-404.jsonl",
        "cloudtrail/falco-cloudtrail-records-array-bigevent.json",
    ] {
        let plain = sample(rel);
        let data = fs::read(&plain).unwrap();
        // Names that do not say so: the magic bytes decide.
        let gz = dir.path().join("copy-gz.log");
        let zst = dir.path().join("copy-zst.log");
        fs::write(&gz, gzip(&data)).unwrap();
        fs::write(&zst, zstd::encode_all(&data[..], 3).unwrap()).unwrap();
        let (mut want, _, _) = report(&[], std::slice::from_ref(&plain));
        for (path, compression) in [(gz, "gzip"), (zst, "zstd")] {
            let (mut got, _, code) = report(&[], std::slice::from_ref(&path));
            assert_eq!(code, 0);
            assert_eq!(got["summary"]["files"][0]["compression"], compression);
            for v in [&mut want, &mut got] {
                v["summary"]["files"][0]["path"] = Value::Null;
                v["summary"]["files"][0]["compression"] = Value::Null;
                v["summary"]["formats"] = Value::Null;
            }
            assert_eq!(got, want, "{rel} as {compression}");
        }
    }
}

#[test]
fn a_truncated_gzip_keeps_the_records_before_the_damage() {
    let dir = tempfile::tempdir().unwrap();
    let data = fs::read(sample("web-access/crowdsec-traefik-json-scan-404.jsonl")).unwrap();
    let gz = gzip(&data);
    let path = dir.path().join("cut.jsonl.gz");
    fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let (v, err, code) = report(&[], std::slice::from_ref(&path));
    assert_eq!(code, 2, "{err}");
    let records = v["summary"]["records"].as_u64().unwrap();
    assert!(records > 0 && records < 80, "{records}");
    // The message names the file and the line the damage was met on.
    let want = format!(
        "audit-analyze: error: {}:{}: read error: damaged gzip data",
        path.display(),
        records + 1
    );
    assert!(err.starts_with(&want), "{err}\nwanted {want}");
    assert_eq!(format_of(&v, 0), "traefik");
}

#[test]
fn a_directory_of_rotated_compressed_logs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = fs::read(sample("k8s-audit/audit2rbac-demo.jsonl")).unwrap();
    let text = String::from_utf8(data.clone()).unwrap();
    let (head, tail) = text.split_at(text.match_indices('\n').nth(19).unwrap().0 + 1);
    fs::create_dir(d.join("old")).unwrap();
    fs::write(d.join("audit.log"), tail).unwrap();
    fs::write(d.join("old/audit.log.1.gz"), gzip(head.as_bytes())).unwrap();
    fs::write(d.join("old/notes.txt"), "x").unwrap();
    let (v, _, code) = report(&[], &[d.to_path_buf()]);
    assert_eq!(code, 0);
    assert_eq!(counts(&v), [37, 0, 0, 0, 11, 0]);
    assert_eq!(v["summary"]["skipped_files"], 1);
    let paths: Vec<&str> = v["summary"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths[0].ends_with("audit.log") && paths[1].ends_with("audit.log.1.gz"));
    assert_eq!(v["summary"]["files"][1]["records"], 20);
}

#[test]
fn bad_values_in_a_value_stream_point_at_their_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pretty.json");
    fs::write(
        &path,
        "{\n  \"user\": \"a\",\n  \"status\": 200\n}\n{\n  \"user\": \"b\",\n  \"status\": 401,\n}\n{\n  \"user\": \"c\"\n}\n",
    )
    .unwrap();
    let (v, err, _) = report(&[], std::slice::from_ref(&path));
    assert_eq!(counts(&v)[..2], [2, 1]);
    assert!(
        err.starts_with(&format!(
            "{}:5: invalid JSON: trailing comma",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn formats_command_lists_and_prints() {
    let out = bin().arg("formats").output().unwrap();
    let list = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = list
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "generic",
            "k8s-audit",
            "cloudtrail",
            "gcp-audit",
            "vault-audit",
            "caddy",
            "traefik"
        ]
    );
    let out = bin().args(["formats", "k8s-audit"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("name = \"k8s-audit\""));
    // What it prints is a format file `--log-format-file` takes.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mine.toml");
    fs::write(&f, text.replace("name = \"k8s-audit\"", "name = \"mine\"")).unwrap();
    let (v, _, code) = report(
        &["--log-format-file", f.to_str().unwrap()],
        &[sample("k8s-audit/audit2rbac-demo.jsonl")],
    );
    assert_eq!(code, 0);
    assert_eq!(format_of(&v, 0), "mine");
    assert_eq!(counts(&v), [37, 0, 0, 0, 11, 0]);
    bin().args(["formats", "nope"]).assert().code(2);
}

#[test]
fn a_bad_format_file_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    fs::write(
        &f,
        "name = \"x\"\n[fields]\nuser = [\"u\"]\nusr = [\"v\"]\n",
    )
    .unwrap();
    let out = bin()
        .args(["report", "--log-format-file"])
        .arg(&f)
        .write_stdin("{}\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bad.toml") && err.contains("usr"), "{err}");
    bin()
        .args(["report", "--log-format", "nope"])
        .write_stdin("{}\n")
        .assert()
        .code(2);
}

#[test]
fn field_paths_reach_nested_and_dotted_keys() {
    // Teleport: "addr.remote" is one key; authentik: user.username.
    let (v, _, _) = report(
        &[
            "--field",
            r#"ip=["addr.remote"]"#,
            "--unknown-user",
            "Bekekrb",
        ],
        &[sample(
            "auth-provider/crowdsec-teleport-login-failures.jsonl",
        )],
    );
    assert_eq!(v["findings"][0]["count"], 6);
    let ip = v["findings"][0]["ip"].as_str().unwrap();
    assert!(!ip.contains(':') || ip.contains("::"), "port kept: {ip}");
    let (v, _, _) = report(
        &[
            "--field",
            "user=user.username",
            "--field",
            "user=identifier",
            "--field",
            "event={event} {action?}",
        ],
        &[sample(
            "auth-provider/crowdsec-authentik-invalid-login.jsonl",
        )],
    );
    let u = users(&v);
    assert_eq!(u.iter().map(|r| r.1).sum::<u64>(), 24);
    assert!(u.iter().any(|r| r.0 == "AnonymousUser"), "{u:?}");
    assert!(
        events(&v)
            .iter()
            .any(|e| e.0 == "Created Event login_failed"),
        "{:?}",
        events(&v)
    );
}

#[test]
fn cloudtrail_s3_objects_on_one_line() {
    // What CloudTrail writes to S3: one `{"Records":[...]}` line per object,
    // gzipped; `zcat *.json.gz` gives one such line per object.
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(sample(
        "cloudtrail/crowdsec-aws-postexploit-accessdenied.jsonl",
    ))
    .unwrap();
    let records: Vec<&str> = text.lines().collect();
    let first = format!("{{\"Records\":[{},{}]}}", records[0], records[1]);
    let second = format!("{{\"Records\":[{},{}]}}", records[2], records[3]);
    let gz = dir.path().join("object.json.gz");
    fs::write(&gz, gzip(first.as_bytes())).unwrap();
    let both = dir.path().join("objects.json");
    fs::write(&both, format!("{first}\n{second}\n")).unwrap();
    let (v, _, _) = report(&[], &[gz]);
    assert_eq!(format_of(&v, 0), "cloudtrail");
    assert_eq!(counts(&v), [2, 0, 0, 0, 2, 0]);
    let (v, _, _) = report(&[], &[both]);
    assert_eq!(format_of(&v, 0), "cloudtrail");
    assert_eq!(counts(&v), [4, 0, 0, 0, 3, 0]);
}

#[test]
fn the_readme_format_example_works() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("```toml\nname = \"teleport\"")
        .expect("the example")
        + 8;
    let end = start + readme[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("teleport.toml");
    fs::write(&f, &readme[start..end]).unwrap();
    let (v, _, code) = report(
        &["--log-format-file", f.to_str().unwrap()],
        &[sample(
            "auth-provider/crowdsec-teleport-login-failures.jsonl",
        )],
    );
    assert_eq!(code, 0);
    assert_eq!(format_of(&v, 0), "teleport");
    assert_eq!(users(&v), rows(&[("Bekekrb", 6, 6)]));
}

#[test]
fn cri_split_kubernetes_events_are_joined_and_detected() {
    // containerd splits long lines into P parts closed by an F part.
    let text = fs::read_to_string(sample("k8s-audit/audit2rbac-demo.jsonl")).unwrap();
    let mut out = String::new();
    for line in text.lines() {
        let (a, rest) = line.split_at(100);
        let (b, c) = rest.split_at(200);
        for (tag, part) in [("P", a), ("P", b), ("F", c)] {
            out.push_str(&format!(
                "2024-01-01T00:00:00.000000001Z stdout {tag} {part}\n"
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kube-apiserver.log");
    fs::write(&path, out).unwrap();
    let (v, err, code) = report(&[], std::slice::from_ref(&path));
    assert_eq!(code, 0, "{err}");
    assert_eq!(format_of(&v, 0), "k8s-audit");
    assert_eq!(counts(&v), [37, 0, 0, 0, 11, 0]);
}
