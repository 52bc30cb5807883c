//! The one error-kind table of the stack.
//!
//! Every service error maps to an [`ErrorKind`]; the kind maps, once and here, to the HTTP
//! status, to the Prometheus/Loki `errorType` string of the JSON envelope and to a gRPC status
//! code. Services implement [`HasErrorKind`] on their own `thiserror` enums and let
//! [`crate::api::ApiError`] write the body their upstream writes.
//!
//! The HTTP statuses follow Prometheus 3.x `respondError` (`web/api/v1/api.go`): `bad_data`
//! 400, `execution` 422, `canceled` 499, `timeout` 503, `internal` 500, `unavailable` 500 (the
//! default branch: Prometheus has no dedicated case), `not_found` 404, `not_acceptable` 406.
//! Kinds Prometheus does not have (tenant, limits, body size) use the status Loki/Tempo answer.

use std::fmt;

/// What went wrong, independent of the protocol that reports it.
///
/// The set is closed on purpose: adding a kind means deciding its status, `errorType` and
/// gRPC code in the tables below, so no service invents its own mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Malformed or invalid input: bad parameter, parse error, bad body (Prometheus `bad_data`).
    BadData,
    /// A valid request whose evaluation failed (Prometheus `execution`, 422).
    Execution,
    /// The server gave up on a deadline (Prometheus `timeout`, 503).
    Timeout,
    /// The client went away or cancelled (Prometheus `canceled`, nginx's 499).
    Canceled,
    /// A bug or storage failure on our side (Prometheus `internal`, 500).
    Internal,
    /// The component is not ready or a dependency is down (Prometheus `unavailable`).
    Unavailable,
    /// The addressed object does not exist (Prometheus `not_found`, 404).
    NotFound,
    /// The requested response encoding cannot be produced (Prometheus `not_acceptable`, 406).
    NotAcceptable,
    /// Rate or cardinality limit hit (Loki/Tempo answer 429 so that clients back off).
    TooManyRequests,
    /// Request body (compressed or decompressed) over its configured limit (413).
    PayloadTooLarge,
    /// No or unusable tenant: Loki's `no org id` is a 401.
    Unauthorized,
    /// Authenticated but not allowed (403).
    Forbidden,
    /// Method not allowed on this path (405).
    MethodNotAllowed,
    /// A request body media type or content encoding the endpoint does not take (415).
    UnsupportedMediaType,
    /// The feature exists upstream but is not implemented or enabled here (501).
    NotImplemented,
}

/// gRPC status codes (`google.rpc.Code`), kept as a plain enum so `lgtm-common` needs no tonic.
///
/// The discriminants are the wire values; convert with `as i32` or [`GrpcCode::as_i32`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum GrpcCode {
    /// `OK`
    Ok = 0,
    /// `CANCELLED`
    Cancelled = 1,
    /// `UNKNOWN`
    Unknown = 2,
    /// `INVALID_ARGUMENT`
    InvalidArgument = 3,
    /// `DEADLINE_EXCEEDED`
    DeadlineExceeded = 4,
    /// `NOT_FOUND`
    NotFound = 5,
    /// `ALREADY_EXISTS`
    AlreadyExists = 6,
    /// `PERMISSION_DENIED`
    PermissionDenied = 7,
    /// `RESOURCE_EXHAUSTED`
    ResourceExhausted = 8,
    /// `FAILED_PRECONDITION`
    FailedPrecondition = 9,
    /// `ABORTED`
    Aborted = 10,
    /// `OUT_OF_RANGE`
    OutOfRange = 11,
    /// `UNIMPLEMENTED`
    Unimplemented = 12,
    /// `INTERNAL`
    Internal = 13,
    /// `UNAVAILABLE`
    Unavailable = 14,
    /// `DATA_LOSS`
    DataLoss = 15,
    /// `UNAUTHENTICATED`
    Unauthenticated = 16,
}

impl GrpcCode {
    /// The numeric code carried in the `grpc-status` trailer.
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

impl ErrorKind {
    /// Every kind, for exhaustive table tests and documentation.
    pub const ALL: [ErrorKind; 15] = [
        ErrorKind::BadData,
        ErrorKind::Execution,
        ErrorKind::Timeout,
        ErrorKind::Canceled,
        ErrorKind::Internal,
        ErrorKind::Unavailable,
        ErrorKind::NotFound,
        ErrorKind::NotAcceptable,
        ErrorKind::TooManyRequests,
        ErrorKind::PayloadTooLarge,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::MethodNotAllowed,
        ErrorKind::UnsupportedMediaType,
        ErrorKind::NotImplemented,
    ];

