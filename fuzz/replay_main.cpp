// smtpkit fuzzing: a main() that feeds files (or every file in given directories) to
// LLVMFuzzerTestOneInput, so each fuzz target also builds and runs with any compiler as a plain
// corpus replay (simdjson's and fmt's LINKMAIN idea: fuzzers that cannot bitrot).
// SPDX-License-Identifier: MIT
#include <dirent.h>    // opendir, readdir
#include <sys/stat.h>  // stat

#include <cstddef>  // size_t
#include <cstdint>  // uint8_t
#include <cstdio>   // fopen, fread, printf
#include <string>   // string
#include <vector>   // vector

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

bool replay_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "replay: cannot open %s\n", path.c_str());
    return false;
  }
  std::vector<std::uint8_t> data;
  std::uint8_t buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.insert(data.end(), buf, buf + n);
  std::fclose(f);
  // An exact-size heap copy, so that ASan sees a read one past the end.
  std::vector<std::uint8_t> exact(data.begin(), data.end());
  exact.shrink_to_fit();
  LLVMFuzzerTestOneInput(exact.empty() ? nullptr : exact.data(), exact.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t files = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    struct stat st {};
    if (stat(arg.c_str(), &st) != 0) {
      std::fprintf(stderr, "replay: no such file or directory: %s\n", arg.c_str());
      return 1;
    }
    if (S_ISDIR(st.st_mode)) {
      DIR* d = opendir(arg.c_str());
      if (!d) return 1;
      std::vector<std::string> names;
      while (dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') names.push_back(arg + "/" + e->d_name);
      }
      closedir(d);
      for (const auto& p : names) {
        if (!replay_file(p)) return 1;
        ++files;
      }
    } else {
      if (!replay_file(arg)) return 1;
      ++files;
    }
  }
  std::printf("replayed %zu inputs\n", files);
  return files == 0 ? 1 : 0;
}
