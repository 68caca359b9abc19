// Hostile weight files (issue 23, rows 7 and 14): a torch.save pickle nesting a million lists,
// or nesting deep through its memo, or holding itself, is an InputError (or a plain "not a
// state dict"), never a crash; a tensor of the wrong shape is refused from the file's header
// before its data is read (checked on sparse files of 512 MiB to 1 GiB: peak memory stays
// small), and tensors that do not load are never read.
#include "core/core.h"
#include "models/models.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using vfp::models::LoadMode;

fs::path scratch() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("vfp_weight_limits_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

std::string le(std::uint64_t n, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i, n >>= 8)
    out += char(n & 0xFF);
  return out;
}

/// Pickle opcodes for the hand-made pickles below.
std::string unicode(const std::string& s) {
  return "X" + le(s.size(), 4) + s;
}
std::string binint(std::int32_t n) {
  return "J" + le(std::uint32_t(n), 4);
}

/// Writes a file chunk by chunk, skipping runs of zeros with lseek so that they become holes:
/// a zip record of 512 MiB of zeros costs no disk.
class SparseWriter {
public:
  explicit SparseWriter(const fs::path& file)
      : fd_(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) {}
  ~SparseWriter() { ::close(fd_); }
  std::size_t write(const void* data, std::size_t n) {
    const char* p = static_cast<const char*>(data);
    constexpr std::size_t kBlock = 1 << 16;
    for (std::size_t done = 0; done < n;) {
      const std::size_t block = std::min(kBlock, n - done);
      bool zeros = true;
      for (std::size_t i = 0; i < block && zeros; ++i)
        zeros = p[done + i] == 0;
      if (zeros)
        ::lseek(fd_, off_t(block), SEEK_CUR);
      else if (::write(fd_, p + done, block) != ssize_t(block))
        return 0;
      done += block;
    }
    end_ += n;
    return n;
  }
  bool finish() const { return ::ftruncate(fd_, off_t(end_)) == 0; } // a hole at the end

private:
  int fd_;
  std::size_t end_ = 0;
};

/// A torch.save zip archive: `pickle` as data.pkl and each (key, bytes, size) as data/<key>.
void write_torch_archive(
    const fs::path& file, const std::string& pickle,
    const std::vector<std::tuple<std::string, const void*, std::size_t>>& records = {}) {
  SparseWriter out(file);
  {
    caffe2::serialize::PyTorchStreamWriter writer(
        [&](const void* data, std::size_t n) { return out.write(data, n); });
    writer.writeRecord("data.pkl", pickle.data(), pickle.size());
    for (const auto& [key, data, size] : records)
      writer.writeRecord("data/" + key, data, size);
    writer.writeEndOfFile();
  }
  ASSERT_TRUE(out.finish());
}

/// Peak resident memory (VmHWM) since reset_peak(), and the current one, in MiB.
double status_mib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::stod(line.substr(field.size() + 1)) / 1024.0; // "VmHWM:  12345 kB"
  return -1;
}
bool reset_peak() {
  const int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  const bool ok = fd >= 0 && ::write(fd, "5", 1) == 1;
  if (fd >= 0)
    ::close(fd);
  return ok;
}

void expect_input_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "no vfp::InputError; expected one mentioning " << *parts.begin();
  } catch (const vfp::InputError& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "'" << p << "' not in: " << e.what();
  }
}

/// torch.save's pickle of {key: a float32 tensor rows x cols viewing storage "0" of numel
/// elements}, opcode for opcode as Python writes it (protocol 2, without the memo).
std::string tensor_pickle(const std::string& key, std::int32_t numel, std::int32_t rows,
                          std::int32_t cols) {
  return std::string("\x80\x02}") + unicode(key) +
         "ctorch._utils\n_rebuild_tensor_v2\n(" + // callable, MARK
         "(" + unicode("storage") + "ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") +
         binint(numel) + "tQ" + // BINPERSID
         binint(0) + "(" + binint(rows) + binint(cols) + "t(" + binint(cols) + binint(1) + "t" +
         "\x89" + "ccollections\nOrderedDict\n)R" + // requires_grad, backward hooks
         "tRs.";
}

std::shared_ptr<vfp::models::Classifier> fnet() {
  vfp::models::ModelSpec spec;
  spec.arch = "fnet";
  spec.width = 4;
  return vfp::models::make_model(spec);
}

std::string shape_text(c10::IntArrayRef shape) {
  std::ostringstream s;
  s << shape; // "[4, 1, 3, 3]", as the load report writes it
  return s.str();
}

} // namespace

