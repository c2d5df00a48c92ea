// A main() for fuzz targets built without libFuzzer (g++, or clang without
// -fsanitize=fuzzer): runs LLVMFuzzerTestOneInput once on each file named on the
// command line, descending into directories, so the seed corpus and saved crashes
// become a plain regression test under any compiler. Exit status 0 when every
// input ran; a crash or a failed check in the target aborts as it would under
// libFuzzer.
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

// The input being run, named on stderr if it crashes the target: a failed
// FUZZ_CHECK aborts, and ctest's output should say which corpus file did it.
char current_input[4096];

extern "C" void name_the_input(int sig) {
  const char head[] = "\nreplay: crashed on ";
  // Only async-signal-safe calls here: write(2), then the default action.
  (void)!write(2, head, sizeof head - 1);
  (void)!write(2, current_input, std::strlen(current_input));
  (void)!write(2, "\n", 1);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

bool run_file(const std::filesystem::path& p) {
  std::strncpy(current_input, p.c_str(), sizeof current_input - 1);
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", p.c_str());
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // SIGABRT only: the sanitizers install their own SIGSEGV handlers, which report more.
  std::signal(SIGABRT, name_the_input);
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  std::size_t ran = 0;
  bool ok = true;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!arg.empty() && arg[0] == '-') continue;  // libFuzzer flags: ignored here
    const std::filesystem::path path(arg);
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::recursive_directory_iterator(path))
        if (entry.is_regular_file()) files.push_back(entry.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) ok = run_file(f) && ok, ++ran;
    } else if (std::filesystem::exists(path, ec)) {
      ok = run_file(path) && ok;
      ++ran;
    } else {
      std::fprintf(stderr, "replay: %s does not exist\n", arg.c_str());
      ok = false;
    }
  }
  std::fprintf(stderr, "replay: %zu inputs\n", ran);
  if (ran == 0) {
    std::fprintf(stderr, "replay: no inputs (give corpus files or directories)\n");
    return 1;
  }
  return ok ? 0 : 1;
}
