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
};

class extension_list {
 public:
  /// The domain from the first line of the EHLO reply.
  std::string domain;
  /// Extensions in the order advertised.
  std::vector<extension> items;

  /// Case-insensitive lookup (ehlo-keywords are case-insensitive, 2.4).
  bool has(std::string_view keyword) const;
  const extension* find(std::string_view keyword) const;

  /// RFC 1870: the SIZE limit; std::nullopt if SIZE is not advertised, 0 if it is
  /// advertised without a limit (or with "0").
  std::optional<std::uint64_t> size_limit() const;
  /// RFC 4954: the SASL mechanisms of the AUTH keyword, upper-cased.
  std::vector<std::string> auth_mechanisms() const;
};

/// Turns a 250 reply to EHLO into an extension list. Errors: bad_ehlo_reply (not 250,
/// no domain on the first line, or a line that is not an ehlo-line), with offset
/// relative to the text of the line concerned.
result<extension_list> parse_ehlo_reply(const reply& r);

}  // namespace smtpspec::reference