    /// The HTTP status code of this kind in the Prometheus-compatible JSON API.
    pub fn http_status_code(self) -> u16 {
        match self {
            ErrorKind::BadData => 400,
            ErrorKind::Execution => 422,
            ErrorKind::Timeout => 503,
            ErrorKind::Canceled => 499,
            ErrorKind::Internal => 500,
            // Prometheus' respondError has no case for `unavailable`: the default gives 500.
            ErrorKind::Unavailable => 500,
            ErrorKind::NotFound => 404,
            ErrorKind::NotAcceptable => 406,
            ErrorKind::TooManyRequests => 429,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::NotImplemented => 501,
        }
    }

    /// The HTTP status as an `http` crate value (all codes in the table are valid).
    pub fn http_status(self) -> http::StatusCode {
        http::StatusCode::from_u16(self.http_status_code())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The HTTP status Loki's query path answers for this kind (`ClientHTTPStatusAndError`):
    /// a timeout is a 504 there (not Prometheus' 503) and `unavailable` a 503; the rest agrees.
    pub fn loki_http_status_code(self) -> u16 {
        match self {
            ErrorKind::Timeout => 504,
            // dskit/Loki answer "not ready" and "ingester down" as 503.
            ErrorKind::Unavailable => 503,
            other => other.http_status_code(),
        }
    }

    /// The `errorType` string of the Prometheus/Loki JSON envelope.
    ///
    /// The nine Prometheus values are exact; kinds Prometheus lacks get a descriptive
    /// snake_case name in the same style.
    pub fn error_type(self) -> &'static str {
        match self {
            ErrorKind::BadData => "bad_data",
            ErrorKind::Execution => "execution",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Canceled => "canceled",
            ErrorKind::Internal => "internal",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::NotFound => "not_found",
            ErrorKind::NotAcceptable => "not_acceptable",
            ErrorKind::TooManyRequests => "too_many_requests",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::NotImplemented => "not_implemented",
        }
    }

    /// The gRPC status code a gRPC endpoint answers for this kind.
    pub fn grpc_code(self) -> GrpcCode {
        match self {
            ErrorKind::BadData => GrpcCode::InvalidArgument,
            ErrorKind::Execution => GrpcCode::FailedPrecondition,
            ErrorKind::Timeout => GrpcCode::DeadlineExceeded,
            ErrorKind::Canceled => GrpcCode::Cancelled,
            ErrorKind::Internal => GrpcCode::Internal,
            ErrorKind::Unavailable => GrpcCode::Unavailable,
            ErrorKind::NotFound => GrpcCode::NotFound,
            ErrorKind::NotAcceptable => GrpcCode::InvalidArgument,
            ErrorKind::TooManyRequests => GrpcCode::ResourceExhausted,
            ErrorKind::PayloadTooLarge => GrpcCode::ResourceExhausted,
            ErrorKind::Unauthorized => GrpcCode::Unauthenticated,
            ErrorKind::Forbidden => GrpcCode::PermissionDenied,
            ErrorKind::MethodNotAllowed => GrpcCode::Unimplemented,
            ErrorKind::UnsupportedMediaType => GrpcCode::InvalidArgument,
            ErrorKind::NotImplemented => GrpcCode::Unimplemented,
        }
    }

    /// Whether the caller is at fault (4xx): such errors are answered but not logged.
    pub fn is_client_error(self) -> bool {
        (400..500).contains(&self.http_status_code())
    }

    /// Parse a Prometheus/Loki `errorType` back into a kind (used by clients and tests).
    pub fn from_error_type(s: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.error_type() == s)
    }

