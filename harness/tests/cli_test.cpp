// The `smtpspec` command line as a user meets it: exit codes of design.md and the
// file:line:col messages for bad scenario files.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct outcome {
  int status = -1;
  std::string output;  // stdout and stderr together
};

outcome run(const std::string& args) {
  std::string cmd = std::string(SMTPSPEC_CLI) + " " + args + " 2>&1";
  outcome out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.output.append(buf.data(), n);
  int st = pclose(p);
  out.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

std::string write_temp(const std::string& name, const std::string& content) {
  auto dir = std::filesystem::temp_directory_path() / ("smtpspec-cli-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / name;
  std::ofstream(path) << content;
  return path.string();
}

const char* k_valid_case = R"(
[suite]
name = "t"
title = "t"
[[case]]
id = "t.noop"
title = "Sends NOOP"
requirement = "It specifies no action other than that the receiver send a \"250 OK\" reply."
rfc = "5321#4.1.1.9"
level = "MUST"
steps = [ { send = "EHLO {client}" }, { send = "NOOP", expect = 250 } ]
)";

TEST(cli, help_teaches_and_exits_0) {
  auto r = run("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("Exit codes"), std::string::npos);
  EXPECT_NE(r.output.find("server"), std::string::npos);
}

TEST(cli, unknown_option_is_a_usage_error) { EXPECT_EQ(run("server --no-such-option").status, 2); }

TEST(cli, toml_syntax_error_gives_file_line_col_and_exit_2) {
  auto path = write_temp("syntax.toml", "[suite]\nname = \"t\"\ntitle = \n");
  auto r = run("server --suite " + path);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(path + ":3:"), std::string::npos) << r.output;
}

TEST(cli, unknown_key_gives_file_line_col_and_exit_2) {
  std::string text = k_valid_case;
  text.replace(text.find("steps = [ { send"), 16, "steps = [ { sned");
  auto path = write_temp("unknown-key.toml", text);
  auto r = run("list --suite " + path);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find(path + ":"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sned"), std::string::npos) << r.output;
}

TEST(cli, wrong_type_gives_exit_2) {
  std::string text = k_valid_case;
  text.replace(text.find("level = \"MUST\""), 14, "level = 3");
  auto r = run("list --suite " + write_temp("wrong-type.toml", text));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("level"), std::string::npos) << r.output;
}

TEST(cli, step_without_action_gives_exit_2) {
  std::string text = k_valid_case;
  text.replace(text.find("{ send = \"NOOP\", expect = 250 }"), 31, "{ expect = 250 }");
  auto r = run("list --suite " + write_temp("missing-send.toml", text));
  EXPECT_EQ(r.status, 2) << r.output;
}

TEST(cli, unreachable_target_exits_3) {
  auto r = run("server 127.0.0.1:1 --suite " + write_temp("ok.toml", k_valid_case) + " --connect-timeout 2");
  EXPECT_EQ(r.status, 3) << r.output;
}

TEST(cli, a_valid_case_passes_against_the_embedded_server_and_writes_json) {
  auto json = std::filesystem::temp_directory_path() / ("smtpspec-cli-" + std::to_string(::getpid()) + ".json");
  auto r = run("server -q --suite " + write_temp("ok2.toml", k_valid_case) + " --json " + json.string());
  EXPECT_EQ(r.status, 0) << r.output;
  std::ifstream in(json);
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(doc.find("\"verdict\": \"PASS\""), std::string::npos);
  EXPECT_NE(doc.find("\"id\": \"t.noop\""), std::string::npos);
}

TEST(cli, a_failing_case_exits_1) {
  auto r = run("server -q --defect stay_open_after_quit --suite " +
               write_temp("quit.toml", std::string(k_valid_case) +
                                           "\n[[case]]\nid = \"t.quit\"\ntitle = \"Sends QUIT\"\nrequirement = \"x\"\n"
                                           "rfc = \"5321#4.1.1.10\"\nlevel = \"MUST\"\nsteps = [ { send = \"QUIT\" } ]\n"));
  EXPECT_EQ(r.status, 1) << r.output;
}

}  // namespace
