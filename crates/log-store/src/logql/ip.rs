//! `ip("...")` matching for line and label filters: a single address, a CIDR prefix or a
//! `from-to` range, IPv4 or IPv6; addresses are found in a line the way Loki scans for them.

use std::net::IpAddr;

/// A compiled `ip()` pattern.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum IpMatcher {
    Addr(IpAddr),
    Prefix(IpAddr, u8),
    Range(IpAddr, IpAddr),
}

impl IpMatcher {
    /// Parses a pattern; the error text is Loki's (`ip: invalid pattern: "x"`).
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        let invalid = || format!("ip: invalid pattern: {}", super::units::go_quote(pattern));
        if let Ok(a) = pattern.parse::<IpAddr>() {
            return Ok(IpMatcher::Addr(a));
        }
        if let Some((addr, bits)) = pattern.split_once('/') {
            let a: IpAddr = addr.parse().map_err(|_| invalid())?;
            if bits.is_empty() || (bits.len() > 1 && bits.starts_with('0')) {
                return Err(invalid());
            }
            let b: u8 = bits.parse().map_err(|_| invalid())?;
            let max = if a.is_ipv4() { 32 } else { 128 };
            if b > max {
                return Err(invalid());
            }
            return Ok(IpMatcher::Prefix(a, b));
        }
        if let Some((from, to)) = pattern.split_once('-') {
            let f: IpAddr = from.parse().map_err(|_| invalid())?;
            let t: IpAddr = to.parse().map_err(|_| invalid())?;
            if f.is_ipv4() != t.is_ipv4() || to_u128(t) < to_u128(f) {
                return Err(invalid());
            }
            return Ok(IpMatcher::Range(f, t));
        }
        Err(invalid())
    }

    /// True when `ip` is covered by the pattern (same address family only).
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match *self {
            IpMatcher::Addr(a) => a == ip,
            IpMatcher::Prefix(p, bits) => {
                if p.is_ipv4() != ip.is_ipv4() {
                    return false;
                }
                let width = if p.is_ipv4() { 32 } else { 128 };
                if bits == 0 {
                    return true;
                }
                let shift = width - u32::from(bits);
                (to_u128(p) >> shift) == (to_u128(ip) >> shift)
            }
            IpMatcher::Range(f, t) => {
                f.is_ipv4() == ip.is_ipv4()
                    && to_u128(f) <= to_u128(ip)
                    && to_u128(ip) <= to_u128(t)
            }
        }
    }

    /// True when the text contains an address covered by the pattern (Loki's scan: digits
    /// followed by a dot within 4 bytes start an IPv4 candidate, hex digits then `:` an IPv6).
    pub(crate) fn matches_text(&self, text: &str) -> bool {
        let b = text.as_bytes();
        let n = b.len();
        let hex = |c: u8| c.is_ascii_hexdigit();
        let mut i = 0;
        while i < n {
            let v4 = i + 3 < n
                && b[i].is_ascii_digit()
                && (b[i + 1] == b'.' || b[i + 2] == b'.' || b[i + 3] == b'.');
            let v6 = !v4
                && i + 4 < n
                && ((b[i] == b':' && b[i + 1] == b':' && hex(b[i + 2]))
                    || (hex(b[i]) && b[i + 1] == b':')
                    || (hex(b[i]) && hex(b[i + 1]) && b[i + 2] == b':')
                    || (hex(b[i]) && hex(b[i + 1]) && hex(b[i + 2]) && b[i + 3] == b':')
                    || (hex(b[i])
                        && hex(b[i + 1])
                        && hex(b[i + 2])
                        && hex(b[i + 3])
                        && b[i + 4] == b':'));
            if v4 || v6 {
                let len = b[i..]
                    .iter()
                    .take_while(|&&c| {
                        if v4 {
                            c.is_ascii_digit() || c == b'.'
                        } else {
                            hex(c) || c == b':' || c == b'.'
                        }
                    })
                    .count();
                if let Ok(ip) = text[i..i + len].parse::<IpAddr>()
                    && self.contains(ip)
                {
                    return true;
                }
                i += len;
            }
            i += 1;
        }
        false
    }
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let cidr = IpMatcher::new("10.0.0.0/8").unwrap();
        assert!(cidr.matches_text("client 10.3.143.14 connected"));
        assert!(!cidr.matches_text("client 192.168.1.1"));
        let range = IpMatcher::new("172.16.0.1-172.16.5.255").unwrap();
        assert!(range.matches_text("from=172.16.4.2:443"));
        assert!(!range.matches_text("from=172.16.6.2"));
        let v6 = IpMatcher::new("2001:db8::/32").unwrap();
        assert!(v6.matches_text("addr 2001:db8::1 ok"));
        let one = IpMatcher::new("::1").unwrap();
        assert!(one.matches_text("listening on [::1]:80"));
        assert_eq!(
            IpMatcher::new("nonsense").unwrap_err(),
            r#"ip: invalid pattern: "nonsense""#
        );
    }
}
