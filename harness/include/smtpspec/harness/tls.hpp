// TLS contexts through OpenSSL (via Boost.Asio's ssl::context): the client side
// for STARTTLS (RFC 3207) and implicit TLS (RFC 8314), and the server side of the
// embedded reference server with a self-signed certificate made at start-up
// when none is given.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <optional>
#include <string>

namespace smtpspec::harness {

struct client_tls_options {
  /// Accept any certificate (self-signed targets). Off: verify against the system
  /// store (or `ca_file`) and the host name.
  bool insecure = false;
  std::string ca_file;       ///< extra trust anchors (PEM), optional
  std::string sni;           ///< server name to send and verify; empty: the target host if it is a name
  std::string client_cert;   ///< PEM certificate chain, optional
  std::string client_key;    ///< PEM private key, optional
};

struct server_tls_options {
  std::string cert_file;  ///< PEM chain; empty: generate a self-signed one
  std::string key_file;
  std::string common_name = "localhost";
};

/// A certificate and key in PEM, e.g. freshly generated.
struct pem_identity {
  std::string certificate;
  std::string private_key;
};

/// Generates a self-signed P-256 certificate (X.509 v3, SAN = DNS:name,
/// DNS:localhost, IP:127.0.0.1, IP:::1), valid from yesterday for a year.
/// Throws std::runtime_error on an OpenSSL failure.
pem_identity make_self_signed(const std::string& common_name);

/// Throws std::runtime_error (with the OpenSSL reason) on failure.
boost::asio::ssl::context make_client_context(const client_tls_options& opt);
boost::asio::ssl::context make_server_context(const server_tls_options& opt);
/// A server context from a certificate and key held in memory (e.g. one made by
/// make_self_signed, so that the caller can also hand the certificate to clients).
boost::asio::ssl::context make_server_context(const pem_identity& id);

/// True if `host` is an IPv4 or IPv6 address literal (no brackets): such names
/// are verified as iPAddress SANs and never sent as SNI (RFC 6066 3).
bool is_ip_literal(const std::string& host);

/// `host` without the brackets of an IPv6 literal ("[::1]" gives "::1"); any
/// other text as it is.
std::string strip_brackets(const std::string& host);

/// The name a TLS client expects the server's certificate to carry: `opt.sni`,
/// else the target `host`, without brackets; `ip` when it is an address literal.
struct tls_peer_name {
  std::string name;
  bool ip = false;
};
tls_peer_name peer_name_for(const client_tls_options& opt, const std::string& host);

/// Sets up the peer name of the client connection `ssl` before its handshake
/// (the one set-up for every TLS client of smtpspec). A DNS name is sent as SNI
/// and verified as the certificate's host name (RFC 6125 6.4.3: a wildcard only as
/// the whole left-most label). An address literal is never sent as SNI (RFC 6066
/// 3: "Literal IPv4 and IPv6 addresses are not permitted in "HostName"") and is
/// verified against the certificate's iPAddress names. With opt.insecure nothing
/// is verified, but SNI is still sent. An empty name sets nothing. Throws
/// std::runtime_error when OpenSSL refuses the name (e.g. an SNI over 255 octets).
void configure_peer_name(SSL* ssl, const client_tls_options& opt, const std::string& host);

/// The OpenSSL error queue as text (and cleared), for messages.
std::string openssl_errors();

}  // namespace smtpspec::harness
