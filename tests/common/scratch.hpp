// A fresh scratch directory per test, and the check that a call throws a
// FileError naming its file: what the file-writing tests (model files,
// datasets, checkpoints, sweeps) share.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <system_error>
#include <vector>

#include "lnn/errors.hpp"

namespace lnn::test {

// dir_ = <tmp>/lnn_<prefix>_<pid>_<suite>_<test>, created empty before each
// test and removed after it.
class ScratchDirTest : public ::testing::Test {
 protected:
  explicit ScratchDirTest(std::string prefix = "test") : prefix_(std::move(prefix)) {}
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    std::replace(name.begin(), name.end(), '/', '_');
    dir_ = std::filesystem::temp_directory_path() /
           ("lnn_" + prefix_ + "_" + std::to_string(::getpid()) + "_" + name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  // The names in the directory, sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::filesystem::path dir_;

 private:
  std::string prefix_;
};

// `fn` must throw FileError whose message names `path` and holds every phrase.
template <class F>
void expect_file_error(const std::string& path, F&& fn,
                       std::initializer_list<std::string> phrases) {
  try {
    fn();
    ADD_FAILURE() << "no FileError; expected one mentioning '" << *phrases.begin() << "'";
  } catch (const FileError& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(what.find(path), std::string::npos) << what;
    for (const std::string& phrase : phrases)
      EXPECT_NE(what.find(phrase), std::string::npos) << what;
  }
}

}  // namespace lnn::test
