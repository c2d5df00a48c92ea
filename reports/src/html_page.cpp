// The document shell of the HTML report: head with a strict Content-Security-
// Policy, the stylesheet, the one inline script. The policy is the second line of
// defence behind escaping: even a string that slipped past escape() cannot run
// script (only the script whose SHA-256 is listed may) or fetch anything
// (default-src 'none'; images only as data: URLs; no <base>, no form targets).
#include <openssl/evp.h>

#include <stdexcept>

#include "html_parts.hpp"

namespace smtpspec::reports::html {

std::string script_hash() {
  // Computed from the script text itself, so editing the script cannot leave a
  // stale hash behind (a stale hash would silently disable filtering).
  static const std::string hash = [] {
    const std::string_view s = script();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(s.data(), s.size(), md, &md_len, EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("SHA-256 of the report script failed");
    unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    const int n = EVP_EncodeBlock(b64, md, static_cast<int>(md_len));
    return "sha256-" + std::string(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n));
  }();
  return hash;
}

std::string content_security_policy() {
  return "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src '" + script_hash() +
         "'; base-uri 'none'; form-action 'none'";
}

void page_begin(std::string& out, std::string_view title) {
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  // First in <head>, before anything rendered from the run, so it governs all of it.
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"";
  escape(out, content_security_policy());
  out += "\">\n<meta name=\"referrer\" content=\"no-referrer\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<meta name=\"generator\" content=\"smtpspec\">\n<title>";
  escape(out, title, escape_mode::text, 300);
  out += "</title>\n<style>";
  out += stylesheet();
  out += "</style>\n</head>\n<body>\n";
}

void page_end(std::string& out) {
  out += "<script>";
  out += script();
  out += "</script>\n</body>\n</html>\n";
}

}  // namespace smtpspec::reports::html