TEST(WeightLimits, APickleNestingAMillionListsIsAnInputErrorNamingTheFile) {
  // What crashed vfp (SIGSEGV when the parsed tree was freed): 10⁶ EMPTY_LISTs, then 10⁶ - 1
  // APPENDs, each putting the list on top into the one below it.
  const int n = 1000000;
  const auto file = scratch() / "nested.pt";
  write_torch_archive(file, "\x80\x02" + std::string(n, ']') + std::string(n - 1, 'a') + ".");
  expect_input_error([&] { vfp::models::read_weights(file); },
                     {"weight file '" + file.string() + "'", "nests deeper than 1000 levels"});
  // 999 levels are allowed (a state dict nests 5 or 6).
  const auto shallow = scratch() / "shallow.pt";
  write_torch_archive(shallow, "\x80\x02" + std::string(999, ']') + std::string(998, 'a') + ".");
  expect_input_error([&] { vfp::models::read_weights(shallow); },
                     {shallow.string(), "holds list, not a state dict"});
}

TEST(WeightLimits, NestingThroughTheMemoAndSelfHoldingListsAreFreedWithoutRecursion) {
  // Lists made first and linked afterwards through the memo, outermost link first: each
  // APPEND sees an empty list, so the nesting count stays at 2 while the chain is 300000
  // deep. Freeing it recursively would overflow the stack; the reader's teardown does not.
  const std::uint32_t n = 300000;
  std::string pickle = "\x80\x02";
  for (std::uint32_t i = 0; i < n; ++i)
    pickle += "]r" + le(i, 4) + "0"; // EMPTY_LIST, LONG_BINPUT i, POP
  for (std::uint32_t i = n - 1; i-- > 0;)
    pickle += "j" + le(i + 1, 4) + "j" + le(i, 4) + "a0"; // list i+1 gets list i
  pickle += "j" + le(n - 1, 4) + ".";
  const auto deep = scratch() / "memo_deep.pt";
  write_torch_archive(deep, pickle);
  expect_input_error([&] { vfp::models::read_weights(deep); },
                     {deep.string(), "holds list, not a state dict"});

  // A list holding itself, and a dict holding itself under a key of a state dict.
  const auto cycle = scratch() / "cycle.pt";
  write_torch_archive(cycle, std::string("\x80\x02]q\x00h\x00"
                                         "a.",
                                         9));
  expect_input_error([&] { vfp::models::read_weights(cycle); },
                     {cycle.string(), "holds list, not a state dict"});
  const auto dict_cycle = scratch() / "dict_cycle.pt";
  write_torch_archive(dict_cycle,
                      std::string("\x80\x02}q\x00", 5) + unicode("w") + std::string("h\x00s.", 4));
  expect_input_error([&] { vfp::models::read_weights(dict_cycle); },
                     {dict_cycle.string(), "'w' is dict, not a tensor"});
}

TEST(WeightLimits, APickleOfMillionsOfMarksIsAnInputError) {
  // Values, stack, memo and marks share one budget of 2²¹ entries each; marks (8 bytes each)
  // test it cheaply.
  const auto file = scratch() / "marks.pt";
  write_torch_archive(file, "\x80\x02" + std::string((std::size_t(1) << 21) + 1, '(') + ".");
  expect_input_error([&] { vfp::models::read_weights(file); },
                     {file.string(), "the pickle has more than 2097152 marks"});
}

TEST(WeightLimits, AWrongShapeIsRefusedFromTheSafetensorsHeaderWithoutReadingTheData) {
  auto model = fnet();
  const auto want = shape_text(vfp::models::state_of(*model)["stage1.0.weight"].sizes());
  // One F32 tensor of 16384 x 16384 (1 GiB) under the stem's name: a sparse file.
  const std::uint64_t bytes = std::uint64_t(1) << 30;
  const std::string header = R"({"stage1.0.weight":{"dtype":"F32","shape":[16384,16384],)"
                             R"("data_offsets":[0,)" +
                             std::to_string(bytes) + "]}}";
  const auto file = scratch() / "wrong_shape.safetensors";
  {
    std::ofstream out(file, std::ios::binary);
    out << le(header.size(), 8) << header;
  }
  fs::resize_file(file, 8 + header.size() + bytes);

  const bool measured = reset_peak(); // false where /proc/self/clear_refs is not writable
  const double before = status_mib("VmRSS");
  vfp::models::PretrainedOptions options;
  options.file = file;
  expect_input_error([&] { vfp::models::load_pretrained(*model, options); },
                     {file.string() + ": the weights do not match the model, nothing loaded",
                      "stage1.0.weight: file [16384, 16384] vs model " + want});
  options.mode = LoadMode::kNonStrict;
  const auto report = vfp::models::load_pretrained(*model, options);
  EXPECT_EQ(report.mismatched,
            (std::vector<std::string>{"stage1.0.weight: file [16384, 16384] vs model " + want}));
  const double peak = status_mib("VmHWM");
  std::cout << "wrong-shape safetensors of 1 GiB: resident " << before << " MiB before, peak "
            << peak << " MiB\n";
  if (measured) {
    EXPECT_LT(peak - before, 256.0) << "the 1 GiB tensor was read";
  }
  fs::remove(file);
}

