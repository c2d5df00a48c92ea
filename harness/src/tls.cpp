// OpenSSL contexts for both sides of STARTTLS (RFC 3207) and implicit TLS (RFC
// 8314), and the self-signed certificate the embedded server uses when none is given.
#include "smtpspec/harness/tls.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include "smtpspec/harness/asio.hpp"

namespace smtpspec::harness {
namespace {

namespace ssl = boost::asio::ssl;

template <class T, void (*Free)(T*)>
struct openssl_deleter {
  void operator()(T* p) const noexcept { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;
using bn_ptr = std::unique_ptr<BIGNUM, openssl_deleter<BIGNUM, BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, openssl_deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using gens_ptr = std::unique_ptr<GENERAL_NAMES, openssl_deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

[[noreturn]] void fail(const std::string& what) {
  std::string detail = openssl_errors();
  throw std::runtime_error(detail.empty() ? what : what + ": " + detail);
}

[[noreturn]] void fail(const std::string& what, const boost::system::error_code& ec) {
  std::string detail = openssl_errors();
  std::string msg = what + ": " + ec.message();
  if (!detail.empty()) msg += " (" + detail + ")";
  throw std::runtime_error(msg);
}

void check(int ok, const char* what) {
  if (ok <= 0) fail(what);
}

/// A random positive 63-bit serial (RFC 5280 4.1.2.2: unique per issuer, <= 20 octets).
void set_random_serial(X509* x) {
  unsigned char raw[8];
  check(RAND_bytes(raw, sizeof raw), "RAND_bytes");
  raw[0] &= 0x7f;
  bn_ptr bn(BN_bin2bn(raw, sizeof raw, nullptr));
  if (!bn) fail("BN_bin2bn");
  if (!BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x))) fail("BN_to_ASN1_INTEGER");
}

/// An extension from OpenSSL's config syntax; only used with fixed strings.
void add_conf_extension(X509* x, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) fail(std::string("X509V3_EXT_conf_nid ") + value);
  check(X509_add_ext(x, ext.get(), -1), "X509_add_ext");
}

/// Appends one DNS or IP entry. Built programmatically, not from a config string,
/// so an odd common name (commas, spaces) cannot inject other entries.
void push_name(GENERAL_NAMES* gens, const std::string& name) {
  GENERAL_NAME* gen = nullptr;
  if (is_ip_literal(name)) {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(name.c_str());
    if (!ip) fail("a2i_IPADDRESS " + name);
    gen = GENERAL_NAME_new();
    if (!gen) {
      ASN1_OCTET_STRING_free(ip);
      fail("GENERAL_NAME_new");
    }
    GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
  } else {
    ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
    if (!dns || !ASN1_STRING_set(dns, name.data(), static_cast<int>(name.size()))) {
      ASN1_IA5STRING_free(dns);
      fail("ASN1_STRING_set");
    }
    gen = GENERAL_NAME_new();
    if (!gen) {
      ASN1_IA5STRING_free(dns);
      fail("GENERAL_NAME_new");
    }
    GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
  }
  if (!sk_GENERAL_NAME_push(gens, gen)) {
    GENERAL_NAME_free(gen);
    fail("sk_GENERAL_NAME_push");
  }
}

/// SAN = DNS:name, DNS:localhost, IP:127.0.0.1, IP:::1 (names deduplicated), so the
/// certificate verifies for every way a local test reaches the server.
void add_subject_alt_names(X509* x, const std::string& name) {
  gens_ptr gens(sk_GENERAL_NAME_new_null());
  if (!gens) fail("sk_GENERAL_NAME_new_null");
  std::vector<std::string> names{name, "localhost", "127.0.0.1", "::1"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    bool dup = names[i].empty();
    for (std::size_t j = 0; j < i && !dup; ++j) dup = names[j] == names[i];
    if (!dup) push_name(gens.get(), names[i]);
  }
  check(X509_add1_ext_i2d(x, NID_subject_alt_name, gens.get(), 0, X509V3_ADD_DEFAULT), "X509_add1_ext_i2d SAN");
}

void set_subject(X509* x, const std::string& common_name) {
  // RFC 5280 A.1: ub-common-name is 64; a longer name stays in the SAN only.
  std::string cn = common_name.empty() || common_name.size() > 64 ? "localhost" : common_name;
  X509_NAME* subject = X509_get_subject_name(x);
  check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                   -1, 0),
        "X509_NAME_add_entry_by_txt");
  check(X509_set_issuer_name(x, subject), "X509_set_issuer_name");
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

void apply_common_options(ssl::context& ctx) {
  boost::system::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_compression,
                  ec);
  if (ec) fail("set_options", ec);
}

void load_client_identity(ssl::context& ctx, const client_tls_options& opt) {
  if (opt.client_cert.empty()) return;
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(opt.client_cert, ec);
  if (ec) fail("client certificate " + opt.client_cert, ec);
  const std::string& key = opt.client_key.empty() ? opt.client_cert : opt.client_key;
  ctx.use_private_key_file(key, ssl::context::pem, ec);
  if (ec) fail("client key " + key, ec);
  check(SSL_CTX_check_private_key(ctx.native_handle()), "client key does not match the certificate");
}

