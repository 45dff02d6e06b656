//! Every face over https: a client that trusts the self-signed CA `serve --tls` prints connects
//! by IP and by `localhost`; one that does not, cannot.

use stsgate::config::TlsConfig;

fn on() -> TlsConfig {
    TlsConfig {
        enabled: Some(true),
        ..TlsConfig::default()
    }
}

#[tokio::test]
async fn a_client_trusting_the_ca_connects() {
    let tmp = tempfile::tempdir().unwrap();
    let tls = stsgate::tls::load(tmp.path(), &on()).unwrap().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "hi" }));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(stsgate::serve::serve_app(
        listener,
        app,
        Some(tls.clone()),
        async {
            let _ = stopped.await;
        },
    ));
    let ca = reqwest::Certificate::from_pem(&std::fs::read(tls.ca_file.unwrap()).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let body = client
            .get(format!("https://{host}:{}/", addr.port()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "hi", "{host}");
    }
    let plain = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    assert!(plain
        .get(format!("https://127.0.0.1:{}/", addr.port()))
        .send()
        .await
        .is_err());
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
