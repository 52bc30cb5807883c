//! Protobuf messages.
