// Benchmarks of the reference model (Google Benchmark). One file, one BENCHMARK
// per operation; throughput is reported as bytes/s via SetBytesProcessed.
//
//   DATA transparency (RFC 5321 4.5.2, 4.1.1.4): decoding and encoding a 10 MB
//   body of typical text: lines of about 70 octets ending in CRLF, one line in
//   about 40 starting with "." (so stuffed on the wire).
//   Command lines (RFC 5321 4.1.1, 4.1.2): a typical transaction's lines; items/s
//   is lines parsed per second.
//   Replies (RFC 5321 4.2): single-line and a 10-line EHLO reply; items/s is
//   replies parsed per second.
//
// Build alone (the tree's CMake builds it as reference_bench):
//   g++ -std=c++20 -O2 -DNDEBUG -I reference/include reference/src/*.cpp
//       reference/bench/reference_bench.cpp -lbenchmark -pthread
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "smtpspec/reference/command.hpp"
#include "smtpspec/reference/data_transparency.hpp"
#include "smtpspec/reference/reply.hpp"

namespace ref = smtpspec::reference;

namespace {

constexpr std::size_t k_body_size = 10 * 1000 * 1000;

// Message content: printable text, CRLF line ends, line length 50 to 90 octets
// (mean ~70), and occasional lines starting with "." (quoted text, "..." lines).
std::string make_text_content(std::size_t size) {
  std::mt19937 rng(5321);
  std::uniform_int_distribution<int> line_len(50, 90);
  std::uniform_int_distribution<int> letter(0, 63);
  std::uniform_int_distribution<int> one_in_40(0, 39);
  static constexpr std::string_view k_alphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,";
  std::string s;
  s.reserve(size + 128);
  while (s.size() < size) {
    const int len = line_len(rng);
    int k = 0;
    if (one_in_40(rng) == 0) {
      s.push_back('.');
      ++k;
    }
    for (; k < len; ++k) s.push_back(k_alphabet[static_cast<std::size_t>(letter(rng))]);
    s.append("\r\n");
  }
  return s;
}

const std::string& text_content() {
  static const std::string s = make_text_content(k_body_size);
  return s;
}

const std::string& encoded_body() {
  static const std::string s = ref::encode_data(text_content());
  return s;
}

void BM_data_decode_10MB(benchmark::State& state) {
  const std::string& wire = encoded_body();
  ref::data_decoder dec;
  std::string out;
  out.reserve(wire.size());
  for (auto _ : state) {
    dec.reset();
    out.clear();
    const auto r = dec.feed(wire, out);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out.data());
    if (!r.end_of_data || out.size() != text_content().size()) state.SkipWithError("decode mismatch");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(BM_data_decode_10MB)->Unit(benchmark::kMillisecond);

// The same body arriving as a network would deliver it, in 64 KiB reads.
void BM_data_decode_10MB_64KiB_chunks(benchmark::State& state) {
  const std::string& wire = encoded_body();
  constexpr std::size_t k_chunk = 64 * 1024;
  ref::data_decoder dec;
  std::string out;
  out.reserve(wire.size());
  for (auto _ : state) {
    dec.reset();
    out.clear();
    const std::string_view rest(wire);
    for (std::size_t at = 0; at < rest.size(); at += k_chunk) dec.feed(rest.substr(at, k_chunk), out);
    benchmark::DoNotOptimize(out.data());
    if (!dec.ended() || out.size() != text_content().size()) state.SkipWithError("decode mismatch");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(wire.size()));
}
BENCHMARK(BM_data_decode_10MB_64KiB_chunks)->Unit(benchmark::kMillisecond);

void BM_data_encode_10MB(benchmark::State& state) {
  const std::string& content = text_content();
  ref::data_encoder enc;
  std::string out;
  out.reserve(encoded_body().size());
  for (auto _ : state) {
    out.clear();
    enc.encode(content, out);
    enc.finish(out);
    benchmark::DoNotOptimize(out.data());
    if (out.size() != encoded_body().size()) state.SkipWithError("encode mismatch");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(content.size()));
}
BENCHMARK(BM_data_encode_10MB)->Unit(benchmark::kMillisecond);

}  // namespace

namespace {

// The lines of an ordinary transaction, as a client sends them.
constexpr std::string_view k_command_lines[] = {
    "EHLO client.example.com",
    "MAIL FROM:<user@example.com> SIZE=1000",
    "RCPT TO:<a@b.example>",
    "RCPT TO:<\"quoted local\"@[192.0.2.1]>",
    "DATA",
    "RSET",
    "NOOP",
    "QUIT",
};

void BM_command_parse(benchmark::State& state) {
  std::size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const auto line = k_command_lines[i++ % std::size(k_command_lines)];
    auto r = ref::parse_command(line);
    benchmark::DoNotOptimize(r);
    bytes += line.size();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_command_parse);

void BM_reply_parse_single_line(benchmark::State& state) {
  ref::reply_parser parser;
  for (auto _ : state) {
    auto st = parser.feed_line("250 2.1.5 Recipient <user@example.com> OK");
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(parser.peek());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_reply_parse_single_line);

void BM_reply_parse_ehlo(benchmark::State& state) {
  constexpr std::string_view lines[] = {
      "250-mx.example.com greets client.example.com", "250-PIPELINING", "250-SIZE 10240000", "250-ETRN",
      "250-STARTTLS", "250-ENHANCEDSTATUSCODES", "250-8BITMIME", "250-DSN", "250-SMTPUTF8", "250 CHUNKING"};
  ref::reply_parser parser;
  for (auto _ : state) {
    for (auto l : lines) benchmark::DoNotOptimize(parser.feed_line(l));
    benchmark::DoNotOptimize(parser.peek());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_reply_parse_ehlo);

}  // namespace

BENCHMARK_MAIN();
