"""devauth: OAuth 2.0 Device Authorization Grant (RFC 8628) sign-in for MicroPython boards."""

VERSION = "0.1.0"