void harden_server(ssl::context& ctx) {
  apply_common_options(ctx);
  // A hostile client must not be able to make the server renegotiate at will.
  SSL_CTX_set_options(ctx.native_handle(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
}

}  // namespace

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

std::string strip_brackets(const std::string& host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

tls_peer_name peer_name_for(const client_tls_options& opt, const std::string& host) {
  tls_peer_name p;
  p.name = strip_brackets(opt.sni.empty() ? host : opt.sni);
  p.ip = !p.name.empty() && is_ip_literal(p.name);
  return p;
}

void configure_peer_name(SSL* ssl, const client_tls_options& opt, const std::string& host) {
  const tls_peer_name peer = peer_name_for(opt, host);
  if (peer.name.empty()) return;
  // RFC 6066 3: SNI carries host names only, never address literals.
  if (!peer.ip && SSL_set_tlsext_host_name(ssl, peer.name.c_str()) != 1) fail("SSL_set_tlsext_host_name " + peer.name);
  if (opt.insecure) return;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  int ok = 0;
  if (peer.ip) {
    ok = X509_VERIFY_PARAM_set1_ip_asc(param, peer.name.c_str());
  } else {
    // RFC 6125 6.4.3: a wildcard only as the whole left-most label.
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    ok = X509_VERIFY_PARAM_set1_host(param, peer.name.c_str(), peer.name.size());
  }
  if (ok != 1) fail("TLS peer name " + peer.name);
}

pem_identity make_self_signed(const std::string& common_name) {
  ERR_clear_error();
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key) fail("EVP_EC_gen P-256");
  x509_ptr x(X509_new());
  if (!x) fail("X509_new");
  check(X509_set_version(x.get(), 2), "X509_set_version");  // 2 means v3
  set_random_serial(x.get());
  if (!X509_gmtime_adj(X509_getm_notBefore(x.get()), -24L * 3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(x.get()), 365L * 24 * 3600))
    fail("X509_gmtime_adj");
  check(X509_set_pubkey(x.get(), key.get()), "X509_set_pubkey");
  set_subject(x.get(), common_name);
  // CA:TRUE lets clients use the certificate itself as their trust anchor (ca_file).
  add_conf_extension(x.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_conf_extension(x.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  add_conf_extension(x.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  add_conf_extension(x.get(), NID_subject_key_identifier, "hash");
  add_subject_alt_names(x.get(), common_name);
  check(X509_sign(x.get(), key.get(), EVP_sha256()), "X509_sign");

  bio_ptr cert_bio(BIO_new(BIO_s_mem())), key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio) fail("BIO_new");
  check(PEM_write_bio_X509(cert_bio.get(), x.get()), "PEM_write_bio_X509");
  check(PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PrivateKey");
  return {bio_text(cert_bio.get()), bio_text(key_bio.get())};
}

ssl::context make_client_context(const client_tls_options& opt) {
  ERR_clear_error();
  ssl::context ctx(ssl::context::tls_client);
  apply_common_options(ctx);
  boost::system::error_code ec;
  if (opt.insecure) {
    ctx.set_verify_mode(ssl::verify_none, ec);
  } else {
    // The host name itself is checked per connection (connection.cpp): the
    // context is not tied to one target.
    ctx.set_verify_mode(ssl::verify_peer, ec);
    if (!ec) ctx.set_default_verify_paths(ec);
    if (!ec && !opt.ca_file.empty()) {
      ctx.load_verify_file(opt.ca_file, ec);
      if (ec) fail("CA file " + opt.ca_file, ec);
    }
  }
  if (ec) fail("client verification setup", ec);
  load_client_identity(ctx, opt);
  return ctx;
}

ssl::context make_server_context(const pem_identity& id) {
  ERR_clear_error();
  ssl::context ctx(ssl::context::tls_server);
  harden_server(ctx);
  boost::system::error_code ec;
  ctx.use_certificate_chain(boost::asio::buffer(id.certificate), ec);
  if (ec) fail("server certificate", ec);
  ctx.use_private_key(boost::asio::buffer(id.private_key), ssl::context::pem, ec);
  if (ec) fail("server key", ec);
  check(SSL_CTX_check_private_key(ctx.native_handle()), "server key does not match the certificate");
  return ctx;
}

ssl::context make_server_context(const server_tls_options& opt) {
  if (opt.cert_file.empty()) return make_server_context(make_self_signed(opt.common_name));
  ERR_clear_error();
  ssl::context ctx(ssl::context::tls_server);
  harden_server(ctx);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(opt.cert_file, ec);
  if (ec) fail("server certificate " + opt.cert_file, ec);
  const std::string& key = opt.key_file.empty() ? opt.cert_file : opt.key_file;
  ctx.use_private_key_file(key, ssl::context::pem, ec);
  if (ec) fail("server key " + key, ec);
  check(SSL_CTX_check_private_key(ctx.native_handle()), "server key does not match the certificate");
  return ctx;
}

}  // namespace smtpspec::harness
