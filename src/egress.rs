//! Egress: outbound HTTP (HTTP_REQUEST steps, webhook deliveries, integration checks) must not reach loopback, private or link-local addresses (SSRF) unless config
//! allows the host. The address checked is the address connected to: the client is pinned to it,
//! so DNS can't change between the check and the request.

use std::net::{IpAddr, SocketAddr};

pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                // Carrier-grade NAT, 100.64.0.0/10.
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xC0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// Whether `url` may be called over plain http: only hosts named in the allow-list (a partner's
/// own network), never the public internet, where it would carry signed payloads in clear.
pub fn plain_http_allowed(url: &url::Url, allow: &[String]) -> bool {
    let host = url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']');
    allow.iter().any(|a| !a.trim().is_empty() && a.trim().eq_ignore_ascii_case(host))
}

/// Resolves `url`'s host and returns the address to pin, or why the request is refused.
pub async fn resolve(url: &url::Url, allow: &[String]) -> Result<(String, SocketAddr), String> {
    let host = url.host_str().ok_or("the URL has no host")?.to_owned();
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let bare = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    let first = *addrs.first().ok_or_else(|| format!("{host} has no addresses"))?;
    let allowed = allow.iter().any(|a| {
        let a = a.trim();
        !a.is_empty() && (a.eq_ignore_ascii_case(&bare) || addrs.iter().any(|s| s.ip().to_string() == a))
    });
    if !allowed && let Some(bad) = addrs.iter().find(|a| is_private(a.ip())) {
        return Err(format!(
            "refusing to call {host}: it resolves to the private or loopback address {} (allow it with INTAKEFLOW_HTTP_ALLOW)",
            bad.ip()
        ));
    }
    Ok((bare, first))
}

/// Up to `cap` bytes of the body, and whether there was more. A body that fails mid-way counts
/// as what arrived before the failure.
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> (Vec<u8>, bool) {
    let mut bytes = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = cap - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return (bytes, true);
        }
        bytes.extend_from_slice(&chunk);
        if bytes.len() == cap {
            // Exactly full: there is more only if another chunk comes.
            return (bytes, matches!(response.chunk().await, Ok(Some(c)) if !c.is_empty()));
        }
    }
    (bytes, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.5",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().expect("test input is valid")), "{ip}");
        }
        for ip in ["1.1.1.1", "93.184.216.34", "2606:4700::1111"] {
            assert!(!is_private(ip.parse().expect("test input is valid")), "{ip}");
        }
    }

    #[tokio::test]
    async fn loopback_is_refused_unless_allowed() {
        let url = url::Url::parse("http://127.0.0.1:9/x").expect("test input is valid");
        assert!(resolve(&url, &[]).await.is_err());
        assert!(resolve(&url, &["127.0.0.1".into()]).await.is_ok());
    }
}