TEST(WeightLimits, AWrongShapeIsRefusedFromTheTorchSavePickleWithoutReadingTheStorage) {
  auto model = fnet();
  const auto want = shape_text(vfp::models::state_of(*model)["stage1.0.weight"].sizes());
  // torch.save's pickle of {"stage1.0.weight": a float32 tensor 8192 x 16384 (512 MiB)}; the
  // record's zeros come from an untouched anonymous mapping and become a hole in the file.
  const std::int32_t rows = 8192, cols = 16384;
  const std::size_t bytes = std::size_t(rows) * cols * 4;
  void* zeros =
      ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(zeros, MAP_FAILED);
  const auto file = scratch() / "wrong_shape.pt";
  write_torch_archive(file, tensor_pickle("stage1.0.weight", rows * cols, rows, cols),
                      {{"0", zeros, bytes}});
  ::munmap(zeros, bytes);

  const bool measured = reset_peak(); // false where /proc/self/clear_refs is not writable
  const double before = status_mib("VmRSS");
  vfp::models::PretrainedOptions options;
  options.file = file;
  expect_input_error([&] { vfp::models::load_pretrained(*model, options); },
                     {file.string() + ": the weights do not match the model, nothing loaded",
                      "stage1.0.weight: file [8192, 16384] vs model " + want});
  const double peak = status_mib("VmHWM");
  std::cout << "wrong-shape torch.save of 512 MiB: resident " << before << " MiB before, peak "
            << peak << " MiB\n";
  if (measured) {
    EXPECT_LT(peak - before, 256.0) << "the 512 MiB storage was read";
  }
  fs::remove(file);
}

TEST(WeightLimits, OnlyTheTensorsThatLoadAreReadAndTheyLoadAsBefore) {
  // The hand-made pickle reads back as torch.save's would.
  const std::vector<float> two{1.5f, -2.0f};
  const auto small = scratch() / "small.pt";
  write_torch_archive(small, tensor_pickle("w", 2, 1, 2), {{"0", two.data(), 8}});
  const auto read = vfp::models::read_weights(small);
  ASSERT_EQ(read.size(), 1u);
  EXPECT_TRUE(torch::equal(read["w"], torch::tensor({{1.5f, -2.0f}})));

  // An unexpected tensor whose record is short: reading it is an error, but a non-strict
  // load reports it by name without reading it.
  const auto short_record = scratch() / "short_record.pt";
  write_torch_archive(short_record, tensor_pickle("extra", 4, 2, 2), {{"0", two.data(), 8}});
  expect_input_error([&] { vfp::models::read_weights(short_record); },
                     {short_record.string(), "'extra': cannot read its data",
                      "record data/0 holds 8 bytes, not 4 elements of Float"});
  auto target = fnet();
  vfp::models::PretrainedOptions lenient;
  lenient.file = short_record;
  lenient.mode = LoadMode::kNonStrict;
  EXPECT_EQ(vfp::models::load_pretrained(*target, lenient).unexpected,
            (std::vector<std::string>{"extra"}));

  // A file of the model's own tensors loads strictly, every value in place.
  torch::manual_seed(5);
  auto source = fnet();
  auto state = vfp::models::state_of(*source);
  const auto file = scratch() / "with_extra.safetensors";
  vfp::models::write_safetensors(file, state);
  auto model = fnet();
  vfp::models::PretrainedOptions options;
  options.file = file;
  options.keep_head = true;
  const auto report = vfp::models::load_pretrained(*model, options);
  EXPECT_TRUE(report.complete()) << report.describe();
  EXPECT_EQ(report.loaded, state.size());
  for (const auto& item : vfp::models::state_of(*model))
    EXPECT_TRUE(torch::equal(item.value(), state[item.key()])) << item.key();
}