    /// The kind for an HTTP status received from a peer (remote write, push forwarding).
    pub fn from_http_status(code: u16) -> ErrorKind {
        match code {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            405 => ErrorKind::MethodNotAllowed,
            406 => ErrorKind::NotAcceptable,
            413 => ErrorKind::PayloadTooLarge,
            415 => ErrorKind::UnsupportedMediaType,
            422 => ErrorKind::Execution,
            429 => ErrorKind::TooManyRequests,
            499 => ErrorKind::Canceled,
            501 => ErrorKind::NotImplemented,
            503 => ErrorKind::Unavailable,
            504 => ErrorKind::Timeout,
            400..=499 => ErrorKind::BadData, // 400 and the 4xx without a kind of their own
            _ => ErrorKind::Internal,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.error_type())
    }
}

/// Implemented by every service error so the API layer can answer it without a per-service
/// status table.
pub trait HasErrorKind {
    /// The kind that decides status, `errorType` and gRPC code.
    fn error_kind(&self) -> ErrorKind;
}

impl HasErrorKind for ErrorKind {
    fn error_kind(&self) -> ErrorKind {
        *self
    }
}

impl<T: HasErrorKind + ?Sized> HasErrorKind for Box<T> {
    fn error_kind(&self) -> ErrorKind {
        (**self).error_kind()
    }
}

impl HasErrorKind for std::io::Error {
    fn error_kind(&self) -> ErrorKind {
        match self.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::TimedOut => ErrorKind::Timeout,
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                ErrorKind::BadData
            }
            _ => ErrorKind::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_status_table() {
        // Prometheus 3.x respondError.
        let expected = [
            ("bad_data", 400),
            ("execution", 422),
            ("canceled", 499),
            ("timeout", 503),
            ("internal", 500),
            ("unavailable", 500),
            ("not_found", 404),
            ("not_acceptable", 406),
        ];
        for (ty, code) in expected {
            let kind = ErrorKind::from_error_type(ty).unwrap();
            assert_eq!(kind.http_status_code(), code, "{ty}");
            assert_eq!(kind.error_type(), ty);
        }
    }

    #[test]
    fn loki_statuses_differ_only_where_loki_does() {
        assert_eq!(ErrorKind::Timeout.loki_http_status_code(), 504);
        assert_eq!(ErrorKind::Canceled.loki_http_status_code(), 499);
        assert_eq!(ErrorKind::BadData.loki_http_status_code(), 400);
        assert_eq!(ErrorKind::Unauthorized.loki_http_status_code(), 401);
        assert_eq!(ErrorKind::TooManyRequests.loki_http_status_code(), 429);
        assert_eq!(ErrorKind::PayloadTooLarge.loki_http_status_code(), 413);
    }

    #[test]
    fn every_kind_round_trips_and_has_valid_status() {
        let mut seen = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            assert!(seen.insert(kind.error_type()), "duplicate {kind}");
            assert_eq!(ErrorKind::from_error_type(kind.error_type()), Some(kind));
            assert_eq!(kind.http_status().as_u16(), kind.http_status_code());
            assert_ne!(kind.grpc_code(), GrpcCode::Ok);
        }
        assert_eq!(ErrorKind::from_error_type("nope"), None);
    }

    #[test]
    fn client_errors() {
        assert!(ErrorKind::BadData.is_client_error());
        assert!(ErrorKind::Canceled.is_client_error());
        assert!(ErrorKind::TooManyRequests.is_client_error());
        assert!(!ErrorKind::Internal.is_client_error());
        assert!(!ErrorKind::Timeout.is_client_error());
        assert!(!ErrorKind::Unavailable.is_client_error());
    }

    #[test]
    fn grpc_codes_are_wire_values() {
        assert_eq!(ErrorKind::BadData.grpc_code().as_i32(), 3);
        assert_eq!(ErrorKind::Timeout.grpc_code().as_i32(), 4);
        assert_eq!(ErrorKind::TooManyRequests.grpc_code().as_i32(), 8);
        assert_eq!(ErrorKind::Unavailable.grpc_code().as_i32(), 14);
        assert_eq!(ErrorKind::Unauthorized.grpc_code().as_i32(), 16);
    }

    #[test]
    fn from_http_status() {
        assert_eq!(ErrorKind::from_http_status(429), ErrorKind::TooManyRequests);
        assert_eq!(ErrorKind::from_http_status(418), ErrorKind::BadData);
        assert_eq!(ErrorKind::from_http_status(502), ErrorKind::Internal);
        assert_eq!(ErrorKind::from_http_status(504), ErrorKind::Timeout);
    }
}
