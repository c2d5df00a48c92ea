// The EHLO reply as a list of service extensions: RFC 5321 section 4.1.1.1
// (ehlo-ok-rsp, ehlo-line, ehlo-keyword, ehlo-param) and the parameters of the
// extensions smtpspec knows: SIZE (RFC 1870 section 4), AUTH (RFC 4954 section 3),
// and the keywords of 2920, 3207, 6152, 6531, 3030, 2034.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtpspec/reference/error.hpp"
#include "smtpspec/reference/reply.hpp"

namespace smtpspec::reference {

struct extension {
  std::string keyword;              ///< upper-cased ehlo-keyword
  std::vector<std::string> params;  ///< ehlo-params as sent
  /// Not an ehlo-line: the historic "AUTH=mech mech..." form (sent by servers for
  /// pre-RFC 2554 clients; "=" cannot occur in an ehlo-keyword). Tolerated, never
  /// merged into AUTH: `keyword` is the upper-cased first token as sent (e.g.
  /// "AUTH=LOGIN"), `params` the rest, so find("AUTH") never returns it.
  bool legacy = false;
};

class extension_list {
 public:
  /// The domain from the first line of the EHLO reply.
  std::string domain;
  /// The ehlo-greet after the domain (without the separating SP); may be empty.
  std::string greeting;
  /// The first line named the server by an address literal. ehlo-ok-rsp says
  /// Domain only; tolerated (the Greeting allows it) but recorded.
  bool domain_is_literal = false;
  /// Extensions in the order advertised.
  std::vector<extension> items;

  /// Case-insensitive lookup (ehlo-keywords are case-insensitive, 2.4).
  bool has(std::string_view keyword) const;
  const extension* find(std::string_view keyword) const;

  /// RFC 1870: the SIZE limit; std::nullopt if SIZE is not advertised, 0 if it is
  /// advertised without a limit (or with "0").
  std::optional<std::uint64_t> size_limit() const;
  /// RFC 4954: the SASL mechanisms of the AUTH keyword, upper-cased. The legacy
  /// "AUTH=" line is not consulted.
  std::vector<std::string> auth_mechanisms() const;
  /// True when some line used the historic "AUTH=mech" form (see extension::legacy).
  bool has_legacy_auth() const;
};

/// Turns a 250 reply to EHLO into an extension list. Errors: bad_ehlo_reply (not 250,
/// no domain on the first line, or a line that is not an ehlo-line; a SIZE
/// parameter other than one 1*DIGIT that fits in 64 bits), bad_auth_mechanism (an
/// AUTH parameter that is not a SASL mechanism name, RFC 4422 section 3.1:
/// 1*20 of ALPHA / DIGIT / "-" / "_"; lower case is accepted and upper-cased),
/// with offset into r.to_wire() (see reply.hpp: it names the line and the octet).
result<extension_list> parse_ehlo_reply(const reply& r);

}  // namespace smtpspec::reference
